"""Polite page fetching for ``gaps --fetch`` (a sitemap's pages): explicit opt-in, never by default.

Rules, all enforced here:

- robots.txt is read once per site and honoured for the ``contentplan`` user agent (its
  Crawl-delay too, when longer than the delay asked); a robots.txt that answers 401/403 disallows
  the whole site, one that cannot be reached (server error, timeout) disallows it for this run;
- one request at a time, with ``delay`` seconds (default 1) before every request but the first;
- a clear user agent (:data:`USER_AGENT`), a timeout per request, only http and https (redirects
  included, at most 5), a size cap per response, at most ``max_pages`` pages requested per run;
- pages fetched are cached on disk (``pages.sqlite`` in the contentplan cache folder, keyed by
  URL): a run that stopped half-way resumes without requesting them again. Failures are not cached.
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .. import __version__
from .encoding import size_text

# No contact URL is invented: the project has none published yet (add it here when it has).
USER_AGENT = f"contentplan/{__version__} (content inventory from a sitemap, fetched on the user's request)"
DEFAULT_DELAY = 1.0
DEFAULT_MAX_PAGES = 500
TIMEOUT_S = 15.0
MAX_PAGE_BYTES = 5 * 1024 ** 2
MAX_REDIRECTS = 5
CACHE_NAMESPACE = "page/1"
HTML_TYPES = ("text/html", "application/xhtml+xml")


def _sleep(seconds: float) -> None:  # a seam for tests: no test ever waits
    time.sleep(seconds)


class FetchError(Exception):
    """One URL could not be fetched; the message says why in a few words."""


@dataclass
class FetchOptions:
    """What ``--fetch`` asks for: the delay between requests (seconds), the page cap per run, the
    per-request timeout and size cap, whether the on-disk cache is used, and a progress-bar factory
    ``bar(total, description)`` (see :mod:`contentplan.progress`)."""

    delay: float = DEFAULT_DELAY
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = TIMEOUT_S
    max_bytes: int = MAX_PAGE_BYTES
    cache: bool = True
    bar: Callable | None = field(default=None, repr=False)


@dataclass
class Page:
    url: str
    status: str            # fetched, cached, disallowed by robots.txt, failed: <why>, not fetched: <why>
    title: str = ""
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("fetched", "cached")


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise FetchError(f"redirected to a non-http(s) URL ({newurl[:80]})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


class Fetcher:
    """Fetches URLs one at a time under the rules above. ``requests`` counts the requests made
    (robots.txt included); ``pages_requested`` the pages, the number ``max_pages`` caps."""

    def __init__(self, options: FetchOptions | None = None):
        self.options = dataclasses.replace(options or FetchOptions())  # a Crawl-delay may raise its delay
        self.requests = 0
        self.pages_requested = 0
        self._robots: dict[str, urllib.robotparser.RobotFileParser | str] = {}
        self._opener = urllib.request.build_opener(_Redirects)
        self._cache = None
        if self.options.cache:
            from .cache import EmbeddingCache, cache_enabled, default_cache_dir
            if cache_enabled():
                self._cache = EmbeddingCache(default_cache_dir() / "pages.sqlite")

    @property
    def caching(self) -> bool:
        """Whether pages fetched are kept in the on-disk cache."""
        return self._cache is not None

    # ----- low level -----
    def get(self, url: str, max_bytes: int | None = None, accept: str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
            ) -> tuple[bytes, str]:
        """(body, content type) of one GET, after the delay; raises FetchError."""
        if not is_http(url):
            raise FetchError("not an http(s) URL")
        if self.requests:
            _sleep(self.options.delay)
        self.requests += 1
        limit = self.options.max_bytes if max_bytes is None else max_bytes
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
        try:
            with self._opener.open(req, timeout=self.options.timeout) as resp:
                ctype = resp.headers.get("Content-Type", "") or ""
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > limit:
                    raise FetchError(f"response over {size_text(limit)}")
                body = resp.read(limit + 1)
        except FetchError:
            raise
        except urllib.error.HTTPError as err:
            where = (err.headers.get("Location") or "") if err.headers is not None else ""
            if 300 <= err.code < 400 and where and not is_http(urllib.parse.urljoin(url, where)):
                raise FetchError(f"redirected to a non-http(s) URL ({where[:80]})") from None
            raise FetchError(f"HTTP {err.code}") from None
        except urllib.error.URLError as err:
            raise FetchError(f"cannot connect ({err.reason})") from None
        except (TimeoutError, OSError) as err:
            raise FetchError(f"network error ({err.__class__.__name__}: {err})") from None
        except ValueError as err:  # a malformed URL
            raise FetchError(f"invalid URL ({err})") from None
        if len(body) > limit:
            raise FetchError(f"response over {size_text(limit)}")
        return body, ctype

    # ----- robots.txt -----
    def _robots_for(self, url: str) -> urllib.robotparser.RobotFileParser | str:
        parts = urlsplit(url)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        if origin not in self._robots:
            rp = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
            try:
                body, _ = self.get(origin + "/robots.txt", max_bytes=512 * 1024, accept="text/plain,*/*;q=0.1")
                rp.parse(body.decode("utf-8", "replace").splitlines())
            except FetchError as err:
                code = re.fullmatch(r"HTTP (\d+)", str(err))
                if code and int(code.group(1)) in (401, 403):
                    rp.disallow_all = True
                elif code and 400 <= int(code.group(1)) < 500:
                    rp.allow_all = True   # no robots.txt: nothing is disallowed
                else:
                    self._robots[origin] = f"robots.txt unreachable ({err}); site not fetched"
                    return self._robots[origin]
            delay = rp.crawl_delay(USER_AGENT)
            if delay and float(delay) > self.options.delay:
                self.options.delay = float(delay)
            self._robots[origin] = rp
        return self._robots[origin]

    def allowed(self, url: str) -> str | None:
        """None when robots.txt lets us fetch ``url``, else why not."""
        rp = self._robots_for(url)
        if isinstance(rp, str):
            return rp
        return None if rp.can_fetch(USER_AGENT, url) else "disallowed by robots.txt"

    # ----- pages -----
    def cached(self, url: str) -> Page | None:
        if self._cache is None:
            return None
        raw = self._cache.get_text(CACHE_NAMESPACE, url)
        if raw is None:
            return None
        try:
            rec = json.loads(raw)
            return Page(url, "cached", str(rec.get("title", "")), str(rec.get("text", "")))
        except (ValueError, AttributeError):
            return None

    def page(self, url: str) -> Page:
        """One page: from the cache, else fetched (robots.txt first) and cached; never raises."""
        hit = self.cached(url)
        if hit is not None:
            return hit
        if not is_http(url):
            return Page(url, "not fetched: not an http(s) URL")
        if self.pages_requested >= self.options.max_pages:
            return Page(url, f"not fetched: --fetch-max {self.options.max_pages} reached")
        why = self.allowed(url)
        if why:
            return Page(url, why if why.startswith("disallowed") else f"failed: {why}")
        self.pages_requested += 1
        try:
            body, ctype = self.get(url)
        except FetchError as err:
            return Page(url, f"failed: {err}")
        kind = ctype.split(";")[0].strip().lower()
        if kind and kind not in HTML_TYPES:
            return Page(url, f"failed: not an HTML page ({kind})")
        from .documents import html_to_text
        title, text = html_to_text(_decode_html(body, ctype))
        if self._cache is not None:
            self._cache.put_text(CACHE_NAMESPACE, url, json.dumps({"title": title, "text": text}, ensure_ascii=False))
        return Page(url, "fetched", title, text)

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode_html(body: bytes, ctype: str) -> str:
    """A page's text: the charset of the Content-Type header, else of a <meta> tag, else UTF-8
    (cp1252 when the bytes are not UTF-8)."""
    m = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", ctype or "", re.IGNORECASE)
    charset = m.group(1) if m else None
    if charset is None:
        mm = _META_CHARSET.search(body[:4096])
        charset = mm.group(1).decode("ascii") if mm else None
    for enc in filter(None, (charset, "utf-8")):
        try:
            return body.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", "replace")
