"""One way to fold text for matching: lowercase, accents removed (é -> e), typographic apostrophe
made plain. Used wherever two spellings of the same words must compare equal."""
from __future__ import annotations

import unicodedata


def fold_accents(text) -> str:
    """Lowercase, without accents, with ’ as ' ("Études de cas" -> "etudes de cas")."""
    s = unicodedata.normalize("NFKD", str(text).lower().replace("’", "'"))
    return "".join(c for c in s if not unicodedata.combining(c))
