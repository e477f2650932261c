"""Content inventories from XML: a WordPress export (WXR) and a sitemap (``urlset`` or sitemap index).

WordPress export (Tools > Export, an RSS file with the ``wp:`` namespace): one piece per published
post or page (``wp:status`` publish); attachments, menu items, revisions, reusable blocks, custom
post types and every draft, pending, private, scheduled or trashed item are skipped and counted in a
note. The body is ``content:encoded`` read as HTML; categories, tags and post formats are format
evidence; the post type is only a weak cue.

Sitemap: one piece per ``<loc>``, titled from its URL slug (``/blog/note-de-frais`` -> "Note de
frais"), ``lastmod`` as the date. Offline by default: a sitemap index reads the child sitemaps
saved next to it and names the others in a warning. With ``fetch`` (``gaps --fetch``) the pages and
remote child sitemaps are fetched politely (see :mod:`contentplan.io.fetch`).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pandas as pd

from ..errors import InputError
from .encoding import display_name
from .xmlsafe import (
    MAX_XML_BYTES,
    gunzip,
    local_name,
    namespace,
    parse_xml,
    read_xml_file,
)

WXR_NS = "http://wordpress.org/export/"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
WXR_TYPES = ("post", "page")                           # the post types read
WXR_TAXONOMIES = ("category", "post_format", "post_tag")  # their terms are format evidence, in this order
MAX_INDEX_DEPTH = 3
SHOWN = 5                                              # URLs named in a message before "and N more"
INVENTORY = ["title", "body", "url", "format", "persona", "date", "lang", "taxonomy", "object_type"]


def is_xml_source(path) -> bool:
    name = str(path).lower()
    return name.endswith((".xml", ".xml.gz"))


def read_xml_content(path, fetch=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(inventory, columns to carry into content.csv) from a WordPress export or a sitemap.
    ``fetch``: :class:`~contentplan.io.fetch.FetchOptions` to fetch a sitemap's pages, or None."""
    name = display_name(path)
    root = read_xml_file(path)
    kind = xml_kind(root, name)
    if kind == "wxr":
        if fetch is not None:
            raise InputError(f"{name}: --fetch reads the pages of a sitemap, and a WordPress export already holds "
                             "its pages' text; drop --fetch")
        return _wxr_frames(root, name)
    return _sitemap_frames(root, Path(path), name, fetch)


def xml_kind(root, name: str) -> str:
    """'wxr' (WordPress export), 'urlset' or 'sitemapindex'; an InputError for any other XML."""
    tag = local_name(root.tag)
    if tag in ("urlset", "sitemapindex"):
        return tag
    if tag == "rss":
        channel = root.find("channel")
        if channel is not None and any(namespace(el.tag).startswith(WXR_NS) for el in channel.iter()):
            return "wxr"
        raise InputError(f"{name}: an RSS feed, not a WordPress export; export the site from WordPress "
                         "(Tools > Export > All content), or give its sitemap.xml")
    raise InputError(f"{name}: XML with root <{tag}>, neither a WordPress export (WXR) nor a sitemap; give a WordPress "
                     "export (Tools > Export), a sitemap.xml, or a CSV/XLSX inventory")


def _frame(records: list[dict]) -> pd.DataFrame:
    inv = pd.DataFrame({c: [r.get(c, "") for r in records] for c in INVENTORY}, dtype=object)
    inv["_meta"] = [{} for _ in records]
    return inv


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _listed(urls: list[str]) -> str:
    more = f", and {len(urls) - SHOWN} more" if len(urls) > SHOWN else ""
    return ", ".join(urls[:SHOWN]) + more


# ----------------------------------------------------------------------------- WordPress export

def _short(tag: str) -> str:
    ns, local = namespace(tag), local_name(tag)
    if ns.startswith(WXR_NS):
        return ("excerpt:" if ns.rstrip("/").endswith("excerpt") else "wp:") + local
    if ns == CONTENT_NS:
        return "content:" + local
    if ns == DC_NS:
        return "dc:" + local
    return local if not ns else f"{ns}:{local}"


_BLOCK = r"(?:h[1-6]|ul|ol|dl|table|blockquote|pre|figure|div|section|hr|p)"
_BLOCK_EDGE = re.compile(rf"(<{_BLOCK}\b[^>]*>|</{_BLOCK}>)", re.IGNORECASE)


def _wp_autop(html: str) -> str:
    """WordPress stores classic-editor posts without <p> (it adds them when showing the page):
    blank lines, and the edges of block elements, separate paragraphs."""
    if re.search(r"<!--\s*wp:", html, re.IGNORECASE):
        return html
    out, depth = [], 0
    for part in _BLOCK_EDGE.split(html):
        if _BLOCK_EDGE.fullmatch(part):
            depth += -1 if part.startswith("</") else (0 if part.lower().startswith("<hr") else 1)
            out.append(part)
        elif depth > 0:
            out.append(part)
        else:
            out.extend(f"<p>{chunk}</p>" for chunk in re.split(r"\n\s*\n", part) if chunk.strip())
    return "".join(out)


def _wxr_frames(root, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ..notices import note
    from .documents import html_to_text
    records, carry = [], []
    skipped: Counter = Counter()
    channel = root.find("channel")
    for item in (channel.findall("item") if channel is not None else []):
        f: dict[str, str] = {}
        for child in item:
            f.setdefault(_short(child.tag), (child.text or "").strip())
        ptype, status = f.get("wp:post_type", "") or "post", f.get("wp:status", "") or "publish"
        if ptype not in WXR_TYPES:
            skipped[ptype] += 1
            continue
        if status != "publish":
            skipped[{"future": "scheduled", "inherit": "revision"}.get(status, status)] += 1
            continue
        terms: dict[str, list[str]] = {t: [] for t in (*WXR_TAXONOMIES, "language")}
        for cat in item.findall("category"):
            domain = cat.get("domain", "category")
            if domain in terms and (cat.text or "").strip():
                terms[domain].append(cat.get("nicename", "") if domain == "language" else cat.text.strip())
        body = f.get("content:encoded", "")
        text = ""
        if body.strip():
            title_in_body, text = html_to_text(_wp_autop(body))
            text = text or title_in_body
        date = f.get("wp:post_date", "")
        if not date or date.startswith("0000"):
            date = f.get("pubDate", "")
        title = f.get("title", "") or slug_title(f.get("wp:post_name", "")) or "(untitled)"
        lang = next((v.lower() for v in terms["language"] if v.lower() in ("fr", "en")), "")
        records.append({"title": title, "body": text, "url": f.get("link", "") or f.get("guid", ""), "date": date,
                        "lang": lang, "object_type": ptype,
                        "taxonomy": " | ".join(t for d in WXR_TAXONOMIES for t in terms[d])})
        carry.append({"post_id": f.get("wp:post_id", ""), "date": date, "post_type": ptype,
                      "author": f.get("dc:creator", ""), "categories": "|".join(terms["category"]),
                      "tags": "|".join(terms["post_tag"])})
    what = ", ".join(f"{n} {k}" for k, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    if not records:
        raise InputError(f"{name}: no published post or page in this WordPress export"
                         + (f" (skipped: {what})" if what else "") + "; export posts and pages (Tools > Export > All content)")
    if skipped:
        note(f"{name}: read {len(records)} published posts and pages; skipped: {what} "
             "(only published posts and pages are content)")
    return _frame(records), pd.DataFrame(carry, dtype=str)


# ----------------------------------------------------------------------------- sitemaps

def slug_title(url: str) -> str:
    """A readable title from a URL's last path segment: "/blog/note-de-frais-sans-justificatif" ->
    "Note de frais sans justificatif"; the host for a site's home page."""
    parts = urlsplit(str(url))
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return parts.netloc or str(url)
    slug = unquote(segments[-1])
    slug = re.sub(r"\.(html?|php|aspx?|jsp|pdf)$", "", slug, flags=re.IGNORECASE)
    words = re.sub(r"[-_+\s]+", " ", slug).strip()
    if not words:
        return parts.netloc or str(url)
    return words[0].upper() + words[1:]


def _first(el, local: str, ns: str | None = None):
    for child in el:
        if local_name(child.tag) == local and (ns is None or namespace(child.tag) == ns):
            return child
    return None


def _text(el) -> str:
    return (el.text or "").strip() if el is not None else ""


def _sitemap_frames(root, path: Path, name: str, fetch) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ..notices import note, warn
    fetcher = None
    if fetch is not None:
        from .fetch import Fetcher
        fetcher = Fetcher(fetch)
    try:
        entries, unread = _collect(root, path, name, fetcher)
        if unread:
            how = ("fetching failed" if fetcher is not None else
                   "remote, not saved next to it; save them next to it, or pass --fetch to download them")
            warn(f"{name}: {_plural(len(unread), 'child sitemap')} not read ({how}): "
                 + _listed([f"{u} ({why})" if why else u for u, why in unread]))
        if not entries:
            raise InputError(f"{name}: no <loc> URL in this sitemap" + (" or the child sitemaps read" if unread else "")
                             + "; give the site's sitemap.xml")
        records = [{"title": title or slug_title(url), "url": url, "date": lastmod, "lang": lang}
                   for url, lastmod, title, lang, _ in entries]
        carry = pd.DataFrame({"lastmod": [e[1] for e in entries], "sitemap": [e[4] for e in entries]}, dtype=str)
        if fetcher is not None:
            carry["fetch"] = _fetch_pages(fetcher, records, name, note, warn)
    finally:
        if fetcher is not None:
            fetcher.close()
    return _frame(records), carry


def _collect(root, path: Path, name: str, fetcher) -> tuple[list[tuple], list[tuple[str, str]]]:
    """Every (url, lastmod, title, lang, sitemap) of a sitemap or index, first occurrence kept, and
    the child sitemaps not read: (location, why)."""
    entries: dict[str, tuple] = {}
    unread: list[tuple[str, str]] = []
    seen: set[str] = set()
    todo = [(root, name, 0)]
    while todo:
        el, label, depth = todo.pop(0)
        if local_name(el.tag) == "urlset":
            for url in el:
                if local_name(url.tag) != "url":
                    continue
                loc = _text(_first(url, "loc"))
                if not loc or loc in entries:
                    continue
                news = _first(url, "news", NEWS_NS)
                lang = ""
                for alt in url:
                    if local_name(alt.tag) == "link" and namespace(alt.tag) == XHTML_NS and alt.get("href") == loc:
                        lang = (alt.get("hreflang") or "")[:2].lower()
                entries[loc] = (loc, _text(_first(url, "lastmod")), _text(_first(news, "title")) if news is not None else "",
                                lang if lang in ("fr", "en") else "", label)
            continue
        if local_name(el.tag) != "sitemapindex":
            unread.append((label, f"root <{local_name(el.tag)}>, not a sitemap"))
            continue
        for sm in el:
            loc = _text(_first(sm, "loc")) if local_name(sm.tag) == "sitemap" else ""
            if not loc or loc in seen:
                continue
            seen.add(loc)
            if depth + 1 > MAX_INDEX_DEPTH:
                unread.append((loc, f"sitemap indexes nested over {MAX_INDEX_DEPTH} deep"))
                continue
            child, where = _child_sitemap(loc, path, fetcher)
            if child is None:
                unread.append((loc, where))
            else:
                todo.append((child, where, depth + 1))
    return list(entries.values()), unread


def _child_sitemap(loc: str, path: Path, fetcher):
    """(root element, where it was read: a file or the URL) of a child sitemap, or (None, why not):
    the file of the same name next to the index first; else, with a fetcher, the URL; else not read."""
    base = PurePosixPath(unquote(urlsplit(loc).path)).name
    local = path.parent / base if base else None
    if local is not None and local.is_file():
        return read_xml_file(local), str(local)
    if fetcher is None:
        return None, ""
    from .fetch import FetchError, is_http
    url = loc
    if not is_http(url):
        return None, "not an http(s) URL, and no file of that name next to the index"
    why = fetcher.allowed(url)
    if why:
        return None, why
    try:
        data, _ = fetcher.get(url, max_bytes=MAX_XML_BYTES, accept="application/xml,text/xml;q=0.9,*/*;q=0.1")
    except FetchError as err:
        return None, str(err)
    if url.lower().endswith(".gz") or data[:2] == b"\x1f\x8b":
        data = gunzip(data, url)
    try:
        return parse_xml(data, url), url
    except InputError as err:
        return None, str(err).split(": ", 1)[-1]


def _fetch_pages(fetcher, records: list[dict], name: str, note, warn) -> list[str]:
    """Fetch each record's page (title and body from the HTML; a failure keeps the slug title);
    returns each page's fetch status, and says what was not fetched."""
    from contextlib import nullcontext
    opts = fetcher.options
    statuses = []
    with (opts.bar(len(records), "fetching pages") if opts.bar else nullcontext()) as bar:
        for rec in records:
            page = fetcher.page(rec["url"])
            if page.ok:
                rec["title"] = page.title or rec["title"]
                rec["body"] = page.text
            statuses.append(page.status)
            if bar is not None:
                bar.update(1)
    counts = Counter("disallowed" if s.startswith("disallowed") else "capped" if "--fetch-max" in s
                     else s.split(":")[0] for s in statuses)
    note(f"{name}: {counts['fetched']} of {len(records)} pages fetched, {counts['cached']} read from the cache")
    disallowed = [r["url"] for r, s in zip(records, statuses) if s.startswith("disallowed")]
    if disallowed:
        note(f"{name}: {_plural(len(disallowed), 'page')} disallowed by robots.txt for contentplan, not fetched "
             f"(kept with the title of their URL): {_listed(disallowed)}")
    failed = [f"{r['url']} ({s.split(': ', 1)[-1]})" for r, s in zip(records, statuses)
              if s.startswith(("failed", "not fetched")) and "--fetch-max" not in s]
    if failed:
        warn(f"{name}: {len(failed)} of {len(records)} pages could not be fetched, kept with the title of their URL: "
             f"{_listed(failed)}; see the fetch column of content.csv")
    if counts["capped"]:
        again = ("run again to fetch the next ones (pages fetched are cached)" if fetcher.caching
                 else "raise --fetch-max")
        warn(f"{name}: {_plural(counts['capped'], 'page')} not fetched: --fetch-max {opts.max_pages} reached; {again}")
    return statuses
