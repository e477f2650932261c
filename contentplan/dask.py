"""Classification past one machine, on Dask (``pip install 'contentplan[dask]'``).

    import dask.dataframe as dd
    import contentplan.dask
    ddf = dd.read_parquet("keywords/*.parquet")
    out = contentplan.dask.classify(ddf, text_column="Keyword")   # a Dask DataFrame
    out.to_parquet("staged/")

Each partition goes through :func:`classify_partition`, the single-process ``classify_frame``, so
the columns and values are exactly the single process's. What travels to the workers is that
module-level function and plain parameters (the text column's name, a scheme name or YAML path, a
model folder path, numbers, brand names): each worker process loads the model once (a cached
loader, :func:`worker_model`), the encoder's 65 MB embedding table memory-mapped from the
fast-load state (``use_fastload``), with one BLAS thread unless ``CONTENTPLAN_THREADS`` says
otherwise, and no embedding or prediction cache (a shared SQLite file is the wrong place for
millions of one-off rows written by many processes).

:func:`classify_partition` is also the function for Spark's ``mapInPandas`` (README).
``dask`` is imported only by the functions that need it, never by ``import contentplan``.
"""
from __future__ import annotations

import contextlib
import functools
import glob as globmod
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .domain import DEFAULT_SCHEME
from .errors import ContentplanError, InputError, OutputError

INPUT_EXTS = (".csv", ".tsv", ".txt", ".jsonl", ".json", ".parquet")
OUTPUT_EXTS = (".csv", ".jsonl", ".parquet")


def _need_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ImportError:
        raise ContentplanError("--engine dask needs Dask: pip install 'contentplan[dask]' "
                               "(dask[dataframe] and distributed)") from None


# ----- the per-partition function (Dask workers, Spark executors) -----
@functools.lru_cache(maxsize=4)
def worker_model(model: str | None):
    """The model, loaded once per process; the first call also sets the worker's policy: one BLAS
    thread (unless ``CONTENTPLAN_THREADS`` is set) and no row caches."""
    os.environ.setdefault("CONTENTPLAN_THREADS", "1")
    from .io import cache
    cache.ROW_CACHE = False
    from .model.pipeline import JourneyModel
    return JourneyModel.load(model)


@functools.lru_cache(maxsize=8)
def _scheme(scheme: str):
    from .domain.schemes import load_scheme
    return load_scheme(scheme)


def classify_partition(frame: pd.DataFrame, text_column: str, scheme: str = DEFAULT_SCHEME, model: str | None = None,
                       min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True) -> pd.DataFrame:
    """``classify_frame`` on one partition, keeping the partition's index (row ids stay unique)."""
    from .model.pipeline import classify_frame
    out = classify_frame(worker_model(model), frame, text_column, _scheme(scheme), min_confidence, tuple(brands), explain)
    out.index = frame.index
    return out


def output_meta(frame: pd.DataFrame, text_column: str, scheme: str = DEFAULT_SCHEME, model: str | None = None,
                explain: bool = True) -> pd.DataFrame:
    """The empty frame with the output's columns and dtypes (what ``map_partitions`` needs)."""
    from .model.pipeline import JourneyModel, classify_frame
    probe = frame.iloc[:0].copy()
    row = {c: probe[c].dtype.type() if probe[c].dtype.kind in "biuf" else "x" for c in probe.columns}
    row[text_column] = "combien coûte votre CRM ?"
    one = pd.DataFrame([row]).astype(probe.dtypes.to_dict())
    return classify_frame(JourneyModel.load(model), one, text_column, _scheme(scheme), None, (), explain).iloc[:0]


def classify(ddf, text_column: str | None = None, scheme: str = DEFAULT_SCHEME, model: str | Path | None = None,
             min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True):
    """Classify a Dask DataFrame: the input columns then the classification columns, as
    ``contentplan classify`` writes them, partition by partition (same index, same order)."""
    _need_dask()
    from .io.tables import detect_column
    column = detect_column(ddf._meta, "text", text_column, where="input", option="text_column")
    model = str(model) if model else None
    scheme = str(scheme)
    meta = output_meta(ddf._meta, column, scheme, model, explain)
    return ddf.map_partitions(classify_partition, column, scheme, model, min_confidence, tuple(brands), explain,
                              meta=meta)


# ----- the CLI path: partitioned files in, partitioned files out -----
def input_files(pattern: str) -> list[str]:
    """The files of ``-i`` (a glob, a folder or a file), sorted; one partition each."""
    p = Path(pattern)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in INPUT_EXTS and f.is_file())
    else:
        files = sorted(globmod.glob(pattern)) if globmod.has_magic(pattern) else ([pattern] if p.exists() else [])
    if not files:
        raise InputError(f"{pattern}: no input file matches; give a file, a folder or a quoted glob such as "
                         "'keywords/*.csv'")
    bad = [f for f in files if Path(f).suffix.lower() not in INPUT_EXTS]
    if bad:
        raise InputError(f"{bad[0]}: --engine dask reads {', '.join(INPUT_EXTS)} files; convert it or leave it out of the glob")
    return files


def read_part(path: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One input file as a frame of strings (the single-process reader; Parquet as stored). A file
    that cannot be read, or whose columns differ from the first file's, raises the one-line error."""
    if path.lower().endswith(".parquet"):
        try:
            frame = pd.read_parquet(path)
        except Exception as err:
            raise InputError(f"{path}: cannot be read as Parquet ({err.__class__.__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else ''}); re-export it or leave it out") from None
    else:
        from .io.tables import read_table
        frame = read_table(path)
    if columns is not None and [str(c) for c in frame.columns] != columns:
        raise InputError(f"{path}: columns {', '.join(map(str, frame.columns))} differ from the first file's "
                         f"({', '.join(columns)}); every file of one run needs the same header")
    return frame


def output_files(pattern: str, n: int) -> tuple[str, list[str]]:
    """``-o 'staged/*.csv'`` -> (format, one path per partition: staged/part-00000.csv, ...)."""
    if "*" not in pattern:
        raise OutputError(f"-o {pattern}: with --engine dask, -o names one file per partition: write a pattern "
                          "such as 'staged/*.csv' or 'staged/*.parquet' (quoted)")
    ext = Path(pattern).suffix.lower()
    if ext not in OUTPUT_EXTS:
        raise OutputError(f"-o {pattern}: the pattern must end in {', '.join(OUTPUT_EXTS)}")
    folder = Path(pattern).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"-o {pattern}: cannot create the folder {folder} ({err.strerror or err})") from None
    width = max(5, len(str(n - 1)))
    return ext[1:], [str(Path(pattern).with_name(Path(pattern).name.replace("*", f"part-{i:0{width}d}"))) for i in range(n)]


def write_part(frame: pd.DataFrame, path: str, fmt: str, inputs: tuple[str, ...], csv_safe: bool = False,
               csv_dialect: str = "plain") -> int:
    """Write one output partition atomically (a retried task rewrites the whole file: every row once)."""
    if fmt == "parquet":
        from .io.writers import atomic_write, check_output_path
        check_output_path(path, inputs)
        with atomic_write(path, "wb", encoding=None) as fh:
            frame.reset_index(drop=True).to_parquet(fh, index=False)
    else:
        from .io.writers import StreamWriter
        with StreamWriter(fmt, path, inputs, csv_safe=csv_safe, csv_dialect=csv_dialect) as w:
            w.write(frame.reset_index(drop=True))
    return len(frame)


def start_client(scheduler: str | None, workers: int | None):
    """A ``distributed`` client: the given scheduler, or a local cluster of ``workers`` processes
    with one thread each (the way to use N cores with one BLAS thread each)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ContentplanError("--engine dask needs distributed: pip install 'contentplan[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except Exception as err:
            raise ContentplanError(f"cannot reach the Dask scheduler {scheduler} ({err.__class__.__name__}); "
                                   "check the address (tcp://host:8786) and that the scheduler is running") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           env={"CONTENTPLAN_THREADS": os.environ.get("CONTENTPLAN_THREADS", "1")})
    return Client(cluster)


def run_classify_dask(input_pattern: str, output: str | None, text_column: str | None, scheme: str, model_dir: str | None,
                      min_confidence: float | None, brands: Sequence[str], explain: bool, csv_safe: bool,
                      scheduler: str | None, workers: int | None, quiet: bool, csv_dialect: str = "plain") -> int:
    """``contentplan classify --engine dask``: returns the number of rows written."""
    _need_dask()
    import dask
    import dask.dataframe as dd

    from .api import files_read
    from .io.tables import detect_column

    if not output:
        raise OutputError("--engine dask writes one file per partition: give -o 'staged/*.csv' (or *.parquet, *.jsonl)")
    files = input_files(input_pattern)
    fmt, outs = output_files(output, len(files))
    inputs = tuple(str(p) for p in files_read(*files, scheme=scheme, model_dir=model_dir))
    for o in outs:                       # refuse an output onto an input before any work
        from .io.writers import check_output_path
        check_output_path(o, inputs)
    first = read_part(files[0])
    columns = [str(c) for c in first.columns]
    column = detect_column(first, "text", text_column, where=files[0], option="--text-column")
    parts = [dask.delayed(read_part)(f, columns) for f in files]
    ddf = dd.from_delayed(parts, meta=first.iloc[:0], verify_meta=False)
    out = classify(ddf, column, scheme, model_dir, min_confidence, brands, explain)
    writes = [dask.delayed(write_part)(part, path, fmt, inputs, csv_safe, csv_dialect) for part, path in zip(out.to_delayed(), outs)]
    client = start_client(scheduler, workers)
    try:
        futures = client.compute(writes)
        from .progress import enabled
        if enabled(quiet):                     # the scheduler's progress bar, on stderr, on a terminal only
            import sys

            from distributed import progress
            with contextlib.redirect_stdout(sys.stderr):
                progress(futures)
            sys.stderr.write("\n")
        return sum(client.gather(futures))
    finally:
        cluster = getattr(client, "cluster", None) if not scheduler else None
        client.close()
        if cluster is not None:
            cluster.close()
        for o in outs:                   # what a killed worker left half-written (its task was rerun)
            for tmp in Path(o).parent.glob(f".{Path(o).name}.*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
