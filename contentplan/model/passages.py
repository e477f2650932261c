"""Split long texts into passages: paragraphs and list items are hard boundaries, sentences inside
a paragraph end at . ! ? or … (a closing quote or bracket may follow) before a space and a capital,
a digit or an opening quote, except after initials and common abbreviations ("U.S.", "a.m.",
"M.", "Dr."), and consecutive sentences are grouped into passages of ~60 words.

A rule, not spaCy's statistical sentence recogniser (``fr_core_news_sm``), which this used for
paragraphs of 150 words or more: loading spaCy and its French pipeline took ~6 s of every process
that met one (``tag`` on a new French draft with one long paragraph: 8.2-9.9 s against 1.5 s now),
and splitting 1,923 labeled real pages took 10.8 s against 0.7 s. On those pages the rule gives the
same passages for 1,498 and slightly different cuts for the other 425; the shipped model's stage
changed for none of them (largest probability change 0.06, in-sample), and the gap matching's
held-out figures moved by one question at most (results_matching.json, ``passage_rule``)."""
from __future__ import annotations

import re

LONG_TEXT_WORDS = 40       # texts longer than this are classified passage by passage
PASSAGE_WORDS = 60
MAX_DOC_CHARS = 50_000     # a longer text is classified on its first 50,000 characters (~8,000 words)


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items: hard boundaries that a passage never crosses."""
    text = re.sub(r"[ \t]+", " ", (text or "")[:MAX_DOC_CHARS]).strip()
    parts = re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", text)
    return [p.replace("\n", " ").strip() for p in parts if p.strip()]


# A sentence ends at . ! ? or …, possibly followed by a closing quote or bracket ('... said.” The'),
# then a space and a capital, a digit or an opening quote or bracket.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][”\"»)’']))\s+(?=[\"«“(]?[A-ZÀ-ÖØ-Ý0-9])")
# ... but not after initials and common abbreviations: "the U.S. Department", "11:30 a.m. GSA",
# "M. Dupont", "Dr. Smith", "p. 12".
_ABBREVIATION = re.compile(r"(?:\b(?:[A-Za-z]\.){2,}|(?<![\w.])(?:[A-Z]|Mr|Mrs|Ms|Dr|Prof|St|Mme|Mlle|MM|Me|Jr|Sr|"
                           r"vs|cf|No|no|p|pp|vol|env|approx|fig|Inc|Ltd|Co|Corp)\.)$")


def _split_block(block: str) -> list[str]:
    if len(block.split()) <= 25:
        return [block]
    out: list[str] = []
    for s in _SENTENCE_END.split(block):
        s = s.strip()
        if not s:
            continue
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return out


def passages(text: str, size: int = PASSAGE_WORDS) -> list[str]:
    """Consecutive sentences of one paragraph grouped until about ``size`` words. Paragraphs are never
    merged, so a closing call to action is seen (and weighed) as its own passage."""
    out = []
    for block in _blocks(text):
        cur, n = [], 0
        for s in _split_block(block):
            w = len(s.split())
            if cur and n + w > size:
                out.append(" ".join(cur))
                cur, n = [], 0
            cur.append(s)
            n += w
        if cur:
            out.append(" ".join(cur))
    return out
