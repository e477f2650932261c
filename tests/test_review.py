"""`contentplan review`: the ordering (uncertainty, representativeness, diversity), the append-only
answers file, and the command driven through a pseudo-terminal: each key's answer is on disk before
the next text is shown, and Ctrl-C leaves a valid file that `adapt` reads."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from contentplan.training import adaptation as A
from contentplan.training.review import Answer, LabelLog, review_order, uncertainty
from contentplan.domain.schemes import load_scheme, model_labels

ROOT = Path(__file__).resolve().parent.parent
BJ = load_scheme("buyer-journey")


def _proba(rows: list[dict]) -> np.ndarray:
    labels = model_labels()
    out = np.zeros((len(rows), len(labels)))
    for i, r in enumerate(rows):
        for k, v in r.items():
            out[i, labels.index(k)] = v
    return out


def test_uncertainty_is_one_minus_the_margin():
    q = np.array([[0.9, 0.05, 0.05], [0.5, 0.5, 0.0], [0.0, 0.0, 0.0]])
    assert np.allclose(uncertainty(q), [0.15, 1.0, 0.0])


def test_order_uncertain_first_diverse_and_never_blank():
    P = _proba([{"offer": 0.98, "problem": 0.02},      # 0 sure
                {"offer": 0.5, "problem": 0.5},        # 1 coin toss
                {"offer": 0.5, "problem": 0.5},        # 2 coin toss, the same text as 1 (same vector)
                {"support": 0.55, "vendor": 0.45},     # 3 uncertain, elsewhere
                {}])                                   # 4 blank
    V = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=float)
    order = review_order(P, BJ, V, 5)
    # Uncertain first, the near-duplicate of a pick last (after the sure text), the blank row never.
    assert order == [1, 3, 0, 2]
    assert review_order(P, BJ, None, 2) == [1, 2]
    # A text near one labeled already comes after the others.
    assert review_order(P, BJ, V, 1, labeled_vectors=np.array([[0.0, 1.0, 0.0]])) == [3]


def test_label_log_appends_last_line_wins_and_repairs_a_cut_line(tmp_path):
    log = LabelLog(tmp_path / "labels.csv")
    log.append(Answer("crm, pricing?", "decision", "accept", "decision", 0.8, 1))
    log.append(Answer('say "hi"\nthere', "none", "pick", "awareness", 0.4, 2))
    log.append(Answer("crm, pricing?", "", "undo", "decision", 0.8, 1))
    cur = log.current()
    assert cur["crm, pricing?"].answer == "undo" and cur['say "hi"\nthere'].stage == "none"
    with open(log.path, "ab") as fh:
        fh.write(b"half a li")
    assert len(log.answers()) == 3
    assert log.repair() and log.path.read_bytes().endswith(b"\n") and len(log.answers()) == 3
    data = A.read_labels(log.path)
    assert (data.texts, data.labels) == (['say "hi"\nthere'], ["none"])


def test_review_refuses_a_non_terminal(runner, cli, tmp_path, tiny_model_dir):
    src = tmp_path / "q.csv"
    src.write_text("text\nwhat is churn\n", encoding="utf-8")
    res = runner.invoke(cli, ["review", "-i", str(src), "--model", str(tiny_model_dir)])
    assert res.exit_code == 2 and "standard input is not one; run it in a terminal" in res.output


QUESTIONS = ["what is customer churn", "crm pricing per user", "hubspot vs salesforce", "mon colis est arrivé abîmé",
             "how do I import my contacts", "renew my licence", "devis pompe à chaleur", "why does my boiler make noise"]


def _spawn(args, tmp_path):
    pexpect = pytest.importorskip("pexpect", reason="pexpect drives the pseudo-terminal (pip install pexpect)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONTENTPLAN_CACHE": "off", "COLUMNS": "200"}
    return pexpect.spawn(sys.executable, ["-m", "contentplan", "review", *args], cwd=str(tmp_path), env=env,
                         encoding="utf-8", timeout=60, dimensions=(50, 200))


def test_review_in_a_pseudo_terminal_saves_every_answer_and_survives_ctrl_c(tmp_path, tiny_model_dir):
    src = tmp_path / "questions.csv"
    src.write_text("query,volume\n" + "".join(f"{q},10\n" for q in QUESTIONS), encoding="utf-8")
    log_path = tmp_path / "mine.csv"
    log = LabelLog(log_path)
    child = _spawn(["-i", str(src), "-o", str(log_path), "--model", str(tiny_model_dir), "-n", "6"], tmp_path)
    child.expect(r"6 text\(s\) to review")
    child.expect(r"\[1/6\] row \d+: ([^\r\n]*)\r")
    first = child.match.group(1)
    child.expect("> ")
    child.send("\r")                                  # accept the model's guess
    child.expect(r"\(saved\)")
    a = log.answers()
    assert len(a) == 1 and a[0].text == first and a[0].answer == "accept" and a[0].stage == a[0].model_stage != ""
    child.expect(r"\[2/6\] row \d+: ([^\r\n]*)\r")
    second = child.match.group(1)
    child.expect("> ")
    child.send("3")                                   # pick the third stage: decision
    child.expect(r"decision \(saved\)")
    assert [(x.text, x.stage, x.answer) for x in log.answers()][1] == (second, "decision", "pick")
    child.expect(r"\[3/6\] row \d+: ([^\r\n]*)\r")
    third = child.match.group(1)
    child.expect("> ")
    child.send("0")                                   # the tiny model has no 'none': not a key here
    child.expect("unknown key")
    assert len(log.answers()) == 2
    child.expect("> ")
    child.send("s")
    child.expect(r"skipped \(saved\)")
    assert (log.answers()[2].text, log.answers()[2].answer, log.answers()[2].stage) == (third, "skip", "")
    child.expect("> ")
    child.send("u")                                   # undo the skip: the third text is asked again
    child.expect(r"undone: row \d+ \(saved\)")
    assert (log.answers()[3].text, log.answers()[3].answer) == (third, "undo")
    child.expect(r"\[3/6\] row \d+: ([^\r\n]*)\r")
    assert child.match.group(1) == third
    child.expect("> ")
    child.send("1")
    child.expect(r"awareness \(saved\)")
    child.expect("> ")
    child.sendintr()                                  # Ctrl-C while a text waits for its answer
    child.expect("interrupted")
    child.expect(r"3 label\(s\) in ")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 130
    answers = log.answers()
    assert [x.answer for x in answers] == ["accept", "pick", "skip", "undo", "pick"]
    assert log_path.read_bytes().endswith(b"\n") and not log.repair()
    data = A.read_labels(log_path)                    # what adapt reads: the standing answers
    assert sorted(data.texts) == sorted([first, second, third])
    # A second session resumes: the answered texts are not asked again.
    child = _spawn(["-i", str(src), "-o", str(log_path), "--model", str(tiny_model_dir), "-n", "8"], tmp_path)
    child.expect(r"5 text\(s\) to review, most useful first \(5 not answered yet, 3 answered")
    child.expect(r"\[1/5\] row \d+: ([^\r\n]*)\r")
    assert child.match.group(1) not in (first, second, third)
    child.expect("> ")
    child.send("q")
    child.expect(r"3 label\(s\) in ")
    child.expect(pexpect_eof())
    child.close()
    assert child.exitstatus == 0 and len(LabelLog(log_path).answers()) == 5


def pexpect_eof():
    import pexpect
    return pexpect.EOF
