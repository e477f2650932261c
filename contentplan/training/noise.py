"""Seeded rewrites that imitate how people type: used to measure robustness
(``benchmarks/bench_robustness.py``) and to augment training questions."""
from __future__ import annotations

import random
import re

from ..textfold import fold_accents


def flatten(text: str) -> str:
    """Lowercase, accents and punctuation removed (apostrophes and hyphens kept)."""
    text = fold_accents(text, apostrophe=False)
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'-]", " ", text)).strip()


def typos(text: str, rnd: random.Random, rate: float = 0.3) -> str:
    """Give ``rate`` of the words of 5+ letters one typo: two letters swapped, one dropped or one inserted."""
    out = []
    for w in text.split():
        if len(w) >= 5 and w.isalpha() and rnd.random() < rate:
            i = rnd.randrange(1, len(w) - 1)
            op = rnd.choice("sdi")
            w = (w[:i] + w[i + 1] + w[i] + w[i + 2:] if op == "s" else
                 w[:i] + w[i + 1:] if op == "d" else w[:i] + rnd.choice("aeiourstln") + w[i:])
        out.append(w)
    return " ".join(out)


def noisy(text: str, rnd: random.Random) -> str:
    """One plausible sloppy rewrite: flattened, with typos, or both."""
    kind = rnd.random()
    if kind < 0.34:
        return flatten(text)
    if kind < 0.67:
        return typos(text, rnd)
    return typos(flatten(text), rnd)
