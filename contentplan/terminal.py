"""Text for a terminal: user data never brings control characters (ANSI escapes, OSC, BEL, CR) with it.

Kept free of heavy imports: the CLI's error handler uses it.
"""
from __future__ import annotations

import re

# C0 controls, DEL and C1 controls (ESC starts ANSI/OSC sequences, BEL rings, CR overwrites a line),
# plus the Unicode line/paragraph separators: never passed from user data to a terminal.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BLANKS = frozenset("\t\n\r\v\f\x85\u2028\u2029")


def _visible(m: re.Match) -> str:
    c = m.group(0)
    return " " if c in _BLANKS else f"\\x{ord(c):02x}"


def clean_line(text) -> str:
    """One line of user text safe for a terminal: line breaks and tabs become spaces, every other
    control character (ANSI escapes, OSC, BEL, backspace...) is shown escaped as ``\\xNN``."""
    return _CONTROLS.sub(_visible, str(text))


def clean_text(text) -> str:
    """Like :func:`clean_line`, but keeps newlines (for multi-line output the program composes)."""
    return "\n".join(clean_line(part) for part in str(text).split("\n"))
