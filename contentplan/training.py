"""Training: fit the stage classifier on the corpus's train split, calibrate it and tune the
abstention threshold on out-of-fold predictions grouped by writer slice, score it on the test
split, and write a self-describing model folder."""
from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from .artifacts import save_model
from .corpus import content_text, corpus_hash, load_split
from .errors import CorpusError
from .evaluation import score
from .model import StageClassifier, _softmax, fit_temperature
from .rules import rule_stage
from .schemes import canonical_ids, list_schemes, load_scheme

BASELINE_FILE = "baseline_tfidf.skops"


def training_frame(questions: pd.DataFrame, content: pd.DataFrame) -> pd.DataFrame:
    """Texts the classifier learns from: every question, every content piece (title + body) and
    every content title on its own (titles read like queries)."""
    rows = [pd.DataFrame({"text": questions.text, "stage": questions.stage, "lang": questions.lang,
                          "group": questions.slice, "kind": "question"})]
    if not content.empty:
        rows.append(pd.DataFrame({"text": [content_text(t, b) for t, b in zip(content.title, content.body)],
                                  "stage": content.stage, "lang": content.lang, "group": content.slice, "kind": "content"}))
        rows.append(pd.DataFrame({"text": content.title, "stage": content.stage, "lang": content.lang,
                                  "group": content.slice, "kind": "title"}))
    return pd.concat(rows, ignore_index=True)


def tune_threshold(conf: np.ndarray, correct: np.ndarray) -> float:
    """The abstention threshold: the highest confidence below which out-of-fold predictions are
    wrong more often than right (a 0.1-wide window), so 'unclear' replaces mostly-wrong answers."""
    best = 0.0
    for t in np.arange(0.25, 0.651, 0.025):
        window = (conf >= t - 0.1) & (conf < t)
        if window.sum() >= 20 and correct[window].mean() < 0.5:
            best = float(round(t, 3))
    return best


def train_model(corpus: str | Path = "corpora", output: str | Path | None = None, embedder: str | None = "use-multilingual",
                C: float = 10.0, emb_weight: float = 1.0, evaluate: bool = True,
                progress: Callable[[str], None] | None = None) -> tuple[StageClassifier, dict]:
    """Train on ``corpus``/train and (optionally) save to ``output``. Returns (estimator, meta)."""
    say = progress or (lambda msg: None)
    corpus = Path(corpus)
    q, c = load_split(corpus, "train")
    if q.empty:
        raise CorpusError(f"{corpus}/train: no questions found; add .jsonl files")
    data = training_frame(q, c)
    texts, y = data.text.tolist(), data.stage.to_numpy(dtype=object)
    est = StageClassifier(embedder=embedder, C=C, emb_weight=emb_weight, calibrate=False)
    say(f"embedding {len(texts)} training texts with {embedder or 'no embedder'}")
    emb = est.embed(texts)

    # Out-of-fold predictions, grouped by writer slice: every score here is on unseen writers and industries.
    groups = data.group.to_numpy()
    n_groups = len(set(groups))
    labels = canonical_ids()
    logits = np.zeros((len(texts), len(labels)))
    if n_groups >= 3:
        for k, (tr, te) in enumerate(GroupKFold(n_splits=min(n_groups, 6)).split(texts, y, groups)):
            say(f"cross-validation fold {k + 1}/{min(n_groups, 6)}")
            sub = StageClassifier(**est.get_params()).fit([texts[i] for i in tr], y[tr], None if emb is None else emb[tr])
            cols = [labels.index(cl) for cl in sub.classes_]
            logits[np.ix_(te, cols)] = sub.decision_function([texts[i] for i in te], None if emb is None else emb[te])
        y_idx = np.array([labels.index(v) for v in y])
        temperature = fit_temperature(logits, y_idx)
        oof = _softmax(logits / temperature)
    else:
        temperature, oof = 1.0, None

    say("fitting the final model")
    est.fit(texts, y, emb)
    est.temperature_ = temperature

    meta: dict = {
        "name": Path(output).name if output else "model",
        "created": _dt.date.today().isoformat(),
        "scheme": "canonical",
        "labels": list(est.classes_),
        "embedder": embedder or "none",
        "embedding_dim": int(getattr(est, "embedding_dim_", 0)) if embedder else None,
        "corpus_sha256": corpus_hash(corpus),
        "train_size": {"questions": int(len(q)), "content": int(len(c)), "texts": int(len(texts))},
        "params": {"C": C, "emb_weight": emb_weight, "temperature": round(temperature, 4)},
    }
    bj = load_scheme("buyer-journey")
    if oof is not None:
        proj = oof @ bj.projection_matrix(labels)
        gold = np.array([bj.of_canonical(v) for v in y])
        pred = np.array(bj.ids)[proj.argmax(1)]
        conf = proj.max(1)
        meta["min_confidence"] = tune_threshold(conf, pred == gold)
        mask = data.kind.to_numpy() == "question"
        dev = score("dev", gold[mask].tolist(), pred[mask].tolist(), data.lang[mask].tolist(), bj.ids)
        meta["metrics_dev_grouped_cv"] = {"buyer-journey questions": dev.as_dict()}
    else:
        meta["min_confidence"] = 0.0

    baseline = None
    if evaluate and embedder:
        say("fitting the TF-IDF-only baseline")
        baseline = StageClassifier(embedder=None, C=C, calibrate=False).fit(texts, y)
        baseline.temperature_ = 1.0
    if evaluate and (corpus / "test").is_dir():
        say("scoring the test split")
        from .pipeline import JourneyModel
        model = JourneyModel(est, meta)
        base_model = JourneyModel(baseline, meta) if baseline is not None else None
        meta["metrics_test"] = test_metrics(model, corpus, base_model)
    if output:
        card = model_card(meta)
        save_model(est, meta, output, card)
        if baseline is not None:
            from .artifacts import _skops_io
            _skops_io().dump(baseline, Path(output) / BASELINE_FILE)
    return est, meta


def test_metrics(model, corpus: str | Path, baseline=None) -> dict:
    """Scores on the test split for every built-in scheme: model, rules, TF-IDF-only baseline."""
    tq, tc = load_split(corpus, "test")
    out: dict = {}
    q_texts, q_gold, q_lang = tq.text.tolist(), tq.stage.tolist(), tq.lang.tolist()
    q_proba = model.proba(q_texts)
    c_items = list(zip(tc.title, tc.body))
    c_proba = np.vstack([d.proba for d in model.documents(c_items, tc.lang.tolist())]) if len(tc) else np.zeros((0, 10))
    b_q = baseline.proba(q_texts) if baseline is not None else None
    b_c = np.vstack([d.proba for d in baseline.documents(c_items, tc.lang.tolist())]) if baseline is not None and len(tc) else None
    rules_q = [rule_stage(t) for t in q_texts]
    rules_c = [rule_stage(f"{t} {b}") for t, b in c_items]
    cids = canonical_ids()
    for scheme in list_schemes():
        M = scheme.projection_matrix()
        ids = np.array(scheme.ids)
        res = {}
        for kind, proba, gold, langs, rules, base in (
                ("questions", q_proba, q_gold, q_lang, rules_q, b_q),
                ("content", c_proba, tc.stage.tolist(), tc.lang.tolist(), rules_c, b_c)):
            if not len(gold):
                continue
            g = [scheme.of_canonical(s) for s in gold]
            res[kind] = {"model": score("model", g, ids[(proba @ M).argmax(1)].tolist(), langs, scheme.ids).as_dict(),
                         "rules": score("rules", g, [scheme.of_canonical(s) for s in rules], langs, scheme.ids).as_dict()}
            if base is not None:
                res[kind]["tfidf_only"] = score("tfidf", g, ids[(base @ M).argmax(1)].tolist(), langs, scheme.ids).as_dict()
        out[scheme.name] = res
    # Canonical grain, questions only.
    out["canonical"] = {"questions": {"model": score("model", q_gold, np.array(cids)[q_proba.argmax(1)].tolist(), q_lang, cids).as_dict()}}
    return out


def model_card(meta: dict) -> str:
    lines = [f"# contentplan model `{meta.get('name', 'model')}`", "",
             "Classifies questions, search queries and content pieces into the ten canonical journey stages "
             "(problem, solution, vendor, offer, purchase, onboarding, evaluation, support, loyalty, advocacy); "
             "every built-in scheme is a projection of them.", "",
             f"- embedder: `{meta['embedder']}` ({meta.get('embedding_dim')} dims) + word 1-2-gram and char 2-5-gram TF-IDF",
             "- estimator: multinomial logistic regression, temperature-scaled on out-of-fold predictions grouped by writer slice",
             f"- trained on: {meta['train_size']['questions']} questions and {meta['train_size']['content']} content pieces (corpus sha256 `{meta['corpus_sha256'][:16]}…`)",
             f"- abstention threshold (`unclear` below it): {meta.get('min_confidence')}",
             f"- created: {meta.get('created')}",
             "- files: `estimator.skops` (the scikit-learn estimator), `inference.npz` (the same weights as plain "
             "arrays, loaded for classification), `meta.json` (sha256 of both, labels, metrics)", ""]
    test = meta.get("metrics_test", {})
    if test:
        lines += ["## Test split (written separately, never trained on)", "",
                  "| scheme | kind | model macro-F1 | model acc. | TF-IDF-only macro-F1 | rules macro-F1 |",
                  "|---|---|---:|---:|---:|---:|"]
        for scheme, kinds in test.items():
            if scheme == "canonical":
                continue
            for kind, res in kinds.items():
                tf = res.get("tfidf_only", {}).get("macro_f1", "")
                lines.append(f"| {scheme} | {kind} | {res['model']['macro_f1']:.3f} | {res['model']['accuracy']:.3f} | "
                             f"{tf if tf == '' else f'{tf:.3f}'} | {res['rules']['macro_f1']:.3f} |")
        lines.append("")
    dev = meta.get("metrics_dev_grouped_cv")
    if dev:
        d = dev["buyer-journey questions"]
        lines += ["## Development (grouped cross-validation on the train split)", "",
                  f"buyer-journey, questions: macro-F1 {d['macro_f1']:.3f}, accuracy {d['accuracy']:.3f}", ""]
    lines += ["## Limits", "",
              "The corpus is hand-written for this project (see `corpora/README.md`); real traffic has other "
              "wording, so treat probabilities as likelihoods, not truth. Languages: French and English.", ""]
    return "\n".join(lines)
