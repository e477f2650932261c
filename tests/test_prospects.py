"""Prospect journeys: the forward filter, milestones, score, determinism, exact timestamp errors,
and the shipped model on a realistic question history."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from contentplan.errors import InputError
from contentplan.inputs import read_interactions
from contentplan.reports.journeys import forward_filter, prospect_journeys


def _onehot(seq, k=5, p=0.85):
    out = np.full((len(seq), k), (1 - p) / (k - 1))
    for i, s in enumerate(seq):
        out[i, s] = p
    return out


def test_progression_gives_milestones_in_order_and_rising_score():
    filt = forward_filter(_onehot([0, 0, 1, 1, 2, 2, 3, 3]))
    states = filt.argmax(1).tolist()
    changes = [(a, b) for a, b in zip(states, states[1:]) if a != b]
    assert changes == [(0, 1), (1, 2), (2, 3)]
    score = filt @ (np.arange(5) / 4)
    at_block_ends = score[[1, 3, 5, 7]]
    assert all(b > a for a, b in zip(at_block_ends, at_block_ends[1:])) and score[-1] > score[0] + 0.4


def test_one_stray_question_in_a_stable_run_is_not_a_milestone():
    filt = forward_filter(_onehot([1, 1, 1, 3, 1, 1]))
    assert filt.argmax(1).tolist() == [1] * 6
    filt = forward_filter(_onehot([2, 2, 2, 2, 0]))   # a late look back at the problem does not undo the journey
    assert filt.argmax(1).tolist() == [2] * 5


def _write(tmp_path, rows, name="p.csv"):
    p = tmp_path / name
    pd.DataFrame(rows, columns=["prospect_id", "timestamp", "question"]).to_csv(p, index=False)
    return p


def test_equal_timestamps_and_reruns_are_deterministic(tmp_path, tiny_model_dir):
    rows = [("b", "2026-01-01", "what is customer churn"), ("a", "2026-01-01", "how to reduce churn"),
            ("a", "2026-01-01", "crm pricing per user"), ("b", "2026-01-02", "tarif devis pompe à chaleur")]
    p = _write(tmp_path, rows)
    r1 = prospect_journeys(p, model=tiny_model_dir)
    r2 = prospect_journeys(p, model=tiny_model_dir)
    assert r1.summary.to_csv() == r2.summary.to_csv() and r1.timeline == r2.timeline
    assert r1.summary.prospect.tolist() == ["a", "b"]
    # Same timestamp: the file's row order decides.
    assert [q["text"] for q in r1.timeline["a"]["questions"]] == ["how to reduce churn", "crm pricing per user"]


@pytest.mark.parametrize("ts,message", [
    ("next tuesday", "row 3: cannot parse timestamp 'next tuesday' in column 'timestamp'; use ISO 8601, e.g. 2026-03-14 or 2026-03-14T09:30"),
    ("", "row 3: missing timestamp in column 'timestamp'; fill it (e.g. 2026-03-14 or 2026-03-14T09:30)"),
])
def test_bad_timestamps_exact_errors(tmp_path, ts, message):
    p = _write(tmp_path, [("a", "2026-01-01", "x"), ("a", ts, "y")])
    with pytest.raises(InputError) as err:
        read_interactions(p)
    assert str(err.value) == f"{p}: {message}"


def test_prospects_cli_outputs_and_timeline(runner, cli, tmp_path, tiny_model_dir):
    p = _write(tmp_path, [("a", "2026-01-01T10:00", "what is customer churn"), ("a", "2026-02-01", "crm pricing per user")])
    out, tl = tmp_path / "out.json", tmp_path / "timeline.json"
    res = runner.invoke(cli, ["prospects", "-i", str(p), "--model", str(tiny_model_dir), "-o", str(out), "--timeline", str(tl)])
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())
    assert list(rows[0])[:6] == ["prospect", "questions", "first_seen", "last_seen", "stage", "confidence"]
    assert {"score", "milestones", "milestone_path", "days_in_stage", "persona"} <= set(rows[0])
    assert json.loads(tl.read_text())["a"]["questions"][0]["text"] == "what is customer churn"


@pytest.mark.model
def test_real_history_with_the_shipped_model(tmp_path):
    rows = [("acme", "2026-01-05", "why do our technicians waste so much time between jobs"),
            ("acme", "2026-01-09", "pourquoi nos délais d'intervention explosent en hiver"),
            ("acme", "2026-01-20", "how to plan preventive maintenance for 300 assets"),
            ("acme", "2026-01-28", "meilleure méthode pour planifier les tournées des techniciens"),
            ("acme", "2026-02-10", "pilotis vs praxedo avis"),
            ("acme", "2026-02-14", "do you have references in the lift industry"),
            ("acme", "2026-03-01", "how much does pilotis cost for 25 technicians"),
            ("acme", "2026-03-03", "can we get a quote and a demo next week")]
    rep = prospect_journeys(_write(tmp_path, rows), scheme="oni")
    ms = rep.timeline["acme"]["milestones"]
    assert [(m["from"], m["to"]) for m in ms] == [("discovery", "expertise"), ("expertise", "trust"), ("trust", "promotional")]
    scores = [q["score"] for q in rep.timeline["acme"]["questions"]]
    assert scores[-1] > scores[0] + 40
    assert rep.summary.stage.tolist() == ["promotional"]


def test_public_functions_survive_repeated_calls_in_one_interpreter(tiny_model_dir):
    """contentplan.prospects() used to work once, then raise "'module' object is not callable":
    importing the submodule of the same name rebound the package attribute."""
    import contentplan

    history = pd.DataFrame({"prospect": ["a", "a"], "date": ["2026-01-01", "2026-01-05"],
                            "text": ["what is churn", "crm pricing per user"]})
    for _ in range(2):
        assert len(contentplan.prospects(history, model=tiny_model_dir).summary) == 1
        assert callable(contentplan.prospects) and callable(contentplan.gap_report) and callable(contentplan.tag)


FR_EXPORT = ("Contact;Date de création;Message\n"
             "C-104;02/12/2026 14:05;c'est quoi une GMAO\n"
             "C-104;15/12/2026 09:30;combien coûte votre logiciel pour 10 techniciens\n")


def test_day_first_dates_of_a_french_crm_export_are_read_day_first(runner, cli, tiny_model_dir, tmp_path):
    """02/12/2026 used to be read as 12 February, silently: the column's 15/12 says day-first."""
    src = tmp_path / "export_crm.csv"
    src.write_text(FR_EXPORT, encoding="utf-8")
    rep = prospect_journeys(src, model=tiny_model_dir)
    assert rep.date_order == "day-first"
    assert rep.summary.first_seen.tolist() == ["2026-12-02"] and rep.summary.last_seen.tolist() == ["2026-12-15"]
    res = runner.invoke(cli, ["prospects", "-i", str(src), "--model", str(tiny_model_dir), "-f", "csv"])
    assert res.exit_code == 0, res.output
    assert "note: dates read day-first (02/12/2026 = 2 December); pass --monthfirst if that is wrong" in res.output


def test_ambiguous_or_contradictory_dates_are_refused_with_the_fix(runner, cli, tiny_model_dir, tmp_path):
    src = tmp_path / "export.csv"
    src.write_text("Contact;Date;Message\nC1;02/12/2026;c'est quoi une GMAO\nC1;03/12/2026;tarif\n", encoding="utf-8")
    res = runner.invoke(cli, ["prospects", "-i", str(src), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert "dates such as '02/12/2026' read as day-first or month-first give different days; pass --dayfirst" in res.output
    ok = prospect_journeys(src, model=tiny_model_dir, dayfirst=False)
    assert ok.date_order == "month-first" and ok.summary.first_seen.tolist() == ["2026-02-12"]
    src.write_text("Contact;Date;Message\nC1;13/12/2026;c'est quoi une GMAO\nC1;12/13/2026;tarif\n", encoding="utf-8")
    with pytest.raises(InputError, match="mixes day-first .'13/12/2026'. and month-first .'12/13/2026'. dates"):
        prospect_journeys(src, model=tiny_model_dir)
    with pytest.raises(InputError, match="'12/13/2026' cannot be day-first; check the dates or pass --monthfirst"):
        prospect_journeys(src, model=tiny_model_dir, dayfirst=True)
