"""Errors raised by the library. The CLI turns them into one-line ``Error: ...`` messages.

Message templates live here so that wording stays consistent across commands.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ContentplanError(Exception):
    """Base class: every error the library raises on purpose."""


class InputError(ContentplanError):
    """An input file or value is unreadable or malformed."""


class ColumnError(InputError):
    """A needed column is missing or ambiguous."""


class SchemeError(ContentplanError):
    """A scheme name or scheme file is invalid."""


class ModelError(ContentplanError):
    """A model folder is missing, corrupt or incompatible."""


RETRAIN = "retrain with 'contentplan train'"   # the fix for a model folder that cannot be used


def model_error(what: str) -> ModelError:
    """``what`` (where and what is wrong) with the fix: ``"<what>; retrain with 'contentplan train'"``."""
    return ModelError(f"{what}; {RETRAIN}")


class CorpusError(ContentplanError):
    """The labeled corpus is malformed."""


class OutputError(ContentplanError):
    """An output path cannot be written."""


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """Return ``"; did you mean 'x'?"`` when a close match exists, else ``""``."""
    match = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def missing_column(column: str, where: str, found: Iterable[str], option: str = "--text-column") -> ColumnError:
    found = list(found)
    return ColumnError(
        f"{where}: no column '{column}'{did_you_mean(column, found)} "
        f"(columns found: {', '.join(map(str, found)) or 'none'}); pass {option} with one of them"
    )
