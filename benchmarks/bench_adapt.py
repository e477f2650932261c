"""Adaptation to a user's own labels, measured on REAL text: the learning curve, the cost elsewhere,
labels chosen by `review` against random ones, and the time `contentplan adapt` takes.

    .venv/bin/python benchmarks/bench_adapt.py [--seeds 3] [--json benchmarks/results_adapt.json]

Needs ../shared/realtext (or CONTENTPLAN_REALTEXT) and corpora/real/labels.csv; exits otherwise.

Each labeled real source plays a user: k of its items (k = 10, 25, 50, 100, 200; random, per seed)
are the user's labels, given as buyer-journey stage names (awareness … post-purchase, none: the
coarse grain users label at), and the model adapted to them is scored on the source's other items
(held out), against the base model on the same items. Macro-F1 over the four stages + `none`, on
the argmax answer, as in the README's real-text figures. A base must never have seen the source:
  * `shipped` (models/default) was trained on the ten trainable sources, so it plays a user only
    on the two dev-only tweet sets (never trained on);
  * `corpus-only` (the shipped recipe without real text: corpus train split, C=3, balance 0.5,
    temperature 1) plays a user on all twelve sources. It is fitted once and kept in the cache folder.
Also, for every adapted model: macro-F1 on every OTHER source's items (pooled, and the worst single
source) and on the corpus test questions, against its base: what the adaptation costs elsewhere.

`review` vs random: each source is split (per seed) into a pool (60 %) and a test part (40 %);
k labels are taken from the pool by `review_order` (what `contentplan review` shows first) or at
random, and both adapted models are scored on the same test part.

Timing: `contentplan adapt` end to end (reading, embedding with a warm cache, fitting, 5-fold
cross-validation, corpus check, writing the folder) on 1,000 labels, in a fresh process.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from contentplan.training import adaptation as A  # noqa: E402
from contentplan.model.artifacts import default_model_dir, load_estimator, read_meta, save_model  # noqa: E402
from contentplan.training.corpus import corpus_hash, load_split  # noqa: E402
from contentplan.training.evaluation import real_proba, score  # noqa: E402
from contentplan.model.pipeline import JourneyModel  # noqa: E402
from contentplan.training.realtext import find_realtext, load_real  # noqa: E402
from contentplan.training.review import review_order  # noqa: E402
from contentplan.model.runtime import LinearStageModel, as_texts  # noqa: E402
from contentplan.domain.schemes import NONE, UNCLEAR, load_scheme  # noqa: E402

KS = (10, 25, 50, 100, 200)
MIN_REST = 30          # a source is scored at k only when at least this many of its items are left
REVIEW_KS = (25, 50)
BJ = load_scheme("buyer-journey")
LABELS = list(BJ.ids) + [NONE]


def memo_runtime(arrays: dict) -> type:
    """A LinearStageModel class whose n-gram counts and embeddings are remembered per batch of
    texts: every adapted model of one base has the same features, so they are computed once."""
    counts: dict = {}
    embeds: dict = {}

    class Memo(LinearStageModel):
        def ngram_counts(self, X):
            key = tuple(as_texts(X))
            if key not in counts:
                counts[key] = LinearStageModel.ngram_counts(self, list(key))
            return counts[key]

        def embed(self, texts):
            key = tuple(texts)
            if key not in embeds:
                embeds[key] = LinearStageModel.embed(self, list(key))
            return embeds[key]
    return Memo


class Base:
    def __init__(self, name: str, est, meta: dict, own_sources: set[str]):
        self.name, self.est, self.meta = name, est, meta
        self.own_sources = own_sources                     # sources it may play a user on (never trained on)
        self.arrays = LinearStageModel.arrays_from_estimator(est)
        self.cls = memo_runtime(self.arrays)
        self.rt0 = self.cls(self.arrays)
        self.classes = [str(c) for c in est.classes_]
        self.coef = np.asarray(est.lr_.coef_, dtype=np.float64)
        self.intercept = np.asarray(est.lr_.intercept_, dtype=np.float64)
        self.T = float(est.temperature_)
        self.C = float(meta.get("params", {}).get("C") or est.C)

    def runtime(self, coef=None, intercept=None):
        arrays = dict(self.arrays)
        if coef is not None:
            arrays["coef"], arrays["intercept"] = coef, intercept
        return self.cls(arrays)


def corpus_only_base(corpus: Path) -> Base:
    from contentplan.model.estimator import StageClassifier
    from contentplan.training.train import balanced_weights, training_frame
    cache = Path(os.environ.get("CONTENTPLAN_CACHE") or Path.home() / ".cache" / "contentplan")
    if str(cache) == "off":
        cache = Path(tempfile.gettempdir()) / "contentplan-bench"
    folder = cache / "bench" / f"corpus-only-{corpus_hash(corpus)[:12]}"
    if not (folder / "meta.json").is_file():
        print(f"fitting the corpus-only base (once; kept in {folder})", flush=True)
        q, c = load_split(corpus, "train")
        base = training_frame(q, c)
        texts, y = base.text.tolist(), base.stage.to_numpy(dtype=object)
        est = StageClassifier(embedder="use-multilingual", C=3.0, calibrate=False)
        est.fit(texts, y, est.embed(texts), balanced_weights(y, np.ones(len(y)), 0.5))
        meta = {"name": "corpus-only", "labels": list(est.classes_), "embedder": "use-multilingual",
                "embedding_dim": est.embedding_dim_, "corpus_sha256": corpus_hash(corpus), "min_confidence": 0.0,
                "scheme": "canonical", "params": {"C": 3.0, "balance": 0.5, "temperature": 1.0}}
        save_model(est, meta, folder, "# corpus-only base for benchmarks/bench_adapt.py\n")
    meta = read_meta(folder)
    return Base("corpus-only", load_estimator(folder, meta), meta, set())


def macro_f1(P: np.ndarray, gold: np.ndarray, idx: np.ndarray) -> float:
    pred = np.array([d or UNCLEAR for d in BJ.decide(P[idx], 0.0).dominant], dtype=object)
    return score("m", gold[idx].tolist(), pred.tolist(), ["x"] * len(idx), LABELS).macro_f1


class Evaluator:
    """Scores of a runtime on every real item and on the corpus test questions."""

    def __init__(self, real: pd.DataFrame, tq: pd.DataFrame):
        self.real, self.tq = real, tq
        self.gold = np.array([BJ.of_canonical(s) for s in real.stage], dtype=object)
        self.tgold = np.array([BJ.of_canonical(s) for s in tq.stage], dtype=object)
        self.files = real.file.to_numpy()

    def predict(self, base: Base, rt) -> tuple[np.ndarray, np.ndarray]:
        model = JourneyModel(rt, {"min_confidence": 0.0})
        return real_proba(model, self.real), model.proba(self.tq.text.tolist())

    def elsewhere(self, P, PT, source: str) -> dict:
        other = np.flatnonzero(self.files != source)
        per = {f: macro_f1(P, self.gold, np.flatnonzero(self.files == f)) for f in sorted(set(self.files)) if f != source}
        return {"other_sources": macro_f1(P, self.gold, other), "per_source": per,
                "corpus_test": macro_f1(PT, self.tgold, np.arange(len(self.tgold)))}


STRENGTH = [A.DEFAULT_PRIOR_STRENGTH]


def adapt_rows(base: Base, X, sets, rows, label_weight):
    mask = A.target_mask([sets[i] for i in rows], base.classes)
    w = A.label_weights([sets[i] for i in rows], label_weight)
    prec = A.prior_precision(base.rt0, X[rows], STRENGTH[0]) if STRENGTH[0] else None
    return A.fit_head(X[rows], mask, w, base.coef, base.intercept, base.T, base.C, prec)


def run(args) -> dict:
    corpus = ROOT / "corpora"
    root = find_realtext(corpus)
    if root is None:
        sys.exit("real text not found: put the shared data at ../shared/realtext or set CONTENTPLAN_REALTEXT")
    real = load_real(corpus, root)
    real = real[real.stage != UNCLEAR].reset_index(drop=True)
    tq, _ = load_split(corpus, "test")
    ev = Evaluator(real, tq)
    user_labels = [BJ.of_canonical(s) for s in real.stage]          # what a user writes: stage names
    sets = A.label_sets(user_labels, BJ)
    texts = A.training_texts(real.text.tolist())
    dev = sorted(set(real.file[real.use == "dev"]))
    shipped_dir = default_model_dir()
    shipped_meta = read_meta(shipped_dir)
    bases = [Base("shipped", load_estimator(shipped_dir, shipped_meta), shipped_meta, set(dev))]
    if not args.shipped_only:
        cb = corpus_only_base(corpus)
        cb.own_sources = set(real.file)
        bases.append(cb)
    out: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                 "date": time.strftime("%Y-%m-%d"), "seeds": args.seeds, "ks": list(KS), "label_weight": args.label_weight,
                 "labels_given_as": "buyer-journey stage names", "bases": {}, "sources": {}}
    for f, g in real.groupby("file"):
        out["sources"][f] = {"n": int(len(g)), "use": g.use.iloc[0], "kind": g.kind.iloc[0],
                             "counts": {k: int(v) for k, v in pd.Series([BJ.of_canonical(s) for s in g.stage]).value_counts().items()}}
    t_all = time.time()
    for base in bases:
        t0 = time.time()
        rt = base.runtime()
        X = A.feature_matrix(rt, texts)
        P0, PT0 = ev.predict(base, rt)
        vecs = rt.embed(texts)
        base_else = {f: ev.elsewhere(P0, PT0, f) for f in sorted(set(real.file))}
        res = {"curve": {}, "review_vs_random": {}, "setup_s": round(time.time() - t0, 1)}
        print(f"[{base.name}] features and base predictions in {time.time() - t0:.0f}s", flush=True)
        for source in sorted(base.own_sources):
            items = np.flatnonzero(ev.files == source)
            curve = {}
            for k in KS:
                if len(items) - k < MIN_REST:
                    continue
                runs = []
                for seed in range(args.seeds):
                    rng = np.random.default_rng(1000 * seed + k)
                    pick = rng.choice(items, size=k, replace=False)
                    rest = np.setdiff1d(items, pick)
                    t1 = time.time()
                    c, b = adapt_rows(base, X, sets, pick, args.label_weight)
                    fit_s = time.time() - t1
                    P, PT = ev.predict(base, base.runtime(c, b))
                    el = ev.elsewhere(P, PT, source)
                    b_el = base_else[source]
                    worst = min((el["per_source"][f] - b_el["per_source"][f], f) for f in el["per_source"])
                    runs.append({"base": macro_f1(P0, ev.gold, rest), "adapted": macro_f1(P, ev.gold, rest),
                                 "other_base": b_el["other_sources"], "other_adapted": el["other_sources"],
                                 "corpus_test_base": b_el["corpus_test"], "corpus_test_adapted": el["corpus_test"],
                                 "worst_other_source_change": worst[0], "worst_other_source": worst[1], "fit_s": fit_s})
                curve[str(k)] = summarise(runs)
                c_ = curve[str(k)]
                print(f"[{base.name}] {source} k={k}: {c_['base']:.3f} -> {c_['adapted']:.3f} (rest n={len(items) - k}); "
                      f"other sources {c_['other_change']:+.3f}, corpus test {c_['corpus_test_change']:+.3f}", flush=True)
            res["curve"][source] = curve
            if args.review:
                res["review_vs_random"][source] = review_vs_random(base, ev, X, sets, vecs, P0, items, args)
            out["bases"][base.name] = res
            save(out, args, complete=False)          # a partial run still leaves its measured numbers
        out["bases"][base.name] = res
        if args.timing and "timing" not in out:
            out["timing"] = timing(real, args)
    out["total_s"] = round(time.time() - t_all, 1)
    save(out, args, complete=True)
    return out


def save(out: dict, args, complete: bool) -> None:
    out["summary"] = overall(out)
    out["complete"] = complete
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


def review_vs_random(base, ev, X, sets, vecs, P0, items, args) -> dict:
    out = {}
    for k in REVIEW_KS:
        n_pool = int(round(len(items) * 0.6))
        if n_pool < 2 * k:
            continue
        runs = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(7 + seed)
            perm = rng.permutation(items)
            pool, test = perm[:n_pool], perm[n_pool:]
            chosen = pool[review_order(P0[pool], BJ, vecs[pool], k)]
            rand = rng.choice(pool, size=k, replace=False)
            row = {"base": macro_f1(P0, ev.gold, test)}
            for name, rows in (("review", chosen), ("random", rand)):
                c, b = adapt_rows(base, X, sets, rows, args.label_weight)
                P, _ = ev.predict(base, base.runtime(c, b))
                row[name] = macro_f1(P, ev.gold, test)
            runs.append(row)
        out[str(k)] = {key: round(float(np.mean([r[key] for r in runs])), 4) for key in ("base", "review", "random")}
        out[str(k)]["review_wins"] = int(sum(r["review"] > r["random"] for r in runs))
        out[str(k)]["runs"] = len(runs)
        print(f"[{base.name}] review vs random k={k}: {out[str(k)]}", flush=True)
    return out


def summarise(runs: list[dict]) -> dict:
    m = lambda key: round(float(np.mean([r[key] for r in runs])), 4)  # noqa: E731
    return {"base": m("base"), "adapted": m("adapted"), "gain": round(m("adapted") - m("base"), 4),
            "adapted_std": round(float(np.std([r["adapted"] for r in runs])), 4),
            "other_change": round(m("other_adapted") - m("other_base"), 4),
            "corpus_test_change": round(m("corpus_test_adapted") - m("corpus_test_base"), 4),
            "worst_other_source_change": round(min(r["worst_other_source_change"] for r in runs), 4),
            "fit_s": round(m("fit_s"), 2), "runs": len(runs)}


def overall(out: dict) -> dict:
    """Per base and k: the mean over its sources of base and adapted macro-F1, the largest loss on
    the other sources (pooled) and on the corpus test questions, and review vs random."""
    s = {}
    for name, res in out["bases"].items():
        per_k = {}
        for k in KS:
            rows = [c[str(k)] for c in res["curve"].values() if str(k) in c]
            if not rows:
                continue
            per_k[str(k)] = {"sources": len(rows), "base": round(float(np.mean([r["base"] for r in rows])), 4),
                             "adapted": round(float(np.mean([r["adapted"] for r in rows])), 4),
                             "worst_other_change": round(min(r["other_change"] for r in rows), 4),
                             "worst_corpus_test_change": round(min(r["corpus_test_change"] for r in rows), 4)}
        rv = {}
        for k in REVIEW_KS:
            rows = [c[str(k)] for c in res["review_vs_random"].values() if str(k) in c]
            if rows:
                rv[str(k)] = {"sources": len(rows), "review": round(float(np.mean([r["review"] for r in rows])), 4),
                              "random": round(float(np.mean([r["random"] for r in rows])), 4),
                              "review_wins": sum(r["review_wins"] for r in rows), "runs": sum(r["runs"] for r in rows)}
        s[name] = {"curve": per_k, "review_vs_random": rv}
    return s


def timing(real: pd.DataFrame, args) -> dict:
    """`contentplan adapt` on 1,000 labels in a fresh process (embeddings cached from this run)."""
    g = real.sample(n=min(1000, len(real)), random_state=0)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "labels.csv"
        pd.DataFrame({"text": g.text, "stage": [BJ.of_canonical(s) for s in g.stage]}).to_csv(data, index=False)
        cmd = [sys.executable, "-m", "contentplan", "adapt", "-i", str(data), "-o", str(Path(tmp) / "adapted"), "-q"]
        t = time.time()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.time() - t
        if proc.returncode:
            return {"error": proc.stderr.strip()[-500:]}
        meta = json.loads((Path(tmp) / "adapted" / "meta.json").read_text())
    print(f"adapt on {len(g)} labels: {wall:.1f}s", flush=True)
    return {"labels": len(g), "wall_s": round(wall, 1), "metrics": meta["adapted"]["metrics"]}


def main():
    global KS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--label-weight", type=float, default=A.DEFAULT_LABEL_WEIGHT)
    ap.add_argument("--strength", type=float, default=A.DEFAULT_PRIOR_STRENGTH)
    ap.add_argument("--ks", default=",".join(map(str, KS)))
    ap.add_argument("--shipped-only", action="store_true", help="skip the corpus-only base (dev-only sources only)")
    ap.add_argument("--no-review", dest="review", action="store_false")
    ap.add_argument("--no-timing", dest="timing", action="store_false")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    STRENGTH[0] = args.strength
    KS = tuple(int(k) for k in args.ks.split(","))
    out = run(args)
    print(json.dumps(out["summary"], indent=1))


if __name__ == "__main__":
    main()
