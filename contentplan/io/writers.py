"""Writers: aligned terminal table, CSV, JSON, JSONL, XLSX; to stdout or a file, written atomically.

Output paths are checked before any work: never a folder, never a file the command reads (compared
after resolving symlinks, ``..`` and hard links), never a special file replaced by a regular one
(a FIFO or character device is written into, ``/dev/stdout`` and ``-`` stream to stdout).
"""
from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import io
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import OutputError
from ..terminal import clean_line, clean_text  # noqa: F401  (clean_text re-exported)

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

# /dev/stdout and friends name a descriptor this process already has open: write to it, never open/replace the path.
_STD_NAMES = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_FD_PATH = re.compile(r"/(?:dev/fd|proc/self/fd)/(\d+)")


def _fd_of(output) -> int | None:
    s = os.path.normpath(str(output))
    if s in _STD_NAMES:
        return _STD_NAMES[s]
    m = _FD_PATH.fullmatch(s)
    return int(m.group(1)) if m else None


def same_file(a: Path, b: Path) -> bool:
    """Same file after resolving symlinks, ``.``/``..`` and hard links (st_dev/st_ino)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: Path, folder: Path) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)
    except ValueError:
        return False


def _folder_reads(folder: Path, path: Path) -> bool:
    """Whether reading the input ``folder`` reads ``path``: a document inside it, or any file of a model folder."""
    from .documents import DOC_EXTS
    return path.suffix.lower() in DOC_EXTS or (folder / "meta.json").is_file()


def input_collision(output: str | Path, inputs=()) -> str | None:
    """The reason ``output`` (an existing regular file) is also something the command reads, else None."""
    out = Path(output)
    try:
        st_out = os.stat(out)
    except OSError:
        return None          # a file that does not exist yet is read by nobody
    from .tables import source_path
    for inp in inputs:
        if inp is None or str(inp) in ("", "-"):
            continue
        ip = Path(source_path(inp))  # book.xlsx#Sheet is the file book.xlsx
        try:
            st_in = os.stat(ip)
        except OSError:
            continue
        if stat.S_ISDIR(st_in.st_mode):
            if _inside(out, ip) and _folder_reads(ip, Path(os.path.realpath(out))):
                return f"is read as part of the input folder {inp}; write the output outside that folder"
            if st_out.st_nlink > 1:   # a hard link to a file inside the folder
                for root, _dirs, files in os.walk(ip):
                    for name in files:
                        cand = Path(root) / name
                        if _folder_reads(ip, cand) and same_file(out, cand):
                            return f"is the same file as {cand}, read from the input folder {inp}; write the output to another file"
            continue
        if (st_in.st_dev, st_in.st_ino) == (st_out.st_dev, st_out.st_ino):
            if str(inp) == str(output):
                return "is also an input file; write the output to another file"
            return f"is the same file as the input {inp}; write the output to another file"
    return None


def output_kind(output: str | Path | None) -> str:
    """How ``output`` is written: 'stdout'; 'fd' (/dev/stderr, /dev/fd/N: an open descriptor, written
    into); 'stream' (a FIFO or character device, or a symlink to one: opened and written into, never
    replaced); 'file' (a regular file or a new one: written to a temporary file, then renamed)."""
    if output is None or str(output) == "-":
        return "stdout"
    fd = _fd_of(output)
    if fd is not None:
        return "stdout" if fd == 1 else "fd"
    try:
        mode = os.stat(output).st_mode
    except OSError:
        return "file"
    return "stream" if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) else "file"


_KIND_NAMES = {stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}


def check_output_path(output: str | Path | None, inputs=()) -> str:
    """Refuse an output path that is a folder, an input file (or a file an input folder reads), a
    block device or socket, or in a folder that does not exist. Returns :func:`output_kind`."""
    if output is None or str(output) == "-":
        return "stdout"
    out, shown = Path(output), str(output)
    fd = _fd_of(output)
    if fd is not None:
        if fd == 0:
            raise OutputError(f"{shown}: is standard input; pass -o - to write to standard output")
        try:
            os.fstat(fd)
        except OSError:
            raise OutputError(f"{shown}: file descriptor {fd} is not open; open it in the shell ({fd}>FILE) "
                              "or pass another -o") from None
        return "stdout" if fd == 1 else "fd"
    if out.is_dir():
        raise OutputError(f"{shown}: is a directory; pass a file name for -o")
    try:
        mode = os.stat(out).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise OutputError(f"{shown}: cannot be used as output ({err.strerror}); choose another output path") from None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
            if not os.access(out, os.W_OK):
                raise OutputError(f"{shown}: is not writable; choose another output path")
            return "stream"
        what = _KIND_NAMES.get(stat.S_IFMT(mode), "not a regular file")
        raise OutputError(f"{shown}: is {what}; write the output to a regular file")
    why = input_collision(output, inputs)
    if why:
        raise OutputError(f"{shown}: {why}")
    target = Path(os.path.realpath(out)) if out.is_symlink() else out   # a symlink is written through
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise OutputError(f"{shown}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{shown}: folder {parent} is not writable; choose another output path")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"{shown}: file is read-only; choose another output path")
    return "file"


def check_distinct_outputs(outputs: dict[str, str | Path | None]) -> None:
    """Two outputs of one command (``-o`` and ``--timeline``) must not be the same file."""
    seen: list[tuple[str, str | Path]] = []
    for option, path in outputs.items():
        if path is None or output_kind(path) != "file":
            continue
        for other_opt, other in seen:
            if os.path.realpath(path) == os.path.realpath(other) or same_file(Path(path), Path(other)):
                raise OutputError(f"{path}: is also the {other_opt} output {other}; write {option} to another file")
        seen.append((option, path))


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8"):
    """Write to a temporary file beside ``path`` and rename it into place on success.

    On any error (or Ctrl-C, or SIGTERM under the CLI) the temporary file is removed and ``path`` is
    left as it was. The replacement keeps the original's mode, and its owner and group where allowed.
    A symlink is written through (its target is replaced, the link kept); a special file (FIFO,
    device, socket) is never replaced: use :func:`open_output` for those.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise OutputError(f"{path}: is not a regular file; it is never replaced by one")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent) or ".")
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None,
                       newline="" if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            st = os.stat(path)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        else:
            _keep_owner(tmp, st)   # before chmod: a chown may clear mode bits
            os.chmod(tmp, st.st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _keep_owner(tmp: str, st: os.stat_result) -> None:
    """Give the replacement the owner and group of the file it replaces (root can; another user keeps
    at least the group when it belongs to it); where neither is allowed, the file is still written."""
    try:
        tmp_st = os.stat(tmp)
    except OSError:
        return
    if (tmp_st.st_uid, tmp_st.st_gid) == (st.st_uid, st.st_gid):
        return
    for uid in (st.st_uid, -1):
        try:
            os.chown(tmp, uid, st.st_gid)
            return
        except OSError:
            continue


@contextlib.contextmanager
def open_output(output: str | Path | None, mode: str = "w", kind: str | None = None):
    """A file object for ``output`` by its :func:`output_kind`: stdout, an open descriptor, a FIFO or
    character device written into directly, or a regular file written atomically."""
    kind = kind or output_kind(output)
    binary = "b" in mode
    if kind == "file":
        with atomic_write(output, mode) as fh:
            yield fh
        return
    if kind == "stdout" or (kind == "fd" and _fd_of(output) == 2):
        stream = sys.stdout if kind == "stdout" else sys.stderr
        stream.flush()
        fh = stream.buffer if binary else stream
        yield fh
        fh.flush()
        return
    if kind == "fd":
        fh = os.fdopen(os.dup(_fd_of(output)), mode, encoding=None if binary else "utf-8", newline=None if binary else "")
    else:
        fh = open(output, mode, encoding=None if binary else "utf-8", newline=None if binary else "")  # noqa: SIM115
    with fh:
        yield fh


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


CSV_DIALECTS = ("plain", "excel", "excel-fr")
CSV_BOM = "\ufeff"   # what tells Excel a CSV is UTF-8 (without it, Excel reads cp1252 and garbles accents)


def check_csv_dialect(dialect: str) -> str:
    if dialect not in CSV_DIALECTS:
        raise OutputError(f"unknown CSV dialect '{dialect}' (valid: {', '.join(CSV_DIALECTS)})")
    return dialect


def csv_text(frame: pd.DataFrame, header: bool = True, safe: bool = False, dialect: str = "plain") -> str:
    """CSV text: byte-faithful by default; ``safe`` neutralises formula-like cells (``--csv-safe``).

    ``dialect`` 'excel' starts the text with a byte-order mark (written as UTF-8, Excel then reads the
    accents right); 'excel-fr' also separates cells with ';' and writes decimals with a comma, as
    French Excel expects. Both neutralise formula-like cells (:func:`neutralise_cell`), always."""
    check_csv_dialect(dialect)
    if safe or dialect != "plain":
        frame = csv_safe_frame(frame)
    if dialect != "plain":
        sep, dec = (";", ",") if dialect == "excel-fr" else (",", ".")
        text = frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\n", sep=sep, decimal=dec)
        if "\r" in text:   # as below: a bare CR would split the row
            text = frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\n", sep=sep, decimal=dec,
                                quoting=csv.QUOTE_NONNUMERIC)
        return (CSV_BOM if header else "") + text
    # Python's csv writer quotes a cell holding '\n' but not one holding a bare '\r', which every reader
    # (and Excel) takes for a line break: such a cell would split its row, and could start a new row
    # with a formula. Then text cells are quoted (rare; the values stay exact). Records end with '\n',
    # so a '\r' in the text can only come from a cell: one scan of the text, not of every cell.
    text = frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\n")
    if "\r" not in text:
        return text
    return frame.to_csv(index=False, header=header, float_format="%.4f", lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)




def _jsonl_text(frame: pd.DataFrame) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _json_safe(frame))


@dataclass(frozen=True)
class OutputFormat:
    """One ``-f`` format: how a result table is written."""

    render: Callable[[pd.DataFrame, str, bool, str], str | bytes]
    """(frame, output name, csv_safe, csv_dialect) -> the whole file (bytes for a binary format)."""
    extensions: tuple[str, ...] = ()
    """-o names ending so choose it without -f (no dot; the first is the one error messages name)."""
    chunk: Callable[[pd.DataFrame, bool, bool, str], str] | None = None
    """(frame, with header, csv_safe, csv_dialect) -> text: written chunk by chunk as rows come
    (csv, jsonl); None: the rows are gathered and written at the end."""
    binary: bool = False
    what: str = ""
    """A binary format's name in the message refusing to write it to a terminal ("an .xlsx workbook")."""


# The output formats, filled by register_output_format at the end of this module, in -f's order. To
# add one, register it once: -f, the -o extension, write_table and StreamWriter accept it.
OUTPUT_FORMATS: dict[str, OutputFormat] = {}
FORMATS = OUTPUT_FORMATS.keys()
DEFAULT_FORMAT = "table"


def register_output_format(name: str, fmt: OutputFormat) -> None:
    OUTPUT_FORMATS[name] = fmt


def _format_spec(fmt: str) -> OutputFormat:
    if fmt not in OUTPUT_FORMATS:
        raise OutputError(f"unknown output format '{fmt}' (valid: {', '.join(FORMATS)})")
    return OUTPUT_FORMATS[fmt]


def resolve_format(fmt: str | None, output: str | None) -> str:
    """The format to write: ``fmt`` when given, else the one the ``-o`` extension names, else the text
    table. An unknown extension is refused: a text table in report.ods or data.xls would look fine
    and open as garbage."""
    if fmt:
        return fmt
    if output and output != "-":
        ext = Path(output).suffix.lower().lstrip(".")
        if not ext:
            return DEFAULT_FORMAT
        for name, spec in OUTPUT_FORMATS.items():
            if ext in spec.extensions:
                return name
        named = [n for n in FORMATS if n != DEFAULT_FORMAT] + [DEFAULT_FORMAT]
        exts = [f".{OUTPUT_FORMATS[n].extensions[0]}" for n in named if OUTPUT_FORMATS[n].extensions]
        raise OutputError(f"{output}: unknown output extension '.{ext}'; name the file {', '.join(exts[:-1])} or {exts[-1]}, "
                          f"or pass -f {'|'.join(named)}")
    return DEFAULT_FORMAT


def _xlsx_to_terminal(kind: str, output) -> bool:
    stream = sys.stdout if kind == "stdout" else sys.stderr if kind == "fd" and _fd_of(output) == 2 else None
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False


def _refuse_binary_to_terminal(kind: str, output, spec: OutputFormat) -> None:
    if spec.binary and _xlsx_to_terminal(kind, output):
        shown = "-" if output is None else str(output)
        raise OutputError(f"{shown}: {spec.what} cannot be written to a terminal; pass -o FILE.{spec.extensions[0]} or pipe the output")


def write_table(frame: pd.DataFrame, fmt: str = "table", output: str | Path | None = None, inputs=(),
                csv_safe: bool = False, csv_dialect: str = "plain") -> None:
    """Write ``frame`` in ``fmt`` to ``output`` (stdout when None or '-'); CSV in ``csv_dialect`` (see :func:`csv_text`)."""
    check_csv_dialect(csv_dialect)
    spec = _format_spec(fmt)
    kind = check_output_path(output, inputs)
    _refuse_binary_to_terminal(kind, output, spec)
    data = spec.render(frame, str(output), csv_safe, csv_dialect)
    with open_output(output, "wb" if spec.binary else "w", kind) as fh:
        fh.write(data)


def write_xlsx(sheets: dict[str, pd.DataFrame], target, name: str = "xlsx output", first=None) -> None:
    """Write several DataFrames as sheets of one workbook (XlsxWriter: about twice as fast as openpyxl).

    Each sheet is ready to work with: a bold header row, frozen, with an autofilter; column widths
    fitted to the content, long text wrapped; numbers as numbers, shares as percentages and ISO dates
    as dates, with number formats (see :mod:`contentplan.io.xlsxcells`). Text is always stored as
    text: with ``strings_to_formulas`` off, a cell such as ``=HYPERLINK(...)`` coming from a user's CSV
    can never become a live formula. ``first(workbook, styles)``, when given, writes sheets placed
    before the tables (the gap report's Summary).

    Nothing is cut to fit: a sheet over :data:`XLSX_MAX_ROWS` rows or :data:`XLSX_MAX_COLS` columns,
    or a cell over :data:`XLSX_MAX_CELL` characters, raises :class:`XlsxLimitError` (``name``, the
    file, is in the message) before anything is written.
    """
    import xlsxwriter

    from .xlsxcells import column_kind, display_width, number_format

    for sheet, frame in sheets.items():
        if len(frame) + 1 > XLSX_MAX_ROWS:
            raise _too_many_rows(name, len(frame), str(sheet)[:31])
        if frame.shape[1] > XLSX_MAX_COLS:
            raise XlsxLimitError(name, f"{frame.shape[1]:,} columns do not fit in sheet '{str(sheet)[:31]}' (an .xlsx "
                                       f"sheet holds {XLSX_MAX_COLS:,})")
    wb = xlsxwriter.Workbook(target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False, "nan_inf_to_errors": True})
    styles = {"header": wb.add_format({"bold": True, "bg_color": "#EEF1F4", "bottom": 1, "text_wrap": True, "valign": "top"}),
              "wrap": wb.add_format({"text_wrap": True, "valign": "top"}), "top": wb.add_format({"valign": "top"})}
    cache: dict[str, object] = {}

    def numfmt(code):
        if code not in cache:
            cache[code] = wb.add_format({"num_format": code, "valign": "top"})
        return cache[code]
    styles["num"] = numfmt
    try:
        if first is not None:
            first(wb, styles)
        for sheet, frame in sheets.items():
            title = str(sheet)[:31]
            ws = wb.add_worksheet(title)
            columns = [str(c) for c in frame.columns]
            for j, c in enumerate(columns):
                if len(c) > XLSX_MAX_CELL:
                    raise _cell_too_long(name, title, c[:40], 1, len(c))
            ws.write_row(0, 0, columns, styles["header"])
            for j, c in enumerate(columns):
                col = frame.iloc[:, j]
                kind, values = column_kind(c, col)
                cells = values if values is not None else col.tolist()
                code = number_format(c, kind, cells)
                width = display_width(c, col, code)
                wrap = kind == "text" and width >= 60
                ws.set_column(j, j, width, numfmt(code) if code else styles["wrap" if wrap else "top"])
                _write_column(ws, j, cells, name, title, c)
            ws.freeze_panes(1, 0)
            if columns:
                ws.autofilter(0, 0, max(len(frame), 1), len(columns) - 1)
    finally:
        wb.close()


def _cell_too_long(name: str, sheet: str, column: str, row: int, n: int) -> XlsxLimitError:
    return XlsxLimitError(name, f"the cell in column '{column}', row {row} of sheet '{sheet}' holds {n:,} characters, "
                                f"more than the {XLSX_MAX_CELL:,} an .xlsx cell can hold",
                          "write CSV or JSON instead (-f csv, or -o FILE.csv), which keeps every character")


_DATETIME_TYPES = (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)   # converted date columns (xlsxcells)


def _write_column(ws, j: int, values: list, name: str, sheet: str, column: str) -> None:
    """Write one column's cells from row 1 down, a typed write per cell (a column at a time spares
    XlsxWriter's per-cell type dispatch and pandas' per-row tuples: about a third of the workbook's
    time on a 20k-question report). Blank cells (None, NaN, missing, "") are left empty."""
    write_string, write_number, write_boolean = ws.write_string, ws.write_number, ws.write_boolean
    for i, v in enumerate(values, start=1):
        t = v.__class__
        if t is str:
            if not v:
                continue
            if len(v) > XLSX_MAX_CELL:
                raise _cell_too_long(name, sheet, column, i + 1, len(v))
            write_string(i, j, v)
        elif t is float:
            if v == v:
                write_number(i, j, v)
        elif t is int:
            write_number(i, j, v)
        elif t is bool:
            write_boolean(i, j, v)
        elif t in _DATETIME_TYPES:
            ws.write(i, j, v)
        elif v is not None:
            v = _xlsx_cell(v)
            if isinstance(v, str) and len(v) > XLSX_MAX_CELL:
                raise _cell_too_long(name, sheet, column, i + 1, len(v))
            if v is not None:
                ws.write(i, j, v)


def _xlsx_cell(v):
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
        return None if isinstance(v, float) and v != v else v
    return str(v)


class StreamWriter:
    """Incremental writer for csv / jsonl so that huge inputs never sit in memory whole.

    Other formats are accumulated and written at close (they need the whole table).
    """

    def __init__(self, fmt: str, output: str | Path | None, inputs=(), csv_safe: bool = False, csv_dialect: str = "plain"):
        self.spec = _format_spec(fmt)
        self.fmt, self.output, self.inputs, self.csv_safe = fmt, output, inputs, csv_safe
        self.csv_dialect = check_csv_dialect(csv_dialect)
        self._kind = check_output_path(output, inputs)
        _refuse_binary_to_terminal(self._kind, output, self.spec)   # now, not after classifying everything
        self._parts: list[pd.DataFrame] = []
        self._ctx = None
        self._fh = None
        self._header = True
        self._rows = 0

    def __enter__(self):
        if self.spec.chunk is not None:
            self._ctx = open_output(self.output, "w", self._kind)
            self._fh = self._ctx.__enter__()
        return self

    def write(self, frame: pd.DataFrame) -> None:
        if self._fh is None:
            self._rows += len(frame)
            if self.fmt == "xlsx" and self._rows + 1 > XLSX_MAX_ROWS:  # say so now, not after classifying the rest
                raise _too_many_rows(str(self.output), None, "results")
            self._parts.append(frame)
            return
        self._fh.write(self.spec.chunk(frame, self._header, self.csv_safe, self.csv_dialect))
        self._header = False

    def __exit__(self, exc_type, exc, tb):
        if self._ctx is not None:
            return self._ctx.__exit__(exc_type, exc, tb)
        if exc_type is None:
            frame = pd.concat(self._parts, ignore_index=True) if self._parts else pd.DataFrame()
            write_table(frame, self.fmt, self.output, self.inputs, csv_safe=self.csv_safe, csv_dialect=self.csv_dialect)
        return False


def _xlsx_bytes(frame: pd.DataFrame, name: str) -> bytes:
    buf = io.BytesIO()
    write_xlsx({"results": frame}, buf, name=name)
    return buf.getvalue()


register_output_format("table", OutputFormat(lambda frame, name, safe, dialect: render_table(frame),
                                             extensions=("txt", "text", "out", "log")))
register_output_format("csv", OutputFormat(lambda frame, name, safe, dialect: csv_text(frame, safe=safe, dialect=dialect),
                                           extensions=("csv",),
                                           chunk=lambda frame, header, safe, dialect: csv_text(frame, header=header, safe=safe, dialect=dialect)))
register_output_format("json", OutputFormat(
    lambda frame, name, safe, dialect: json.dumps(_json_safe(frame), ensure_ascii=False, indent=2) + "\n", extensions=("json",)))
register_output_format("jsonl", OutputFormat(lambda frame, name, safe, dialect: _jsonl_text(frame), extensions=("jsonl",),
                                             chunk=lambda frame, header, safe, dialect: _jsonl_text(frame)))
register_output_format("xlsx", OutputFormat(lambda frame, name, safe, dialect: _xlsx_bytes(frame, name), extensions=("xlsx",),
                                            binary=True, what="an .xlsx workbook"))
