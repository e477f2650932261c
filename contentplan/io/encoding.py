"""Byte reading and encoding detection (UTF-8, UTF-8 with BOM, UTF-16 with BOM, cp1252/latin-1).

Reading is bounded: a stream or device (stdin, a FIFO, ``/dev/zero``) is read in blocks, never
slurped, and a "line" longer than :data:`MAX_LINE_BYTES` (a binary file, an endless stream without
line breaks) stops with an error naming the file and the line instead of filling the memory.

Decoding never mangles valid text: a UTF-8 file with a few lines in cp1252 (a line pasted from
Excel) is decoded line by line, each line in its own encoding, with a warning naming those lines.
"""
from __future__ import annotations

import codecs
import contextlib
import io
import sys
from pathlib import Path

from ..errors import InputError

MAX_BYTES = 2 * 1024 ** 3       # refuse to hold more than 2 GB of input in memory
MAX_LINE_BYTES = 64 * 1024 ** 2  # a line (or CSV cell) longer than 64 MB is not a table: stop
READ_BLOCK = 1024 ** 2           # bytes per read from a file or stream
MIXED = "mixed UTF-8/cp1252"    # the encoding reported for a file decoded line by line


def display_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def size_text(n: int) -> str:
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


class _Guard(io.RawIOBase):
    """A raw reader over a binary file object that counts lines as bytes go by and stops a line
    longer than ``max_line`` or a total over ``max_total`` with a one-line error."""

    def __init__(self, fh, name: str, max_line: int | None, max_total: int | None):
        super().__init__()
        self.fh, self.name, self.max_line, self.max_total = fh, name, max_line, max_total
        self.total = 0   # bytes read
        self.lines = 0   # line feeds read
        self.run = 0     # bytes since the last line break

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        chunk = self.fh.read(min(len(buf), READ_BLOCK))
        if not chunk:
            return 0
        self._account(chunk)
        buf[:len(chunk)] = chunk
        return len(chunk)

    def _too_long(self, line: int):
        return InputError(f"{self.name}: line {line} is over {size_text(self.max_line)} without a line break "
                          "(a binary file or an endless stream?); pass a text table with one row per line")

    def _account(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.max_total is not None and self.total > self.max_total:
            raise InputError(f"{self.name}: input is over {size_text(self.max_total)} (an endless stream?); "
                             f"save it to a file under {size_text(self.max_total)}, or split it")
        if not self.max_line:
            return
        breaks = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
        if not breaks:
            self.run += len(chunk)
            if self.run > self.max_line:
                raise self._too_long(self.lines + 1)
            return
        first = min(breaks)
        if self.run + first > self.max_line:
            raise self._too_long(self.lines + 1)
        if len(chunk) > self.max_line:  # only with a tiny limit: check the lines inside the block one by one
            start, line = first + 1, self.lines + (chunk[first] == 10) + 1
            while start < len(chunk):
                ends = [i for i in (chunk.find(b"\n", start), chunk.find(b"\r", start)) if i >= 0]
                end = min(ends) if ends else len(chunk)
                if ends and end - start > self.max_line:
                    raise self._too_long(line)
                line += chunk[end] == 10 if ends else 0
                start = end + 1
        self.lines += chunk.count(b"\n")
        self.run = len(chunk) - 1 - max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if self.run > self.max_line:
            raise self._too_long(self.lines + 1)


def _open_error(p: Path, err: OSError) -> InputError:
    if isinstance(err, FileNotFoundError):
        return InputError(f"{p}: no such file; check the path")
    if isinstance(err, PermissionError):
        return InputError(f"{p}: permission denied; check the file's permissions")
    if isinstance(err, IsADirectoryError):
        return InputError(f"{p}: is a directory; pass a file (or use a command that reads folders)")
    return InputError(f"{p}: cannot read file ({err.strerror or err}); check the path")


@contextlib.contextmanager
def open_input(path: str | Path, max_line: int | None = None, max_total: int | None = None):
    """A buffered binary reader over a file or stdin ('-'), guarded by ``max_line`` and ``max_total``
    (see :class:`_Guard`). Works the same for regular files, pipes, FIFOs and devices."""
    name = display_name(path)
    with contextlib.ExitStack() as stack:
        if str(path) == "-":
            fh = sys.stdin.buffer
        else:
            p = Path(path)
            if p.is_dir():
                raise InputError(f"{p}: is a directory; pass a file (or use a command that reads folders)")
            try:
                fh = stack.enter_context(open(p, "rb"))
            except OSError as err:
                raise _open_error(p, err) from None
        try:
            yield io.BufferedReader(_Guard(fh, name, max_line, max_total), buffer_size=READ_BLOCK)
        except OSError as err:
            raise InputError(f"{name}: cannot read ({err.strerror or err}); check the file") from None


def is_regular(path: str | Path) -> bool:
    return str(path) != "-" and Path(path).is_file()


def check_size(path: str | Path, limit: int | None = None) -> None:
    """Refuse a regular file too large to read whole (streams are bounded while read)."""
    limit = MAX_BYTES if limit is None else limit
    if is_regular(path):
        size = Path(path).stat().st_size
        if size > limit:
            raise InputError(f"{path}: file is {size / 1e9:.1f} GB; split it into files under {size_text(limit)}")


def read_bytes(path: str | Path, max_line: int | None = None) -> bytes:
    """Read a whole file (or stdin for '-') as bytes, with one-line errors. A regular file over
    :data:`MAX_BYTES` is refused before reading; a stream or device is read in blocks and stopped
    at :data:`MAX_BYTES` (and, with ``max_line``, at a line that long)."""
    p = Path(path) if str(path) != "-" else None
    if p is not None and p.is_dir():
        raise InputError(f"{p}: is a directory; pass a file (or use a command that reads folders)")
    try:
        check_size(path)
    except OSError as err:
        raise _open_error(p, err) from None
    with open_input(path, max_line=max_line, max_total=MAX_BYTES) as fh:
        return fh.read()


def sniff_encoding(head: bytes, name: str) -> str | None:
    """The encoding a BOM or the byte pattern of ``head`` shows: 'utf-8-sig', 'utf-16',
    'utf-16-le', 'utf-16-be'; None for 8-bit text (UTF-8 or a legacy code page, decided by
    :func:`decode`). Raises InputError for binary data (NUL bytes)."""
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    head = head[:8192]
    if b"\x00" in head:
        # UTF-16 without BOM: every other byte NUL in ASCII-heavy text (the others not: all NULs is binary).
        odd, even = head[1::2].count(0) / max(len(head[1::2]), 1), head[0::2].count(0) / max(len(head[0::2]), 1)
        if len(head) >= 4 and max(odd, even) > 0.4 and min(odd, even) < 0.1:
            enc = "utf-16-le" if odd > even else "utf-16-be"
            try:
                codecs.getincrementaldecoder(enc)().decode(head, final=False)  # a cut pair at the end is fine
                return enc
            except UnicodeDecodeError:
                pass
        raise InputError(f"{name}: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, JSON or text file")
    return None


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes to text; returns (text, encoding). Raises InputError for binary data."""
    enc = sniff_encoding(data, name)
    if enc == "utf-8-sig":
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as err:
            if b"\n" not in data:
                raise InputError(f"{name}: invalid UTF-8 at byte {err.start + 3} despite a UTF-8 BOM; re-save the file as UTF-8") from None
            text = _decode_lines(data[3:], name, bom=True)
            if text is None:
                raise InputError(f"{name}: invalid UTF-8 at byte {err.start + 3} despite a UTF-8 BOM; re-save the file as UTF-8") from None
            return text, MIXED
    if enc is not None:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            if enc == "utf-16":
                raise InputError(f"{name}: invalid UTF-16 text; re-save the file as UTF-8") from None
            raise InputError(f"{name}: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, JSON or text file") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        utf8_error = err
    # Some lines are valid UTF-8 with accents, others not: decode each line in its own encoding.
    text = _decode_lines(data, name)
    if text is not None:
        return text, MIXED
    # French Excel writes cp1252; accept it when the bytes make sense as text.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_like_text(text):
        return text, "cp1252"
    try:
        text = data.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        text = None
    if text is not None and _looks_like_text(text):
        return text, "latin-1"
    raise InputError(
        f"{name}: cannot decode byte 0x{data[utf8_error.start]:02x} at position {utf8_error.start} as UTF-8 or cp1252; "
        "re-save the file as UTF-8"
    )


class LineDecoder:
    """Decodes a file line by line: each line as UTF-8 when it is valid UTF-8, else as cp1252 (or
    latin-1 for the five bytes cp1252 leaves undefined). :meth:`finish` warns, naming the lines,
    when a file mixes both."""

    def __init__(self, name: str, fallback: str = "cp1252"):
        self.name, self.fallback = name, fallback
        self.n = 0
        self.utf8: list[int] = []    # first line numbers of non-ASCII UTF-8 lines
        self.legacy: list[int] = []  # first line numbers of lines that are not UTF-8
        self.n_utf8 = self.n_legacy = 0

    def __call__(self, raw: bytes) -> str:
        self.n += 1
        if raw.isascii():
            return raw.decode("ascii")
        try:
            text = raw.decode("utf-8")
            self.n_utf8 += 1
            if len(self.utf8) < 5:
                self.utf8.append(self.n)
            return text
        except UnicodeDecodeError:
            pass
        self.n_legacy += 1
        if len(self.legacy) < 5:
            self.legacy.append(self.n)
        try:
            return raw.decode(self.fallback)
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    @property
    def mixed(self) -> bool:
        return bool(self.n_utf8 and self.n_legacy)

    def finish(self) -> None:
        if not self.mixed:
            return
        from ..notices import warn
        if self.n_legacy <= self.n_utf8 or not self.utf8:
            lines, n, what = self.legacy, self.n_legacy, f"not UTF-8 like the rest of the file; read as {self.fallback}"
        else:
            lines, n, what = self.utf8, self.n_utf8, f"UTF-8 while the rest of the file is {self.fallback}; read as UTF-8"
        listed = ", ".join(map(str, lines))
        more = f" and {n - len(lines)} more" if n > len(lines) else ""
        subject = f"line {listed} is" if n == 1 else f"lines {listed}{more} are"
        warn(f"{self.name}: mixed encodings: {subject} {what}; check {'it' if n == 1 else 'them'}, or re-save the file as UTF-8")


def _decode_lines(data: bytes, name: str, bom: bool = False) -> str | None:
    """Line-by-line decoding of a file mixing UTF-8 and cp1252 lines, with a warning; None when no
    line is non-ASCII UTF-8 (then the file is in one legacy encoding)."""
    dec = LineDecoder(name)
    dec.n_utf8 = int(bom)  # a UTF-8 BOM says the file is UTF-8
    out = [dec(line) for line in data.split(b"\n")]
    if not dec.n_utf8:
        return None
    dec.finish()
    return "\n".join(out)


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return True
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\r\n") or 0x80 <= ord(c) < 0xA0)
    return bad / len(sample) < 0.01
