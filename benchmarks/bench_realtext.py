"""Model selection on REAL text: every variant scored on real messages and pages it never saw.

    .venv/bin/python benchmarks/bench_realtext.py [--variants a,b] [--json benchmarks/results_realtext.json]

Needs ../shared/realtext (or CONTENTPLAN_REALTEXT) and corpora/real/labels.csv; skips otherwise.
For each variant: leave-one-source-out over the trainable real sources (each source predicted by a
model trained on the corpus + the other trainable sources), and the dev-only sources predicted by
the model trained on every trainable source (never on them). An output temperature is fitted on
the trainable sources' out-of-source predictions and applied everywhere, so calibration on the
dev-only sources is measured on data that chose nothing. Also reported: buyer-journey macro-F1 on
the corpus test split for the model trained on corpus + every trainable source.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contentplan.training.corpus import load_split  # noqa: E402
from contentplan.model.embedders import embed_texts, get_embedder  # noqa: E402
from contentplan.training.evaluation import real_proba, real_scores, score  # noqa: E402
from contentplan.model.estimator import StageClassifier  # noqa: E402
from contentplan.model.pipeline import JourneyModel  # noqa: E402
from contentplan.training.realtext import find_realtext, load_real  # noqa: E402
from contentplan.domain.schemes import load_scheme, model_labels  # noqa: E402
from contentplan.model.runtime import fit_temperature, power_calibrate  # noqa: E402
from contentplan.training.train import balanced_weights, out_of_source, real_training_frame, training_frame  # noqa: E402

BASE = {"embedder": "use-multilingual", "ngrams": True, "emb_weight": 1.0, "C": 10.0}
VARIANTS = {
    # name: (estimator params, use real trainable labels, real weight, kNN blend share)
    "shipped": None,                                            # the committed model, as it is
    "corpus_emb_only": ({**BASE, "ngrams": False}, False, 1.0, 0.0),
    "corpus_C1": ({**BASE, "C": 1.0}, False, 1.0, 0.0),
    "real_C10": (BASE, True, 1.0, 0.0),
    "real_C1": ({**BASE, "C": 1.0}, True, 1.0, 0.0),
    "real_C3_w3": ({**BASE, "C": 3.0}, True, 3.0, 0.0),
    "real_emb3_w3": ({**BASE, "emb_weight": 3.0, "C": 3.0}, True, 3.0, 0.0),
    "real_emb_only_w3": ({**BASE, "ngrams": False}, True, 3.0, 0.0),
    "real_C3_w3_knn": ({**BASE, "C": 3.0}, True, 3.0, 0.3),
    "real_C1_w3": ({**BASE, "C": 1.0}, True, 3.0, 0.0),
    "real_C1_w10": ({**BASE, "C": 1.0}, True, 10.0, 0.0),
    "real_C1_w3_bal": ({**BASE, "C": 1.0, "balance": 0.5}, True, 3.0, 0.0),
    "real_C3_w3_bal": ({**BASE, "C": 3.0, "balance": 0.5}, True, 3.0, 0.0),
    "real_C1_w10_bal": ({**BASE, "C": 1.0, "balance": 0.5}, True, 10.0, 0.0),
    "corpus_C1_bal": ({**BASE, "C": 1.0, "balance": 0.5}, False, 1.0, 0.0),
    # the nearest-neighbour vote inside the model (share 0.3, k=15): every text, title and passage
    # blended as at prediction time (the post-hoc --knn blend above votes on whole pages instead)
    "real_C3_w3_bal_nn0.3": ({**BASE, "C": 3.0, "balance": 0.5, "knn_share": 0.3}, True, 3.0, 0.0),
}


def knn_proba(train_vecs, train_y, vecs, k: int = 15) -> np.ndarray:
    labels = model_labels()
    Y = np.zeros((len(train_y), len(labels)))
    Y[np.arange(len(train_y)), [labels.index(s) for s in train_y]] = 1
    out = np.zeros((len(vecs), len(labels)))
    for s in range(0, len(vecs), 2048):
        S = vecs[s:s + 2048] @ train_vecs.T
        idx = np.argpartition(-S, k, axis=1)[:, :k]
        w = np.exp(10 * np.take_along_axis(S, idx, 1))
        out[s:s + 2048] = np.einsum("nk,nkc->nc", w, Y[idx]) / w.sum(1, keepdims=True)
    return out


def knn_out_of_source(real, base, rt, embed) -> np.ndarray:
    """Nearest-neighbour votes (k=15, cosine on the encoder's vectors) for each real item, among
    training texts that never include its own source (dev-only sources: all trainable ones)."""
    vec = embed([t[:2000] for t in real.text])
    kp = np.zeros((len(real), len(model_labels())))
    for held in sorted(set(real.file)):
        m = real.file.to_numpy() == held
        tr = pd.concat([base, rt[rt.group != held]]) if rt is not None else base
        kp[m] = knn_proba(embed(tr.text.tolist()), tr.stage.tolist(), vec[m])
    return kp


def run_variant(name, spec, base, real, real_train, embed, tq, say):
    t0 = time.time()
    if spec is None:
        model = JourneyModel.load(None)
        oos = real_proba(model, real)
        test_model = model
    else:
        params, use_real, weight, knn = spec
        rt = real_train.assign(weight=weight) if use_real else None
        oos = out_of_source(params, base, real, rt, embed, say)
        if knn:
            oos = (1 - knn) * oos + knn * knn_out_of_source(real, base, rt, embed)
        train = pd.concat([base, rt], ignore_index=True) if rt is not None else base
        y = train.stage.to_numpy(dtype=object)
        vecs = embed(train.text.tolist()) if params.get("embedder") else None
        est = StageClassifier(**{**{k: v for k, v in params.items() if k not in ("balance", "knn_share")}, "calibrate": False}).fit(
            train.text.tolist(), y, vecs, balanced_weights(y, train.weight.to_numpy(dtype=float), params.get("balance", 0.0)))
        est.set_neighbours(vecs, y, params.get("knn_share", 0.0))
        test_model = JourneyModel(est, {"min_confidence": 0.0})
    res, cal = score_variant(oos, real, test_model, tq, calibrate=spec is not None)
    res["seconds"] = round(time.time() - t0, 1)
    return res, cal, oos


def score_variant(oos, real, test_model, tq, calibrate: bool = True):
    labels = model_labels()
    bj = load_scheme("buyer-journey")
    gold = real.stage.to_numpy()
    trainable = (real.use.to_numpy() == "train") & (gold != "unclear")
    temp = fit_temperature(oos[trainable], np.array([labels.index(s) for s in gold[trainable]])) if calibrate else 1.0
    cal = power_calibrate(oos, temp)
    res = {"temperature": round(temp, 4), "all": real_scores(cal, real, bj),
           "dev_only": real_scores(cal[real.use.to_numpy() == "dev"], real[real.use == "dev"], bj),
           "trainable_loso": real_scores(cal[real.use.to_numpy() == "train"], real[real.use == "train"], bj)}
    for key in ("all", "dev_only", "trainable_loso"):
        res[key].pop("confusion", None)
    if test_model is not None:
        q = test_model.proba(tq.text.tolist())
        pred = np.array(bj.ids)[(q @ bj.projection_matrix()).argmax(1)]
        res["corpus_test_bj_macro_f1"] = round(score("t", [bj.of_canonical(s) for s in tq.stage], pred.tolist(),
                                                      tq.lang.tolist(), bj.ids).macro_f1, 4)
    return res, cal


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--json")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpora")
    ap.add_argument("--knn", type=float, default=0.0, help="also score each variant blended with kNN votes at this share")
    ap.add_argument("--save-oos", help="write the chosen variant's out-of-source probabilities (npz)")
    args = ap.parse_args()
    root = find_realtext(ROOT / "corpora")
    corpus = args.corpus
    if root is None:
        print("skipped: ../shared/realtext not found (set CONTENTPLAN_REALTEXT)")
        return 0
    say = lambda m: print(f"  {m}", file=sys.stderr, flush=True)  # noqa: E731
    real = load_real(corpus, root)
    q, c = load_split(corpus, "train")
    base = training_frame(q, c).assign(weight=1.0)
    real_train = real_training_frame(real[real.use == "train"])
    tq, _ = load_split(corpus, "test")
    enc = get_embedder("use-multilingual")
    embed = lambda texts: embed_texts(enc, texts)  # noqa: E731
    results = {}
    if args.json and Path(args.json).is_file():
        results = json.loads(Path(args.json).read_text()).get("variants", {})
    for name in args.variants.split(","):
        print(f"[{name}]", file=sys.stderr, flush=True)
        spec = VARIANTS[name]
        res, cal, oos = run_variant(name, spec, base, real, real_train, embed, tq, say)
        results[name] = res
        if args.knn and spec is not None and not spec[3]:
            # The same out-of-source predictions blended with nearest-neighbour votes: no refit needed.
            rt = real_train.assign(weight=spec[2]) if spec[1] else None
            blend = (1 - args.knn) * oos + args.knn * knn_out_of_source(real, base, rt, embed)
            kres, _ = score_variant(blend, real, None, tq)
            kres["corpus_test_bj_macro_f1"] = None
            results[f"{name}+knn{args.knn:g}"] = kres
            print(f"{name}+knn{args.knn:g}: real macro-F1 {kres['all']['overall']['macro_f1']:.3f}; dev-only "
                  f"{kres['dev_only']['overall']['macro_f1']:.3f}; ECE {kres['all']['calibration']['ece']:.3f}", flush=True)
        a, d = res["all"], res["dev_only"]
        print(f"{name:22s} real macro-F1 {a['overall']['macro_f1']:.3f} (en {a['per_lang'].get('en', {}).get('macro_f1', 0):.3f} "
              f"fr {a['per_lang'].get('fr', {}).get('macro_f1', 0):.3f}; message {a['per_kind']['message']['macro_f1']:.3f} "
              f"page {a['per_kind']['page']['macro_f1']:.3f}); dev-only {d['overall']['macro_f1']:.3f}; "
              f"ECE {a['calibration']['ece']:.3f}; wrong@0.9 {a['calibration']['wrong_rate_conf_ge_0.9']:.3f}; "
              f"corpus test {res['corpus_test_bj_macro_f1']:.3f}; {res['seconds']} s", flush=True)
        if args.save_oos and name == args.variants.split(",")[-1]:
            np.savez(args.save_oos, proba=cal, id=real.id.to_numpy(), source=real.file.to_numpy())
        if args.json:
            Path(args.json).write_text(json.dumps({
                "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"), "corpus_train_texts": int(len(base)), "n_real": int(len(real)),
                "n_real_labeled": int((real.stage != "unclear").sum()), "variants": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
