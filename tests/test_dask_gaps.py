"""contentplan.dask.gap_report and ``gaps --engine dask``: the same report as one process.

Skipped without the optional extra (pip install 'contentplan[dask]'). Local clusters of 2 worker
processes, one thread each; the tiny hashing-embedder model except where marked ``model``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe", reason="needs the optional extra: pip install 'contentplan[dask]'")
pytest.importorskip("distributed", reason="needs the optional extra: pip install 'contentplan[dask]'")

import contentplan.dask as cpdask  # noqa: E402
from contentplan.reports.gaps import cluster as gaps_cluster  # noqa: E402
from contentplan.reports.gaps import gap_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "corpora" / "examples"
P_COLUMNS = {"confidence", "similarity", "match_score", "p_answered", "best_question_similarity"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from distributed import Client, LocalCluster
    env = {"CONTENTPLAN_CACHE": str(tmp_path_factory.mktemp("workercache")), "CONTENTPLAN_NO_PROGRESS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=env) as c, \
            Client(c) as cl:
        yield cl


def _topics(q: pd.DataFrame) -> dict:
    """topic label -> the rows in it, per (stage, persona)."""
    out: dict = {}
    for i, (s, p, t) in enumerate(zip(q.stage, q.persona, q.topic)):
        if t:
            out.setdefault((s, p, t), []).append(i)
    return out


def assert_same_questions(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Row by row (the row id is the row's place: the same merge of the same inputs): every column
    identical, probabilities within 1e-4 (float32 sums over other batches), and the same topics: the
    same questions in each, under the same label unless its two members tie for most central
    (a 2-question topic: both are equally central, float noise picks one)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        if c in P_COLUMNS:
            assert np.abs(a[c].to_numpy(dtype=float) - b[c].to_numpy(dtype=float)).max() <= 1.0001e-4, c
        elif c != "topic":
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c
    ta, tb = _topics(a), _topics(b)
    assert sorted(map(tuple, ta.values())) == sorted(map(tuple, tb.values()))
    by_rows = {tuple(v): k for k, v in tb.items()}
    for key, rows in ta.items():
        assert by_rows[tuple(rows)] == key or len(rows) == 2, (key, by_rows[tuple(rows)])


def _compare_reports(one, dk) -> None:
    assert_same_questions(one.questions, dk.questions)
    for name in ("content", "over_served"):
        x, y = getattr(one, name), getattr(dk, name)
        assert list(x.columns) == list(y.columns) and len(x) == len(y), name
        for c in x.columns:
            if c in P_COLUMNS:
                assert np.abs(x[c].to_numpy(dtype=float) - y[c].to_numpy(dtype=float)).max() <= 1.0001e-4, (name, c)
            else:
                assert x[c].astype(str).tolist() == y[c].astype(str).tolist(), (name, c)
    pd.testing.assert_frame_equal(one.gaps, dk.gaps)
    pd.testing.assert_frame_equal(one.format_mismatches, dk.format_mismatches)
    keep = ["stage", "persona", "n_questions", "demand", "demand_share", "recommended_formats", "languages"]
    pd.testing.assert_frame_equal(one.briefs[keep], dk.briefs[keep])
    assert {k: v for k, v in dk.meta.items() if k not in ("engine", "cluster_sample")} == one.meta


def test_dask_gap_report_equals_one_process(tiny_model_dir, client):
    """309 questions (FR/EN, personas, volumes) x 63 pages, in 5 partitions of 64 questions."""
    args = (str(EX / "content.csv"), [str(EX / "questions.csv")], str(EX / "personas.yaml"))
    one = gap_report(*args, model=str(tiny_model_dir))
    dk = cpdask.gap_report(*args, model=str(tiny_model_dir), client=client, partition_rows=64)
    assert len(dk.questions) == 309 and dk.questions.answered.any() and (~dk.questions.answered).any()
    _compare_reports(one, dk)


@pytest.mark.model
def test_dask_gap_report_equals_one_process_shipped_model(client):
    """The same with the shipped encoder (its embeddings differ by ~1e-7 with the batch)."""
    args = (str(EX / "content.csv"), [str(EX / "questions.csv")], str(EX / "personas.yaml"))
    one = gap_report(*args)
    dk = cpdask.gap_report(*args, client=client, partition_rows=100)
    _compare_reports(one, dk)


def test_dask_questions_as_a_dask_dataframe_without_personas(tiny_model_dir, client):
    import dask.dataframe as dd
    frame = pd.read_csv(EX / "questions.csv", dtype=str, keep_default_na=False)
    one = gap_report(str(EX / "content.csv"), frame, model=str(tiny_model_dir))
    dk = cpdask.gap_report(str(EX / "content.csv"), dd.from_pandas(frame, npartitions=3), model=str(tiny_model_dir),
                           client=client, partition_rows=100)
    assert set(dk.questions.persona) == {"all"}
    _compare_reports(one, dk)


def test_bounded_cluster_small_cell_is_the_single_process_clustering():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(120, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert cpdask.bounded_cluster(v, sample=120).tolist() == gaps_cluster(v).tolist()


def test_bounded_cluster_samples_then_assigns_the_rest():
    """4 well-apart groups of 500: a 60-question sample finds them, every other question joins its
    own group's centre; sampled questions keep their cluster."""
    rng = np.random.default_rng(1)
    centres = np.eye(4, 32, dtype=np.float32)
    truth = np.repeat(np.arange(4), 500)
    rng.shuffle(truth)
    v = centres[truth] + rng.normal(scale=0.05, size=(2000, 32)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    labels = cpdask.bounded_cluster(v, sample=60, chunk=128)
    assert labels.shape == (2000,)
    assert len(set(labels)) == 4
    for k in range(4):                       # each group is one cluster and each cluster one group
        assert len(set(labels[truth == k])) == 1
    picked = np.unique(np.linspace(0, 1999, 60).round().astype(int))
    assert labels[picked].tolist() == gaps_cluster(v[picked]).tolist()


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CONTENTPLAN_CACHE": str(tmp_path / "cache"), "CONTENTPLAN_NO_PROGRESS": "1",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "contentplan", *args], capture_output=True, text=True, env=env,
                          timeout=240, cwd=tmp_path)


def test_cli_gaps_engine_dask_local_workers_and_glob(tiny_model_dir, tmp_path):
    """``gaps --engine dask --workers 2`` with the questions split over files given as a glob:
    questions.csv as the single process writes it from the same files."""
    frame = pd.read_csv(EX / "questions.csv", dtype=str, keep_default_na=False)
    (tmp_path / "q").mkdir()
    files = []
    for k in range(3):
        files.append(tmp_path / "q" / f"part-{k}.csv")
        frame.iloc[k * 110:(k + 1) * 110].to_csv(files[-1], index=False)
    base = ["gaps", "--content", str(EX / "content.csv"), "--personas", str(EX / "personas.yaml"), "--model", str(tiny_model_dir)]
    one = _cli([*base, *sum((["--questions", str(f)] for f in files), []), "-o", str(tmp_path / "one")], tmp_path)
    assert one.returncode == 0, one.stderr
    dk = _cli([*base, "--questions", str(tmp_path / "q" / "part-*.csv"), "--engine", "dask", "--workers", "2",
               "-o", str(tmp_path / "dk")], tmp_path)
    assert dk.returncode == 0, dk.stderr
    assert dk.stdout == one.stdout.replace(str(tmp_path / "one"), str(tmp_path / "dk"))
    a = pd.read_csv(tmp_path / "one" / "questions.csv", keep_default_na=False)
    b = pd.read_csv(tmp_path / "dk" / "questions.csv", keep_default_na=False)
    assert_same_questions(a, b)


def test_cli_gaps_engine_dask_bad_input_is_one_line_error(tiny_model_dir, tmp_path):
    (tmp_path / "q").mkdir()
    pd.DataFrame({"Keyword": ["prix crm", "what is churn"]}).to_csv(tmp_path / "q" / "a.csv", index=False)
    (tmp_path / "q" / "b.jsonl").write_text('{"Keyword": "ok"}\n{not json\n', encoding="utf-8")
    base = ["gaps", "--content", str(EX / "content.csv"), "--model", str(tiny_model_dir), "--engine", "dask", "--workers", "1",
            "-o", str(tmp_path / "out")]
    for pattern, name in ((str(tmp_path / "q" / "*"), "b.jsonl"), (str(tmp_path / "none" / "*.csv"), "none")):
        res = _cli([*base, "--questions", pattern], tmp_path)
        assert res.returncode != 0
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and name in lines[0], res.stderr
        assert "Traceback" not in res.stderr
    res = _cli(["gaps", "--content", str(EX / "content.csv"), "--questions", str(tmp_path / "q" / "a.csv"), "--workers", "2"], tmp_path)
    assert res.returncode == 2 and "--scheduler and --workers go with --engine dask" in res.stderr


def test_killed_worker_mid_run_same_report(tiny_model_dir, tmp_path):
    """SIGKILL one of two workers while it matches a partition: its tasks are rerun on the other
    (the broadcast index has a copy there) and every question is in the report once, as one
    process computes it."""
    import signal
    import threading
    import time

    from distributed import Client, LocalCluster
    base = pd.read_csv(EX / "questions.csv", dtype=str, keep_default_na=False)
    frame = pd.concat([base.assign(question=base.question + f" {k}") for k in range(12)], ignore_index=True)
    one = gap_report(str(EX / "content.csv"), frame, model=str(tiny_model_dir))
    env = {"CONTENTPLAN_CACHE": str(tmp_path / "cache"), "CONTENTPLAN_NO_PROGRESS": "1"}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", env=env) as c, \
            Client(c) as cl:
        pids = cl.run(os.getpid)
        box: dict = {}

        def run():
            try:
                box["report"] = cpdask.gap_report(str(EX / "content.csv"), frame, model=str(tiny_model_dir), client=cl,
                                                  partition_rows=200)
            except BaseException as err:  # reported by the main thread
                box["error"] = err

        worker = threading.Thread(target=run)
        worker.start()
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and worker.is_alive():
            busy = {w: keys for w, keys in cl.processing().items() if any("gaps-partition" in str(k) for k in keys)}
            if busy and len(busy) == 2:
                victim = sorted(busy)[0]
                os.kill(pids[victim], signal.SIGKILL)
                killed = victim
            time.sleep(0.02)
        worker.join(180)
        assert not worker.is_alive()
        assert "error" not in box, box.get("error")
        assert killed is not None, "the run ended before a worker could be killed mid-partition"
    dk = box["report"]
    assert dk.questions.question.tolist() == frame.question.tolist()        # every question once, in order
    _compare_reports(one, dk)
