"""``classify --engine dask --workers 2`` vs the single process, same rows, same window.

    nice -n 10 .venv/bin/python benchmarks/bench_dask.py --rows 20000 --files 8 --json benchmarks/results_dask.json

* both runs are the CLI in a subprocess with a fresh cache folder, alternated (single, dask, then
  dask, single with --rounds 2); the 1-minute load average is stored with each figure;
* equality: the outputs sorted by row id, every column identical except probabilities, allowed to
  differ by one unit of their 4th decimal (float32 sums in another batch order); the count of such
  cells is reported;
* estimate for 100M keywords: the time of one partition (``classify_partition`` in-process, model
  already loaded, 1 BLAS thread) gives rows/s per worker; hours = 1e8 / (workers x that rate),
  marked as an estimate (no scheduler overhead, no I/O contention, workers on dedicated cores).
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load() -> float:
    return round(os.getloadavg()[0], 2)


def make(n: int, files: int, tmp: Path) -> None:
    from contentplan.training.corpus import load_split
    q, _ = load_split(ROOT / "corpora", "train")
    base, rnd = q.text.tolist(), random.Random(0)
    rows = [(f"r{i:08d}", f"{rnd.choice(base)} {i}", rnd.randint(10, 5000)) for i in range(n)]
    (tmp / "in").mkdir()
    per = -(-n // files)
    for path, part in [(tmp / "all.csv", rows)] + [(tmp / "in" / f"kw-{k:03d}.csv", rows[k * per:(k + 1) * per]) for k in range(files)]:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "Keyword", "Volume"])
            w.writerows(part)


def timed(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "contentplan", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def compare(single: Path, parts: str) -> dict:
    import pandas as pd
    a = pd.read_csv(single, dtype=str, keep_default_na=False).sort_values("id").reset_index(drop=True)
    b = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(glob.glob(parts))]).sort_values("id").reset_index(drop=True)
    out = {"rows_single": len(a), "rows_dask": len(b), "same_ids": a["id"].tolist() == b["id"].tolist(),
           "same_columns": list(a.columns) == list(b.columns), "cells_differing": {}, "max_probability_difference": 0.0}
    for c in a.columns:
        diff = int((a[c] != b[c]).sum())
        if diff:
            out["cells_differing"][c] = diff
        if c == "confidence" or c.startswith("p_"):
            out["max_probability_difference"] = max(out["max_probability_difference"],
                                                    float((pd.to_numeric(a[c]) - pd.to_numeric(b[c])).abs().max()))
    out["non_probability_columns_identical"] = not [c for c in out["cells_differing"] if not (c == "confidence" or c.startswith("p_"))]
    return out


def per_partition(tmp: Path) -> dict:
    os.environ["CONTENTPLAN_THREADS"] = "1"
    os.environ["CONTENTPLAN_CACHE"] = str(tmp / "cache-part")
    from contentplan.dask import classify_partition, read_part
    files = sorted(glob.glob(str(tmp / "in" / "*.csv")))
    classify_partition(read_part(files[0]).head(200), "Keyword")        # model loaded, as on a warm worker
    frame = read_part(files[1])
    lo = load()
    t = time.perf_counter()
    classify_partition(frame, "Keyword")
    dt = time.perf_counter() - t
    return {"rows": len(frame), "seconds": round(dt, 2), "rows_per_s_per_worker": round(len(frame) / dt, 1), "load": lo}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    make(args.rows, args.files, tmp)
    env = {**os.environ, "CONTENTPLAN_NO_PROGRESS": "1", "PYTHONPATH": str(ROOT)}
    runs = []
    for r in range(args.rounds):
        order = ("single", "dask") if r % 2 == 0 else ("dask", "single")
        for kind in order:
            env["CONTENTPLAN_CACHE"] = str(tmp / f"cache-{kind}-{r}")
            lo = load()
            if kind == "single":
                wall = timed(["classify", "-i", str(tmp / "all.csv"), "-o", str(tmp / "single.csv")], env)
            else:
                wall = timed(["classify", "-i", str(tmp / "in" / "*.csv"), "--engine", "dask", "--workers", "2",
                              "-o", str(tmp / "out" / "*.csv")], env)
            runs.append({"kind": kind, "round": r, "seconds": round(wall, 2), "rows_per_s": round(args.rows / wall, 1),
                         "load": lo, "load_after": load()})
            print(runs[-1], flush=True)
    equal = compare(tmp / "single.csv", str(tmp / "out" / "*.csv"))
    part = per_partition(tmp)
    rate = part["rows_per_s_per_worker"]
    estimate = [{"workers": w, "estimated_hours_100M": round(1e8 / (w * rate) / 3600, 1)} for w in (1, 2, 8, 32, 128)]
    single = min(x["seconds"] for x in runs if x["kind"] == "single")
    dask = min(x["seconds"] for x in runs if x["kind"] == "dask")
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "rows": args.rows, "files": args.files, "runs": runs, "dask_vs_single": round(single / dask, 3),
              "equality": equal, "per_partition": part, "estimate_100M_keywords": estimate,
              "estimate_note": "ESTIMATE: 1e8 / (workers x per-worker rows/s measured on one partition here); "
                               "ignores scheduler overhead and I/O; assumes one dedicated core per worker"}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
