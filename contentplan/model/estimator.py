"""The stage classifier: sentence embeddings + word and character n-gram TF-IDF, one multinomial
logistic regression over the canonical stages, temperature-scaled so probabilities are calibrated.

It follows the scikit-learn estimator contract (``__init__`` stores parameters, ``fit`` returns
``self``, learned state ends in ``_``, predictions are label names), so ``clone``,
``cross_val_score`` and ``GridSearchCV`` work on it.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from .embedders import DEFAULT_EMBEDDER, embed_with
from .runtime import CHAR_PARAMS, WORD_PARAMS, LinearStageModel, as_texts, fit_temperature, neighbour_arrays, softmax, vocab_terms

KNN_K = 15            # neighbours that vote
KNN_SHARPNESS = 10.0  # vote weight exp(sharpness x cosine)


class StageClassifier(ClassifierMixin, BaseEstimator):
    """Classify short or long texts into journey stages.

    Args:
        embedder: embedder id (``use-multilingual``, ``tfidf-hash``, ``sentence-transformers:<model>``),
            or None to use n-gram features only.
        ngrams: add word (1-2) and character (2-5) n-gram TF-IDF features.
        emb_weight: scale of the embedding block relative to the n-gram blocks.
        C: inverse regularisation strength of the logistic regression.
        calibrate: fit a softmax temperature on out-of-fold predictions.
        cache: use the on-disk embedding cache.
    """

    def __init__(self, embedder: str | None = DEFAULT_EMBEDDER, ngrams: bool = True, emb_weight: float = 1.0,
                 C: float = 10.0, calibrate: bool = True, cache: bool = True, max_iter: int = 3000):
        self.embedder = embedder
        self.ngrams = ngrams
        self.emb_weight = emb_weight
        self.C = C
        self.calibrate = calibrate
        self.cache = cache
        self.max_iter = max_iter

    # ----- features -----
    def _new_vectorizers(self):
        # The analysis settings are the runtime's (one definition: what inference.npz reproduces).
        word = TfidfVectorizer(**WORD_PARAMS, min_df=2, max_features=40000, dtype=np.float32)
        char = TfidfVectorizer(**CHAR_PARAMS, min_df=3, max_features=60000, dtype=np.float32)
        return word, char

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        return embed_with(self.embedder, texts, cache=self.cache)

    def _features(self, texts: list[str], embeddings: np.ndarray | None, fit: bool = False):
        blocks = []
        if self.embedder:
            if embeddings is None:
                embeddings = self.embed(texts)
            if fit:
                self.embedding_dim_ = int(embeddings.shape[1])
            elif embeddings.shape[1] != self.embedding_dim_:
                from ..errors import ModelError
                raise ModelError(f"embeddings have {embeddings.shape[1]} dimensions but the model was trained on "
                                 f"{self.embedding_dim_}; use the embedder the model was trained with ({self.embedder})")
            blocks.append(sp.csr_matrix(embeddings * self.emb_weight))
        if self.ngrams:
            if fit:
                self.word_vectorizer_, self.char_vectorizer_ = self._new_vectorizers()
                blocks.append(self.word_vectorizer_.fit_transform(texts))
                blocks.append(self.char_vectorizer_.fit_transform(texts))
            else:
                blocks.append(self.word_vectorizer_.transform(texts))
                blocks.append(self.char_vectorizer_.transform(texts))
        if not blocks:
            raise ValueError("StageClassifier needs an embedder or ngrams=True")
        X = sp.hstack(blocks, format="csr", dtype=np.float32)
        return X

    # ----- persistence -----
    # A TfidfVectorizer keeps its vocabulary as a dict of ~10^5 strings, which skops stores node by
    # node (slow to load, tens of MB). Stored instead as one numpy string array, rebuilt on load.
    _VECTORIZERS = ("word_vectorizer_", "char_vectorizer_")

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never strip the live object
        state.pop("_runtime", None)
        for name in self._VECTORIZERS:
            vec = state.get(name)
            if vec is not None and hasattr(vec, "vocabulary_"):
                light = vec.__class__.__new__(vec.__class__)
                light.__dict__.update({k: v for k, v in vec.__dict__.items() if k != "vocabulary_"})
                state[name] = light
                state[name + "terms"] = vocab_terms(vec)
        return state

    def __setstate__(self, state):
        state = dict(state)
        for name in self._VECTORIZERS:
            terms = state.pop(name + "terms", None)
            if terms is not None and state.get(name) is not None:
                state[name].vocabulary_ = {str(t): i for i, t in enumerate(terms.tolist())}
        super().__setstate__(state)

    def _new_lr(self):
        return LogisticRegression(C=self.C, max_iter=self.max_iter, solver="lbfgs")

    # ----- sklearn API -----
    def fit(self, X, y, embeddings: np.ndarray | None = None, sample_weight=None):
        texts = as_texts(X)
        y = np.asarray(y, dtype=object)
        if embeddings is None and self.embedder:
            embeddings = self.embed(texts)
        features = self._features(texts, embeddings, fit=True)
        self.lr_ = self._new_lr().fit(features, y, sample_weight=sample_weight)
        self.classes_ = self.lr_.classes_
        self.knn_ = None   # neighbours belong to one fit: set again with set_neighbours
        self.temperature_ = 1.0
        if self.calibrate and len(texts) >= 50:
            self.temperature_ = self._fit_temperature(texts, y, embeddings, sample_weight)
        return self

    def set_neighbours(self, embeddings: np.ndarray, y, share: float, k: int = KNN_K,
                       sharpness: float = KNN_SHARPNESS) -> StageClassifier:
        """Blend a nearest-neighbour vote into the probabilities: (1 - share) x the linear model +
        share x the classes of the ``k`` training texts most similar to the text (cosine of
        ``embeddings``, one row per text of ``y``), each weighted by exp(sharpness x cosine). The
        temperature then applies to the blend. share 0 removes the component."""
        check_is_fitted(self, "lr_")
        self.__dict__.pop("_runtime", None)
        if not share or embeddings is None:
            self.knn_ = None
            return self
        order = {c: i for i, c in enumerate(self.classes_)}
        self.knn_ = neighbour_arrays(embeddings, np.array([order[v] for v in y]), share, k, sharpness)
        return self

    def _fit_temperature(self, texts, y, embeddings, sample_weight) -> float:
        """Temperature scaling on 3-fold out-of-fold logits (Guo et al., 2017)."""
        n_splits = int(min(3, np.min(np.unique(y, return_counts=True)[1])))
        if n_splits < 2:
            return 1.0
        logits = np.zeros((len(texts), len(self.classes_)))
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        for tr, te in folds.split(texts, y):
            sub = StageClassifier(**{**self.get_params(), "calibrate": False})
            sub.fit([texts[i] for i in tr], y[tr], None if embeddings is None else embeddings[tr],
                    None if sample_weight is None else np.asarray(sample_weight)[tr])
            col = [list(self.classes_).index(c) for c in sub.classes_]
            logits[np.ix_(te, col)] = sub.decision_function([texts[i] for i in te], None if embeddings is None else embeddings[te])
        return fit_temperature(softmax(logits), np.array([list(self.classes_).index(c) for c in y]))

    def decision_function(self, X, embeddings: np.ndarray | None = None) -> np.ndarray:
        check_is_fitted(self, "lr_")
        texts = as_texts(X)
        return self.lr_.decision_function(self._features(texts, embeddings))

    def predict_proba(self, X, embeddings: np.ndarray | None = None) -> np.ndarray:
        if getattr(self, "knn_", None) is not None:   # the blend is computed by the runtime twin, exactly as at prediction
            return self.runtime().predict_proba(X, embeddings)
        z = self.decision_function(X, embeddings)
        if z.ndim == 1:  # binary case
            z = np.column_stack([-z, z]) / 2
        return softmax(z / self.temperature_)

    def predict(self, X, embeddings: np.ndarray | None = None) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X, embeddings), axis=1)]

    # ----- prediction twin -----
    def runtime(self) -> LinearStageModel:
        """This fitted estimator as a :class:`~contentplan.model.runtime.LinearStageModel` (arrays only)."""
        check_is_fitted(self, "lr_")
        rt = self.__dict__.get("_runtime")
        if rt is None or rt[0] is not self.lr_ or rt[1].temperature_ != float(self.temperature_):
            rt = (self.lr_, LinearStageModel.from_estimator(self))
            self.__dict__["_runtime"] = rt
        return rt[1]

    def explain(self, X, labels: Sequence[str], top: int = 3) -> list[list[str]]:
        """The word n-grams that pushed each text towards the given label (linear contributions)."""
        return self.runtime().explain(as_texts(X), labels, top=top)


# Its public name, and the type name saved model files record and artifacts.TRUSTED_TYPES lists
# (``contentplan.model`` loads it on first use): models saved before the package had folders load unchanged.
StageClassifier.__module__ = "contentplan.model"
