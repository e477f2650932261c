"""Split long texts into passages (spaCy sentence segmentation, ``fr_core_news_sm``'s sentence
recogniser for French, spaCy's rule-based sentencizer for English; a punctuation rule for blocks
under 150 words) and group sentences into passages of ~60 words."""
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


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«“(]?[A-ZÀ-ÖØ-Ý0-9])")
SPACY_MIN_WORDS = 150      # shorter blocks (chat messages, short notes) are split with a rule, not spaCy


def _split_block(block: str, lang: str) -> list[str]:
    n = len(block.split())
    if n <= 25:
        return [block]
    if n < SPACY_MIN_WORDS:
        # A chat message or a short note: a punctuation rule is enough, and it spares a classify
        # run the seconds of loading spaCy for one long-ish query.
        return [s.strip() for s in _SENTENCE_END.split(block) if s.strip()]
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


def cached_passages(text: str, lang: str = "en") -> list[str]:
    """:func:`passages`, remembered in the on-disk cache: a re-run over the same content needs
    neither spaCy nor its loading time. Only texts long enough to need spaCy are stored."""
    if len(text.split()) < SPACY_MIN_WORDS:
        return passages(text, lang)
    import json
    import sqlite3

    from ..io.cache import cache_store, row_cache_enabled
    if not row_cache_enabled():
        return passages(text, lang)
    key = f"passages-v1:{lang}:{PASSAGE_WORDS}"
    cache = cache_store()
    try:
        hit = cache.get_text(key, text)
    except sqlite3.Error:
        hit = None
    if hit is not None:
        return json.loads(hit)
    out = passages(text, lang)
    try:
        cache.put_text(key, text, json.dumps(out, ensure_ascii=False))
    except sqlite3.Error:
        pass
    return out
