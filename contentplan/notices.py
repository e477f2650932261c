"""Non-fatal messages from the library: one line each on stderr, ``note: ...`` or ``warning: ...``.

Errors are exceptions (see :mod:`contentplan.errors`); these are for what the user should know but
that does not stop the work: which sheet of a workbook was read, a cache that could not be used,
a line read in another encoding.
"""
from __future__ import annotations

import sys

_ONCE: set[str] = set()


def note(message: str) -> None:
    _emit("note", message)


def warn(message: str, once: str | None = None) -> None:
    """Print ``warning: message``; with ``once``, only the first warning of that key in this process."""
    if once is not None:
        if once in _ONCE:
            return
        _ONCE.add(once)
    _emit("warning", message)


def _emit(kind: str, message: str) -> None:
    line = " ".join(str(message).splitlines())
    try:
        sys.stderr.write(f"{kind}: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: the message is not worth a failure
        pass
