"""Other orderings for `review`, against random labels, on the same protocol as bench_adapt.py's
review-vs-random part (pool 60 % of a source, k labels picked, adapted model scored on the other 40 %,
3 seeds): the shipped ordering (`review_order`), k-means clusters of the pool with the most typical
text of each cluster (`clust_typ`), the same weighted by uncertainty (`clust_typ_u`), and 50 clusters
taken largest first (`clust50_typ_u`).

    .venv/bin/python benchmarks/bench_review_orderings.py corpus|shipped [--json FILE]

`corpus`: the corpus-only base of bench_adapt.py, every real source plays the user; `shipped`: the
shipped model, the two dev-only sources. Needs ../shared/realtext. Results (2026-12-07, x86_64,
2 cores, corpus-only base) are in benchmarks/results_adapt.json under `review_orderings`.
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_adapt as B  # noqa: E402
from contentplan.training import adaptation as A  # noqa: E402
from contentplan.training.review import answer_proba, review_order, uncertainty  # noqa: E402
from contentplan.training.realtext import find_realtext, load_real  # noqa: E402
from contentplan.training.corpus import load_split  # noqa: E402
from contentplan.domain.schemes import UNCLEAR  # noqa: E402


def _unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def kmeans(V, K, rng, iters=25):
    C = V[rng.choice(len(V), K, replace=False)]
    for _ in range(iters):
        a = (V @ C.T).argmax(1)
        C = np.stack([V[a == j].mean(0) if (a == j).any() else C[j] for j in range(K)])
        C = _unit(C)
    return (V @ C.T).argmax(1)

def typicality(V, k=10):
    S = V @ V.T; np.fill_diagonal(S, -np.inf)
    kk = min(k, len(V) - 1)
    return np.sort(S, 1)[:, -kk:].mean(1)

def cluster_order(P, vecs, n, use_u, seed=0, K=None):
    V = _unit(vecs); q = answer_proba(P, B.BJ); u = uncertainty(q)
    K = K or n
    K = min(K, len(V))
    a = kmeans(V, K, np.random.default_rng(seed))
    t = typicality(V)
    score = t * ((0.5 + u) if use_u else 1.0)
    sizes = np.bincount(a, minlength=K)
    order = []
    per = {j: list(np.flatnonzero(a == j)[np.argsort(-score[a == j])]) for j in range(K)}
    while len(order) < n:
        for j in np.argsort(-sizes):
            if per[j]:
                order.append(per[j].pop(0))
                if len(order) == n: break
        if not any(per.values()): break
    return np.array(order)

corpus = ROOT / 'corpora'
if find_realtext(corpus) is None:
    sys.exit('real text not found: put the shared data at ../shared/realtext or set CONTENTPLAN_REALTEXT')
real = load_real(corpus, find_realtext(corpus)); real = real[real.stage != UNCLEAR].reset_index(drop=True)
tq, _ = load_split(corpus, 'test'); ev = B.Evaluator(real, tq)
sets = A.label_sets([B.BJ.of_canonical(s) for s in real.stage], B.BJ)
texts = A.training_texts(real.text.tolist())
base = B.corpus_only_base(corpus) if sys.argv[1] == 'corpus' else None
if base is None:
    from contentplan.model.artifacts import default_model_dir, load_estimator, read_meta
    d = default_model_dir(); m = read_meta(d); base = B.Base('shipped', load_estimator(d, m), m, set())
rt = base.runtime(); X = A.feature_matrix(rt, texts); P0, _ = ev.predict(base, rt); vecs = rt.embed(texts)
sources = sorted(set(real.file)) if base.name == 'corpus-only' else sorted(set(real.file[real.use == 'dev']))
variants = {'review': lambda P, V, k, s: review_order(P, B.BJ, V, k),
            'clust_typ': lambda P, V, k, s: cluster_order(P, V, k, False, s),
            'clust_typ_u': lambda P, V, k, s: cluster_order(P, V, k, True, s),
            'clust50_typ_u': lambda P, V, k, s: cluster_order(P, V, k, True, s, K=50)}
res = {v: [] for v in list(variants) + ['random']}
for source in sources:
    items = np.flatnonzero(ev.files == source)
    for k in (25, 50):
        n_pool = int(round(len(items) * 0.6))
        if n_pool < 2 * k: continue
        for seed in range(3):
            rng = np.random.default_rng(7 + seed); perm = rng.permutation(items); pool, test = perm[:n_pool], perm[n_pool:]
            picks = {v: pool[np.asarray(f(P0[pool], vecs[pool], k, seed))] for v, f in variants.items()}
            picks['random'] = rng.choice(pool, size=k, replace=False)
            for v, rows in picks.items():
                c, b = B.adapt_rows(base, X, sets, rows, A.DEFAULT_LABEL_WEIGHT)
                P, _ = ev.predict(base, base.runtime(c, b))
                res[v].append((source, k, seed, B.macro_f1(P, ev.gold, test)))
    print(source, {v: round(np.mean([x[3] for x in r if x[0] == source]), 4) for v, r in res.items()}, flush=True)
for k in (25, 50):
    print(k, {v: round(np.mean([x[3] for x in r if x[1] == k]), 4) for v, r in res.items()})
    rnd = {(x[0], x[2]): x[3] for x in res['random'] if x[1] == k}
    print(' wins vs random', {v: f"{sum(x[3] > rnd[(x[0], x[2])] for x in r if x[1] == k)}/{sum(1 for x in r if x[1] == k)}" for v, r in res.items() if v != 'random'})

if "--json" in sys.argv:
    out = {k: {v: {"mean": round(float(np.mean([x[3] for x in r if x[1] == k])), 4),
                   "runs": [list(map(lambda z: z if isinstance(z, str) else float(z), x)) for x in r if x[1] == k]}
               for v, r in res.items()} for k in (25, 50)}
    Path(sys.argv[sys.argv.index("--json") + 1]).write_text(json.dumps(out, indent=1) + "\n")
