"""Search intent read from a keyword tool's export (Semrush "Intent", Ahrefs "Intents", French
"Intention"), and how far it agrees with the stage the model gives.

Mapping (on the canonical stage of each question, so it holds for every scheme; in buyer-journey terms):

- informational -> awareness, consideration (problem, solution, vendor);
- commercial -> consideration, decision (solution, vendor, offer, purchase);
- transactional -> decision (offer, purchase);
- navigational -> not compared (a brand or site name says nothing about the stage).

Keyword tools have no after-purchase intent: a query with an intent that the model puts after the
purchase (onboarding, support, loyalty...) counts as a disagreement, worth a look.
A question tagged with several intents ("Informational, Commercial") agrees when any of them does.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from ..textfold import fold_accents
from .schemes import NONE, UNCLEAR, Scheme

INTENTS = ("informational", "commercial", "transactional", "navigational")
COMPATIBLE = {
    "informational": ("problem", "solution", "vendor"),
    "commercial": ("solution", "vendor", "offer", "purchase"),
    "transactional": ("offer", "purchase"),
}
_TOKENS = {
    "i": "informational", "info": "informational", "informational": "informational", "information": "informational",
    "informationnel": "informational", "informationnelle": "informational", "informative": "informational",
    "c": "commercial", "commercial": "commercial", "commerciale": "commercial", "commercial investigation": "commercial",
    "investigation": "commercial",
    "t": "transactional", "transactional": "transactional", "transactionnel": "transactional",
    "transactionnelle": "transactional", "transaction": "transactional",
    "n": "navigational", "navigational": "navigational", "navigationnel": "navigational",
    "navigationnelle": "navigational", "navigation": "navigational",
    # Semrush API codes
    "0": "commercial", "1": "informational", "2": "navigational", "3": "transactional",
}


def _fold(s: str) -> str:
    return fold_accents(s).strip()


def parse_intents(value) -> tuple[str, ...] | None:
    """The intents a cell names, in the order of INTENTS: () for an empty cell, None when it names none we know."""
    text = _fold(value or "")
    if not text:
        return ()
    found = {_TOKENS[t] for t in (p.strip() for p in re.split(r"[,;/|+&]|\bet\b|\band\b", text)) if t in _TOKENS}
    return tuple(i for i in INTENTS if i in found) or None


def intent_agreement(intents: Sequence[str], canonical: Sequence[str], stages: Sequence[str],
                     questions: Sequence[str]) -> dict:
    """Agreement between the input intent and the stage, question by question (see the module doc)."""
    res = {"compared": 0, "agree": 0, "navigational": 0, "no_stage": 0, "no_intent": 0, "unrecognised": 0,
           "per_intent": {i: [0, 0] for i in COMPATIBLE}, "disagreements": []}
    for raw, can, st, q in zip(intents, canonical, stages, questions):
        parsed = parse_intents(raw)
        if parsed is None:
            res["unrecognised"] += 1
            continue
        if not parsed:
            res["no_intent"] += 1
            continue
        usable = [i for i in parsed if i in COMPATIBLE]
        if not usable:
            res["navigational"] += 1
            continue
        if st in (UNCLEAR, NONE) or not can:
            res["no_stage"] += 1
            continue
        ok = any(can in COMPATIBLE[i] for i in usable)
        res["compared"] += 1
        res["agree"] += ok
        for i in usable:
            res["per_intent"][i][0] += 1
            res["per_intent"][i][1] += ok
        if not ok:
            res["disagreements"].append((q, ", ".join(usable), st))
    return res


def mapping_line(scheme: Scheme) -> str:
    """The mapping in the scheme's own stages: a stage only partly covered lists its canonical stages."""
    parts, covered = [], set()
    for intent, canon in COMPATIBLE.items():
        stages = []
        for st in scheme.stages:
            inside = [c for c in st.canonical if c in canon]
            covered.update(inside)
            if inside:
                stages.append(st.id if len(inside) == len(st.canonical) else f"{st.id} ({', '.join(inside)})")
        parts.append(f"{intent} -> {', '.join(stages)}")
    parts.append("navigational -> not compared")
    rest = []
    for st in scheme.stages:
        out = [c for c in st.canonical if c not in covered]
        if out:
            rest.append(st.id if len(out) == len(st.canonical) else f"{st.id} ({', '.join(out)})")
    if rest:
        parts.append(f"{', '.join(rest)}: no keyword-tool intent (a disagreement)")
    return "; ".join(parts)


def agreement_lines(res: dict, scheme: Scheme, column: str = "input_intent", limit: int = 5) -> list[str]:
    n, ok = res["compared"], res["agree"]
    share = f" ({ok / n:.0%})" if n else ""
    skipped = [f"{res[k]} {label}" for k, label in (("navigational", "navigational only"), ("no_stage", "unclear or none"),
                                                    ("no_intent", "without intent"), ("unrecognised", "intent not recognised"))
               if res[k]]
    lines = [f"intent check ({column} vs stage): {ok} of {n} question(s) agree{share}, {n - ok} disagree"
             + (f"; not compared: {', '.join(skipped)}" if skipped else "")]
    per = [f"{i} {a}/{t}" for i, (t, a) in res["per_intent"].items() if t]
    if per:
        lines.append(f"  agree by input intent: {', '.join(per)}")
    lines.append(f"  mapping: {mapping_line(scheme)}")
    for q, intent, st in res["disagreements"][:limit]:
        lines.append(f"  disagree: '{q}' (input {intent}, stage {st})")
    if len(res["disagreements"]) > limit:
        lines.append(f"  ... {len(res['disagreements']) - limit} more disagreement(s) in questions.csv ({column}, stage)")
    return lines
