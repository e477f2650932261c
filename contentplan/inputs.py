"""Inputs: the content inventory, the questions and the prospect interactions, read from the files
users give (tables, documents, folders, WordPress exports, sitemaps) into the DataFrames the
reports work on: roles detected, CMS bodies turned into text, each piece's format and language, the
same query from several sources merged into one question, timestamps parsed.

It sits between model/ and match.py: it reads with io/, detects formats with domain/ and languages
with model/ (see docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .domain.formats import cms_type, detect_format, normalise_format
from .errors import InputError
from .io.documents import DOC_EXTS, read_documents
from .io.encoding import display_name
from .io.tables import (
    METRIC_NAMES,
    detect_column,
    metric_columns,
    read_table,
    taxonomy_columns,
)
from .io.xmlsources import is_xml_source, read_xml_content
from .model.lang import detect_lang
from .textfold import fold_accents

# ----------------------------------------------------------------------------- content

def read_content(source, where: str | None = None) -> pd.DataFrame:
    """Inventory as a DataFrame (title, body, url, format, persona, date, lang, taxonomy, object_type)
    from a table, a document or a folder."""
    return read_content_carry(source, where)[0]


def _html_text(body: str) -> str:
    """The text of a body a CMS exports as HTML (WordPress Content, HubSpot Post Body, Shopify Body HTML)."""
    from .io.documents import html_to_text, looks_like_html
    if not looks_like_html(body):
        return body
    title, text = html_to_text(body)
    return text or title


def read_content_carry(source, where: str | None = None, fetch=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(roles, input columns to carry into content.csv). The title and URL columns are not carried
    twice: the report's ``title`` and ``url`` hold them unchanged. A WordPress export or a sitemap
    (``.xml``) is read by :mod:`contentplan.io.xmlsources`; ``fetch`` (FetchOptions) fetches a sitemap's pages."""
    if fetch is not None and (isinstance(source, pd.DataFrame) or not is_xml_source(source)):
        shown = where or ("content" if isinstance(source, pd.DataFrame) else display_name(source))
        raise InputError(f"{shown}: --fetch reads the pages of a sitemap (.xml), and this content is not one; "
                         "drop --fetch, or give the site's sitemap.xml")
    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), where or "content"
    else:
        p = Path(source)
        name = display_name(source)
        if is_xml_source(p) and not p.is_dir():
            return read_xml_content(p, fetch)
        if p.is_dir() or p.suffix.lower() in DOC_EXTS - {".txt", ".text"}:
            docs = read_documents(p)
            inv = pd.DataFrame({
                "title": [d.title for d in docs], "body": [d.text for d in docs], "url": [d.path for d in docs],
                "format": [str(d.meta.get("content_format") or d.meta.get("format") or "") for d in docs],
                "persona": [str(d.meta.get("persona") or "") for d in docs],
                "date": [str(d.meta.get("date") or "") for d in docs], "lang": ["" for _ in docs],
                "taxonomy": ["" for _ in docs], "object_type": ["" for _ in docs],
                "_meta": [d.meta for d in docs]})
            return inv, pd.DataFrame(index=range(len(inv)))
        frame = read_table(source)
    frame = frame.reset_index(drop=True)
    ctype = detect_column(frame, "cms_type", None, where=name, required=False)
    cols = {}
    for role in ("title", "body", "url", "format", "persona", "date", "lang"):
        taken = tuple(c for c in (*cols.values(), ctype) if c)
        cols[role] = detect_column(frame, role, None, where=name, required=False, exclude=taken)
    if not cols["title"] and not cols["body"]:
        raise InputError(f"{name}: no title or body column found (columns found: {', '.join(map(str, frame.columns))}); "
                         "name them 'title' and 'body' (or 'text')")
    out = pd.DataFrame({role: (frame[c].astype(str).tolist() if c else [""] * len(frame)) for role, c in cols.items()})
    out["body"] = [_html_text(b) for b in out.body]
    tax = taxonomy_columns(frame, exclude=tuple(c for c in cols.values() if c))
    out["taxonomy"] = [" | ".join(v for v in vals if v.strip()) for vals in zip(*(frame[c].astype(str) for c in tax))] \
        if tax else ""
    out["object_type"] = frame[ctype].astype(str).tolist() if ctype else ""
    # A "format" that is a CMS object type (Drupal type: article/page) is a weak cue, not a declared format.
    is_type = out.format.map(lambda v: cms_type(v) is not None)
    out.loc[is_type & (out.object_type == ""), "object_type"] = out.format[is_type & (out.object_type == "")]
    out.loc[is_type, "format"] = ""
    out["_meta"] = [{} for _ in range(len(out))]
    carry = frame[[c for c in frame.columns if c not in (cols["title"], cols["url"])]].astype(str)
    return out, carry


def content_formats(inv: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(format, format_source) of each piece of a :func:`read_content` inventory: a declared format
    wins; otherwise title cues, categories/tags, URL, text, and last the CMS object type."""
    fmts, fsrc = [], []
    for row, meta in zip(inv.itertuples(), inv["_meta"]):
        declared = normalise_format(row.format)
        if declared:
            fmts.append(declared); fsrc.append("declared")
        else:
            f, why = detect_format(row.title, row.body, row.url, meta, taxonomy=row.taxonomy, object_type=row.object_type)
            fmts.append(f); fsrc.append(f"detected ({why})")
    return fmts, fsrc


def fold_query(text: str) -> str:
    """The key under which the same query from several sources is one question: case, accents,
    sentence punctuation and spaces folded ("Prix CRM ?" = "prix  crm" = "prix crm"). Symbols that
    change a query stay ("c++" is not "c", "=1+1" is not "1 1")."""
    return re.sub(r"[\s?!.,;:\"«»“”()\[\]{}…¿¡-]+", " ", fold_accents(text)).strip()


def read_questions(source, text_column: str | None = None, where: str | None = None) -> pd.DataFrame:
    """Questions as a DataFrame (question, persona, volume, source, date, weight, mentions) from one
    table or text file, or from several (a list): see :func:`read_questions_carry`."""
    return read_questions_carry(source, text_column, where)[0]


def source_list(source) -> list:
    """``source`` as a list of sources (one path or DataFrame, or several)."""
    return list(source) if isinstance(source, (list, tuple)) else [source]


def read_questions_carry(source, text_column: str | None = None, where: str | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(questions, input columns to carry into questions.csv), one row per distinct query.

    Several sources (Search Console, Semrush, sales notes, tickets) are read one after the other;
    ``source`` is the file each row came from. The same query (see :func:`fold_query`) is one
    question, whatever the number of rows and files it appears in. Its demand (``weight``):

    - rows with a volume (search volume, impressions, clicks) measure the same searches seen by
      several tools: the question takes the largest, never the sum;
    - rows without one (a sales call, a ticket, a chat) are people asking: each adds the weight of
      the median query (1 when no source has volumes), as a single file always counted them.

    ``volume`` is the volume that counted (the largest); ``mentions`` the rows merged; persona,
    date and the carried columns take the first non-empty value in the order the sources were given.
    """
    sources = source_list(source)
    several = len(sources) > 1
    names = [(where or "questions") if isinstance(s, pd.DataFrame) else display_name(s) for s in sources]
    seen: dict = {}
    for s, n in zip(sources, names):
        if isinstance(s, pd.DataFrame):
            continue
        key = "-" if str(s) == "-" else Path(s).resolve()
        if key in seen:
            raise InputError(f"{n}: this questions file is given twice; give each file once")
        seen[key] = n
    short = [Path(n).name if not isinstance(s, pd.DataFrame) and str(s) != "-" else n for s, n in zip(sources, names)]
    if len(set(short)) < len(short):
        short = [n if isinstance(s, pd.DataFrame) else display_name(s) for s, n in zip(sources, names)]
    if several and len(set(short)) < len(short):
        short = [f"{n} [{i + 1}]" for i, n in enumerate(short)]
    parts, extras = [], []
    carried: dict[str, str] = {}          # lower-cased input name -> the first spelling seen
    for s, name, label in zip(sources, names, short):
        frame = s.copy() if isinstance(s, pd.DataFrame) else read_table(s)
        frame = frame.reset_index(drop=True)
        explicit = text_column
        if several and explicit and explicit.lower() not in {str(c).lower() for c in frame.columns}:
            explicit = None               # several files: --text-column names the column of the files that have it
        tcol = detect_column(frame, "text", explicit, where=name, option="--text-column")
        part = pd.DataFrame({"question": frame[tcol].astype(str).tolist()})
        for role in ("persona", "volume", "date"):
            c = detect_column(frame, role, None, where=name, required=False, exclude=(tcol,))
            part[role] = frame[c].astype(str).tolist() if c else ""
        part["source"] = label
        icol = detect_column(frame, "intent", None, where=name, required=False, exclude=(tcol,))
        metrics = metric_columns(frame, exclude=tuple(c for c in (tcol, icol) if c))
        extra = pd.DataFrame(index=part.index)
        if icol:
            extra["\x00intent"] = frame[icol].astype(str)
        for metric, c in metrics.items():
            extra[f"\x00{metric}"] = frame[c].astype(str)
        for c in frame.columns:
            if c in (tcol, icol) or c in metrics.values():
                continue
            spelling = carried.setdefault(str(c).lower(), str(c))
            if spelling in extra.columns:    # "Tags" and "tags" in one file: both kept (renamed later)
                spelling = str(c)
            extra[spelling] = frame[c].astype(str)
        parts.append(part)
        extras.append(extra)
    rows = pd.concat(parts, ignore_index=True)
    extra = pd.concat(extras, ignore_index=True).fillna("") if extras else pd.DataFrame(index=rows.index)
    vol = pd.to_numeric(rows.volume.str.replace(r"[\s\u00a0,]", "", regex=True), errors="coerce")
    vol = vol.where(vol > 0)
    has_volume = bool(vol.notna().any())
    unit = float(vol.median()) if has_volume else 1.0
    keys = rows.question.map(fold_query)
    keys = keys.where(keys != "", pd.Series([f"\x00{i}" for i in range(len(rows))]))   # blank rows stay apart
    rows["_key"], rows["_vol"] = keys, vol
    groups = rows.groupby("_key", sort=False)
    first = groups.head(1).set_index("_key")
    top = rows[vol.notna()].sort_values("_vol", ascending=False, kind="stable").drop_duplicates("_key").set_index("_key")
    blank = rows[["_key", "persona", "date", "volume"]].replace("", np.nan)
    firsts = blank.groupby("_key", sort=False).first().fillna("")
    out = pd.DataFrame({"question": first.question})
    out["persona"] = firsts.persona.reindex(out.index).fillna("")
    vol_raw = top.volume.reindex(out.index)
    out["volume"] = vol_raw.where(vol_raw.notna(), firsts.volume.reindex(out.index)).fillna("")
    files: dict[str, dict] = {}
    for k, label in zip(keys, rows.source):
        files.setdefault(k, {})[label] = None
    out["source"] = [" | ".join(files[k]) for k in out.index]
    out["date"] = firsts.date.reindex(out.index).fillna("")
    asks = rows._vol.isna().groupby(rows._key, sort=False).sum()          # rows without a volume: people asking
    out["weight"] = groups._vol.max().reindex(out.index).fillna(0.0) + unit * asks.reindex(out.index)
    out["mentions"] = groups.size().reindex(out.index).astype(int)
    out["has_volume"] = has_volume
    # The intent first, then the search metrics in a fixed order, then the other input columns as met.
    order = ["intent", *METRIC_NAMES]
    fixed = sorted((c for c in extra.columns if c.startswith("\x00")),
                   key=lambda c: (order.index(c[1:].split("_")[0] if c.startswith("\x00cpc") else c[1:]), c))
    extra = extra[fixed + [c for c in extra.columns if not c.startswith("\x00")]]
    if len(extra.columns):
        extra = extra.replace("", np.nan)
        extra["_key"] = keys
        extra = extra.groupby("_key", sort=False).first().reindex(out.index).fillna("")
    else:
        extra = pd.DataFrame(index=out.index)
    return out.reset_index(drop=True), extra.reset_index(drop=True)


def content_langs(inv: pd.DataFrame) -> list[str]:
    """Each piece's declared language (fr/en), else the detected one, remembered in the on-disk cache
    (a re-run over the same content reads it back instead of scanning every body again)."""
    langs = [l if l in ("fr", "en") else None for l in inv["lang"]]
    todo = [i for i, l in enumerate(langs) if l is None]
    if todo:
        found = detected_langs([f"{inv.title.iat[i]} {inv.body.iat[i]}" for i in todo])
        for i, lg in zip(todo, found):
            langs[i] = lg
    return langs


def detected_langs(texts: list[str]) -> list[str]:
    """:func:`~contentplan.model.lang.detect_lang` of each text, remembered in the on-disk cache."""
    from .model.embedders import cache_store, row_cache_enabled
    cache = cache_store() if row_cache_enabled() and texts else None
    hits = cache.get_texts("lang-v2", texts) if cache else {}
    out = [hits[k] if hits.get(k) in ("fr", "en", "other") else detect_lang(t) for k, t in enumerate(texts)]
    new = [k for k in range(len(texts)) if hits.get(k) != out[k]]
    if cache and new:
        cache.put_texts("lang-v2", [texts[k] for k in new], [out[k] for k in new])
    return out


# ----------------------------------------------------------------------------- interactions

@dataclass
class ProspectInput:
    frame: pd.DataFrame
    prospect: str
    time: str
    text: str
    date_order: str = "iso"   # how numeric dates were read: iso, day-first or month-first


_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?!\d)")


def date_order(values: list[str], dayfirst: bool | None, where: str, column: str) -> bool | None:
    """Whether the column's numeric dates (02/12/2026, 2.12.26) are day-first: True or False, or None
    when it has none (ISO dates, month names). Decided from the column as a whole: a first number
    above 12 means day-first, a second one above 12 month-first; both, or neither, is an error
    unless ``dayfirst`` says which (a French CRM export read month-first would move every date)."""
    pairs = [(int(m.group(1)), int(m.group(2)), v) for v in values if (m := _NUMERIC_DATE.match(v))]
    if not pairs:
        return None
    first = next((v for a, b, v in pairs if a > 12), None)
    second = next((v for a, b, v in pairs if b > 12), None)
    if dayfirst is not None:
        bad = second if dayfirst else first
        if bad is not None:
            raise InputError(f"{where}: column '{column}': '{bad}' cannot be {'day' if dayfirst else 'month'}-first; "
                             f"check the dates or pass --{'monthfirst' if dayfirst else 'dayfirst'}")
        return dayfirst
    if first is not None and second is not None:
        raise InputError(f"{where}: column '{column}' mixes day-first ('{first}') and month-first ('{second}') dates; "
                         "write them in one order (ISO 8601 is safest: 2026-12-02)")
    if first is not None or second is not None:
        return first is not None
    raise InputError(f"{where}: column '{column}': dates such as '{pairs[0][2]}' read as day-first or month-first give "
                     "different days; pass --dayfirst (02/12 = 2 December, as in France) or --monthfirst (US)")


def read_interactions(source, prospect_column=None, time_column=None, text_column=None,
                      dayfirst: bool | None = None) -> ProspectInput:
    frame = source.copy() if isinstance(source, pd.DataFrame) else read_table(source)
    name = "input" if isinstance(source, pd.DataFrame) else display_name(source)
    pcol = detect_column(frame, "prospect", prospect_column, where=name, option="--prospect-column")
    tcol = detect_column(frame, "date", time_column, where=name, option="--time-column", exclude=(pcol,))
    xcol = detect_column(frame, "text", text_column, where=name, option="--text-column", exclude=(pcol, tcol))
    raw = frame[tcol].astype(str).str.strip()
    order = date_order(raw.tolist(), dayfirst, name, tcol)
    parsed = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed", dayfirst=bool(order))
    for i, (r, p) in enumerate(zip(raw, parsed)):
        if not r:
            raise InputError(f"{name}: row {i + 2}: missing timestamp in column '{tcol}'; fill it (e.g. 2026-03-14 or 2026-03-14T09:30)")
        if pd.isna(p):
            raise InputError(f"{name}: row {i + 2}: cannot parse timestamp '{r}' in column '{tcol}'; use ISO 8601, e.g. 2026-03-14 or 2026-03-14T09:30")
    for i, v in enumerate(frame[pcol].astype(str).str.strip()):
        if not v:
            raise InputError(f"{name}: row {i + 2}: missing prospect id in column '{pcol}'; fill it")
    frame = frame.copy()
    frame["_ts"] = parsed
    frame["_row"] = np.arange(len(frame))
    return ProspectInput(frame, pcol, tcol, xcol, {None: "iso", True: "day-first", False: "month-first"}[order])
