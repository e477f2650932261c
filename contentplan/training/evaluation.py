"""Evaluation: accuracy, macro-F1, per-stage F1, per-language scores and confusion matrix, for the
model and for two baselines (cue-word rules, TF-IDF-only model), on the test split or a labeled file."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from ..domain.schemes import BUILTIN, DEFAULT_SCHEME, Scheme, canonical_ids, load_scheme
from ..errors import InputError, did_you_mean


@dataclass
class Scores:
    name: str
    n: int
    accuracy: float
    macro_f1: float
    per_stage_f1: dict
    per_lang: dict
    confusion: pd.DataFrame = field(repr=False)

    def as_dict(self) -> dict:
        return {"n": self.n, "accuracy": round(self.accuracy, 4), "macro_f1": round(self.macro_f1, 4),
                "per_stage_f1": {k: round(v, 4) for k, v in self.per_stage_f1.items()},
                "per_lang": {k: {m: round(x, 4) for m, x in v.items()} for k, v in self.per_lang.items()}}


def score(name: str, gold: list[str], pred: list[str], langs: list[str], labels: list[str]) -> Scores:
    gold, pred, langs = list(gold), list(pred), list(langs)
    f1s = f1_score(gold, pred, labels=labels, average=None, zero_division=0)
    per_lang = {}
    for lang in sorted(set(langs)):
        idx = [i for i, l in enumerate(langs) if l == lang]
        g = [gold[i] for i in idx]
        p = [pred[i] for i in idx]
        present = [l for l in labels if l in g]
        per_lang[lang] = {"n": len(idx), "accuracy": accuracy_score(g, p),
                          "macro_f1": f1_score(g, p, labels=present, average="macro", zero_division=0)}
    cm = pd.DataFrame(confusion_matrix(gold, pred, labels=labels + (["unclear"] if "unclear" in pred else [])),
                      index=labels + (["unclear"] if "unclear" in pred else []),
                      columns=labels + (["unclear"] if "unclear" in pred else []))
    present = [l for l in labels if l in gold]
    return Scores(name, len(gold), accuracy_score(gold, pred),
                  f1_score(gold, pred, labels=present, average="macro", zero_division=0),
                  dict(zip(labels, map(float, f1s))), per_lang, cm)


def gold_to_scheme(labels: list[str], scheme: Scheme, where: str = "data", rows: list[int] | None = None) -> list[str]:
    """Gold labels -> scheme ids. A label may be a stage id, a stage label in any language or an
    alias of the scheme, or a canonical stage, in any case, with or without accents and separators
    ("Post-Purchase", "post_purchase", "Après-achat" and "support" all give post-purchase).
    ``rows``: the file row of each label, for the error (default: its position)."""
    out = []
    for i, lab in enumerate(labels):
        sid = scheme.resolve(lab)
        if sid is None:
            lab = str(lab).strip()
            canon = canonical_ids()
            raise InputError(f"{where}: row {rows[i] if rows else i + 1}: stage '{lab}' is not in scheme '{scheme.name}' ({', '.join(scheme.ids)}) "
                             f"nor a canonical stage{did_you_mean(lab, list(scheme.ids) + sorted(canon))}; pass --scheme with the scheme the labels use")
        out.append(sid)
    return out


def is_unclear_label(label) -> bool:
    """A gold label saying the text has no stage signal (rule 18): scored apart, never as a stage."""
    from ..domain.schemes import UNCLEAR, label_key
    return label_key(label) == UNCLEAR   # as `adapt` reads it: any case, accents or separators


def guess_scheme(labels: list[str]) -> str:
    """The built-in scheme that names every label (the default, buyer-journey, first, so canonical labels and
    the common funnel names land there)."""
    values = {str(v).strip() for v in labels if not is_unclear_label(v)}   # 'unclear' is in no scheme and fits every one
    for name in BUILTIN:
        scheme = load_scheme(name)
        if all(scheme.resolve(v) is not None for v in values):
            return name
    return DEFAULT_SCHEME


@dataclass
class EvaluationReport:
    """Scores of the model and its baselines on one labeled set, for one scheme."""

    scheme: str
    data: str
    results: dict  # name -> Scores
    abstention: dict = field(default_factory=dict)  # the model with its 'unclear' threshold

    def summary(self) -> pd.DataFrame:
        rows = []
        for name, s in self.results.items():
            row = {"system": name, "n": s.n, "accuracy": round(s.accuracy, 4), "macro_f1": round(s.macro_f1, 4)}
            for lang, v in s.per_lang.items():
                row[f"macro_f1_{lang}"] = round(v["macro_f1"], 4)
            rows.append(row)
        return pd.DataFrame(rows)

    def per_stage(self) -> pd.DataFrame:
        stages = list(next(iter(self.results.values())).per_stage_f1)
        return pd.DataFrame([{"stage": st, **{f"f1_{n}": round(s.per_stage_f1[st], 4) for n, s in self.results.items()}}
                             for st in stages])

    def to_dict(self) -> dict:
        return {"scheme": self.scheme, "data": self.data,
                "results": {n: {**s.as_dict(), "confusion": s.confusion.to_dict()} for n, s in self.results.items()},
                "abstention": self.abstention}

    def abstention_line(self) -> str:
        a = self.abstention
        if not a:
            return ""
        line = (f"With the model's abstention threshold ({a['min_confidence']}): {a['unclear_rate']:.1%} come out "
                f"'unclear'; accuracy on the rest {a['accuracy_answered']:.4f} (scores above: every item answered, no abstention)")
        if a.get("n_gold_unclear"):
            line += (f"; of the {a['n_gold_unclear']} items labeled 'unclear' (left out of the scores), "
                     f"{a['gold_unclear_abstained']:.1%} come out 'unclear'")
        return line


def load_baseline(model):
    """The TF-IDF-only baseline saved beside a model by ``contentplan train`` (checked against the
    sha256 its ``meta.json`` records), or None when the folder has none."""
    from ..model.artifacts import load_baseline_estimator
    from ..model.pipeline import JourneyModel

    if model.path is None:
        return None
    est = load_baseline_estimator(model.path, model.meta)
    return None if est is None else JourneyModel(est, model.meta, None)


def evaluate_labeled(model, texts: list[str], gold: list[str], scheme: Scheme, data_name: str,
                     titles: list[str] | None = None) -> EvaluationReport:
    """Score model, TF-IDF-only baseline and cue-word rules on labeled texts (gold in scheme or canonical ids).

    Predictions are what every command answers (:meth:`Scheme.decide`, before abstention): a scheme
    stage, or ``none`` when that wins. Gold ``none`` (text on no journey) is scored like a stage;
    gold ``unclear`` (no stage signal) is left out of the scores and measures abstention only."""
    from ..domain.schemes import NONE, UNCLEAR
    from ..model.lang import detect_lang
    from ..model.rules import rule_stage

    unclear = np.array([is_unclear_label(g) for g in gold], dtype=bool)
    labeled = ~unclear
    keep = np.flatnonzero(labeled)
    gold_s = np.array([UNCLEAR] * len(gold), dtype=object)
    if len(keep):
        gold_s[keep] = gold_to_scheme([gold[i] for i in keep], scheme, data_name, rows=(keep + 1).tolist())
    base = load_baseline(model)   # before the model's predictions: a refused baseline fails at once
    langs = [detect_lang(t) for t in texts]
    labels = list(scheme.ids) + [NONE]

    def decide(m, threshold: float = 0.0):
        if titles is not None:
            proba = np.vstack([d.proba for d in m.documents(list(zip(titles, texts)))])
        else:
            proba = m.proba(texts)
        return scheme.decide(proba, threshold)

    lab_langs = [langs[i] for i in keep]
    g = gold_s[labeled].tolist()
    dec = decide(model, model.min_confidence)
    pred = np.array(dec.answers, dtype=object)
    results = {"model": score("model", g, pred[labeled].tolist(), lab_langs, labels)}
    answered = np.array([s != UNCLEAR for s in dec.stage], dtype=bool)
    abstention = {"min_confidence": model.min_confidence,
                  "unclear_rate": round(float(1 - answered[labeled].mean()), 4) if labeled.any() else 0.0,
                  "accuracy_answered": round(float((pred == gold_s)[labeled & answered].mean()), 4) if (labeled & answered).any() else 0.0}
    if unclear.any():
        abstention.update({"n_gold_unclear": int(unclear.sum()),
                           "gold_unclear_abstained": round(float((~answered[unclear]).mean()), 4)})
    if base is not None:
        results["tfidf_only"] = score("tfidf_only", g, np.array(decide(base).answers, dtype=object)[labeled].tolist(), lab_langs, labels)
    joined = [f"{t} {x}" if titles else x for t, x in zip(titles or [""] * len(texts), texts)]
    rules = [scheme.of_canonical(rule_stage(joined[i])) for i in keep]
    results["rules"] = score("rules", g, rules, lab_langs, labels)
    return EvaluationReport(scheme.name, data_name, results, abstention)


# ----------------------------------------------------------------------------- real text

def calibration(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error over equal-width confidence bins, the reliability table, and the
    share of wrong answers among those given with confidence >= 0.9."""
    conf, correct = np.asarray(conf, dtype=float), np.asarray(correct, dtype=bool)
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        if not m.any():
            continue
        acc, mc = float(correct[m].mean()), float(conf[m].mean())
        ece += m.sum() / max(len(conf), 1) * abs(acc - mc)
        table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()), "mean_confidence": round(mc, 4), "accuracy": round(acc, 4)})
    hi = conf >= 0.9
    return {"ece": round(float(ece), 4), "n_conf_ge_0.9": int(hi.sum()),
            "wrong_rate_conf_ge_0.9": round(float(1 - correct[hi].mean()), 4) if hi.any() else 0.0, "reliability": table}


def real_scores(proba: np.ndarray, frame: pd.DataFrame, scheme: Scheme, threshold: float = 0.0) -> dict:
    """Scores of model probabilities (columns: model labels) against adjudicated real-text labels.

    ``frame`` has columns stage (canonical, ``none`` or ``unclear``), file, lang, kind. Items
    labeled ``unclear`` are left out of F1 and calibration and measure abstention only. F1 is
    over the scheme's stages plus ``none``, on the argmax answer (no abstention)."""
    from ..domain.schemes import NONE, UNCLEAR

    dec = scheme.decide(proba, 0.0)
    pred = np.array(dec.answers, dtype=object)
    gold = np.array([UNCLEAR if s == UNCLEAR else scheme.of_canonical(s) for s in frame.stage], dtype=object)
    labeled = gold != UNCLEAR
    labels = list(scheme.ids) + [NONE]
    langs = frame.lang.astype(str).to_numpy()

    def block(mask) -> dict:
        if not mask.any():
            return {"n": 0}
        s = score("model", gold[mask].tolist(), pred[mask].tolist(), langs[mask].tolist(), labels)
        return {"n": s.n, "accuracy": round(s.accuracy, 4), "macro_f1": round(s.macro_f1, 4)}

    out: dict = {"labels": labels, "overall": block(labeled)}
    # Comparable with stage-only figures: items whose gold is a stage, F1 over the scheme's stages.
    journey = labeled & (gold != NONE)
    if journey.any():
        s4 = score("model", gold[journey].tolist(), pred[journey].tolist(), langs[journey].tolist(), list(scheme.ids))
        out["stages_only"] = {"n": s4.n, "accuracy": round(s4.accuracy, 4), "macro_f1": round(s4.macro_f1, 4)}
    for key in ("file", "lang", "kind"):
        out[f"per_{key}"] = {str(v): block(labeled & (frame[key].astype(str).to_numpy() == v))
                             for v in sorted(frame[key].astype(str).unique())}
    s = score("model", gold[labeled].tolist(), pred[labeled].tolist(), langs[labeled].tolist(), labels)
    out["per_stage_f1"] = {k: round(v, 4) for k, v in s.per_stage_f1.items()}
    out["confusion"] = s.confusion.to_dict()
    out["calibration"] = calibration(dec.confidence[labeled], (pred == gold)[labeled])
    answered = dec.confidence >= threshold
    out["abstention"] = {
        "min_confidence": threshold,
        "unclear_rate": round(float(1 - answered[labeled].mean()), 4) if labeled.any() else 0.0,
        "accuracy_answered": round(float((pred == gold)[labeled & answered].mean()), 4) if (labeled & answered).any() else 0.0,
        "n_gold_unclear": int((~labeled).sum()),
        "gold_unclear_abstained": round(float((~answered[~labeled]).mean()), 4) if (~labeled).any() else 0.0,
    }
    return out


def real_proba(model, frame: pd.DataFrame) -> np.ndarray:
    """Model probabilities for labeled real items: messages as short texts, pages as documents
    (title + body, passage by passage), exactly as ``classify`` and ``gaps`` read them."""
    from ..domain.schemes import model_labels
    from .realtext import page_body

    out = np.zeros((len(frame), len(model_labels())))
    msg = np.flatnonzero(frame.kind.to_numpy() == "message")
    pages = np.flatnonzero(frame.kind.to_numpy() == "page")
    if len(msg):
        out[msg] = model.proba(frame.text.iloc[msg].tolist())
    if len(pages):
        items = [(t, page_body(t, x)) for t, x in zip(frame.title.iloc[pages], frame.text.iloc[pages])]
        urls = frame.url.iloc[pages].tolist() if "url" in frame else None
        docs = model.documents(items, urls=urls)
        out[pages] = np.vstack([d.proba for d in docs])
    return out
