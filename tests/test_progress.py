"""Issue #15, progress and messages: bars with a total and an ETA where the row count is known,
advancing a few hundred rows at a time, only on a terminal and never with -q; training reports
each step (embedding, each fold, calibration) with the elapsed time. No test depends on timing."""
from __future__ import annotations

import io
import json

import pytest

from contentplan import progress
from contentplan.progress import Bar, Steps, count_rows


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """stderr counts as a terminal; bars redraw on every update (no timing in tests)."""
    monkeypatch.delenv("CONTENTPLAN_NO_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    monkeypatch.setattr(progress, "MIN_INTERVAL", 0)


def test_bar_shows_counts_against_the_total_and_follows_an_estimate_passed():
    out = _Tty()
    with Bar(10, "classifying", show=True, stream=out, min_interval=0) as bar:
        bar.update(4)
        assert "4/10" in out.getvalue()
        bar.update(6)
        assert "10/10" in out.getvalue()
        bar.update(2)          # the estimate was short (a CSV cell over two lines): the total follows
        assert bar.total == 12 and "12/12" in out.getvalue()
    assert bar.n == 12


def test_hidden_bar_only_counts():
    out = _Tty()
    with Bar(10, "x", show=False, stream=out) as bar:
        bar.update(3)
    assert bar.n == 3 and out.getvalue() == ""


def test_bars_only_on_a_terminal_and_never_quiet(monkeypatch):
    monkeypatch.delenv("CONTENTPLAN_NO_PROGRESS", raising=False)
    assert progress.enabled(False, _Tty()) is True
    assert progress.enabled(True, _Tty()) is False                 # -q
    assert progress.enabled(False, io.StringIO()) is False         # redirected to a file or a pipe
    monkeypatch.setenv("CONTENTPLAN_NO_PROGRESS", "1")
    assert progress.enabled(False, _Tty()) is False


def test_count_rows_is_cheap_and_skips_what_it_cannot_count(tmp_path):
    (tmp_path / "q.csv").write_bytes(b"query;volume\nprix crm;10\n\"devis\nsur deux lignes\";5\nessai gratuit;1")
    assert count_rows(tmp_path / "q.csv") == 4          # an estimate: the quoted line break counts
    (tmp_path / "q.txt").write_text("a\nb\nc\n", encoding="utf-8")
    assert count_rows(tmp_path / "q.txt") == 3
    (tmp_path / "q.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    assert count_rows(tmp_path / "q.jsonl") == 2
    (tmp_path / "book.xlsx").write_bytes(b"PK")
    assert count_rows(tmp_path / "book.xlsx") is None
    assert count_rows("-") is None and count_rows(tmp_path / "missing.csv") is None and count_rows(tmp_path) is None


def _queries(tmp_path, n: int):
    path = tmp_path / "queries.csv"
    path.write_text("query\n" + "".join(f"prix logiciel crm {i}\n" for i in range(n)), encoding="utf-8")
    return path


def test_classify_bar_has_a_total_and_moves_in_small_steps(runner, cli, tiny_model_dir, tmp_path, terminal, monkeypatch):
    from contentplan import api
    monkeypatch.setattr(api, "ROW_STEP", 10)
    monkeypatch.setattr(api, "CHUNK_ROWS", 25)
    res = runner.invoke(cli, ["classify", "-i", str(_queries(tmp_path, 60)), "--model", str(tiny_model_dir),
                              "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    err = res.stderr
    assert "classifying" in err
    # Every step of 10 rows (chunks of 25 read: 10, 20, 25, 35, 45, 50, 60), against the total counted first.
    for done in (10, 20, 25, 35, 45, 50, 60):
        assert f"{done}/60" in err, err
    out = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert len(out) == 61 and out[1].startswith("prix logiciel crm 0,")      # every row, in order


def test_classify_quiet_or_not_a_terminal_draws_nothing(runner, cli, tiny_model_dir, tmp_path, monkeypatch):
    path = _queries(tmp_path, 30)
    monkeypatch.delenv("CONTENTPLAN_NO_PROGRESS", raising=False)
    res = runner.invoke(cli, ["classify", "-i", str(path), "--model", str(tiny_model_dir), "-o", str(tmp_path / "a.csv")])
    assert res.exit_code == 0 and res.stderr == ""                 # CliRunner's stderr is not a terminal
    monkeypatch.setattr(progress, "is_terminal", lambda stream: True)
    res = runner.invoke(cli, ["classify", "-i", str(path), "--model", str(tiny_model_dir), "-o", str(tmp_path / "b.csv"), "-q"])
    assert res.exit_code == 0 and res.stderr == ""


def test_steps_carry_the_elapsed_time():
    said, now = [], [0.0]
    steps = Steps(said.append, "train", clock=lambda: now[0])
    steps("step 1/3: embedding 40 training texts")
    now[0] = 65.4
    steps("step 2/3: cross-validation fold 1/3")
    now[0] = 3725
    steps("step 3/3: fitting the final model on 40 texts")
    assert said == ["[train 0:00] step 1/3: embedding 40 training texts", "[train 1:05] step 2/3: cross-validation fold 1/3",
                    "[train 1:02:05] step 3/3: fitting the final model on 40 texts"]


def _corpus(tmp_path):
    from tests.conftest import TINY
    corpus = tmp_path / "corpora"
    (corpus / "train").mkdir(parents=True)
    for k in range(3):
        with open(corpus / "train" / f"questions_t{k + 1}_1.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"text": text, "stage": stage, "lang": "en", "kind": "keyword",
                                     "industry": "saas", "market": "b2b"}) + "\n" for text, stage in TINY[k::3])
    return corpus


def test_train_reports_every_step_and_the_embedding_advance(tmp_path, monkeypatch):
    from contentplan.training import train as training
    monkeypatch.setattr(training, "EMBED_STEP", 16)
    said, bars = [], []

    def bar(total, desc):
        b = Bar(total, desc, show=False)
        bars.append(b)
        return b

    training.train_model(_corpus(tmp_path), None, embedder="tfidf-hash", evaluate=False, real=False, progress=said.append, bar=bar)
    assert said == ["step 1/3: embedding 40 training texts with tfidf-hash",
                    "step 2/3: cross-validation fold 1/3", "step 2/3: cross-validation fold 2/3",
                    "step 2/3: cross-validation fold 3/3",
                    "step 2/3: calibrating the temperature on the out-of-fold predictions",
                    "step 3/3: fitting the final model on 40 texts"]
    assert [(b.total, b.n) for b in bars] == [(40, 40)]


def test_train_command_prints_steps_with_elapsed_time_and_nothing_with_q(runner, cli, tmp_path):
    corpus = _corpus(tmp_path)
    res = runner.invoke(cli, ["train", "--corpus", str(corpus), "-o", str(tmp_path / "m"), "--embedder", "tfidf-hash", "--no-real"])
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    assert lines[0].startswith("[train 0:0") and lines[0].endswith("] step 1/4: embedding 40 training texts with tfidf-hash")
    assert any(line.endswith("step 4/4: fitting the TF-IDF-only baseline") for line in lines)
    res = runner.invoke(cli, ["train", "--corpus", str(corpus), "-o", str(tmp_path / "m2"), "--embedder", "tfidf-hash", "--no-real",
                              "-q"])
    assert res.exit_code == 0 and "[train" not in res.stderr
