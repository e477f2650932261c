"""Gap report: golden outputs on a tiny fixture, escaping, the bundled example's deliberate gaps,
the CLI, and the HTML report rendered in a real headless browser."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from contentplan.inputs import read_content
from contentplan.reports.gaps import gap_report

FIX = Path(__file__).parent / "fixtures" / "gaps"
GOLDEN = Path(__file__).parent / "golden"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "corpora" / "examples"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="module")
def tiny_report(tiny_model_dir):
    return gap_report(FIX / "content.csv", FIX / "questions.csv", FIX / "personas.yaml", model=tiny_model_dir,
                      match_threshold=0.5)   # P(answered) since #17 (was a cosine, 0.3)


def _normalise(text: str) -> str:
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    text = re.sub(r"\b\d{1,2} (?:[A-Z][a-z]{2}|[a-zéû]{3,4}\.?) \d{4}\b", "<date>", text)   # '7 Dec 2026', '6 déc. 2026'
    return re.sub(r"contentplan \d+\.\d+\.\d+", "contentplan <version>", text)


@pytest.mark.parametrize("name", ["gaps.csv", "briefs.csv", "questions.csv", "content.csv", "report.md"])
def test_golden_outputs(tiny_report, tmp_path, name):
    tiny_report.write(tmp_path)
    got = _normalise((tmp_path / name).read_text(encoding="utf-8"))
    golden = GOLDEN / f"tiny_{name}"
    if UPDATE or not golden.exists():
        golden.write_text(got, encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"golden file {golden.name} was missing and has been written; rerun")
    assert got == golden.read_text(encoding="utf-8"), f"{name} differs from {golden}; UPDATE_GOLDEN=1 to regenerate"


def test_report_structure(tiny_report):
    g = tiny_report.gaps
    assert list(g.columns[:10]) == ["stage", "persona", "questions", "demand", "demand_share", "supply",
                                    "answered_demand", "coverage", "gap_score", "formats_present"]
    assert {"formats_recommended", "formats_missing"} <= set(g.columns)
    assert set(g.persona) == {"marketer", "cfo", "unassigned"}
    assert g.gap_score.is_monotonic_decreasing
    top = g.iloc[0]
    assert (top.stage, top.persona) == ("decision", "cfo") and top.supply == 0 and top.coverage == 0
    q = tiny_report.questions
    assert len(q) == 10 and {"stage", "persona", "answered", "best_match", "similarity"} <= set(q.columns)
    assert q.loc[q.question == "how to reduce churn", "answered"].item()
    c = tiny_report.content
    assert {"stage", "stage_mix", "format", "persona"} <= set(c.columns)
    assert "drone" in tiny_report.over_served.title.str.lower().str.cat()
    b = tiny_report.briefs
    assert b.iloc[0].stage == "decision" and b.iloc[0].persona == "cfo"
    assert "pricing_page" in b.iloc[0].recommended_formats


def test_html_escapes_user_text(tiny_report):
    html = tiny_report.to_html()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in html.lower().replace("&lt;script", "")
    assert 'id="heatmap"' in html and 'id="demand-supply-chart"' in html
    assert "http://" not in html.split("</style>")[1].replace("http://www.w3.org/2000/svg", "")


def test_python_api_and_xlsx(tiny_report, tmp_path):
    files = tiny_report.write(tmp_path)
    assert {p.name for p in files} == {"gaps.csv", "briefs.csv", "questions.csv", "content.csv", "report.md", "report.html", "report.xlsx"}
    sheets = pd.read_excel(tmp_path / "report.xlsx", sheet_name=None)
    assert {"gaps", "briefs", "questions", "content", "over_served", "format_mismatches"} <= set(sheets)
    import contentplan
    assert contentplan.gap_report is gap_report


def test_content_folder_is_read(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: Tarifs 2026\nformat: pricing\n---\nNos prix par utilisateur.", encoding="utf-8")
    (tmp_path / "b.html").write_text("<html><title>Case study: Acme</title><body><p>How Acme cut churn.</p></body></html>", encoding="utf-8")
    inv = read_content(tmp_path)
    assert inv.title.tolist() == ["Tarifs 2026", "Case study: Acme"]
    assert inv.format.tolist() == ["pricing", ""]


def test_gaps_cli_bad_inputs(runner, cli, tmp_path, tiny_model_dir):
    res = runner.invoke(cli, ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(tmp_path / "none.csv"),
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {tmp_path / 'none.csv'}: no such file; check the path"
    bad = tmp_path / "p.yaml"
    bad.write_text("personas:\n  - id: a\n    nmae: x\n", encoding="utf-8")
    res = runner.invoke(cli, ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(FIX / "questions.csv"),
                              "--personas", str(bad), "--model", str(tiny_model_dir), "-o", str(tmp_path / "out")])
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {bad}: personas[0]: unknown key 'nmae'; did you mean 'name'? "
                                  "(allowed: channels, description, example_questions, goals, id, name, pains, role_cues, vocabulary)")


@pytest.mark.model
def test_bundled_example_deliberate_gaps_come_out_on_top(tmp_path, runner, cli):
    res = runner.invoke(cli, ["gaps", "--content", str(EXAMPLES / "content.csv"), "--questions", str(EXAMPLES / "questions.csv"),
                              "--personas", str(EXAMPLES / "personas.yaml"), "-o", str(tmp_path / "r"), "-q"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    gaps = pd.read_csv(tmp_path / "r" / "gaps.csv")
    top3 = list(zip(gaps.stage[:3], gaps.persona[:3]))
    assert ("decision", "ceo_smb") in top3          # G1: pricing / demo demand, no content
    assert ("post-purchase", "field_tech") in top3  # G2: mobile-app onboarding, no tutorials
    g1 = gaps[(gaps.stage == "decision") & (gaps.persona == "ceo_smb")].iloc[0]
    assert g1.supply == 0
    briefs = pd.read_csv(tmp_path / "r" / "briefs.csv")
    top_cells = set(zip(briefs.stage[:6], briefs.persona[:6]))
    assert ("decision", "ceo_smb") in top_cells and ("post-purchase", "field_tech") in top_cells
    # G3 (vendor comparisons) shows up with the question-based scheme, where trust is its own stage.
    res = runner.invoke(cli, ["gaps", "--content", str(EXAMPLES / "content.csv"), "--questions", str(EXAMPLES / "questions.csv"),
                              "--personas", str(EXAMPLES / "personas.yaml"), "--scheme", "oni", "-o", str(tmp_path / "oni"), "-q"])
    oni = pd.read_csv(tmp_path / "oni" / "gaps.csv")
    trust = oni[(oni.stage == "trust") & (oni.questions > 0)]
    # The stage as a whole is the gap (its demand mostly unanswered); one persona's cell may hold a
    # guide that does answer "GMAO ou field service, lequel choisir", so no cell may pass one half.
    assert trust.answered_demand.sum() / trust.demand.sum() < 0.3
    assert (trust.coverage < 0.5).all()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_html_report_renders_in_headless_browser(tiny_report, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (scripts/test.sh installs it)")
        pytest.skip("chromium not installed (scripts/test.sh installs it)")
    tiny_report.write(tmp_path)
    page = (tmp_path / "report.html").as_uri()
    shot = ROOT / "tests" / "artifacts" / "report.png"
    shot.parent.mkdir(exist_ok=True)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page], capture_output=True, text=True, timeout=120)
    assert 'id="heatmap"' in dom.stdout and 'id="demand-supply-chart"' in dom.stdout and 'id="briefs"' in dom.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
    console_errors = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln and ("ERROR" in ln or "Uncaught" in ln)]
    assert not console_errors, console_errors
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1280,2200", page],
                   capture_output=True, text=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10000


def test_the_same_questions_file_given_twice_is_refused(runner, cli, tiny_model_dir, tmp_path):
    """--questions is repeatable (several sources), but one file given twice would count its asks twice."""
    q = str(FIX / "questions.csv")
    res = runner.invoke(cli, ["gaps", "--content", str(FIX / "content.csv"), "--questions", q, "--questions", q,
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r")])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {q}: this questions file is given twice; give each file once"
    assert not (tmp_path / "r").exists()
    c = str(FIX / "content.csv")
    res = runner.invoke(cli, ["gaps", "--content", c, "--content", c, "--questions", q,
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r")])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: --content given 2 times ({c}, {c}); only one is read: merge the files first, or run the command once per file"


def test_report_folder_holding_the_inputs_is_refused(runner, cli, tiny_model_dir, tmp_path):
    """gaps -o DIR used to overwrite DIR/questions.csv and DIR/content.csv when they were the inputs."""
    d = tmp_path / "work"
    d.mkdir()
    (d / "questions.csv").write_bytes((FIX / "questions.csv").read_bytes())
    (d / "content.csv").write_bytes((FIX / "content.csv").read_bytes())
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    res = runner.invoke(cli, ["gaps", "--content", str(d / "content.csv"), "--questions", str(d / "questions.csv"),
                              "--model", str(tiny_model_dir), "-o", str(d)])
    assert res.exit_code == 1
    assert "writing the report there would overwrite the input" in res.output and "another folder" in res.output
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before
