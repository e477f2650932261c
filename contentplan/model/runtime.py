"""The classifier at prediction time, in numpy and scipy.sparse only.

A fitted :class:`~contentplan.model.StageClassifier` is linear once its features are computed:
TF-IDF over word 1-2-grams and character 2-5-grams, the sentence embedding, one weight matrix,
a temperature — and, optionally, the training texts' embeddings for a nearest-neighbour vote
blended into the linear probabilities (:func:`neighbour_arrays`). :class:`LinearStageModel` holds
exactly those arrays and recomputes the
features the way scikit-learn's ``TfidfVectorizer`` does (same preprocessing, tokenisation,
n-grams, sublinear tf, idf and l2 norm), so classifying never imports scikit-learn (about 2 s of
a cold start on 2 cores). ``tests/test_runtime.py`` checks it against the scikit-learn estimator.

The arrays are saved as ``inference.npz`` in the model folder (read with ``allow_pickle=False``);
the skops file stays the estimator for scikit-learn users and for retraining.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..errors import RETRAIN, ModelError, model_error
from ..stopwords import FUNCTION_WORDS as _STOP  # never a useful explanation on their own
from ..textfold import fold_accents

RUNTIME = "inference.npz"
RUNTIME_VERSION = 2          # 2: optional nearest-neighbour arrays (knn_*); version 1 files still load
READABLE_VERSIONS = (1, 2)

# The vectorizer settings the runtime reproduces; export refuses anything else.
WORD_PARAMS = {"analyzer": "word", "ngram_range": (1, 2), "lowercase": True, "strip_accents": "unicode",
               "sublinear_tf": True, "norm": "l2", "use_idf": True, "stop_words": None, "binary": False,
               "token_pattern": r"(?u)\b\w[\w'-]*\w\b|\b\w\b", "preprocessor": None, "tokenizer": None}
CHAR_PARAMS = {"analyzer": "char_wb", "ngram_range": (2, 5), "lowercase": True, "strip_accents": "unicode",
               "sublinear_tf": True, "norm": "l2", "use_idf": True, "binary": False, "preprocessor": None}

_TOKEN = re.compile(WORD_PARAMS["token_pattern"])
_SPACES = re.compile(r"\s\s+")


def _preprocess(text: str) -> str:
    """Lowercase, then strip accents (NFKD without combining marks), as scikit-learn does."""
    return fold_accents(text, apostrophe=False)


def word_ngrams(text: str) -> list[str]:
    tokens = _TOKEN.findall(_preprocess(text))
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def _wb_grams(word: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character n-grams of one (preprocessed) word padded with spaces, as ``char_wb`` makes them."""
    out: list[str] = []
    append = out.append
    w = f" {word} "
    size = len(w)
    for n in range(lo, hi + 1):
        offset = 0
        append(w[:n])
        while offset + n < size:
            offset += 1
            append(w[offset:offset + n])
        if offset == 0:  # a word shorter than n is counted once
            break
    return out


def _words(pre: str) -> list[str]:
    return _SPACES.sub(" ", pre).split()


def char_wb_ngrams(text: str) -> list[str]:
    out: list[str] = []
    for w in _words(_preprocess(text)):
        out.extend(_wb_grams(w))
    return out


def _csr(ids: list[int], lengths: list[int], n_features: int) -> sp.csr_matrix:
    """Feature ids of all rows laid end to end (repeats allowed) and each row's length -> counts."""
    cols = np.array(ids, dtype=np.int64)
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    m = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(lengths), n_features))
    m.sum_duplicates()
    m.sort_indices()
    return m


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf, idf weighting, l2 row norm; float32 like the fitted vectorizers."""
    x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    x.sum_duplicates()
    np.log(x.data, out=x.data)
    x.data += 1.0
    x.data *= idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    x.data /= np.repeat(norms, np.diff(x.indptr))
    return x.astype(np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)



def power_calibrate(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities sharpened or softened as softmax(log p / T) (temperature scaling of the output)."""
    z = np.log(np.clip(proba, 1e-12, 1.0)) / temperature
    z -= z.max(1, keepdims=True)
    p = np.exp(z) * (proba.sum(1, keepdims=True) > 0)
    s = p.sum(1, keepdims=True)
    return np.divide(p, s, out=np.zeros_like(p), where=s > 0)


def fit_temperature(proba: np.ndarray, gold_idx: np.ndarray) -> float:
    """The temperature (log grid 0.2-5) minimising the NLL of power-calibrated held-out probabilities
    (temperature scaling, Guo et al., 2017: on softmax outputs, softmax(z / T) = power_calibrate(softmax(z), T)).
    Rows whose gold label the model cannot output (a column that is zero everywhere, e.g. 'none'
    for a model trained without it) are left out: no temperature can fit them."""
    known = proba.max(0) > 0
    keep = known[gold_idx]
    proba, gold_idx = proba[keep], gold_idx[keep]
    best_t, best = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), 81)):
        p = power_calibrate(proba, t)
        nll = -np.mean(np.log(p[np.arange(len(gold_idx)), gold_idx] + 1e-12))
        if nll < best:
            best_t, best = float(t), nll
    return best_t


def neighbour_arrays(embeddings: np.ndarray, label_idx: np.ndarray, share: float, k: int, sharpness: float,
                     dims: int = 128) -> dict:
    """The nearest-neighbour component as arrays: the training texts' embeddings, L2-normalised,
    projected on their first ``dims`` principal axes (cosines in that space; 4x less arithmetic
    than the full 512 dimensions and selected as well on real text), normalised again and stored as
    int8 with one scale per row; their class indices; and (share, k, sharpness)."""
    v = _unit(np.asarray(embeddings, dtype=np.float32))
    mean = v.mean(0)
    dims = int(min(dims, v.shape[1], max(len(v) - 1, 1)))
    _, _, vt = np.linalg.svd(v - mean, full_matrices=False)
    projection = np.ascontiguousarray(vt[:dims].T, dtype=np.float32)
    p = _unit((v - mean) @ projection)
    scale = np.maximum(np.abs(p).max(1), 1e-12) / 127.0
    return {"knn_vectors": np.round(p / scale[:, None]).astype(np.int8), "knn_scale": scale.astype(np.float32),
            "knn_labels": np.asarray(label_idx, dtype=np.int16), "knn_mean": mean.astype(np.float32),
            "knn_projection": projection, "knn_params": np.array([float(share), float(k), float(sharpness)])}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


_BLOCK = 128   # rows per block in Neighbours.top_k


class Neighbours:
    """Votes of the k most similar training texts (cosine on sentence embeddings), weighted by
    exp(sharpness x similarity): a probability per class, blended into the linear model's."""

    def __init__(self, arrays: dict, n_classes: int, dim: int):
        vec = np.asarray(arrays["knn_vectors"])
        labels = np.asarray(arrays["knn_labels"]).astype(np.int64)
        share, k, sharp = (float(x) for x in np.asarray(arrays["knn_params"], dtype=np.float64))
        self.mean = np.asarray(arrays["knn_mean"], dtype=np.float32)
        self.projection = np.asarray(arrays["knn_projection"], dtype=np.float32)
        if (vec.ndim != 2 or self.projection.shape != (dim, vec.shape[1]) or self.mean.shape != (dim,)
                or len(labels) != len(vec) or len(arrays["knn_scale"]) != len(vec)):
            raise ValueError("nearest-neighbour arrays do not fit the embedding size")
        if len(labels) and (labels.min() < 0 or labels.max() >= n_classes) or not 0 < share <= 1 or not 1 <= k:
            raise ValueError("nearest-neighbour labels or parameters out of range")
        n = len(labels)
        # Padded to whole blocks of _BLOCK rows (padding never wins: its similarity is set to -inf).
        padded = -(-n // _BLOCK) * _BLOCK
        self.vectors = np.zeros((padded, vec.shape[1]), dtype=np.float32)
        self.vectors[:n] = vec.astype(np.float32) * np.asarray(arrays["knn_scale"], np.float32)[:, None]
        self.n = n
        self.onehot = np.zeros((padded, n_classes), dtype=np.float32)
        self.onehot[np.arange(n), labels] = 1
        self.share, self.k, self.sharpness = share, int(min(k, n)), sharp

    def top_k(self, S: np.ndarray) -> np.ndarray:
        """Column indices of the k largest values of each row of S (n_rows, padded), exactly, without
        a partition over every column: the k largest values lie in the blocks whose maxima are among
        the k largest block maxima (any other block's maximum is below k values of other blocks)."""
        k, m = self.k, S.shape[0]
        S[:, self.n:] = -np.inf
        blocks = S.reshape(m, -1, _BLOCK)
        nb = blocks.shape[1]
        if nb <= k:
            return np.argpartition(-S, k - 1, axis=1)[:, :k]
        best = np.argpartition(-blocks.max(2), k - 1, axis=1)[:, :k]                # (m, k) blocks
        cand = np.take_along_axis(blocks, best[:, :, None], 1).reshape(m, k * _BLOCK)  # their values
        pos = np.argpartition(-cand, k - 1, axis=1)[:, :k]
        return best[np.arange(m)[:, None], pos // _BLOCK] * _BLOCK + pos % _BLOCK

    def proba(self, embeddings: np.ndarray) -> np.ndarray:
        q = _unit((_unit(np.asarray(embeddings, dtype=np.float32)) - self.mean) @ self.projection)
        out = np.zeros((len(q), self.onehot.shape[1]))
        for s in range(0, len(q), 512):   # 512 x n similarities at a time: bounded memory
            S = q[s:s + 512] @ self.vectors.T
            idx = self.top_k(S)
            top = np.take_along_axis(S, idx, 1)
            w = np.exp(self.sharpness * (top - top.max(1, keepdims=True)))
            out[s:s + 512] = np.einsum("nk,nkc->nc", w, self.onehot[idx]) / w.sum(1, keepdims=True)
        return out


def _is_stop(term: str) -> bool:
    return all(tok in _STOP for tok in term.replace("'", " ").split())


def as_texts(X) -> list[str]:
    if hasattr(X, "tolist") and not isinstance(X, list):
        X = X.tolist()
    out = []
    for x in X:
        if isinstance(x, (list, tuple, np.ndarray)) and len(x) == 1:
            x = x[0]
        out.append(x if isinstance(x, str) else ("" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)))
    return out


def vocab_terms(vectorizer) -> np.ndarray:
    """A fitted vectorizer's vocabulary as one string array, term i at index i."""
    terms = np.empty(len(vectorizer.vocabulary_), dtype=object)
    for term, idx in vectorizer.vocabulary_.items():
        terms[idx] = term
    return np.array(terms.tolist(), dtype=str)


MAX_NPZ_MEMBERS = 64
MAX_NPZ_BYTES = 2 * 1024 ** 3   # all arrays of a model, uncompressed
MAX_NPZ_RATIO = 200             # uncompressed / compressed size of one array (the shipped model's worst: ~21)


def check_npz(path: str | Path) -> None:
    """Refuse an ``.npz`` whose arrays would inflate absurdly, before any is decompressed.

    Each member's sizes are read from the zip directory and its ``.npy`` header (the first bytes):
    the array the header declares must be exactly the member's size, the sizes must stay under
    :data:`MAX_NPZ_BYTES` in all, and no member may inflate more than :data:`MAX_NPZ_RATIO` times
    (beyond its first megabyte)."""
    import zipfile

    from numpy.lib import format as npy

    path = Path(path)
    refuse = f"refusing to load it; {RETRAIN}"
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_NPZ_MEMBERS:
            raise ModelError(f"{path}: {len(infos)} arrays in the archive (a model has about 13); {refuse}")
        total = sum(i.file_size for i in infos)
        if total > MAX_NPZ_BYTES:
            raise ModelError(f"{path}: arrays would inflate to {total / 1e6:,.0f} MB (zip bomb?); {refuse}")
        for info in infos:
            if not info.filename.endswith(".npy"):
                raise ModelError(f"{path}: unexpected member '{info.filename}' (not an array); {refuse}")
            if info.file_size > 1024 ** 2 and info.file_size > MAX_NPZ_RATIO * max(info.compress_size, 1):
                raise ModelError(f"{path}: array '{info.filename[:-4]}' would inflate from {info.compress_size:,} to "
                                 f"{info.file_size:,} bytes (zip bomb?); {refuse}")
            with zf.open(info) as fh:
                version = npy.read_magic(fh)
                if version == (1, 0):
                    shape, _, dtype = npy.read_array_header_1_0(fh)
                else:
                    shape, _, dtype = npy.read_array_header_2_0(fh)
                header = fh.tell()
            count = 1
            for d in shape:
                count *= int(d)
            if dtype.hasobject or header + count * dtype.itemsize != info.file_size:
                raise ModelError(f"{path}: array '{info.filename[:-4]}' declares shape {tuple(shape)} of {dtype}, which "
                                 f"does not match its {info.file_size:,} bytes; {refuse}")


class LinearStageModel:
    """A fitted stage classifier as plain arrays: the prediction side of StageClassifier.

    Same prediction methods and results as the estimator it was exported from (``predict_proba``,
    ``predict``, ``ngram_counts``, ``predict_proba_counts``, ``predict_proba_words``, ``explain``).
    """

    def __init__(self, arrays: dict[str, np.ndarray]):
        self._arrays = dict(arrays)
        self.classes_ = np.asarray(arrays["classes"]).astype(object)
        self.embedder: str | None = str(arrays["embedder"]) or None
        self.embedding_dim_ = int(arrays["embedding_dim"])
        self.emb_weight = float(arrays["emb_weight"])
        self.temperature_ = float(arrays["temperature"])
        self.ngrams = bool(arrays["ngrams"])
        self.coef_ = np.asarray(arrays["coef"], dtype=np.float64)
        self.intercept_ = np.asarray(arrays["intercept"], dtype=np.float64)
        self.word_terms = np.asarray(arrays["word_terms"])
        self.char_terms = np.asarray(arrays["char_terms"])
        self.word_idf = np.asarray(arrays["word_idf"], dtype=np.float64)
        self.char_idf = np.asarray(arrays["char_idf"], dtype=np.float64)
        self.cache = True
        self._word_vocab = {t: i for i, t in enumerate(self.word_terms.tolist())}
        self._char_vocab = {t: i for i, t in enumerate(self.char_terms.tolist())}
        self._char_ids: dict[str, list[int]] = {}
        n_emb = self.embedding_dim_ if self.embedder else 0
        n_word, n_char = len(self.word_terms), len(self.char_terms)
        if self.coef_.shape != (len(self.classes_), n_emb + n_word + n_char) or self.intercept_.shape != (len(self.classes_),):
            raise ValueError(f"weights of shape {self.coef_.shape} do not fit {len(self.classes_)} classes and "
                             f"{n_emb} + {n_word} + {n_char} features")
        if len(self.word_idf) != n_word or len(self.char_idf) != n_char:
            raise ValueError("idf vectors do not match the vocabularies")
        self.neighbours: Neighbours | None = None
        if "knn_vectors" in arrays and self.embedder:
            self.neighbours = Neighbours(arrays, len(self.classes_), self.embedding_dim_)
        # Weight blocks, transposed once: (n_features, n_classes).
        self._w_emb = np.ascontiguousarray(self.coef_[:, :n_emb].T)
        self._w_word = np.ascontiguousarray(self.coef_[:, n_emb:n_emb + n_word].T)
        self._w_char = np.ascontiguousarray(self.coef_[:, n_emb + n_word:].T)

    # ----- export / load -----
    @staticmethod
    def arrays_from_estimator(est) -> dict[str, np.ndarray]:
        """The arrays of a fitted StageClassifier (scikit-learn is imported by the caller's estimator)."""
        n_word = n_char = 0
        arrays = {}
        if est.ngrams:
            for name, vec, params in (("word", est.word_vectorizer_, WORD_PARAMS), ("char", est.char_vectorizer_, CHAR_PARAMS)):
                got = vec.get_params()
                wrong = {k: got.get(k) for k, v in params.items() if got.get(k) != v}
                if wrong:
                    raise ValueError(f"the {name} vectorizer has settings the runtime does not reproduce: {wrong}")
                arrays[f"{name}_terms"] = vocab_terms(vec)
                arrays[f"{name}_idf"] = np.asarray(vec.idf_, dtype=np.float64)
            n_word, n_char = len(arrays["word_terms"]), len(arrays["char_terms"])
        else:
            for name in ("word", "char"):
                arrays[f"{name}_terms"] = np.zeros(0, dtype="<U1")
                arrays[f"{name}_idf"] = np.zeros(0)
        coef = np.asarray(est.lr_.coef_, dtype=np.float64)
        intercept = np.asarray(est.lr_.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # binary LR: one row; spread it over two classes like predict_proba does
            coef, intercept = np.vstack([-coef, coef]) / 2, np.array([-intercept[0], intercept[0]]) / 2
        arrays.update({
            "format": np.array(RUNTIME_VERSION),
            "classes": np.array([str(c) for c in est.classes_], dtype=str),
            "embedder": np.array(est.embedder or ""),
            "embedding_dim": np.array(int(getattr(est, "embedding_dim_", 0) or 0)),
            "emb_weight": np.array(float(est.emb_weight)),
            "temperature": np.array(float(est.temperature_)),
            "ngrams": np.array(bool(est.ngrams)),
            "coef": coef,
            "intercept": intercept,
        })
        if getattr(est, "knn_", None) is not None:
            arrays.update(est.knn_)
        assert coef.shape[1] == (arrays["embedding_dim"] if est.embedder else 0) + n_word + n_char
        return arrays

    @classmethod
    def from_estimator(cls, est) -> LinearStageModel:
        return cls(cls.arrays_from_estimator(est))

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, **self._arrays)

    @classmethod
    def load(cls, path: str | Path) -> LinearStageModel:
        path = Path(path)
        try:
            with open(path, "rb") as f:
                if f.read(4) != b"PK\x03\x04":
                    raise model_error(f"{path}: corrupt model file (not an .npz archive)")
            check_npz(path)
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            if int(arrays.get("format", -1)) not in READABLE_VERSIONS:
                raise model_error(f"{path}: runtime format {arrays.get('format')} is not supported")
            return cls(arrays)
        except ModelError:
            raise
        except Exception as err:  # zip, key, value and shape errors of a damaged file
            raise model_error(f"{path}: corrupt model file ({err.__class__.__name__})") from None

    # ----- features -----
    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        from .embedders import embed_with
        return embed_with(self.embedder, texts, cache=self.cache)

    def ngram_counts(self, X):
        """Raw word and character n-gram counts (before TF-IDF weighting). Counts add up: the counts
        of a document's passages sum to (almost exactly) the counts of the whole document."""
        wget, cget = self._word_vocab.get, self._char_vocab.get
        cache = self._char_ids
        if len(cache) > 500_000:
            cache.clear()
        wids: list[int] = []
        cids: list[int] = []
        wlens, clens = [], []
        for text in as_texts(X):
            pre = _preprocess(text)
            tokens = _TOKEN.findall(pre)
            before = len(wids)
            wids += [j for j in map(wget, tokens) if j is not None]
            wids += [j for j in map(wget, map(" ".join, zip(tokens, tokens[1:]))) if j is not None]
            wlens.append(len(wids) - before)
            before = len(cids)
            for w in _words(pre):
                got = cache.get(w)
                if got is None:   # words repeat across texts: their n-gram ids are computed once
                    got = cache[w] = [j for j in map(cget, _wb_grams(w)) if j is not None]
                cids += got
            clens.append(len(cids) - before)
        return _csr(wids, wlens, len(self.word_terms)), _csr(cids, clens, len(self.char_terms))

    def _logits(self, word_counts, char_counts, embeddings, word_tfidf=None) -> np.ndarray:
        """Logits from n-gram counts and embeddings (``word_tfidf``: the word block, when the caller
        already weighted it)."""
        n = word_counts.shape[0] if word_counts is not None else len(embeddings)
        z = np.tile(self.intercept_, (n, 1))
        if self.embedder:
            if embeddings is None:
                raise ValueError("this model needs embeddings")
            embeddings = np.asarray(embeddings)
            if embeddings.shape[1] != self.embedding_dim_:
                raise ModelError(f"embeddings have {embeddings.shape[1]} dimensions but the model was trained on "
                                 f"{self.embedding_dim_}; use the embedder the model was trained with ({self.embedder})")
            z += (embeddings.astype(np.float32) * np.float32(self.emb_weight)).astype(np.float64) @ self._w_emb
        if self.ngrams:
            if word_tfidf is None:
                word_tfidf = tfidf(word_counts, self.word_idf)
            z += np.asarray(word_tfidf @ self._w_word)
            z += np.asarray(tfidf(char_counts, self.char_idf) @ self._w_char)
        return z

    def _output(self, z: np.ndarray, embeddings: np.ndarray | None, temperature: float | None = None) -> np.ndarray:
        """Calibrated probabilities from logits: softmax(z / T), or with neighbours the blend
        (1 - share) softmax(z) + share knn(embeddings), temperature-scaled as a whole. ``temperature``
        defaults to the model's."""
        t = self.temperature_ if temperature is None else temperature
        if self.neighbours is None or embeddings is None or not len(z):
            return softmax(z / t)
        nb = self.neighbours
        mix = (1 - nb.share) * softmax(z) + nb.share * nb.proba(embeddings)
        return power_calibrate(mix, t)

    def predict_proba_counts(self, word_counts, char_counts, embeddings: np.ndarray | None = None) -> np.ndarray:
        """Probabilities from n-gram counts (see :meth:`ngram_counts`) and embeddings."""
        return self._output(self._logits(word_counts, char_counts, embeddings), embeddings)

    def predict_proba_words(self, X, embeddings: np.ndarray | None = None):
        """Probabilities and the word TF-IDF matrix (reused by :meth:`explain`)."""
        texts = as_texts(X)
        if self.embedder and embeddings is None:
            embeddings = self.embed(texts)
        if not self.ngrams:
            return self.predict_proba_counts(None, None, embeddings), None
        wc, cc = self.ngram_counts(texts)
        words = tfidf(wc, self.word_idf)
        return self._output(self._logits(wc, cc, embeddings, words), embeddings), words

    def decision_function(self, X, embeddings: np.ndarray | None = None) -> np.ndarray:
        texts = as_texts(X)
        if self.embedder and embeddings is None:
            embeddings = self.embed(texts)
        wc, cc = self.ngram_counts(texts) if self.ngrams else (None, None)
        return self._logits(wc, cc, embeddings)

    def predict_proba(self, X, embeddings: np.ndarray | None = None) -> np.ndarray:
        texts = as_texts(X)
        if self.embedder and embeddings is None:
            embeddings = self.embed(texts)
        return self._output(self.decision_function(texts, embeddings), embeddings)

    def predict(self, X, embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X, embeddings), axis=1)]

    # ----- explanations -----
    def explain(self, X, labels: Sequence[str], top: int = 3, word_matrix=None) -> list[list[str]]:
        """The word n-grams that pushed each text towards the given label (linear contributions)."""
        if not self.ngrams:
            return [[] for _ in labels]
        if word_matrix is None:
            word_matrix = tfidf(self.ngram_counts(X)[0], self.word_idf)
        W = sp.csr_matrix(word_matrix)
        # Contribution relative to the average class: what makes this label win, not just appear.
        rel = self.__dict__.get("_rel_word")
        if rel is None:
            rel = self._rel_word = self._w_word - self._w_word.mean(axis=1, keepdims=True)
        cls = {c: i for i, c in enumerate(self.classes_)}
        out = []
        for r, label in enumerate(labels):
            lo, hi = W.indptr[r], W.indptr[r + 1]
            if label not in cls or hi == lo:
                out.append([])
                continue
            idx = W.indices[lo:hi]
            contrib = W.data[lo:hi] * rel[idx, cls[label]]
            picked: list[str] = []
            for j in np.argsort(-contrib, kind="stable"):
                if contrib[j] <= 0 or len(picked) >= top:
                    break
                term = str(self.word_terms[idx[j]])
                if _is_stop(term) or any(term in p or p in term for p in picked):
                    continue
                picked.append(term)
            out.append(picked)
        return out
