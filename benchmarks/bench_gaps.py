"""Gap-report speed and memory at scale: 20k questions x 2k content pieces, then the same run again
with the embedding cache warm.

    .venv/bin/python benchmarks/bench_gaps.py [--questions 20000] [--content 2000]

Questions and content are built from the corpus (questions made unique with a number; content
bodies are corpus bodies with a numbered sentence added), so every text is really embedded on the
first run. Each run is a fresh `contentplan gaps` process; wall time and peak RSS come from a
wrapper process. Targets: <= 120 s and <= 1.5 GB for the first run, >= 5x faster with the cache.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import emit, run_child  # noqa: E402


def build(n_q: int, n_c: int, folder: Path) -> tuple[Path, Path]:
    from contentplan.training.corpus import load_split
    q, c = load_split(ROOT / "corpora", "train")
    rnd = random.Random(0)
    qs, cs = folder / "questions.csv", folder / "content.csv"
    texts = q.text.tolist()
    with open(qs, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "volume", "source"])
        for i in range(n_q):
            w.writerow([f"{rnd.choice(texts)} {i}", rnd.choice(["", rnd.randint(10, 3000)]), "search_console"])
    rows = list(zip(c.title, c.body, c.format))
    with open(cs, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["title", "url", "body", "format"])
        for i in range(n_c):
            t, b, f = rnd.choice(rows)
            w.writerow([f"{t} ({i})", f"https://example.com/{i}", f"{b}\n\nRef {i}.", f])
    return qs, cs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=20000)
    ap.add_argument("--content", type=int, default=2000)
    ap.add_argument("--json", help="also write results to this file")
    args = ap.parse_args()
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "questions": args.questions, "content": args.content}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        qs, cs = build(args.questions, args.content, tmp)
        env = {**os.environ, "CONTENTPLAN_CACHE": str(tmp / "cache"), "CONTENTPLAN_NO_PROGRESS": "1"}
        cmd = [sys.executable, "-m", "contentplan", "gaps", "--content", str(cs), "--questions", str(qs),
               "--personas", str(ROOT / "corpora" / "personas.yaml"), "-q"]
        wall, rss = run_child(cmd + ["-o", str(tmp / "r1")], env)
        out["first_run_s"], out["first_run_peak_rss_mb"] = round(wall, 1), rss
        wall, rss = run_child(cmd + ["-o", str(tmp / "r2")], env)
        out["cached_run_s"], out["cached_run_peak_rss_mb"] = round(wall, 1), rss
        out["speedup_with_cache"] = round(out["first_run_s"] / out["cached_run_s"], 2)
        assert (tmp / "r2" / "report.html").exists()
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
