"""Renderers for the gap report: one self-contained HTML file (no network, no script; every user
string escaped by Jinja2 autoescaping), Markdown, CSV files and an XLSX workbook."""
from __future__ import annotations

import contextlib
import errno
import html
import io
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from . import __version__
from .errors import OutputError
from .io.writers import XlsxLimitError, csv_text, same_file, write_xlsx
from .terminal import clean_line

CSV_FILES = {"gaps": "gaps.csv", "briefs": "briefs.csv", "questions": "questions.csv", "content": "content.csv"}
REPORT_FILES = ("report.md", "report.html", *CSV_FILES.values(), "report.xlsx")   # every file a gap report writes
MANIFEST = ".contentplan-report.json"   # written last: marks a folder as a contentplan report (safe to replace)


# Markdown that would turn user text into markup: emphasis, code, links and images (![](http://...)),
# strikethrough, math, table pipes; '_' only where it can open or close emphasis (not in snake_case).
_MD_PUNCT = re.compile(r"([\\`*\[\]!|~$])|(?<![^\W_])_|_(?![^\W_])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def md_text(v) -> str:
    """User text as inert Markdown on one line: HTML and Markdown syntax escaped, line breaks (which
    could start a heading or a new block) turned into spaces, control characters shown as ``\\xNN``."""
    s = re.sub(r"[&<>]", lambda m: _HTML[m.group(0)], str(v))
    s = _MD_PUNCT.sub(lambda m: "\\" + m.group(0), s)
    return clean_line(s)


def _md_cell(v) -> str:
    return md_text(f"{v:.2f}" if isinstance(v, float) else v)


def md_table(frame: pd.DataFrame, columns: list[str] | None = None, limit: int | None = None) -> str:
    frame = frame if columns is None else frame[columns]
    if limit:
        frame = frame.head(limit)
    if frame.empty:
        return "_none_\n"
    head = "| " + " | ".join(map(md_text, frame.columns)) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return head + "".join("| " + " | ".join(_md_cell(v) for v in row) + " |\n" for row in frame.itertuples(index=False))


def render_markdown(report) -> str:
    m = report.meta
    out = [f"# Content gap report ({md_text(report.scheme.name)})", "",
           f"{m['n_questions']} questions, {m['n_content']} content pieces. "
           f"{m['answered_share']:.0%} of demand is answered by existing content "
           f"(a question is answered when its best content passage reaches similarity {m['match_threshold']:.2f}, "
           f"{m['match_threshold_source']}). Demand is {'weighted by search volume' if m['volume_weighted'] else 'the number of questions'}. "
           f"{m['cross_lingual_answers']} question(s) are answered by content in the other language.", "",
           "## Biggest gaps (stage x persona)", "",
           md_table(report.gaps, ["stage", "persona", "questions", "demand", "supply", "coverage", "gap_score", "formats_missing"], 15), "",
           "## What to write next", "",
           md_table(report.briefs, ["rank", "topic", "stage", "persona", "recommended_formats", "n_questions", "demand", "languages", "representative_questions"], 20), "",
           "## Formats that do not fit their stage", "", md_table(report.format_mismatches), "",
           "## Over-served content (answers no question)", "",
           md_table(report.over_served, ["title", "stage", "persona", "format", "best_question_similarity"], 20), "",
           "## Unanswered questions (top 30 by demand)", "",
           md_table(_unanswered(report).head(30), ["question", "stage", "persona", "volume", "similarity", "best_match"]), ""]
    return "\n".join(out)


def _unanswered(report) -> pd.DataFrame:
    q = report.questions
    un = q[(~q.answered) & ~q.stage.isin(("unclear", "none"))].copy()
    un["_v"] = pd.to_numeric(un.volume, errors="coerce").fillna(0)
    return un.sort_values(["_v", "similarity"], ascending=[False, True], kind="stable").drop(columns="_v")


def _heat_color(score: float, top: float) -> str:
    """White to deep red by gap score; no gap stays pale green."""
    if top <= 0 or score <= 0:
        return "#eef7ee"
    x = min(score / top, 1.0)
    r, g, b = 255, int(245 - 170 * x), int(240 - 190 * x)
    return f"#{r:02x}{g:02x}{b:02x}"


def _bar_chart(report) -> str:
    """Inline SVG: demand vs answered demand vs supply per stage."""
    g = report.gaps.groupby("stage", sort=False).agg(demand=("demand", "sum"), answered=("answered_demand", "sum"), supply=("supply", "sum"))
    g = g.reindex(report.scheme.ids).fillna(0)
    width, bar_h, gap = 720, 16, 14
    label_w = 170
    top = max(g.demand.max(), 1.0)
    top_s = max(g.supply.max(), 1.0)
    parts = [f'<svg id="demand-supply-chart" role="img" aria-label="Demand and supply per stage" width="{width}" '
             f'height="{len(g) * (3 * bar_h + gap) + 30}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="12">']
    y = 10
    scale = (width - label_w - 80)
    for stage, row in g.iterrows():
        s = html.escape(str(stage))
        parts.append(f'<text x="0" y="{y + bar_h * 1.5 + 4}">{s}</text>')
        for k, (val, base, color, name) in enumerate(((row.demand, top, "#c0392b", "demand"),
                                                      (row.answered, top, "#e8a09a", "answered demand"),
                                                      (row.supply, top_s, "#2e86c1", "content pieces"))):
            w = 0 if base == 0 else max(1, scale * val / base) if val else 0
            parts.append(f'<rect x="{label_w}" y="{y + k * bar_h}" width="{w:.1f}" height="{bar_h - 3}" fill="{color}">'
                         f'<title>{html.escape(name)}: {val:g}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + k * bar_h + bar_h - 5}">{val:g}</text>')
        y += 3 * bar_h + gap
    parts.append(f'<g transform="translate({label_w},{y + 4})"><rect width="10" height="10" fill="#c0392b"/><text x="14" y="9">demand</text>'
                 '<rect x="90" width="10" height="10" fill="#e8a09a"/><text x="104" y="9">answered demand</text>'
                 '<rect x="230" width="10" height="10" fill="#2e86c1"/><text x="244" y="9">content pieces</text></g></svg>')
    return "".join(parts)


def render_html(report) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("contentplan", "templates"), autoescape=select_autoescape(["html", "j2"]))
    sch = report.scheme
    gaps = report.gaps
    personas = list(dict.fromkeys(gaps.persona))
    top = float(gaps.gap_score.max() or 0)
    grid = []
    for st in sch.stages:
        cells = []
        for p in personas:
            r = gaps[(gaps.stage == st.id) & (gaps.persona == p)].iloc[0]
            cells.append({"demand": f"{r.demand:g}", "supply": int(r.supply),
                          "coverage": "—" if pd.isna(r.coverage) else f"{r.coverage:.0%}",
                          "gap": f"{r.gap_score:.1f}", "color": _heat_color(float(r.gap_score), top)})
        grid.append({"stage": st.id, "label": st.label.get("en", st.id), "cells": cells})
    fmt_rows = []
    for st in sch.stages:
        sub = report.content[report.content.stage == st.id]
        present = sub.format.value_counts()
        fmt_rows.append({"stage": st.id, "present": ", ".join(f"{f} ({n})" for f, n in present.items()),
                         "recommended": ", ".join(st.formats),
                         "missing": ", ".join(f for f in st.formats if f not in present.index)})
    tpl = env.get_template("report.html.j2")
    return tpl.render(meta=report.meta, scheme=sch, personas=personas, grid=grid, chart=_bar_chart(report),
                      briefs=report.briefs.head(25).to_dict("records"), formats=fmt_rows,
                      mismatches=report.format_mismatches.to_dict("records"),
                      over=report.over_served.head(25).to_dict("records"),
                      unanswered=_unanswered(report).head(100).to_dict("records"), version=__version__)


def _link_or_copy(src, dst) -> None:
    """Keep a user's file in the new report folder: a hard link (instant, same bytes), else a copy."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _extras(folder: Path) -> list[Path]:
    """Entries of a previous report folder that the report does not write: the user's own files."""
    return [p for p in sorted(folder.iterdir()) if p.name not in REPORT_FILES and p.name != MANIFEST]


def _replaceable(out: Path, shown: Path) -> bool:
    """Whether ``out`` holds a previous report (True), is new or empty (False); refuses any other folder."""
    if not out.exists():
        return False
    if not out.is_dir():
        raise OutputError(f"{shown}: exists and is not a folder; pass -o with a folder name")
    names = {p.name for p in out.iterdir()}
    if not names:
        return False
    if (out / MANIFEST).is_file() or set(REPORT_FILES) <= names:   # the latter: a report from before the manifest
        return True
    raise OutputError(f"{shown}: folder is not empty and holds no contentplan report (no {MANIFEST}); "
                      "write the report to a new or empty folder")


def check_report_folder(out_dir: str | Path, inputs=()) -> None:
    """Refuse a report folder that is an input, that would overwrite an input with one of the report's
    files, or that holds other files than a previous report (see :func:`write_report`)."""
    out = Path(out_dir)
    for inp in inputs:
        if inp is None or str(inp) in ("", "-"):
            continue
        inp = Path(inp)
        if out.exists() and same_file(out, inp):
            raise OutputError(f"{out_dir}: is also an input; write the report to another folder")
        # The report's own files must never land on an input (questions.csv in the folder holding questions.csv).
        for name in (*REPORT_FILES, MANIFEST):
            target = out / name
            if inp.is_file() and target.exists() and same_file(target, inp):
                raise OutputError(f"{out_dir}: writing the report there would overwrite the input {inp} "
                                  f"(the report writes {name}); write the report to another folder")
    _replaceable(Path(os.path.realpath(out)), out)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where not supported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(new: Path, final: Path) -> Path | None:
    """Put the finished folder ``new`` at ``final``; returns where the previous folder now is (to remove)."""
    if not final.exists():
        os.rename(new, final)
        return None
    if _exchange(new, final):
        return new
    # No atomic exchange: two renames; ``final`` is missing only between them, never half old, half new.
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    os.rmdir(old)
    os.rename(final, old)
    try:
        os.rename(new, final)
    except BaseException:
        os.rename(old, final)
        raise
    return old


def write_report(report, out_dir: str | Path, csv_safe: bool = False) -> list[Path]:
    """Write report.html, report.md, gaps/briefs/questions/content CSVs and report.xlsx, all or nothing.

    The report is written into a temporary sibling folder, then swapped in for ``out_dir`` in one
    rename: an error, Ctrl-C, SIGTERM, SIGKILL or a full disk leaves the previous folder as it was.
    Only a new or empty folder, or a previous report (it holds the manifest ``.contentplan-report.json``,
    written last), is replaced; files the user added to a previous report are kept."""
    shown = Path(out_dir)
    final = Path(os.path.realpath(shown))   # absolute ('-o .' has a parent); a symlinked folder: its target
    previous = _replaceable(final, shown)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as err:
        raise OutputError(f"{shown}: cannot create the report folder ({err.strerror or err}); choose another folder") from None
    previous_now = None
    try:
        frames = {"gaps": report.gaps, "briefs": report.briefs, "questions": report.questions, "content": report.content}
        texts = {name: csv_text(frames[key], safe=csv_safe) for key, name in CSV_FILES.items()}
        texts["report.md"] = report.to_markdown()
        texts["report.html"] = report.to_html()
        for name, text in texts.items():
            _write_file(tmp / name, text.encode("utf-8"))
        buf = io.BytesIO()
        try:
            write_xlsx({**frames, "over_served": report.over_served, "format_mismatches": report.format_mismatches}, buf,
                       name=str(shown / "report.xlsx"))
            _write_file(tmp / "report.xlsx", buf.getvalue())
            written_xlsx = True
        except XlsxLimitError as err:
            # The CSV files hold every row and character; a workbook that cannot is not written (and the
            # previous report's workbook goes with the swap, so it is not mistaken for this report).
            from .notices import warn
            warn(f"{shown / 'report.xlsx'}: not written: {err.what}; the CSV files of the report hold all the data")
            written_xlsx = False
        if previous:
            for extra in _extras(final):
                if extra.is_dir() and not extra.is_symlink():
                    shutil.copytree(extra, tmp / extra.name, symlinks=True, copy_function=_link_or_copy)
                else:
                    _link_or_copy(extra, tmp / extra.name)
        manifest = {"generator": "contentplan", "version": __version__, "files": sorted(texts) + (["report.xlsx"] if written_xlsx else [])}
        _write_file(tmp / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
        _fsync_dir(tmp)
        mode = final.stat().st_mode & 0o777 if final.exists() else 0o777 & ~_umask()
        os.chmod(tmp, mode)
        previous_now = _swap_in(tmp, final)
        _fsync_dir(final.parent)
    except OSError as err:   # a full disk, a quota, a read-only or vanished folder
        raise OutputError(f"{shown}: cannot write the report ({err.strerror or err}); nothing was changed there; "
                          "free some space or choose another folder") from None
    finally:
        # Before the swap: the unfinished folder; after it, the previous report.
        for leftover in (tmp, previous_now):
            if leftover is not None:
                shutil.rmtree(leftover, ignore_errors=True)
    removed = remove_stale_leftovers(final)
    if removed:
        from .notices import note
        note(f"{shown}: removed {len(removed)} leftover folder(s) of an earlier report write that was killed "
             f"(beside it, untouched for over {STALE_AFTER_S // 3600} hour): {', '.join(removed)}")
    return [shown / name for name in ("gaps.csv", "briefs.csv", "questions.csv", "content.csv", "report.md",
                                      "report.html", "report.xlsx") if name != "report.xlsx" or written_xlsx]


STALE_AFTER_S = 3600   # a report's temporary folder lives seconds; one untouched this long belongs to no live run


def remove_stale_leftovers(final: Path, max_age_s: float = STALE_AFTER_S) -> list[str]:
    """Remove what a killed earlier write of the report folder ``final`` left beside it; returns their names.

    A leftover is a folder (not a link) named like the temporary folders :func:`write_report` makes:
    a dot, the report folder's name, a dot, the 8 random characters :mod:`tempfile` draws, then
    ``.tmp`` (the new report being written) or ``.old`` (the previous report being swapped out); and neither
    itself nor anything directly in it has been modified for ``max_age_s`` seconds: a run still
    writing a report touches its folder within seconds. Anything else, and any error, is left alone."""
    pattern = re.compile(rf"\.{re.escape(final.name)}\.[a-z0-9_]{{8}}\.(?:tmp|old)")
    now = time.time()
    removed = []
    try:
        candidates = sorted(p for p in final.parent.iterdir() if pattern.fullmatch(p.name))
    except OSError:
        return removed
    for p in candidates:
        try:
            if p.is_symlink() or not p.is_dir() or now - _newest_mtime(p) < max_age_s:
                continue
        except OSError:
            continue
        shutil.rmtree(p, ignore_errors=True)
        if not os.path.lexists(p):
            removed.append(p.name)
    return removed


def _newest_mtime(folder: Path) -> float:
    newest = folder.lstat().st_mtime
    with os.scandir(folder) as it:
        for entry in it:
            with contextlib.suppress(OSError):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o644)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
