"""How a table's columns go into an .xlsx sheet so that Excel can sum, sort, filter and pivot them:
numbers as numbers (volumes, clicks, CPC, KD, position, scores, confidence, also when the input
file stored them as text), shares as percentages, ISO dates as dates; everything else as text,
never as a formula. A column is converted only when every non-blank cell converts, so an id such as
``00123``, a phone number ``+33612345678`` or a cell ``-2+3`` stays text exactly as it was."""
from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

# Shares (0-1) shown as percentages; probabilities and similarities with three decimals.
PERCENT_COLUMNS = frozenset({"coverage", "demand_share", "gap_score", "cell_coverage", "ctr", "answered_share"})
SCORE_COLUMNS = frozenset({"confidence", "similarity", "best_question_similarity", "closest_similarity", "p_none"})
_NUMBER = re.compile(r"-?(?:\d{1,15}(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED = re.compile(r"-?\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?:\.\d+)?")     # 1,900 / 1 900 (keyword tools)
_PERCENT = re.compile(r"-?\d+(?:[.,]\d+)?\s?%")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?")

NUM_INT = "#,##0"
NUM_DEC = "#,##0.00"
NUM_SCORE = "0.000"
NUM_PCT = "0%"
NUM_PCT1 = "0.0%"
NUM_DATE = "yyyy-mm-dd"
NUM_DATETIME = "yyyy-mm-dd hh:mm"


def _number_text(v: str) -> float | None:
    s = v.strip()
    if _NUMBER.fullmatch(s):
        if re.match(r"-?0\d", s):          # a leading zero: an id or a postcode, not a quantity
            return None
        return float(s)
    if _GROUPED.fullmatch(s):
        return float(re.sub(r"[,\u00a0\u202f ]", "", s))
    return None


def column_kind(name: str, values: pd.Series) -> tuple[str, list | None]:
    """('number' | 'percent' | 'date' | 'text' | 'native', converted values or None) for one column.

    'native': the column already holds numbers (or booleans), written as they are."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return "native", None
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return "text", None
    cells = [v for v in values if isinstance(v, str) and v.strip() != ""]
    if not cells or any(not isinstance(v, str) for v in values if v is not None and not (isinstance(v, float) and v != v)):
        return "text", None
    if all(_number_text(v) is not None for v in cells):   # stops at the first cell that is not a number
        return "number", [_number_text(v) if isinstance(v, str) and v.strip() else None for v in values]
    if all(_PERCENT.fullmatch(v.strip()) for v in cells):   # Search Console's CTR: "3.2%"
        return "percent", [float(v.strip().rstrip("%").strip().replace(",", ".")) / 100 if isinstance(v, str) and v.strip() else None
                           for v in values]
    if all(_ISO_DATE.fullmatch(v.strip()) for v in cells):
        out = []
        for v in values:
            if not (isinstance(v, str) and v.strip()):
                out.append(None)
                continue
            try:
                out.append(_dt.datetime.fromisoformat(v.strip()))
            except ValueError:
                return "text", None
        return "date", out
    return "text", None


def number_format(name: str, kind: str, values) -> str | None:
    """The Excel number format of a converted or native column."""
    low = str(name).lower()
    if kind == "date":
        has_time = any(isinstance(v, _dt.datetime) and (v.hour or v.minute or v.second) for v in values if v is not None)
        return NUM_DATETIME if has_time else NUM_DATE
    if kind == "percent" or (low in PERCENT_COLUMNS and kind in ("number", "native")):
        return NUM_PCT1 if low in ("gap_score", "demand_share", "ctr", "answered_share") else NUM_PCT
    if kind not in ("number", "native"):
        return None
    if low in SCORE_COLUMNS or low.startswith("p_"):
        return NUM_SCORE
    arr = np.asarray([v for v in values if v is not None and not isinstance(v, (bool, np.bool_))], dtype=float) \
        if kind == "number" else None
    if kind == "native":
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            return None
    arr = arr[~np.isnan(arr)] if arr is not None and len(arr) else arr
    if arr is None or not len(arr) or np.all(arr == np.round(arr)):
        return NUM_INT
    return NUM_DEC


def display_width(name: str, values: pd.Series, fmt: str | None, sample: int = 300) -> float:
    """A column width (in characters) that fits its header and most cells, at most 60."""
    head = len(str(name)) + 2
    if fmt:
        return max(head, 12)
    lengths = [len(str(v)) for v in values.head(sample) if v is not None and not (isinstance(v, float) and v != v)]
    body = float(np.percentile(lengths, 90)) if lengths else 0.0
    return min(max(head, body + 2, 8), 60)
