"""The one way to fold text for matching: lowercase, accents removed (é -> e), typographic
apostrophe made plain. Used wherever two spellings of the same words must compare equal: the TF-IDF
features, cue-word rules, personas, column names, scheme labels, corpus checks."""
from __future__ import annotations

import functools
import unicodedata


@functools.cache
def _drop_combining() -> dict:
    """A ``str.translate`` table deleting every combining character (none lies past U+1E94A): one
    translate instead of a loop over characters, for long page bodies."""
    return {c: None for c in range(0x300, 0x1F000) if unicodedata.combining(chr(c))}


def fold_accents(text, apostrophe: bool = True) -> str:
    """Lowercase, without accents (NFKD without combining marks), with ’ as ' ("Études de cas" ->
    "etudes de cas"). ``apostrophe=False`` keeps ’ as it is: the model's word and character features
    fold as scikit-learn's ``strip_accents="unicode"`` does, and must keep doing so."""
    s = str(text).lower()
    if apostrophe:
        s = s.replace("’", "'")
    if s.isascii():
        return s
    return unicodedata.normalize("NFKD", s).translate(_drop_combining())
