"""The gap report's workbook: a first "Summary" sheet (headline figures, the stage × persona heatmap
with a colour scale, demand vs supply per stage with a native Excel chart, the top briefs) written
before the data sheets (gaps, briefs, questions, content...) of :func:`contentplan.io.writers.write_xlsx`."""
from __future__ import annotations

import datetime as _dt

import pandas as pd

TOP_BRIEFS = 10


def summary_writer(report, lang: str):
    """A ``first`` callback for :func:`~contentplan.io.writers.write_xlsx` writing the Summary sheet."""
    from .gaps import brief_why
    from .i18n import fmt_pct, t
    from .render import persona_axis, stage_shares

    lab = report.labels(lang)
    m = report.meta

    def write(wb, styles):
        num = styles["num"]
        title = wb.add_format({"bold": True, "font_size": 16})
        h2 = wb.add_format({"bold": True, "font_size": 12, "bottom": 1})
        head = styles["header"]
        wrap = styles["wrap"]
        name = t("summary_sheet", lang)
        ws = wb.add_worksheet(name)
        ws.set_column(0, 0, 34)
        ws.set_column(1, 8, 16)
        ws.write(0, 0, f"{t('title', lang)} ({report.scheme.name})", title)

        # Headline figures
        r = 2
        ws.write(r, 0, t("headline", lang), h2)
        gen = m.get("generated")
        try:
            gen_date = _dt.datetime.fromisoformat(str(gen))
        except ValueError:
            gen_date = None
        rows = [(t("n_questions", lang), m["n_questions"], "#,##0"), (t("n_content", lang), m["n_content"], "#,##0"),
                (t("answered_share", lang), m["answered_share"], "0%"), (t("unanswered_share", lang), 1 - m["answered_share"], "0%"),
                (t("n_briefs", lang), len(report.briefs), "#,##0"), (t("threshold", lang), m["match_threshold"], "0.00"),
                (t("scheme", lang), report.scheme.name, None), (t("generated_on", lang), gen_date or str(gen), "yyyy-mm-dd" if gen_date else None)]
        for label, value, code in rows:
            r += 1
            ws.write(r, 0, label)
            if isinstance(value, _dt.datetime):
                ws.write_datetime(r, 1, value, num(code))
            elif code:
                ws.write_number(r, 1, float(value), num(code))
            else:
                ws.write_string(r, 1, str(value))

        # Heatmap: gap per stage x persona, with a colour scale
        r += 2
        ws.write(r, 0, t("heatmap", lang), h2)
        r += 1
        gaps = report.gaps
        personas = persona_axis(report)
        ws.write(r, 0, t("stage", lang), head)
        for j, p in enumerate(personas, start=1):
            ws.write(r, j, lab.persona(p), head)
        first = r + 1
        for st in report.scheme.stages:
            r += 1
            ws.write(r, 0, lab.stage(st.id))
            for j, p in enumerate(personas, start=1):
                cell = gaps[(gaps.stage == st.id) & (gaps.persona == p)]
                ws.write_number(r, j, float(cell.gap_score.iloc[0]) if len(cell) else 0.0, num("0.0%"))
        ws.conditional_format(first, 1, r, len(personas), {"type": "2_color_scale", "min_color": "#FFFFFF", "max_color": "#C0392B"})
        r += 1
        ws.write(r, 0, t("def_gap", lang, gap=fmt_pct(1 - m["answered_share"], lang)), styles["top"])

        # Demand vs supply per stage, and the chart
        r += 2
        ws.write(r, 0, t("chart", lang), h2)
        r += 1
        shares = stage_shares(report)
        cols = [t("stage", lang), t("chart_demand", lang), t("chart_answered", lang), t("chart_pieces", lang), t("demand", lang), t("pieces", lang)]
        ws.write_row(r, 0, cols, head)
        top = r + 1
        for stage, row in shares.iterrows():
            r += 1
            ws.write(r, 0, lab.stage(stage))
            for j, v in enumerate((row.demand, row.answered, row.supply), start=1):
                ws.write_number(r, j, float(v), num("0%"))
            ws.write_number(r, 4, float(row.demand_abs), num("#,##0"))
            ws.write_number(r, 5, float(row.supply_abs), num("#,##0"))
        chart = wb.add_chart({"type": "column"})
        for j, color in zip((1, 2, 3), ("#C0392B", "#E8A09A", "#2E86C1")):
            chart.add_series({"name": [name, top - 1, j], "categories": [name, top, 0, r, 0], "values": [name, top, j, r, j],
                              "fill": {"color": color}, "border": {"none": True}})
        chart.set_title({"name": t("chart", lang)})
        chart.set_y_axis({"num_format": "0%", "min": 0, "name": t("chart_axis", lang)})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 620, "height": 320})
        r += 1
        ws.write(r, 0, t("chart_note", lang), styles["top"])
        ws.insert_chart(top - 2, 7, chart)

        # Top briefs
        r += 2
        ws.write(r, 0, t("top_briefs", lang), h2)
        r += 1
        ws.write_row(r, 0, [t("topic", lang), t("rank", lang), t("stage", lang), t("persona", lang), t("brief_format", lang),
                            t("demand", lang), t("demand", lang) + " %", t("brief_why", lang)], head)
        for rec in report.briefs.head(TOP_BRIEFS).to_dict("records"):
            r += 1
            ws.write_string(r, 0, str(rec["topic"]), wrap)
            ws.write_number(r, 1, int(rec["rank"]))
            ws.write_string(r, 2, lab.stage(rec["stage"]), wrap)
            ws.write_string(r, 3, lab.persona(rec["persona"]), wrap)
            ws.write_string(r, 4, lab.formats(rec["recommended_formats"]), wrap)
            ws.write_number(r, 5, float(rec["demand"]), num("#,##0"))
            ws.write_number(r, 6, float(rec["demand_share"]), num("0%"))
            ws.write_string(r, 7, brief_why(rec, lab, m["match_threshold"]), wrap)
        ws.set_column(7, 7, 70)
        ws.activate()
    return write


def report_sheets(report) -> dict[str, pd.DataFrame]:
    """The data sheets of the report's workbook, after the Summary."""
    return {"gaps": report.gaps, "briefs": report.briefs, "questions": report.questions, "content": report.content,
            "over_served": report.over_served, "format_mismatches": report.format_mismatches}
