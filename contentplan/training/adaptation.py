"""Adapt a model to a user's own labels in seconds: the base model's features, a new head.

The base model's features stay as they are (the sentence embedding, the word and character n-gram
vocabularies and their idf), so the user's texts are embedded once (and cached) and nothing is
refitted but the linear head. The head is the maximum a posteriori fit with the base weights as
the prior mean (Chelba & Acero, 2004, "little data can help a lot"):

    minimise  C * w_label * sum_i b_i * -log p(S_i | x_i)  +  1/2 sum_j prec_j ||W_j - W_base_j||^2

where C is the base model's regularisation constant (so one label counts as ``label_weight``
training items of the base), b_i balances the user's classes like training does, and S_i is the set
of canonical stages the user's label names. ``prec_j`` (:func:`prior_precision`) is larger for the
weights the base's training data pinned down firmly (the intercept, the embedding dimensions, common
n-grams: a diagonal Fisher approximation, as in elastic weight consolidation), so a few hundred
labels of one source re-weight its words without tilting every other text towards its classes.

A fine label (a canonical stage such as ``support``) is a set of one; a coarse one (``decision`` =
offer or purchase; a user scheme's stage) is the set its scheme projects from, and its likelihood
is the sum of their probabilities: the labels move the coarse boundary, while the split inside the
set stays where the base model's weights put it (the gradient shares each label among the set's
stages in proportion to their current probabilities). Weights of n-grams absent from the user's
texts get no gradient and keep their base values exactly; the temperature, the abstention
threshold and the nearest-neighbour vote (the base's training texts; see
:func:`~contentplan.model.runtime.neighbour_arrays`) are the base model's: the head is fitted as a linear
model and every reported figure is computed on the adapted model's full output, vote included.
"""
from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..domain.schemes import NONE, UNCLEAR, Scheme, canonical_stages, label_key, load_scheme, model_labels
from ..errors import InputError, ModelError, OutputError

DEFAULT_LABEL_WEIGHT = 3.0    # one user label counts as this many training items of the base model
DEFAULT_PRIOR_STRENGTH = 0.1  # scales the base's estimated Fisher information in the prior (see prior_precision)
DEFAULT_BALANCE = 0.5         # class balancing exponent over the user's labels (as training)
CV_FOLDS = 3
CV_MAX_ITER = 60       # L-BFGS iterations of each cross-validation fold (an estimate, not the shipped head)
MIN_CV_LABELS = 20
CORRECTED = ("stage_corrected", "corrected_stage", "stage corrected", "corrected stage", "correction")


# ----------------------------------------------------------------------------- reading labels

@dataclass
class LabeledData:
    """The user's labeled texts, as read from one file."""

    texts: list[str]
    labels: list[str]
    rows: list[int]              # 1-based data row of each label in the file (header excluded)
    source: str
    sha256: str
    kind: str = "table"          # table | classify output (corrections) | classify output (all rows)
    text_column: str = ""
    label_column: str = ""
    notes: list[str] = field(default_factory=list)


def _file_sha256(path: str | Path) -> str:
    from ..io.tables import source_path
    h = hashlib.sha256()
    with open(source_path(path), "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()


def read_labels(path: str | Path, text_column: str | None = None, label_column: str | None = None,
                all_rows: bool = False) -> LabeledData:
    """Read a labeled file (CSV/TSV/XLSX/JSON/JSONL; any text and label columns).

    A ``classify`` output (``stage``, ``confidence`` and ``p_<stage>`` columns) is read as
    corrections: its ``stage_corrected`` column where there is one, else the rows whose ``stage``
    differs from the model's own answer (the highest of the row's ``p_`` columns); ``all_rows``
    takes every row's stage. Rows with a blank text or label are left out; a text labeled more than
    once keeps its last label (a ``review`` file is append-only: a later answer, an undo, wins)."""
    from ..io.encoding import display_name
    from ..io.tables import column_key, detect_column, read_table

    name = display_name(path)
    frame = read_table(path)
    if frame.empty:
        raise InputError(f"{name}: no rows; give a file with a text column and a label column")
    cols = [str(c) for c in frame.columns]
    notes: list[str] = []
    pcols = [c for c in cols if c.startswith("p_")]
    is_classify = "stage" in cols and "confidence" in cols and bool(pcols) and not label_column
    corrected = next((c for c in cols if column_key(c) in {column_key(x) for x in CORRECTED}), None) if not label_column else None
    kind = "table"
    if corrected:
        lcol, kind = corrected, "classify output (corrections)" if is_classify else "table"
    else:
        lcol = detect_column(frame, "stage", label_column, where=name, option="--label-column")
    exclude = tuple(c for c in (lcol, "stage", "explanation", "intent", "lang", "confidence", *pcols) if c in cols)
    tcol = detect_column(frame, "text", text_column, where=name, option="--text-column", exclude=exclude)
    texts, labels = frame[tcol].tolist(), frame[lcol].tolist()
    keep = [not _blank(t) and not _blank(lab) for t, lab in zip(texts, labels)]
    if corrected:
        notes.append(f"{name}: labels read from column '{corrected}' ({sum(keep)} filled row(s))")
    elif is_classify:
        answers = frame[pcols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        model_answer = [pcols[int(np.nanargmax(r))][2:] if np.isfinite(r).any() else "" for r in answers]
        changed = [k and label_key(lab) not in (label_key(m), UNCLEAR) for k, lab, m in zip(keep, labels, model_answer)]
        unclear = sum(k and label_key(lab) == UNCLEAR for k, lab in zip(keep, labels))
        if all_rows:
            kind = "classify output (all rows)"
            keep = [k and label_key(lab) != UNCLEAR for k, lab in zip(keep, labels)]
            notes.append(f"{name}: classify output; every row's stage used as a label ({sum(keep)} row(s), "
                         f"{unclear} 'unclear' left out)")
        else:
            kind = "classify output (corrections)"
            left = sum(keep) - sum(changed) - unclear
            keep = changed
            notes.append(f"{name}: classify output; the {sum(keep)} row(s) whose stage you changed are the labels, "
                         f"the {left} still holding the model's answer are left out (pass --all-rows if you checked them "
                         "too, or add a stage_corrected column)")
    blank = len(texts) - sum(not _blank(t) and not _blank(lab) for t, lab in zip(texts, labels))
    last: dict[str, int] = {}
    for i, t in enumerate(texts):
        if not _blank(t):
            last[str(t).strip()] = i   # the last row of a text decides (also when its label is blank: an undo)
    picked = [i for i, t in enumerate(texts) if keep[i] and last.get(str(t).strip()) == i]
    repeats = sum(keep) - len(picked)
    if repeats:
        notes.append(f"{name}: {repeats} earlier row(s) of a text labeled again further down are overridden by the later row")
    if blank and kind == "table":
        notes.append(f"{name}: {blank} row(s) with a blank text or label left out")
    if not picked:
        raise InputError(f"{name}: no labeled rows (text column '{tcol}', label column '{lcol}'); fill the label "
                         "column, or pass --text-column / --label-column")
    return LabeledData([str(texts[i]) for i in picked], [str(labels[i]).strip() for i in picked],
                       [i + 1 for i in picked], name, _file_sha256(path), kind, tcol, lcol, notes)


# ----------------------------------------------------------------------------- label resolution

def label_sets(labels: Sequence[str], scheme: Scheme, where: str = "data",
               rows: Sequence[int] | None = None) -> list[tuple[str, ...]]:
    """The canonical stages each label names: one for a canonical stage or ``none``, the stage's
    projection for a scheme stage (its id, label in any language or alias; the scheme's own names
    win, as in ``evaluate``). An unknown label raises the error ``evaluate`` gives, with its row."""
    from .evaluation import gold_to_scheme
    gold_to_scheme(list(labels), scheme, where, rows=rows)   # the one resolution rule; raises on an unknown label
    own = {}
    for st in scheme.stages:
        for name in (st.id, *st.label.values(), *st.aliases):
            own[label_key(name)] = tuple(st.canonical)
    canon = {}
    for cs in canonical_stages():
        for name in (cs.id, *cs.label.values()):
            canon.setdefault(label_key(name), (cs.id,))
    out = []
    for lab in labels:
        k = label_key(lab)
        out.append(own.get(k) or canon.get(k) or (NONE,))
    return out


def resolve_scheme(labels: Sequence[str], scheme: str | Scheme | None) -> Scheme:
    from .evaluation import guess_scheme
    return load_scheme(scheme if scheme else guess_scheme(list(labels)))


# ----------------------------------------------------------------------------- features and head

def training_texts(texts: Sequence[str]) -> list[str]:
    """What the model reads for each text, as ``classify`` reads it: whitespace normalised, a cell
    holding an HTML page read as its title and main text."""
    from ..model.pipeline import clean_cell, strip_html
    body, titles = strip_html([str(t) for t in texts])
    return [clean_cell(f"{ti}. {b}" if ti else b) for ti, b in zip(titles, body)]


def feature_matrix(runtime, texts: Sequence[str], embeddings: np.ndarray | None = None) -> sp.csr_matrix:
    """The features a :class:`~contentplan.model.runtime.LinearStageModel` computes for ``texts``
    (embedding block, word and character TF-IDF): logits = X @ coef.T + intercept."""
    from ..model.runtime import tfidf
    texts = list(texts)
    blocks = []
    if runtime.embedder:
        emb = runtime.embed(texts) if embeddings is None else np.asarray(embeddings)
        blocks.append(sp.csr_matrix((emb.astype(np.float32) * np.float32(runtime.emb_weight)).astype(np.float64)))
    if runtime.ngrams:
        wc, cc = runtime.ngram_counts(texts)
        blocks += [tfidf(wc, runtime.word_idf), tfidf(cc, runtime.char_idf)]
    return sp.hstack(blocks, format="csr", dtype=np.float64)


def target_mask(sets: Sequence[tuple[str, ...]], classes: Sequence[str]) -> np.ndarray:
    """(n, n_classes) booleans: the classes each label allows."""
    index = {c: j for j, c in enumerate(classes)}
    mask = np.zeros((len(sets), len(classes)), dtype=bool)
    for i, s in enumerate(sets):
        for c in s:
            if c not in index:
                raise ModelError(f"the base model has no class '{c}' (its classes: {', '.join(classes)}); "
                                 "adapt a model trained with it, e.g. the shipped one")
            mask[i, index[c]] = True
    return mask


def _logsumexp(z: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    if mask is not None:
        z = np.where(mask, z, -np.inf)
    m = z.max(1, keepdims=True)
    return (m + np.log(np.exp(z - m).sum(1, keepdims=True))).ravel()


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """A dot product without BLAS: on a busy machine, a threaded BLAS call on 10^5 numbers can
    wait milliseconds for its threads (measured: 3.6 ms against 0.2 ms)."""
    return float(np.multiply(a, b).sum())


def minimize_lbfgs(fun, x0: np.ndarray, max_iter: int = 300, memory: int = 10, tol: float = 1e-6) -> np.ndarray:
    """Minimise ``fun(x) -> (value, gradient)`` by L-BFGS (two-loop recursion, backtracking Armijo
    line search) from ``x0``; stops when an iteration lowers the value by less than ``tol`` relative.

    scipy's L-BFGS-B spends ~0.1 s per iteration in its bound handling on 10^5 parameters, ten times
    the cost of the objective here; this plain version spends almost nothing outside it."""
    x = np.array(x0, dtype=np.float64, copy=True)
    fx, g = fun(x)
    S: list[np.ndarray] = []
    Y: list[np.ndarray] = []
    for _ in range(max_iter):
        q = g.copy()
        coeffs = []
        for s_, y_ in zip(reversed(S), reversed(Y)):
            rho = 1.0 / _dot(y_, s_)
            a = rho * _dot(s_, q)
            q -= a * y_
            coeffs.append((rho, a))
        if S:
            q *= _dot(S[-1], Y[-1]) / _dot(Y[-1], Y[-1])
        else:
            q /= max(float(np.abs(g).max()), 1.0)
        for (s_, y_), (rho, a) in zip(zip(S, Y), reversed(coeffs)):
            q += s_ * (a - rho * _dot(y_, q))
        d = -q
        slope = _dot(g, d)
        if slope >= 0:   # not a descent direction: restart from the gradient
            S.clear(); Y.clear()
            d = -g / max(float(np.abs(g).max()), 1.0)
            slope = _dot(g, d)
        if slope == 0:
            break
        step = 1.0
        while True:
            xn = x + step * d
            fn, gn = fun(xn)
            if fn <= fx + 1e-4 * step * slope or step < 1e-8:
                break
            step *= 0.5
        s_, y_ = xn - x, gn - g
        if _dot(s_, y_) > 1e-12:
            S.append(s_); Y.append(y_)
            if len(S) > memory:
                S.pop(0); Y.pop(0)
        done = fx - fn <= tol * max(abs(fn), 1.0)
        x, fx, g = xn, fn, gn
        if done:
            break
    return x


def fit_head(X: sp.csr_matrix, mask: np.ndarray, weights: np.ndarray, coef: np.ndarray, intercept: np.ndarray,
             temperature: float, C: float, precision: tuple[np.ndarray, float] | None = None,
             max_iter: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """New weights and intercept: the MAP fit described in the module docstring. Only the columns
    of ``X`` with a non-zero value move; the others keep the base weights. ``precision``: the
    prior's precision per feature column and for the intercept (default 1: the base's own penalty)."""
    X = sp.csr_matrix(X)
    active = np.unique(X.indices)
    XA = X[:, active].tocsr()
    XAT = XA.T.tocsr()
    W0 = coef[:, active].astype(np.float64)
    b0 = intercept.astype(np.float64)
    K, A = W0.shape
    w = np.asarray(weights, dtype=np.float64)
    pw = np.ones(A) if precision is None else np.asarray(precision[0], dtype=np.float64)[active]
    pb = 1.0 if precision is None else float(precision[1])

    def objective(theta):
        W = theta[:K * A].reshape(K, A)
        b = theta[K * A:]
        Z = (np.asarray(XA @ W.T) + b) / temperature
        lse_all, lse_set = _logsumexp(Z), _logsumexp(Z, mask)
        loss = float(np.dot(w, lse_all - lse_set))
        P = np.exp(Z - lse_all[:, None])
        R = np.where(mask, np.exp(Z - lse_set[:, None]), 0.0)
        G = (w[:, None] * (P - R)) / temperature          # d loss / d logits
        gW = np.asarray(XAT @ G).T
        dW, db = W - W0, b - b0
        obj = C * loss + 0.5 * (float((dW * dW * pw).sum()) + pb * _dot(db, db))
        grad = np.concatenate([(C * gW + dW * pw).ravel(), C * G.sum(0) + pb * db])
        return obj, grad

    theta = minimize_lbfgs(objective, np.concatenate([W0.ravel(), b0]), max_iter=max_iter)
    new_coef = np.array(coef, dtype=np.float64, copy=True)
    new_coef[:, active] = theta[:K * A].reshape(K, A)
    return new_coef, theta[K * A:].copy()


def prior_precision(runtime, X: sp.csr_matrix, strength: float) -> tuple[np.ndarray, float]:
    """A diagonal approximation of how firmly the base's training data pinned each weight (the
    diagonal Fisher information of elastic weight consolidation, Kirkpatrick et al. 2017), from
    what the model folder holds: a feature present in many training texts (the intercept, every
    embedding dimension, a common word) keeps its base weight far more firmly than a rare n-gram.

    precision_j = 1 + strength * df_j * s_j, with df_j the number of training texts holding feature j
    (all of them for the intercept and the embedding dimensions; from the idf for an n-gram:
    idf = ln((1 + n) / (1 + df)) + 1) and s_j its mean square value when present (embedding:
    emb_weight^2 / dim; n-gram: its idf^2 over a typical row's squared norm, the median over ``X``'s rows
    before normalisation)."""
    parts = []
    n_texts = None
    if runtime.ngrams and len(runtime.word_idf):
        # The vectorizers' min_df is 2 (words): the rarest term's idf gives the number of texts.
        n_texts = 3.0 * np.exp(float(runtime.word_idf.max()) - 1.0) - 1.0
    n = n_texts or 10000.0
    if runtime.embedder:
        parts.append(np.full(runtime.embedding_dim_, n * runtime.emb_weight ** 2 / runtime.embedding_dim_))
    if runtime.ngrams:
        for block, idf in enumerate((runtime.word_idf, runtime.char_idf), start=1):
            df = np.maximum((1.0 + n) / np.exp(idf - 1.0) - 1.0, 1.0)
            # A typical row's squared norm before normalisation: the sum of its terms' idf^2 (tf 1).
            parts.append(df * idf ** 2 / (float(np.median(idf)) ** 2 * _typical_terms(X, block, runtime)))
    fisher = np.concatenate(parts)
    return 1.0 + strength * fisher, 1.0 + strength * n


def _typical_terms(X, block: int, runtime) -> float:
    """The median number of distinct terms per row in the word (block 1) or char (block 2) block of ``X``."""
    n_emb = runtime.embedding_dim_ if runtime.embedder else 0
    lo = n_emb if block == 1 else n_emb + len(runtime.word_terms)
    hi = lo + (len(runtime.word_terms) if block == 1 else len(runtime.char_terms))
    counts = np.diff(sp.csr_matrix(X)[:, lo:hi].indptr)
    return float(max(np.median(counts), 1.0))


def label_weights(sets: Sequence[tuple[str, ...]], label_weight: float, balance: float = DEFAULT_BALANCE) -> np.ndarray:
    """Each label's weight: ``label_weight`` times the class balancing training applies
    (``(mean class total / class total) ** balance``, a class being the set a label names)."""
    keys = np.array(["|".join(s) for s in sets], dtype=object)
    counts = {k: int((keys == k).sum()) for k in set(keys)}
    mean = len(keys) / len(counts)
    return np.array([label_weight * (mean / counts[k]) ** balance for k in keys])


def _proba(X: sp.csr_matrix, coef: np.ndarray, intercept: np.ndarray, temperature: float, rt=None) -> np.ndarray:
    """The model's probabilities for feature rows X with this head, computed by the runtime's own
    output step (``rt``: the base model's runtime), so the base's nearest-neighbour vote is blended
    in exactly as the saved model will (the embedding block of X, divided by its weight, gives the
    texts' embeddings back)."""
    from ..model.runtime import softmax
    Z = np.asarray(X @ coef.T) + intercept
    if getattr(rt, "neighbours", None) is None:
        return softmax(Z / temperature)
    return rt._output(Z, X[:, :rt.embedding_dim_].toarray() / rt.emb_weight, temperature)


def _to_model_labels(P: np.ndarray, classes: Sequence[str]) -> np.ndarray:
    """Estimator columns -> :func:`model_labels` columns (a zero ``none`` column when it lacks one)."""
    cols = list(classes)
    out = np.zeros((len(P), len(model_labels())))
    for j, lab in enumerate(model_labels()):
        if lab in cols:
            out[:, j] = P[:, cols.index(lab)]
    return out


def _answers(P: np.ndarray, classes: Sequence[str], scheme: Scheme) -> list[str]:
    return scheme.decide(_to_model_labels(P, classes), 0.0).answers


def _scores(gold: list[str], pred: list[str], scheme: Scheme) -> dict:
    from .evaluation import score
    labels = list(scheme.ids) + [NONE]
    s = score("model", gold, pred, ["all"] * len(gold), labels)
    return {"n": s.n, "accuracy": round(s.accuracy, 4), "macro_f1": round(s.macro_f1, 4)}


def cross_validate(X, mask, weights, coef, intercept, temperature, C, gold: list[str], classes, scheme: Scheme,
                   folds: int = CV_FOLDS, seed: int = 0, precision=None, rt=None) -> dict:
    """Scores on the user's labels of the base and the adapted head, each fold's head fitted
    without that fold (each text read as one text). ``gold``: labels at the scheme's grain."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(gold))
    fold_of = np.empty(len(gold), dtype=int)
    # Stratified round robin: every label spread over the folds.
    pos = 0
    for g in sorted(set(gold)):
        idx = [i for i in order if gold[i] == g]
        fold_of[idx] = (pos + np.arange(len(idx))) % folds
        pos += len(idx)
    pred = [""] * len(gold)
    for k in range(folds):
        te = np.flatnonzero(fold_of == k)
        tr = np.flatnonzero(fold_of != k)
        if not len(te):
            continue
        c2, b2 = fit_head(X[tr], mask[tr], weights[tr], coef, intercept, temperature, C, precision, max_iter=CV_MAX_ITER)
        for i, a in zip(te, _answers(_proba(X[te], c2, b2, temperature, rt), classes, scheme)):
            pred[i] = a
    base = _answers(_proba(X, coef, intercept, temperature, rt), classes, scheme)
    return {"folds": folds, "base": _scores(gold, base, scheme), "adapted": _scores(gold, pred, scheme)}


# ----------------------------------------------------------------------------- the command's work

@dataclass
class AdaptResult:
    output: Path
    meta: dict
    notes: list[str]


def check_adapt_output(output: str | Path, base_dir: Path, data_path: str | Path) -> None:
    """Refuse an output folder that is the base model folder, is inside it or holds it, or is the
    labeled file; and (as ``train -o``) any existing folder that is not a model folder."""
    import os

    from ..io.tables import source_path
    from ..model.artifacts import check_model_folder
    out = Path(os.path.realpath(output))
    base = Path(os.path.realpath(base_dir))
    if out == base or base in out.parents or out in base.parents:
        where = "is" if out == base else ("is inside" if base in out.parents else "holds")
        raise OutputError(f"{output}: {where} the base model folder {base_dir}; write the adapted model to another "
                          "folder, e.g. -o models/adapted")
    data = Path(os.path.realpath(source_path(data_path)))
    if out == data or out in data.parents:
        raise OutputError(f"{output}: {'is' if out == data else 'holds'} the labeled file {data_path}; "
                          "write the adapted model to another folder")
    check_model_folder(output)


def adapt_model(data_path: str | Path, output: str | Path, base_dir: str | Path | None = None,
                text_column: str | None = None, label_column: str | None = None, scheme: str | None = None,
                all_rows: bool = False, label_weight: float = DEFAULT_LABEL_WEIGHT, corpus: str | Path | None = "corpora",
                cv: bool = True, prior_strength: float = DEFAULT_PRIOR_STRENGTH,
                progress: Callable[[str], None] | None = None) -> AdaptResult:
    """Adapt the model in ``base_dir`` (default: the shipped one) to the labels in ``data_path`` and
    write the adapted model folder ``output`` (loadable by every ``--model`` option).

    ``meta.json`` records the base model, the labeled file's sha256, the label mapping, the method
    and its metrics: cross-validated scores on the labels (base vs adapted) and, when the corpus
    test split is found under ``corpus``, macro-F1 on its questions (base vs adapted)."""
    from ..model.artifacts import RUNTIME, default_model_dir, file_sha256, load_estimator, read_meta, save_model

    say = progress or (lambda m: None)
    start = time.monotonic()
    base_dir = Path(base_dir) if base_dir else default_model_dir()
    base_meta = read_meta(base_dir)
    check_adapt_output(output, base_dir, data_path)
    has_test = bool(corpus) and (Path(corpus) / "test").is_dir()
    plan = ["read", "embed", "fit", *(["cv"] if cv else []), *(["corpus"] if has_test else []), "save"]

    def step(name: str, message: str) -> None:
        say(f"step {plan.index(name) + 1}/{len(plan)}: {message}")

    step("read", f"reading {data_path}")
    data = read_labels(data_path, text_column, label_column, all_rows)
    sch = resolve_scheme(data.labels, scheme)
    sets = label_sets(data.labels, sch, data.source, rows=data.rows)
    est = load_estimator(base_dir, base_meta)
    classes = [str(c) for c in est.classes_]
    mask = target_mask(sets, classes)
    rt = est.runtime()
    texts = training_texts(data.texts)
    step("embed", f"features of {len(texts)} labeled text(s) ({rt.embedder or 'n-grams only'}; embeddings cached)")
    X = feature_matrix(rt, texts)
    C = float(base_meta.get("params", {}).get("C") or getattr(est, "C", 1.0))
    weights = label_weights(sets, label_weight)
    T = float(est.temperature_)
    coef0 = np.asarray(est.lr_.coef_, dtype=np.float64)
    b0 = np.asarray(est.lr_.intercept_, dtype=np.float64)
    if coef0.shape[0] != len(classes):
        raise ModelError(f"{base_dir}: a binary model cannot be adapted; adapt a model trained on several stages")
    step("fit", f"fitting the head on {len(texts)} label(s), the base weights as prior")
    precision = prior_precision(rt, X, prior_strength) if prior_strength else None
    coef, intercept = fit_head(X, mask, weights, coef0, b0, T, C, precision)
    gold = [sch.of_canonical(s[0]) for s in sets]   # a set never spans two scheme stages
    metrics: dict = {
        "labels_fit": {"base": _scores(gold, _answers(_proba(X, coef0, b0, T, rt), classes, sch), sch),
                       "adapted": _scores(gold, _answers(_proba(X, coef, intercept, T, rt), classes, sch), sch)}}
    notes = list(data.notes)
    if cv:
        if len(texts) >= MIN_CV_LABELS and len(set(gold)) >= 2:
            step("cv", f"{CV_FOLDS}-fold cross-validation on the labels")
            metrics["cross_validated"] = cross_validate(X, mask, weights, coef0, b0, T, C, gold, classes, sch,
                                                       precision=precision, rt=rt)
        else:
            notes.append(f"{len(texts)} label(s): too few for cross-validation (needs {MIN_CV_LABELS} and two stages); "
                         "no held-out figure on your labels")
    lr = copy.copy(est.lr_)   # a new object: the estimator rebuilds its runtime twin (cached per lr_) from it
    lr.coef_, lr.intercept_ = coef, intercept
    est.lr_ = lr
    if has_test:
        step("corpus", f"scoring the corpus test split ({corpus}/test questions), base vs adapted")
        metrics["corpus_test_questions"] = corpus_check(base_dir, est, base_meta, corpus)
        drop = metrics["corpus_test_questions"]["base"]["macro_f1"] - metrics["corpus_test_questions"]["adapted"]["macro_f1"]
        if drop > 0.02:
            notes.append(f"warning: macro-F1 on the corpus test questions fell by {drop:.3f} (more than 0.02): the labels "
                         "pull the model away from the general case; lower --label-weight if that matters")
    elif corpus:
        notes.append(f"corpus test split not found under {corpus}: no check of the general case")
    counts = pd.Series(data.labels).map(lambda v: str(v).strip()).value_counts()
    mapping = {lab: list(s) for lab, s in zip(data.labels, sets)}
    base_files = base_meta.get("files", {})
    meta = {k: base_meta[k] for k in ("embedder", "embedding_dim", "corpus_sha256", "real_labels_sha256",
                                      "real_sources_trained", "train_size") if k in base_meta}
    meta.update({
        "name": Path(output).name,
        "created": _dt.date.today().isoformat(),
        "scheme": "canonical",
        "labels": classes,
        "min_confidence": base_meta.get("min_confidence", 0.0),
        "params": {**base_meta.get("params", {}), "temperature": round(T, 4)},
        "calibrated_on": base_meta.get("calibrated_on", ""),
        "adapted": {
            "base": {"name": base_meta.get("name", base_dir.name), "path": str(base_dir), "created": base_meta.get("created"),
                     "inference_sha256": base_files.get(RUNTIME) or file_sha256(base_dir / RUNTIME),
                     "adapted_from": (base_meta.get("adapted") or {}).get("base", {}).get("name")},
            "data": {"file": data.source, "sha256": data.sha256, "kind": data.kind, "text_column": data.text_column,
                     "label_column": data.label_column, "labels_used": len(texts)},
            "label_scheme": sch.name,
            "label_mapping": {k: mapping[k] for k in sorted(mapping)},
            "label_counts": {str(k): int(v) for k, v in counts.items()},
            "method": "MAP head fit, base weights as prior (diagonal precision from the base's feature frequencies); "
                      "coarse labels as the set of canonical stages they project from",
            "label_weight": label_weight,
            "prior_strength": prior_strength,
            "balance": DEFAULT_BALANCE,
            "metrics": metrics,
        },
    })
    step("save", f"writing {output}")
    meta["adapted"]["seconds"] = round(time.monotonic() - start, 1)
    save_model(est, meta, output, adapted_card(meta))
    return AdaptResult(Path(output), meta, notes)


def corpus_check(base_dir: Path, est, base_meta: dict, corpus: str | Path) -> dict:
    """Buyer-journey macro-F1 on the corpus test questions, base model vs adapted estimator."""
    from ..model.pipeline import JourneyModel
    from .corpus import load_split

    tq, _ = load_split(corpus, "test")
    bj = load_scheme("buyer-journey")
    gold = [bj.of_canonical(s) for s in tq.stage]
    out = {}
    for name, model in (("base", JourneyModel.load(base_dir)), ("adapted", JourneyModel(est, base_meta))):
        pred = bj.decide(model.proba(tq.text.tolist()), 0.0).answers
        out[name] = _scores(gold, pred, bj)
    return out


def adapted_card(meta: dict) -> str:
    a = meta["adapted"]
    m = a["metrics"]
    lines = [f"# contentplan model `{meta['name']}` (adapted)", "",
             f"Adapted from `{a['base']['name']}` (created {a['base']['created']}, inference.npz sha256 "
             f"`{a['base']['inference_sha256'][:16]}…`) to {a['data']['labels_used']} label(s) of `{a['data']['file']}` "
             f"(sha256 `{a['data']['sha256'][:16]}…`, {a['data']['kind']}), labels read in scheme `{a['label_scheme']}`.", "",
             f"- method: {a['method']}; one label counts as {a['label_weight']:g} training items of the base",
             "- features, temperature, abstention threshold and nearest-neighbour vote: the base model's",
             f"- created: {meta['created']} in {a.get('seconds', 0)} s", "", "## Labels", "",
             "| label | count | canonical stages |", "|---|---:|---|"]
    for lab, n in a["label_counts"].items():
        lines.append(f"| {lab} | {n} | {', '.join(a['label_mapping'].get(lab, []))} |")
    lines += ["", "## Metrics (macro-F1 over the label scheme's stages + none)", "",
              "| data | base | adapted |", "|---|---:|---:|"]
    names = {"labels_fit": "your labels (trained on: not held out)",
             "cross_validated": "your labels, cross-validated (held out)",
             "corpus_test_questions": "corpus test questions (buyer-journey)"}
    for key, label in names.items():
        if key in m:
            lines.append(f"| {label} | {m[key]['base']['macro_f1']:.3f} | {m[key]['adapted']['macro_f1']:.3f} |")
    lines.append("")
    return "\n".join(lines)


def model_summary(meta: dict, path) -> str:
    """One line naming the model that produced an output: its folder, and for an adapted model its
    base and labels ('models/mine: adapted from default on 120 labels of my-labels.csv, 2026-12-07')."""
    where = str(path) if path else "the shipped model"
    a = meta.get("adapted")
    if isinstance(a, dict):
        base = a.get("base", {}).get("name", "?")
        data = a.get("data", {})
        return (f"{where}: adapted from {base} on {data.get('labels_used', '?')} labels of {data.get('file', '?')}, "
                f"{meta.get('created', '?')}")
    return f"{where}: {meta.get('name', 'model')}, trained {meta.get('created', '?')}"
