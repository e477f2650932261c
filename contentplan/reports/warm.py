"""What a re-run of the gap report reads back from the on-disk cache instead of computing again.

- **Matching**: each question's result against the content index (best page, score, P(answered),
  cosine, top 3, matched terms and passage), keyed by a fingerprint of everything the matcher reads
  — every page's title, body, URL, passages and their vectors, stage probabilities, stage, format
  and language, the fitted match model, and the matcher's source code — plus the question's own
  text, vector, stage probabilities and language. An unchanged inventory skips matching; one edited
  page changes the fingerprint and every question is matched again.
- **Topics**: the cluster labels of one cell's unanswered questions, keyed by their vectors and the
  clustering code (and the scikit-learn/scipy versions that run it): a re-run neither imports
  scikit-learn for a large cell nor clusters again.

The cache is the embedding cache (:mod:`contentplan.io.cache`: same folder, ``CONTENTPLAN_CACHE=off``
turns it off, its size limit applies). A result read back is the one a cold run computed, so a
warm report is byte for byte the cold one.
"""
from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import match as _match
from .. import stopwords as _stopwords
from .. import textfold as _textfold
from ..io.cache import cache_store, row_cache_enabled
from ..match import MatchModel, MatchResult, match_questions, page_reach

MATCH_NS = "match-v1"
REACH_NS = "match-reach-v1"
CLUSTER_NS = "topics-v1"


def _store():
    """The on-disk cache, or None when it is off or cannot be used (then everything is computed)."""
    if not row_cache_enabled():
        return None
    store = cache_store()
    return store if store.available() else None


class _Hash:
    """sha1 over length-prefixed parts (so that ("ab", "c") and ("a", "bc") differ)."""

    def __init__(self, *parts):
        self.h = hashlib.sha1()
        for p in parts:
            self.add(p)

    def add(self, part) -> _Hash:
        b = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        self.h.update(f"{len(b)}:".encode())
        self.h.update(b)
        return self

    def array(self, a) -> _Hash:
        """Floats as float32: what the cache stores, so that a cold run's float64 probabilities and a
        warm run's (read back from the cache as float32) give one key."""
        if a is None:
            return self.add("none")
        a = np.asarray(a)
        a = np.ascontiguousarray(a, dtype=np.float32 if a.dtype.kind == "f" else a.dtype)
        return self.add(f"{a.dtype.str}{a.shape}").add(a.tobytes())

    def hexdigest(self) -> str:
        return self.h.hexdigest()


@functools.cache
def _source_digest(*files: str) -> str:
    h = _Hash()
    for f in files:
        h.add(Path(f).read_bytes())
    return h.hexdigest()


def matcher_version() -> str:
    """A digest of the matcher's code (match.py, its word lists and its folding, and this module):
    any change to how a question is matched invalidates the cached results."""
    return _source_digest(_match.__file__, _stopwords.__file__, _textfold.__file__, __file__)


def index_fingerprint(inv, content, docs, c_proba, embeds: bool, model: MatchModel, model_key: str | None = None) -> str:
    """The fingerprint of a content index: every input of :func:`~contentplan.reports.gaps.page_index`
    (titles, bodies, URLs, passages, stage, format, language; the passage vectors and stage
    probabilities, or ``model_key``, the stage model that gives them), the match model's weights and
    operating points, and :func:`matcher_version`.

    ``model_key`` (the stage model's file digest and embedder) stands for the vectors and
    probabilities when given: a warm run reads those back from the cache as float32, so they differ
    from a cold run's in the 8th digit, and hashing them would make every re-run miss."""
    h = _Hash(MATCH_NS, matcher_version(), json.dumps(model.to_dict(), sort_keys=True), embeds, len(inv), model_key)
    for t, b, u, st, f, lg, d in zip(inv.title, inv.body, inv.url, content.stage, content.format, content.lang, docs):
        h.add(t).add(b).add(u).add(st).add(f).add(lg)
        passages = d.passages or []
        h.add(len(passages))
        for p in passages:
            h.add(p)
        if model_key is None:
            h.array(getattr(d, "vectors", None) if embeds else None)
    if model_key is None:
        h.array(c_proba)
    return h.hexdigest()


def question_keys(fingerprint: str, questions, q_vec, q_proba, q_lang, by_model: bool = False) -> list[str]:
    """One key per question: the index fingerprint and everything of the question the matcher reads
    (its text and language; its vector and stage probabilities unless ``by_model``: the fingerprint
    holds the stage model that gives them)."""
    vec = None if q_vec is None or by_model else np.asarray(q_vec)
    proba = None if q_proba is None or by_model else np.asarray(q_proba)
    keys = []
    for i, q in enumerate(questions):
        h = _Hash(fingerprint, q, "" if q_lang is None else q_lang[i])
        if not by_model:
            h.array(None if vec is None else vec[i]).array(None if proba is None else proba[i])
        keys.append(h.hexdigest())
    return keys


def _entry(res: MatchResult, i: int) -> str:
    top3 = [] if res.top3 is None else [int(x) for x in res.top3[i]]
    return json.dumps([int(res.best_page[i]), float(res.score[i]), float(res.p_answered[i]), float(res.cos[i]),
                       top3, res.terms[i], res.passage[i]], ensure_ascii=False)


def match_questions_cached(index: Callable[[], object], fingerprint: str, n_pages: int, questions: list[str],
                           q_vec, q_proba, model: MatchModel, q_lang=None, by_model: bool = False) -> MatchResult:
    """:func:`contentplan.match.match_questions`, reading back each question already matched against
    this very index (``fingerprint``: :func:`index_fingerprint`; ``by_model``: it was given the stage
    model's key); ``index()`` builds the index, only when some question must be matched. The same
    result, value for value, as matching them all."""
    store = _store()
    if store is None or not questions or not n_pages:
        return match_questions(index(), questions, q_vec, q_proba, model, q_lang=q_lang)
    keys = question_keys(fingerprint, questions, q_vec, q_proba, q_lang, by_model)
    rows: dict[int, list] = {}
    for i, raw in store.get_texts(MATCH_NS, keys).items():
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        if isinstance(rec, list) and len(rec) == 7 and -1 <= rec[0] < n_pages:
            rows[i] = rec
    reach_key = _Hash(fingerprint, *keys).hexdigest()
    raw_reach = store.get_texts(REACH_NS, [reach_key]).get(0)
    reach = np.asarray(json.loads(raw_reach), dtype=np.float64) if raw_reach else None
    if reach is not None and reach.shape != (n_pages,):
        reach = None
    todo = [i for i in range(len(questions)) if i not in rows]
    if todo or reach is None:
        idx = index()
        if todo:
            sub = match_questions(idx, [questions[i] for i in todo], None if q_vec is None else np.asarray(q_vec)[todo],
                                  None if q_proba is None else np.asarray(q_proba)[todo], model,
                                  q_lang=None if q_lang is None else [q_lang[i] for i in todo])
            new = [_entry(sub, k) for k in range(len(todo))]
            store.put_texts(MATCH_NS, [keys[i] for i in todo], new)
            for i, raw in zip(todo, new):
                rows[i] = json.loads(raw)
            # Every question matched here: the reach came on the same chunks as a single call.
            reach = sub.reach if len(todo) == len(questions) else page_reach(idx, q_vec)
        else:
            reach = page_reach(idx, q_vec)
        store.put_texts(REACH_NS, [reach_key], [json.dumps([float(x) for x in reach])])
    recs = [rows[i] for i in range(len(questions))]
    top3 = np.full((len(recs), 3), -1)
    for i, r in enumerate(recs):
        top3[i, :len(r[4])] = r[4]
    return MatchResult(np.array([r[0] for r in recs]), np.array([r[1] for r in recs], dtype=np.float64),
                       np.array([r[2] for r in recs], dtype=np.float64), np.array([r[3] for r in recs], dtype=np.float64),
                       np.asarray(reach, dtype=np.float64), [r[5] for r in recs], [r[6] for r in recs], top3)


@functools.cache
def _versions(*dists: str) -> str:
    from importlib import metadata
    out = []
    for d in dists:
        try:
            out.append(f"{d}={metadata.version(d)}")
        except metadata.PackageNotFoundError:
            out.append(f"{d}=none")
    return ",".join(out)


def cached_labels(vecs: np.ndarray, compute: Callable[[np.ndarray], np.ndarray], code_file: str) -> np.ndarray:
    """``compute(vecs)`` (cluster labels), read back when these very vectors were clustered by the same
    code (``code_file``, the module that holds ``compute``) and the same scipy and scikit-learn."""
    store = _store()
    if store is None or len(vecs) < 2:
        return compute(vecs)
    key = _Hash(CLUSTER_NS, _source_digest(code_file), _versions("numpy", "scipy", "scikit-learn"),
                getattr(compute, "__qualname__", repr(compute))).array(np.asarray(vecs)).hexdigest()
    raw = store.get_texts(CLUSTER_NS, [key]).get(0)
    if raw:
        try:
            rec = json.loads(raw)
            labels = np.asarray(rec["labels"], dtype=np.dtype(rec["dtype"]))
            if labels.shape == (len(vecs),) and labels.dtype.kind in "iu":
                return labels
        except (ValueError, TypeError, KeyError):
            pass
    labels = np.asarray(compute(vecs))
    store.put_texts(CLUSTER_NS, [key], [json.dumps({"dtype": labels.dtype.str, "labels": [int(x) for x in labels]})])
    return labels
