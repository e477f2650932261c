"""Writers: aligned terminal table, CSV, JSON, JSONL, XLSX; to stdout or a file, written atomically."""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import OutputError

FORMATS = ("table", "csv", "json", "jsonl", "xlsx")
XLSX_MAX_ROWS = 1_048_576   # rows in an .xlsx sheet, the header row included
XLSX_MAX_COLS = 16_384      # columns in an .xlsx sheet
XLSX_MAX_CELL = 32_767      # characters in an .xlsx cell


class XlsxLimitError(OutputError):
    """The data does not fit in an .xlsx workbook (rows, columns or characters in a cell); ``what``
    says what does not fit, without the file name and the fix."""

    def __init__(self, name: str, what: str, fix: str = "write CSV or JSONL instead (-f csv, or -o FILE.csv), which has no limit"):
        super().__init__(f"{name}: {what}; {fix}")
        self.what = what


def _too_many_rows(name: str, n: int | None, sheet: str) -> XlsxLimitError:
    count = f"{n:,} rows" if n is not None else f"more than {XLSX_MAX_ROWS - 1:,} rows"
    return XlsxLimitError(name, f"{count} do not fit in sheet '{sheet}' (an .xlsx sheet holds {XLSX_MAX_ROWS - 1:,} "
                                "rows under its header)")


def check_output_path(output: str | Path | None, inputs=()) -> None:
    """Refuse an output path that is a folder, an input file, or in a folder that does not exist."""
    if output is None or str(output) == "-":
        return
    out = Path(output)
    if out.is_dir():
        raise OutputError(f"{out}: is a directory; pass a file name for -o")
    from .tables import source_path
    for inp in inputs:
        if inp is None or str(inp) == "-":
            continue
        inp = source_path(inp)  # book.xlsx#Sheet is the file book.xlsx
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


def _json_safe(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False, double_precision=6))


def render_table(frame: pd.DataFrame, max_width: int = 60) -> str:
    """An aligned plain-text table for a terminal; long cells are shortened with an ellipsis."""
    cols = [str(c) for c in frame.columns]
    rows = []
    for rec in frame.itertuples(index=False):
        cells = []
        for v in rec:
            s = _fmt_cell(v).replace("\n", " ").replace("\t", " ")
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


def _csv_text(frame: pd.DataFrame, header: bool = True) -> str:
    text = frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\n")
    if "\r" not in text:
        return text
    # The csv writer quotes a field holding a line-terminator character: with "\n" alone, a bare CR
    # in a cell would go out unquoted and split the row when read back. Write with CRLF (every CR
    # and LF in a cell quoted), then end the records with LF again: outside quotes only.
    parts = frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\r\n").split('"')
    parts[::2] = [p.replace("\r\n", "\n") for p in parts[::2]]
    return '"'.join(parts)


def _jsonl_text(frame: pd.DataFrame) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _json_safe(frame))


def write_table(frame: pd.DataFrame, fmt: str = "table", output: str | Path | None = None, inputs=()) -> None:
    """Write ``frame`` in ``fmt`` to ``output`` (stdout when None or '-')."""
    if fmt not in FORMATS:
        raise OutputError(f"unknown output format '{fmt}' (valid: {', '.join(FORMATS)})")
    to_stdout = output is None or str(output) == "-"
    if fmt == "xlsx":
        if to_stdout:
            raise OutputError("xlsx output needs a file: pass -o FILE.xlsx")
        check_output_path(output, inputs)
        buf = io.BytesIO()
        write_xlsx({"results": frame}, buf, name=str(output))
        with atomic_write(output, "wb") as fh:
            fh.write(buf.getvalue())
        return
    if fmt == "table":
        text = render_table(frame)
    elif fmt == "csv":
        text = _csv_text(frame)
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


def write_xlsx(sheets: dict[str, pd.DataFrame], target, name: str = "xlsx output") -> None:
    """Write several DataFrames as sheets of one workbook (XlsxWriter: about twice as fast as openpyxl).

    Text is always stored as text: with ``strings_to_formulas`` off, a cell such as
    ``=HYPERLINK(...)`` coming from a user's CSV can never become a live formula.

    Nothing is cut to fit: a sheet over :data:`XLSX_MAX_ROWS` rows or :data:`XLSX_MAX_COLS` columns,
    or a cell over :data:`XLSX_MAX_CELL` characters, raises :class:`XlsxLimitError` (``name``, the
    file, is in the message) before anything is written.
    """
    import xlsxwriter

    for sheet, frame in sheets.items():
        if len(frame) + 1 > XLSX_MAX_ROWS:
            raise _too_many_rows(name, len(frame), str(sheet)[:31])
        if frame.shape[1] > XLSX_MAX_COLS:
            raise XlsxLimitError(name, f"{frame.shape[1]:,} columns do not fit in sheet '{str(sheet)[:31]}' (an .xlsx "
                                       f"sheet holds {XLSX_MAX_COLS:,})")
    wb = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    try:
        for sheet, frame in sheets.items():
            title = str(sheet)[:31]
            ws = wb.add_worksheet(title)
            columns = [str(c) for c in frame.columns]
            for j, c in enumerate(columns):
                if len(c) > XLSX_MAX_CELL:
                    raise _cell_too_long(name, title, c[:40], 1, len(c))
            ws.write_row(0, 0, columns)
            for i, row in enumerate(frame.itertuples(index=False), start=1):
                cells = [_xlsx_cell(v) for v in row]
                for j, c in enumerate(cells):
                    if isinstance(c, str) and len(c) > XLSX_MAX_CELL:
                        raise _cell_too_long(name, title, columns[j], i + 1, len(c))
                ws.write_row(i, 0, cells)
    finally:
        wb.close()


def _cell_too_long(name: str, sheet: str, column: str, row: int, n: int) -> XlsxLimitError:
    return XlsxLimitError(name, f"the cell in column '{column}', row {row} of sheet '{sheet}' holds {n:,} characters, "
                                f"more than the {XLSX_MAX_CELL:,} an .xlsx cell can hold",
                          "write CSV or JSON instead (-f csv, or -o FILE.csv), which keeps every character")


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

    def __init__(self, fmt: str, output: str | Path | None, inputs=()):
        if fmt not in FORMATS:
            raise OutputError(f"unknown output format '{fmt}' (valid: {', '.join(FORMATS)})")
        self.fmt, self.output, self.inputs = fmt, output, inputs
        self._to_stdout = output is None or str(output) == "-"
        if not self._to_stdout:
            check_output_path(output, inputs)
        self._parts: list[pd.DataFrame] = []
        self._ctx = None
        self._fh = None
        self._header = True
        self._rows = 0

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
            self._rows += len(frame)
            if self.fmt == "xlsx" and self._rows + 1 > XLSX_MAX_ROWS:  # say so now, not after classifying the rest
                raise _too_many_rows(str(self.output), None, "results")
            self._parts.append(frame)
            return
        self._fh.write(_csv_text(frame, header=self._header) if self.fmt == "csv" else _jsonl_text(frame))
        self._header = False

    def __exit__(self, exc_type, exc, tb):
        if self._ctx is not None:
            return self._ctx.__exit__(exc_type, exc, tb)
        if self._fh is sys.stdout:
            sys.stdout.flush()
            return False
        if exc_type is None:
            frame = pd.concat(self._parts, ignore_index=True) if self._parts else pd.DataFrame()
            write_table(frame, self.fmt, self.output, self.inputs)
        return False
