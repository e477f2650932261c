"""Hostile outputs (issue #14): data loss through output paths, and injection through what we write.

Each case checks the exit code, the exact one-line message, and that every input is byte for byte
unchanged afterwards: an output never lands on a file the command reads (symlinks, '..', hard links,
config files), special files are written into and never replaced, the gap report folder is replaced
all or nothing, SIGTERM leaves no temporary file, CSV can be neutralised for spreadsheets, report.md
and report.html are inert, and no control character from user data reaches the terminal."""
from __future__ import annotations

import json
from pathlib import Path

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
