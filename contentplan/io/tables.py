"""Table readers: CSV/TSV (delimiter sniffed, encoding detected), XLSX, JSON/JSONL, plain text, stdin.

Every cell is read as a string (``dtype=str``, no NA conversion) so that values the user exported
(volumes, positions, URLs, leading zeros) are carried through unchanged.

Inputs larger than :data:`STREAM_THRESHOLD` (files, pipes, FIFOs alike) are streamed in chunks in
bounded memory; a line over :data:`~contentplan.io.encoding.MAX_LINE_BYTES` stops with an error.
A workbook is read from its first sheet, or the one named after ``#`` (``file.xlsx#Sheet 2``);
other sheets holding data are named in a warning.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import ColumnError, InputError, did_you_mean, missing_column
from ..textfold import fold_accents
from . import encoding
from .encoding import (
    LineDecoder,
    check_size,
    decode,
    display_name,
    open_input,
    read_bytes,
    sniff_encoding,
)

DELIMITERS = [",", ";", "\t", "|"]
STREAM_THRESHOLD = 64 * 1024 ** 2  # inputs above this are streamed in chunks
# A streamed chunk also ends once its cells hold this many characters, so that memory follows the
# rows read, not the size of their cells (a crawler export holds a whole HTML page per cell).
CHUNK_CHARS = 16 * 1024 ** 2
XLSX_EXTS = (".xlsx", ".xlsm")
csv.field_size_limit(2 ** 31 - 1)  # a CMS export can hold a whole article (megabytes) in one cell; parsing lowers it to MAX_LINE_BYTES

# Column names seen in real exports (search console, keyword tools, CMS inventories), by role.
ROLE_NAMES: dict[str, list[str]] = {
    "text": ["text", "query", "queries", "top queries", "search query", "search term", "search terms", "keyword",
             "keywords", "question", "questions", "requete", "requetes", "requetes les plus frequentes",
             "mot cle", "mots cles", "message", "texte", "phrase", "utterance", "content", "contenu", "body"],
    "title": ["title", "titre", "page title", "headline", "h1", "name", "nom"],
    "body": ["body", "text", "content", "contenu", "texte", "corps", "excerpt", "extrait", "description", "summary", "resume"],
    "url": ["url", "page", "pages", "address", "adresse", "link", "lien", "landing page", "slug", "path", "current url",
            "permalink", "permalien", "post url", "page url", "canonical url", "full url", "handle"],
    "format": ["format", "content format", "content type", "type", "type de contenu"],
    "persona": ["persona", "personas", "audience", "audiences", "cible", "segment", "buyer persona", "buyer personas"],
    "date": ["date", "published", "publication date", "date de publication", "timestamp", "time", "datetime",
             "created", "created at", "horodatage", "date heure"],
    "volume": ["volume", "search volume", "avg monthly searches", "monthly searches", "volume de recherche",
               "recherches mensuelles", "volume mensuel", "impressions", "clicks", "clics", "demand", "count"],
    "stage": ["stage", "label", "etape", "journey stage", "journey_stage"],
    "lang": ["lang", "language", "langue"],
    "prospect": ["prospect", "prospect id", "prospect_id", "lead", "lead id", "contact", "contact id", "email",
                 "visitor", "visitor id", "customer id", "client", "user", "user id", "account"],
    "source": ["source", "channel", "canal", "origin", "origine"],
    # CMS exports: the type of the CMS object (WordPress "Post Type", Drupal node type): not a content format.
    "cms_type": ["post type", "page type", "node type", "type de publication", "bundle"],
    # Keyword tools: the search intent they assign (Semrush "Intent", Ahrefs "Intents", French exports "Intention").
    "intent": ["intent", "intents", "search intent", "keyword intent", "keyword intents", "intention", "intentions",
               "intention de recherche", "intent de recherche"],
}

# CMS taxonomy columns whose values are evidence of a piece's format ("Études de cas", "Webinars").
TAXONOMY_NAMES = ("categories", "category", "categorie", "tags", "tag", "etiquettes", "etiquette", "post tags",
                  "content group", "blog", "blog name", "collection", "rubrique", "rubriques")

# Search metrics carried into the gap report under one name each, from Search Console and keyword
# tools (Semrush, Ahrefs, Google Ads), French and English exports.
METRIC_NAMES: dict[str, tuple[str, ...]] = {
    "clicks": ("clicks", "clics", "url clicks", "clics sur l url"),
    "impressions": ("impressions",),
    "ctr": ("ctr", "url ctr", "taux de clics", "click through rate", "clickthrough rate"),
    "position": ("position", "avg position", "average position", "position moyenne", "current position", "pos"),
    "keyword_difficulty": ("kd", "keyword difficulty", "difficulty", "difficulte", "difficulte du mot cle",
                           "difficulte du mot clef", "difficulte mot cle"),
    "cpc": ("cpc", "avg cpc", "cpc moyen", "cost per click", "cout par clic"),
}


def column_key(name: str) -> str:
    """A column name reduced for matching: folded, letters and digits ("Difficulté du mot-clé" -> "difficulte du mot cle")."""
    s = re.sub(r"[^a-z0-9.]+", " ", fold_accents(name)).replace(".", "")
    return re.sub(r"\s+", " ", s).strip()


def detect_column(frame: pd.DataFrame, role: str, explicit: str | None = None, where: str = "input",
                  required: bool = True, option: str | None = None, exclude: tuple[str, ...] = ()) -> str | None:
    """Find the column playing ``role`` (text, title, body, url, volume, ...).

    An explicit name always wins (and must exist). Otherwise known export names are matched after
    normalisation (case, accents, punctuation), first exactly, then as a prefix.
    """
    option = option or f"--{role}-column"
    columns = [str(c) for c in frame.columns]
    if explicit:
        if explicit in columns:
            return explicit
        lowered = {c.lower(): c for c in columns}
        if explicit.lower() in lowered:
            return lowered[explicit.lower()]
        raise missing_column(explicit, where, columns, option)
    candidates = [c for c in columns if c not in exclude]
    normed = {c: column_key(c) for c in candidates}
    names = ROLE_NAMES.get(role, [role])
    for name in names:
        for c in candidates:
            if normed[c] == name:
                return c
    for name in names:
        if len(name) < 4:
            continue
        for c in candidates:
            if normed[c].startswith(name + " ") or normed[c].endswith(" " + name):
                return c
    if role == "text":
        textual = [c for c in candidates if _is_textual(frame[c])]
        if len(textual) == 1:
            return textual[0]
    if required:
        raise ColumnError(
            f"{where}: cannot tell which column holds the {role} (columns found: {', '.join(columns) or 'none'}); "
            f"pass {option} with one of them"
        )
    return None


def taxonomy_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """The CMS category / tag / content-group columns, in table order."""
    return [str(c) for c in frame.columns if str(c) not in exclude and column_key(c) in TAXONOMY_NAMES]


def metric_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """Search-metric columns by metric name ({"clicks": "Clics", "cpc": "CPC (USD)"}), first match each."""
    found: dict[str, str] = {}
    for c in map(str, frame.columns):
        if c in exclude or c in found.values():
            continue
        n = column_key(c)
        for metric, names in METRIC_NAMES.items():
            if n in names and metric not in found:
                found[metric] = c
                break
            # "CPC (USD)", "CPC (EUR)": the currency stays in the name (cpc_usd), values are never mixed.
            m = re.fullmatch(r"(?:avg )?cpc ([a-z]{3})", n)
            if metric == "cpc" and m and f"cpc_{m.group(1)}" not in found:
                found[f"cpc_{m.group(1)}"] = c
                break
    order = list(METRIC_NAMES)
    return dict(sorted(found.items(), key=lambda kv: (order.index(kv[0].split("_")[0] if kv[0].startswith("cpc") else kv[0]), kv[0])))


def carried_names(columns: list[str], reserved: list[str], renames: dict[str, str] | None = None) -> list[str]:
    """Output names for input columns carried after the report's own columns.

    No two output columns may differ only by case: an input column whose name equals a reserved
    (report) column or an earlier carried one, ignoring case, gets the prefix ``input_`` (then a
    number). ``renames`` gives a column a fixed name first (the keyword tool's intent: ``input_intent``).
    """
    taken = {str(r).lower() for r in reserved}
    out = []
    for c in columns:
        name = (renames or {}).get(c, str(c))
        if name.lower() in taken:
            base = f"input_{name}"
            name, k = base, 2
            while name.lower() in taken:
                name = f"{base}_{k}"
                k += 1
        taken.add(name.lower())
        out.append(name)
    return out


def _is_textual(series: pd.Series) -> bool:
    sample = series.head(200).astype(str)
    if sample.empty:
        return False
    letters = sample.str.contains(r"[^\W\d_]", regex=True).mean()
    urls = sample.str.match(r"^\s*(https?://|www\.)").mean()
    return letters > 0.6 and urls < 0.5


def _sniff_delimiter(text: str, ext: str) -> str:
    """The delimiter that splits the header into the most columns and the sample's rows into the
    same number of fields as the header (quotes respected)."""
    if ext in (".tsv", ".tab"):
        return "\t"
    sample = text[:65536]
    cut = sample.rfind("\n")
    if cut > 0 and len(text) > len(sample):
        sample = sample[:cut]
    best, best_score = ",", (-1, -1)
    for d in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample, newline=""), delimiter=d) if r][:50]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = d, score
    return best


@dataclass(frozen=True)
class TableReader:
    """How one kind of table file becomes a DataFrame of strings."""

    parse: Callable[[str, str, str], pd.DataFrame] | None = None
    """(decoded text, display name, extension) -> frame, for text formats."""
    read_file: Callable[[str | Path, str | None], pd.DataFrame] | None = None
    """(path, sheet or None) -> frame, for binary formats that open the file themselves (xlsx)."""
    stream: Callable[[Iterator[str], str, str, str, int], Iterator[pd.DataFrame]] | None = None
    """(lines, head text, extension, display name, rows per chunk) -> chunks, for inputs over
    STREAM_THRESHOLD; None: the input is read whole."""


# The readers, filled by register_table_reader below: kind -> reader, file extension -> kind. To read
# a new table format, register it once; -i, --content, --questions and the other inputs accept it.
TABLE_READERS: dict[str, TableReader] = {}
TABLE_KINDS: dict[str, str] = {}
_SHOWN_EXTS: list[str] = []   # what an error message offers


def register_table_reader(kind: str, extensions: Sequence[str], reader: TableReader, shown: Sequence[str] | None = None) -> None:
    """Read files ending in ``extensions`` with ``reader``; ``shown``: the extensions an error message
    names (default: the first one)."""
    TABLE_READERS[kind] = reader
    for ext in extensions:
        TABLE_KINDS[ext] = kind
    _SHOWN_EXTS.extend(extensions[:1] if shown is None else shown)


def _supported() -> str:
    return f"use {', '.join(_SHOWN_EXTS[:-1])} or {_SHOWN_EXTS[-1]}"


def _kind(path: str | Path, text_head: str) -> str:
    ext = Path(str(path)).suffix.lower() if str(path) != "-" else ""
    if ext in TABLE_KINDS:
        return TABLE_KINDS[ext]
    if ext == "":
        stripped = text_head.lstrip()
        if stripped.startswith("["):
            return "json"
        if stripped.startswith("{"):
            return "jsonl" if "\n{" in stripped else "json"
        first = stripped.splitlines()[0] if stripped else ""
        if any(d in first for d in DELIMITERS):
            return "csv"
        return "text"
    raise InputError(f"{display_name(path)}: unsupported file type '{ext}'; {_supported()}")


def split_sheet(path: str | Path) -> tuple[str | Path, str | None]:
    """``book.xlsx#Sheet`` -> (``book.xlsx``, ``Sheet``); any other path -> (path, None). A file
    whose name really contains '#' is taken as it is."""
    s = str(path)
    if s == "-" or "#" not in s:
        return path, None
    base, _, sheet = s.rpartition("#")
    if Path(base).suffix.lower() in XLSX_EXTS and not Path(s).exists():
        return base, sheet
    return path, None


def source_path(path: str | Path) -> str | Path:
    """The file behind an input argument (without a ``#Sheet`` suffix)."""
    return split_sheet(path)[0]


def _check_ext(path: str | Path) -> None:
    if str(path) == "-":
        return
    ext = Path(str(path)).suffix.lower()
    if ext == ".xls":
        raise InputError(f"{path}: old Excel .xls files are not supported; save it as .xlsx or .csv")
    if ext not in TABLE_KINDS and ext != "":
        raise InputError(f"{path}: unsupported file type '{ext}'; {_supported()}")


def read_table(path: str | Path, text_column: str | None = None) -> pd.DataFrame:
    """Read a whole table into a DataFrame of strings (see :func:`iter_table` to stream)."""
    frames = list(iter_table(path, chunksize=None))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_table(path: str | Path, chunksize: int | None = 10000) -> Iterator[pd.DataFrame]:
    """Yield a table in chunks of ``chunksize`` rows (whole when None). Inputs over
    :data:`STREAM_THRESHOLD` (files, stdin, FIFOs) stream in bounded memory when ``chunksize`` is set."""
    src, sheet = split_sheet(path)
    name = display_name(src)
    _check_ext(src)
    ext = Path(str(src)).suffix.lower() if str(src) != "-" else ""
    reader = TABLE_READERS.get(TABLE_KINDS.get(ext, ""))   # None: no extension, the content decides
    if reader is not None and reader.read_file is not None:
        frame = reader.read_file(src, sheet)
        yield from _chunks(frame, chunksize)
        return
    streaming = bool(chunksize) and (reader is None or reader.stream is not None)
    if not streaming:
        check_size(src)
    with open_input(src, max_line=encoding.MAX_LINE_BYTES, max_total=None if streaming else encoding.MAX_BYTES) as fh:
        # Look at the start first: a binary file or device (/dev/zero) is refused before reading more.
        data = fh.read(min(65536, STREAM_THRESHOLD))
        sniff_encoding(data, name)
        data += fh.read(max(STREAM_THRESHOLD - len(data), 0))
        if streaming and fh.peek(1):
            yield from _stream(fh, data, name, ext, chunksize, src)
            return
        data += fh.read()
    if not data.strip():
        raise InputError(f"{name}: file is empty; it needs a header row and at least one row of data")
    text, _ = decode(data, name)
    del data
    frame = TABLE_READERS[_kind(src, text[:4096])].parse(text, name, ext)
    if frame.empty:
        raise InputError(f"{name}: no data rows (only a header?); add at least one row")
    yield from _chunks(frame, chunksize)


def _chunks(frame: pd.DataFrame, chunksize: int | None) -> Iterator[pd.DataFrame]:
    if not chunksize or len(frame) <= chunksize:
        yield frame
        return
    for start in range(0, len(frame), chunksize):
        yield frame.iloc[start:start + chunksize].reset_index(drop=True)


def _dedupe_columns(columns: list, name: str) -> list[str]:
    out, seen = [], {}
    for i, c in enumerate(columns):
        c = str(c).strip() if c is not None and str(c).strip() else f"column_{i + 1}"
        if c in seen:
            seen[c] += 1
            c = f"{c}.{seen[c]}"
        else:
            seen[c] = 0
        out.append(c)
    return out


def _fit_width(rows: list[list[str]], width: int, sep: str) -> list[list[str]]:
    """Ragged rows keep their data: extra fields are joined into the last column, missing ones are blank."""
    fixed = []
    for r in rows:
        if len(r) > width:
            r = r[:width - 1] + [sep.join(r[width - 1:])]
        elif len(r) < width:
            r = r + [""] * (width - len(r))
        fixed.append(r)
    return fixed


def _read_csv(handle, sep: str, name: str) -> pd.DataFrame:
    """Parse delimited text with the csv module: ragged rows keep their data (extra fields are joined
    into the last column, missing ones are blank), so no row is ever dropped."""
    text = handle.getvalue().lstrip("\ufeff")
    csv.field_size_limit(encoding.MAX_LINE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    rows, done = [], 0
    try:
        for r in reader:
            if r:  # only truly empty lines are skipped
                rows.append(r)
            done = reader.line_num
    except csv.Error as err:
        raise _csv_error(err, name, done + 1, f"cannot parse as delimited text ({err})") from None
    if not rows:
        raise InputError(f"{name}: file is empty; it needs a header row and at least one row of data")
    header, body = rows[0], rows[1:]
    return pd.DataFrame(_fit_width(body, len(header), sep), columns=_dedupe_columns(header, name), dtype=str)


def _csv_error(err: csv.Error, name: str, line: int, what: str) -> InputError:
    if "field larger than field limit" in str(err):
        # A quote never closed swallows the rest of the file into one cell: stop at the line limit.
        return InputError(f"{name}: the row starting on line {line} has a cell over {encoding.size_text(encoding.MAX_LINE_BYTES)} "
                          "(a quote never closed?); check the quotes on that line")
    return InputError(f"{name}: {what}; check the delimiter and quoting")


_BARE_CR = re.compile(r"(?<=\r)(?!\n)")


def _stream(fh, data: bytes, name: str, ext: str, chunksize: int, path) -> Iterator[pd.DataFrame]:
    """Parse a large input chunk by chunk: ``data`` (the start, already read) then the rest of ``fh``,
    line by line, each line decoded on its own (see :class:`~contentplan.io.encoding.LineDecoder`)."""
    enc = sniff_encoding(data, name)
    if enc in ("utf-16", "utf-16-le", "utf-16-be"):
        wrapper = io.TextIOWrapper(io.BufferedReader(_Prefixed(data, fh)), encoding=enc, errors="strict", newline="")

        def lines() -> Iterator[str]:
            try:
                yield from wrapper
            except UnicodeDecodeError:
                raise InputError(f"{name}: invalid {enc.upper()} text; re-save the file as UTF-8") from None
        dec = None
    else:
        dec = LineDecoder(name)
        if enc == "utf-8-sig":
            data = data[3:]
            dec.n_utf8 = 1  # a UTF-8 BOM says the file is UTF-8

        def lines() -> Iterator[str]:
            for raw in _byte_lines(data, fh):
                yield dec(raw)
    stream = lines()
    if dec is None:
        first = next(stream, "")
        head_text = first
        stream = _chain([first], stream)
    else:  # the start, decoded the same way without counting its lines twice
        cut = data.rfind(b"\n")
        quiet = LineDecoder(name)
        head_text = "".join(quiet(line) for line in (data[:cut] if cut > 0 else data[:65536]).splitlines(keepends=True))
    yield from TABLE_READERS[_kind(path, head_text[:4096])].stream(stream, head_text, ext, name, chunksize)
    if dec is not None:
        dec.finish()


def _stream_lines(lines: Iterator[str], name: str, chunksize: int, parse, split: bool) -> Iterator[pd.DataFrame]:
    """Chunks of ``chunksize`` lines (fewer once they hold :data:`CHUNK_CHARS` characters), each
    parsed by ``parse(lines, first line number)``; ``split``:
    a line read may hold several (bare CR line ends of plain text)."""
    buf: list[str] = []
    n = size = 0
    for line in lines:
        buf.extend(line.splitlines() if split else [line.rstrip("\r\n")])
        size += len(line)
        if len(buf) >= chunksize or size >= CHUNK_CHARS:
            frame = parse(buf, n + 1)
            n += len(buf)
            buf, size = [], 0
            if not frame.empty:
                yield frame
    if buf:
        frame = parse(buf, n + 1)
        if not frame.empty:
            yield frame


def _chain(*parts):
    for part in parts:
        yield from part


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of a reader."""

    def __init__(self, prefix: bytes, fh):
        super().__init__()
        self._prefix, self._fh = memoryview(prefix), fh

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if len(self._prefix):
            n = min(len(buf), len(self._prefix))
            buf[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        chunk = self._fh.read(len(buf))
        buf[:len(chunk)] = chunk
        return len(chunk)


def _byte_lines(data: bytes, fh) -> Iterator[bytes]:
    """Physical lines (split after b"\\n", which no UTF-8 or cp1252 character contains) of ``data``
    followed by the rest of ``fh``."""
    carry = b""
    for line in io.BytesIO(data):
        if line.endswith(b"\n"):
            yield line
        else:
            carry = line
    for line in iter(fh.readline, b""):
        if carry:
            line, carry = carry + line, b""
        yield line
    if carry:
        yield carry


def _stream_csv(lines: Iterator[str], sep: str, name: str, chunksize: int) -> Iterator[pd.DataFrame]:
    """csv-module parsing over decoded lines (a bare CR ends a line too, as with newline=''), the same
    rules as :func:`_read_csv`: ragged rows keep their data, only truly empty lines are skipped."""
    def split_cr(it):
        for line in it:
            if "\r" in line[:-2]:
                yield from _BARE_CR.split(line)
            else:
                yield line
    csv.field_size_limit(encoding.MAX_LINE_BYTES)
    reader = csv.reader(split_cr(lines), delimiter=sep)
    header = None
    buf: list[list[str]] = []
    done = size = 0
    try:
        for row in reader:
            done = reader.line_num
            if not row:
                continue
            if header is None:
                header = row
                header[0] = header[0].lstrip("\ufeff")
                columns = _dedupe_columns(header, name)
                continue
            buf.append(row)
            size += sum(map(len, row))
            if len(buf) >= chunksize or size >= CHUNK_CHARS:
                yield pd.DataFrame(_fit_width(buf, len(header), sep), columns=columns, dtype=str)
                buf, size = [], 0
    except csv.Error as err:
        raise _csv_error(err, name, done + 1, f"cannot parse as delimited text (line {reader.line_num}: {err})") from None
    if header is None:
        raise InputError(f"{name}: file is empty; it needs a header row and at least one row of data")
    if buf:
        yield pd.DataFrame(_fit_width(buf, len(header), sep), columns=columns, dtype=str)


def _text_frame(lines: list[str]) -> pd.DataFrame:
    """Plain text: one item per line; blank lines are separators, not items."""
    return pd.DataFrame({"text": [ln.strip() for ln in lines if ln.strip()]}, dtype=str)


def _stringify(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _records_frame(records: list, name: str) -> pd.DataFrame:
    if records and all(isinstance(r, str) for r in records):
        return pd.DataFrame({"text": records}, dtype=str)
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise InputError(f"{name}: item {i + 1} is a {type(r).__name__}, expected an object with named fields")
    columns: list[str] = []
    for r in records:
        for k in r:
            if k not in columns:
                columns.append(k)
    return pd.DataFrame({c: [_stringify(r.get(c)) for r in records] for c in columns}, dtype=str)


def _read_jsonl(lines: list[str], name: str, first_line: int = 1) -> pd.DataFrame:
    records = []
    for n, line in enumerate(lines, first_line):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            raise InputError(f"{name}: line {n} is not valid JSON ({err.msg}); fix that line") from None
    return _records_frame(records, name)


def _read_json(text: str, name: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{name}: invalid JSON at line {err.lineno}, column {err.colno} ({err.msg}); fix the file") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) == 1:
            data = lists[0]
        else:
            data = [data]
    if not isinstance(data, list):
        raise InputError(f"{name}: JSON must be a list of objects (or of strings)")
    return _records_frame(data, name)


def _has_data(ws) -> bool:
    for row in ws.iter_rows(values_only=True):
        if any(v is not None and str(v).strip() for v in row):
            return True
    return False


def _read_xlsx(path, sheet: str | None = None) -> pd.DataFrame:
    """The first sheet of a workbook, or ``sheet``. With several sheets, a note says which one is
    read; other sheets holding data are named in a warning, with how to read them (``file.xlsx#Sheet``)."""
    from ..notices import note, warn
    name = display_name(path)
    data = read_bytes(path)
    if not data:
        raise InputError(f"{name}: file is empty; it needs a header row and at least one row of data")
    if not data.startswith(b"PK"):
        raise InputError(f"{name}: not a valid .xlsx file (not a zip archive); re-save it from Excel as .xlsx")
    from .documents import check_zip
    check_zip(data, name)
    try:
        import openpyxl
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many types for corrupt files
        raise InputError(f"{name}: cannot open as .xlsx ({err.__class__.__name__}); re-save it from Excel") from None
    try:
        sheets = wb.worksheets
        titles = [ws.title for ws in sheets]
        if not sheets:
            raise InputError(f"{name}: the workbook has no worksheet; put a header row and data in a sheet")
        if sheet is not None:
            chosen = next((ws for ws in sheets if ws.title == sheet), None) or \
                next((ws for ws in sheets if ws.title.strip().lower() == sheet.strip().lower()), None)
            if chosen is None:
                raise InputError(f"{name}: no sheet '{sheet}'{did_you_mean(sheet, titles)} (sheets: {', '.join(titles)}); "
                                 f"pass {name}#<sheet name>")
        else:
            chosen = sheets[0]
        rows = [["" if v is None else _cell(v) for v in row] for row in chosen.iter_rows(values_only=True)]
        others = [ws.title for ws in sheets if ws is not chosen and _has_data(ws)] if sheet is None and len(sheets) > 1 else []
    finally:
        wb.close()
    rows = [r for r in rows if any(str(v).strip() for v in r)]
    quoted = ", ".join(f"'{t}'" for t in others)
    if not rows:
        if sheet is not None:
            raise InputError(f"{name}: sheet '{chosen.title}' is empty; put a header row and data in it, or pick another sheet")
        if others:
            raise InputError(f"{name}: the first sheet '{chosen.title}' is empty but {quoted} "
                             f"{'holds' if len(others) == 1 else 'hold'} data; pass {name}#{others[0]} to read it")
        raise InputError(f"{name}: the first sheet is empty; put a header row and data in the first sheet")
    if others:
        warn(f"{name}: read sheet '{chosen.title}' only; {'sheet' if len(others) == 1 else 'sheets'} {quoted} also "
             f"{'holds' if len(others) == 1 else 'hold'} data, not read; to read another sheet pass {name}#<sheet name>, "
             f"e.g. {name}#{others[0]}")
    elif sheet is None and len(sheets) > 1:
        note(f"{name}: read sheet '{chosen.title}' (the other sheets are empty)")
    width = max(len(r) for r in rows)
    header = _dedupe_columns(rows[0] + [None] * (width - len(rows[0])), name)
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=str)


def _cell(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _text_lines(lines, head, ext, name, chunksize):
    return _stream_lines(lines, name, chunksize, lambda buf, first: _text_frame(buf), split=True)


register_table_reader("csv", (".csv", ".tsv", ".tab"), TableReader(
    parse=lambda text, name, ext: _read_csv(io.StringIO(text), _sniff_delimiter(text, ext), name),
    stream=lambda lines, head, ext, name, chunksize: _stream_csv(lines, _sniff_delimiter(head, ext), name, chunksize)),
    shown=(".csv", ".tsv"))
register_table_reader("text", (".txt", ".text"), TableReader(
    parse=lambda text, name, ext: _text_frame(text.splitlines()), stream=_text_lines))
register_table_reader("jsonl", (".jsonl", ".ndjson"), TableReader(
    parse=lambda text, name, ext: _read_jsonl(text.split("\n"), name),
    stream=lambda lines, head, ext, name, chunksize: _stream_lines(
        lines, name, chunksize, lambda buf, first: _read_jsonl(buf, name, first_line=first), split=False)))
# A JSON document over STREAM_THRESHOLD is taken line by line as text, as before the registry.
register_table_reader("json", (".json",), TableReader(
    parse=lambda text, name, ext: _read_json(text, name),
    stream=lambda lines, head, ext, name, chunksize: _stream_lines(
        lines, name, chunksize, lambda buf, first: _text_frame(buf), split=False)))
register_table_reader("xlsx", XLSX_EXTS, TableReader(read_file=_read_xlsx))
