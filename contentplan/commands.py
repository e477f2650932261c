"""The work behind each CLI command (kept out of cli.py so the CLI stays a thin, fast-importing layer)."""
from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pandas as pd

from .domain.schemes import DEFAULT_SCHEME, formats, list_schemes, load_scheme
from .domain.schemes import NONE as NONE_LABEL
from .errors import InputError, ModelError
from .io.encoding import display_name
from .io.tables import detect_column, iter_table
from .io.writers import StreamWriter, render_table
from .model.pipeline import JourneyModel, classify_frame
from .progress import ROW_STEP, count_rows
from .terminal import clean_line

CHUNK_ROWS = 4096


def files_read(*paths, scheme=None, model_dir=None) -> list:
    """Every path a command reads, for the output checks: its input files and folders, a scheme YAML
    (not a built-in scheme name) and the model folder (the shipped one by default)."""
    from .domain.schemes import BUILTIN
    from .io.tables import source_path
    from .model.artifacts import default_model_dir
    out = [source_path(p) for p in paths if p and str(p) != "-"]   # book.xlsx#Sheet reads book.xlsx
    if scheme and str(scheme) not in BUILTIN:
        out.append(scheme)
    try:
        out.append(model_dir or default_model_dir())
    except ModelError:
        pass
    return out


def run_classify(texts: Sequence[str], input_path: str | None, text_column: str | None, scheme: str,
                 model_dir: str | None, min_confidence: float | None, brands: Sequence[str], explain: bool,
                 fmt: str, output: str | None, progress: Callable, csv_safe: bool = False, csv_dialect: str = "plain") -> int:
    """Classify texts given inline or in a file, streaming chunk by chunk; returns the row count."""
    inputs = files_read(input_path, scheme=scheme, model_dir=model_dir)
    sch = load_scheme(scheme)
    model = JourneyModel.load(model_dir)
    rows = 0
    with StreamWriter(fmt, output, inputs, csv_safe=csv_safe, csv_dialect=csv_dialect) as writer:
        if texts:
            frame = pd.DataFrame({"text": list(texts)})
            writer.write(classify_frame(model, frame, "text", sch, min_confidence, brands, explain))
            rows += len(frame)
        if input_path:
            name = display_name(input_path)
            column = None
            with progress(lambda: count_rows(input_path), "classifying") as bar:   # lines counted only for a drawn bar
                for chunk in iter_table(input_path, chunksize=CHUNK_ROWS):
                    if column is None:
                        column = detect_column(chunk, "text", text_column, where=name, option="--text-column")
                    # With a bar on screen, a few hundred rows at a time so that it moves smoothly;
                    # without one, the whole chunk (larger batches: ~15 % faster on 20k rows).
                    step = ROW_STEP if getattr(bar, "shown", False) else max(len(chunk), 1)
                    for start in range(0, len(chunk), step):
                        part = chunk.iloc[start:start + step].reset_index(drop=True)
                        writer.write(classify_frame(model, part, column, sch, min_confidence, brands, explain))
                        rows += len(part)
                        bar.update(len(part))
    return rows


def run_evaluate(model_dir, data_path, corpus, text_column, label_column, scheme, fmt, real: bool = False) -> str:
    from .io.tables import read_table
    from .training.adaptation import model_summary
    from .training.corpus import load_split
    from .training.evaluation import evaluate_labeled, guess_scheme

    model = JourneyModel.load(model_dir)
    which = model_summary(model.meta, model.path)
    if real:
        return run_evaluate_real(model, corpus, scheme or DEFAULT_SCHEME, fmt, which)
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
        sch = load_scheme(scheme or DEFAULT_SCHEME)
        reports.append(evaluate_labeled(model, tq.text.tolist(), tq.stage.tolist(), sch, f"{corpus}/test questions"))
        if len(tc):
            reports.append(evaluate_labeled(model, tc.body.tolist(), tc.stage.tolist(), sch, f"{corpus}/test content",
                                            titles=tc.title.tolist()))
    if fmt == "json":
        return json.dumps([{**r.to_dict(), "model": which} for r in reports], indent=2, ensure_ascii=False) + "\n"
    out = [f"model: {clean_line(which)}\n\n"]
    for r in reports:
        out.append(f"== {clean_line(r.data)} — scheme {clean_line(r.scheme)}\n\n")
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
                     "description": st.describe(lang),
                     "formats": ", ".join(fm[f].label.get(lang, f) for f in st.formats)})
    head = f"{clean_line(sch.name)}: {clean_line(sch.description)}\n\n"
    return head + render_table(pd.DataFrame(rows), max_width=70)


def run_evaluate_real(model: JourneyModel, corpus, scheme: str, fmt: str, which: str = "") -> str:
    """Scores per source file (real sets and the corpus test split), per language and per kind,
    with calibration; sources the model was trained on are marked (those rows are not held out)."""
    import pandas as pd

    from .training.corpus import load_split
    from .training.evaluation import real_proba, real_scores
    from .training.realtext import find_realtext, load_real, sources

    sch = load_scheme(scheme)
    root = find_realtext(corpus)
    if root is None:
        raise InputError("real text not found: put the shared data at ../shared/realtext or set CONTENTPLAN_REALTEXT "
                         "(without it, 'contentplan evaluate' scores the corpus test split)")
    real = load_real(corpus, root)
    tq, tc = load_split(corpus, "test")
    test = pd.concat([
        pd.DataFrame({"file": "test/" + tq.source.str.split(":").str[0].str.split("/").str[-1], "kind": "message",
                      "lang": tq.lang, "stage": tq.stage, "text": tq.text, "title": ""}),
        pd.DataFrame({"file": "test/" + tc.source.str.split(":").str[0].str.split("/").str[-1], "kind": "page",
                      "lang": tc.lang, "stage": tc.stage, "text": [f"{t}. {b}" for t, b in zip(tc.title, tc.body)],
                      "title": tc.title})], ignore_index=True)
    threshold = model.min_confidence
    res_real = real_scores(real_proba(model, real), real, sch, threshold)
    res_test = real_scores(real_proba(model, test), test, sch, threshold)
    trained = set(model.meta.get("real_sources_trained", []))
    use = sources(corpus).set_index("file").use.to_dict()
    held = model.meta.get("metrics_real_out_of_source")
    if fmt == "json":
        return json.dumps({"scheme": sch.name, "model": which, "real": res_real, "corpus_test": res_test, "real_sources_trained": sorted(trained),
                           "out_of_source_at_training": held}, indent=2, ensure_ascii=False) + "\n"
    rows = [{"source": f, "use": use.get(f, ""), "trained_on": "yes" if f in trained else "no", **v}
            for f, v in res_real["per_file"].items()]
    rows += [{"source": f, "use": "test", "trained_on": "no", **v} for f, v in res_test["per_file"].items()]
    out = [f"model: {clean_line(which)}\n\n" if which else "", f"== Real text and corpus test split, per source — scheme {sch.name} (F1 over its stages + '{NONE_LABEL}')\n\n",
           render_table(pd.DataFrame(rows)) + "\n",
           "Rows with trained_on=yes score text the model learned from: not held out. The held-out figures are "
           "leave-one-source-out (below, recorded at training, and benchmarks/results_realtext.json).\n\n"]
    for key in ("lang", "kind"):
        out.append(f"Real text per {key}\n" + render_table(pd.DataFrame([{key: k, **v} for k, v in res_real[f"per_{key}"].items()])) + "\n")
    cal = res_real["calibration"]
    out.append(f"Real text overall: macro-F1 {res_real['overall']['macro_f1']:.4f}, accuracy {res_real['overall']['accuracy']:.4f} "
               f"(n={res_real['overall']['n']}); ECE {cal['ece']:.4f}; wrong among confidence >= 0.9: "
               f"{cal['wrong_rate_conf_ge_0.9']:.1%} of {cal['n_conf_ge_0.9']}\n")
    a = res_real["abstention"]
    out.append(f"Abstention at {a['min_confidence']}: {a['unclear_rate']:.1%} 'unclear', accuracy on the rest "
               f"{a['accuracy_answered']:.4f}; of {a['n_gold_unclear']} items annotators marked unclear, "
               f"{a['gold_unclear_abstained']:.1%} come out 'unclear'\n\n")
    out.append("Reliability (real text)\n" + render_table(pd.DataFrame(cal["reliability"])) + "\n")
    if held:
        h = held["all"]
        out.append(f"Held out at training (leave-one-source-out; dev-only sources never trained on): macro-F1 "
                   f"{h['overall']['macro_f1']:.4f} (dev-only {held['dev_only_sources']['overall']['macro_f1']:.4f}), "
                   f"ECE {h['calibration']['ece']:.4f}\n")
    return "".join(out)
