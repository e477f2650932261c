"""Gap report: demand (questions) versus supply (content) per stage x persona, unanswered questions
clustered into topics, briefs for what to write next, over-served topics and format mismatches.

Pipeline: read -> classify questions and content with the same model -> assign personas -> match
each question to the best content passage (cross-lingual embeddings) -> aggregate per cell ->
cluster unanswered questions -> rank briefs.
"""
from __future__ import annotations

import datetime as _dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.formats import cms_type, detect_format, normalise_format
from ..domain.personas import UNASSIGNED, Persona, PersonaMatcher, declared_personas, load_personas, normalise_persona
from ..domain.schemes import NONE, UNCLEAR, Scheme, canonical_ids, formats, load_scheme, model_labels
from ..errors import InputError
from ..io.documents import DOC_EXTS, read_documents
from ..io.encoding import display_name
from ..io.tables import METRIC_NAMES, carried_names, detect_column, metric_columns, read_table, taxonomy_columns
from ..io.xmlsources import is_xml_source, read_xml_content
from ..match import DEFAULT_MATCH_THRESHOLD, DEFAULT_PRECISION, build_index, doc_vector, lexical_embed, match_model_for, match_questions
from ..model.lang import detect_lang
from ..model.pipeline import JourneyModel
from ..stopwords import STOP_WORDS as _STOP
from ..textfold import fold_accents

ALL_PERSONAS = "all"
# ----------------------------------------------------------------------------- inputs

def read_content(source, where: str | None = None) -> pd.DataFrame:
    """Inventory as a DataFrame (title, body, url, format, persona, date, lang, taxonomy, object_type)
    from a table, a document or a folder."""
    return _read_content(source, where)[0]


_HTML_CELL = re.compile(r"<\s*(html|body|main|article|section|div|p|h[1-6]|span|br|table|ul|ol|li|figure|img)\b[^>]*>|<!--\s*wp:", re.IGNORECASE)


def _html_text(body: str) -> str:
    """The text of a body a CMS exports as HTML (WordPress Content, HubSpot Post Body, Shopify Body HTML)."""
    if "<" not in body or not _HTML_CELL.search(body[:5000]):
        return body
    from ..io.documents import html_to_text
    title, text = html_to_text(body)
    return text or title


def _read_content(source, where: str | None = None, fetch=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(roles, input columns to carry into content.csv). The title and URL columns are not carried
    twice: the report's ``title`` and ``url`` hold them unchanged. A WordPress export or a sitemap
    (``.xml``) is read by :mod:`contentplan.io.xmlsources`; ``fetch`` (FetchOptions) fetches a sitemap's pages."""
    if fetch is not None and (isinstance(source, pd.DataFrame) or not is_xml_source(source)):
        shown = where or ("content" if isinstance(source, pd.DataFrame) else display_name(source))
        raise InputError(f"{shown}: --fetch reads the pages of a sitemap (.xml), and this content is not one; "
                         "drop --fetch, or give the site's sitemap.xml")
    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), where or "content"
    else:
        p = Path(source)
        name = display_name(source)
        if is_xml_source(p) and not p.is_dir():
            return read_xml_content(p, fetch)
        if p.is_dir() or p.suffix.lower() in DOC_EXTS - {".txt", ".text"}:
            docs = read_documents(p)
            inv = pd.DataFrame({
                "title": [d.title for d in docs], "body": [d.text for d in docs], "url": [d.path for d in docs],
                "format": [str(d.meta.get("content_format") or d.meta.get("format") or "") for d in docs],
                "persona": [str(d.meta.get("persona") or "") for d in docs],
                "date": [str(d.meta.get("date") or "") for d in docs], "lang": ["" for _ in docs],
                "taxonomy": ["" for _ in docs], "object_type": ["" for _ in docs],
                "_meta": [d.meta for d in docs]})
            return inv, pd.DataFrame(index=range(len(inv)))
        frame = read_table(source)
    frame = frame.reset_index(drop=True)
    ctype = detect_column(frame, "cms_type", None, where=name, required=False)
    cols = {}
    for role in ("title", "body", "url", "format", "persona", "date", "lang"):
        taken = tuple(c for c in (*cols.values(), ctype) if c)
        cols[role] = detect_column(frame, role, None, where=name, required=False, exclude=taken)
    if not cols["title"] and not cols["body"]:
        raise InputError(f"{name}: no title or body column found (columns found: {', '.join(map(str, frame.columns))}); "
                         "name them 'title' and 'body' (or 'text')")
    out = pd.DataFrame({role: (frame[c].astype(str).tolist() if c else [""] * len(frame)) for role, c in cols.items()})
    out["body"] = [_html_text(b) for b in out.body]
    tax = taxonomy_columns(frame, exclude=tuple(c for c in cols.values() if c))
    out["taxonomy"] = [" | ".join(v for v in vals if v.strip()) for vals in zip(*(frame[c].astype(str) for c in tax))] \
        if tax else ""
    out["object_type"] = frame[ctype].astype(str).tolist() if ctype else ""
    # A "format" that is a CMS object type (Drupal type: article/page) is a weak cue, not a declared format.
    is_type = out.format.map(lambda v: cms_type(v) is not None)
    out.loc[is_type & (out.object_type == ""), "object_type"] = out.format[is_type & (out.object_type == "")]
    out.loc[is_type, "format"] = ""
    out["_meta"] = [{} for _ in range(len(out))]
    carry = frame[[c for c in frame.columns if c not in (cols["title"], cols["url"])]].astype(str)
    return out, carry


def content_formats(inv: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(format, format_source) of each piece of a :func:`read_content` inventory: a declared format
    wins; otherwise title cues, categories/tags, URL, text, and last the CMS object type."""
    fmts, fsrc = [], []
    for row, meta in zip(inv.itertuples(), inv["_meta"]):
        declared = normalise_format(row.format)
        if declared:
            fmts.append(declared); fsrc.append("declared")
        else:
            f, why = detect_format(row.title, row.body, row.url, meta, taxonomy=row.taxonomy, object_type=row.object_type)
            fmts.append(f); fsrc.append(f"detected ({why})")
    return fmts, fsrc


def fold_query(text: str) -> str:
    """The key under which the same query from several sources is one question: case, accents,
    sentence punctuation and spaces folded ("Prix CRM ?" = "prix  crm" = "prix crm"). Symbols that
    change a query stay ("c++" is not "c", "=1+1" is not "1 1")."""
    return re.sub(r"[\s?!.,;:\"«»“”()\[\]{}…¿¡-]+", " ", fold_accents(text)).strip()


def read_questions(source, text_column: str | None = None, where: str | None = None) -> pd.DataFrame:
    """Questions as a DataFrame (question, persona, volume, source, date, weight, mentions) from one
    table or text file, or from several (a list): see :func:`_read_question_sources`."""
    return _read_question_sources(source, text_column, where)[0]


def _source_list(source) -> list:
    return list(source) if isinstance(source, (list, tuple)) else [source]


def _read_question_sources(source, text_column: str | None = None, where: str | None = None
                           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(questions, input columns to carry into questions.csv), one row per distinct query.

    Several sources (Search Console, Semrush, sales notes, tickets) are read one after the other;
    ``source`` is the file each row came from. The same query (see :func:`fold_query`) is one
    question, whatever the number of rows and files it appears in. Its demand (``weight``):

    - rows with a volume (search volume, impressions, clicks) measure the same searches seen by
      several tools: the question takes the largest, never the sum;
    - rows without one (a sales call, a ticket, a chat) are people asking: each adds the weight of
      the median query (1 when no source has volumes), as a single file always counted them.

    ``volume`` is the volume that counted (the largest); ``mentions`` the rows merged; persona,
    date and the carried columns take the first non-empty value in the order the sources were given.
    """
    sources = _source_list(source)
    several = len(sources) > 1
    names = [(where or "questions") if isinstance(s, pd.DataFrame) else display_name(s) for s in sources]
    seen: dict = {}
    for s, n in zip(sources, names):
        if isinstance(s, pd.DataFrame):
            continue
        key = "-" if str(s) == "-" else Path(s).resolve()
        if key in seen:
            raise InputError(f"{n}: this questions file is given twice; give each file once")
        seen[key] = n
    short = [Path(n).name if not isinstance(s, pd.DataFrame) and str(s) != "-" else n for s, n in zip(sources, names)]
    if len(set(short)) < len(short):
        short = [n if isinstance(s, pd.DataFrame) else display_name(s) for s, n in zip(sources, names)]
    if several and len(set(short)) < len(short):
        short = [f"{n} [{i + 1}]" for i, n in enumerate(short)]
    parts, extras = [], []
    carried: dict[str, str] = {}          # lower-cased input name -> the first spelling seen
    for s, name, label in zip(sources, names, short):
        frame = s.copy() if isinstance(s, pd.DataFrame) else read_table(s)
        frame = frame.reset_index(drop=True)
        explicit = text_column
        if several and explicit and explicit.lower() not in {str(c).lower() for c in frame.columns}:
            explicit = None               # several files: --text-column names the column of the files that have it
        tcol = detect_column(frame, "text", explicit, where=name, option="--text-column")
        part = pd.DataFrame({"question": frame[tcol].astype(str).tolist()})
        for role in ("persona", "volume", "date"):
            c = detect_column(frame, role, None, where=name, required=False, exclude=(tcol,))
            part[role] = frame[c].astype(str).tolist() if c else ""
        part["source"] = label
        icol = detect_column(frame, "intent", None, where=name, required=False, exclude=(tcol,))
        metrics = metric_columns(frame, exclude=tuple(c for c in (tcol, icol) if c))
        extra = pd.DataFrame(index=part.index)
        if icol:
            extra["\x00intent"] = frame[icol].astype(str)
        for metric, c in metrics.items():
            extra[f"\x00{metric}"] = frame[c].astype(str)
        for c in frame.columns:
            if c in (tcol, icol) or c in metrics.values():
                continue
            spelling = carried.setdefault(str(c).lower(), str(c))
            if spelling in extra.columns:    # "Tags" and "tags" in one file: both kept (renamed later)
                spelling = str(c)
            extra[spelling] = frame[c].astype(str)
        parts.append(part)
        extras.append(extra)
    rows = pd.concat(parts, ignore_index=True)
    extra = pd.concat(extras, ignore_index=True).fillna("") if extras else pd.DataFrame(index=rows.index)
    vol = pd.to_numeric(rows.volume.str.replace(r"[\s\u00a0,]", "", regex=True), errors="coerce")
    vol = vol.where(vol > 0)
    has_volume = bool(vol.notna().any())
    unit = float(vol.median()) if has_volume else 1.0
    keys = rows.question.map(fold_query)
    keys = keys.where(keys != "", pd.Series([f"\x00{i}" for i in range(len(rows))]))   # blank rows stay apart
    rows["_key"], rows["_vol"] = keys, vol
    groups = rows.groupby("_key", sort=False)
    first = groups.head(1).set_index("_key")
    top = rows[vol.notna()].sort_values("_vol", ascending=False, kind="stable").drop_duplicates("_key").set_index("_key")
    blank = rows[["_key", "persona", "date", "volume"]].replace("", np.nan)
    firsts = blank.groupby("_key", sort=False).first().fillna("")
    out = pd.DataFrame({"question": first.question})
    out["persona"] = firsts.persona.reindex(out.index).fillna("")
    vol_raw = top.volume.reindex(out.index)
    out["volume"] = vol_raw.where(vol_raw.notna(), firsts.volume.reindex(out.index)).fillna("")
    files: dict[str, dict] = {}
    for k, label in zip(keys, rows.source):
        files.setdefault(k, {})[label] = None
    out["source"] = [" | ".join(files[k]) for k in out.index]
    out["date"] = firsts.date.reindex(out.index).fillna("")
    asks = rows._vol.isna().groupby(rows._key, sort=False).sum()          # rows without a volume: people asking
    out["weight"] = groups._vol.max().reindex(out.index).fillna(0.0) + unit * asks.reindex(out.index)
    out["mentions"] = groups.size().reindex(out.index).astype(int)
    out["has_volume"] = has_volume
    # The intent first, then the search metrics in a fixed order, then the other input columns as met.
    order = ["intent", *METRIC_NAMES]
    fixed = sorted((c for c in extra.columns if c.startswith("\x00")),
                   key=lambda c: (order.index(c[1:].split("_")[0] if c.startswith("\x00cpc") else c[1:]), c))
    extra = extra[fixed + [c for c in extra.columns if not c.startswith("\x00")]]
    if len(extra.columns):
        extra = extra.replace("", np.nan)
        extra["_key"] = keys
        extra = extra.groupby("_key", sort=False).first().reindex(out.index).fillna("")
    else:
        extra = pd.DataFrame(index=out.index)
    return out.reset_index(drop=True), extra.reset_index(drop=True)


# ----------------------------------------------------------------------------- report object

@dataclass
class GapReport:
    """The result of :func:`gap_report`: DataFrames plus renderers."""

    scheme: Scheme
    gaps: pd.DataFrame
    briefs: pd.DataFrame
    questions: pd.DataFrame
    content: pd.DataFrame
    over_served: pd.DataFrame
    format_mismatches: pd.DataFrame
    meta: dict = field(default_factory=dict)

    personas: list = field(default_factory=list)   # the Persona objects (display names)
    lang: str = "en"                                  # language of the report's words (fr/en)

    def labels(self, lang: str | None = None):
        """Display names of stages, personas and formats in ``lang`` (default: the report's)."""
        from .i18n import Labels
        return Labels(self.scheme, self.personas, lang or self.lang)

    def summary_lines(self, top: int = 5, lang: str | None = None) -> list[str]:
        from .i18n import fmt_num, fmt_pct, t
        lang = lang or self.lang
        lab = self.labels(lang)
        m = self.meta
        lines = [t("cli_head", lang, n_q=fmt_num(m["n_questions"], lang), n_c=fmt_num(m["n_content"], lang),
                   scheme=self.scheme.name, share=fmt_pct(m["answered_share"], lang),
                   th=fmt_num(m["match_threshold"], lang, 2))]
        if m.get("stage_mismatches"):
            lines.append(t("cli_mismatch", lang, n=m["stage_mismatches"]))
        nc = m.get("not_counted", {})
        if any(nc.values()):
            lines.append(t("cli_uncounted", lang, qu=nc["questions_unclear"], qn=nc["questions_none"],
                           cu=nc["content_unclear"], cn=nc["content_none"]))
        for r in self.gaps.head(top).itertuples():
            lines.append(t("cli_gap", lang, gap=fmt_pct(r.gap_score, lang, 1), stage=lab.stage(r.stage), persona=lab.persona(r.persona),
                           demand=fmt_num(r.demand, lang), pieces=t("n_pieces", lang, n=r.supply), cov=fmt_pct(r.coverage, lang)))
        for r in self.briefs.head(top).itertuples():
            lines.append(t("cli_brief", lang, rank=r.rank, stage=lab.stage(r.stage), persona=lab.persona(r.persona),
                           topic=r.topic, formats=lab.formats(r.recommended_formats)))
        renamed = [f"{f}: {', '.join(v)}" for f, v in m.get("renamed_columns", {}).items() if v]
        if renamed:
            lines.append(t("cli_renamed", lang, what="; ".join(renamed)))
        return lines

    def intent_lines(self) -> list[str]:
        """Agreement between the questions' input intent and their stage (``compare_intent=True``)."""
        from ..domain.intent import agreement_lines
        res = self.meta.get("intent_agreement")
        return agreement_lines(res, self.scheme) if res else []

    def to_markdown(self, lang: str | None = None) -> str:
        from .render import render_markdown
        return render_markdown(self, lang)

    def to_html(self, lang: str | None = None) -> str:
        from .render import render_html
        return render_html(self, lang)

    def write(self, out_dir: str | Path, csv_safe: bool = False, csv_dialect: str = "plain", lang: str | None = None) -> list[Path]:
        """Write the report folder (see :func:`contentplan.reports.write_report`)."""
        from .render import write_report
        return write_report(self, out_dir, csv_safe=csv_safe, csv_dialect=csv_dialect, lang=lang)


# ----------------------------------------------------------------------------- main entry

def gap_report(content, questions, personas=None, scheme: str | Scheme = "buyer-journey",
               model: str | Path | JourneyModel | None = None, match_threshold: float | None = None,
               persona_threshold: float | None = None, text_column: str | None = None,
               progress: Callable[[str], None] | None = None, compare_intent: bool = False, fetch=None,
               lang: str | None = None, match_precision: str = DEFAULT_PRECISION) -> GapReport:
    """Build a gap report.

    Args:
        content: inventory table path, document or folder path, or DataFrame.
        questions: table or text file path, or DataFrame, or a list of them (several sources,
            merged: see :func:`_read_question_sources` for how demand is counted).
        personas: personas YAML path or list of Persona (None: report per stage only).
        scheme: built-in scheme name or scheme YAML path.
        model: model folder or loaded model (default: the shipped model).
        match_threshold: P(answered) at or above which a question counts as answered (default: the
            calibrated operating point of ``match_precision``).
        match_precision: 'high', 'balanced' or 'recall': the operating point on the fitted
            precision/recall curve of "answered" (see :mod:`contentplan.match`).
        compare_intent: compare the questions' input intent (a keyword tool's Intent column) with
            their stage (``report.intent_lines()``); an error when no question file has one.
        fetch: :class:`~contentplan.fetch.FetchOptions` to fetch the pages of a sitemap given as
            ``content`` (politely: see :mod:`contentplan.fetch`); None reads it offline.
        lang: language of the report's words, display names, numbers and dates ('fr' or 'en');
            None: the questions' dominant language.
    """
    from .i18n import check_lang, dominant_lang
    check_lang(lang)
    say = progress or (lambda msg: None)
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    plist: list[Persona] = load_personas(personas) if isinstance(personas, (str, Path)) else list(personas or [])
    inv, c_carry = _read_content(content, fetch=fetch)
    qs, q_carry = _read_question_sources(questions, text_column)
    if compare_intent and "\x00intent" not in q_carry.columns:
        names = ", ".join(display_name(s) if not isinstance(s, pd.DataFrame) else "questions" for s in _source_list(questions))
        raise InputError(f"{names}: no intent column to compare with (looked for Intent, Intents, Search intent, Intention); "
                         "give a keyword-tool export with its Intent column, or drop --compare-intent")
    match_model, match_source = match_model_for(m.meta.get("embedder"))
    if match_model is None:
        raise InputError("no match model on record (contentplan/data/match_model.json is missing); "
                         "reinstall contentplan, or run 'contentplan dev calibrate-match'")
    threshold = float(match_threshold) if match_threshold is not None else match_model.threshold(match_precision)

    # --- content: classify passage by passage, detect format, keep passage vectors for matching
    say(f"classifying {len(inv)} content pieces")
    langs_c = _content_langs(inv)
    docs = m.documents(list(zip(inv.title, inv.body)), langs_c, urls=inv.url.tolist())
    c_proba = np.vstack([d.proba for d in docs]) if docs else np.zeros((0, len(model_labels())))
    # The same decision as classify and tag: abstention threshold, 'none' for pages on no journey.
    c_dec = sch.decide(c_proba, m.min_confidence)
    content = pd.DataFrame({
        "title": inv.title, "url": inv.url, "lang": langs_c,
        "stage": c_dec.stage,
        "confidence": np.round(c_dec.confidence, 4),
        "canonical_stage": c_dec.canonical,
    })
    content["stage_mix"] = [sch.stage_mix(d.passage_labels) for d in docs]
    fmts, fsrc = content_formats(inv)
    content["format"] = fmts
    content["format_source"] = fsrc
    content["format_fits_stage"] = [c in formats()[f].stages for f, c in zip(fmts, content.canonical_stage)]

    # --- questions: classify, with the vectors kept for matching and personas
    say(f"classifying {len(qs)} questions")
    q_texts = qs.question.tolist()
    q_vec = m.embed(q_texts)
    q_proba = m.short_proba(q_texts, q_vec)
    q_dec = sch.decide(q_proba, m.min_confidence)
    qdf = pd.DataFrame({
        "question": q_texts, "lang": [detect_lang(t) for t in q_texts],
        "stage": q_dec.stage,
        "confidence": np.round(q_dec.confidence, 4),
        "canonical_stage": q_dec.canonical,
        "volume": qs.volume, "weight": qs.weight, "source": qs.source, "date": qs.date})

    # --- personas: declared values win, otherwise the closest profile (or unassigned)
    if plist:
        matcher = PersonaMatcher(plist, m.embed if q_vec is not None else lexical_embed, **(
            {"threshold": persona_threshold} if persona_threshold is not None else {}))
        declared_q = [normalise_persona(v, plist) for v in qs.persona]
        inferred_q, _ = matcher.assign(q_texts, q_vec)
        qdf["persona"] = [d or i for d, i in zip(declared_q, inferred_q)]
        qdf["persona_source"] = ["declared" if d else "inferred" for d in declared_q]
        declared_c = [declared_personas(v, plist) for v in inv.persona]
        c_text = [f"{t}. {b[:1500]}" for t, b in zip(inv.title, inv.body)]
        # Content is matched to personas with the vectors its passages already have (no re-embedding).
        c_vec = np.vstack([doc_vector(d) for d in docs]) if docs and q_vec is not None and all(d.vectors is not None for d in docs) else None
        # A piece serves every persona it declares, else every persona whose score clears the threshold.
        inferred_c = matcher.assign_all(c_text, c_vec)
        c_personas = [d or i for d, i in zip(declared_c, inferred_c)]
        content["persona"] = [ps[0] for ps in c_personas]
        content["personas"] = ["; ".join(ps) for ps in c_personas]
        content["persona_source"] = ["declared" if d else "inferred" for d in declared_c]
    else:
        qdf["persona"] = ALL_PERSONAS
        qdf["persona_source"] = ""
        content["persona"] = ALL_PERSONAS
        content["personas"] = ALL_PERSONAS
        content["persona_source"] = ""

    # --- matching: best passage per question (cross-lingual)
    say("matching questions to content pages")
    # An n-gram-only model has no embeddings: questions and pages are compared with lexical vectors.
    match_vec = q_vec if q_vec is not None else lexical_embed(q_texts)
    if q_vec is not None:
        page_vecs = [d.vectors for d in docs]
    else:
        page_vecs = list(lexical_embed([f"{t}. {b}" for t, b in zip(inv.title, inv.body)])[:, None, :]) if len(inv) else []
    serves = np.zeros_like(c_proba)
    labels = model_labels()
    for k, f in enumerate(fmts):
        for st in formats()[f].stages:
            serves[k, labels.index(st)] = 1.0
    index = build_index(inv.title.tolist(), inv.body.tolist(), inv.url.tolist(),
                        [d.passages or [t] for d, t in zip(docs, inv.title)], page_vecs, c_proba, serves, langs_c)
    res = match_questions(index, q_texts, match_vec, q_proba, match_model, q_lang=qdf.lang.tolist())
    best_piece = res.best_page
    found = best_piece >= 0
    qdf["similarity"] = np.round(res.cos, 4)
    qdf["match_score"] = np.round(np.where(found, res.score, 0.0), 4)
    qdf["p_answered"] = np.round(np.where(found, res.p_answered, 0.0), 4)
    qdf["answered"] = found & (qdf.p_answered.to_numpy() >= threshold)
    qdf["best_match"] = np.where(found, inv.title.to_numpy(dtype=object)[np.maximum(best_piece, 0)], "") if len(inv) else ""
    qdf["best_match_url"] = np.where(found, inv.url.to_numpy(dtype=object)[np.maximum(best_piece, 0)], "") if len(inv) else ""
    c_stage = content.stage.to_numpy(dtype=object)
    qdf["best_match_stage"] = np.where(found, c_stage[np.maximum(best_piece, 0)], "") if len(inv) else ""
    # The best page may serve another stage than the question's: the match is kept, the mismatch said.
    qdf["stage_mismatch"] = found & (qdf.best_match_stage.to_numpy(dtype=object) != qdf.stage.to_numpy(dtype=object))
    qdf["match_terms"] = res.terms
    qdf["match_passage"] = res.passage
    qdf["best_match_lang"] = [langs_c[i] if i >= 0 else "" for i in best_piece]
    qdf["cross_lingual"] = [bool(i >= 0 and a and langs_c[i] != l) for i, l, a in zip(best_piece, qdf.lang, qdf.answered)]
    content["best_question_similarity"] = np.round(res.reach, 4)
    answered_by = best_piece[qdf.answered.to_numpy() & (best_piece >= 0)]
    content["questions_answered"] = np.bincount(answered_by, minlength=len(inv)).astype(int) if len(inv) else []

    # --- cells
    personas_axis = [p.id for p in plist] + ([UNASSIGNED] if plist else []) if plist else [ALL_PERSONAS]
    gaps = _cells(qdf, content, sch, personas_axis)

    # --- unanswered questions -> topics -> briefs
    say("clustering unanswered questions into topics")
    qdf["topic"] = ""
    lang = lang or dominant_lang(qdf.lang)
    briefs = _briefs(qdf, match_vec, sch, gaps, content, docs, threshold, plist, lang)
    # Over-served: pieces that answer no question at all (off-topic, or a stage nobody asks about).
    over = content[content.questions_answered == 0][["title", "url", "stage", "persona", "format", "best_question_similarity"]]
    over = over.sort_values("best_question_similarity", kind="stable").reset_index(drop=True)
    mism = _format_mismatches(content, sch)
    total_w = float(qdf.weight[_counted(qdf)].sum()) or 1.0
    meta = {
        "generated": _dt.date.today().isoformat(), "scheme": sch.name, "model": str(m.path or "in-memory"),
        "embedder": m.meta.get("embedder"), "match_threshold": threshold,
        "match_precision": None if match_threshold is not None else match_precision,
        "match_heldout": None if match_threshold is not None else match_model.info.get("heldout", {}).get(match_precision),
        "match_threshold_source": "given" if match_threshold is not None else match_source,
        "stage_mismatches": int((qdf.answered & qdf.stage_mismatch).sum()),
        "n_questions": int(len(qdf)), "n_content": int(len(content)), "volume_weighted": bool(qs.has_volume.iloc[0]) if len(qs) else False,
        "answered_share": float(qdf.weight[qdf.answered & _counted(qdf)].sum()) / total_w,
        "personas": [p.id for p in plist], "cross_lingual_answers": int(qdf.cross_lingual.sum()),
        # What the cells leave out, said rather than dropped silently.
        "not_counted": {"questions_unclear": int((qdf.stage == UNCLEAR).sum()), "questions_none": int((qdf.stage == NONE).sum()),
                        "content_unclear": int((content.stage == UNCLEAR).sum()), "content_none": int((content.stage == NONE).sum())},
    }
    qdf = qdf.drop(columns=["weight"])
    qdf["mentions"] = qs.mentions.to_numpy()
    # Every input column is kept, after the report's own columns (never two names equal but for case).
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
        from ..domain.intent import intent_agreement
        meta["intent_agreement"] = intent_agreement(qdf.input_intent.tolist(), qdf.canonical_stage.tolist(),
                                                    qdf.stage.tolist(), qdf.question.tolist())
    return GapReport(sch, gaps, briefs, qdf, content, over, mism, meta, personas=plist, lang=lang)


def _content_langs(inv: pd.DataFrame) -> list[str]:
    """Each piece's declared language (fr/en), else the detected one, remembered in the on-disk cache
    (a re-run over the same content reads it back instead of scanning every body again)."""
    langs = [l if l in ("fr", "en") else None for l in inv["lang"]]
    todo = [i for i, l in enumerate(langs) if l is None]
    if not todo:
        return langs
    from ..model.embedders import cache_store, row_cache_enabled
    texts = [f"{inv.title.iat[i]} {inv.body.iat[i]}" for i in todo]
    cache = cache_store() if row_cache_enabled() else None
    codes = ("fr", "en", "other")
    hits = cache.get_many("lang-v1", texts, 1) if cache else {}
    new = {}
    for k, i in enumerate(todo):
        if k in hits and 0 <= int(hits[k][0]) < len(codes):
            langs[i] = codes[int(hits[k][0])]
        else:
            langs[i] = detect_lang(texts[k])
            new[k] = codes.index(langs[i])
    if cache and new:
        cache.put_many("lang-v1", [texts[k] for k in new], np.array([[v] for v in new.values()], dtype=np.float32))
    return langs


def _counted(qdf: pd.DataFrame) -> pd.Series:
    """Questions that count as demand: those with a stage (not 'unclear', not on a journey)."""
    return ~qdf.stage.isin((UNCLEAR, NONE))


def _cells(qdf: pd.DataFrame, content: pd.DataFrame, sch: Scheme, personas_axis: list[str]) -> pd.DataFrame:
    total = float(qdf.weight[_counted(qdf)].sum()) or 1.0
    rows = []
    # A piece counts in the cell of each persona it serves (multi-label), not only its first one.
    served = [set(str(v).split("; ")) for v in (content["personas"] if "personas" in content else content.persona)]
    for st in sch.stages:
        rec = list(st.formats)
        for p in personas_axis:
            qm = (qdf.stage == st.id) & (qdf.persona == p)
            cm = (content.stage == st.id) & np.array([p in s for s in served], dtype=bool)
            demand = float(qdf.weight[qm].sum())
            answered = float(qdf.weight[qm & qdf.answered].sum())
            present = sorted(set(content.format[cm]))
            coverage = answered / demand if demand else float("nan")  # no demand: coverage is undefined
            rows.append({
                "stage": st.id, "persona": p, "questions": int(qm.sum()), "demand": round(demand, 2),
                "demand_share": round(demand / total, 4), "supply": int(cm.sum()),
                "answered_demand": round(answered, 2), "coverage": round(coverage, 4),
                "gap_score": round((demand - answered) / total, 4),   # a share of all demand, like coverage
                "formats_present": ", ".join(present),
                "formats_recommended": ", ".join(rec),
                "formats_missing": ", ".join(f for f in rec if f not in present),
            })
    out = pd.DataFrame(rows)
    order = {s: i for i, s in enumerate(sch.ids)}
    out["_o"] = out.stage.map(order)
    out = out.sort_values(["gap_score", "demand", "_o", "persona"], ascending=[False, False, True, True], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def _terms(text: str) -> list[str]:
    toks = [t for t in re.findall(r"[^\W\d_][\w'’-]*", text.lower()) if len(t) > 1]
    toks = [t.replace("’", "'").split("'")[-1] for t in toks]
    toks = [t for t in toks if t and t not in _STOP and len(t) > 2]
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def _cluster(vecs: np.ndarray, distance: float = 0.75) -> np.ndarray:
    """Average-linkage clusters (cosine) merged below ``distance``, labelled in order of their first
    member. scipy's linkage is what scikit-learn's AgglomerativeClustering runs here, and cutting the
    tree at merges < ``distance`` is its ``distance_threshold`` rule; scikit-learn (~1 s to import)
    is only needed for cells over 3,000 questions (MiniBatchKMeans, bounded memory)."""
    n = len(vecs)
    if n == 1:
        return np.zeros(1, dtype=int)
    if n > 3000:  # keep memory bounded on huge cells
        from sklearn.cluster import MiniBatchKMeans
        k = max(2, n // 15)
        return MiniBatchKMeans(n_clusters=k, random_state=0, n_init=3, batch_size=2048).fit_predict(vecs)
    from scipy.cluster.hierarchy import fcluster, linkage
    z = linkage(np.asarray(vecs, dtype=np.float64), method="average", metric="cosine")
    flat = fcluster(z, t=np.nextafter(distance, -np.inf), criterion="distance")   # merged only below distance
    _, first = np.unique(flat, return_index=True)
    rank = np.empty(flat.max() + 1, dtype=int)
    rank[flat[np.sort(first)]] = np.arange(len(first))
    return rank[flat]


_URLISH = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|fr|io|net|org|eu|co|be|ch|ca|example)\b|/", re.IGNORECASE)
MERGE_SIMILARITY = 0.8   # two topics of one stage whose centroids are this close are one brief


def _content_words(text: str) -> list[str]:
    return [w for w in _terms(text) if " " not in w]


def _readability(q: str) -> float:
    """How well a question reads as a topic label, from -1 (a URL, or no word that says anything)
    to about 1 (a few content words, few SMS-style fragments such as "c koi")."""
    words = re.findall(r"[^\W\d_][\w'’-]*", q)
    if not words or _URLISH.search(q) or len(_content_words(q)) < 2:
        return -1.0
    short = sum(len(w) <= 2 and w.lower() not in _STOP for w in words) / len(words)
    return min(len(_content_words(q)), 4) / 4 - short - (0.3 if len(words) > 16 else 0.0)


def _phrase(q: str, limit: int = 90) -> str:
    """A question as a label: one line, no surrounding punctuation, a capital first letter, cut at a word."""
    s = re.sub(r"\s+", " ", q).strip().strip("?!.,;:…\"'«»“” ").strip()
    if len(s) > limit:
        s = s[:limit].rsplit(" ", 1)[0].rstrip(",;:-") + "…"
    return s[:1].upper() + s[1:]


def topic_label(questions: list[str], centrality: np.ndarray, langs: list[str], lang: str = "en") -> str:
    """A readable label for a topic: its most central question that reads well, in the topic's main
    language, as a phrase; never a word bag. A topic made only of URLs or bare names (a brand, a site)
    is labelled as such, with its most frequent query."""
    main = Counter(x for x in langs if x in ("fr", "en")).most_common(1)
    main = main[0][0] if main else None
    scored = []
    for q, c, lg in zip(questions, centrality, langs):
        r = _readability(q)
        scored.append((float(c) + 0.5 * r + (0.2 if lg == main else 0.0), r, q))
    best = max(scored, key=lambda x: x[0])
    if best[1] > -1:
        return _phrase(best[2])
    from .i18n import t
    shown = _phrase(Counter(questions).most_common(1)[0][0], 60)
    return t("navigational_topic", lang, q=shown)


def brief_why(rec, lab, threshold: float) -> str:
    """Why a brief is worth writing, in the language of ``lab`` (:class:`~contentplan.i18n.Labels`):
    its unanswered demand, the cell's supply and coverage, and the closest existing piece."""
    from .i18n import fmt_num, fmt_pct, t
    lang = lab.lang
    get = rec.get if isinstance(rec, dict) else (lambda k, d=None: getattr(rec, k, d))
    out = t("why_demand", lang, n=get("n_questions"), d=fmt_num(get("demand"), lang), share=fmt_pct(get("demand_share"), lang),
            pieces=t("n_pieces", lang, n=get("cell_pieces", 0)), cov=fmt_pct(get("cell_coverage"), lang))
    title, stage = get("closest_content", ""), get("closest_content_stage", "")
    p = get("closest_p_answered", float("nan"))
    has_p = p is not None and not (isinstance(p, float) and np.isnan(p))
    if title and has_p and stage == get("stage"):
        out += " " + t("why_closest", lang, title=title, sim=fmt_num(p, lang, 2), th=fmt_num(threshold, lang, 2))
    elif title and has_p:
        out += " " + t("why_closest_other", lang, title=title, stage=lab.stage(stage), sim=fmt_num(p, lang, 2),
                       th=fmt_num(threshold, lang, 2))
    elif title:
        out += " " + t("why_other_stage", lang, title=title, stage=lab.stage(stage))
    else:
        out += " " + t("why_nothing", lang)
    return out


def _merge_topics(members: list[tuple], vecs: np.ndarray) -> list[tuple]:
    """Merge near-duplicate topics of one stage: the same persona, or one of them unassigned, and
    centroids at least :data:`MERGE_SIMILARITY` alike. The merged topic keeps the named persona."""
    cents = []
    for _, _, mem in members:
        c = vecs[mem].mean(0)
        cents.append(c / (np.linalg.norm(c) or 1.0))
    parent = list(range(len(members)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    loose = (UNASSIGNED, ALL_PERSONAS)
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            (si, pi, _), (sj, pj, _) = members[i], members[j]
            if si != sj or not (pi == pj or pi in loose or pj in loose):
                continue
            ri, rj = root(i), root(j)
            if ri == rj:
                continue
            pr, pq = members[ri][1], members[rj][1]
            if pr != pq and pr not in loose and pq not in loose:   # two named personas never share a brief
                continue
            if float(cents[i] @ cents[j]) >= MERGE_SIMILARITY:
                parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(len(members)):
        groups.setdefault(root(i), []).append(i)
    out = []
    for idx in groups.values():
        named = [members[i][1] for i in idx if members[i][1] not in loose]
        persona = named[0] if named else members[idx[0]][1]
        mem = np.array(sorted(np.concatenate([members[i][2] for i in idx])))
        out.append((members[idx[0]][0], persona, mem))
    return out


def _briefs(qdf: pd.DataFrame, vecs: np.ndarray, sch: Scheme, gaps: pd.DataFrame, content: pd.DataFrame,
            docs=(), threshold: float = DEFAULT_MATCH_THRESHOLD, personas=(), lang: str = "en",
            cluster: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    """``cluster``: labels of one cell's unanswered vectors (default :func:`_cluster`; the Dask path
    passes a bounded one, :func:`contentplan.dask_gaps.bounded_cluster`)."""
    from .i18n import Labels
    lab = Labels(sch, personas, lang)
    un = qdf.index[(~qdf.answered) & _counted(qdf)].to_numpy()
    rows = []
    members = []
    for (stage, persona), idx in qdf.loc[un].groupby(["stage", "persona"], sort=False).groups.items():
        idx = np.array(sorted(idx))
        labels = (cluster or _cluster)(vecs[idx])
        for k in sorted(set(labels)):
            members.append((stage, persona, idx[labels == k]))
    members = _merge_topics(members, vecs)
    # Each piece as one vector, to name the closest piece when a stage has none.
    has_vec = [k for k, d in enumerate(docs) if getattr(d, "vectors", None) is not None and len(d.vectors)]
    D = np.vstack([doc_vector(docs[k]) for k in has_vec]) if has_vec and vecs.shape[1] == docs[has_vec[0]].vectors.shape[1] else None
    cell = {(r.stage, r.persona): r for r in gaps.itertuples()}
    # Each question's best page as plain arrays: read once per topic, pandas indexing would dominate.
    best = {"title": qdf.best_match.to_numpy(dtype=object), "url": qdf.best_match_url.to_numpy(dtype=object),
            "stage": qdf.best_match_stage.to_numpy(dtype=object), "sim": qdf.similarity.to_numpy(dtype=float),
            "p": qdf.p_answered.to_numpy(dtype=float)}
    total = float(qdf.weight[_counted(qdf)].sum()) or 1.0
    for stage, persona, mem in members:
        demand = float(qdf.weight[mem].sum())
        centroid = vecs[mem].mean(0)
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        central = vecs[mem] @ centroid
        order = np.argsort(-central, kind="stable")
        name = topic_label(qdf.question[mem].tolist(), central, qdf.lang[mem].tolist(), lang)
        qdf.loc[mem, "topic"] = name
        reps = [qdf.question[mem[i]] for i in order[:5]]
        langs = sorted(set(qdf.lang[mem]) - {"other"})
        c = cell.get((stage, persona))
        missing = [f for f in (c.formats_missing.split(", ") if c and c.formats_missing else [])]
        rec = missing or list(sch.stage(stage).formats)
        # The closest piece: the best page of the member most likely answered (of any stage), else
        # the piece closest to the topic.
        probs = best["p"][mem]
        has = best["title"][mem] != ""
        closest = ("", "", "", float("nan"), float("nan"))
        if has.any():
            i = mem[np.flatnonzero(has)[np.argmax(probs[has])]]
            closest = (best["title"][i], best["url"][i], best["stage"][i], float(best["sim"][i]), float(best["p"][i]))
        elif D is not None:
            j = int(np.argmax(D @ centroid))
            k = has_vec[j]
            closest = (content.title.iloc[k], content.url.iloc[k], content.stage.iloc[k], round(float(D[j] @ centroid), 4),
                       float("nan"))
        row = {"topic": name, "stage": stage, "persona": persona, "recommended_formats": ", ".join(rec[:3]),
               "n_questions": int(len(mem)), "demand": round(demand, 2), "demand_share": round(demand / total, 4),
               "languages": "+".join(langs), "representative_questions": " | ".join(reps),
               "closest_content": closest[0], "closest_content_url": closest[1], "closest_content_stage": closest[2],
               "closest_similarity": closest[3], "closest_p_answered": closest[4],
               "cell_pieces": int(c.supply) if c else 0, "cell_coverage": float(c.coverage) if c else float("nan")}
        row["why"] = brief_why(row, lab, threshold)
        rows.append(row)
    cols = ["topic", "stage", "persona", "recommended_formats", "n_questions", "demand", "demand_share", "languages",
            "representative_questions", "closest_content", "closest_content_url", "closest_content_stage",
            "closest_similarity", "closest_p_answered", "cell_pieces", "cell_coverage", "why"]
    out = pd.DataFrame(rows, columns=cols)
    # A brief is worth writing when more than one question asks for it (or one with real volume).
    out = out[(out.n_questions >= 2) | (out.demand >= 50)]
    out = out.sort_values(["demand", "n_questions", "topic"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def _format_mismatches(content: pd.DataFrame, sch: Scheme) -> pd.DataFrame:
    """Stages whose pieces are written in formats that do not serve that stage."""
    rows = []
    fm = formats()
    for can in canonical_ids():
        sub = content[content.canonical_stage == can]
        if sub.empty:
            continue
        fitting = sub.format_fits_stage.sum()
        if fitting == 0 or fitting / len(sub) < 0.5:
            serve = [f for f, v in fm.items() if can in v.stages]
            rows.append({"canonical_stage": can, "stage": sch.of_canonical(can), "pieces": int(len(sub)),
                         "formats_present": ", ".join(sorted(set(sub.format))),
                         "formats_that_serve_it": ", ".join(serve),
                         "note": f"{len(sub) - int(fitting)} of {len(sub)} {can} piece(s) use a format that does not serve this stage"})
    for st in sch.stages:
        sub = content[content.stage == st.id]
        if len(sub) and not set(sub.format) & set(st.formats):
            rows.append({"canonical_stage": "", "stage": st.id, "pieces": int(len(sub)),
                         "formats_present": ", ".join(sorted(set(sub.format))),
                         "formats_that_serve_it": ", ".join(st.formats),
                         "note": f"no piece of stage {st.id} uses a recommended format"})
    return pd.DataFrame(rows, columns=["canonical_stage", "stage", "pieces", "formats_present", "formats_that_serve_it", "note"])


# The steps the Dask gap report (contentplan.dask.gap_report) runs on the client, by public names.
read_content_sources = _read_content
read_question_sources = _read_question_sources
content_langs = _content_langs
counted = _counted
cells = _cells
briefs = _briefs
format_mismatches = _format_mismatches
cluster = _cluster
