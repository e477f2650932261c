"""Renderers for the gap report: one self-contained HTML file (no network, no script; every user
string escaped by Jinja2 autoescaping), Markdown, CSV files and an XLSX workbook."""
from __future__ import annotations

import html
import io
from pathlib import Path

import pandas as pd

from . import __version__
from .io.writers import XlsxLimitError, _csv_text, atomic_write, write_xlsx

CSV_FILES = {"gaps": "gaps.csv", "briefs": "briefs.csv", "questions": "questions.csv", "content": "content.csv"}
REPORT_FILES = ("report.md", "report.html", *CSV_FILES.values(), "report.xlsx")   # every file a gap report writes


def _md_cell(v) -> str:
    s = f"{v:.2f}" if isinstance(v, float) else str(v)
    return s.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def md_table(frame: pd.DataFrame, columns: list[str] | None = None, limit: int | None = None) -> str:
    frame = frame if columns is None else frame[columns]
    if limit:
        frame = frame.head(limit)
    if frame.empty:
        return "_none_\n"
    head = "| " + " | ".join(map(str, frame.columns)) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return head + "".join("| " + " | ".join(_md_cell(v) for v in row) + " |\n" for row in frame.itertuples(index=False))


def render_markdown(report) -> str:
    m = report.meta
    out = [f"# Content gap report ({report.scheme.name})", "",
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


def write_report(report, out_dir: str | Path) -> list[Path]:
    """Write report.html, report.md, gaps/briefs/questions/content CSVs and report.xlsx (each atomically)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        from .errors import OutputError
        raise OutputError(f"{out}: exists and is not a folder; pass -o with a folder name")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    frames = {"gaps": report.gaps, "briefs": report.briefs, "questions": report.questions, "content": report.content}
    for key, name in CSV_FILES.items():
        with atomic_write(out / name) as fh:
            fh.write(_csv_text(frames[key]))  # a CR inside a cell is quoted, never splits a row
        written.append(out / name)
    with atomic_write(out / "report.md") as fh:
        fh.write(report.to_markdown())
    written.append(out / "report.md")
    with atomic_write(out / "report.html") as fh:
        fh.write(report.to_html())
    written.append(out / "report.html")
    buf = io.BytesIO()
    try:
        write_xlsx({**frames, "over_served": report.over_served, "format_mismatches": report.format_mismatches}, buf,
                   name=str(out / "report.xlsx"))
    except XlsxLimitError as err:
        # The CSV files above hold every row and character; a workbook that cannot is not written
        # (and an older one is removed, so that it is not mistaken for this report).
        from .notices import warn
        if (out / "report.xlsx").is_file() and not (out / "report.xlsx").is_symlink():
            (out / "report.xlsx").unlink()
        warn(f"{out / 'report.xlsx'}: not written: {err.what}; the CSV files of the report hold all the data")
        return written
    with atomic_write(out / "report.xlsx", "wb") as fh:
        fh.write(buf.getvalue())
    written.append(out / "report.xlsx")
    return written
