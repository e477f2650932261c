"""Model selection on the train split only: grouped cross-validation by writer slice.

Compares feature sets and C on buyer-journey macro-F1 (questions). The test split is not read.
Usage: python scripts/select_model.py [--corpus corpora]
"""
import argparse
import time

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from contentplan.corpus import load_split
from contentplan.model import StageClassifier
from contentplan.schemes import load_scheme
from contentplan.training import training_frame

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
}
for name, params in configs.items():
    if args.configs != "all" and name not in args.configs.split(","):
        continue
    t = time.time()
    pred = np.empty(len(texts), dtype=object)
    for tr, te in GroupKFold(n_splits=len(set(groups))).split(texts, y, groups):
        m = StageClassifier(calibrate=False, **params)
        e = emb if m.embedder else None
        m.fit([texts[i] for i in tr], y[tr], None if e is None else e[tr])
        pred[te] = m.predict([texts[i] for i in te], None if e is None else e[te])
    qm = data.kind.to_numpy() == "question"
    f_can = f1_score(y[qm], pred[qm], average="macro")
    f_bj = f1_score(to_bj(y[qm]), to_bj(pred[qm]), average="macro")
    cm = data.kind.to_numpy() == "content"
    f_bj_c = f1_score(to_bj(y[cm]), to_bj(pred[cm]), average="macro") if cm.any() else float("nan")
    print(f"{name:22s} questions: canonical F1 {f_can:.3f}  buyer-journey F1 {f_bj:.3f} | content bj F1 {f_bj_c:.3f}  ({time.time() - t:.0f}s)", flush=True)
