"""One function per user command: the work behind each CLI command, and the Python API.

``cli.py`` parses options, calls one function here and writes what it returns (``contentplan dev``'s
maintainers' commands live in ``devcli.py``; ``classify --engine dask`` in the ``dask.py`` adapter).
The public API (``contentplan.classify``, ``load_model``, ``tag``, and the library functions listed
in ``contentplan._API``) is listed once, in ``contentplan._API``.

| command | function here |
|---|---|
| classify | :func:`classify` (Python), :func:`run_classify` (streamed to a file or stdout) |
| train | :func:`run_train` |
| evaluate | :func:`run_evaluate` (``--real``: :func:`run_evaluate_real`) |
| adapt | :func:`run_adapt` |
| review | :func:`start_review` (the terminal session itself is the CLI's) |
| schemes | :func:`show_schemes` |
| gaps | :func:`run_gaps` (Python: :func:`contentplan.reports.gaps.gap_report`) |
| tag | :func:`run_tag` (Python: :func:`tag`) |
| prospects | :func:`run_prospects` (Python: :func:`contentplan.reports.journeys.prospect_journeys`) |
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .domain.schemes import DEFAULT_SCHEME, Scheme, formats, list_schemes, load_scheme
from .domain.schemes import NONE as NONE_LABEL
from .errors import InputError, ModelError
from .io.encoding import display_name
from .io.tables import detect_column, iter_table
from .io.writers import StreamWriter, render_table
from .model.pipeline import JourneyModel, classify_frame
from .progress import ROW_STEP, count_rows
from .terminal import clean_line

CHUNK_ROWS = 4096
# Rows classified together hold at most this many characters of text: a few thousand short
# queries, or a few dozen whole HTML pages, so that memory follows the rows and not the cells' size.
PART_CHARS = 4 * 1024 ** 2


def row_parts(texts: pd.Series, step: int, budget: int = PART_CHARS) -> list[tuple[int, int]]:
    """(start, stop) row ranges of at most ``step`` rows whose texts hold at most ``budget``
    characters together (a single longer row is a part of its own)."""
    lengths = texts.fillna("").astype(str).str.len().to_numpy()
    parts, start, size = [], 0, 0
    for i, n in enumerate(lengths):
        if i > start and (i - start >= step or size + n > budget):
            parts.append((start, i))
            start, size = i, 0
        size += int(n)
    if len(lengths):
        parts.append((start, len(lengths)))
    return parts


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


def load_model(path: str | Path | None = None) -> JourneyModel:
    """Load a model folder (the shipped default when ``path`` is None)."""
    return JourneyModel.load(path)


def classify(texts: str | Sequence[str] | pd.DataFrame, scheme: str | Scheme = DEFAULT_SCHEME,
             text_column: str | None = None, model: str | Path | JourneyModel | None = None,
             min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True) -> pd.DataFrame:
    """Classify texts into journey stages.

    Args:
        texts: a string, a list of strings, or a DataFrame (its columns are kept).
        scheme: built-in scheme name or path to a scheme YAML file.
        text_column: the DataFrame column holding the text (detected when None).
        model: model folder or loaded model (default: the shipped model).
        min_confidence: below it the stage is ``unclear`` (default: the model's tuned threshold; 0 disables).
        brands: brand / site names that make a query navigational.

    Returns:
        A DataFrame: input columns, then stage, confidence, lang, intent, p_<stage>..., explanation.

    Example:
        >>> import contentplan
        >>> contentplan.classify(["combien coûte votre CRM ?"])[["stage", "confidence"]]  # doctest: +SKIP
    """
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    if isinstance(texts, str):
        texts = [texts]
    if isinstance(texts, pd.DataFrame):
        frame = texts
        col = detect_column(frame, "text", text_column, where="DataFrame", option="text_column")
    else:
        frame = pd.DataFrame({"text": list(texts)})
        col = "text"
    return classify_frame(m, frame, col, sch, min_confidence, brands, explain)


def run_classify(texts: Sequence[str], input_path: str | None, text_column: str | None, scheme: str,
                 model_dir: str | None, min_confidence: float | None, brands: Sequence[str], explain: bool,
                 fmt: str | None, output: str | None, progress: Callable, csv_safe: bool = False, csv_dialect: str = "plain") -> int:
    """``contentplan classify``: classify texts given inline or in a file, streaming chunk by chunk to
    ``output`` (stdout when None) in ``fmt`` (None: from the output's extension); returns the row count."""
    from .io.writers import resolve_format
    fmt = resolve_format(fmt, output)
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
                    for start, stop in row_parts(chunk[column], step, PART_CHARS):
                        part = chunk.iloc[start:stop].reset_index(drop=True)
                        writer.write(classify_frame(model, part, column, sch, min_confidence, brands, explain))
                        rows += len(part)
                        bar.update(len(part))
    return rows


def run_train(corpus, output, embedder: str | None, c_value: float | None = None, real: bool = True,
              real_weight: float | None = None, balance: float | None = None, knn_share: float | None = None,
              progress: Callable[[str], None] | None = None, bar: Callable | None = None) -> dict:
    """``contentplan train``: train on ``corpus`` and write the model folder ``output``; None options
    take the shipped model's values. Returns the model's meta."""
    from .training.train import (
        DEFAULT_BALANCE,
        DEFAULT_C,
        DEFAULT_KNN_SHARE,
        DEFAULT_REAL_WEIGHT,
        train_model,
    )
    _, meta = train_model(corpus, output, embedder,
                          C=DEFAULT_C if c_value is None else c_value, real=real,
                          real_weight=DEFAULT_REAL_WEIGHT if real_weight is None else real_weight,
                          balance=DEFAULT_BALANCE if balance is None else balance,
                          knn_share=DEFAULT_KNN_SHARE if knn_share is None else knn_share, progress=progress, bar=bar)
    return meta


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


def run_evaluate_real(model: JourneyModel, corpus, scheme: str, fmt: str, which: str = "") -> str:
    """Scores per source file (real sets and the corpus test split), per language and per kind,
    with calibration; sources the model was trained on are marked (those rows are not held out)."""
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


def run_adapt(data_path, output, model_dir, text_column, label_column, scheme, all_rows: bool,
              label_weight: float | None, corpus, cv: bool = True, progress: Callable[[str], None] | None = None):
    """``contentplan adapt``: adapt a model to labeled texts and write a new model folder (an
    :class:`~contentplan.training.adaptation.AdaptResult`)."""
    from .training.adaptation import DEFAULT_LABEL_WEIGHT, adapt_model
    return adapt_model(data_path, output, model_dir, text_column, label_column, scheme, all_rows,
                       DEFAULT_LABEL_WEIGHT if label_weight is None else label_weight, corpus, cv=cv, progress=progress)


def start_review(input_path, log_path, text_column, scheme, model_dir, limit: int):
    """``contentplan review``: the queue of texts to ask about, once the answers file is known not to
    overwrite an input (the terminal session, :func:`contentplan.training.review.run_session`, is the CLI's)."""
    from .io.writers import check_output_path
    from .training.review import prepare_review
    check_output_path(log_path, files_read(input_path, scheme=scheme, model_dir=model_dir))
    return prepare_review(input_path, log_path, text_column, scheme, model_dir, limit)


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


def run_gaps(content_path, questions_paths: Sequence, personas_path, scheme, model_dir, text_column, match_precision: str,
             match_threshold: float | None, compare_intent: bool, out_dir, fetch: bool = False, fetch_delay: float | None = None,
             fetch_max: int | None = None, bar: Callable | None = None, progress: Callable[[str], None] | None = None,
             csv_safe: bool = False, csv_dialect: str = "plain", lang: str | None = None, engine: str = "local",
             scheduler: str | None = None, workers: int | None = None):
    """``contentplan gaps``: build the gap report and write its folder; returns (report, files written).
    The folder is checked first (never an input, never a folder that is not a report's). ``engine``
    'dask': the questions are classified and matched as Dask tasks (:func:`contentplan.dask.gap_report`,
    on ``scheduler`` or a local cluster of ``workers``); ``questions_paths`` may then hold globs."""
    from .reports.render import check_report_folder
    extra = {}
    if engine == "dask":
        from .dask import gap_report, question_files
        questions_paths = question_files(list(questions_paths))
        extra = {"scheduler": scheduler, "workers": workers}
    else:
        from .reports.gaps import gap_report
    check_report_folder(out_dir, files_read(content_path, *questions_paths, personas_path, scheme=scheme, model_dir=model_dir))
    fetch_options = None
    if fetch:
        from .io.fetch import DEFAULT_DELAY, DEFAULT_MAX_PAGES, FetchOptions
        fetch_options = FetchOptions(delay=DEFAULT_DELAY if fetch_delay is None else fetch_delay,
                                     max_pages=DEFAULT_MAX_PAGES if fetch_max is None else fetch_max, bar=bar)
    report = gap_report(content_path, list(questions_paths), personas_path, scheme, model_dir, match_threshold,
                        text_column=text_column, progress=progress, compare_intent=compare_intent, fetch=fetch_options,
                        lang=lang, match_precision=match_precision, **extra)
    return report, report.write(out_dir, csv_safe=csv_safe, csv_dialect=csv_dialect)


def tag(paths, **kwargs) -> pd.DataFrame:
    """Tag drafts (files or folders); returns a DataFrame, one row per file. Keyword arguments are
    :func:`contentplan.reports.tagging.tag_documents`' (scheme, personas, model, min_confidence)."""
    from .reports.tagging import tag_documents, tags_frame
    return tags_frame(tag_documents(paths, **kwargs))


def run_tag(paths, scheme, personas_path, model_dir, min_confidence, do_write: bool, overwrite: bool, dry_run: bool,
            do_check: bool, fmt: str | None, output, csv_safe: bool = False, csv_dialect: str = "plain",
            say: Callable[[str], None] = print, warn: Callable[[str], None] | None = None) -> int:
    """``contentplan tag``: tag the drafts, then write the tag table, or (``do_write``) the tags into
    the files' front matter; ``do_check`` compares declared values with the predictions. ``say``
    shows the front-matter changes, ``warn`` the files skipped and the problems found. Returns the
    exit code: 1 when a file could not be tagged with ``do_write`` or ``do_check`` found a problem."""
    from .io.writers import check_output_path, resolve_format, write_table
    from .reports.tagging import check_tags, tag_documents, tags_frame, write_tags
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    fmt = resolve_format(fmt, output)
    inputs = files_read(*paths, personas_path, scheme=scheme, model_dir=model_dir)
    if output:   # refused before any work when it would overwrite a draft, the personas or scheme file, or the model
        check_output_path(output, inputs)
    skipped: list[str] = []
    notes: list[str] = []
    tags = tag_documents(list(paths), scheme, personas_path, model_dir, min_confidence, errors=skipped, notes=notes,
                         keep_going=do_write)
    # With --write, a file that could not be read is a file left untagged: an error (exit 1 at the end).
    failed = skipped if do_write else []
    for msg in notes:
        warn(f"skipped: {msg}")
    for msg in skipped:
        warn(f"{'Error' if do_write else 'skipped'}: {msg}")
    if not tags:
        if failed:
            return 1
        raise InputError("no readable document among the paths given")
    if do_write:
        n = len(failed)
        for msg in write_tags(tags, dry_run=dry_run, with_persona=bool(personas_path), overwrite=overwrite, errors=failed):
            say(msg)
        for msg in failed[n:]:
            warn(f"Error: {msg}")
    else:
        write_table(tags_frame(tags), fmt, output, inputs=inputs, csv_safe=csv_safe, csv_dialect=csv_dialect)
    if do_check:
        problems = check_tags(tags)
        for p in problems:
            warn(p)
        if problems:
            return 1
    return 1 if failed else 0


def run_prospects(input_path, prospect_column, time_column, text_column, content_path, personas_path, scheme, model_dir,
                  timeline_path, dayfirst: bool | None, fmt: str | None, output, csv_safe: bool = False,
                  csv_dialect: str = "plain", note: Callable[[str], None] | None = None):
    """``contentplan prospects``: place each prospect on the journey and write the table (and, with
    ``timeline_path``, each prospect's timeline as JSON); ``note`` says how numeric dates were read.
    Returns the :class:`~contentplan.reports.journeys.ProspectReport`."""
    from .io.writers import (
        check_distinct_outputs,
        check_output_path,
        open_output,
        resolve_format,
        write_table,
    )
    from .reports.journeys import prospect_journeys
    inputs = files_read(input_path, content_path, personas_path, scheme=scheme, model_dir=model_dir)
    check_output_path(output, inputs)
    check_distinct_outputs({"-o": output, "--timeline": timeline_path})
    timeline_kind = check_output_path(timeline_path, inputs) if timeline_path else None
    rep = prospect_journeys(input_path, scheme, model_dir, content_path, personas_path, prospect_column, time_column,
                            text_column, dayfirst)
    if rep.date_order != "iso" and note:
        note(f"note: dates read {rep.date_order} (02/12/2026 = "
             f"{'2 December' if rep.date_order == 'day-first' else 'February 12'}); "
             f"pass --{'monthfirst' if rep.date_order == 'day-first' else 'dayfirst'} if that is wrong")
    write_table(rep.summary, resolve_format(fmt, output), output, inputs=inputs, csv_safe=csv_safe, csv_dialect=csv_dialect)
    if timeline_path:
        with open_output(timeline_path, "w", timeline_kind) as fh:
            fh.write(rep.timeline_json() + "\n")
    return rep
