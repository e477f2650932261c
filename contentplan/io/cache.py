"""The on-disk cache: one SQLite file per cache folder, keyed by (namespace, sha1 of the text).

It holds sentence embeddings (namespace: the embedder id), the model's probabilities and passage
splits for texts already seen, and fetched web pages. Disabled with ``CONTENTPLAN_CACHE=off``;
``CONTENTPLAN_CACHE`` names another folder, ``CONTENTPLAN_CACHE_MAX`` caps its size.
"""
from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def default_cache_dir() -> Path:
    env = os.environ.get("CONTENTPLAN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "contentplan"


DEFAULT_CACHE_MAX = 1024 ** 3      # 1 GB; CONTENTPLAN_CACHE_MAX overrides (MB, or with a unit: 500M, 2G; 0 = no limit)
CACHE_TIMEOUT_S = 1.0              # wait at most this long for a cache locked by another process
TOUCH_AFTER_S = 3600               # a cache hit refreshes its row's last-use time at most once an hour
_UNITS = {"": 1024 ** 2, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def cache_max_bytes() -> int:
    """The cache size limit in bytes from ``CONTENTPLAN_CACHE_MAX`` (0: no limit)."""
    raw = os.environ.get("CONTENTPLAN_CACHE_MAX", "").strip()
    if not raw:
        return DEFAULT_CACHE_MAX
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?", raw.lower())
    if not m:
        from ..notices import warn
        warn(f"CONTENTPLAN_CACHE_MAX={raw!r} is not a size; using the default 1G (write e.g. 500M, 2G, or a number of MB)",
             once="cache-max")
        return DEFAULT_CACHE_MAX
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def cache_dir_problem(folder: str | Path) -> str | None:
    """Why ``folder`` must not hold cache files, or None. A cache folder that resolves to a
    filesystem root (e.g. a symlink to ``/``) is refused: cache files belong in a folder of their own."""
    try:
        resolved = Path(folder).resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop
        return f"cache folder {folder} cannot be resolved ({err.__class__.__name__})"
    if resolved == Path(resolved.anchor):
        return f"cache folder {folder} is the filesystem root {resolved}"
    return None


def _now() -> int:
    return int(time.time())


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path), timeout=CACHE_TIMEOUT_S)


class EmbeddingCache:
    """SQLite store of embeddings keyed by (embedder id, sha1 of the text).

    Re-runs on the same texts skip the encoder. Disabled with ``CONTENTPLAN_CACHE=off``.

    The cache is only an optimisation: any failure (a database locked by another process for more
    than a second, a read-only or full disk, a corrupt file, an unusable folder) prints one warning
    per process and the work goes on without it. Its size is kept under ``max_bytes``
    (``CONTENTPLAN_CACHE_MAX``, default 1 GB) by evicting the least recently used rows.
    """

    def __init__(self, path: str | Path | None = None, max_bytes: int | None = None):
        self.path = Path(path) if path else default_cache_dir() / "embeddings.sqlite"
        self.max_bytes = cache_max_bytes() if max_bytes is None else int(max_bytes)
        self._db = None
        self._broken: str | None = None
        self._unchecked = None   # bytes written since the last size check (None: not checked yet)

    # ----- failures -----
    def _fail(self, err: BaseException) -> None:
        """Stop using the cache for the rest of the process, with one warning per process."""
        from ..notices import warn
        reason = str(err) or err.__class__.__name__
        self._broken = reason
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
        low = reason.lower()
        if "locked" in low or "busy" in low:
            hint = "another process is writing to it; it will be used again on the next run"
        elif "not a database" in low or "malformed" in low:
            hint = "delete that file to start a new cache"
        else:
            hint = "set CONTENTPLAN_CACHE to a writable folder of its own, or CONTENTPLAN_CACHE=off"
        warn(f"embedding cache {self.path} cannot be used ({reason}); continuing without it (slower); {hint}", once="cache")

    def _conn(self):
        if self._broken:
            raise sqlite3.OperationalError(self._broken)
        if self._db is None:
            problem = cache_dir_problem(self.path.parent)
            if problem:
                raise sqlite3.OperationalError(problem)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:  # a file in the way, no permission: callers treat it as no cache
                raise sqlite3.OperationalError(f"cache folder {self.path.parent} is unusable: {err.strerror or err}") from None
            if self.path.is_symlink() or (self.path.exists() and not self.path.is_file()):
                raise sqlite3.OperationalError(f"{self.path} is not a regular file")
            db = _connect(self.path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA journal_size_limit=16777216")  # the WAL file shrinks back after a big write
                for table in ("emb", "txt"):
                    kind = "BLOB" if table == "emb" else "TEXT"
                    db.execute(f"CREATE TABLE IF NOT EXISTS {table} (k BLOB PRIMARY KEY, v {kind} NOT NULL, "
                               "t INTEGER NOT NULL DEFAULT 0)")
                    if "t" not in [r[1] for r in db.execute(f"PRAGMA table_info({table})")]:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN t INTEGER NOT NULL DEFAULT 0")  # caches made before 0.1.1
                    db.execute(f"CREATE INDEX IF NOT EXISTS {table}_t ON {table} (t)")
                db.commit()
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def available(self) -> bool:
        """Whether the cache can be used (an unusable cache only costs speed, with one warning)."""
        try:
            self._conn()
            return True
        except (sqlite3.Error, OSError) as err:
            self._fail(err)
            return False

    # ----- text values -----
    def get_text(self, namespace: str, text: str) -> str | None:
        """A derived text result (e.g. a fetched page's text) stored for ``text``, or None."""
        try:
            k = self.key(namespace, text)
            row = self._conn().execute("SELECT v, t FROM txt WHERE k = ?", (k,)).fetchone()
            if row:
                self._touch("txt", [(k, row[1])])
            return row[0] if row else None
        except (sqlite3.Error, OSError) as err:
            self._fail(err)
            return None

    def put_text(self, namespace: str, text: str, value: str) -> None:
        try:
            db = self._conn()
            with db:
                db.execute("INSERT OR REPLACE INTO txt (k, v, t) VALUES (?, ?, ?)",
                           (self.key(namespace, text), value, _now()))
            self._after_write(len(value) + 40)
        except (sqlite3.Error, OSError) as err:
            self._fail(err)

    def get_texts(self, namespace: str, texts: Sequence[str]) -> dict[int, str]:
        """The stored text results of the texts found, by position (empty when the cache fails):
        :meth:`get_text` for many texts in a few queries."""
        try:
            keys = [self.key(namespace, t) for t in texts]
            found = dict(self._select("txt", keys))
            return {i: found[k] for i, k in enumerate(keys) if k in found}
        except (sqlite3.Error, OSError) as err:
            self._fail(err)
            return {}

    def put_texts(self, namespace: str, texts: Sequence[str], values: Sequence[str]) -> None:
        """:meth:`put_text` for many texts in one transaction."""
        try:
            db = self._conn()
            now = _now()
            rows = [(self.key(namespace, t), v, now) for t, v in zip(texts, values)]
            with db:
                db.executemany("INSERT OR REPLACE INTO txt (k, v, t) VALUES (?, ?, ?)", rows)
            self._after_write(sum(len(r[1]) + 40 for r in rows))
        except (sqlite3.Error, OSError) as err:
            self._fail(err)

    @staticmethod
    def key(embedder: str, text: str) -> bytes:
        return hashlib.sha1(f"{embedder}\x00{text}".encode("utf-8", "surrogatepass")).digest()

    # ----- vectors -----
    def get_many(self, embedder: str, texts: Sequence[str], dim: int) -> dict[int, np.ndarray]:
        """The stored vectors of the texts found, by position (empty when the cache fails)."""
        try:
            keys = [self.key(embedder, t) for t in texts]
            rows = self._select("emb", keys, lambda v: len(v) == 4 * dim)   # float32 vectors of this size
            found = {k: np.frombuffer(v, dtype=np.float32) for k, v in rows}
            return {i: found[k] for i, k in enumerate(keys) if k in found}
        except (sqlite3.Error, OSError) as err:
            self._fail(err)
            return {}

    def put_many(self, embedder: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        try:
            db = self._conn()
            now = _now()
            rows = [(self.key(embedder, t), np.asarray(v, dtype=np.float32).tobytes(), now) for t, v in zip(texts, vectors)]
            with db:
                db.executemany("INSERT OR REPLACE INTO emb (k, v, t) VALUES (?, ?, ?)", rows)
            self._after_write(sum(len(r[1]) + 40 for r in rows))
        except (sqlite3.Error, OSError) as err:
            self._fail(err)

    # ----- size limit -----
    def _select(self, table: str, keys: list[bytes], keep=None) -> list[tuple[bytes, bytes]]:
        """(key, value) rows of ``table`` for the keys found (in chunks of 500), values that
        ``keep`` accepts; the rows read are touched (their last-use time refreshed)."""
        rows, stale = [], []
        db = self._conn()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            for k, v, t in db.execute(f"SELECT k, v, t FROM {table} WHERE k IN ({','.join('?' * len(chunk))})", chunk):
                if keep is None or keep(v):
                    rows.append((k, v))
                    stale.append((k, t))
        self._touch(table, stale)
        return rows

    def _touch(self, table: str, rows: list) -> None:
        """Mark rows as used now (at most once an hour per row, so that reads rarely write)."""
        now = _now()
        old = [k for k, t in rows if t < now - TOUCH_AFTER_S]
        if not old:
            return
        db = self._conn()
        with db:
            for i in range(0, len(old), 500):
                chunk = old[i:i + 500]
                db.execute(f"UPDATE {table} SET t = ? WHERE k IN ({','.join('?' * len(chunk))})", [now, *chunk])

    def used_bytes(self) -> int:
        """Bytes of the database in use (pages holding data, free pages left out)."""
        db = self._conn()
        pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count", "page_size"))
        return (pages - free) * size

    def _after_write(self, nbytes: int) -> None:
        """Check the size after the first write of the process, then after every ~1/16 of the limit
        written (two PRAGMA reads), and evict when over the limit."""
        if not self.max_bytes:
            return
        if self._unchecked is not None:
            self._unchecked += nbytes
            if self._unchecked < min(self.max_bytes // 16, 8 * 1024 ** 2):
                return
        self._unchecked = 0
        self.evict()

    def evict(self, target: float = 0.75) -> int:
        """When over ``max_bytes``, delete the least recently used rows (of both tables, in
        proportion) until the data fits in ``target`` of the limit. Returns the rows deleted."""
        if not self.max_bytes:
            return 0
        used = self.used_bytes()
        if used <= self.max_bytes:
            return 0
        goal = int(self.max_bytes * target)
        db = self._conn()
        deleted = 0
        for _ in range(8):
            counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("emb", "txt")}
            if not any(counts.values()):
                break
            share = min(1.0, (used - goal) / used + 0.02)
            with db:
                for table, n in counts.items():
                    k = min(n, max(1, math.ceil(n * share))) if n else 0
                    if k:
                        db.execute(f"DELETE FROM {table} WHERE rowid IN "
                                   f"(SELECT rowid FROM {table} ORDER BY t, rowid LIMIT ?)", (k,))
                        deleted += k
            used = self.used_bytes()
            if used <= goal:
                break
        return deleted


@functools.cache
def _store(folder: str, thread: int) -> EmbeddingCache:
    return EmbeddingCache(Path(folder) / "embeddings.sqlite")


def cache_store() -> EmbeddingCache:
    """The cache for the current cache folder: one SQLite connection per thread, reused (a SQLite
    connection may only be used by the thread that opened it, and Dask's threaded scheduler or a
    caller's thread pool classify from other threads)."""
    import threading
    return _store(str(default_cache_dir()), threading.get_ident())


def cache_enabled() -> bool:
    return os.environ.get("CONTENTPLAN_CACHE", "").lower() not in ("off", "0", "false", "no")


ROW_CACHE = True   # False in Dask/Spark workers: per-text results are not cached (the encoder's fast-load state still is)


def row_cache_enabled() -> bool:
    """Whether per-text results (embeddings, probabilities, languages) go to the on-disk cache."""
    return ROW_CACHE and cache_enabled()
