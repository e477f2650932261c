"""Training: fit the stage classifier on the corpus's train split, calibrate it and tune the
abstention threshold on out-of-fold predictions grouped by writer slice, score it on the test
split, and write a self-describing model folder."""
from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ..domain.schemes import NONE, canonical_ids, list_schemes, load_scheme, model_labels
from ..errors import CorpusError, OutputError
from ..model.artifacts import BASELINE, check_model_folder, save_model
from ..model.embedders import DEFAULT_EMBEDDER
from ..model.estimator import KNN_K, KNN_SHARPNESS, StageClassifier
from ..model.rules import rule_stage
from ..model.runtime import fit_temperature, power_calibrate
from .corpus import content_text, corpus_hash, load_split
from .evaluation import score

BASELINE_FILE = BASELINE   # its sha256 is meta.json's files['baseline_tfidf.skops']


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


def check_train_output(corpus: str | Path, output: str | Path) -> None:
    """Refuse, before any training, a model folder ``output`` that is an input of training (the corpus
    folder or the real-text folder, compared after resolving symlinks and ``..``), lies inside one or
    holds one, or that exists and is not a model folder (see :func:`~contentplan.model.artifacts.check_model_folder`)."""
    from .realtext import find_realtext
    out = Path(os.path.realpath(output))
    inputs = [("corpus folder", Path(corpus))]
    root = find_realtext(corpus)
    if root is not None:
        inputs.append(("real-text folder", root))
    for what, folder in inputs:
        real = Path(os.path.realpath(folder))
        if out == real:
            where = f"is the {what} {folder}"
        elif real in out.parents:
            where = f"is inside the {what} {folder}"
        elif out in real.parents:
            where = f"holds the {what} {folder}"
        else:
            continue
        raise OutputError(f"{output}: {where}, which training reads; write the model to another folder, "
                          "e.g. -o models/my-model")
    check_model_folder(output)


DEFAULT_C = 3.0
DEFAULT_REAL_WEIGHT = 3.0
DEFAULT_BALANCE = 0.5
# Share of the nearest-neighbour vote in the probabilities (0 disables). 0.3 was chosen on real text in
# selection round 2 (benchmarks/results_realtext.json) and re-measured in round 5, before it was shipped.
DEFAULT_KNN_SHARE = 0.3


def train_model(corpus: str | Path = "corpora", output: str | Path | None = None, embedder: str | None = DEFAULT_EMBEDDER,
                C: float = DEFAULT_C, emb_weight: float = 1.0, evaluate: bool = True, real: bool = True,
                real_weight: float = DEFAULT_REAL_WEIGHT, balance: float = DEFAULT_BALANCE,
                knn_share: float = DEFAULT_KNN_SHARE, progress: Callable[[str], None] | None = None,
                bar: Callable | None = None) -> tuple[StageClassifier, dict]:
    """Train on ``corpus``/train (+ the trainable real-text labels of ``corpus``/real when the
    shared real text is found and ``real`` is true) and (optionally) save to ``output``.

    With real text, the temperature and the abstention threshold are fitted on real
    out-of-source predictions (leave-one-source-out); without, on the corpus's grouped CV.
    ``progress`` receives one message per step ("step 2/6: cross-validation fold 3/6"); ``bar``
    (total, description) -> a progress bar (see :mod:`contentplan.progress`) shows the embedding
    advance. Returns (estimator, meta)."""
    from .realtext import find_realtext, labels_hash, load_labels, load_real
    say = progress or (lambda msg: None)
    corpus = Path(corpus)
    if output:
        check_train_output(corpus, output)   # before hours of training, not after
    q, c = load_split(corpus, "train")
    if q.empty:
        raise CorpusError(f"{corpus}/train: no questions found; add .jsonl files")
    base = training_frame(q, c).assign(weight=1.0)
    root = find_realtext(corpus) if real and len(load_labels(corpus)) else None
    real_all = load_real(corpus, root) if root is not None else None
    real_train = real_training_frame(real_all[real_all.use == "train"], real_weight) if real_all is not None else None
    data = pd.concat([base, real_train], ignore_index=True) if real_train is not None else base
    texts, y = data.text.tolist(), data.stage.to_numpy(dtype=object)
    weights = data.weight.to_numpy(dtype=float)
    est = StageClassifier(embedder=embedder, C=C, emb_weight=emb_weight, calibrate=False)
    n_groups = len(set(base.group))
    plan = ["embedding", *(["cv"] if n_groups >= 3 else []), *(["real"] if real_train is not None else []), "final",
            *(["baseline"] if evaluate and embedder else []), *(["test"] if evaluate and (corpus / "test").is_dir() else [])]

    def step(name: str, message: str) -> None:
        say(f"step {plan.index(name) + 1}/{len(plan)}: {message}")

    step("embedding", f"embedding {len(texts)} training texts with {embedder or 'no embedder'}")
    emb = _embed(est, texts, bar)

    # Out-of-fold predictions, grouped by writer slice: every score here is on unseen writers and industries.
    # Corpus rows only: grouped CV by writer slice (every score on unseen writers and industries).
    cv_texts, cv_y = base.text.tolist(), base.stage.to_numpy(dtype=object)
    cv_emb = None if emb is None else emb[:len(base)]
    groups = base.group.to_numpy()
    labels = model_labels()
    knn = knn_share if emb is not None else 0.0
    raw_oof = np.zeros((len(cv_texts), len(labels)))
    if n_groups >= 3:
        for k, (tr, te) in enumerate(GroupKFold(n_splits=min(n_groups, 6)).split(cv_texts, cv_y, groups)):
            step("cv", f"cross-validation fold {k + 1}/{min(n_groups, 6)}")
            sub = StageClassifier(**est.get_params()).fit([cv_texts[i] for i in tr], cv_y[tr], None if cv_emb is None else cv_emb[tr])
            sub.set_neighbours(None if cv_emb is None else cv_emb[tr], cv_y[tr], knn)
            cols = [labels.index(cl) for cl in sub.classes_]
            raw_oof[np.ix_(te, cols)] = sub.predict_proba([cv_texts[i] for i in te], None if cv_emb is None else cv_emb[te])
        y_idx = np.array([labels.index(v) for v in cv_y])
        step("cv", "calibrating the temperature on the out-of-fold predictions")
        temperature = fit_temperature(raw_oof, y_idx)
        oof = power_calibrate(raw_oof, temperature)
    else:
        temperature, oof = 1.0, None

    real_oos = None
    if real_train is not None:
        # Real text decides calibration: every real item predicted by a model that never saw its source.
        # Every fold trains on rows of `texts`, already embedded: look their vectors up, never re-encode.
        row_of = {t: i for i, t in enumerate(texts)}
        embed_fn = (lambda ts: emb[[row_of[t] for t in ts]]) if emb is not None else None
        real_oos = out_of_source({**est.get_params(), "balance": balance, "knn_share": knn}, base, real_all, real_train, embed_fn,
                                 lambda m: step("real", f"calibration on real text, {m}"))
        fit_rows = (real_all.use.to_numpy() == "train") & (real_all.stage.to_numpy() != "unclear")
        gold_idx = np.array([labels.index(v) for v in real_all.stage.to_numpy()[fit_rows]])
        step("real", "calibrating the temperature and the abstention threshold on real text")
        temperature = fit_temperature(real_oos[fit_rows], gold_idx)
        real_oos = power_calibrate(real_oos, temperature)

    step("final", f"fitting the final model on {len(texts)} texts")
    est.fit(texts, y, emb, balanced_weights(y, weights, balance))
    est.set_neighbours(emb, y, knn)
    est.temperature_ = temperature

    meta: dict = {
        "name": Path(output).name if output else "model",
        "created": _dt.date.today().isoformat(),
        "scheme": "canonical",
        "labels": list(est.classes_),
        "embedder": embedder or "none",
        "embedding_dim": int(getattr(est, "embedding_dim_", 0)) if embedder else None,
        "corpus_sha256": corpus_hash(corpus),
        "real_labels_sha256": labels_hash(corpus) if real_train is not None else "",
        "real_sources_trained": sorted(set(real_train.group)) if real_train is not None else [],
        "train_size": {"questions": int(len(q)), "content": int(len(c)), "texts": int(len(texts)),
                       "real_items": int(real_all[real_all.use == "train"].stage.ne("unclear").sum()) if real_all is not None else 0},
        "params": {"C": C, "emb_weight": emb_weight, "real_weight": real_weight if real_train is not None else None, "balance": balance,
                   "temperature": round(temperature, 4),
                   "neighbours": {"share": knn, "k": KNN_K, "sharpness": KNN_SHARPNESS, "texts": len(texts)} if knn else None},
        "calibrated_on": "real text, leave-one-source-out" if real_train is not None else "corpus, grouped CV by writer",
    }
    bj = load_scheme("buyer-journey")
    if oof is not None:
        # The answer commands give (decide): a stage, or `none` when it wins; corpus items labeled none count.
        cv_dec = bj.decide(oof, 0.0)
        gold = np.array([bj.of_canonical(v) for v in cv_y], dtype=object)
        pred = np.array(cv_dec.answers, dtype=object)
        meta["min_confidence"] = tune_threshold(cv_dec.confidence, pred == gold)
        mask = base.kind.to_numpy() == "question"
        dev = score("dev", gold[mask].tolist(), pred[mask].tolist(), base.lang[mask].tolist(), [*bj.ids, NONE])
        meta["metrics_dev_grouped_cv"] = {"buyer-journey questions": dev.as_dict()}
    else:
        meta["min_confidence"] = 0.0
    if real_oos is not None:
        fit_rows = (real_all.use.to_numpy() == "train") & (real_all.stage.to_numpy() != "unclear")
        dec = bj.decide(real_oos[fit_rows], 0.0)
        gold = np.array([bj.of_canonical(v) for v in real_all.stage.to_numpy()[fit_rows]])
        meta["min_confidence"] = tune_threshold(dec.confidence, np.array(dec.dominant) == gold)
        from .evaluation import real_scores
        dev_rows = real_all.use.to_numpy() == "dev"
        meta["metrics_real_out_of_source"] = {
            "trainable_sources_loso": _compact(real_scores(real_oos[~dev_rows], real_all[~dev_rows], bj, meta["min_confidence"])),
            "dev_only_sources": _compact(real_scores(real_oos[dev_rows], real_all[dev_rows], bj, meta["min_confidence"])),
            "all": _compact(real_scores(real_oos, real_all, bj, meta["min_confidence"])),
        }

    baseline = None
    if evaluate and embedder:
        step("baseline", "fitting the TF-IDF-only baseline")
        baseline = StageClassifier(embedder=None, C=C, calibrate=False).fit(texts, y)
        baseline.temperature_ = 1.0
    if evaluate and (corpus / "test").is_dir():
        step("test", "scoring the test split")
        from ..model.pipeline import JourneyModel
        model = JourneyModel(est, meta)
        base_model = JourneyModel(baseline, meta) if baseline is not None else None
        meta["metrics_test"] = test_metrics(model, corpus, base_model)
    if output:
        card = model_card(meta)
        save_model(est, meta, output, card, baseline=baseline)
    return est, meta


EMBED_STEP = 1024  # texts embedded between two updates of the bar (a multiple of the embedders' batch sizes)


def _embed(est: StageClassifier, texts: list[str], bar: Callable | None) -> np.ndarray | None:
    """The texts' embeddings, slice by slice when a bar shows the advance (None without an embedder)."""
    if not est.embedder or bar is None or len(texts) <= EMBED_STEP:
        return est.embed(texts)
    parts = []
    with bar(len(texts), "embedding") as b:
        for start in range(0, len(texts), EMBED_STEP):
            parts.append(est.embed(texts[start:start + EMBED_STEP]))
            b.update(len(parts[-1]))
    return np.vstack(parts)


def _compact(scores: dict) -> dict:
    scores = dict(scores)
    scores.pop("confusion", None)
    return scores


def test_metrics(model, corpus: str | Path, baseline=None) -> dict:
    """Scores on the test split for every built-in scheme: model, rules, TF-IDF-only baseline."""
    tq, tc = load_split(corpus, "test")
    out: dict = {}
    q_texts, q_gold, q_lang = tq.text.tolist(), tq.stage.tolist(), tq.lang.tolist()
    q_proba = model.proba(q_texts)
    c_items = list(zip(tc.title, tc.body))
    c_proba = np.vstack([d.proba for d in model.documents(c_items)]) if len(tc) else np.zeros((0, len(model_labels())))
    b_q = baseline.proba(q_texts) if baseline is not None else None
    b_c = np.vstack([d.proba for d in baseline.documents(c_items)]) if baseline is not None and len(tc) else None
    rules_q = [rule_stage(t) for t in q_texts]
    rules_c = [rule_stage(f"{t} {b}") for t, b in c_items]
    cids = canonical_ids()
    for scheme in list_schemes():
        res = {}
        for kind, proba, gold, langs, rules, base in (
                ("questions", q_proba, q_gold, q_lang, rules_q, b_q),
                ("content", c_proba, tc.stage.tolist(), tc.lang.tolist(), rules_c, b_c)):
            if not len(gold):
                continue
            g = [scheme.of_canonical(s) for s in gold]
            # The answer every command gives (decide): `none` when it wins, a wrong answer here.
            res[kind] = {"model": score("model", g, scheme.decide(proba).answers, langs, scheme.ids).as_dict(),
                         "rules": score("rules", g, [scheme.of_canonical(s) for s in rules], langs, scheme.ids).as_dict()}
            if base is not None:
                res[kind]["tfidf_only"] = score("tfidf", g, scheme.decide(base).answers, langs, scheme.ids).as_dict()
        out[scheme.name] = res
    # Canonical grain, questions only.
    # Argmax over every model label: `none` (a column after the ten stages) is an answer, wrong against a stage.
    out["canonical"] = {"questions": {"model": score("model", q_gold, np.array(model_labels())[q_proba.argmax(1)].tolist(), q_lang, cids).as_dict()}}
    return out


def model_card(meta: dict) -> str:
    lines = [f"# contentplan model `{meta.get('name', 'model')}`", "",
             "Classifies questions, search queries and content pieces into the ten canonical journey stages "
             "(problem, solution, vendor, offer, purchase, onboarding, evaluation, support, loyalty, advocacy); "
             "every built-in scheme is a projection of them.", "",
             f"- embedder: `{meta['embedder']}` ({meta.get('embedding_dim')} dims) + word 1-2-gram and char 2-5-gram TF-IDF",
             "- estimator: multinomial logistic regression over the ten stages and `none`"
             + (f", blended {1 - nn['share']:g}/{nn['share']:g} with a vote of the {nn['k']} nearest of its {nn['texts']} training texts"
                if (nn := meta.get("params", {}).get("neighbours")) else "")
             + f", temperature-scaled on {meta.get('calibrated_on', 'out-of-fold predictions')}",
             f"- trained on: {meta['train_size']['questions']} questions and {meta['train_size']['content']} content pieces (corpus sha256 `{meta['corpus_sha256'][:16]}…`)"
             + (f" and {meta['train_size'].get('real_items', 0)} labeled real items (labels sha256 `{meta.get('real_labels_sha256', '')[:16]}…`)" if meta.get('real_labels_sha256') else ""),
             f"- abstention threshold (`unclear` below it): {meta.get('min_confidence')}",
             f"- created: {meta.get('created')}",
             "- files: `estimator.skops` (the scikit-learn estimator), `inference.npz` (the same weights as plain "
             "arrays, loaded for classification), `baseline_tfidf.skops` (the TF-IDF-only baseline `evaluate` scores, when trained), "
             "`meta.json` (sha256 of each, labels, metrics)", ""]
    real = meta.get("metrics_real_out_of_source")
    if real:
        lines += ["## Real text, held out (leave-one-source-out; see corpora/README.md)", "",
                  f"Trained on the real sources: {', '.join(meta.get('real_sources_trained', []))}. Every figure below is on "
                  "real items the model never saw: each trainable source predicted by a model trained without it, and the "
                  "dev-only sources (never trained on) by the final model. F1 over the buyer-journey stages + `none`.", "",
                  "| real text | n | macro-F1 | accuracy | ECE | wrong at confidence >= 0.9 |", "|---|---:|---:|---:|---:|---:|"]
        for name, key in (("all", "all"), ("trainable sources (LOSO)", "trainable_sources_loso"), ("dev-only sources", "dev_only_sources")):
            r = real[key]
            lines.append(f"| {name} | {r['overall']['n']} | {r['overall']['macro_f1']:.3f} | {r['overall']['accuracy']:.3f} | "
                         f"{r['calibration']['ece']:.3f} | {r['calibration']['wrong_rate_conf_ge_0.9']:.1%} |")
        lines.append("")
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
              "The test split is hand-written for this project (see `corpora/README.md`); real traffic has other "
              "wording: the real-text figures above are what to expect, and probabilities are likelihoods, not truth. "
              "Languages: French and English.", ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- real text

def real_training_frame(real: pd.DataFrame, weight: float = 1.0) -> pd.DataFrame:
    """Labeled real items as training rows (``unclear`` left out): a message is one text; a page
    is its title + body and its title alone, as for corpus content. ``group`` is the source file."""
    from ..model.pipeline import with_url
    from .realtext import page_body
    real = real[real.stage != "unclear"]
    msg, pages = real[real.kind == "message"], real[real.kind == "page"]
    rows = [pd.DataFrame({"text": msg.text, "stage": msg.stage, "lang": msg.lang, "group": msg.file, "kind": "question"})]
    if len(pages):
        # What the model reads for a page: its title with its URL words (as gaps and tag read pages), and its body.
        urls = pages.url if "url" in pages else [""] * len(pages)
        titles = [with_url(t, u) for t, u in zip(pages.title, urls)]
        rows.append(pd.DataFrame({"text": [content_text(t, page_body(t0, x)) for t, t0, x in zip(titles, pages.title, pages.text)],
                                  "stage": pages.stage, "lang": pages.lang, "group": pages.file, "kind": "content"}))
        keep = [bool(t.strip()) for t in titles]
        rows.append(pd.DataFrame({"text": [t for t, k in zip(titles, keep) if k], "stage": pages.stage[keep],
                                  "lang": pages.lang[keep], "group": pages.file[keep], "kind": "title"}))
    out = pd.concat(rows, ignore_index=True)
    out["weight"] = weight
    return out


def balanced_weights(y: np.ndarray, weights: np.ndarray, power: float) -> np.ndarray:
    """Sample weights times (n / (k * n_class)) ** power, with counts weighted: power 0 keeps
    them, 1 gives every class the same total weight, 0.5 is in between (rare classes such as
    'none' and 'problem' on real text count more without drowning the rest)."""
    if not power:
        return weights
    y = np.asarray(y, dtype=object)
    classes = sorted(set(y))
    totals = {c: weights[y == c].sum() for c in classes}
    mean = sum(totals.values()) / len(classes)
    factor = np.array([(mean / totals[c]) ** power for c in y])
    return weights * factor


def out_of_source(params: dict, base: pd.DataFrame, real: pd.DataFrame, real_train: pd.DataFrame | None,
                  embed, say: Callable[[str], None] = lambda m: None) -> np.ndarray:
    """Probabilities (columns: model labels) for every labeled real item from a model that never
    saw its source file: each trainable source is held out in turn (leave-one-source-out); dev-only
    sources are predicted by the model trained on every trainable source.

    ``base``: corpus training rows (text, stage, weight); ``real_train``: trainable real rows
    (None: corpus only, one fit predicts everything); ``embed``: texts -> embeddings (cached)."""
    from ..domain.schemes import model_labels
    from ..model.pipeline import JourneyModel
    from .evaluation import real_proba

    out = np.zeros((len(real), len(model_labels())))
    holdouts = sorted(set(real_train.group)) if real_train is not None else []
    folds = [(h, real.file.to_numpy() == h) for h in holdouts]
    rest = ~np.isin(real.file.to_numpy(), holdouts)
    folds.append((None, rest))
    for k, (held, mask) in enumerate(folds):
        if not mask.any():
            continue
        say(f"out-of-source fold {k + 1}/{len(folds)}: {held or 'every trainable source'}")
        train = base if real_train is None else pd.concat([base, real_train[real_train.group != held]], ignore_index=True)
        texts = train.text.tolist()
        y = train.stage.to_numpy(dtype=object)
        vecs = embed(texts) if params.get("embedder") else None
        est = StageClassifier(**{**{k: v for k, v in params.items() if k not in ("balance", "knn_share")}, "calibrate": False}).fit(
            texts, y, vecs, balanced_weights(y, train.weight.to_numpy(dtype=float), params.get("balance", 0.0)))
        est.set_neighbours(vecs, y, params.get("knn_share", 0.0))
        model = JourneyModel(est, {"min_confidence": 0.0})
        out[mask] = real_proba(model, real[mask])
    return out
