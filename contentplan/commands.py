"""The work behind each CLI command (kept out of cli.py so the CLI stays a thin, fast-importing layer)."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pandas as pd

from .errors import InputError
from .io.encoding import display_name
from .io.tables import detect_column, iter_table
from .io.writers import StreamWriter, render_table
from .pipeline import JourneyModel, classify_frame
from .schemes import formats, list_schemes, load_scheme

CHUNK_ROWS = 4096


def run_classify(texts: Sequence[str], input_path: str | None, text_column: str | None, scheme: str,
                 model_dir: str | None, min_confidence: float | None, brands: Sequence[str], explain: bool,
                 fmt: str, output: str | None, progress: Callable) -> int:
    """Classify texts given inline or in a file, streaming chunk by chunk; returns the row count."""
    sch = load_scheme(scheme)
    model = JourneyModel.load(model_dir)
    inputs = [input_path] if input_path else []
    rows = 0
    with StreamWriter(fmt, output, inputs) as writer:
        if texts:
            frame = pd.DataFrame({"text": list(texts)})
            writer.write(classify_frame(model, frame, "text", sch, min_confidence, brands, explain))
            rows += len(frame)
        if input_path:
            name = display_name(input_path)
            column = None
            with progress(None, "classifying") as bar:
                for chunk in iter_table(input_path, chunksize=CHUNK_ROWS):
                    if column is None:
                        column = detect_column(chunk, "text", text_column, where=name, option="--text-column")
                    writer.write(classify_frame(model, chunk, column, sch, min_confidence, brands, explain))
                    rows += len(chunk)
                    bar.update(len(chunk))
    return rows


def run_evaluate(model_dir, data_path, corpus, text_column, label_column, scheme, fmt) -> str:
    from .corpus import load_split
    from .evaluation import evaluate_labeled, guess_scheme
    from .io.tables import read_table

    model = JourneyModel.load(model_dir)
    reports = []
    if data_path:
        frame = read_table(data_path)
        name = display_name(data_path)
        tcol = detect_column(frame, "text", text_column, where=name, option="--text-column")
        lcol = detect_column(frame, "stage", label_column, where=name, option="--label-column", exclude=(tcol,))
        keep = frame[lcol].astype(str).str.strip() != ""
        if not keep.any():
            raise InputError(f"{name}: column '{lcol}' has no labels; fill it or pass --label-column")
        frame = frame[keep]
        sch = load_scheme(scheme or guess_scheme(frame[lcol].tolist()))
        reports.append(evaluate_labeled(model, frame[tcol].astype(str).tolist(), frame[lcol].astype(str).str.strip().tolist(), sch, name))
    else:
        tq, tc = load_split(corpus, "test")
        sch = load_scheme(scheme or "buyer-journey")
        reports.append(evaluate_labeled(model, tq.text.tolist(), tq.stage.tolist(), sch, f"{corpus}/test questions"))
        if len(tc):
            reports.append(evaluate_labeled(model, tc.body.tolist(), tc.stage.tolist(), sch, f"{corpus}/test content",
                                            titles=tc.title.tolist()))
    if fmt == "json":
        return json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False) + "\n"
    out = []
    for r in reports:
        out.append(f"== {r.data} — scheme {r.scheme}\n\n")
        out.append(render_table(r.summary()) + "\n")
        if r.abstention:
            out.append(r.abstention_line() + "\n\n")
        out.append("Per-stage F1\n" + render_table(r.per_stage()) + "\n")
        cm = r.results["model"].confusion
        out.append("Confusion matrix (rows: gold, columns: predicted)\n"
                   + render_table(cm.reset_index().rename(columns={"index": "gold"})) + "\n")
    return "".join(out)


def show_schemes(name: str | None, lang: str = "en") -> str:
    if not name:
        rows = [{"scheme": s.name, "stages": " → ".join(s.ids), "description": s.description} for s in list_schemes()]
        return render_table(pd.DataFrame(rows), max_width=90)
    sch = load_scheme(name)
    fm = formats()
    rows = []
    for st in sch.stages:
        rows.append({"stage": st.id, "label": st.label.get(lang, st.id), "canonical": ", ".join(st.canonical),
                     "description": st.description,
                     "formats": ", ".join(fm[f].label.get(lang, f) for f in st.formats)})
    head = f"{sch.name}: {sch.description}\n\n"
    return head + render_table(pd.DataFrame(rows), max_width=70)
