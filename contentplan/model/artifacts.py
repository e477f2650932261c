"""Model folders: ``meta.json`` (format version, library versions, labels, embedder, corpus hash,
metrics, file hashes), ``estimator.skops`` (the fitted StageClassifier, loaded with skops and an
explicit trusted-types list — never pickle), ``inference.npz`` (the same classifier as plain arrays,
what classification loads: no scikit-learn import), optionally ``baseline_tfidf.skops`` (the
TF-IDF-only baseline ``evaluate`` scores) and a ``README.md`` model card. ``meta.json`` records the
sha256 of each of these files under ``files``; a file is loaded only when its hash is recorded and
matches."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from importlib import resources
from pathlib import Path

from ..errors import RETRAIN, ModelError, model_error
from .runtime import RUNTIME, LinearStageModel

FORMAT_VERSION = 1
META = "meta.json"
ESTIMATOR = "estimator.skops"
BASELINE = "baseline_tfidf.skops"   # the TF-IDF-only baseline, loaded by 'contentplan evaluate' only
CARD = "README.md"
DEFAULT_MODEL_NAME = "default"

# Every type the saved estimator may contain. Anything else in a file is refused before loading.
TRUSTED_TYPES = [
    "contentplan.model.StageClassifier",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
]


def _skops_io():
    """Import ``skops.io`` without its import-time scan of every scikit-learn estimator.

    skops builds its default trusted list by calling ``sklearn.utils.all_estimators()``, which
    imports all of scikit-learn (5-8 s on 2 cores, most of a cold start). We never rely on that
    default list — every load passes the explicit TRUSTED_TYPES below — so during the import the
    scan sees only the estimator types our models contain.
    """
    import sys
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils
    from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    original = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *args, **kwargs: [
        ("LogisticRegression", LogisticRegression), ("TfidfTransformer", TfidfTransformer), ("TfidfVectorizer", TfidfVectorizer)]
    try:
        import skops.io as sio
    finally:
        sklearn.utils.all_estimators = original
    return sio


def library_versions() -> dict:
    import numpy
    import sklearn
    import skops

    from .. import __version__
    return {"contentplan": __version__, "scikit-learn": sklearn.__version__, "numpy": numpy.__version__,
            "skops": skops.__version__}


def default_model_dir() -> Path:
    """The committed default model: ``models/default`` next to the package (repo checkout), or the
    copy installed inside the package."""
    here = Path(__file__).resolve().parent.parent   # the package folder
    for cand in (here.parent / "models" / DEFAULT_MODEL_NAME, here / "models" / DEFAULT_MODEL_NAME):
        if (cand / META).is_file():
            return cand
    try:
        cand = Path(str(resources.files("contentplan").joinpath("models").joinpath(DEFAULT_MODEL_NAME)))
        if (cand / META).is_file():
            return cand
    except (FileNotFoundError, TypeError):
        pass
    raise ModelError("no default model found (models/default); train one with: contentplan train --corpus corpora -o models/default")


def check_model_folder(path: str | Path) -> None:
    """Refuse to write a model to ``path`` when it exists and is not a model folder (nor empty): only a
    model folder is ever replaced, a folder of other files (a thesis, a project) never."""
    path = Path(path)
    if path.exists() and (not path.is_dir() or (not (path / META).is_file() and any(path.iterdir()))):
        raise ModelError(f"{path}: exists and is not a contentplan model folder (no {META}); "
                         "write the model to a new or empty folder")


def save_model(estimator, meta: dict, path: str | Path, card: str = "", baseline=None) -> Path:
    """Write a model folder atomically (a temporary folder renamed into place); ``baseline``, a
    TF-IDF-only estimator, is saved beside it as :data:`BASELINE`, its hash recorded with the others."""
    sio = _skops_io()

    path = Path(path)
    check_model_folder(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=str(path.parent)))
    try:
        sio.dump(estimator, tmp / ESTIMATOR)
        estimator.runtime().save(tmp / RUNTIME)
        if baseline is not None:
            sio.dump(baseline, tmp / BASELINE)
        _write_meta(tmp, {"format_version": FORMAT_VERSION, "versions": library_versions(), **meta})
        (tmp / CARD).write_text(card or "", encoding="utf-8")
        if path.exists():
            backup = path.with_name(f".{path.name}.old")
            if backup.exists():
                shutil.rmtree(backup)
            path.rename(backup)
            tmp.rename(path)
            shutil.rmtree(backup)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def file_sha256(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def export_runtime(path: str | Path) -> Path:
    """Write (or rewrite) ``inference.npz`` from the folder's ``estimator.skops`` and record the
    files' hashes in ``meta.json`` (the baseline's too, when there is one): for model folders saved
    before the runtime file, or a file's hash, was recorded."""
    path = Path(path)
    meta = read_meta(path)
    tmp = path / f".{RUNTIME}.tmp.npz"
    load_estimator(path, meta).runtime().save(tmp)
    tmp.replace(path / RUNTIME)
    _write_meta(path, meta)
    return path / RUNTIME


def _write_meta(folder: Path, meta: dict) -> None:
    """``meta.json`` with the sha256 of the estimator and runtime files (and the baseline, when
    present) beside it, under ``files``, written atomically."""
    names = [ESTIMATOR, RUNTIME] + ([BASELINE] if (folder / BASELINE).is_file() else [])
    meta = {**meta, "files": {name: file_sha256(folder / name) for name in names}}
    tmp = folder / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(folder / META)


def load_runtime(path: str | Path, meta: dict) -> tuple[LinearStageModel, str]:
    """The classifier for prediction and a fingerprint of it (keys the prediction cache).

    Reads ``inference.npz`` when the folder has one (numpy only, checked against the hash in
    ``meta.json``), else converts the skops estimator.
    """
    path = Path(path)
    npz = path / RUNTIME
    if not npz.is_file():
        digest = _checked_sha256(path, meta, ESTIMATOR)
        est = load_estimator(path, meta)
        return est.runtime(), digest[:16]
    digest = _checked_sha256(path, meta, RUNTIME)
    rt = LinearStageModel.load(npz)
    if list(rt.classes_) != list(meta["labels"]):
        raise model_error(f"{path}: labels in {META} do not match {RUNTIME}")
    dim = meta.get("embedding_dim")
    if rt.embedder and dim is not None and rt.embedding_dim_ != dim:
        raise model_error(f"{path}: embedding dimension mismatch ({rt.embedding_dim_} in {RUNTIME}, {dim} in {META})")
    return rt, digest[:16]


def _checked_sha256(folder: Path, meta: dict, name: str, copy: Path | None = None) -> str:
    """The sha256 of ``folder/name`` (or of ``copy``, a copy of it about to be loaded), which must be
    the one ``meta.json`` records: a model whose files cannot be checked is refused, not trusted."""
    files = meta.get("files")
    expected = files.get(name) if isinstance(files, dict) else None
    if not isinstance(expected, str):
        raise ModelError(f"{folder}: {META} records no sha256 for {name}, so the model files cannot be checked; "
                         f"{RETRAIN}, or re-export with 'contentplan dev export-runtime {folder}'")
    digest = file_sha256(copy or folder / name)
    if expected != digest:
        raise model_error(f"{folder / name}: file does not match the sha256 in {META} (changed after training)")
    return digest


def read_meta(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"{path}: model folder not found; pass --model with a folder made by 'contentplan train'")
    meta_file = path / META
    if not meta_file.is_file():
        raise ModelError(f"{path}: not a model folder (no {META}); pass a folder made by 'contentplan train'")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise model_error(f"{meta_file}: corrupt {META} ({err.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise model_error(f"{meta_file}: corrupt {META}")
    fv = meta.get("format_version")
    if fv != FORMAT_VERSION:
        raise model_error(f"{path}: model format version {fv!r} is not supported (this contentplan reads version {FORMAT_VERSION})")
    for key in ("labels", "embedder"):
        if key not in meta:
            raise model_error(f"{meta_file}: missing key '{key}'")
    return meta


def load_baseline_estimator(path: str | Path, meta: dict):
    """The TF-IDF-only baseline saved in the model folder ``path``, or None when there is none.

    Like the other model files it must match the sha256 ``meta.json`` records for it; a folder whose
    meta records none (saved before the baseline was hashed) is refused with the way to fix it."""
    import os

    path = Path(path)
    if not (path / BASELINE).is_file():
        return None
    # load_estimator reads estimator.skops: copy the baseline there in a private folder, and check the
    # copy (the bytes loaded) against the recorded hash.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / ESTIMATOR
        shutil.copyfile(path / BASELINE, copy)
        os.chmod(copy, 0o600)
        _checked_sha256(path, meta, BASELINE, copy=copy)
        return load_estimator(tmp, {"labels": meta["labels"], "embedding_dim": None})


def load_estimator(path: str | Path, meta: dict):
    """Load the estimator with skops, refusing any type outside TRUSTED_TYPES."""
    sio = _skops_io()

    est_file = Path(path) / ESTIMATOR
    if not est_file.is_file():
        pickled = [p.name for p in Path(path).glob("*.pkl")] + [p.name for p in Path(path).glob("*.pickle")]
        hint = f" (found {', '.join(pickled)}: pickle files are never loaded)" if pickled else ""
        raise model_error(f"{path}: no {ESTIMATOR}{hint}")
    try:
        untrusted = sio.get_untrusted_types(file=est_file)
    except Exception as err:  # skops raises zip / json / key errors on corrupt files
        raise model_error(f"{est_file}: corrupt model file ({err.__class__.__name__})") from None
    bad = [t for t in untrusted if t not in TRUSTED_TYPES]
    if bad:
        raise ModelError(f"{est_file}: refuses to load untrusted type(s) {', '.join(sorted(bad))}; "
                         "only models made by 'contentplan train' are loaded")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = sio.load(est_file, trusted=[t for t in untrusted])
    except Exception as err:
        raise model_error(f"{est_file}: cannot load model ({err.__class__.__name__}: {err})") from None
    from .estimator import StageClassifier
    if not isinstance(est, StageClassifier):
        raise model_error(f"{est_file}: holds a {type(est).__name__}, not a StageClassifier")
    if list(est.classes_) != list(meta["labels"]):
        raise model_error(f"{path}: labels in {META} do not match the estimator")
    dim = meta.get("embedding_dim")
    if est.embedder and dim is not None and getattr(est, "embedding_dim_", dim) != dim:
        raise model_error(f"{path}: embedding dimension mismatch ({est.embedding_dim_} in the estimator, {dim} in {META})")
    return est
