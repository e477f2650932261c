"""Split long texts into passages (spaCy sentence segmentation, ``fr_core_news_sm`` for French,
a rule-based sentencizer for English) and group sentences into passages of ~60 words."""
from __future__ import annotations

import functools
import re

LONG_TEXT_WORDS = 40       # texts longer than this are classified passage by passage
PASSAGE_WORDS = 60
MAX_DOC_CHARS = 50_000     # a longer text is classified on its first 50,000 characters (~8,000 words)


@functools.cache
def _nlp(lang: str):
    import spacy

    if lang == "fr":
        try:
            # Only the statistical sentence recogniser: it has its own weights, so the rest is excluded.
            nlp = spacy.load("fr_core_news_sm", exclude=["tok2vec", "parser", "ner", "lemmatizer", "attribute_ruler", "morphologizer"])
            nlp.enable_pipe("senter")
            return nlp
        except (OSError, ValueError, ImportError):  # pipeline not installed: the rule-based sentencizer still works
            pass
        nlp = spacy.blank("fr")
    else:
        nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items: hard boundaries that a passage never crosses."""
    text = re.sub(r"[ \t]+", " ", (text or "")[:MAX_DOC_CHARS]).strip()
    parts = re.split(r"\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)])\s)", text)
    return [p.replace("\n", " ").strip() for p in parts if p.strip()]


def sentences(text: str, lang: str = "en") -> list[str]:
    out = []
    for block in _blocks(text):
        out.extend(_split_block(block, lang))
    return out


def _split_block(block: str, lang: str) -> list[str]:
    if len(block.split()) <= 25:
        return [block]
    doc = _nlp("fr" if lang == "fr" else "en")(block[:100000])
    return [s.text.strip() for s in doc.sents if s.text.strip()]


def passages(text: str, lang: str = "en", size: int = PASSAGE_WORDS) -> list[str]:
    """Consecutive sentences of one paragraph grouped until about ``size`` words. Paragraphs are never
    merged, so a closing call to action is seen (and weighed) as its own passage."""
    out = []
    for block in _blocks(text):
        cur, n = [], 0
        for s in _split_block(block, lang):
            w = len(s.split())
            if cur and n + w > size:
                out.append(" ".join(cur))
                cur, n = [], 0
            cur.append(s)
            n += w
        if cur:
            out.append(" ".join(cur))
    return out
