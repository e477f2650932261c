"""Question <-> page matching: which content piece answers a question, and how sure we are.

Every page of the inventory is a candidate, whatever its stage. A question and a page are compared
on a handful of signals a person would use:

- ``cos``: the embedding similarity of the question to the page's closest passage (cross-lingual);
- ``bm25_body``, ``bm25_title``, ``bm25_slug``: BM25 of the question's words (case- and
  accent-folded, FR+EN stop words dropped, plural ``s`` stripped) in the page text, its title and
  the words of its URL, each divided by the score a page holding every query word would get, so
  that a rare word (a brand, a product name) weighs what its rarity says;
- ``cos_gap``, ``bm25_gap``: how far the page is behind the question's best page on each signal;
- ``stage_fit`` and ``format_fit``: how well the page's stage and format serve the question's stage.

A small linear model, fitted listwise (each question's answer against its own candidates), fuses
them into one ranking score; the best page's score and its margin over the second page, the share
of the question's words the page holds and whether it is in the question's language are then
mapped to P(answered) by a second logistic model (P rises with the score and with the words found:
checked when fitted). Both are fitted
on a labeled real-page pair set (``contentplan dev calibrate-match``) and stored as plain JSON
(``data/match_model.json``): nothing heavier than numpy is needed at report time.
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .stopwords import STOP_WORDS
from .textfold import fold_accents


DEFAULT_MATCH_THRESHOLD = 0.5   # the old cosine rule, used only for an embedder with no calibration on record
THRESHOLD_FILE = "match_threshold.json"   # cosine thresholds of the old same-stage rule (the benchmark's baseline)
MODEL_FILE = "match_model.json"           # fusion weights, answered calibration and operating points
PRECISIONS = ("high", "balanced", "recall")
DEFAULT_PRECISION = "balanced"
FEATURES = ("cos", "cos_mean", "bm25_body", "bm25_passage", "bm25_title", "bm25_slug", "bm25_prefix",
            "coverage", "missing", "same_lang", "cos_gap", "bm25_gap", "stage_fit", "format_fit", "price_gap",
            "action_gap")
# What P(answered) reads of the best page, besides its score and its margin over the second page.
# same_lang: word coverage means little across languages, and the fit gives a page in the other
# language back what its missing words take away (held-out F1 0.792 with it, 0.764 without).
# price_gap: the question asks what something costs and the page states no price (no amount with a
# currency or per month): on the real pair set's 33 price questions such a page answered 6 of 97
# candidates, a page with a price 7 of 23 (see PRICE_WORDS, _PRICE).
# action_gap: the question asks for an action (a demo, a trial, a quote, to be contacted) and the page
# offers none that serves it (see ACTIONS): "demande de démo" is not answered by the pricing page.
ANSWER_FEATURES = ("coverage", "same_lang", "price_gap", "action_gap")
ANSWER_INPUTS = ("score", "margin", *ANSWER_FEATURES)
K1, B = 1.2, 0.75
SAME_LANG_TIE = 0.01  # see fit_match_model
F1_TOLERANCE = 0.02   # see operating_points
CHUNK = 256            # questions scored at once: (CHUNK x pages x features) floats stay small


# Words (as :func:`tokens` returns them: folded, stemmed) of a question that asks for a price.
PRICE_WORDS = frozenset("price prix cost cout coute coutent tarif pricing fee devis quote cher payant salary salaire".split())
# A price stated on a page: an amount with a currency, or a number per month / year / user ("39 €",
# "$12", "10/month", "5 par utilisateur"); not "free" ("free storage", "free trial" state no price)
# nor a bare "per user".
_PRICE = re.compile(r"\d[\d\s.,]*\s?(?:€|\$|£|eur\b|euros?\b|usd\b|dollars?\b|k€)|(?:€|\$|£)\s?\d|"
                    r"\d\s?(?:/|per |par )(?:mo|month|mois|an|year|user|utilisateur|seat)\b", re.I)

# Actions a question may ask for, and what a page offering them says (both on folded text: lower
# case, no accents). A question asks for an action with these words; a page offers it with a call to
# action, a form or an address (its title, text and URL are read). ACCEPT: the offers that serve
# each request (a quote request is served by a quote form or by a sales contact).
ACTIONS = ("demo", "trial", "quote", "contact")
_ASKS = {
    "demo": r"\bdemos?\b|\bdemonstration\b|walk (?:me|us) through",
    "trial": r"\btrial\b|essai gratuit|(?:try|test|tester|essayer)\b(?:\W+\w+){0,3}?\W+(?:free|gratuit\w*)|"
             # "sign up" asked for, not as a circumstance ("… when I sign up for their newsletter")
             r"(?<!when i )(?<!when you )(?<!after i )(?<!once i )(?<!if i )(?<!before i )\bsign ?up\b|"
             r"create (?:an |my )?account|creer (?:un |mon )?compte",
    "quote": r"(?:request|get|ask for|need|demande[rz]?|obtenir)\W+(?:\w+\W+){0,2}?(?:quote|estimate|devis)\b|"
             r"devis gratuit|free (?:quote|estimate)",
    "contact": r"\bcontact(?:er|ez)?\b|\bjoindre\b|\brappele\w*|\brappeler\b|call (?:me|us)\b|call ?back|"
               r"talk to\b|speak (?:to|with)\b|parler (?:a|avec) (?:un|une|quelqu)|prendre (?:un )?rendez-vous|\brdv\b|"
               r"book (?:an )?appointment|phone number|numero de telephone",
}
_OFFERS = {
    "demo": r"(?:book|request|schedule|get|see|ask for|reserve[rz]?|demande[rz]?|planifie[rz]?)\W+(?:\w+\W+){0,3}?demo\b|"
            r"\bdemos? (?:are|is|run|last)\b|demo (?:gratuite|personnalisee|en ligne)|\brequest demo\b",
    "trial": r"free trial|essai gratuit|(?:try|test|essaye[rz]?|teste[rz]?)\b(?:\W+\w+){0,3}?\W+(?:free|gratuit\w*)|"
             r"\bsign ?up\b|create (?:your|an) account|cre(?:ez|er) (?:un |votre )?compte|inscrivez|no credit card|"
             r"sans carte bancaire",
    "quote": r"(?:request|get|ask for|demande[rz]?|obtenir|obtenez|recevez|receive)\W+(?:\w+\W+){0,3}?(?:quote|devis|estimate)\b|"
             r"devis gratuit|free (?:quote|estimate)",
    "contact": r"contact (?:us|sales|our)\b|contactez|nous contacter|formulaire de contact|contact form|get in touch|"
               r"talk to (?:our|sales|us)\b|call us\b|appelez-nous|nous appeler|vous rappel\w*|etre rappele|"
               r"[\w.+-]+@[\w-]+\.[a-z]{2,}",
}
ACCEPT = {"demo": ("demo",), "trial": ("trial",), "quote": ("quote", "contact"), "contact": ("contact",)}
_ASK_RE = {a: re.compile(r, re.I) for a, r in _ASKS.items()}
_OFFER_RE = {a: re.compile(r, re.I) for a, r in _OFFERS.items()}


_NOT_ASKED = re.compile(r"\b(?:without|sans|no need to|pas besoin de|rather than|plutot que)\b(?:\W+\w+){0,3}\W*$")


def asked_actions(text: str) -> list[str]:
    """The actions of :data:`ACTIONS` a question asks for ("book a demo" -> ["demo"]; not "… without
    having to talk to sales")."""
    f = fold(text)
    return [a for a in ACTIONS if any(not _NOT_ASKED.search(f[:m.start()]) for m in _ASK_RE[a].finditer(f))]


def offered_actions(text: str) -> list[str]:
    """The actions of :data:`ACTIONS` a page offers (a call to action, a form, an address)."""
    f = fold(text)
    return [a for a in ACTIONS if _OFFER_RE[a].search(f)]


def _action_matrix(found: list[list[str]]) -> np.ndarray:
    """(texts, ACTIONS) 1 where a text's list of actions (:func:`asked_actions`, :func:`offered_actions`) holds it."""
    return np.array([[a in acts for a in ACTIONS] for acts in found], dtype=np.float32).reshape(-1, len(ACTIONS))


def _served(offers: np.ndarray) -> np.ndarray:
    """(pages, actions) 1 where the page's offers serve a request for that action (:data:`ACCEPT`)."""
    accept = np.array([[b in ACCEPT[a] for b in ACTIONS] for a in ACTIONS], dtype=np.float32)
    return (offers @ accept.T > 0).astype(np.float32)


PREFIX = 5             # the prefix field: words cut to 5 letters, to meet cognates across FR/EN (conférence ~ conference)
_WORD = re.compile(r"[^\W_]+")


def stem(word: str) -> str:
    """A light, language-blind stem: a plural ``s``/``x`` dropped ("tarifs" -> "tarif", "prices" ->
    "price"); enough for BM25 to see the same word, cheap enough for 20k questions."""
    if len(word) > 3 and word[-1] in "sx" and word[-2] not in "su":
        word = word[:-1]
    return word


def fold(text) -> str:
    """Case and accents folded, ’ as ': :func:`contentplan.textfold.fold_accents`, the one folding."""
    return fold_accents(text)


def tokens(text: str) -> list[str]:
    """Folded (case, accents), stop words dropped, stemmed words of ``text``; digits kept (a model number)."""
    out = []
    for w in _WORD.findall(fold(text)):
        if w in STOP_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out


def prefixes(toks: list[str]) -> list[str]:
    """The prefix-field tokens of stemmed tokens (a leading ``~`` keeps them apart from whole words)."""
    return ["~" + t[:PREFIX] for t in toks if not t.isdigit()]


def word_forms(text: str) -> dict[str, str]:
    """Each stem of ``text`` -> the first word form that gave it (to show matched terms as written)."""
    out: dict[str, str] = {}
    words = _WORD.findall(str(text))
    folded = _WORD.findall(fold(text))
    if len(folded) != len(words):        # folding split a word differently (a ligature): fold word by word
        folded = [fold(w) for w in words]
    for w, f in zip(words, folded):
        if f in STOP_WORDS or (len(f) < 2 and not f.isdigit()):
            continue
        out.setdefault(stem(f), w)
    return out


def slug_text(url) -> str:
    """The words of a URL or file path, host and extension dropped ('/fr/tarifs-crm.html' -> 'fr tarifs crm')."""
    u = str(url or "").strip()
    if not u:
        return ""
    if "://" in u:
        u = u.split("://", 1)[1]
        u = u.split("/", 1)[1] if "/" in u else ""
    u = u.split("?", 1)[0].split("#", 1)[0]
    u = re.sub(r"\.(html?|php|aspx|mdx?|txt|docx)$", "", u, flags=re.IGNORECASE)
    return re.sub(r"[/_.\-]+", " ", u)


# ----------------------------------------------------------------------------- BM25

class Vocabulary:
    def __init__(self):
        self.ids: dict[str, int] = {}

    def add(self, toks) -> list[int]:
        return [self.ids.setdefault(t, len(self.ids)) for t in toks]

    def get(self, toks) -> tuple[list[int], int]:
        """(known ids, number of unknown tokens)."""
        known = [self.ids[t] for t in toks if t in self.ids]
        return known, len(toks) - len(known)


class BM25Field:
    """BM25 weights of one field (body, title, slug) of every page, as a sparse (pages x vocabulary) matrix."""

    def __init__(self, docs_ids: list[list[int]], n_vocab: int, k1: float = K1, b: float = B):
        from scipy import sparse
        n = len(docs_ids)
        rows = np.repeat(np.arange(n), [len(d) for d in docs_ids])
        cols = np.fromiter((i for d in docs_ids for i in d), dtype=np.int64, count=len(rows))
        tf = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, n_vocab))
        tf.sum_duplicates()
        dl = np.asarray([len(d) for d in docs_ids], dtype=np.float32)
        avgdl = float(dl.mean()) if n and dl.mean() > 0 else 1.0
        df = np.bincount(tf.indices, minlength=n_vocab).astype(np.float64)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.idf_unknown = float(math.log1p((n + 0.5) / 0.5))
        row_of = np.repeat(np.arange(n), np.diff(tf.indptr))
        norm = k1 * (1 - b + b * dl[row_of] / avgdl)
        tf.data = self.idf[tf.indices] * tf.data * (k1 + 1) / (tf.data + norm)
        self.W = tf.T.tocsr()          # (vocabulary x pages): Q @ W gives the scores
        self.k1 = k1

    def scores(self, Q, unknown: np.ndarray, transposed: bool = False) -> np.ndarray:
        """(n_q, pages) BM25 divided by the best a page could score (every query word, saturated);
        (pages, n_q) with ``transposed``."""
        top = np.maximum((self.k1 + 1) * (np.asarray(Q @ self.idf).ravel() + unknown * self.idf_unknown), 1e-9)
        if transposed:
            return (self.W.T @ Q.T).toarray() / top[None, :]
        return (Q @ self.W).toarray() / top[:, None]


# ----------------------------------------------------------------------------- the index

@dataclass
class PageIndex:
    """The pages of one inventory, ready to be matched against questions."""

    titles: list[str]
    passages: list[list[str]]            # per page
    P: np.ndarray                        # (n_passages, dim) float32, L2-normalised
    owner: np.ndarray                    # page of each passage row (sorted)
    page_proba: np.ndarray               # (pages, n_labels) canonical stage probabilities (+ none)
    serves: np.ndarray                   # (pages, n_labels) 1 where the page's format serves that stage
    vocab: Vocabulary = field(repr=False, default_factory=Vocabulary)
    fields: dict = field(repr=False, default_factory=dict)
    passage_tokens: list = field(repr=False, default_factory=list)
    page_tokens: list = field(repr=False, default_factory=list)      # words of each page's title and passages
    passage_page: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))
    D: np.ndarray | None = field(repr=False, default=None)    # (pages, dim) mean passage vector of each page
    presence: object = field(repr=False, default=None)          # (vocabulary x pages) 0/1: word in page text
    lang: np.ndarray | None = field(repr=False, default=None)   # page languages (None: unknown)
    vec_segments: list = field(repr=False, default_factory=list)     # see _segments (passage vectors)
    text_segments: list = field(repr=False, default_factory=list)    # see _segments (passage texts)
    has_price: np.ndarray | None = field(repr=False, default=None)    # (pages,) 1 where the page states a price
    serves_action: np.ndarray | None = field(repr=False, default=None)  # (pages, ACTIONS) see _served

    @property
    def n(self) -> int:
        return len(self.titles)


def build_index(titles, bodies, urls, passages, vectors, page_proba=None, serves=None, langs=None) -> PageIndex:
    """Index pages for matching.

    Args:
        titles, bodies, urls: one per page (``bodies`` is the page text, ``urls`` a URL or file path).
        passages: the passages of each page (list of lists of str; [] for a page with none).
        vectors: the embedding of each passage (list of (k, dim) arrays, same order), or None.
        page_proba: (pages, n_labels) stage probabilities of each page (None: no stage fit).
        serves: (pages, n_labels) 1 where the page's format serves the stage (None: no format fit).
        langs: each page's language (None: not compared with the question's).
    """
    n = len(titles)
    rows, owner = [], []
    for k, v in enumerate(vectors if vectors is not None else [None] * n):
        if v is not None and len(v):
            rows.append(np.asarray(v, dtype=np.float32))
            owner += [k] * len(v)
    dim = rows[0].shape[1] if rows else 0
    P = np.vstack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    vocab = Vocabulary()
    body_toks = [tokens(f"{t}. {b}") for t, b in zip(titles, bodies)]
    body_ids = [vocab.add(tk) for tk in body_toks]
    title_ids = [vocab.add(tokens(t)) for t in titles]
    slug_ids = [vocab.add(tokens(slug_text(u))) for u in urls]
    plists = [[tokens(p) for p in ps] for ps in passages]
    ptoks = [[set(tk) for tk in pl] for pl in plists]
    pass_ids = [vocab.add(tk) for pl in plists for tk in pl]
    prefix_ids = [vocab.add(prefixes(tk)) for tk in body_toks]
    passage_page = np.repeat(np.arange(n), [len(ps) for ps in passages])
    V = len(vocab.ids)
    fields = {"body": BM25Field(body_ids, V), "title": BM25Field(title_ids, V), "slug": BM25Field(slug_ids, V),
              "passage": BM25Field(pass_ids, V), "prefix": BM25Field(prefix_ids, V)}
    D = None
    if rows:
        D = np.zeros((n, dim), dtype=np.float32)
        np.add.at(D, np.asarray(owner), P)
        D /= np.maximum(np.linalg.norm(D, axis=1, keepdims=True), 1e-9)
    width = page_proba.shape[1] if page_proba is not None else 1
    presence = fields["body"].W.copy()
    presence.data[:] = 1.0
    page_toks = [set(tokens(t)).union(*pt) for t, pt in zip(titles, ptoks)]
    owner = np.asarray(owner, dtype=np.int64)
    return PageIndex(list(titles), [list(p) for p in passages], P, owner,
                     page_proba if page_proba is not None else np.zeros((n, width)),
                     serves if serves is not None else np.zeros((n, width)), vocab, fields, ptoks, page_toks,
                     passage_page, D, presence, None if langs is None else np.asarray(langs, dtype=object),
                     _segments(owner), _segments(passage_page),
                     np.array([bool(_PRICE.search(f"{t} {b}")) for t, b in zip(titles, bodies)], dtype=np.float32),
                     _served(_action_matrix([offered_actions(f"{t} {b} {slug_text(u)}") for t, b, u in zip(titles, bodies, urls)])))


def _segments(owner: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Pages grouped by their number of rows c (rows sorted by page): (pages, their rows, c), so the
    best row of every page is one reshape and one max per group (faster than ``reduceat``)."""
    if not len(owner):
        return []
    pages, starts, counts = np.unique(owner, return_index=True, return_counts=True)
    out = []
    for c in np.unique(counts):
        sel = counts == c
        rows = (starts[sel][:, None] + np.arange(c)[None, :]).ravel()
        out.append((pages[sel], rows, int(c)))
    return out


def _segment_max(M: np.ndarray, segments, n_pages: int) -> np.ndarray:
    """(n_q, pages) maximum over each page's rows of the (rows, n_q) matrix ``M`` (0 for a page with none)."""
    out = np.zeros((n_pages, M.shape[1]), dtype=np.float32)
    for pages, rows, c in segments:
        out[pages] = M[rows].reshape(len(pages), c, M.shape[1]).max(1)
    return out.T


@dataclass
class Queries:
    """Questions encoded against one index: word and prefix query matrices, their unknown-token
    counts, word ids (for coverage), embeddings, stage probabilities and languages."""

    Qw: object
    unk_w: np.ndarray
    Qp: object
    unk_p: np.ndarray
    word_ids: list
    vec: np.ndarray | None
    proba: np.ndarray | None
    lang: np.ndarray | None
    asks_price: np.ndarray | None = None      # (n_q,) 1 where the question asks for a price
    asks_action: np.ndarray | None = None     # (n_q, ACTIONS) 1 where the question asks for that action

    def __len__(self) -> int:
        return len(self.unk_w)

    def __getitem__(self, sl: slice) -> Queries:
        return Queries(self.Qw[sl], self.unk_w[sl], self.Qp[sl], self.unk_p[sl], self.word_ids[sl],
                       None if self.vec is None else self.vec[sl], None if self.proba is None else self.proba[sl],
                       None if self.lang is None else self.lang[sl],
                       None if self.asks_price is None else self.asks_price[sl],
                       None if self.asks_action is None else self.asks_action[sl])


def encode_queries(index: PageIndex, q_tokens: list[list[str]], vec=None, proba=None, lang=None,
                   texts: list[str] | None = None) -> Queries:
    """The questions' query matrices against ``index``; ``texts`` (the questions as written) tell
    which ask for an action (:func:`asked_actions`; None: none does)."""
    from scipy import sparse
    shape_v = max(len(index.vocab.ids), 1)

    def matrix(lists):
        rows, cols, unknown, ids = [], [], np.zeros(len(lists), dtype=np.float32), []
        for i, toks in enumerate(lists):
            known, unk = index.vocab.get(list(dict.fromkeys(toks)))
            rows += [i] * len(known)
            cols += known
            unknown[i] = unk
            ids.append(known)
        Q = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(lists), shape_v))
        return Q, unknown, ids
    Qw, unk_w, ids = matrix(q_tokens)
    Qp, unk_p, _ = matrix([prefixes(t) for t in q_tokens])
    return Queries(Qw, unk_w, Qp, unk_p, ids, None if vec is None else np.asarray(vec, dtype=np.float32), proba,
                   None if lang is None else np.asarray(lang, dtype=object),
                   np.array([bool(PRICE_WORDS.intersection(t)) for t in q_tokens], dtype=np.float32),
                   None if texts is None else
                   _action_matrix([asked_actions(t) for t in texts]))


def _page_max_cos(index: PageIndex, Qv: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(n_q, pages) best passage cosine per page (0 for a page without vectors), and the
    (passages, n_q) passage cosines (passage-major: the per-page maximum reads contiguous rows)."""
    out = np.zeros((0 if Qv is None else len(Qv), index.n), dtype=np.float32)
    if Qv is None or not len(index.P):
        return out, np.zeros((0, len(out)), dtype=np.float32)
    ST = index.P @ np.asarray(Qv, dtype=np.float32).T
    return np.maximum(_segment_max(ST, index.vec_segments, index.n), 0.0), ST


def _coverage(index: PageIndex, q: Queries) -> tuple[np.ndarray, np.ndarray]:
    """(share of the question's word weight (idf) found in each page, the weight of the rarest word
    missing from the page over the largest possible weight): a page that never names "servicetitan"
    does not answer "pilotis vs servicetitan", however well it covers "pilotis"."""
    body = index.fields["body"]
    pres = index.presence                                  # (vocabulary x pages) 0/1
    Qi = q.Qw.multiply(body.idf[None, :]).tocsr()
    found = (Qi @ pres).toarray()
    total = np.asarray(Qi.sum(1)).ravel() + q.unk_w * body.idf_unknown
    cover = found / np.maximum(total, 1e-9)[:, None]
    missing = np.zeros_like(cover)
    uniq = sorted({i for ids in q.word_ids for i in ids})
    if uniq:
        pos = {t: k for k, t in enumerate(uniq)}
        absent = body.idf[uniq, None] * (1 - pres[uniq].toarray()) / body.idf_unknown   # (words, pages)
        for i, ids in enumerate(q.word_ids):
            if ids:
                missing[i] = absent[[pos[t] for t in ids]].max(0)
    missing[q.unk_w > 0] = 1.0
    return cover, missing


def feature_arrays(index: PageIndex, q: Queries) -> tuple[dict, np.ndarray]:
    """Each feature of :data:`FEATURES` as a (n_q, pages) array for a chunk of questions, and the
    (passages, n_q) passage cosines."""
    n_q = len(q)
    cos, ST = _page_max_cos(index, q.vec)
    if not cos.size and n_q:
        cos = np.zeros((n_q, index.n), dtype=np.float32)
    zero = np.zeros((n_q, index.n), dtype=np.float32)
    F = dict.fromkeys(FEATURES, zero)
    F["cos"] = cos
    if index.D is not None and q.vec is not None:
        F["cos_mean"] = np.maximum(q.vec @ index.D.T, 0.0)
    body = index.fields["body"].scores(q.Qw, q.unk_w)
    F["bm25_body"] = body
    if len(index.passage_page):
        ps = index.fields["passage"].scores(q.Qw, q.unk_w, transposed=True)       # (passages, n_q)
        F["bm25_passage"] = _segment_max(ps.astype(np.float32), index.text_segments, index.n)
    F["bm25_title"] = index.fields["title"].scores(q.Qw, q.unk_w)
    F["bm25_slug"] = index.fields["slug"].scores(q.Qw, q.unk_w)
    F["bm25_prefix"] = index.fields["prefix"].scores(q.Qp, q.unk_p)
    F["coverage"], F["missing"] = _coverage(index, q)
    if q.lang is not None and index.lang is not None:
        codes = {v: k for k, v in enumerate(sorted(set(map(str, index.lang)) | set(map(str, q.lang))))}
        ql = np.array([codes[str(v)] for v in q.lang])
        pl = np.array([codes[str(v)] for v in index.lang])
        F["same_lang"] = (ql[:, None] == pl[None, :]).astype(np.float32)
    else:
        F["same_lang"] = np.ones((n_q, index.n), dtype=np.float32)
    if index.n:
        F["cos_gap"] = cos - cos.max(1, keepdims=True)
        F["bm25_gap"] = body - body.max(1, keepdims=True)
    if q.asks_price is not None and index.has_price is not None:
        F["price_gap"] = (q.asks_price[:, None] * (1.0 - index.has_price[None, :])).astype(np.float32)
    if q.asks_action is not None and index.serves_action is not None:
        asks = q.asks_action.any(1)
        F["action_gap"] = (asks[:, None] & (q.asks_action @ index.serves_action.T == 0)).astype(np.float32)
    if q.proba is not None and index.page_proba.shape[1] == q.proba.shape[1]:
        F["stage_fit"] = (q.proba @ index.page_proba.T).astype(np.float32)
        F["format_fit"] = (q.proba @ index.serves.T).astype(np.float32)
    return F, ST


def features(index: PageIndex, q: Queries) -> tuple[np.ndarray, np.ndarray]:
    """(n_q, pages, len(FEATURES)) feature array for a chunk of questions (what fitting reads), and
    the (passages, n_q) passage cosines."""
    F, ST = feature_arrays(index, q)
    return np.stack([F[f] for f in FEATURES], axis=-1).astype(np.float32), ST


# ----------------------------------------------------------------------------- the fitted model

@dataclass
class MatchModel:
    """Ranking weights (one per feature + bias), the answered calibration
    ``P = sigmoid(answer_weights · (score, margin, coverage, same_lang) + answer_bias)`` read
    on the best page (margin: its score minus the second page's), and the operating points (P
    thresholds) of ``--match-precision``."""

    weights: dict
    bias: float
    answer_weights: dict
    answer_bias: float
    thresholds: dict
    info: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> MatchModel:
        cal = d["calibration"]
        # A feature added after the model was fitted weighs nothing (the model predates it).
        return cls({f: float(d["weights"].get(f, 0.0)) for f in FEATURES}, float(d["bias"]),
                   {f: float(cal["weights"].get(f, 0.0)) for f in ANSWER_INPUTS}, float(cal["bias"]),
                   {k: float(v) for k, v in d["thresholds"].items()},
                   {k: v for k, v in d.items() if k not in ("weights", "bias", "calibration", "thresholds", "features")})

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "weights": {f: round(self.weights[f], 6) for f in FEATURES},
                "bias": round(self.bias, 6),
                "calibration": {"weights": {f: round(self.answer_weights[f], 6) for f in ANSWER_INPUTS},
                                "bias": round(self.answer_bias, 6)},
                "thresholds": {k: round(v, 4) for k, v in self.thresholds.items()}, **self.info}

    def score(self, X: np.ndarray) -> np.ndarray:
        """Fused score of each page: ``X`` is (..., len(FEATURES)), or a dict of feature arrays."""
        if isinstance(X, dict):
            out = np.full(next(iter(X.values())).shape, self.bias, dtype=np.float32)
            for f in FEATURES:
                if self.weights[f]:
                    out += np.float32(self.weights[f]) * X[f]
            return out
        w = np.array([self.weights[f] for f in FEATURES], dtype=np.float32)
        return X @ w + np.float32(self.bias)

    def p_answered(self, A: np.ndarray) -> np.ndarray:
        """Calibrated probability that the best page answers the question, from the (n, 5) array of
        :func:`answer_inputs`; it rises with the score (a positive weight, checked when fitted)."""
        A = np.atleast_2d(np.asarray(A, dtype=np.float64))
        w = np.array([self.answer_weights[f] for f in ANSWER_INPUTS])
        return 1.0 / (1.0 + np.exp(-(A @ w + self.answer_bias)))

    def threshold(self, precision: str = DEFAULT_PRECISION) -> float:
        if precision not in PRECISIONS:
            from .errors import InputError
            raise InputError(f"match precision '{precision}' is not one of {', '.join(PRECISIONS)}")
        return self.thresholds[precision]


@functools.cache
def _data_json(name: str) -> dict:
    try:
        raw = resources.files("contentplan").joinpath("data").joinpath(name).read_text(encoding="utf-8")
        return json.loads(raw)
    except (FileNotFoundError, OSError, json.JSONDecodeError):
        return {}


def match_models() -> dict:
    """Every fitted match model on record, by embedder name."""
    return _data_json(MODEL_FILE)


def match_model_for(embedder: str | None) -> tuple[MatchModel | None, str]:
    """(model, source): the model fitted for ``embedder``, else the one fitted for the default embedder
    (source 'default (…)'), else None."""
    rec = match_models()
    if embedder in rec:
        return MatchModel.from_dict(rec[embedder]), "calibrated"
    if rec:
        name = "use-multilingual" if "use-multilingual" in rec else sorted(rec)[0]
        return MatchModel.from_dict(rec[name]), f"default (fitted for {name}, not for this embedder)"
    return None, "none"


def match_thresholds() -> dict:
    """Cosine thresholds of the old same-stage rule, by embedder."""
    return _data_json(THRESHOLD_FILE)


def match_threshold_for(embedder: str) -> float:
    rec = match_thresholds().get(embedder)
    return float(rec["threshold"]) if rec else DEFAULT_MATCH_THRESHOLD


# ----------------------------------------------------------------------------- matching

def top_pages(s: np.ndarray, k: int | None = None) -> np.ndarray:
    """Pages by decreasing score for each row of ``s`` (the best ``k`` only when given; ties: lower index first)."""
    if k is None or k >= s.shape[1]:
        return np.argsort(-s, axis=1, kind="stable")
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    rows = np.arange(len(s))[:, None]
    # Order the k by score, then by page index (as a stable sort of the whole row would).
    keys = np.lexsort((part, -s[rows, part]), axis=1)
    out = part[rows, keys]
    # argpartition may pick any of several pages tied with the k-th: keep the lowest indexes, as argsort would.
    kth = s[rows[:, 0], out[:, -1]]
    ties = (s == kth[:, None]).sum(1) > (s[rows, out] == kth[:, None]).sum(1)
    if ties.any():
        out[ties] = np.argsort(-s[ties], axis=1, kind="stable")[:, :k]
    return out


def answer_inputs(X, s: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(pages by score (the best ``k``), (n_q, len(ANSWER_INPUTS)) inputs of P(answered) for the best
    page) from a (n_q, pages, features) array (or a dict of (n_q, pages) feature arrays) and its scores."""
    order = top_pages(s, k if k is None else max(k, 2))
    rows = np.arange(len(s))
    top = order[:, 0]
    A = np.zeros((len(s), len(ANSWER_INPUTS)))
    A[:, 0] = s[rows, top]
    if s.shape[1] > 1:
        A[:, 1] = s[rows, top] - s[rows, order[:, 1]]
    for j, f in enumerate(ANSWER_FEATURES):
        A[:, 2 + j] = X[f][rows, top] if isinstance(X, dict) else X[rows, top, FEATURES.index(f)]
    return order, A


@dataclass
class MatchResult:
    best_page: np.ndarray          # (n_q,) page index, -1 when there is no page
    score: np.ndarray              # fused score of the best page
    p_answered: np.ndarray         # calibrated probability that the best page answers
    cos: np.ndarray                # embedding similarity of the best page
    reach: np.ndarray              # (pages,) best cosine of any question to each page
    terms: list[str]               # query words found in the best page
    passage: list[str]             # the passage of the best page that matched (short)
    top3: np.ndarray | None = None  # (n_q, 3) pages ranked 1-3 (-1 padded)


def _short(text: str, limit: int = 160) -> str:
    s = re.sub(r"\s+", " ", text or "").strip()
    return s if len(s) <= limit else s[:limit].rsplit(" ", 1)[0] + "…"


def page_reach(index: PageIndex, q_vec) -> np.ndarray:
    """(pages,) the best cosine of any question to each page: :attr:`MatchResult.reach` alone, computed
    on the same chunks as :func:`match_questions` (so the same floats) without the other features."""
    reach = np.zeros(index.n)
    if q_vec is None or not index.n:
        return reach
    Qv = np.asarray(q_vec, dtype=np.float32)
    for start in range(0, len(Qv), CHUNK):
        cos, _ = _page_max_cos(index, Qv[start:start + CHUNK])
        if cos.size:
            np.maximum(reach, cos.max(0), out=reach)
    return reach


def match_questions(index: PageIndex, questions: list[str], q_vec, q_proba, model: MatchModel,
                    q_lang=None, explain: bool = True) -> MatchResult:
    """The best page of ``index`` for each question, its fused score and P(answered), and why.

    ``q_vec`` are the questions' embeddings (same embedder as the passages; None: lexical only),
    ``q_proba`` their stage probabilities (same columns as the pages'; None: no stage fit) and
    ``q_lang`` their languages (None: not compared with the pages')."""
    n_q = len(questions)
    best = np.full(n_q, -1)
    score = np.zeros(n_q)
    p = np.zeros(n_q)
    cosb = np.zeros(n_q)
    top3 = np.full((n_q, 3), -1)
    reach = np.zeros(index.n)
    terms, passage = [""] * n_q, [""] * n_q
    if not n_q or not index.n:
        return MatchResult(best, score, p, cosb, reach, terms, passage, top3)
    q_tokens = [tokens(q) for q in questions]
    queries = encode_queries(index, q_tokens, q_vec, q_proba, q_lang, texts=list(questions))
    for start in range(0, n_q, CHUNK):
        sl = slice(start, start + CHUNK)
        F, ST = feature_arrays(index, queries[sl])
        s = model.score(F)
        order, A = answer_inputs(F, s, k=3)
        order = order[:, :3]
        rows = np.arange(len(s))
        best[sl] = order[:, 0]
        score[sl] = A[:, 0]
        p[sl] = model.p_answered(A)
        cosb[sl] = F["cos"][rows, order[:, 0]]
        top3[sl, :order.shape[1]] = order
        np.maximum(reach, F["cos"].max(0), out=reach)
        if explain:
            for i in range(len(s)):
                terms[start + i], passage[start + i] = _why(index, questions[start + i], q_tokens[start + i],
                                                            int(order[i, 0]), ST[:, i] if ST.size else None)
    return MatchResult(best, score, p, cosb, reach, terms, passage, top3)


def _why(index: PageIndex, question: str, q_toks: list[str], page: int, sims) -> tuple[str, str]:
    """The question's words found in the page (as the question writes them) and the page's passage
    that matched best (closest in meaning plus share of the question's words it holds)."""
    forms = word_forms(question)
    page_toks = index.page_tokens[page]
    hit = [w for st, w in forms.items() if st in page_toks]
    ps = index.passages[page]
    if not ps:
        return ", ".join(hit[:8]), ""
    qset = set(q_toks)
    lex = np.array([len(qset & t) / (len(qset) or 1) for t in index.passage_tokens[page]])
    lo, hi = np.searchsorted(index.owner, [page, page + 1]) if sims is not None else (0, 0)
    cols = np.arange(lo, hi)
    cs = sims[cols] if len(cols) == len(ps) else np.zeros(len(ps))
    return ", ".join(hit[:8]), _short(ps[int(np.argmax(cs + lex))])


# ----------------------------------------------------------------------------- fitting

def _logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0, sample_weight=None, iters: int = 50):
    """L2-regularised logistic regression by Newton steps on standardised features; returns the
    (weights, bias) on the raw features. Small enough to need no scikit-learn."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mu, sd = X.mean(0), X.std(0)
    sd[sd < 1e-9] = 1.0
    Z = np.hstack([(X - mu) / sd, np.ones((len(X), 1))])
    w = np.zeros(Z.shape[1])
    reg = np.full(Z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(Z @ w, -30, 30)))
        g = Z.T @ (sw * (p - y)) + reg * w
        H = (Z * (sw * p * (1 - p))[:, None]).T @ Z + np.diag(reg + 1e-9)
        step = np.linalg.solve(H, g)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    coef = w[:-1] / sd
    return coef, float(w[-1] - (coef * mu).sum())


def operating_points(p: np.ndarray, ok: np.ndarray, n_answerable: int) -> dict:
    """P thresholds on a precision/recall curve: ``balanced`` is the most precise point whose F1 is
    within :data:`F1_TOLERANCE` of the best (F1 is flat near its top, and a question wrongly called
    answered hides a gap, the report's worst error), ``high`` is the lowest threshold with precision
    >= 0.9 (the most precise point when none reaches it), ``recall`` the highest threshold with recall
    >= 0.9, or, when the best pages cannot reach it, >= 0.95 of the highest recall they reach (not the
    bottom of the curve, where every question with any page would count as answered and the report
    would show no gap); ``high`` is never below ``balanced``, nor ``recall`` above it.

    ``p``: P(answered) of each question's best page; ``ok``: the best page answers it;
    ``n_answerable``: questions that have an answering page (the recall denominator)."""
    order = np.argsort(-p, kind="stable")
    ps, tp = p[order], np.cumsum(ok[order])
    k = np.arange(1, len(p) + 1)
    prec, rec = tp / k, tp / max(n_answerable, 1)
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0)
    # Only the last index of a run of equal P values is a real cut.
    cut = np.r_[ps[1:] < ps[:-1], True]
    idx = np.flatnonzero(cut)

    def mid(i):   # a threshold half-way to the next lower P, so it separates the two on this data
        return float((ps[i] + ps[i + 1]) / 2) if i + 1 < len(ps) else float(ps[i])
    bal = idx[f1[idx] >= f1[idx].max() - F1_TOLERANCE][0]
    hi = idx[prec[idx] >= 0.9]
    hi = min(hi[-1] if len(hi) else idx[np.argmax(prec[idx])], bal)     # never less precise than balanced
    lo = idx[rec[idx] >= min(0.9, 0.95 * rec[idx].max())]
    lo = max(lo[0], bal)                                                  # never less complete than balanced
    return {"high": mid(hi), "balanced": mid(bal), "recall": mid(lo)}


# Features fitted apart (see fit_match_model): the action check's weights come from the written
# action-request set, which the real pair set's weights should not be moved by.
APART = ("action_gap",)


def _logistic_offset(x: np.ndarray, y: np.ndarray, offset: np.ndarray, l2: float = 1.0, sample_weight=None,
                     iters: int = 50) -> float:
    """The weight of one feature ``x`` in a logistic regression whose other terms are fixed (``offset``,
    their logit), L2-regularised, by Newton steps."""
    x, y, offset = (np.asarray(v, dtype=np.float64) for v in (x, y, offset))
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(offset + w * x, -30, 30)))
        step = (float((sw * (p - y) * x).sum()) + l2 * w) / (float((sw * p * (1 - p) * x * x).sum()) + l2)
        w -= step
        if abs(step) < 1e-10:
            break
    return w


def _candidate_sets(groups, candidates: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each answerable question's best ``candidates`` pages by cosine + BM25 and its answering
    pages: (their feature rows, which of them answer)."""
    sets = []
    for X, pos in groups:
        if not pos:
            continue
        pre = X[:, 0] + X[:, 2]
        cand = sorted(set(np.argsort(-pre, kind="stable")[:candidates].tolist()) | set(pos))
        sets.append((X[cand], np.array([c in pos for c in cand], dtype=bool)))
    return sets


def _listwise(sets: list[tuple[np.ndarray, np.ndarray]], l2: float = 1.0, offsets=None) -> np.ndarray:
    """Ranking weights that maximise, over the questions, the probability a softmax of the scores
    gives to the pages that answer among each question's candidates (a listwise, conditional-logit
    fit: it learns to put the answer above that question's own rivals, which a per-page logistic
    fit does not), L2-regularised on standardised features; returns the weights on the raw
    features (a ranking needs no bias). ``offsets``: per set, scores the fitted terms add to (the
    other features' fixed part)."""
    from scipy.optimize import minimize   # fitting only (contentplan dev calibrate-match)
    allx = np.vstack([x for x, _ in sets]).astype(np.float64)
    mu, sd = allx.mean(0), allx.std(0)
    sd[sd < 1e-9] = 1.0
    Z = [((x - mu) / sd, y, 0.0 if offsets is None else np.asarray(offsets[i], dtype=np.float64))
         for i, (x, y) in enumerate(sets)]

    def loss(w):
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for z, y, off in Z:
            s = z @ w + off
            e = np.exp(s - s.max())
            total += float(np.log(e.sum()) - np.log(e[y].sum()))
            grad = grad + z.T @ (e / e.sum()) - z[y].T @ (e[y] / e[y].sum())
        return total, grad
    res = minimize(loss, np.zeros(allx.shape[1]), jac=True, method="L-BFGS-B")
    return res.x / sd


def fit_match_model(groups: list[tuple[np.ndarray, set]], candidates: int = 30, l2: float = 1.0,
                    extra: list[tuple[np.ndarray, set]] = ()) -> MatchModel:
    """Fit the ranking weights and the answered calibration.

    ``groups``: one (X, answering) per labeled question, X its (pages, features) array against its
    own inventory, ``answering`` the set of page indexes that answer it (empty: unanswered).
    ``extra``: more labeled questions (the written action-request set) that teach only the weights
    of the :data:`APART` features. Every other weight, and the operating points, are fitted on
    ``groups`` with those features held at 0; then each apart feature's ranking and calibration
    weight is fitted on ``groups`` + ``extra`` with the others fixed, so a small written set teaches
    what it was written for without moving what the real pairs fitted."""
    apart = [FEATURES.index(f) for f in APART]

    def held(gs):
        out = []
        for X, pos in gs:
            X = X.copy()
            X[..., apart] = 0.0
            out.append((X, pos))
        return out
    base = held(groups)
    # The ranking learns no language preference: the pair set's cross-lingual questions were written
    # in the other language on purpose, which would teach it to prefer the other language's page.
    # A same-language page only wins a tie (a page and its translation), by SAME_LANG_TIE.
    ranked = [k for k, f in enumerate(FEATURES) if f != "same_lang" and f not in APART]
    # Listwise: each question's answer against its own candidates (grouped CV by site on the real
    # pairs' fit split, hit@1 0.837 -> 0.858 against the per-page logistic fit of earlier versions).
    coef = _listwise([(x[:, ranked], y) for x, y in _candidate_sets(base, candidates)], l2=l2)
    bias = 0.0
    weights = dict.fromkeys(FEATURES, SAME_LANG_TIE)
    weights.update(dict.fromkeys(APART, 0.0))
    weights.update(zip((FEATURES[k] for k in ranked), coef.tolist()))
    m = MatchModel(weights, bias, {f: 0.0 for f in ANSWER_INPUTS}, 0.0, {})
    A, ok = answer_table(m, base)
    cols = [j for j, f in enumerate(ANSWER_INPUTS) if f not in APART]
    w, b = _logistic(A[:, cols], ok.astype(float), l2=1e-3)
    answer = dict.fromkeys(ANSWER_INPUTS, 0.0)
    answer.update(zip((ANSWER_INPUTS[j] for j in cols), w.tolist()))
    for name in ("score", "coverage"):
        if answer[name] <= 0:    # P must rise with the score and the words found: a set that says otherwise is not to be trusted
            raise ValueError(f"answered calibration gives {name} a weight of {answer[name]:.3f} (<= 0); more labeled pairs are needed")
    m.answer_weights, m.answer_bias = answer, b
    everything = list(groups) + list(extra)
    sets = _candidate_sets(everything, candidates)
    for f in APART:
        k = FEATURES.index(f)
        m.weights[f] = float(_listwise([(x[:, [k]], y) for x, y in sets], l2=l2, offsets=[m.score(x) for x, _ in sets])[0])
        A, ok = answer_table(m, everything)
        j = ANSWER_INPUTS.index(f)
        logit = A @ np.array([m.answer_weights[g] for g in ANSWER_INPUTS]) + m.answer_bias
        m.answer_weights[f] = _logistic_offset(A[:, j], ok.astype(float), logit, l2=l2)
    A, ok = answer_table(m, groups)
    m.thresholds = operating_points(m.p_answered(A), ok, sum(bool(pos) for _, pos in groups))
    m.info = {"n_questions": len(groups), "n_answerable": int(sum(bool(pos) for _, pos in groups))}
    if extra:
        m.info.update({"n_extra_questions": len(extra), "extra_fits": list(APART)})
    return m


def answer_table(m: MatchModel, groups) -> tuple[np.ndarray, np.ndarray]:
    """(inputs of P(answered), whether the best page answers) for each labeled question."""
    A, ok = [], []
    for X, pos in groups:
        order, a = answer_inputs(X[None], m.score(X)[None])
        A.append(a[0])
        ok.append(bool(pos) and int(order[0, 0]) in pos)
    return np.array(A), np.array(ok)


def write_match_model(model: MatchModel, embedder: str, extra: dict | None = None) -> Path:
    """Store ``model`` for ``embedder`` in the package's data/match_model.json."""
    path = Path(__file__).parent / "data" / MODEL_FILE
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    rec = model.to_dict()
    rec.update(extra or {})
    data[embedder] = rec
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _data_json.cache_clear()
    return path


# ----------------------------------------------------------------------------- the old rule (baseline)

def doc_vector(d) -> np.ndarray:
    """A document's one vector: the normalised mean of its passage vectors."""
    v = d.vectors.mean(0)
    return v / (np.linalg.norm(v) or 1.0)


def doc_vectors(docs) -> np.ndarray | None:
    """Every document's :func:`doc_vector`, stacked; None when a document has no passage vectors
    (an n-gram-only model) or there is none."""
    return np.vstack([doc_vector(d) for d in docs]) if docs and all(d.vectors is not None for d in docs) else None


def lexical_embed(texts):
    from .model.embedders import HashingEmbedder
    return HashingEmbedder().embed(list(texts))


def match_same_stage(q_vec: np.ndarray, docs, inv, q_stage: np.ndarray, c_stage: np.ndarray):
    """The old rule, kept as the benchmark's baseline: best content piece and similarity for each
    question among the pieces of the question's own canonical stage; and, for each piece, the best
    similarity of a question of its stage."""
    from .domain.schemes import NONE
    rows, owner = [], []
    for k, d in enumerate(docs):
        if d.vectors is not None and len(d.vectors):
            rows.append(d.vectors); owner += [k] * len(d.vectors)
    n_q = len(q_vec)
    best_piece = np.full(n_q, -1)
    best_sim = np.zeros(n_q)
    reach = np.zeros(len(docs))
    if not rows or not n_q:
        if docs and not rows:  # n-gram-only model: fall back to lexical vectors of title + body
            P = lexical_embed([f"{t}. {b}" for t, b in zip(inv.title, inv.body)])
            rows, owner = [P], list(range(len(docs)))
        else:
            return best_piece, best_sim, reach
    P = np.vstack(rows).astype(np.float32)
    Q = np.asarray(q_vec, dtype=np.float32)
    owner = np.asarray(owner)
    passage_stage = np.asarray([str(x) for x in c_stage], dtype=object)[owner]
    q_stage = np.asarray([str(x) for x in q_stage], dtype=object)
    for stage in sorted(set(q_stage) & set(passage_stage) - {NONE, ""}):  # 'none' answers nothing
        qi = np.flatnonzero(q_stage == stage)
        pj = np.flatnonzero(passage_stage == stage)
        Pj = P[pj]
        for start in range(0, len(qi), 4096):
            rows = qi[start:start + 4096]
            S = Q[rows] @ Pj.T
            j = S.argmax(1)
            best_sim[rows] = np.maximum(S[np.arange(len(rows)), j], 0.0)
            best_piece[rows] = owner[pj[j]]
            np.maximum.at(reach, owner[pj], S.max(0))
    return best_piece, best_sim, reach


def calibrate_match_threshold(pairs_file: str | Path, embedder: str = "use-multilingual") -> dict:
    """The old rule's cosine threshold, chosen on labeled (question, passage, answered) pairs
    (maximum accuracy on this balanced set = balanced accuracy, Youden's J)."""
    from sklearn.metrics import roc_auc_score

    from .model.embedders import embed_texts, get_embedder

    rows = [json.loads(line) for line in Path(pairs_file).read_text(encoding="utf-8").splitlines() if line.strip()]
    emb = get_embedder(embedder)
    q = embed_texts(emb, [r["question"] for r in rows])
    p = embed_texts(emb, [r["passage"] for r in rows])
    sim = (q * p).sum(1)
    y = np.array([bool(r["answered"]) for r in rows])
    cross = np.array([r.get("lang_q") != r.get("lang_c") for r in rows])
    grid = np.round(np.arange(0.10, 0.90, 0.01), 2)
    acc = [float(((sim >= th) == y).mean()) for th in grid]
    th = float(grid[int(np.argmax(acc))])
    pred = sim >= th
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    return {"threshold": th, "accuracy": round(max(acc), 4), "precision": round(prec, 4), "recall": round(rec, 4),
            "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0,
            "roc_auc": round(float(roc_auc_score(y, sim)), 4),
            "accuracy_cross_lingual": round(float((pred[cross] == y[cross]).mean()), 4) if cross.any() else None,
            "n_pairs": len(rows), "positives": int(y.sum())}


def write_match_threshold(pairs: str | Path = "corpora/matching/pairs.jsonl", embedder: str = "use-multilingual") -> dict:
    """Recalibrate the old rule's cosine threshold of ``embedder`` and store it in data/match_threshold.json."""
    res = calibrate_match_threshold(pairs, embedder)
    path = Path(__file__).parent / "data" / THRESHOLD_FILE
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[embedder] = res
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _data_json.cache_clear()
    return res
