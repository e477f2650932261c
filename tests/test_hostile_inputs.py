"""Hostile inputs, across every command that reads files: each case checks the exit code, the exact
one-line message (naming the file/row/key and the fix), that no traceback escapes, and that the
input files are byte for byte unchanged."""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest

FIX = Path(__file__).parent / "fixtures"
GOOD_Q = "question,volume\nwhat is churn,10\nprix crm,20\n"


def _bomb_docx(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "0" * (300 * 1024 * 1024))


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, prev in zip("bcdefghi", "abcdefgh"):
        lines.append(f"{i}: &{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    return "\n".join(lines) + "\n"


# Each case: (id, files to create {name: bytes}, argv template, expected exit code, expected message or None for success).
# '{d}' in argv and messages is the case folder; '{model}' the tiny model.
CASES = [
    ("empty-csv", {"q.csv": b""}, ["classify", "-i", "{d}/q.csv"], 1, "Error: {d}/q.csv: file is empty; it needs a header row and at least one row of data"),
    ("header-only", {"q.csv": b"question,volume\n"}, ["classify", "-i", "{d}/q.csv"], 1, "Error: {d}/q.csv: no data rows (only a header?); add at least one row"),
    ("binary-as-csv", {"q.csv": b"\x00\x01\x02PK\x03\x04" * 50}, ["classify", "-i", "{d}/q.csv"], 1,
     "Error: {d}/q.csv: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, JSON or text file"),
    ("utf16", {"q.csv": "question\nprix pompe à chaleur\n".encode("utf-16")}, ["classify", "-i", "{d}/q.csv"], 0, None),
    ("mixed-encodings", {"q.csv": "question\nprix déménagement\n".encode("utf-8") + "tarif entrée\n".encode("cp1252")},
     ["classify", "-i", "{d}/q.csv"], 0, None),
    ("nul-in-cell", {"q.csv": b"question\nabc\x00def\n"}, ["classify", "-i", "{d}/q.csv"], 1,
     "Error: {d}/q.csv: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, JSON or text file"),
    ("10mb-cell", {"q.csv": b"question\n" + b"tarif " * (10 * 1024 * 1024 // 6) + b"\nprix\n"}, ["classify", "-i", "{d}/q.csv", "-f", "csv"], 0, None),
    ("wrong-delimiter", {"q.tsv": b"question;volume\nprix crm;10\n"}, ["classify", "-i", "{d}/q.tsv"], 0, None),
    ("ragged-rows", {"q.csv": b"question,volume\nprix,1,2,3\nwhy\n"}, ["classify", "-i", "{d}/q.csv"], 0, None),
    ("duplicate-columns", {"q.csv": b"question,question\na,b\n"}, ["classify", "-i", "{d}/q.csv"], 0, None),
    ("missing-text-column", {"q.csv": b"keyword,volume\ncrm,1\n"}, ["classify", "-i", "{d}/q.csv", "--text-column", "query"], 1,
     "Error: {d}/q.csv: no column 'query' (columns found: keyword, volume); pass --text-column with one of them"),
    ("undetectable-column", {"q.csv": b"a,b\n1,2\n"}, ["classify", "-i", "{d}/q.csv"], 1,
     "Error: {d}/q.csv: cannot tell which column holds the text (columns found: a, b); pass --text-column with one of them"),
    ("numeric-only-texts", {"q.csv": b"question\n12\n3.5\n"}, ["classify", "-i", "{d}/q.csv", "-f", "csv"], 0, None),
    ("all-blank-texts", {"q.csv": b"question,volume\n ,1\n\t,2\n"}, ["classify", "-i", "{d}/q.csv", "-f", "csv"], 0, None),
    ("emoji-rtl", {"q.csv": "question\nprix 💸🔥 crm\nما هو سعر البرنامج\n".encode()}, ["classify", "-i", "{d}/q.csv", "-f", "json"], 0, None),
    ("unknown-extension", {"q.parquet": b"PAR1"}, ["classify", "-i", "{d}/q.parquet"], 1,
     "Error: {d}/q.parquet: unsupported file type '.parquet'; use .csv, .tsv, .txt, .jsonl, .json or .xlsx"),
    ("invalid-json", {"q.json": b'[{"text": "a"},'}, ["classify", "-i", "{d}/q.json"], 1,
     "Error: {d}/q.json: invalid JSON at line 1, column 16 (Expecting value); fix the file"),
    ("corrupt-xlsx", {"q.xlsx": b"PK\x03\x04garbage"}, ["classify", "-i", "{d}/q.xlsx"], 1,
     "Error: {d}/q.xlsx: not a valid zip-based Office file; re-save it from Word/Excel"),
    ("html-scripts", {"a.html": b"<html><head><script>steal()</script></head><body><iframe src=x></iframe><main><p>Our prices start at 10 euros per month.</p></main></body></html>"},
     ["tag", "{d}/a.html", "-f", "json"], 0, None),
    ("malformed-front-matter", {"a.md": b"---\ntitle: [oops\n---\nbody"}, ["tag", "{d}/a.md"], 1,
     "Error: {d}/a.md: line 2, column 13: front matter syntax error: expected ',' or ']', but got '<stream end>'; fix it and retry"),
    ("docx-not-zip", {"a.docx": b"hello"}, ["tag", "{d}/a.docx"], 1,
     "Error: {d}/a.docx: not a valid .docx file (not a zip archive); re-save it from Word as .docx"),
    ("docx-zip-bomb", {"a.docx": "bomb"}, ["tag", "{d}/a.docx"], 1,
     "Error: {d}/a.docx: archive would inflate to 315 MB (zip bomb?); refusing to open it"),
    ("dir-bad-file-and-symlink-loop", {"docs/ok.md": b"# Pricing\nOur prices per user.", "docs/bad.docx": b"nope", "docs/loop": "symlink"},
     ["tag", "{d}/docs", "-f", "csv"], 0, None),
    ("scheme-yaml-syntax", {"s.yaml": b"name: x\nstages: [\n"}, ["classify", "--scheme", "{d}/s.yaml", "x"], 1,
     "Error: {d}/s.yaml: line 3, column 1: YAML syntax error: expected the node content, but found '<stream end>'; fix it and retry"),
    ("scheme-unknown-key", {"s.yaml": b"name: x\nstages: []\ncolor: red\n"}, ["classify", "--scheme", "{d}/s.yaml", "x"], 1,
     "Error: {d}/s.yaml: unknown key 'color' (allowed: name, description, stages)"),
    ("scheme-wrong-types", {"s.yaml": b"name: x\nstages: {a: 1}\n"}, ["classify", "--scheme", "{d}/s.yaml", "x"], 1,
     "Error: {d}/s.yaml: 'stages' must be a non-empty list"),
    ("scheme-alias-bomb", {"s.yaml": _alias_bomb().encode()}, ["classify", "--scheme", "{d}/s.yaml", "x"], 1,
     "Error: {d}/s.yaml: YAML expands to more than 100,000 nodes (alias bomb?); write it out plainly"),
    ("personas-syntax", {"q.csv": GOOD_Q.encode(), "c.csv": b"title,body\nPricing,Our prices.\n", "p.yaml": b"personas:\n  - id: [x\n"},
     ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "--personas", "{d}/p.yaml", "-o", "{d}/out"], 1,
     "Error: {d}/p.yaml: line 3, column 1: YAML syntax error: expected ',' or ']', but got '<stream end>'; fix it and retry"),
    ("personas-alias-bomb", {"q.csv": GOOD_Q.encode(), "c.csv": b"title,body\nPricing,Our prices.\n", "p.yaml": _alias_bomb().encode()},
     ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "--personas", "{d}/p.yaml", "-o", "{d}/out"], 1,
     "Error: {d}/p.yaml: YAML expands to more than 100,000 nodes (alias bomb?); write it out plainly"),
    ("personas-wrong-type", {"q.csv": GOOD_Q.encode(), "c.csv": b"title,body\nPricing,Our prices.\n", "p.yaml": b"personas:\n  - id: cfo\n    vocabulary: price\n"},
     ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "--personas", "{d}/p.yaml", "-o", "{d}/out"], 1,
     "Error: {d}/p.yaml: personas[0] ('cfo').vocabulary: must be a list of strings"),
    ("output-is-directory", {"q.csv": GOOD_Q.encode(), "outdir/.keep": b""}, ["classify", "-i", "{d}/q.csv", "-o", "{d}/outdir"], 1,
     "Error: {d}/outdir: is a directory; pass a file name for -o"),
    ("output-in-missing-folder", {"q.csv": GOOD_Q.encode()}, ["classify", "-i", "{d}/q.csv", "-o", "{d}/nope/out.csv"], 1,
     "Error: {d}/nope/out.csv: folder {d}/nope does not exist; create it first"),
    ("output-equals-input", {"q.csv": GOOD_Q.encode()}, ["classify", "-i", "{d}/q.csv", "-o", "{d}/q.csv"], 1,
     "Error: {d}/q.csv: is also an input file; write the output to another file"),
    ("prospects-bad-timestamp", {"p.csv": b"prospect_id,timestamp,question\na,2026-01-01,x\na,soon,y\n"}, ["prospects", "-i", "{d}/p.csv"], 1,
     "Error: {d}/p.csv: row 3: cannot parse timestamp 'soon' in column 'timestamp'; use ISO 8601, e.g. 2026-03-14 or 2026-03-14T09:30"),
    ("evaluate-unknown-labels", {"l.csv": b"text,stage\nprix,decison\n"}, ["evaluate", "--data", "{d}/l.csv"], 1,
     "Error: {d}/l.csv: row 1: stage 'decison' is not in scheme 'buyer-journey' (awareness, consideration, decision, post-purchase) nor a canonical stage; did you mean 'decision'?; pass --scheme with the scheme the labels use"),
    ("gaps-content-without-text", {"q.csv": GOOD_Q.encode(), "c.csv": b"id,views\n1,2\n"},
     ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "-o", "{d}/out"], 1,
     "Error: {d}/c.csv: no title or body column found (columns found: id, views); name them 'title' and 'body' (or 'text')"),
]


def _setup(d: Path, files: dict) -> dict[str, bytes]:
    for name, data in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if data == "bomb":
            _bomb_docx(p)
        elif data == "symlink":
            p.symlink_to(p.parent, target_is_directory=True)
        else:
            p.write_bytes(data)
    return {str(p): p.read_bytes() for p in d.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(case, tmp_path, runner, cli, tiny_model_dir):
    name, files, argv, code, message = case
    d = tmp_path / "case"
    d.mkdir()
    before = _setup(d, files)
    args = [a.replace("{d}", str(d)) for a in argv]
    if args[0] in ("classify", "gaps", "tag", "prospects", "evaluate"):
        args += ["--model", str(tiny_model_dir)]
    res = runner.invoke(cli, args)
    out = res.output
    assert "Traceback" not in out, out
    assert res.exit_code == code, out
    if message:
        assert out.strip() == message.replace("{d}", str(d)), out
    for path, data in before.items():
        assert Path(path).read_bytes() == data, f"{path} was modified"


def test_case_count():
    assert len(CASES) >= 30


def test_blank_and_numeric_rows_are_kept_unclear(runner, cli, tiny_model_dir, tmp_path):
    p = tmp_path / "q.csv"
    p.write_bytes(b"question,volume\n ,1\n12,2\nprix crm,3\n")
    res = runner.invoke(cli, ["classify", "-i", str(p), "-f", "csv", "--model", str(tiny_model_dir)])
    df = pd.read_csv(io.StringIO(res.output), keep_default_na=False)
    assert df.volume.tolist() == [1, 2, 3]
    assert df.stage.tolist()[:2] == ["unclear", "unclear"]


def test_interrupt_leaves_no_output_file(runner, cli, tiny_model_dir, tmp_path, monkeypatch):
    from contentplan import api
    p = tmp_path / "q.txt"
    p.write_text("\n".join(f"question {i}" for i in range(30)), encoding="utf-8")
    out = tmp_path / "out.csv"
    monkeypatch.setattr(api, "CHUNK_ROWS", 10)
    calls = {"n": 0}
    real = api.classify_frame

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(api, "classify_frame", flaky)
    res = runner.invoke(cli, ["classify", "-i", str(p), "-o", str(out), "--model", str(tiny_model_dir)])
    assert res.exit_code == 130
    assert not out.exists() and sorted(x.name for x in tmp_path.iterdir()) == ["q.txt"]


def test_outputs_are_deterministic(runner, cli, tiny_model_dir, tmp_path):
    p = FIX / "gaps" / "questions.csv"
    a = runner.invoke(cli, ["classify", "-i", str(p), "-f", "csv", "--model", str(tiny_model_dir)]).output
    b = runner.invoke(cli, ["classify", "-i", str(p), "-f", "csv", "--model", str(tiny_model_dir)]).output
    assert a == b
    for run in ("r1", "r2"):
        res = runner.invoke(cli, ["gaps", "--content", str(FIX / "gaps" / "content.csv"), "--questions", str(p),
                                  "--personas", str(FIX / "gaps" / "personas.yaml"), "--model", str(tiny_model_dir),
                                  "-o", str(tmp_path / run), "-q"])
        assert res.exit_code == 0, res.output
    for name in ("gaps.csv", "briefs.csv", "questions.csv", "content.csv"):
        assert (tmp_path / "r1" / name).read_bytes() == (tmp_path / "r2" / name).read_bytes(), name


def test_html_escapes_payloads_everywhere(tmp_path, tiny_model_dir):
    from contentplan.reports.gaps import gap_report
    payloads = ["<script>alert('t')</script>", "<img src=x onerror=alert(1)>", "\"><svg onload=alert(2)>"]
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "<img src=y onerror=alert(3)>.md").write_text(f"---\ntitle: {json.dumps(payloads[0])}\n---\nOur prices per user.", encoding="utf-8")
    (docs / "b.md").write_text(f"# {payloads[2]}\nWhy does churn happen?", encoding="utf-8")
    q = tmp_path / "q.csv"
    pd.DataFrame({"question": [f"{payloads[1]} crm price", "why churn", payloads[2]], "persona": ["x<b>", "", ""]}).to_csv(q, index=False)
    personas = tmp_path / "p.yaml"
    personas.write_text("personas:\n  - id: cfo\n    name: {en: \"<script>alert(4)</script>\"}\n    description: {en: \"<b>boss</b>\"}\n"
                        "    vocabulary: [price]\n", encoding="utf-8")
    html = gap_report(docs, q, personas, model=tiny_model_dir).to_html()
    lowered = html.lower()
    for bad in ("<script", "<img src", "<svg onload"):
        assert bad not in lowered, bad
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in html


@pytest.mark.slow
def test_one_million_rows_stream_in_bounded_memory(tmp_path, tiny_model_dir):
    """1M-row CSV: classify streams it chunk by chunk; peak memory stays far below the data size x model cost."""
    import subprocess
    import sys
    src = tmp_path / "big.csv"
    with open(src, "w", encoding="utf-8") as fh:
        fh.write("keyword,volume\n")
        for i in range(1_000_000):
            fh.write(f"crm pricing question number {i},{i % 997}\n")
    out = tmp_path / "out.csv"
    wrap = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    res = subprocess.run([sys.executable, "-c", wrap, sys.executable, "-m", "contentplan", "classify", "-i", str(src),
                          "-o", str(out), "--model", str(tiny_model_dir), "--no-explain", "-q"],
                         capture_output=True, text=True, env={**os.environ, "CONTENTPLAN_CACHE": "off"})
    assert res.returncode == 0, res.stderr
    peak_mb = int(res.stdout.split()[-1]) // 1024
    assert peak_mb < 1500, peak_mb
    with open(out, encoding="utf-8") as fh:
        assert sum(1 for _ in fh) == 1_000_001
