"""Model selection on the train split only: grouped cross-validation by writer slice.

Compares feature sets and C on buyer-journey macro-F1 (questions). The test split is not read.
Usage: python scripts/select_model.py [--corpus corpora]
"""
import argparse
import random
import time

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from contentplan.training.corpus import load_split
from contentplan.model.estimator import StageClassifier
from contentplan.training.noise import noisy
from contentplan.domain.schemes import load_scheme
from contentplan.training.train import training_frame

ap = argparse.ArgumentParser()
ap.add_argument("--corpus", default="corpora")
ap.add_argument("--configs", default="all")
args = ap.parse_args()
q, c = load_split(args.corpus, "train")
data = training_frame(q, c)
texts, y, groups = data.text.tolist(), data.stage.to_numpy(dtype=object), data.group.to_numpy()
emb = StageClassifier().embed(texts)
bj = load_scheme("buyer-journey")
to_bj = np.vectorize(bj.of_canonical)
configs = {
    "use-only C=4": dict(ngrams=False, C=4.0),
    "tfidf-only C=4": dict(embedder=None, C=4.0),
    "use+tfidf C=2": dict(C=2.0),
    "use+tfidf C=4": dict(C=4.0),
    "use+tfidf C=10": dict(C=10.0),
    "use x2 + tfidf C=4": dict(C=4.0, emb_weight=2.0),
    "use x0.5 + tfidf C=10": dict(C=10.0, emb_weight=0.5),
    "use x1.5 + tfidf C=10": dict(C=10.0, emb_weight=1.5),
    "use+tfidf C=20": dict(C=20.0),
    "use+tfidf C=10 +noisy copies": dict(C=10.0, augment=True),
}
# Held-out questions also scored after a sloppy rewrite (flattened and/or typos): robustness.
rnd = random.Random(0)
noisy_texts = [noisy(t, rnd) if k == "question" else t for t, k in zip(texts, data.kind)]
noisy_emb = StageClassifier().embed(noisy_texts)
qm = data.kind.to_numpy() == "question"
aug_rnd = random.Random(1)
aug_texts = [noisy(t, aug_rnd) for t in texts]   # training copies: a different rewrite of the same item
aug_emb = StageClassifier().embed(aug_texts)
for name, params in configs.items():
    if args.configs != "all" and name not in args.configs.split(","):
        continue
    params = dict(params)
    augment = params.pop("augment", False)
    t = time.time()
    pred = np.empty(len(texts), dtype=object)
    pred_noisy = np.empty(len(texts), dtype=object)
    for tr, te in GroupKFold(n_splits=len(set(groups))).split(texts, y, groups):
        m = StageClassifier(calibrate=False, **params)
        e = emb if m.embedder else None
        tr_texts, tr_y, tr_e = [texts[i] for i in tr], y[tr], None if e is None else e[tr]
        if augment:
            extra = [i for i in tr if qm[i]]
            tr_texts = tr_texts + [aug_texts[i] for i in extra]
            tr_y = np.concatenate([tr_y, y[extra]])
            tr_e = None if e is None else np.vstack([tr_e, aug_emb[extra]])
        m.fit(tr_texts, tr_y, tr_e)
        pred[te] = m.predict([texts[i] for i in te], None if e is None else e[te])
        pred_noisy[te] = m.predict([noisy_texts[i] for i in te], None if e is None else noisy_emb[te])
    f_can = f1_score(y[qm], pred[qm], average="macro")
    f_bj = f1_score(to_bj(y[qm]), to_bj(pred[qm]), average="macro")
    f_bj_n = f1_score(to_bj(y[qm]), to_bj(pred_noisy[qm]), average="macro")
    cm = data.kind.to_numpy() == "content"
    f_bj_c = f1_score(to_bj(y[cm]), to_bj(pred[cm]), average="macro") if cm.any() else float("nan")
    print(f"{name:30s} questions: canonical F1 {f_can:.3f}  buyer-journey F1 {f_bj:.3f}  noisy {f_bj_n:.3f} "
          f"| content bj F1 {f_bj_c:.3f}  ({time.time() - t:.0f}s)", flush=True)
