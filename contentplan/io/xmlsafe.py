"""Safe XML reading for exports and sitemaps (the standard library's expat, with defusedxml's rules).

A document type declaration is refused outright: it is where entities are declared, so refusing it
stops both external entities (reading a local file, a URL) and entity expansion bombs ("billion
laughs"). The size is bounded before parsing; a gzip file (``sitemap.xml.gz``) is inflated only up
to that bound.
"""
from __future__ import annotations

import gzip
import io
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from ..errors import InputError
from .encoding import check_size, display_name, read_bytes, size_text

MAX_XML_BYTES = 512 * 1024 ** 2  # a WordPress export or sitemap larger than this is refused (split the export)


class _Refused(Exception):
    pass


def gunzip(data: bytes, name: str, limit: int | None = None) -> bytes:
    """Inflate gzip data, refusing more than ``limit`` bytes (default :data:`MAX_XML_BYTES`): a gzip
    bomb stops at the bound."""
    limit = MAX_XML_BYTES if limit is None else limit
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            out = gz.read(limit + 1)
    except (OSError, EOFError) as err:
        raise InputError(f"{name}: not a valid gzip file ({err}); give the .xml file itself") from None
    if len(out) > limit:
        raise InputError(f"{name}: inflates to more than {size_text(limit)}; split it into smaller files")
    return out


def read_xml_file(path: str | Path) -> ET.Element:
    """Parse an XML file (``.xml``, or ``.xml.gz``) safely; returns its root element."""
    name = display_name(path)
    check_size(path, MAX_XML_BYTES)
    data = read_bytes(path)
    if str(path).lower().endswith(".gz"):
        data = gunzip(data, name)
    return parse_xml(data, name)


def parse_xml(data: bytes, name: str) -> ET.Element:
    """Parse XML bytes into an ElementTree element, namespaces as ``{uri}local``. No DTD, no entity
    declaration, no external entity: one-line :class:`InputError` instead; so for malformed XML."""
    if not data.strip():
        raise InputError(f"{name}: file is empty; export it again")
    if len(data) > MAX_XML_BYTES:
        raise InputError(f"{name}: over {size_text(MAX_XML_BYTES)} of XML; split it into smaller files")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True

    def qname(tag: str) -> str:
        return "{" + tag if "}" in tag else tag

    def refuse(what: str):
        def handler(*_args):
            raise _Refused(what)
        return handler

    parser.StartElementHandler = lambda tag, attrs: builder.start(qname(tag), {qname(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda tag: builder.end(qname(tag))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse("a document type declaration (DOCTYPE)")
    parser.EntityDeclHandler = refuse("an entity declaration")
    parser.ExternalEntityRefHandler = refuse("an external entity")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
        return builder.close()
    except _Refused as err:
        raise InputError(f"{name}: the XML holds {err}, refused (it could read local files or expand without bound); "
                         "export the file again without a DOCTYPE") from None
    except expat.ExpatError as err:
        raise InputError(f"{name}: not well-formed XML (line {err.lineno}, column {err.offset + 1}: "
                         f"{expat.ErrorString(err.code)}); export the file again") from None
    except (AssertionError, IndexError):  # TreeBuilder: a document without a root element
        raise InputError(f"{name}: no XML root element; export the file again") from None


def local_name(tag: str) -> str:
    """``{uri}local`` -> ``local``."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""
