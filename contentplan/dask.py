"""Classification past one machine, on Dask (``pip install 'contentplan[dask]'``).

    import dask.dataframe as dd
    import contentplan.dask
    ddf = dd.read_parquet("keywords/*.parquet")
    out = contentplan.dask.classify(ddf, text_column="Keyword")   # a Dask DataFrame
    out.to_parquet("staged/")

Each partition goes through :func:`classify_partition`, the single-process ``classify_frame``, so
the columns and values are exactly the single process's. What travels to the workers is that
module-level function and plain parameters (the text column's name, a scheme name or YAML path, a
model folder path, numbers, brand names): each worker process loads the model once (a cached
loader, :func:`worker_model`), the encoder's 65 MB embedding table memory-mapped from the
fast-load state (``use_fastload``), with one BLAS thread unless ``CONTENTPLAN_THREADS`` says
otherwise, and no embedding or prediction cache (a shared SQLite file is the wrong place for
millions of one-off rows written by many processes).

:func:`classify_partition` is also the function for Spark's ``mapInPandas`` (README).
``dask`` is imported only by the functions that need it, never by ``import contentplan``.
"""
from __future__ import annotations

import contextlib
import functools
import glob as globmod
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .domain import DEFAULT_SCHEME
from .errors import ContentplanError, InputError, OutputError

INPUT_EXTS = (".csv", ".tsv", ".txt", ".jsonl", ".json", ".parquet")
OUTPUT_EXTS = (".csv", ".jsonl", ".parquet")


def _need_dask():
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
    except ImportError:
        raise ContentplanError("--engine dask needs Dask: pip install 'contentplan[dask]' "
                               "(dask[dataframe] and distributed)") from None


# ----- the per-partition function (Dask workers, Spark executors) -----
@functools.lru_cache(maxsize=4)
def worker_model(model: str | None):
    """The model, loaded once per process; the first call also sets the worker's policy: one BLAS
    thread (unless ``CONTENTPLAN_THREADS`` is set) and no row caches."""
    os.environ.setdefault("CONTENTPLAN_THREADS", "1")
    from .io import cache
    cache.ROW_CACHE = False
    from .model.pipeline import JourneyModel
    return JourneyModel.load(model)


@functools.lru_cache(maxsize=8)
def _scheme(scheme: str):
    from .domain.schemes import load_scheme
    return load_scheme(scheme)


def classify_partition(frame: pd.DataFrame, text_column: str, scheme: str = DEFAULT_SCHEME, model: str | None = None,
                       min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True) -> pd.DataFrame:
    """``classify_frame`` on one partition, keeping the partition's index (row ids stay unique)."""
    from .model.pipeline import classify_frame
    out = classify_frame(worker_model(model), frame, text_column, _scheme(scheme), min_confidence, tuple(brands), explain)
    out.index = frame.index
    return out


def output_meta(frame: pd.DataFrame, text_column: str, scheme: str = DEFAULT_SCHEME, model: str | None = None,
                explain: bool = True) -> pd.DataFrame:
    """The empty frame with the output's columns and dtypes (what ``map_partitions`` needs)."""
    from .model.pipeline import JourneyModel, classify_frame
    probe = frame.iloc[:0].copy()
    row = {c: probe[c].dtype.type() if probe[c].dtype.kind in "biuf" else "x" for c in probe.columns}
    row[text_column] = "combien coûte votre CRM ?"
    one = pd.DataFrame([row]).astype(probe.dtypes.to_dict())
    return classify_frame(JourneyModel.load(model), one, text_column, _scheme(scheme), None, (), explain).iloc[:0]


def classify(ddf, text_column: str | None = None, scheme: str = DEFAULT_SCHEME, model: str | Path | None = None,
             min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True):
    """Classify a Dask DataFrame: the input columns then the classification columns, as
    ``contentplan classify`` writes them, partition by partition (same index, same order)."""
    _need_dask()
    from .io.tables import detect_column
    column = detect_column(ddf._meta, "text", text_column, where="input", option="text_column")
    model = str(model) if model else None
    scheme = str(scheme)
    meta = output_meta(ddf._meta, column, scheme, model, explain)
    return ddf.map_partitions(classify_partition, column, scheme, model, min_confidence, tuple(brands), explain,
                              meta=meta)


# ----- the CLI path: partitioned files in, partitioned files out -----
def input_files(pattern: str) -> list[str]:
    """The files of ``-i`` (a glob, a folder or a file), sorted; one partition each."""
    p = Path(pattern)
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in INPUT_EXTS and f.is_file())
    else:
        files = sorted(globmod.glob(pattern)) if globmod.has_magic(pattern) else ([pattern] if p.exists() else [])
    if not files:
        raise InputError(f"{pattern}: no input file matches; give a file, a folder or a quoted glob such as "
                         "'keywords/*.csv'")
    bad = [f for f in files if Path(f).suffix.lower() not in INPUT_EXTS]
    if bad:
        raise InputError(f"{bad[0]}: --engine dask reads {', '.join(INPUT_EXTS)} files; convert it or leave it out of the glob")
    return files


def read_part(path: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One input file as a frame of strings (the single-process reader; Parquet as stored). A file
    that cannot be read, or whose columns differ from the first file's, raises the one-line error."""
    if path.lower().endswith(".parquet"):
        try:
            frame = pd.read_parquet(path)
        except Exception as err:
            raise InputError(f"{path}: cannot be read as Parquet ({err.__class__.__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else ''}); re-export it or leave it out") from None
    else:
        from .io.tables import read_table
        frame = read_table(path)
    if columns is not None and [str(c) for c in frame.columns] != columns:
        raise InputError(f"{path}: columns {', '.join(map(str, frame.columns))} differ from the first file's "
                         f"({', '.join(columns)}); every file of one run needs the same header")
    return frame


def output_files(pattern: str, n: int) -> tuple[str, list[str]]:
    """``-o 'staged/*.csv'`` -> (format, one path per partition: staged/part-00000.csv, ...)."""
    if "*" not in pattern:
        raise OutputError(f"-o {pattern}: with --engine dask, -o names one file per partition: write a pattern "
                          "such as 'staged/*.csv' or 'staged/*.parquet' (quoted)")
    ext = Path(pattern).suffix.lower()
    if ext not in OUTPUT_EXTS:
        raise OutputError(f"-o {pattern}: the pattern must end in {', '.join(OUTPUT_EXTS)}")
    folder = Path(pattern).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"-o {pattern}: cannot create the folder {folder} ({err.strerror or err})") from None
    width = max(5, len(str(n - 1)))
    return ext[1:], [str(Path(pattern).with_name(Path(pattern).name.replace("*", f"part-{i:0{width}d}"))) for i in range(n)]


def write_part(frame: pd.DataFrame, path: str, fmt: str, inputs: tuple[str, ...], csv_safe: bool = False,
               csv_dialect: str = "plain") -> int:
    """Write one output partition atomically (a retried task rewrites the whole file: every row once)."""
    if fmt == "parquet":
        from .io.writers import atomic_write, check_output_path
        check_output_path(path, inputs)
        with atomic_write(path, "wb", encoding=None) as fh:
            frame.reset_index(drop=True).to_parquet(fh, index=False)
    else:
        from .io.writers import StreamWriter
        with StreamWriter(fmt, path, inputs, csv_safe=csv_safe, csv_dialect=csv_dialect) as w:
            w.write(frame.reset_index(drop=True))
    return len(frame)


def start_client(scheduler: str | None, workers: int | None):
    """A ``distributed`` client: the given scheduler, or a local cluster of ``workers`` processes
    with one thread each (the way to use N cores with one BLAS thread each)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ContentplanError("--engine dask needs distributed: pip install 'contentplan[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except Exception as err:
            raise ContentplanError(f"cannot reach the Dask scheduler {scheduler} ({err.__class__.__name__}); "
                                   "check the address (tcp://host:8786) and that the scheduler is running") from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           env={"CONTENTPLAN_THREADS": os.environ.get("CONTENTPLAN_THREADS", "1")})
    return Client(cluster)


def run_classify_dask(input_pattern: str, output: str | None, text_column: str | None, scheme: str, model_dir: str | None,
                      min_confidence: float | None, brands: Sequence[str], explain: bool, csv_safe: bool,
                      scheduler: str | None, workers: int | None, quiet: bool, csv_dialect: str = "plain") -> int:
    """``contentplan classify --engine dask``: returns the number of rows written."""
    _need_dask()
    import dask
    import dask.dataframe as dd

    from .api import files_read
    from .io.tables import detect_column

    if not output:
        raise OutputError("--engine dask writes one file per partition: give -o 'staged/*.csv' (or *.parquet, *.jsonl)")
    files = input_files(input_pattern)
    fmt, outs = output_files(output, len(files))
    inputs = tuple(str(p) for p in files_read(*files, scheme=scheme, model_dir=model_dir))
    for o in outs:                       # refuse an output onto an input before any work
        from .io.writers import check_output_path
        check_output_path(o, inputs)
    first = read_part(files[0])
    columns = [str(c) for c in first.columns]
    column = detect_column(first, "text", text_column, where=files[0], option="--text-column")
    parts = [dask.delayed(read_part)(f, columns) for f in files]
    ddf = dd.from_delayed(parts, meta=first.iloc[:0], verify_meta=False)
    out = classify(ddf, column, scheme, model_dir, min_confidence, brands, explain)
    writes = [dask.delayed(write_part)(part, path, fmt, inputs, csv_safe, csv_dialect) for part, path in zip(out.to_delayed(), outs)]
    client = start_client(scheduler, workers)
    try:
        futures = client.compute(writes)
        from .progress import enabled
        if enabled(quiet):                     # the scheduler's progress bar, on stderr, on a terminal only
            import sys

            from distributed import progress
            with contextlib.redirect_stdout(sys.stderr):
                progress(futures)
            sys.stderr.write("\n")
        return sum(client.gather(futures))
    finally:
        cluster = getattr(client, "cluster", None) if not scheduler else None
        client.close()
        if cluster is not None:
            cluster.close()
        for o in outs:                   # what a killed worker left half-written (its task was rerun)
            for tmp in Path(o).parent.glob(f".{Path(o).name}.*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()


# ----- the gap report at scale: questions as Dask tasks, a broadcast content index -----
DEFAULT_PARTITION_ROWS = 5000
DEFAULT_CLUSTER_SAMPLE = 3000


_MATCHERS: dict = {}


def _persona_matcher(personas: tuple, model: str | None, threshold: float | None):
    """The persona matcher of one worker (profiles embedded once per process, not per partition)."""
    import pickle

    from .domain.personas import PersonaMatcher
    from .match import lexical_embed
    key = (pickle.dumps(personas), model, threshold)
    if key not in _MATCHERS:
        m = worker_model(model)
        embed = m.embed if m.estimator.embedder else lexical_embed
        _MATCHERS.clear()
        _MATCHERS[key] = PersonaMatcher(list(personas), embed, **({"threshold": threshold} if threshold is not None else {}))
    return _MATCHERS[key]


def gaps_partition(texts: list[str], declared: list[str], index, match_model, threshold: float, scheme: str,
                   model: str | None, personas: tuple = (), persona_threshold: float | None = None) -> tuple:
    """The question side of ``gaps`` on one partition (the questions and their declared personas):
    classification, language, persona, and the best page of the broadcast ``index`` with P(answered),
    answered and why, as the single-process ``gap_report`` computes them.

    Returns (per-question frame, the partition's best cosine per page, the positions in the partition
    of the unanswered questions that count as demand, their vectors): only those vectors travel back,
    for the briefs."""
    from .domain.personas import normalise_persona
    from .domain.schemes import NONE, UNCLEAR
    from .match import lexical_embed, match_questions
    from .model.lang import detect_lang
    from .reports.gaps import ALL_PERSONAS
    m = worker_model(model)
    sch = _scheme(scheme)
    q_vec = m.embed(texts)
    q_proba = m.short_proba(texts, q_vec)
    q_dec = sch.decide(q_proba, m.min_confidence)
    out = pd.DataFrame({"lang": [detect_lang(t) for t in texts], "stage": q_dec.stage,
                        "confidence": np.round(q_dec.confidence, 4), "canonical_stage": q_dec.canonical})
    if personas:
        matcher = _persona_matcher(tuple(personas), model, persona_threshold)
        declared = [normalise_persona(v, list(personas)) for v in declared]
        inferred, _ = matcher.assign(texts, q_vec)
        out["persona"] = [d or i for d, i in zip(declared, inferred)]
        out["persona_source"] = ["declared" if d else "inferred" for d in declared]
    else:
        out["persona"] = ALL_PERSONAS
        out["persona_source"] = ""
    match_vec = q_vec if q_vec is not None else lexical_embed(texts)
    res = match_questions(index, texts, match_vec, q_proba, match_model, q_lang=out["lang"].tolist())
    found = res.best_page >= 0
    out["similarity"] = np.round(res.cos, 4)
    out["match_score"] = np.round(np.where(found, res.score, 0.0), 4)
    out["p_answered"] = np.round(np.where(found, res.p_answered, 0.0), 4)
    out["answered"] = found & (out["p_answered"].to_numpy() >= threshold)
    out["best_page"] = res.best_page
    out["match_terms"] = res.terms
    out["match_passage"] = res.passage
    unanswered = np.flatnonzero(~out["answered"].to_numpy() & ~out["stage"].isin((UNCLEAR, NONE)).to_numpy())
    vecs = np.asarray(match_vec, dtype=np.float32)[unanswered]
    return out, np.asarray(res.reach), unanswered, vecs


def bounded_cluster(vecs: np.ndarray, sample: int = DEFAULT_CLUSTER_SAMPLE, chunk: int = 4096) -> np.ndarray:
    """Topic labels of one cell with memory bounded by its rows: up to ``sample`` questions are
    clustered as one process does (``reports.gaps.cluster``); beyond that, ``sample`` of them
    (evenly spaced, so the same input gives the same topics) are clustered and every other question
    joins the cluster whose centre is nearest (cosine), ``chunk`` rows at a time."""
    from .reports.gaps import cluster
    n = len(vecs)
    if n <= sample:
        return cluster(vecs)
    picked = np.unique(np.linspace(0, n - 1, sample).round().astype(int))
    lab_s = cluster(vecs[picked])
    k = int(lab_s.max()) + 1
    cents = np.zeros((k, vecs.shape[1]), dtype=np.float64)
    np.add.at(cents, lab_s, vecs[picked])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True).clip(1e-12)
    labels = np.empty(n, dtype=int)
    for start in range(0, n, chunk):
        labels[start:start + chunk] = np.argmax(vecs[start:start + chunk] @ cents.T, axis=1)
    labels[picked] = lab_s
    return labels


def question_files(sources) -> list:
    """``--questions`` values with --engine dask: each a file, a folder or a quoted glob, expanded
    (sorted) into the files the single-process reader reads; DataFrames pass through."""
    out: list = []
    for s in (sources if isinstance(sources, (list, tuple)) else [sources]):
        if isinstance(s, pd.DataFrame) or str(s) == "-":
            out.append(s)
            continue
        for f in input_files(str(s)):
            if f.lower().endswith(".parquet"):
                raise InputError(f"{f}: gaps reads Parquet questions through the Python API "
                                 "(contentplan.dask.gap_report(content, dd.read_parquet(...))); give CSV, TSV, TXT or JSONL files here")
            out.append(f)
    return out


def gap_report(content, questions, personas=None, scheme: str = "buyer-journey", model: str | Path | None = None,
               match_threshold: float | None = None, persona_threshold: float | None = None, text_column: str | None = None,
               progress=None, compare_intent: bool = False, fetch=None, lang: str | None = None,
               match_precision: str | None = None, client=None, scheduler: str | None = None, workers: int | None = None,
               partition_rows: int = DEFAULT_PARTITION_ROWS, cluster_sample: int = DEFAULT_CLUSTER_SAMPLE):
    """``contentplan.reports.gap_report`` with the question side on Dask; returns the same GapReport.

    ``questions``: a Dask DataFrame, or what the single-process report takes (paths, DataFrames, a
    list), where a path may also be a folder or a quoted glob. On the client: the questions merged as
    one process merges them (the same query from several rows or files is one question; strings,
    linear in rows), the content classified and its match index built once, then broadcast to the
    workers. As Dask tasks, ``partition_rows`` questions each (:func:`gaps_partition`, the model
    loaded once per worker): classification, embedding, language, persona, matching. Back on the
    client, with the single-process functions: the cells, the briefs (topics clustered per cell with
    :func:`bounded_cluster`, at most ``cluster_sample`` questions at once), over-served pages,
    format mismatches. ``client``: a ``distributed.Client`` to use; else ``scheduler`` (an address)
    or a local cluster of ``workers`` processes, closed at the end."""
    _need_dask()
    import datetime as _dt

    from .domain.personas import UNASSIGNED, PersonaMatcher, load_personas
    from .domain.schemes import NONE, UNCLEAR, load_scheme
    from .io.encoding import display_name
    from .io.tables import carried_names
    from .match import DEFAULT_PRECISION, lexical_embed
    from .model.pipeline import JourneyModel
    from .inputs import read_content_carry, read_questions_carry
    from .reports import gaps as G
    from .reports.i18n import check_lang, dominant_lang

    check_lang(lang)
    match_precision = match_precision or DEFAULT_PRECISION
    say = progress or (lambda msg: None)
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    if m.path is None:
        raise ContentplanError("the Dask gap report loads the model on each worker from its folder: give a model folder, "
                               "not an in-memory model")
    model_dir = str(m.path)
    plist = load_personas(personas) if isinstance(personas, (str, Path)) else list(personas or [])
    inv, c_carry = read_content_carry(content, fetch=fetch)
    if hasattr(questions, "dask") and hasattr(questions, "npartitions"):      # a Dask DataFrame: merged on the client
        questions = questions.compute()
    sources = question_files(questions)
    qs, q_carry = read_questions_carry(sources, text_column)
    if compare_intent and "\x00intent" not in q_carry.columns:
        names = ", ".join(display_name(s) if not isinstance(s, pd.DataFrame) else "questions" for s in sources)
        raise InputError(f"{names}: no intent column to compare with (looked for Intent, Intents, Search intent, Intention); "
                         "give a keyword-tool export with its Intent column, or drop --compare-intent")
    match_model, match_source, threshold = G.match_setup(m, match_threshold, match_precision)

    # --- content, on the client (the small side): as gap_report does it
    say(f"classifying {len(inv)} content pieces")
    content, docs, c_proba = G.classify_content(m, sch, inv)
    langs_c = content.lang.tolist()
    embeds = bool(m.estimator.embedder)
    if plist:
        matcher = PersonaMatcher(plist, m.embed if embeds else lexical_embed, **(
            {"threshold": persona_threshold} if persona_threshold is not None else {}))
        G.content_personas(content, inv, docs, plist, matcher, embeds)
    else:
        content["persona"] = content["personas"] = G.ALL_PERSONAS
        content["persona_source"] = ""
    index = G.page_index(content, inv, docs, c_proba, embeds)

    # --- questions, as Dask tasks against the broadcast index
    import dask
    own = client is None
    if own:
        client = start_client(scheduler, workers)
    try:
        say(f"classifying and matching {len(qs)} questions on Dask ({len(client.scheduler_info().get('workers', {}))} workers)")
        index_f = client.scatter(index, broadcast=True, hash=False)
        # Plain lists travel, under explicit keys (dask's tokenize of a string-dtype frame is not by content).
        run = uuid.uuid4().hex[:8]
        texts, declared = qs.question.tolist(), qs.persona.tolist()
        step = max(1, int(partition_rows))
        parts = [dask.delayed(gaps_partition)(texts[i:i + step], declared[i:i + step], index_f, match_model, threshold,
                                              str(scheme), model_dir, tuple(plist), persona_threshold,
                                              dask_key_name=f"gaps-partition-{run}-{i // step}")
                 for i in range(0, len(texts), step)]
        results = client.gather(client.compute(parts)) if parts else []
    finally:
        if own:
            cluster = getattr(client, "cluster", None) if not scheduler else None
            client.close()
            if cluster is not None:
                cluster.close()

    # --- back on the client: the per-question results, then gaps' own cells and briefs
    q_texts = qs.question.tolist()
    per = pd.concat([r[0] for r in results], ignore_index=True) if results else gaps_partition_meta()
    dim = next((r[3].shape[1] for r in results if r[3].ndim == 2 and r[3].shape[1]), 0)
    vecs = np.zeros((len(qs), dim), dtype=np.float32)          # rows of answered questions stay untouched zeros
    for k, r in enumerate(results):
        if len(r[2]) and dim:
            vecs[k * step + r[2]] = r[3]
    reach = np.max(np.vstack([r[1] for r in results]), axis=0) if results and len(inv) else np.zeros(len(inv))
    qdf = pd.DataFrame({"question": q_texts, "lang": per.lang, "stage": per.stage, "confidence": per.confidence,
                        "canonical_stage": per.canonical_stage, "volume": qs.volume, "weight": qs.weight,
                        "source": qs.source, "date": qs.date})
    qdf["persona"] = per.persona.to_numpy(dtype=object)
    qdf["persona_source"] = per.persona_source.to_numpy(dtype=object)
    best_piece = per.best_page.to_numpy(dtype=int) if len(per) else np.zeros(0, dtype=int)
    found = best_piece >= 0
    for c in ("similarity", "match_score", "p_answered"):
        qdf[c] = per[c].to_numpy(dtype=float)
    qdf["answered"] = per.answered.to_numpy(dtype=bool)
    at = np.maximum(best_piece, 0)
    qdf["best_match"] = np.where(found, inv.title.to_numpy(dtype=object)[at], "") if len(inv) else ""
    qdf["best_match_url"] = np.where(found, inv.url.to_numpy(dtype=object)[at], "") if len(inv) else ""
    qdf["best_match_stage"] = np.where(found, content.stage.to_numpy(dtype=object)[at], "") if len(inv) else ""
    qdf["stage_mismatch"] = found & (qdf.best_match_stage.to_numpy(dtype=object) != qdf.stage.to_numpy(dtype=object))
    qdf["match_terms"] = per.match_terms.to_numpy(dtype=object)
    qdf["match_passage"] = per.match_passage.to_numpy(dtype=object)
    qdf["best_match_lang"] = [langs_c[i] if i >= 0 else "" for i in best_piece]
    qdf["cross_lingual"] = [bool(i >= 0 and a and langs_c[i] != l) for i, l, a in zip(best_piece, qdf.lang, qdf.answered)]
    content["best_question_similarity"] = np.round(reach, 4)
    answered_by = best_piece[qdf.answered.to_numpy() & found]
    content["questions_answered"] = np.bincount(answered_by, minlength=len(inv)).astype(int) if len(inv) else []

    personas_axis = [p.id for p in plist] + ([UNASSIGNED] if plist else []) if plist else [G.ALL_PERSONAS]
    gaps = G.cells(qdf, content, sch, personas_axis)
    say("clustering unanswered questions into topics")
    qdf["topic"] = ""
    lang = lang or dominant_lang(qdf.lang)
    briefs = G.briefs(qdf, vecs, sch, gaps, content, docs, threshold, plist, lang,
                      cluster=functools.partial(bounded_cluster, sample=int(cluster_sample)))
    del vecs
    over = content[content.questions_answered == 0][["title", "url", "stage", "persona", "format", "best_question_similarity"]]
    over = over.sort_values("best_question_similarity", kind="stable").reset_index(drop=True)
    mism = G.format_mismatches(content, sch)
    counted = G.counted(qdf)
    total_w = float(qdf.weight[counted].sum()) or 1.0
    meta = {
        "generated": _dt.date.today().isoformat(), "scheme": sch.name, "model": str(m.path),
        "embedder": m.meta.get("embedder"), "match_threshold": threshold,
        "match_precision": None if match_threshold is not None else match_precision,
        "match_heldout": None if match_threshold is not None else match_model.info.get("heldout", {}).get(match_precision),
        "match_threshold_source": "given" if match_threshold is not None else match_source,
        "stage_mismatches": int((qdf.answered & qdf.stage_mismatch).sum()),
        "n_questions": int(len(qdf)), "n_content": int(len(content)),
        "volume_weighted": bool(qs.has_volume.iloc[0]) if len(qs) else False,
        "answered_share": float(qdf.weight[qdf.answered & counted].sum()) / total_w,
        "personas": [p.id for p in plist], "cross_lingual_answers": int(qdf.cross_lingual.sum()),
        "not_counted": {"questions_unclear": int((qdf.stage == UNCLEAR).sum()), "questions_none": int((qdf.stage == NONE).sum()),
                        "content_unclear": int((content.stage == UNCLEAR).sum()), "content_none": int((content.stage == NONE).sum())},
        "engine": "dask", "cluster_sample": int(cluster_sample),
    }
    qdf = qdf.drop(columns=["weight"])
    qdf["mentions"] = qs.mentions.to_numpy()
    q_names = [c.removeprefix("\x00") for c in q_carry.columns]
    fixed = {c: ("input_intent" if c == "\x00intent" else c[1:]) for c in q_carry.columns if c.startswith("\x00")}
    q_out = carried_names(list(q_carry.columns), list(qdf.columns), fixed)
    c_out = carried_names(list(c_carry.columns), list(content.columns))
    meta["renamed_columns"] = {
        "questions.csv": [f"{o} -> {n}" for o, c, n in zip(q_names, q_carry.columns, q_out) if c not in fixed and o != n],
        "content.csv": [f"{o} -> {n}" for o, n in zip(c_carry.columns, c_out) if o != n]}
    qdf = pd.concat([qdf, q_carry.set_axis(q_out, axis=1).reset_index(drop=True)], axis=1)
    content = pd.concat([content.reset_index(drop=True), c_carry.set_axis(c_out, axis=1).reset_index(drop=True)], axis=1)
    if compare_intent:
        from .domain.intent import intent_agreement
        meta["intent_agreement"] = intent_agreement(qdf.input_intent.tolist(), qdf.canonical_stage.tolist(),
                                                    qdf.stage.tolist(), qdf.question.tolist())
    return G.GapReport(sch, gaps, briefs, qdf, content, over, mism, meta, personas=plist, lang=lang)


def gaps_partition_meta() -> pd.DataFrame:
    """The per-question frame of :func:`gaps_partition` with no row (no question at all)."""
    cols = {"lang": object, "stage": object, "confidence": float, "canonical_stage": object, "persona": object,
            "persona_source": object, "similarity": float, "match_score": float, "p_answered": float,
            "answered": bool, "best_page": int, "match_terms": object, "match_passage": object}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
