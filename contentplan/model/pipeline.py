"""Classification pipeline: read -> normalise -> embed -> classify -> aggregate passages -> project
onto a scheme. ``JourneyModel`` wraps a fitted StageClassifier and its model folder."""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.schemes import CANONICAL_INTENT, NONE, Scheme, canonical_ids, model_labels
from ..io.tables import carried_names, detect_column
from .artifacts import default_model_dir, load_runtime, read_meta
from .lang import detect_lang
from .passages import LONG_TEXT_WORDS, MAX_DOC_CHARS, passages
from .rules import is_navigational
from .runtime import LinearStageModel

SHORT_MAX_CHARS = 2000   # a text of at most ~40 words longer than this is junk: read its start (as the encoder does)
# Shares of a document's stage mix: its title, the document read as one text, the rest the
# length-weighted mean of its passages. Chosen on real pages out of source (results_realtext.json
# round 8: 0.4 / 0.4 / 0.2 against 0.25 / 0.25 / 0.5 before; nested by source, the weights picked on
# the other sites' pages were within 0.1 of these for every site).
TITLE_WEIGHT = 0.4
WHOLE_WEIGHT = 0.4
_HAS_LETTER = re.compile(r"[^\W\d_]")
INTENTS = ("informational", "commercial", "transactional")


@dataclass
class DocResult:
    proba: np.ndarray            # canonical probabilities (n_canonical,)
    passages: list[str]
    passage_labels: list[str]    # canonical argmax per passage
    passage_proba: np.ndarray    # (n_passages, n_canonical)
    vectors: np.ndarray | None = None   # embeddings of the passages (of the title when there is no body)


_URL_NOISE = {"www", "http", "https", "com", "org", "net", "fr", "en", "io", "dev", "gov", "html", "htm", "php", "aspx",
              "md", "mdx", "index", "src", "content", "contents", "pages", "posts", "_posts", "_docs", "data", "site", "web",
              "amp", "static", "public"}
_URL_TOKEN = re.compile(r"[^\W\d_]{2,}")


def url_words(url) -> str:
    """The words of a page's URL path (or file path): '/docs/deploy/managed-services.html' ->
    'docs deploy managed services'. Sections such as docs, blog, pricing, careers or legal say a lot
    about what a page does; the host and file extensions are dropped."""
    if not isinstance(url, str) or not url.strip():
        return ""
    u = url.strip()
    if "://" in u:
        u = u.split("://", 1)[1]
        u = u.split("/", 1)[1] if "/" in u else ""
    u = u.split("?", 1)[0].split("#", 1)[0]
    words = [w for w in _URL_TOKEN.findall(u.lower()) if w not in _URL_NOISE]
    return " ".join(words[:16])


def with_url(title: str, url) -> str:
    """A page's title with the words of its URL appended: what the model reads as the page's title."""
    w = url_words(url)
    return f"{title} | {w}" if title and w else (title or w)


def clean_cell(x) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return ""
    s = x if isinstance(x, str) else str(x)
    s = s.replace("\x00", " ")
    return re.sub(r"\s+", " ", s).strip() if len(s) < 400 else s.strip()


class JourneyModel:
    """A loaded model folder: canonical probabilities for texts and documents, scheme projection."""

    def __init__(self, estimator, meta: dict, path: Path | None = None):
        if not isinstance(estimator, LinearStageModel):  # a fitted StageClassifier
            estimator = estimator.runtime()
        self.estimator = estimator
        self.meta = meta
        self.path = path
        self.labels: list[str] = list(estimator.classes_)
        missing = [c for c in canonical_ids() if c not in self.labels]
        if missing:
            from ..errors import model_error
            raise model_error(f"model {path} lacks canonical stage(s) {', '.join(missing)}")
        # Columns of every probability array returned: canonical stages, then ``none`` (a zero
        # column for a model trained without it).
        self._order = [self.labels.index(c) for c in canonical_ids()]
        self._none = self.labels.index(NONE) if NONE in self.labels else None
        self.width = len(model_labels())
        self.fingerprint: str | None = None   # set for a model loaded from disk: keys the prediction cache

    def _prediction_cache(self):
        """The on-disk cache for this model's probabilities (None when disabled or the model is in memory)."""
        from ..io.cache import cache_store, row_cache_enabled
        if not self.fingerprint or not row_cache_enabled():
            return None
        store = cache_store()
        return store if store.available() else None

    @classmethod
    def load(cls, path: str | Path | None = None) -> JourneyModel:
        return _load_cached(str(path) if path else None)

    @property
    def has_none(self) -> bool:
        """Whether the model was trained with the ``none`` class (text on no journey)."""
        return self._none is not None

    @property
    def min_confidence(self) -> float:
        return float(self.meta.get("min_confidence", 0.0))

    # ----- canonical probabilities -----
    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """Embeddings with the model's own embedder (cached on disk); None for an n-gram-only model."""
        return self.estimator.embed(list(texts)) if self.estimator.embedder else None

    def reorder(self, p: np.ndarray) -> np.ndarray:
        """Estimator columns -> :func:`~contentplan.domain.schemes.model_labels` columns."""
        out = p[:, self._order]
        none = p[:, [self._none]] if self._none is not None else np.zeros((len(p), 1))
        return np.hstack([out, none])

    def _proba(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.width))
        return self.reorder(self.estimator.predict_proba(texts, embeddings=vectors))

    def short_proba(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Canonical probabilities (n, n_canonical) for short texts. Texts without a single letter
        (blank, numbers, punctuation) carry no stage: they get a zero row and come out 'unclear'."""
        texts = [clean_cell(t)[:SHORT_MAX_CHARS] for t in texts]
        out = np.zeros((len(texts), self.width))
        idx = [i for i, t in enumerate(texts) if _HAS_LETTER.search(t)]
        if not idx:
            return out
        cache, ns = self._prediction_cache(), f"proba:{self.fingerprint}"
        hits = cache.get_many(ns, [texts[i] for i in idx], self.width) if cache else {}
        todo = [k for k in range(len(idx)) if k not in hits]
        for k, v in hits.items():
            out[idx[k]] = v
        if todo:
            rows = [idx[k] for k in todo]
            # float32, as the cache stores them: a re-run reads back exactly what this run returns.
            p = self._proba([texts[i] for i in rows], None if vectors is None else vectors[rows]).astype(np.float32)
            out[rows] = p
            if cache:
                cache.put_many(ns, [texts[i] for i in rows], p.astype(np.float32))
        return out

    def documents(self, items: Sequence[tuple[str, str]], urls: Sequence[str] | None = None) -> list[DocResult]:
        """Classify (title, body) pairs passage by passage, in one batch.

        The document's probabilities mix its title, the whole text and the mean of its passages
        (weighted by length), so one closing call to action does not decide the stage. With
        ``urls``, the words of each page's URL path are read with its title (:func:`with_url`).
        """
        if urls is not None:
            items = [(with_url(clean_cell(t), u), b) for (t, b), u in zip(items, urls)]
        batch: list[str] = []
        seen: dict[str, int] = {}

        def slot(text: str) -> int:
            # Identical texts (a one-passage body, a repeated call to action) are classified once.
            if text not in seen:
                seen[text] = len(batch)
                batch.append(text)
            return seen[text]

        plan = []
        for title, body in items:
            title, body = clean_cell(title)[:1000], (body or "")[:MAX_DOC_CHARS].strip()
            ps = passages(body) if body else []
            entry = {"title": slot(title) if title else None, "whole": None, "ps": [slot(p) for p in ps],
                     "key": f"{title}\x00{body}"}
            plan.append((entry, ps))
        vecs = self.embed(batch) if batch else None
        probs, whole_probs = self._cached_document_probas(batch, vecs, plan)
        results = []
        for entry, ps in plan:
            parts, weights = [], []
            if entry["title"] is not None:
                parts.append(probs[entry["title"]]); weights.append(TITLE_WEIGHT)
            if entry["whole"] is not None:
                parts.append(whole_probs[entry["whole"]]); weights.append(WHOLE_WEIGHT)
            pp = probs[entry["ps"]] if entry["ps"] else np.zeros((0, self.width))
            if len(pp):
                lengths = np.array([len(p.split()) for p in ps], dtype=float)
                parts.append((pp * lengths[:, None]).sum(0) / lengths.sum())
                weights.append(1.0 - TITLE_WEIGHT - WHOLE_WEIGHT)
            if parts:
                w = np.array(weights) / sum(weights)
                proba = (np.vstack(parts) * w[:, None]).sum(0)
            else:
                proba = np.zeros(self.width)
            labels = model_labels()
            rows = entry["ps"] or ([entry["title"]] if entry["title"] is not None else [])
            results.append(DocResult(proba, ps, [labels[i] for i in pp.argmax(1)] if len(pp) else [], pp,
                                     vecs[rows] if vecs is not None and rows else None))
        return results

    def _cached_document_probas(self, batch: list[str], vecs, plan):
        """:meth:`_document_probas`, served from the prediction cache when every text and document
        of the batch was classified by this same model before."""
        cache = self._prediction_cache()
        k = self.width
        docs = [e for e, _ in plan if e["ps"]]
        if cache and batch:
            ns = f"proba:{self.fingerprint}"
            hits = cache.get_many(ns, batch, k)
            whole_hits = cache.get_many(f"doc:{self.fingerprint}", [e["key"] for e in docs], k)
            if len(hits) == len(batch) and len(whole_hits) == len(docs):
                for j, e in enumerate(docs):
                    e["whole"] = j
                probs = np.vstack([hits[i] for i in range(len(batch))]).astype(np.float64)
                whole = np.vstack([whole_hits[j] for j in range(len(docs))]).astype(np.float64) if docs else None
                return probs, whole
        probs, whole = self._document_probas(batch, vecs, plan)
        # float32, as the cache stores them: a re-run reads back exactly what this run returns.
        probs = probs.astype(np.float32).astype(np.float64)
        whole = None if whole is None else whole.astype(np.float32).astype(np.float64)
        if cache and batch:
            cache.put_many(f"proba:{self.fingerprint}", batch, probs.astype(np.float32))
            if whole is not None:
                cache.put_many(f"doc:{self.fingerprint}", [e["key"] for e in docs], whole.astype(np.float32))
        return probs, whole

    def _document_probas(self, batch: list[str], vecs, plan):
        """Probabilities of the titles and passages in ``batch``, and of each whole document.

        The whole document is not vectorised again: its n-gram counts are the sum of its title's and
        passages' counts (character n-grams never cross a word boundary, so this is exact for them),
        and its embedding the normalised mean of theirs (the encoder is slowest on long texts).
        """
        if not batch:
            return np.zeros((0, self.width)), None
        est = self.estimator
        if not est.ngrams:
            probs = self._proba(batch, vecs)
            whole = []
            for entry, _ in plan:
                rows = entry["ps"] + ([entry["title"]] if entry["title"] is not None else [])
                if entry["ps"]:
                    entry["whole"] = len(whole)
                    whole.append(probs[rows].mean(0))
            return probs, (np.vstack(whole) if whole else None)
        wc, cc = est.ngram_counts(batch)
        probs = self.reorder(est.predict_proba_counts(wc, cc, vecs))
        rows_of, members = [], []
        for entry, _ in plan:
            if entry["ps"]:
                entry["whole"] = len(rows_of)
                rows = entry["ps"] + ([entry["title"]] if entry["title"] is not None else [])
                rows_of.append(rows)
                members.extend((len(rows_of) - 1, r) for r in rows)
        if not rows_of:
            return probs, None
        import scipy.sparse as sparse
        agg = sparse.csr_matrix((np.ones(len(members)), ([m[0] for m in members], [m[1] for m in members])),
                                shape=(len(rows_of), len(batch)))
        whole_vecs = None
        if vecs is not None:
            whole_vecs = np.asarray(agg @ vecs, dtype=np.float32)
            whole_vecs /= np.maximum(np.linalg.norm(whole_vecs, axis=1, keepdims=True), 1e-12)
        whole = self.reorder(est.predict_proba_counts(agg @ wc, agg @ cc, whole_vecs))
        return probs, whole

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """Canonical probabilities; long texts (over ~40 words) go through passage aggregation."""
        texts = [t if isinstance(t, str) else clean_cell(t) for t in texts]
        long_idx = [i for i, t in enumerate(texts) if len(t.split()) > LONG_TEXT_WORDS]
        long_set = set(long_idx)
        out = self.short_proba(["" if i in long_set else t for i, t in enumerate(texts)])
        if long_idx:
            docs = self.documents([("", texts[i]) for i in long_idx])
            for i, d in zip(long_idx, docs):
                out[i] = d.proba
        return out

    def explain(self, texts: Sequence[str], canonical_labels: Sequence[str], top: int = 3) -> list[str]:
        texts = [clean_cell(t)[:3000] for t in texts]
        terms = self.estimator.explain(texts, list(canonical_labels), top=top)
        return [", ".join(t) for t in terms]


@functools.lru_cache(maxsize=4)
def _load_cached(path: str | None) -> JourneyModel:
    folder = Path(path) if path else default_model_dir()
    meta = read_meta(folder)
    est, fingerprint = load_runtime(folder, meta)
    model = JourneyModel(est, meta, folder)
    model.fingerprint = fingerprint
    return model



def project(proba: np.ndarray, scheme: Scheme) -> np.ndarray:
    """Scheme probabilities = canonical probabilities summed over each scheme stage's projection."""
    return proba @ scheme.projection_matrix()


def intent_of(proba_row: np.ndarray, text: str, brands: tuple[str, ...]) -> str:
    if is_navigational(text, brands):
        return "navigational"
    if not proba_row.any():
        return ""
    scores = dict.fromkeys(INTENTS, 0.0)
    for c, p in zip(canonical_ids(), proba_row):
        scores[CANONICAL_INTENT[c]] += p
    return max(INTENTS, key=lambda k: scores[k])


def strip_html(texts: list[str]) -> tuple[list[str], list[str]]:
    """Cells holding an HTML page (a crawler export) are read as a page: (titles, main texts). The
    whole cell is parsed (the text is cut at :data:`MAX_DOC_CHARS` later): a page whose head holds
    200 KB of scripts and styles still has its article read, not only its title."""
    from ..io.documents import html_to_text, looks_like_html
    titles = [""] * len(texts)
    for i, t in enumerate(texts):
        if looks_like_html(t):
            title, body = html_to_text(t)
            texts[i], titles[i] = (body, title) if body else (title, "")
    return texts, titles


def label_frame(model: JourneyModel, texts: Sequence, scheme: Scheme, min_confidence: float | None = None,
                brands: Sequence[str] = (), explain: bool = True) -> pd.DataFrame:
    """The classification columns for ``texts``: stage, confidence, lang, intent, p_<stage>..., explanation.
    A cell holding an HTML page is classified on its title and main text."""
    raw = [clean_cell(t) if not isinstance(t, str) else t for t in texts]
    texts, titles = strip_html(list(raw))
    n = len(texts)
    threshold = model.min_confidence if min_confidence is None else float(min_confidence)
    canon = np.zeros((n, model.width))
    long_idx = [i for i, t in enumerate(texts) if len(t.split()) > LONG_TEXT_WORDS]
    long_set = set(long_idx)
    short_idx = [i for i, t in enumerate(texts) if i not in long_set and _HAS_LETTER.search(clean_cell(t))]
    short = [clean_cell(f"{titles[i]}. {texts[i]}" if titles[i] else texts[i])[:SHORT_MAX_CHARS] for i in short_idx]
    words = None
    langs = [detect_lang(t) for t in texts]
    if short:
        p, words = model.estimator.predict_proba_words(short, model.embed(short))
        canon[short_idx] = model.reorder(p)
    if long_idx:
        for i, d in zip(long_idx, model.documents([(titles[i], texts[i]) for i in long_idx])):
            canon[i] = d.proba
    dec = scheme.decide(canon, threshold)
    sp = dec.scheme_proba
    ids = scheme.ids
    brands = tuple(brands)
    out = pd.DataFrame({
        "stage": dec.stage,
        "confidence": np.round(dec.confidence, 4),
        "lang": langs,
        "intent": [intent_of(canon[i], raw[i] if not titles[i] else titles[i], brands) for i in range(n)],
    })
    for j, sid in enumerate(ids):
        out[f"p_{sid}"] = np.round(sp[:, j], 4)
    if model.has_none:
        out[f"p_{NONE}"] = np.round(dec.p_none, 4)
    if explain:
        # Explain the canonical stage that carries the most weight inside the chosen answer.
        target = dec.canonical
        expl = [""] * n
        if short_idx and words is not None:
            for i, e in zip(short_idx, model.estimator.explain(None, [target[i] for i in short_idx], word_matrix=words)):
                expl[i] = ", ".join(e)
        if long_idx:
            for i, e in zip(long_idx, model.explain([texts[i] for i in long_idx], [target[i] for i in long_idx])):
                expl[i] = e
        out["explanation"] = expl
    return out


def classify_frame(model: JourneyModel, frame: pd.DataFrame, text_column: str, scheme: Scheme,
                   min_confidence: float | None = None, brands: Sequence[str] = (), explain: bool = True) -> pd.DataFrame:
    """All input columns, then the classification columns; one row per input row, same order.

    No two columns differ only by case: an input column named like an output column (``Stage``,
    ``intent``) gets the prefix ``input_``; a keyword tool's intent column (Semrush ``Intent``,
    ``Intention``) is always ``input_intent``."""
    labels = label_frame(model, frame[text_column].tolist(), scheme, min_confidence, brands, explain)
    left = frame.reset_index(drop=True).copy()
    intent = detect_column(left, "intent", None, required=False, exclude=(text_column,))
    left.columns = carried_names([str(c) for c in left.columns], list(labels.columns),
                                 {intent: "input_intent"} if intent else None)
    return pd.concat([left, labels], axis=1)
