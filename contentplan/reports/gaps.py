"""Gap report: demand (questions) versus supply (content) per stage x persona, unanswered questions
clustered into topics, briefs for what to write next, over-served topics and format mismatches.

Pipeline (:func:`gap_report`, one function per step): read (:mod:`contentplan.inputs`) -> classify
questions and content with the same model and the scheme's one decision -> assign personas
(declared or inferred, :func:`~contentplan.domain.personas.assign_personas`) -> match each question
to its best page (:mod:`contentplan.match`) -> aggregate per stage x persona cell -> cluster
unanswered questions into topics -> rank briefs.
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

from ..domain.personas import (
    UNASSIGNED,
    Persona,
    PersonaMatcher,
    assign_personas,
    load_personas,
)
from ..domain.schemes import (
    DEFAULT_SCHEME,
    NONE,
    UNCLEAR,
    Scheme,
    canonical_ids,
    formats,
    load_scheme,
    model_labels,
)
from ..errors import InputError
from ..inputs import (
    content_formats,
    content_langs,
    detected_langs,
    read_content_carry,
    read_questions_carry,
    source_list,
)
from ..io.encoding import display_name
from ..io.tables import carried_names
from ..match import (
    DEFAULT_MATCH_THRESHOLD,
    DEFAULT_PRECISION,
    build_index,
    doc_vector,
    doc_vectors,
    lexical_embed,
    match_model_for,
)
from ..model.pipeline import JourneyModel
from ..stopwords import STOP_WORDS as _STOP
from .warm import cached_labels, index_fingerprint, match_questions_cached

ALL_PERSONAS = "all"

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
        """Write the report folder (see :func:`contentplan.reports.render.write_report`)."""
        from .render import write_report
        return write_report(self, out_dir, csv_safe=csv_safe, csv_dialect=csv_dialect, lang=lang)


# ----------------------------------------------------------------------------- main entry

def gap_report(content, questions, personas=None, scheme: str | Scheme = DEFAULT_SCHEME,
               model: str | Path | JourneyModel | None = None, match_threshold: float | None = None,
               persona_threshold: float | None = None, text_column: str | None = None,
               progress: Callable[[str], None] | None = None, compare_intent: bool = False, fetch=None,
               lang: str | None = None, match_precision: str = DEFAULT_PRECISION) -> GapReport:
    """Build a gap report: read -> classify -> personas -> match -> cells -> briefs (one step each below).

    Args:
        content: inventory table path, document or folder path, or DataFrame.
        questions: table or text file path, or DataFrame, or a list of them (several sources,
            merged: see :func:`contentplan.inputs.read_questions_carry` for how demand is counted).
        personas: personas YAML path or list of Persona (None: report per stage only).
        scheme: built-in scheme name or scheme YAML path.
        model: model folder or loaded model (default: the shipped model).
        match_threshold: P(answered) at or above which a question counts as answered (default: the
            calibrated operating point of ``match_precision``).
        match_precision: 'high', 'balanced' or 'recall': the operating point on the fitted
            precision/recall curve of "answered" (see :mod:`contentplan.match`).
        compare_intent: compare the questions' input intent (a keyword tool's Intent column) with
            their stage (``report.intent_lines()``); an error when no question file has one.
        fetch: :class:`~contentplan.io.fetch.FetchOptions` to fetch the pages of a sitemap given as
            ``content`` (politely: see :mod:`contentplan.io.fetch`); None reads it offline.
        lang: language of the report's words, display names, numbers and dates ('fr' or 'en');
            None: the questions' dominant language.
    """
    from .i18n import check_lang, dominant_lang
    check_lang(lang)
    say = progress or (lambda msg: None)
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    plist: list[Persona] = load_personas(personas) if isinstance(personas, (str, Path)) else list(personas or [])
    inv, c_carry, qs, q_carry = _read(content, questions, text_column, compare_intent, fetch)
    match_model, match_source, threshold = match_setup(m, match_threshold, match_precision)

    say(f"classifying {len(inv)} content pieces")
    content, docs, c_proba = _classify_content(m, sch, inv)
    say(f"classifying {len(qs)} questions")
    qdf, q_vec, q_proba = _classify_questions(m, sch, qs)
    _personas(qdf, content, qs, inv, docs, plist, m, q_vec, persona_threshold)
    say("matching questions to content pages")
    match_vec = _match(qdf, content, inv, docs, c_proba, q_vec, q_proba, match_model, threshold, m)
    personas_axis = [p.id for p in plist] + ([UNASSIGNED] if plist else []) if plist else [ALL_PERSONAS]
    gaps = _cells(qdf, content, sch, personas_axis)
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
    qdf, content, meta["renamed_columns"] = _carry(qdf, q_carry, content, c_carry)
    if compare_intent:
        from ..domain.intent import intent_agreement
        meta["intent_agreement"] = intent_agreement(qdf.input_intent.tolist(), qdf.canonical_stage.tolist(),
                                                    qdf.stage.tolist(), qdf.question.tolist())
    return GapReport(sch, gaps, briefs, qdf, content, over, mism, meta, personas=plist, lang=lang)


def _read(content, questions, text_column, compare_intent: bool, fetch):
    """Read step: (inventory, its carried columns, questions, their carried columns)."""
    inv, c_carry = read_content_carry(content, fetch=fetch)
    qs, q_carry = read_questions_carry(questions, text_column)
    if compare_intent and "\x00intent" not in q_carry.columns:
        names = ", ".join(display_name(s) if not isinstance(s, pd.DataFrame) else "questions" for s in source_list(questions))
        raise InputError(f"{names}: no intent column to compare with (looked for Intent, Intents, Search intent, Intention); "
                         "give a keyword-tool export with its Intent column, or drop --compare-intent")
    return inv, c_carry, qs, q_carry



def match_setup(m: JourneyModel, match_threshold: float | None, match_precision: str):
    """(match model, where it comes from, the P(answered) threshold): ``match_threshold`` when given,
    else the model's operating point for ``match_precision``."""
    match_model, match_source = match_model_for(m.meta.get("embedder"))
    if match_model is None:
        raise InputError("no match model on record (contentplan/data/match_model.json is missing); "
                         "reinstall contentplan, or run 'contentplan dev calibrate-match'")
    threshold = float(match_threshold) if match_threshold is not None else match_model.threshold(match_precision)
    return match_model, match_source, threshold


def page_index(content: pd.DataFrame, inv: pd.DataFrame, docs, c_proba: np.ndarray, embeds: bool):
    """The match index of the classified content (passages and their vectors, or lexical vectors of
    the whole page for an n-gram-only model; stage probabilities; the stages each format serves)."""
    if embeds:
        page_vecs = [d.vectors for d in docs]
    else:
        page_vecs = list(lexical_embed([f"{t}. {b}" for t, b in zip(inv.title, inv.body)])[:, None, :]) if len(inv) else []
    serves = np.zeros_like(c_proba)
    labels = model_labels()
    for k, f in enumerate(content.format):
        for st in formats()[f].stages:
            serves[k, labels.index(st)] = 1.0
    return build_index(inv.title.tolist(), inv.body.tolist(), inv.url.tolist(),
                       [d.passages or [t] for d, t in zip(docs, inv.title)], page_vecs, c_proba, serves, content.lang.tolist())

def _classify_content(m: JourneyModel, sch: Scheme, inv: pd.DataFrame):
    """Classify step for content: passage by passage, with the scheme's one decision (abstention,
    'none' for pages on no journey), the stage mix and the format; the passage vectors are kept in
    ``docs`` for matching. Returns (content, docs, canonical probabilities)."""
    langs_c = content_langs(inv)
    docs = m.documents(list(zip(inv.title, inv.body)), urls=inv.url.tolist())
    c_proba = np.vstack([d.proba for d in docs]) if docs else np.zeros((0, len(model_labels())))
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
    return content, docs, c_proba


def _classify_questions(m: JourneyModel, sch: Scheme, qs: pd.DataFrame):
    """Classify step for questions, with the same decision; returns (questions, vectors, probabilities)."""
    q_texts = qs.question.tolist()
    q_vec = m.embed(q_texts)
    q_proba = m.short_proba(q_texts, q_vec)
    q_dec = sch.decide(q_proba, m.min_confidence)
    qdf = pd.DataFrame({
        "question": q_texts, "lang": detected_langs(q_texts),
        "stage": q_dec.stage,
        "confidence": np.round(q_dec.confidence, 4),
        "canonical_stage": q_dec.canonical,
        "volume": qs.volume, "weight": qs.weight, "source": qs.source, "date": qs.date})
    return qdf, q_vec, q_proba


def _personas(qdf, content, qs, inv, docs, plist: list[Persona], m: JourneyModel, q_vec, persona_threshold) -> None:
    """Persona step (columns added in place): declared or inferred, by :func:`assign_personas`; a
    question has one persona, a piece every persona it declares or whose score clears the threshold."""
    if not plist:
        qdf["persona"] = ALL_PERSONAS
        qdf["persona_source"] = ""
        content["persona"] = ALL_PERSONAS
        content["personas"] = ALL_PERSONAS
        content["persona_source"] = ""
        return
    matcher = PersonaMatcher(plist, m.embed if q_vec is not None else lexical_embed, **(
        {"threshold": persona_threshold} if persona_threshold is not None else {}))
    qdf["persona"], qdf["persona_source"] = assign_personas(qs.persona, qdf.question, plist, matcher, q_vec)
    content_personas(content, inv, docs, plist, matcher, embeds=q_vec is not None)


def content_personas(content, inv, docs, plist: list[Persona], matcher: PersonaMatcher, embeds: bool) -> None:
    """Content's personas (columns added in place): every persona a piece declares, else every one
    whose score clears the matcher's threshold, by :func:`assign_personas` (multi-label)."""
    c_text = [f"{t}. {b[:1500]}" for t, b in zip(inv.title, inv.body)]
    # Content is matched to personas with the vectors its passages already have (no re-embedding).
    c_vec = doc_vectors(docs) if embeds else None
    c_personas, c_source = assign_personas(inv.persona, c_text, plist, matcher, c_vec, multi=True)
    content["persona"] = [ps[0] for ps in c_personas]
    content["personas"] = ["; ".join(ps) for ps in c_personas]
    content["persona_source"] = c_source


def _match(qdf, content, inv, docs, c_proba, q_vec, q_proba, match_model, threshold: float,
           model: JourneyModel | None = None) -> np.ndarray:
    """Match step (columns added in place): each question's best page of any stage by
    :func:`contentplan.match.match_questions`, P(answered) and whether it clears ``threshold``; each
    page's reach and the questions it answers. Returns the question vectors the matching used."""
    q_texts = qdf.question.tolist()
    langs_c = content.lang.tolist()
    # An n-gram-only model has no embeddings: questions and pages are compared with lexical vectors.
    match_vec = q_vec if q_vec is not None else lexical_embed(q_texts)
    embeds = q_vec is not None
    # A re-run over the same inventory reads each question's match back from the cache (see warm.py);
    # the index is only built when some question must be matched.
    model_key = f"{model.fingerprint}\x00{model.meta.get('embedder')}" if model is not None and model.fingerprint else None
    fingerprint = index_fingerprint(inv, content, docs, c_proba, embeds, match_model, model_key)
    res = match_questions_cached(lambda: page_index(content, inv, docs, c_proba, embeds=embeds), fingerprint, len(inv),
                                 q_texts, match_vec, q_proba, match_model, q_lang=qdf.lang.tolist(),
                                 by_model=model_key is not None)
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
    return match_vec


def _carry(qdf, q_carry, content, c_carry):
    """Every input column kept, after the report's own columns (never two names equal but for case);
    returns (questions, content, the columns renamed per file)."""
    q_names = [c.removeprefix("\x00") for c in q_carry.columns]
    fixed = {c: ("input_intent" if c == "\x00intent" else c[1:]) for c in q_carry.columns if c.startswith("\x00")}
    q_out = carried_names(list(q_carry.columns), list(qdf.columns), fixed)
    c_out = carried_names(list(c_carry.columns), list(content.columns))
    renamed = {
        "questions.csv": [f"{o} -> {n}" for o, c, n in zip(q_names, q_carry.columns, q_out) if c not in fixed and o != n],
        "content.csv": [f"{o} -> {n}" for o, n in zip(c_carry.columns, c_out) if o != n]}
    qdf = pd.concat([qdf, q_carry.set_axis(q_out, axis=1).reset_index(drop=True)], axis=1)
    content = pd.concat([content.reset_index(drop=True), c_carry.set_axis(c_out, axis=1).reset_index(drop=True)], axis=1)
    return qdf, content, renamed


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
        # One k-means++ start, not three: on a cell of 8,491 questions the best of three starts had
        # 0.8 % less inertia than one start, less than two seeds of best-of-three differ from each
        # other (0.9 %), for twice the time (6.0 s against 2.8 s); on 3,064, one start had 0.2 % less.
        return MiniBatchKMeans(n_clusters=k, random_state=0, n_init=1, batch_size=2048).fit_predict(vecs)
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
    """Why a brief is worth writing, in the language of ``lab`` (:class:`~contentplan.reports.i18n.Labels`):
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
        # A re-run reads an unchanged cell's topics back from the cache (no scikit-learn import, no clustering).
        labels = cluster(vecs[idx]) if cluster else cached_labels(vecs[idx], _cluster, __file__)
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
    # The questions' columns as plain arrays too (row positions: ``mem`` indexes ``vecs`` the same way).
    q_text = qdf.question.to_numpy(dtype=object)
    q_lang = qdf.lang.to_numpy(dtype=object)
    q_weight = qdf.weight.to_numpy(dtype=float)
    topics = qdf.topic.to_numpy(dtype=object).copy()
    for stage, persona, mem in members:
        demand = float(np.nansum(q_weight[mem]))   # as pandas sums: NaN skipped
        centroid = vecs[mem].mean(0)
        centroid = centroid / (np.linalg.norm(centroid) or 1.0)
        # Rounded: two questions equally central (a 2-question topic) tie exactly, and the first in row
        # order names the topic, whatever float noise the engine's batching leaves (~1e-7).
        central = np.round(vecs[mem] @ centroid, 4)
        order = np.argsort(-central, kind="stable")
        name = topic_label(q_text[mem].tolist(), central, q_lang[mem].tolist(), lang)
        topics[mem] = name
        reps = [q_text[mem[i]] for i in order[:5]]
        langs = sorted(set(q_lang[mem]) - {"other"})
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
    qdf["topic"] = topics
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
classify_content = _classify_content
counted = _counted
cells = _cells
briefs = _briefs
format_mismatches = _format_mismatches
cluster = _cluster
