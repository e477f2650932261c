"""Gap-report speed and memory at scale: 20k questions x 2k content pieces, then the same run again
with the embedding cache warm.

    .venv/bin/python benchmarks/bench_gaps.py [--questions 20000] [--content 2000] [--baseline SRC]

Questions and content are built from the corpus (questions made unique with a number; content
bodies are corpus bodies with a numbered sentence added), so every text is really embedded on the
first run. Each run is a fresh `contentplan gaps` process; wall time and peak RSS come from a
wrapper process, the 1-minute load average is read just before it (the machine may be shared: above
~1.5 the figures are slowed by other work). The warm re-run's report must equal the first run's
(every CSV, Markdown and HTML file). ``--baseline SRC`` also times a warm re-run of another source
tree (e.g. a checkout of main) on the same cache, in the same window. Targets: <= 120 s and
<= 1.5 GB for the first run, >= 5x faster with the cache.
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
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
    ap.add_argument("--baseline", help="source tree whose warm re-run is timed too, on the same cache")
    ap.add_argument("--json", help="also write results to this file")
    args = ap.parse_args()
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "questions": args.questions, "content": args.content,
           "started_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        qs, cs = build(args.questions, args.content, tmp)
        env = {**os.environ, "CONTENTPLAN_CACHE": str(tmp / "cache"), "CONTENTPLAN_NO_PROGRESS": "1"}
        cmd = [sys.executable, "-m", "contentplan", "gaps", "--content", str(cs), "--questions", str(qs),
               "--personas", str(ROOT / "corpora" / "personas.yaml"), "-q"]

        def timed(name: str, folder: str, src: Path) -> None:
            out[f"{name}_load_avg_1min"] = round(os.getloadavg()[0], 2)
            here = os.getcwd()
            os.chdir(src)    # 'python -m contentplan' imports the package of its working folder first
            try:
                wall, rss = run_child(cmd + ["-o", str(tmp / folder)], {**env, "PYTHONPATH": str(src)})
            finally:
                os.chdir(here)
            out[f"{name}_s"], out[f"{name}_peak_rss_mb"] = round(wall, 1), rss

        timed("first_run", "r1", ROOT)
        timed("cached_run", "r2", ROOT)
        out["speedup_with_cache"] = round(out["first_run_s"] / out["cached_run_s"], 2)
        files = [f.name for f in sorted((tmp / "r1").iterdir()) if f.suffix in (".csv", ".md", ".html")]
        out["cached_report_differs"] = [f for f in files if (tmp / "r1" / f).read_bytes() != (tmp / "r2" / f).read_bytes()]
        out["cached_report_equal"] = [f for f in files if f not in out["cached_report_differs"]]
        if args.baseline:
            timed("baseline_cached_run", "r3", Path(args.baseline).resolve())
            out["baseline"] = str(args.baseline)
        out["load_avg_after"] = round(os.getloadavg()[0], 2)
    emit(out, args.json)
    return 1 if out["cached_report_differs"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
