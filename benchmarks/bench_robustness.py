"""How much accuracy survives the noise of real text: the test-split questions, rewritten.

    .venv/bin/python benchmarks/bench_robustness.py [--model DIR] [--json FILE]

Buyer-journey macro-F1 of the model and of the cue-word rules on the test questions as written,
then on the same questions:
* flattened: lowercase, accents and punctuation removed (how many people type into a search box);
* typos: 30 % of the words of 5+ letters get one typo (swap, drop or insert a letter);
* flattened + typos.
Seeded, so every run rewrites the same way. (Dropping function words to imitate keywords is left
out on purpose: "how do I import my contacts" -> "import contacts" deletes what decides the label.)
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_classify import emit  # noqa: E402

from contentplan.training.corpus import load_split  # noqa: E402
from contentplan.training.noise import flatten, typos  # noqa: E402
from contentplan.model.pipeline import JourneyModel, project  # noqa: E402
from contentplan.model.rules import rule_stage  # noqa: E402
from contentplan.domain.schemes import load_scheme  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--json")
    args = ap.parse_args()
    model = JourneyModel.load(args.model)
    scheme = load_scheme("buyer-journey")
    q, _ = load_split(ROOT / "corpora", "test")
    gold = [scheme.of_canonical(s) for s in q.stage]
    texts = q.text.tolist()
    rnd = random.Random(0)
    variants = {
        "as written": texts,
        "flattened": [flatten(t) for t in texts],
        "typos": [typos(t, rnd) for t in texts],
        "flattened + typos": [typos(flatten(t), rnd) for t in texts],
    }
    ids = np.array(scheme.ids)
    out: dict = {"data": f"corpora/test questions (n={len(texts)}), buyer-journey macro-F1", "model": {}, "rules": {}}
    for name, vt in variants.items():
        pred = ids[project(model.proba(vt), scheme).argmax(1)]
        rules = [scheme.of_canonical(rule_stage(t)) for t in vt]
        out["model"][name] = round(f1_score(gold, pred, average="macro"), 3)
        out["rules"][name] = round(f1_score(gold, rules, average="macro"), 3)
    emit(out, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
