"""The real-page pair set (``corpora/matching/real/``) read against the pages it refers to
(``../shared/realtext/pages/<file>``, by row id: the page text never enters the repository), turned
into what :mod:`contentplan.match` fits and is measured on.

One site (one pages file) is one inventory: a question is matched against every page of its file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import json

import numpy as np
import pandas as pd

from ..errors import InputError
from ..match import PageIndex, build_index, encode_queries, features, tokens

REAL_DIR = Path("corpora/matching/real")


@dataclass
class PairSet:
    questions: pd.DataFrame          # qid, file, lang, kind, written_from, split, question
    answering: dict                  # qid -> set of page ids judged to answer it


def _read_csvs(d: Path, names: tuple[str, ...], what: str) -> list[pd.DataFrame]:
    """The named CSV files of folder ``d`` as text frames; a missing one is a one-line InputError."""
    for name in names:
        if not (d / name).exists():
            raise InputError(f"{d / name}: not found; {what} is {' + '.join(names)} in {d}")
    return [pd.read_csv(d / name, dtype=str, keep_default_na=False) for name in names]


def read_pair_set(real_dir: str | Path = REAL_DIR) -> PairSet:
    """Read questions.csv and judgments.csv (answered = adjudicated label)."""
    d = Path(real_dir)
    q, j = _read_csvs(d, ("questions.csv", "judgments.csv"), "the real-page pair set")
    need_q = {"qid", "file", "lang", "split", "question"}
    need_j = {"qid", "page_id", "answered"}
    for frame, need, name in ((q, need_q, "questions.csv"), (j, need_j, "judgments.csv")):
        _need_columns(frame, need, d / name)
    yes = j[j.answered.str.strip().str.lower().isin(("true", "1", "yes"))]
    answering = {qid: set() for qid in q.qid}
    for qid, pid in zip(yes.qid, yes.page_id):
        answering.setdefault(qid, set()).add(pid)
    twins = read_translations(d)
    if twins:
        # A page's translation on the same site answers what the page answers, unless the two passes
        # judged that translation for this question themselves (pooling often left it unjudged).
        judged = set(zip(j.qid, j.page_id))
        site = dict(zip(q.qid, q.file))
        for qid, pages in answering.items():
            other = [twins.get((site.get(qid), p)) for p in pages]
            pages |= {t for t in other if t is not None and (qid, t) not in judged}
    return PairSet(q, answering)


def _need_columns(frame: pd.DataFrame, need: set, path: Path) -> None:
    if need - set(frame.columns):
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(need - set(frame.columns)))}")


TRANSLATIONS = "translations.csv"


def read_translations(real_dir: str | Path = REAL_DIR) -> dict:
    """(pages file, page id) -> the id of its other-language version on that site, from
    ``translations.csv`` (pairs both passes called a translation, or adjudicated so); {} when the
    file is absent."""
    path = Path(real_dir) / TRANSLATIONS
    if not path.exists():
        return {}
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    _need_columns(t, {"file", "page_en", "page_fr", "translation"}, path)
    t = t[t.translation.str.strip().str.lower() == "yes"]
    out = {}
    for f, en, fr in zip(t.file, t.page_en, t.page_fr):
        for a, b in ((en, fr), (fr, en)):
            if out.get((f, a), b) != b:
                raise InputError(f"{path}: page {a} has two translations ({out[(f, a)]}, {b}); keep one pair per page")
            out[(f, a)] = b
    return out


@dataclass
class Site:
    file: str
    ids: list[str]
    langs: list[str]
    index: PageIndex


def page_slug(source: str) -> str:
    """The path part of a realtext ``source`` (owner/repo@commit:path), the page's URL-like slug."""
    return source.split(":", 1)[1] if ":" in str(source) else str(source)


def load_site(pages_file: str | Path, model) -> Site:
    """Classify and index every page of one realtext pages file with ``model`` (a JourneyModel)."""
    d = pd.read_csv(pages_file, dtype=str, keep_default_na=False)
    titles = d.title.tolist()
    bodies = [t[len(ti) + 2:] if t.startswith(ti + ". ") else t for t, ti in zip(d.text, titles)]
    return index_site(Path(pages_file).name, d.id.tolist(), titles, bodies, [page_slug(s) for s in d.source],
                      d.lang.tolist(), model)


def index_site(name: str, ids: list[str], titles: list[str], bodies: list[str], urls: list[str], langs: list[str],
               model) -> Site:
    """Classify and index pages as the gap report does (passages, vectors, stage, format)."""
    from ..domain.formats import detect_format
    from ..domain.schemes import formats, model_labels
    docs = model.documents(list(zip(titles, bodies)), urls=urls)
    proba = np.vstack([doc.proba for doc in docs])
    labels = model_labels()
    fm = formats()
    serves = np.zeros_like(proba)
    for k, (t, b, u) in enumerate(zip(titles, bodies, urls)):
        f, _ = detect_format(t, b, u)
        for st in fm[f].stages:
            serves[k, labels.index(st)] = 1.0
    vectors = [doc.vectors for doc in docs] if model.estimator.embedder else None
    index = build_index(titles, bodies, urls, [doc.passages or [t] for doc, t in zip(docs, titles)], vectors, proba, serves,
                        langs)
    return Site(name, list(ids), list(langs), index)


def question_arrays(model, questions: list[str]):
    """(embeddings or None, stage probabilities, detected languages) of questions, as the gap report
    computes them."""
    from ..model.lang import detect_lang
    vec = model.embed(questions)
    return vec, model.short_proba(questions, vec), [detect_lang(q) for q in questions]


def site_features(site: Site, questions: list[str], q_vec, q_proba, q_lang=None) -> np.ndarray:
    """(n_q, pages, features) for questions of one site."""
    return features(site.index, encode_queries(site.index, [tokens(q) for q in questions], q_vec, q_proba, q_lang,
                                               texts=list(questions)))[0]


def fit_groups(pairs_dir: str | Path, pages_dir: str | Path, model, split: str = "fit") -> list[tuple[np.ndarray, set]]:
    """(features, answering page indexes) of each question of ``split``, against all pages of its site."""
    ps = read_pair_set(pairs_dir)
    q = ps.questions[ps.questions.split == split]
    out = []
    for file, qs in q.groupby("file", sort=True):
        path = Path(pages_dir) / file
        if not path.exists():
            raise InputError(f"{path}: pages file of {len(qs)} question(s) not found; give --pages the realtext pages folder")
        site = load_site(path, model)
        texts = qs.question.tolist()
        X = site_features(site, texts, *question_arrays(model, texts))
        pos_of = {pid: k for k, pid in enumerate(site.ids)}
        for i, qid in enumerate(qs.qid):
            out.append((X[i], {pos_of[p] for p in ps.answering.get(qid, set()) if p in pos_of}))
    return out


def old_pairs_groups(pairs_file: str | Path, model) -> list[tuple[np.ndarray, set]]:
    """The hand-written pairs (``corpora/matching/pairs.jsonl``) as one small site: its distinct
    passages are the pages, a question's page answers it when the pair says so."""
    rows = [json.loads(line) for line in Path(pairs_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    pages = list(dict.fromkeys((r["title"], r["passage"]) for r in rows))
    pid = {p: k for k, p in enumerate(pages)}
    vec = model.embed([p for _, p in pages])
    proba = model.short_proba([f"{t}. {p}" for t, p in pages], None)
    page_lang = {(r["title"], r["passage"]): r.get("lang_c") for r in rows}
    index = build_index([t for t, _ in pages], [p for _, p in pages], [""] * len(pages), [[p] for _, p in pages],
                        None if vec is None else [v[None, :] for v in vec], proba, np.zeros_like(proba),
                        [page_lang[p] for p in pages])
    texts = [r["question"] for r in rows]
    X = features(index, encode_queries(index, [tokens(t) for t in texts], *question_arrays(model, texts), texts=texts))[0]
    return [(X[i], {pid[(r["title"], r["passage"])]} if r["answered"] else set()) for i, r in enumerate(rows)]


ACTION_DIR = Path("corpora/matching/actions")


def action_sites(actions_dir: str | Path = ACTION_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pages, questions) of the action-request set (``corpora/matching/actions/``: written pages of
    five small sites, and questions asking for a demo, a trial, a quote or a call, with the pages
    that answer them)."""
    d = Path(actions_dir)
    pages, qs = _read_csvs(d, ("pages.csv", "questions.csv"), "the action-request set")
    unknown = {p for a in qs.answering for p in a.split("|") if p} - set(pages.id)
    if unknown:
        raise InputError(f"{d / 'questions.csv'}: answering page(s) {', '.join(sorted(unknown))} not in pages.csv")
    return pages, qs


def action_records(model, actions_dir: str | Path = ACTION_DIR) -> list[dict]:
    """One record per question of the action-request set: its (pages, features) array against its
    own site, the answering page indexes, its split, language and text."""
    pages, qs = action_sites(actions_dir)
    out = []
    for site_name, ps in pages.groupby("site", sort=True):
        site = index_site(site_name, ps.id.tolist(), ps.title.tolist(), ps.body.tolist(), ps.url.tolist(),
                          ps.lang.tolist(), model)
        q = qs[qs.site == site_name]
        if q.empty:
            continue
        texts = q.question.tolist()
        X = site_features(site, texts, *question_arrays(model, texts))
        pos_of = {pid: k for k, pid in enumerate(site.ids)}
        for i, r in enumerate(q.itertuples()):
            out.append({"qid": r.qid, "file": f"actions:{site_name}", "split": r.split, "lang": r.lang, "question": r.question,
                        "X": X[i], "pos": {pos_of[p] for p in r.answering.split("|") if p}, "page_langs": site.langs})
    return out


def action_groups(model, split: str = "fit", actions_dir: str | Path = ACTION_DIR) -> list[tuple[np.ndarray, set]]:
    """(features, answering page indexes) of each action-request question of ``split``."""
    return [(r["X"], r["pos"]) for r in action_records(model, actions_dir) if r["split"] == split]


def heldout_figures(m, groups) -> dict:
    """hit@1 among answerable questions and "answered" precision / recall / F1 at each setting of ``m``
    (a true positive: called answered, and the best page answers)."""
    from ..match import PRECISIONS, answer_table
    A, ok = answer_table(m, groups)
    p = m.p_answered(A)
    answerable = np.array([bool(pos) for _, pos in groups])
    out = {"questions": len(groups), "answerable": int(answerable.sum()),
           "hit@1": round(float(ok[answerable].mean()), 4) if answerable.any() else None}
    for k in PRECISIONS:
        called = p >= m.thresholds[k]
        tp = int((called & ok).sum())
        prec = tp / called.sum() if called.sum() else 0.0
        rec = tp / answerable.sum() if answerable.sum() else 0.0
        out[k] = {"precision": round(float(prec), 4), "recall": round(float(rec), 4),
                  "f1": round(float(2 * prec * rec / (prec + rec)), 4) if prec + rec else 0.0}
    return out


def calibrate(pairs_dir: str | Path, pages_dir: str | Path, model, old_pairs: str | Path | None = None,
              actions_dir: str | Path | None = ""):
    """Fit the shipped match model on the fit split of the real pair set (plus the old pairs when
    given), its action check also on the fit split of the action-request set (``actions_dir``, by
    default ``actions/`` beside ``pairs_dir``; None: left out), and record its figures on the held-out splits (``info["heldout"]``:
    real pages; ``info["heldout_actions"]``)."""
    from ..match import fit_match_model
    if actions_dir == "":
        actions_dir = Path(pairs_dir).parent / "actions"
    groups = fit_groups(pairs_dir, pages_dir, model)
    if old_pairs:
        groups += old_pairs_groups(old_pairs, model)
    # The written action-request set teaches the action check alone (see fit_match_model's extra).
    m = fit_match_model(groups, extra=action_groups(model, "fit", actions_dir) if actions_dir else ())
    m.info["heldout"] = heldout_figures(m, fit_groups(pairs_dir, pages_dir, model, split="heldout"))
    if actions_dir:
        m.info["heldout_actions"] = heldout_figures(m, action_groups(model, "heldout", actions_dir))
    return m
