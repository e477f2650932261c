"""contentplan.dask and ``classify --engine dask``: same rows and values as one process, faults.

Skipped without the optional extra (pip install 'contentplan[dask]'). The clusters are local
(2 worker processes, one thread each) and the model is the tiny hashing-embedder one, so the
module runs in about a minute on 2 cores.
"""
from __future__ import annotations

import csv
import glob
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from .conftest import TINY

pytest.importorskip("dask.dataframe", reason="needs the optional extra: pip install 'contentplan[dask]'")
pytest.importorskip("distributed", reason="needs the optional extra: pip install 'contentplan[dask]'")

import dask.dataframe as dd  # noqa: E402

import contentplan.dask as cpdask  # noqa: E402
from contentplan.model.pipeline import JourneyModel, classify_frame  # noqa: E402
from contentplan.domain.schemes import load_scheme  # noqa: E402

P_COLUMNS = ("confidence", "p_")


def _rows(n: int, start: int = 0) -> list[tuple[str, str, str]]:
    texts = [t for t, _ in TINY] + ["Mentions légales", "", "12345", "<p>guide <b>complet</b></p>",
                                    "slt cv jveu 1 devis stp", "what is lead nurturing " * 12]
    return [(f"r{i:06d}", f"{texts[i % len(texts)]} {i}" if i % 7 else texts[i % len(texts)], str(i % 97))
            for i in range(start, start + n)]


def _write_csv(path: Path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "Keyword", "Volume"])
        w.writerows(rows)


def _split(tmp: Path, n_files: int, per_file: int) -> tuple[Path, list]:
    folder = tmp / "in"
    folder.mkdir()
    rows = _rows(n_files * per_file)
    for k in range(n_files):
        _write_csv(folder / f"kw-{k:02d}.csv", rows[k * per_file:(k + 1) * per_file])
    _write_csv(tmp / "all.csv", rows)
    return folder, rows


def _read_parts(pattern: str) -> pd.DataFrame:
    files = sorted(glob.glob(pattern))
    assert files, pattern
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def assert_same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same columns, rows and values; probabilities may differ by one unit of their 4th decimal
    (float32 sums in another batch order), never a stage, language, intent or explanation."""
    assert list(a.columns) == list(b.columns)
    a = a.sort_values("id").reset_index(drop=True)
    b = b.sort_values("id").reset_index(drop=True)
    assert a["id"].tolist() == b["id"].tolist()
    for c in a.columns:
        if c.startswith(P_COLUMNS):
            assert (pd.to_numeric(a[c]) - pd.to_numeric(b[c])).abs().max() <= 1.0001e-4, c
        else:
            assert a[c].tolist() == b[c].tolist(), c


@pytest.fixture
def run_cli(runner, cli):
    return lambda args: runner.invoke(cli, args)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import LocalCluster
    env = {"CONTENTPLAN_CACHE": str(tmp_path_factory.mktemp("workercache")), "CONTENTPLAN_NO_PROGRESS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=env) as c:
        yield c


def test_library_classify_matches_one_process(tiny_model_dir, cluster):
    from distributed import Client
    frame = pd.DataFrame(_rows(600), columns=["id", "Keyword", "Volume"]).set_index("id", drop=False)
    ddf = dd.from_pandas(frame, npartitions=3)
    out = cpdask.classify(ddf, text_column="Keyword", model=str(tiny_model_dir))
    single = classify_frame(JourneyModel.load(tiny_model_dir), frame.reset_index(drop=True), "Keyword",
                            load_scheme("buyer-journey"))
    assert list(out.columns) == list(single.columns)
    added = [c for c in single.columns if c not in frame.columns]
    assert dict(out.dtypes[added]) == dict(single.dtypes[added])
    assert dict(out.dtypes[list(frame.columns)]) == dict(ddf.dtypes)   # input columns as Dask holds them
    with Client(cluster) as client:
        got = client.compute(out).result()
    assert got.index.tolist() == frame.index.tolist()        # the partitions' index is kept
    assert_same_rows(got.reset_index(drop=True).astype(str), single.astype(str))


def test_cli_dask_output_equals_single_process(tiny_model_dir, cluster, tmp_path, run_cli):
    folder, rows = _split(tmp_path, 4, 150)
    single = run_cli(["classify", "-i", str(tmp_path / "all.csv"), "--model", str(tiny_model_dir), "-o", str(tmp_path / "one.csv")])
    assert single.exit_code == 0, single.output
    res = run_cli(["classify", "-i", str(folder / "*.csv"), "--model", str(tiny_model_dir), "--engine", "dask",
                   "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "out" / "*.csv")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"part-{i:05d}.csv" for i in range(4)]
    one = pd.read_csv(tmp_path / "one.csv", dtype=str, keep_default_na=False)
    assert_same_rows(_read_parts(str(tmp_path / "out" / "*.csv")), one)
    # Parquet out, read back
    res = run_cli(["classify", "-i", str(folder / "kw-*"), "--model", str(tiny_model_dir), "--engine", "dask",
                   "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "pq" / "*.parquet"), "--no-explain"])
    assert res.exit_code == 0, res.output
    back = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "pq").glob("*.parquet"))], ignore_index=True)
    assert back["id"].tolist() == [r[0] for r in rows] and "explanation" not in back.columns


def test_cli_dask_local_workers_and_parquet_input(tiny_model_dir, tmp_path):
    """--workers N starts a local cluster (a real subprocess, as a user runs it)."""
    (tmp_path / "in").mkdir()
    rows = _rows(300)
    for k in range(2):
        pd.DataFrame(rows[k * 150:(k + 1) * 150], columns=["id", "Keyword", "Volume"]).to_parquet(tmp_path / "in" / f"{k}.parquet")
    env = {**os.environ, "CONTENTPLAN_CACHE": str(tmp_path / "cache"), "CONTENTPLAN_NO_PROGRESS": "1"}
    res = subprocess.run([sys.executable, "-m", "contentplan", "classify", "-i", str(tmp_path / "in" / "*.parquet"),
                          "--model", str(tiny_model_dir), "--engine", "dask", "--workers", "2",
                          "-o", str(tmp_path / "out" / "*.jsonl")], capture_output=True, text=True, env=env, timeout=180)
    assert res.returncode == 0, res.stderr
    got = pd.concat([pd.read_json(p, lines=True, dtype=False) for p in sorted((tmp_path / "out").glob("*.jsonl"))])
    assert got["id"].tolist() == [r[0] for r in rows]


def test_killed_worker_mid_run_every_row_exactly_once(tiny_model_dir, tmp_path):
    """SIGKILL one of two workers while it classifies a partition: its tasks are rerun elsewhere and
    every input row is in the output exactly once (each partition file is written atomically)."""
    from distributed import Client, LocalCluster
    folder, rows = _split(tmp_path, 8, 2500)
    env = {"CONTENTPLAN_CACHE": str(tmp_path / "cache"), "CONTENTPLAN_NO_PROGRESS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=env) as c, \
            Client(c) as client:
        pids = client.run(os.getpid)
        box: dict = {}

        def run():
            try:
                box["rows"] = cpdask.run_classify_dask(str(folder / "*.csv"), str(tmp_path / "out" / "*.csv"), "Keyword",
                                                       "buyer-journey", str(tiny_model_dir), None, (), True, False,
                                                       c.scheduler_address, None, True)
            except BaseException as err:  # reported by the main thread
                box["error"] = err

        worker = threading.Thread(target=run)
        worker.start()
        killed = None
        deadline = time.monotonic() + 90
        while killed is None and time.monotonic() < deadline and worker.is_alive():
            busy = {w: keys for w, keys in client.processing().items() if any("classify" in str(k) for k in keys)}
            if busy and (tmp_path / "out").is_dir() and any((tmp_path / "out").glob("part-*.csv")):
                victim = sorted(busy)[0]
                os.kill(pids[victim], signal.SIGKILL)
                killed = victim
            time.sleep(0.05)
        worker.join(120)
        assert not worker.is_alive()
        assert "error" not in box, box.get("error")
        assert killed is not None, "the run ended before a worker could be killed mid-partition"
    assert box["rows"] == len(rows)
    out = _read_parts(str(tmp_path / "out" / "part-*.csv"))
    assert sorted(out["id"]) == [r[0] for r in rows]           # every row, exactly once
    assert not list((tmp_path / "out").glob(".*.tmp"))         # no half-written leftovers


def test_unreadable_partition_is_one_line_error_naming_the_file(tiny_model_dir, cluster, tmp_path, run_cli):
    folder, _ = _split(tmp_path, 3, 20)
    (folder / "kw-01.csv").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 200)
    res = run_cli(["classify", "-i", str(folder / "*.csv"), "--model", str(tiny_model_dir), "--engine", "dask",
                   "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "out" / "*.csv")])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "kw-01.csv" in lines[0], res.output
    assert "Traceback" not in res.output

    (folder / "kw-01.csv").unlink()
    (folder / "kw-02.parquet").write_bytes(b"PAR1 not really")
    res = run_cli(["classify", "-i", str(folder / "kw-*"), "--model", str(tiny_model_dir), "--engine", "dask",
                   "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "out2" / "*.csv")])
    assert res.exit_code == 1 and "kw-02.parquet: cannot be read as Parquet" in res.output, res.output

    shutil.rmtree(folder)
    folder.mkdir()
    _write_csv(folder / "a.csv", _rows(5))
    (folder / "b.csv").write_text("other,header\nx,y\n", encoding="utf-8")
    res = run_cli(["classify", "-i", str(folder / "*.csv"), "--model", str(tiny_model_dir), "--engine", "dask",
                   "--scheduler", cluster.scheduler_address, "-o", str(tmp_path / "out3" / "*.csv")])
    assert res.exit_code == 1 and "b.csv: columns other, header differ from the first file's" in res.output, res.output


@pytest.mark.parametrize("args, message", [
    (["--workers", "2"], "--scheduler and --workers go with --engine dask"),
    (["--engine", "dask", "-o", "out.csv"], "-o names one file per partition"),
    (["--engine", "dask", "-o", "out/*.xlsx"], "must end in .csv, .jsonl, .parquet"),
    (["--engine", "dask", "-f", "csv", "-o", "out/*.csv"], "drop -f"),
    (["--engine", "dask", "--workers", "2", "--scheduler", "tcp://x:1", "-o", "o/*.csv"], "not both"),
])
def test_dask_option_errors(args, message, run_cli, tmp_path):
    _write_csv(tmp_path / "a.csv", _rows(3))
    res = run_cli(["classify", "-i", str(tmp_path / "a.csv"), *args])
    assert res.exit_code != 0 and message in res.output, res.output


def test_no_input_matches(run_cli, tmp_path):
    res = run_cli(["classify", "-i", str(tmp_path / "nothing" / "*.csv"), "--engine", "dask", "-o", str(tmp_path / "o" / "*.csv")])
    assert res.exit_code == 1 and "no input file matches" in res.output


def test_dask_is_not_imported_by_contentplan():
    code = "import contentplan, contentplan.cli, sys; print('dask' in sys.modules or 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_spark_map_in_pandas(tiny_model_dir, tmp_path):
    """The README's Spark recipe, run when pyspark and a JVM are installed."""
    pyspark = pytest.importorskip("pyspark", reason="pyspark not installed (pip install pyspark; needs a JVM)")
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        pytest.skip("no JVM (java on PATH or JAVA_HOME) for pyspark")
    from pyspark.sql import SparkSession

    from contentplan.dask import classify_partition, output_meta
    frame = pd.DataFrame(_rows(200), columns=["id", "Keyword", "Volume"])
    spark = SparkSession.builder.master("local[2]").appName("contentplan-test").getOrCreate()
    try:
        meta = output_meta(frame, "Keyword", model=str(tiny_model_dir))
        schema = spark.createDataFrame(meta.astype(str)).schema if len(meta) else None
        schema = schema or ", ".join(f"`{c}` string" for c in meta.columns)
        model = str(tiny_model_dir)
        sdf = spark.createDataFrame(frame)
        out = sdf.mapInPandas(lambda parts: (classify_partition(p, "Keyword", model=model).astype(str) for p in parts),
                              schema=schema).toPandas()
    finally:
        spark.stop()
    single = classify_frame(JourneyModel.load(tiny_model_dir), frame, "Keyword", load_scheme("buyer-journey"))
    assert_same_rows(out, single.astype(str))
    assert pyspark
