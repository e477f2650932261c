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

from .. import __version__
from ..errors import OutputError
from ..io.writers import XlsxLimitError, csv_text, same_file, write_xlsx
from ..terminal import clean_line

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


def md_table(frame: pd.DataFrame, columns: list[str] | None = None, limit: int | None = None, headers: list[str] | None = None) -> str:
    frame = frame if columns is None else frame[columns]
    if limit:
        frame = frame.head(limit)
    if frame.empty:
        return "_none_\n"
    names = headers or list(frame.columns)
    head = "| " + " | ".join(map(md_text, names)) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return head + "".join("| " + " | ".join(_md_cell(v) for v in row) + " |\n" for row in frame.itertuples(index=False))


TOP_BRIEFS = 10          # briefs shown in full in the report; briefs.csv and the workbook hold them all
TOP_UNANSWERED = 100     # unanswered questions listed in report.html (questions.csv holds them all)


def _lang(report, lang):
    from .i18n import check_lang
    return check_lang(lang) or report.lang


def _threshold_source(m: dict, lang: str) -> str:
    from .i18n import fmt_pct, t
    src = str(m.get("match_threshold_source", ""))
    out = t("th_given" if src == "given" else "th_calibrated" if src == "calibrated" else "th_default", lang)
    fig = m.get("match_heldout") or {}
    if src != "given" and fig.get("precision") is not None:    # what this setting measured on held-out real pages
        out += " " + t("th_measured", lang, setting=m.get("match_precision"), p=fmt_pct(fig["precision"], lang),
                       r=fmt_pct(fig["recall"], lang))
    return out


def _definitions(report, lang: str) -> list[str]:
    """The 'How to read this report' box: every figure of the report defined once."""
    from .i18n import fmt_num, fmt_pct, t
    m = report.meta
    nc = m.get("not_counted", {})
    out = [t("def_demand", lang, how=t("demand_volume" if m["volume_weighted"] else "demand_count", lang)),
           t("def_answered", lang, th=fmt_num(m["match_threshold"], lang, 2), src=_threshold_source(m, lang)),
           t("def_coverage", lang), t("def_gap", lang, gap=fmt_pct(1 - m["answered_share"], lang)), t("def_supply", lang)]
    if m.get("stage_mismatches"):
        out.append(t("def_mismatch", lang, n=m["stage_mismatches"]))
    if any(nc.values()):
        out.append(t("def_uncounted", lang, qu=nc["questions_unclear"], cu=nc["content_unclear"],
                     qn=nc["questions_none"], cn=nc["content_none"]))
    return out


def _briefs_view(report, lang: str, lab) -> list[dict]:
    from .gaps import brief_why
    out = []
    for rec in report.briefs.to_dict("records"):
        out.append({**rec, "stage_label": lab.stage(rec["stage"]), "persona_label": lab.persona(rec["persona"]),
                    "formats_label": lab.formats(rec["recommended_formats"]),
                    "why_text": brief_why(rec, lab, report.meta["match_threshold"]),
                    "questions": [q for q in str(rec["representative_questions"]).split(" | ") if q],
                    "closest_stage_label": lab.stage(rec.get("closest_content_stage", "")) if rec.get("closest_content_stage") else ""})
    return out


def render_markdown(report, lang: str | None = None) -> str:
    from .i18n import colon, fmt_date, fmt_num, fmt_pct, t
    lang = _lang(report, lang)
    lab = report.labels(lang)
    m = report.meta
    g = report.gaps.copy()
    cells = pd.DataFrame({
        t("stage", lang): g.stage.map(lab.stage), t("persona", lang): g.persona.map(lab.persona),
        t("gap", lang): g.gap_score.map(lambda v: fmt_pct(v, lang, 1)), t("demand", lang): g.demand.map(lambda v: fmt_num(v, lang)),
        t("pieces", lang): g.supply, t("coverage", lang): g.coverage.map(lambda v: fmt_pct(v, lang)),
        t("formats_missing", lang): g.formats_missing.map(lab.formats)})
    cells = cells[g.questions.to_numpy() > 0]
    out = [f"# {t('title', lang)} ({md_text(report.scheme.name)})", "",
           md_text(t("lead_counts", lang, n_q=fmt_num(m["n_questions"], lang), n_c=fmt_num(m["n_content"], lang)))
           + " " + md_text(f"{fmt_pct(m['answered_share'], lang)} {t('kpi_answered', lang)}. "
                           f"{m['cross_lingual_answers']} {t('kpi_cross', lang)}."), "",
           f"## {t('how_title', lang)}", ""]
    out += [f"- {md_text(d)}" for d in _definitions(report, lang)] + ["",
            f"## {t('cells', lang)}", "", md_table(cells, limit=15), "", f"## {t('briefs', lang)}", ""]
    briefs = _briefs_view(report, lang, lab)
    if not briefs:
        out += [md_text(t("briefs_none", lang)), ""]
    else:
        out += [md_text(t("briefs_note", lang, n=min(TOP_BRIEFS, len(briefs)), total=len(briefs))), ""]
    c = colon(lang)
    for b in briefs[:TOP_BRIEFS]:
        out += [f"### {b['rank']}. {md_text(b['topic'])}", "",
                f"- {md_text(t('brief_who', lang))} {md_text(b['persona_label'])}, {md_text(t('brief_at', lang))} {md_text(b['stage_label'])}",
                f"- {md_text(t('brief_format', lang))}{c}{md_text(b['formats_label'])}",
                f"- {md_text(t('brief_why', lang))}{c}{md_text(b['why_text'])}",
                f"- {md_text(t('brief_asked', lang))}{c}" + "; ".join(md_text(q) for q in b["questions"]), ""]
    fm = report.format_mismatches
    if len(fm):
        out += [f"## {t('mismatches', lang)}", "", md_table(pd.DataFrame({
            t("stage", lang): fm.stage.map(lab.stage), t("pieces", lang): fm.pieces,
            t("formats_present", lang): fm.formats_present.map(lab.formats), t("mm_serve", lang): fm.formats_that_serve_it.map(lab.formats)})), ""]
    ov = report.over_served
    out += [f"## {t('over', lang)}", "", md_table(pd.DataFrame({
        t("title_col", lang): ov.title, t("stage", lang): ov.stage.map(lab.stage), t("persona", lang): ov.persona.map(lab.persona),
        t("format", lang): ov.format.map(lab.format), t("similarity", lang): ov.best_question_similarity.map(lambda v: fmt_num(v, lang, 2))}),
        limit=20), ""]
    un = _unanswered(report).head(30)
    n_un = len(_unanswered(report))
    out += [f"## {t('unanswered', lang)}", ""] + ([md_text(t("unanswered_note", lang, n=len(un), total=fmt_num(n_un, lang))), ""] if n_un > len(un) else []) + [md_table(pd.DataFrame({
        t("question", lang): un.question, t("stage", lang): un.stage.map(lab.stage), t("persona", lang): un.persona.map(lab.persona),
        t("volume", lang): un.volume.map(lambda v: fmt_num(v, lang)), t("closest_content", lang): un.best_match,
        t("p_answered", lang): un.p_answered.map(lambda v: fmt_num(v, lang, 2))})), "",
        md_text(t("generated", lang, version=__version__, date=fmt_date(m["generated"], lang), model=m.get("embedder"))), ""]
    return "\n".join(out)


def _unanswered(report) -> pd.DataFrame:
    q = report.questions
    un = q[(~q.answered) & ~q.stage.isin(("unclear", "none"))].copy()
    un["_v"] = pd.to_numeric(un.volume, errors="coerce").fillna(0)
    return un.sort_values(["_v", "p_answered"], ascending=[False, True], kind="stable").drop(columns="_v")


def _heat_color(score: float, top: float) -> str:
    """White to deep red by gap score; no gap stays pale green."""
    if top <= 0 or score <= 0:
        return "#eef7ee"
    x = min(score / top, 1.0)
    r, g, b = 255, int(245 - 170 * x), int(240 - 190 * x)
    return f"#{r:02x}{g:02x}{b:02x}"


def _heat_text(score: float, top: float) -> str:
    return "#fff" if top > 0 and score / top > 0.7 else "#222"


_SAFE_URL = re.compile(r"https?://[^\s<>\"'\x00-\x1f\x7f]+", re.IGNORECASE)


def safe_url(url) -> str | None:
    """The URL when it is a plain http(s) address to link to, else None (shown as text)."""
    s = str(url or "").strip()
    return s if _SAFE_URL.fullmatch(s) else None


def persona_axis(report) -> list[str]:
    """Persona columns in the personas file's order (then unassigned), not in gap order."""
    present = list(dict.fromkeys(report.gaps.persona))
    declared = [p.id for p in report.personas if p.id in present]
    return declared + [p for p in present if p not in declared]


def stage_shares(report) -> pd.DataFrame:
    """Per stage: demand, answered demand and content pieces, each as a share of its own total."""
    g = report.gaps.groupby("stage", sort=False).agg(demand=("demand", "sum"), answered=("answered_demand", "sum"), supply=("supply", "sum"))
    g = g.reindex(report.scheme.ids).fillna(0)
    td, ts = float(g.demand.sum()) or 1.0, float(g.supply.sum()) or 1.0
    return pd.DataFrame({"demand": g.demand / td, "answered": g.answered / td, "supply": g.supply / ts,
                         "demand_abs": g.demand, "supply_abs": g.supply}, index=g.index)


def _bar_chart(report, lang: str, lab) -> str:
    """Demand, answered demand and content pieces per stage, each as a share of its own total, on one
    0-100 % scale (13 pieces and 105,065 searches compare only as shares). Plain HTML bars, not an
    image: they reflow on a phone, print, and every figure is text."""
    from .i18n import fmt_num, fmt_pct, t
    g = stage_shares(report)
    top = max(float(max(g.demand.max(), g.supply.max())), 0.01)
    names = (t("chart_demand", lang), t("chart_answered", lang), t("chart_pieces", lang))
    parts = [f'<figure id="demand-supply-chart" class="chart" aria-label="{html.escape(t("chart", lang))}">']
    for stage, row in g.iterrows():
        parts.append(f'<div class="chart-row"><div class="chart-label">{html.escape(lab.stage(stage))}</div><div class="chart-bars">')
        for k, (val, absval) in enumerate(((row.demand, row.demand_abs), (row.answered, None), (row.supply, row.supply_abs))):
            shown = fmt_pct(val, lang) + (f" ({fmt_num(absval, lang)})" if absval is not None else "")
            parts.append(f'<div class="bar-line"><span class="bar b{k}" style="width:{100 * val / top * 0.8:.1f}%"></span>'
                         f'<span class="bar-value">{html.escape(shown)}</span></div>')
        parts.append("</div></div>")
    parts.append('<figcaption class="legend">' + "".join(f'<span><i class="bar b{k}"></i>{html.escape(n)}</span>' for k, n in enumerate(names))
                 + "</figcaption></figure>")
    return "".join(parts)


def render_html(report, lang: str | None = None) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    from .i18n import colon, fmt_date, fmt_num, fmt_pct, t
    lang = _lang(report, lang)
    lab = report.labels(lang)
    env = Environment(loader=PackageLoader("contentplan", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["num"] = lambda v, d=None: fmt_num(v, lang, d)
    env.filters["pct"] = lambda v, d=0: fmt_pct(v, lang, d)
    env.filters["url"] = safe_url
    env.filters["stage"] = lab.stage
    env.filters["persona"] = lab.persona
    env.filters["fmt"] = lab.format
    env.filters["fmts"] = lab.formats
    env.globals["t"] = lambda key, **kw: t(key, lang, **kw)
    env.globals["colon"] = colon(lang)
    sch = report.scheme
    gaps = report.gaps
    personas = persona_axis(report)
    top = float(gaps.gap_score.max() or 0)
    grid = []
    for st in sch.stages:
        cells = []
        for p in personas:
            r = gaps[(gaps.stage == st.id) & (gaps.persona == p)].iloc[0]
            cells.append({"demand": r.demand, "supply": int(r.supply), "coverage": r.coverage, "questions": int(r.questions),
                          "gap": float(r.gap_score), "color": _heat_color(float(r.gap_score), top),
                          "ink": _heat_text(float(r.gap_score), top)})
        grid.append({"stage": st.id, "label": lab.stage(st.id), "description": st.describe(lang), "cells": cells})
    fmt_rows = []
    for st in sch.stages:
        sub = report.content[report.content.stage == st.id]
        present = sub.format.value_counts()
        fmt_rows.append({"stage": st.id, "present": ", ".join(f"{lab.format(f)} ({n})" for f, n in present.items()),
                         "recommended": lab.formats(st.formats),
                         "missing": lab.formats([f for f in st.formats if f not in present.index])})
    m = report.meta
    mism = [{**r, "note_text": (t("mm_note_fit", lang, k=r["pieces"] - _fitting(report, r), n=r["pieces"]) if r["canonical_stage"]
                                else t("mm_note_none", lang))} for r in report.format_mismatches.to_dict("records")]
    tpl = env.get_template("report.html.j2")
    return tpl.render(meta=m, lang=lang, scheme=sch, personas=[(p, lab.persona(p)) for p in personas], grid=grid,
                      chart=_bar_chart(report, lang, lab), briefs=_briefs_view(report, lang, lab), top_briefs=TOP_BRIEFS,
                      formats=fmt_rows, mismatches=mism, over=report.over_served.to_dict("records"),
                      unanswered=_unanswered(report).head(TOP_UNANSWERED).to_dict("records"), n_unanswered=len(_unanswered(report)),
                      definitions=_definitions(report, lang), version=__version__, generated=fmt_date(m["generated"], lang))


def _fitting(report, rec) -> int:
    c = report.content
    sub = c[c.canonical_stage == rec["canonical_stage"]]
    return int(sub.format_fits_stage.sum())


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


def write_report(report, out_dir: str | Path, csv_safe: bool = False, csv_dialect: str = "plain",
                 lang: str | None = None) -> list[Path]:
    """Write report.html, report.md, gaps/briefs/questions/content CSVs and report.xlsx, all or nothing.

    ``lang`` (fr/en; default: the report's) is the language of report.html, report.md and the
    workbook's Summary sheet; ``csv_dialect`` that of the CSV files (see :func:`~contentplan.io.writers.csv_text`).

    The report is written into a temporary sibling folder, then swapped in for ``out_dir`` in one
    rename: an error, Ctrl-C, SIGTERM, SIGKILL or a full disk leaves the previous folder as it was.
    Only a new or empty folder, or a previous report (it holds the manifest ``.contentplan-report.json``,
    written last), is replaced; files the user added to a previous report are kept."""
    from ..io.writers import check_csv_dialect
    from .i18n import check_lang
    check_lang(lang)
    check_csv_dialect(csv_dialect)
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
        texts = {name: csv_text(frames[key], safe=csv_safe, dialect=csv_dialect) for key, name in CSV_FILES.items()}
        texts["report.md"] = report.to_markdown(lang)
        texts["report.html"] = report.to_html(lang)
        for name, text in texts.items():
            _write_file(tmp / name, text.encode("utf-8"))
        buf = io.BytesIO()
        try:
            from .workbook import report_sheets, summary_writer
            write_xlsx(report_sheets(report), buf, name=str(shown / "report.xlsx"), first=summary_writer(report, lang or report.lang))
            _write_file(tmp / "report.xlsx", buf.getvalue())
            written_xlsx = True
        except XlsxLimitError as err:
            # The CSV files hold every row and character; a workbook that cannot is not written (and the
            # previous report's workbook goes with the swap, so it is not mistaken for this report).
            from ..notices import warn
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
        from ..notices import note
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
