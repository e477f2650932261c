"""Byte reading and encoding detection (UTF-8, UTF-8 with BOM, UTF-16 with BOM, cp1252/latin-1)."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError

MAX_BYTES = 2 * 1024 ** 3  # refuse to slurp anything larger than 2 GB


def display_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


def read_bytes(path: str | Path) -> bytes:
    """Read a whole file (or stdin for '-') as bytes, with one-line errors."""
    if str(path) == "-":
        return sys.stdin.buffer.read()
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p}: is a directory; pass a file (or use a command that reads folders)")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{p}: file is {size / 1e9:.1f} GB; split it into files under 2 GB")
        return p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file; check the path") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied; check the file's permissions") from None
    except OSError as err:
        raise InputError(f"{p}: cannot read file ({err.strerror or err}); check the path") from None


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes to text; returns (text, encoding). Raises InputError for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as err:
            raise InputError(f"{name}: invalid UTF-8 at byte {err.start + 3} despite a UTF-8 BOM; re-save the file as UTF-8") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise InputError(f"{name}: invalid UTF-16 text; re-save the file as UTF-8") from None
    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 without BOM: every other byte NUL in ASCII-heavy text.
        if len(head) >= 4 and (head[1::2].count(0) > 0.4 * len(head[1::2]) or head[0::2].count(0) > 0.4 * len(head[0::2])):
            enc = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
            try:
                return data.decode(enc), enc
            except UnicodeDecodeError:
                pass
        raise InputError(f"{name}: looks like a binary file (NUL bytes), not text; pass a CSV, TSV, XLSX, JSON or text file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        utf8_error = err
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


def _looks_like_text(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return True
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\t\r\n") or 0x80 <= ord(c) < 0xA0)
    return bad / len(sample) < 0.01
