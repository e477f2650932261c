"""Document readers: Markdown (YAML front matter kept as metadata), HTML (main text only), plain
text and DOCX; a directory of such files is read recursively, in a stable order."""
from __future__ import annotations

import io
import json
import os
import re
import stat
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import InputError
from .encoding import decode, display_name, read_bytes

# The document readers: file extension -> read(path, bytes, display name) -> Document, filled by
# register_document_reader at the end of this module. To read a new kind of draft or page, register it
# once: tag, gaps --content FOLDER and prospects --content accept it. DOC_EXTS is a live view of it.
DOC_READERS: dict[str, Callable[[Path, bytes, str], "Document"]] = {}
DOC_EXTS = DOC_READERS.keys()
_SHOWN_EXTS: list[str] = []   # what an error message offers


def register_document_reader(extensions: Sequence[str], read: Callable[[Path, bytes, str], "Document"]) -> None:
    """Read files ending in ``extensions`` (the first one is named in error messages) with ``read``."""
    for ext in extensions:
        DOC_READERS[ext] = read
    _SHOWN_EXTS.append(extensions[0])
# Zip-based files (DOCX, XLSX): a bomb is told from a big file by its compression ratio. A 61 MB
# workbook of 1M rows inflates ~8x to ~500 MB and is read; a few MB inflating 200x past 20 MB is a
# bomb; nothing inflating past 4 GB is opened.
MAX_UNZIPPED = 4 * 1024 ** 3
MAX_RATIO = 200


@dataclass
class Document:
    """A piece of content read from a file."""

    path: str
    title: str
    text: str
    meta: dict = field(default_factory=dict)
    kind: str = "txt"

    @property
    def full_text(self) -> str:
        return f"{self.title}\n\n{self.text}" if self.title else self.text


# Front matter fences: YAML between '---' lines (closed by '---' or '...'), TOML between '+++' lines
# (Hugo), or a JSON object opening the file (Hugo). The content between the fences keeps its own newlines.
_YAML_OPEN = re.compile(r"\A---[ \t]*(\r?\n)")
_YAML_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_TOML_OPEN = re.compile(r"\A\+\+\+[ \t]*(\r?\n)")
_TOML_CLOSE = re.compile(r"^\+\+\+[ \t]*(?:\r?\n|\Z)", re.MULTILINE)
_JSON_OPEN = re.compile(r"\A\{[ \t\r\n]*[\"}]")  # '{"' or '{}': not a '{{< shortcode >}}'
_JSON_AFTER = re.compile(r"[ \t]*(?:\r?\n|\Z)")
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


@dataclass
class FrontMatter:
    """Where a file's front matter lies: ``text[start:end]`` is its content (between the fences; for
    JSON, the object itself) and ``text[body_start:]`` the body that follows."""

    kind: str | None  # "yaml", "toml", "json", or None when the file has none
    meta: dict
    start: int = 0
    end: int = 0
    body_start: int = 0
    newline: str = "\n"

    def content(self, text: str) -> str:
        return text[self.start:self.end]


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when present: same safe subset, ~10x faster
ALIAS_EXPANSION_MAX = 100_000


def _expanded_size(root) -> int:
    """How many nodes the YAML graph becomes once its aliases are expanded (each node counted once
    per path to it), computed on the graph without expanding it; -1 for a recursive alias."""
    size: dict[int, int] = {}
    state: dict[int, int] = {}       # 1: children pending, 2: done
    stack = [root]
    while stack:
        n = stack[-1]
        key = id(n)
        if state.get(key) == 2:
            stack.pop()
            continue
        kids = ([x for kv in n.value for x in kv] if isinstance(n, yaml.MappingNode)
                else list(n.value) if isinstance(n, yaml.SequenceNode) else [])
        if state.get(key) is None:
            state[key] = 1
            for k in kids:
                if state.get(id(k)) == 1:
                    return -1
                if state.get(id(k)) is None:
                    stack.append(k)
            continue
        stack.pop()
        size[key] = min(1 + sum(size[id(k)] for k in kids), 10 ** 12)
        state[key] = 2
    return size[id(root)]


def safe_yaml(text: str, where: str, what: str = "YAML", line_offset: int = 0):
    """Parse YAML safely: no code, bounded alias expansion; errors name the line.

    A big file is fine (10,000 personas); what is refused is aliases that expand the document by
    more than 100,000 nodes beyond what is written (a "billion laughs" bomb), or a recursive alias."""
    try:
        try:
            node = yaml.compose(text, Loader=_YAML_LOADER)
        except yaml.YAMLError:
            # libyaml's messages are terser: the pure-Python parser says what it expected, and where.
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        at = f" line {mark.line + 1 + line_offset}, column {mark.column + 1}" if mark else ""
        raise InputError(f"{where}:{at}: {what} syntax error: {err.problem}; fix it and retry") from None
    except yaml.YAMLError as err:
        raise InputError(f"{where}: {what} error: {err}") from None
    if node is None:
        return None
    written: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in written:
            continue
        written.add(id(n))
        if isinstance(n, yaml.MappingNode):
            stack.extend(x for kv in n.value for x in kv)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    expanded = _expanded_size(node)
    if expanded < 0:
        raise InputError(f"{where}: {what} holds a recursive alias; write it out plainly")
    if expanded - len(written) > ALIAS_EXPANSION_MAX:
        raise InputError(f"{where}: {what} expands to more than 100,000 nodes (alias bomb?); write it out plainly")
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as err:
        raise InputError(f"{where}: {what} error: {err}") from None


def parse_front_matter(text: str, where: str) -> FrontMatter:
    """Find and parse a file's front matter: YAML (``---``), TOML (``+++``) or a JSON object."""
    try:
        return _parse_front_matter(text, where)
    except RecursionError:  # '[[[[...' thousands deep: every parser here recurses
        raise InputError(f"{where}: front matter is nested too deeply to read; flatten it") from None


def _parse_front_matter(text: str, where: str) -> FrontMatter:
    for kind, opening, closing in (("yaml", _YAML_OPEN, _YAML_CLOSE), ("toml", _TOML_OPEN, _TOML_CLOSE)):
        m = opening.match(text)
        if not m:
            continue
        close = closing.search(text, m.end())
        if close is None:
            fence = "---" if kind == "yaml" else "+++"
            raise InputError(f"{where}: front matter starts with '{fence}' but has no closing '{fence}' line; "
                             "close it or remove it")
        content = text[m.end():close.start()]
        meta = _yaml_front(content, where) if kind == "yaml" else _toml_front(content, where)
        return FrontMatter(kind, meta, m.end(), close.start(), close.end(), m.group(1))
    if _JSON_OPEN.match(text):
        try:
            meta, end = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{where}: line {err.lineno}, column {err.colno}: front matter JSON syntax error: "
                             f"{err.msg}; fix it and retry") from None
        after = _JSON_AFTER.match(text, end)
        if isinstance(meta, dict) and after:
            nl = re.search(r"\r?\n", text)
            return FrontMatter("json", meta, 0, end, after.end(), nl.group(0) if nl else "\n")
    return FrontMatter(None, {})


def _yaml_front(content: str, where: str) -> dict:
    try:
        meta = safe_yaml(content, where, "front matter", line_offset=1)
    except InputError:
        # Report the error as met without the line break before the closing fence: an unclosed
        # bracket is then placed on the last line written, not on the fence.
        safe_yaml(content[:-2] if content.endswith("\r\n") else content[:-1], where, "front matter", line_offset=1)
        raise
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InputError(f"{where}: front matter must be a YAML mapping (key: value lines)")
    return meta


def _toml_front(content: str, where: str) -> dict:
    try:
        return tomllib.loads(content)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        at = _TOML_AT.search(msg)
        if at:  # the error's line counts from the opening '+++'
            msg = msg[:at.start()]
            where = f"{where}: line {int(at.group(1)) + 1}, column {at.group(2)}"
        raise InputError(f"{where}: front matter TOML syntax error: {msg[:1].lower() + msg[1:]}; fix it and retry") from None


def split_front_matter(text: str, where: str) -> tuple[dict, str, str | None]:
    """Return (metadata, body, raw front matter or None)."""
    fm = parse_front_matter(text, where)
    if fm.kind is None:
        return {}, text, None
    return fm.meta, text[fm.body_start:], fm.content(text)


def _md_to_text(body: str) -> tuple[str, str]:
    """Markdown to plain text; returns (first heading, text)."""
    title = ""
    lines = []
    in_code = False
    for line in body.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        h = re.match(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if h and not title:
            title = h.group(1).strip()
            continue
        line = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line)
        line = re.sub(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+[.)])\s+", "", line)
        line = re.sub(r"(\*\*|__|\*|_|`)", "", line)
        lines.append(line)
    return title, re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_DROP_TAGS = ["script", "style", "noscript", "iframe", "nav", "header", "footer", "aside", "form", "svg",
              "button", "template", "object", "embed", "canvas", "select"]
_BOILER = re.compile(r"(^|[-_ ])(nav|menu|footer|header|sidebar|cookie|breadcrumb|banner|share|social|newsletter-signup|related|comments?)([-_ ]|$)", re.I)


# Elements whose content is never text, removed before parsing: saved pages and crawler exports often
# hold hundreds of kilobytes of inline scripts, styles, JSON and SVG, which the parser would otherwise
# build into a tree only for it to be dropped (:data:`_DROP_TAGS` drops them anyway). Comments go too.
_NON_TEXT = re.compile(r"<(script|style|svg|template)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)


# A table cell holding HTML (a crawler export's page, a CMS body) opens one of these elements, or a
# WordPress block comment, near its start; "i <3 it" or "a < b" are plain text.
_HTML_CELL = re.compile(r"<\s*(html|head|body|main|article|section|div|p|h[1-6]|span|br|table|ul|ol|li|figure|img)\b[^>]*>"
                        r"|<!--\s*wp:", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """Whether a table cell holds HTML to be read as a page rather than as plain text."""
    return "<" in text and _HTML_CELL.search(text[:5000]) is not None


def html_to_text(html: str) -> tuple[str, str]:
    """Main text of an HTML page; returns (title, text). Scripts, navigation and boilerplate are dropped."""
    from bs4 import BeautifulSoup

    html = _NON_TEXT.sub(" ", html)
    try:
        soup = BeautifulSoup(html, "lxml")
    except Exception:  # lxml missing or failing: the stdlib parser is slower but always there
        soup = BeautifulSoup(html, "html.parser")
    title = ""
    if soup.title and soup.title.string:
        title = soup.title.string.strip()
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.attrs is None:
            continue
        ident = " ".join([tag.get("id") or ""] + list(tag.get("class") or [])) + " " + (tag.get("role") or "")
        if ident.strip() and _BOILER.search(ident) and tag.name not in ("html", "body", "main", "article"):
            tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    h1 = root.find("h1") if hasattr(root, "find") else None
    if h1 and h1.get_text(strip=True):
        if not title:
            title = h1.get_text(" ", strip=True)
        h1.decompose()
    blocks = []
    for el in root.find_all(["p", "li", "h2", "h3", "h4", "h5", "h6", "td", "blockquote", "pre", "dd", "dt"]):
        if el.find(["p", "li", "td"]):
            continue
        t = el.get_text(" ", strip=True)
        if t:
            blocks.append(t)
    text = "\n\n".join(blocks) if blocks else root.get_text("\n", strip=True)
    return title, re.sub(r"[ \t]+", " ", text).strip()


def check_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """Open a zip-based file (DOCX, XLSX) after checking it cannot inflate into a bomb."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"{name}: not a valid zip-based Office file; re-save it from Word/Excel") from None
    total = sum(i.file_size for i in infos)
    if zip_is_bomb(total, len(data)):
        raise InputError(f"{name}: archive would inflate to {total / 1e6:.0f} MB (zip bomb?); refusing to open it")
    return zf


def zip_is_bomb(inflated: int, compressed: int) -> bool:
    """Whether an archive of ``compressed`` bytes declaring ``inflated`` bytes is refused."""
    return inflated > MAX_UNZIPPED or (inflated > 20 * 1024 ** 2 and inflated / max(compressed, 1) > MAX_RATIO)


def _docx_text(data: bytes, name: str) -> tuple[str, str, dict]:
    if not data.startswith(b"PK"):
        raise InputError(f"{name}: not a valid .docx file (not a zip archive); re-save it from Word as .docx")
    check_zip(data, name)
    try:
        import docx
        d = docx.Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises many types for corrupt files
        raise InputError(f"{name}: cannot open as .docx ({err.__class__.__name__}); re-save it from Word") from None
    title = (d.core_properties.title or "").strip()
    paras = []
    for p in d.paragraphs:
        t = p.text.strip()
        if not t:
            continue
        style = (p.style.name or "").lower() if p.style is not None else ""
        if not title and (style.startswith("heading") or style == "title"):
            title = t
            continue
        paras.append(t)
    meta = {k: v for k, v in {"author": d.core_properties.author, "subject": d.core_properties.subject}.items() if v}
    return title, "\n\n".join(paras), meta


def read_document(path: str | Path) -> Document:
    """Read one md / html / txt / docx file."""
    p = Path(path)
    name = display_name(path)
    ext = p.suffix.lower()
    if ext not in DOC_READERS:
        raise InputError(f"{name}: unsupported document type '{ext or '(none)'}'; "
                         f"use {', '.join(_SHOWN_EXTS[:-1])} or {_SHOWN_EXTS[-1]}")
    try:
        mode = p.stat().st_mode
    except OSError:
        mode = None  # read_bytes says what is wrong
    if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise InputError(f"{name}: not a regular file (a pipe, socket or device); pass a regular file")
    data = read_bytes(p)
    if not data.strip():
        raise InputError(f"{name}: file is empty; write some text in it")
    return DOC_READERS[ext](p, data, name)


def _read_md(p: Path, data: bytes, name: str) -> Document:
    meta, body, _ = split_front_matter(decode(data, name)[0], name)
    heading, plain = _md_to_text(body)
    title = str(meta.get("title") or heading or p.stem)
    return Document(str(p), title, plain, meta, "md")


def _read_html(p: Path, data: bytes, name: str) -> Document:
    title, plain = html_to_text(decode(data, name)[0])
    return Document(str(p), title or p.stem, plain, {}, "html")


def _read_txt(p: Path, data: bytes, name: str) -> Document:
    text, _ = decode(data, name)
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines and len(lines[0]) < 150 and len(lines) > 1 else p.stem
    body = "\n".join(lines[1:]).strip() if title != p.stem else text.strip()
    return Document(str(p), title, body, {}, "txt")


def _read_docx(p: Path, data: bytes, name: str) -> Document:
    title, text, meta = _docx_text(data, name)
    return Document(str(p), title or p.stem, text, meta, "docx")


def read_documents(paths, errors: list | None = None, notes: list | None = None,
                   keep_going: bool = False) -> list[Document]:
    """Read files and folders (recursively, sorted, symlinks not followed into loops).

    Unreadable files inside a folder are skipped and reported in ``errors`` when given, else the first
    one raises; with ``keep_going`` (and ``errors``), so are the paths named directly. Inside a folder,
    a symbolic link to a file outside that folder is never followed (its target is not read): it is
    reported in ``notes`` when given; a broken or looping link is an unreadable file.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    docs: list[Document] = []

    def attempt(f: Path) -> None:
        try:
            docs.append(read_document(f))
        except InputError as err:
            if errors is None:
                raise
            errors.append(str(err))

    for path in paths:
        p = Path(path)
        if not p.exists():
            if keep_going and errors is not None:
                errors.append(f"{p}: no such file or folder; check the path")
                continue
            raise InputError(f"{p}: no such file or folder; check the path")
        if p.is_dir():
            files = []
            for root, dirs, names in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if n.startswith(".") or Path(n).suffix.lower() not in DOC_EXTS:
                        continue
                    files.append(Path(root) / n)
            if not files:
                msg = f"{p}: no .md, .html, .txt or .docx files in this folder"
                if keep_going and errors is not None:
                    errors.append(msg)
                    continue
                raise InputError(msg)
            inside = p.resolve()
            for f in files:
                if f.is_symlink():
                    try:
                        target = f.resolve(strict=True)
                    except (OSError, RuntimeError):  # missing target, or a loop (RuntimeError before 3.13)
                        msg = f"{f}: broken symbolic link (its target is missing or loops); fix the link or remove it"
                        if errors is None:
                            raise InputError(msg) from None
                        errors.append(msg)
                        continue
                    if not target.is_relative_to(inside):
                        if notes is not None:
                            notes.append(f"{f}: symbolic link to a file outside {p}; not followed "
                                         "(pass that file itself to tag it)")
                        continue
                attempt(f)
        elif keep_going:
            attempt(p)
        else:
            docs.append(read_document(p))
    return docs


register_document_reader((".md", ".markdown"), _read_md)
register_document_reader((".html", ".htm"), _read_html)
register_document_reader((".txt", ".text"), _read_txt)
register_document_reader((".docx",), _read_docx)
