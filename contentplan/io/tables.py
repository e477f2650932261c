"""Table readers: CSV/TSV (delimiter sniffed, encoding detected), XLSX, JSON/JSONL, plain text, stdin.

Every cell is read as a string (``dtype=str``, no NA conversion) so that values the user exported
(volumes, positions, URLs, leading zeros) are carried through unchanged.
"""
from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from ..errors import ColumnError, InputError, did_you_mean
from .encoding import decode, display_name, read_bytes

TABLE_EXTS = {".csv", ".tsv", ".tab", ".txt", ".text", ".jsonl", ".ndjson", ".json", ".xlsx", ".xlsm", ""}
DELIMITERS = [",", ";", "\t", "|"]
STREAM_THRESHOLD = 64 * 1024 ** 2  # files above this are streamed in chunks
csv.field_size_limit(2 ** 31 - 1)  # a CMS export can hold a whole article (megabytes) in one cell

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
    "persona": ["persona", "audience", "cible", "segment", "buyer persona"],
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


def _norm(name: str) -> str:
    s = unicodedata.normalize("NFKD", str(name).lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r"[^a-z0-9.]+", " ", s).replace(".", "")
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
        raise ColumnError(
            f"{where}: no column '{explicit}'{did_you_mean(explicit, columns)} "
            f"(columns found: {', '.join(columns) or 'none'}); pass {option} with one of them"
        )
    candidates = [c for c in columns if c not in exclude]
    normed = {c: _norm(c) for c in candidates}
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
    return [str(c) for c in frame.columns if str(c) not in exclude and _norm(c) in TAXONOMY_NAMES]


def metric_columns(frame: pd.DataFrame, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """Search-metric columns by metric name ({"clicks": "Clics", "cpc": "CPC (USD)"}), first match each."""
    found: dict[str, str] = {}
    for c in map(str, frame.columns):
        if c in exclude or c in found.values():
            continue
        n = _norm(c)
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


def _kind(path: str | Path, text_head: str) -> str:
    ext = Path(str(path)).suffix.lower() if str(path) != "-" else ""
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext in (".jsonl", ".ndjson"):
        return "jsonl"
    if ext == ".json":
        return "json"
    if ext in (".csv", ".tsv", ".tab"):
        return "csv"
    if ext in (".txt", ".text"):
        return "text"
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
    raise InputError(
        f"{display_name(path)}: unsupported file type '{ext}'; use .csv, .tsv, .txt, .jsonl, .json or .xlsx"
    )


def _check_ext(path: str | Path) -> None:
    if str(path) == "-":
        return
    ext = Path(str(path)).suffix.lower()
    if ext == ".xls":
        raise InputError(f"{path}: old Excel .xls files are not supported; save it as .xlsx or .csv")
    if ext not in TABLE_EXTS:
        raise InputError(f"{path}: unsupported file type '{ext}'; use .csv, .tsv, .txt, .jsonl, .json or .xlsx")


def read_table(path: str | Path, text_column: str | None = None) -> pd.DataFrame:
    """Read a whole table into a DataFrame of strings (see :func:`iter_table` to stream)."""
    frames = list(iter_table(path, chunksize=None))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_table(path: str | Path, chunksize: int | None = 10000) -> Iterator[pd.DataFrame]:
    """Yield a table in chunks of ``chunksize`` rows (whole when None). Large CSV/JSONL/TXT files stream."""
    name = display_name(path)
    _check_ext(path)
    ext = Path(str(path)).suffix.lower() if str(path) != "-" else ""
    if ext in (".xlsx", ".xlsm"):
        frame = _read_xlsx(path)
        yield from _chunks(frame, chunksize)
        return
    big = str(path) != "-" and Path(path).is_file() and Path(path).stat().st_size > STREAM_THRESHOLD
    if big and chunksize:
        yield from _stream_large(path, chunksize)
        return
    data = read_bytes(path)
    if not data.strip():
        raise InputError(f"{name}: file is empty; it needs a header row and at least one row of data")
    text, _ = decode(data, name)
    kind = _kind(path, text[:4096])
    if kind == "text":
        frame = _text_frame(text.splitlines())
    elif kind == "jsonl":
        frame = _read_jsonl(text.splitlines(), name)
    elif kind == "json":
        frame = _read_json(text, name)
    else:
        frame = _read_csv(io.StringIO(text), _sniff_delimiter(text, ext), name)
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


def _read_csv(handle, sep: str, name: str) -> pd.DataFrame:
    """Parse delimited text with the csv module: ragged rows keep their data (extra fields are joined
    into the last column, missing ones are blank), so no row is ever dropped."""
    text = handle.getvalue().lstrip("\ufeff")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if r]  # only truly empty lines are skipped
    except csv.Error as err:
        raise InputError(f"{name}: cannot parse as delimited text ({err}); check the delimiter and quoting") from None
    if not rows:
        raise InputError(f"{name}: file is empty; it needs a header row and at least one row of data")
    header, body = rows[0], rows[1:]
    width = len(header)
    fixed = []
    for r in body:
        if len(r) > width:
            r = r[:width - 1] + [sep.join(r[width - 1:])]
        elif len(r) < width:
            r = r + [""] * (width - len(r))
        fixed.append(r)
    return pd.DataFrame(fixed, columns=_dedupe_columns(header, name), dtype=str)


def _stream_large(path, chunksize: int) -> Iterator[pd.DataFrame]:
    name = str(path)
    with open(path, "rb") as fh:
        head = fh.read(65536)
    # Detect the encoding on the head; cut at a line end so a multi-byte character is not split.
    cut = head.rfind(b"\n")
    text_head, enc = decode(head[:cut] if cut > 0 else head, name) if head else ("", "utf-8")
    ext = Path(name).suffix.lower()
    kind = _kind(path, text_head)
    if enc == "utf-8":
        enc = "utf-8-sig"
    if kind in ("csv",):
        sep = _sniff_delimiter(text_head, ext)
        try:
            reader = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                                 chunksize=chunksize, encoding=enc, encoding_errors="replace", engine="c",
                                 on_bad_lines="error")
            for chunk in reader:
                chunk.columns = _dedupe_columns(list(chunk.columns), name)
                yield chunk.reset_index(drop=True).fillna("")
        except pd.errors.ParserError as err:
            raise InputError(f"{name}: cannot parse as delimited text ({str(err).strip()}); check the delimiter and quoting") from None
        return
    with open(path, encoding=enc, errors="replace") as fh:
        buf: list[str] = []
        for line in fh:
            buf.append(line.rstrip("\n"))
            if len(buf) >= chunksize:
                yield _read_jsonl(buf, name) if kind == "jsonl" else _text_frame(buf)
                buf = []
        if buf:
            yield _read_jsonl(buf, name) if kind == "jsonl" else _text_frame(buf)


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


def _read_jsonl(lines: list[str], name: str) -> pd.DataFrame:
    records = []
    for n, line in enumerate(lines, 1):
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


def _read_xlsx(path) -> pd.DataFrame:
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
    ws = wb.worksheets[0]
    rows = [["" if v is None else _cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
    wb.close()
    rows = [r for r in rows if any(str(v).strip() for v in r)]
    if not rows:
        raise InputError(f"{name}: the first sheet is empty; put a header row and data in the first sheet")
    width = max(len(r) for r in rows)
    header = _dedupe_columns(rows[0] + [None] * (width - len(rows[0])), name)
    body = [r + [""] * (width - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=str)


def _cell(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
