"""Writers: aligned terminal table, CSV, JSON, JSONL, XLSX; to stdout or a file, written atomically."""
from __future__ import annotations

import contextlib
import csv
import io
import re
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import OutputError
from ..terminal import clean_line, clean_text  # noqa: F401  (clean_text re-exported)

FORMATS = ("table", "csv", "json", "jsonl", "xlsx")


def check_output_path(output: str | Path | None, inputs=()) -> None:
    """Refuse an output path that is a folder, an input file, or in a folder that does not exist."""
    if output is None or str(output) == "-":
        return
    out = Path(output)
    if out.is_dir():
        raise OutputError(f"{out}: is a directory; pass a file name for -o")
    for inp in inputs:
        if inp is None or str(inp) == "-":
            continue
        try:
            if out.exists() and Path(inp).exists() and out.resolve() == Path(inp).resolve():
                raise OutputError(f"{out}: is also an input file; write the output to another file")
        except OSError:
            continue
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{out}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{out}: folder {parent} is not writable; choose another output path")
    if out.exists() and not os.access(out, os.W_OK):
        raise OutputError(f"{out}: file is read-only; choose another output path")


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Write to a temporary file beside ``path`` and rename it into place on success.

    On any error (or Ctrl-C) the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent) or ".")
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None,
                       newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------- CSV formula injection

# A spreadsheet opening a CSV runs a cell starting with one of these as a formula (=HYPERLINK, +cmd|...,
# -2+3, @SUM); tab and CR are OWASP's other triggers; the full-width forms are read as their ASCII twins.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def neutralise_cell(value):
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (shown as text); numbers,
    and text such as ``-3.5`` or ``+33612345678`` that is just a number, are left alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and header run through :func:`neutralise_cell`."""
    out = frame.copy()
    for i in range(out.shape[1]):
        dtype = out.dtypes.iloc[i]
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            out.isetitem(i, out.iloc[:, i].map(neutralise_cell))
    out.columns = [neutralise_cell(c) for c in out.columns]
    return out


# ----------------------------------------------------------------------------- formats

def _json_safe(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False, double_precision=6))


def render_table(frame: pd.DataFrame, max_width: int = 60) -> str:
    """An aligned plain-text table for a terminal; long cells are shortened with an ellipsis, and
    control characters in cells never reach the terminal (:func:`clean_line`)."""
    cols = [clean_line(c) for c in frame.columns]
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for v in rec:
            s = clean_line(_fmt_cell(v))
            cells.append(s if len(s) <= max_width else s[: max_width - 1] + "…")
        rows.append(cells)
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    out = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(out) + "\n"


def _fmt_cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return "" if v is None else str(v)


def csv_text(frame: pd.DataFrame, header: bool = True, safe: bool = False) -> str:
    """CSV text: byte-faithful by default; ``safe`` neutralises formula-like cells (``--csv-safe``)."""
    if safe:
        frame = csv_safe_frame(frame)
    # Python's csv writer quotes a cell holding '\n' but not one holding a bare '\r', which every reader
    # (and Excel) takes for a line break: such a cell would split its row, and could start a new row
    # with a formula. Then text cells are quoted (rare; the values stay exact).
    quoting = csv.QUOTE_NONNUMERIC if _has_cr(frame, header) else csv.QUOTE_MINIMAL
    return frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\n", quoting=quoting)


def _has_cr(frame: pd.DataFrame, header: bool) -> bool:
    if header and any(isinstance(c, str) and "\r" in c for c in frame.columns):
        return True
    for i in range(frame.shape[1]):
        dtype = frame.dtypes.iloc[i]
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            col = frame.iloc[:, i]
            if col.map(lambda v: isinstance(v, str) and "\r" in v).any():
                return True
    return False


_csv_text = csv_text


def _jsonl_text(frame: pd.DataFrame) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _json_safe(frame))


def write_table(frame: pd.DataFrame, fmt: str = "table", output: str | Path | None = None, inputs=(),
                csv_safe: bool = False) -> None:
    """Write ``frame`` in ``fmt`` to ``output`` (stdout when None or '-')."""
    if fmt not in FORMATS:
        raise OutputError(f"unknown output format '{fmt}' (valid: {', '.join(FORMATS)})")
    to_stdout = output is None or str(output) == "-"
    if fmt == "xlsx":
        if to_stdout:
            raise OutputError("xlsx output needs a file: pass -o FILE.xlsx")
        check_output_path(output, inputs)
        buf = io.BytesIO()
        write_xlsx({"results": frame}, buf)
        with atomic_write(output, "wb") as fh:
            fh.write(buf.getvalue())
        return
    if fmt == "table":
        text = render_table(frame)
    elif fmt == "csv":
        text = csv_text(frame, safe=csv_safe)
    elif fmt == "json":
        text = json.dumps(_json_safe(frame), ensure_ascii=False, indent=2) + "\n"
    else:
        text = _jsonl_text(frame)
    if to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    check_output_path(output, inputs)
    with atomic_write(output) as fh:
        fh.write(text)


def write_xlsx(sheets: dict[str, pd.DataFrame], target) -> None:
    """Write several DataFrames as sheets of one workbook (XlsxWriter: about twice as fast as openpyxl).

    Text is always stored as text: with ``strings_to_formulas`` off, a cell such as
    ``=HYPERLINK(...)`` coming from a user's CSV can never become a live formula.
    """
    import xlsxwriter

    wb = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    try:
        for name, frame in sheets.items():
            ws = wb.add_worksheet(str(name)[:31])
            ws.write_row(0, 0, [str(c) for c in frame.columns])
            for i, row in enumerate(frame.itertuples(index=False), start=1):
                ws.write_row(i, 0, [_xlsx_cell(v) for v in row])
    finally:
        wb.close()


def _xlsx_cell(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return str(v)


class StreamWriter:
    """Incremental writer for csv / jsonl so that huge inputs never sit in memory whole.

    Other formats are accumulated and written at close (they need the whole table).
    """

    def __init__(self, fmt: str, output: str | Path | None, inputs=(), csv_safe: bool = False):
        if fmt not in FORMATS:
            raise OutputError(f"unknown output format '{fmt}' (valid: {', '.join(FORMATS)})")
        self.fmt, self.output, self.inputs, self.csv_safe = fmt, output, inputs, csv_safe
        self._to_stdout = output is None or str(output) == "-"
        if not self._to_stdout:
            check_output_path(output, inputs)
        self._parts: list[pd.DataFrame] = []
        self._ctx = None
        self._fh = None
        self._header = True

    def __enter__(self):
        if self.fmt in ("csv", "jsonl"):
            if self._to_stdout:
                self._fh = sys.stdout
            else:
                self._ctx = atomic_write(self.output)
                self._fh = self._ctx.__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self._fh is None:
            self._parts.append(frame)
            return
        self._fh.write(csv_text(frame, header=self._header, safe=self.csv_safe) if self.fmt == "csv" else _jsonl_text(frame))
        self._header = False

    def __exit__(self, exc_type, exc, tb):
        if self._ctx is not None:
            return self._ctx.__exit__(exc_type, exc, tb)
        if self._fh is sys.stdout:
            sys.stdout.flush()
            return False
        if exc_type is None:
            frame = pd.concat(self._parts, ignore_index=True) if self._parts else pd.DataFrame()
            write_table(frame, self.fmt, self.output, self.inputs, csv_safe=self.csv_safe)
        return False
