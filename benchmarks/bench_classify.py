"""Classify throughput, cold start and peak memory, measured as a user runs it.

    .venv/bin/python benchmarks/bench_classify.py [--rows 20000] [--stream-rows 100000]

* raw encoder: USE multilingual on the same texts, in-process, 2 threads;
* end to end: ``contentplan classify -i queries.csv -o out.csv`` in a subprocess (CSV in, CSV out,
  all columns, explanations on), with a fresh cache folder: every text is new, so every text is
  really encoded and its embedding written to the cache, as on a user's first run;
* ratio = end-to-end rows/s / encoder rows/s (target >= 0.8);
* cold start: ``contentplan classify "one text"`` in a fresh process (target <= 2.5 s), best of 3
  after one warm-up; plus the very first run with an empty cache folder, which also saves the
  encoder's parsed tokenizer and weights (see contentplan/model/use_fastload.py);
* peak RSS of the classify process (ru_maxrss of the child), for --rows and for --stream-rows
  to show that memory stays bounded while rows stream.
Texts are the corpus questions made unique with a row number, so nothing is cached or deduplicated.
"""
from __future__ import annotations

import argparse
import csv
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
CLI = [sys.executable, "-m", "contentplan"]


def make_queries(n: int, path: Path) -> list[str]:
    from contentplan.training.corpus import load_split
    q, _ = load_split(ROOT / "corpora", "train")
    base = q.text.tolist()
    rnd = random.Random(0)
    texts = []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Keyword", "Search Volume", "CPC", "Position"])
        for i in range(n):
            t = f"{rnd.choice(base)} {i}"
            texts.append(t)
            w.writerow([t, rnd.randint(10, 5000), f"{rnd.random() * 3:.2f}", rnd.randint(1, 50)])
    return texts


_WRAP = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
         "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
         "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def run_child(args: list[str], env: dict) -> tuple[float, int]:
    """Wall time and peak RSS (MB) of one command, measured by a fresh wrapper process."""
    res = subprocess.run([sys.executable, "-c", _WRAP, *args], check=True, env=env, capture_output=True, text=True)
    wall, kb = res.stdout.split()
    return float(wall), int(kb) // 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--stream-rows", type=int, default=100000)
    ap.add_argument("--json", help="also write results to this file")
    args = ap.parse_args()
    out: dict = {"machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "CONTENTPLAN_CACHE": str(tmp / "cache"), "CONTENTPLAN_NO_PROGRESS": "1"}
        os.environ.update(env)
        texts = make_queries(args.rows, tmp / "q.csv")

        # Cold start: one new text, fresh process. The first run ever also saves the encoder state.
        out["first_run_one_text_s"] = round(run_child(CLI + ["classify", "combien coûte votre CRM ?"], env)[0], 2)
        colds = [run_child(CLI + ["classify", f"combien coûte votre CRM {i} ?"], env)[0] for i in range(3)]
        out["cold_start_one_text_s"] = round(min(colds), 2)
        out["cold_start_runs_s"] = [round(c, 2) for c in colds]

        from contentplan.model.embedders import USEEmbedder
        enc = USEEmbedder()
        enc.embed(["warm up"])
        t = time.perf_counter()
        for i in range(0, len(texts), 4096):
            enc.embed(texts[i:i + 4096])
        enc_rate = len(texts) / (time.perf_counter() - t)
        out["encoder_rows_per_s"] = round(enc_rate, 1)

        wall, rss = run_child(CLI + ["classify", "-i", str(tmp / "q.csv"), "-o", str(tmp / "out.csv"), "-q"], env)
        # Subtract the process start-up (imports, model load) measured by the cold start: steady-state rate.
        e2e_rate = len(texts) / wall
        out["classify_rows"] = len(texts)
        out["classify_wall_s"] = round(wall, 1)
        out["classify_rows_per_s"] = round(e2e_rate, 1)
        out["ratio_vs_encoder"] = round(e2e_rate / enc_rate, 3)
        out["classify_peak_rss_mb"] = rss
        with open(tmp / "out.csv", encoding="utf-8") as fh:
            n_out = sum(1 for _ in fh) - 1
        assert n_out == len(texts), f"{n_out} rows out for {len(texts)} in"

        if args.stream_rows:
            make_queries(args.stream_rows, tmp / "big.csv")
            wall, rss = run_child(CLI + ["classify", "-i", str(tmp / "big.csv"), "-o", str(tmp / "big_out.csv"), "-q"], env)
            out["stream_rows"] = args.stream_rows
            out["stream_wall_s"] = round(wall, 1)
            out["stream_peak_rss_mb"] = rss
    emit(out, args.json)
    return 0


def emit(result: dict, path: str | None) -> None:
    """Print the results, and write them to ``path`` when given."""
    print(json.dumps(result, indent=2))
    if path:
        Path(path).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
