"""Issue #15, new readers: a WordPress export (WXR) and a sitemap / sitemap index as ``gaps --content``,
and ``--fetch``, which fetches a sitemap's pages politely.

Fixtures: tests/fixtures/wxr/ (a French WordPress export: posts, a page, an attachment, a draft, a
menu item; categories "Études de cas" and "Webinars"; Gutenberg and classic-editor HTML bodies) and
tests/fixtures/sitemaps/ (a Yoast-style index and two of its three child sitemaps). Fetching is only
ever tested against a local HTTP server started here (127.0.0.1, port 0): no test uses the network.
"""
from __future__ import annotations

import gzip
import http.server
import socket
import threading
from pathlib import Path

import pandas as pd
import pytest

from contentplan.errors import InputError
from contentplan.inputs import content_formats, read_content_carry
from contentplan.io import fetch as fetch_mod
from contentplan.io.fetch import USER_AGENT, FetchOptions
from contentplan.io.xmlsources import slug_title

FIX = Path(__file__).parent / "fixtures"
WXR = FIX / "wxr" / "factureo.WordPress.2025-01-15.xml"
SITEMAPS = FIX / "sitemaps"
QUESTIONS = FIX / "gaps" / "questions.csv"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def no_network(monkeypatch):
    """Any connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network used: {args}")
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


# ----------------------------------------------------------------------------- WordPress export

def test_wxr_reads_published_posts_and_pages_only_and_says_what_was_skipped(capsys):
    inv, carry = read_content_carry(WXR)
    assert inv.title.tolist() == ["Comment Boulangeries Martin a divisé par deux ses retards de paiement",
                                  "Replay : passer à la facture électronique en 2026",
                                  "Qu'est-ce qu'une relance de facture impayée ?", "Tarifs"]
    assert inv.url.tolist() == ["https://www.factureo.fr/blog/boulangeries-martin-retards-de-paiement/",
                                "https://www.factureo.fr/blog/replay-facture-electronique-2026/",
                                "https://www.factureo.fr/blog/relance-facture-impayee/", "https://www.factureo.fr/tarifs/"]
    assert inv.object_type.tolist() == ["post", "post", "post", "page"]
    assert inv.date.tolist() == ["2024-03-12 09:30:00", "2024-05-16 16:00:00", "2024-06-03 09:00:00", "2024-01-05 11:00:00"]
    assert inv.format.tolist() == [""] * 4            # a post type is never a declared format
    assert inv.taxonomy.tolist() == ["Études de cas | relances | impayés", "Webinars", "Non classé | relances", ""]
    err = capsys.readouterr().err
    assert "note: " + str(WXR) + ": read 4 published posts and pages; skipped: 1 attachment, 1 draft, 1 nav_menu_item" in err
    assert carry.columns.tolist() == ["post_id", "date", "post_type", "author", "categories", "tags"]
    assert carry.post_id.tolist() == ["101", "102", "103", "12"]
    assert carry.tags[0] == "relances|impayés"


def test_wxr_bodies_are_html_read_as_text():
    inv, _ = read_content_carry(WXR)
    # Gutenberg blocks (comments and <p>), an entity kept as its character.
    assert inv.body[0] == ("Boulangeries Martin (12 magasins) relançait ses clients à la main\xa0; les retards s'accumulaient."
                           "\n\nLa solution\n\nAvec les relances automatiques, l'équipe comptable a gagné 6 heures par semaine.")
    # Classic editor: no <p>, blank lines and block edges separate paragraphs; no text is lost after a list.
    assert inv.body[1].split("\n\n") == ["Revivez notre session en direct avec l'expert-comptable Paul Renaud.", "Au programme",
                                         "le calendrier de la réforme", "les formats Factur-X et UBL",
                                         "Les questions des participants sont à la fin de la vidéo."]
    assert inv.body[2].startswith("Une relance est le message envoyé") and "\n\nElle peut être amiable" in inv.body[2]


def test_wxr_categories_are_format_evidence_and_post_type_a_weak_cue():
    inv, _ = read_content_carry(WXR)
    assert list(zip(*content_formats(inv))) == [
        ("case_study", "detected (category: Études de cas)"),
        ("webinar", "detected (category: Webinars)"),
        ("blog_article", "detected (path: https://www.factureo.fr/blog/relance-facture-impayee/)"),
        ("pricing_page", "detected (title: 'Tarifs')")]


def test_gaps_reads_a_wordpress_export(runner, cli, tiny_model_dir, tmp_path):
    res = runner.invoke(cli, ["gaps", "--content", str(WXR), "--questions", str(QUESTIONS),
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    content = _csv(tmp_path / "r" / "content.csv")
    assert content.title.tolist()[3] == "Tarifs" and content.format.tolist()[:2] == ["case_study", "webinar"]
    assert content.columns.tolist()[-6:] == ["post_id", "date", "post_type", "author", "categories", "tags"]
    assert content.categories[0] == "Études de cas"


def _wxr(items: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><wp:wxr_version>1.2</wp:wxr_version>'
            f'{items}</channel></rss>\n')


def test_wxr_with_only_drafts_is_a_one_line_error(runner, cli, tiny_model_dir, tmp_path):
    path = tmp_path / "export.xml"
    path.write_text(_wxr("<item><title>Brouillon</title><wp:status>draft</wp:status><wp:post_type>post</wp:post_type></item>"
                         "<item><title>Corbeille</title><wp:status>trash</wp:status><wp:post_type>page</wp:post_type></item>"),
                    encoding="utf-8")
    res = runner.invoke(cli, ["gaps", "--content", str(path), "--questions", str(QUESTIONS), "--model", str(tiny_model_dir),
                              "-o", str(tmp_path / "r")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1] == (
        f"Error: {path}: no published post or page in this WordPress export (skipped: 1 draft, 1 trash); "
        "export posts and pages (Tools > Export > All content)")
    assert "Traceback" not in res.output


@pytest.mark.parametrize("xml,expected", [
    # "Billion laughs": entities declared in a DTD, refused before any expansion.
    (('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     '<rss><channel><item><title>&lol2;</title></item></channel></rss>'),
     "the XML holds a document type declaration (DOCTYPE), refused"),
    # External entity (XXE): never read.
    ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel>&x;</channel></rss>',
     "the XML holds a document type declaration (DOCTYPE), refused"),
    ('<rss><channel><item><title>ouvert</channel></rss>', "not well-formed XML (line 1, column 36: mismatched tag)"),
    ('<rss version="2.0"><channel><title>Blog</title><item><title>Un article</title></item></channel></rss>',
     "an RSS feed, not a WordPress export"),
    ('<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>',
     "XML with root <feed>, neither a WordPress export (WXR) nor a sitemap"),
])
def test_unsafe_or_unknown_xml_is_a_one_line_error(runner, cli, tiny_model_dir, tmp_path, xml, expected):
    path = tmp_path / "export.xml"
    path.write_text(xml, encoding="utf-8")
    res = runner.invoke(cli, ["gaps", "--content", str(path), "--questions", str(QUESTIONS), "--model", str(tiny_model_dir),
                              "-o", str(tmp_path / "r")])
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: {expected}") and ";" in lines[0], res.output
    assert not (tmp_path / "r").exists()


def test_oversized_xml_is_refused_before_parsing(tmp_path, monkeypatch):
    from contentplan.io import xmlsafe
    monkeypatch.setattr(xmlsafe, "MAX_XML_BYTES", 1000)
    path = tmp_path / "big.xml"
    path.write_text(_wxr("<item><title>x</title></item>" * 100), encoding="utf-8")
    with pytest.raises(InputError, match=r"big\.xml: file is .* split it into files under 1000 bytes"):
        read_content_carry(path)
    gz = tmp_path / "sitemap.xml.gz"
    gz.write_bytes(gzip.compress(b"<urlset>" + b" " * 5000 + b"</urlset>"))
    with pytest.raises(InputError, match=r"sitemap\.xml\.gz: inflates to more than 1000 bytes"):
        read_content_carry(gz)


# ----------------------------------------------------------------------------- sitemaps, offline

@pytest.mark.parametrize("url,title", [
    ("https://www.factureo.fr/blog/note-de-frais-sans-justificatif", "Note de frais sans justificatif"),
    ("https://www.factureo.fr/blog/note-de-frais-sans-justificatif/", "Note de frais sans justificatif"),
    ("https://www.factureo.fr/blog/relance-facture-impay%C3%A9e.html", "Relance facture impayée"),
    ("https://www.factureo.fr/guides/guide_tva_2025?utm=x", "Guide tva 2025"),
    ("https://www.factureo.fr/", "www.factureo.fr"),
])
def test_slug_title(url, title):
    assert slug_title(url) == title


def test_sitemap_index_reads_local_children_and_names_remote_ones(capsys, no_network):
    inv, carry = read_content_carry(SITEMAPS / "sitemap_index.xml")
    assert inv.url.tolist() == [
        "https://www.factureo.fr/blog/", "https://www.factureo.fr/blog/note-de-frais-sans-justificatif",
        "https://www.factureo.fr/etudes-de-cas/boulangeries-martin-retards-de-paiement/",
        "https://www.factureo.fr/webinars/replay-facture-electronique-2026/",
        "https://www.factureo.fr/blog/relance-facture-impay%C3%A9e.html",
        "https://www.factureo.fr/", "https://www.factureo.fr/tarifs/"]      # a URL listed twice is one piece
    assert inv.title.tolist() == ["Blog", "Note de frais sans justificatif", "Boulangeries martin retards de paiement",
                                  "Replay facture electronique 2026", "Relance facture impayée", "www.factureo.fr", "Tarifs"]
    assert inv.date[1] == "2024-02-20T09:15:00+00:00" and inv.body.tolist() == [""] * 7
    assert inv.lang.tolist() == [""] * 6 + ["fr"]                            # xhtml:link hreflang of the URL itself
    assert carry.columns.tolist() == ["lastmod", "sitemap"]
    assert carry.sitemap.tolist() == [str(SITEMAPS / "post-sitemap.xml")] * 5 + [str(SITEMAPS / "page-sitemap.xml")] * 2
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert (f"warning: {SITEMAPS / 'sitemap_index.xml'}: 1 child sitemap not read (remote, not saved next to it; "
            "save them next to it, or pass --fetch to download them): https://www.factureo.fr/category-sitemap.xml") in err
    fmts, _ = content_formats(inv)
    assert fmts[2:4] == ["case_study", "webinar"] and fmts[6] == "pricing_page"


def test_gaps_reads_a_sitemap_offline(runner, cli, tiny_model_dir, tmp_path, no_network):
    res = runner.invoke(cli, ["gaps", "--content", str(SITEMAPS / "post-sitemap.xml"), "--questions", str(QUESTIONS),
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    content = _csv(tmp_path / "r" / "content.csv")
    assert len(content) == 5 and content.title[1] == "Note de frais sans justificatif"
    assert "fetch" not in content.columns


def test_gzipped_child_sitemap_next_to_the_index(tmp_path, no_network):
    (tmp_path / "index.xml").write_text(
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://ex.fr/s1.xml.gz</loc>'
        '</sitemap></sitemapindex>', encoding="utf-8")
    (tmp_path / "s1.xml.gz").write_bytes(gzip.compress(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://ex.fr/aide/creer-un-devis</loc>'
        b'</url></urlset>'))
    inv, _ = read_content_carry(tmp_path / "index.xml")
    assert inv.title.tolist() == ["Creer un devis"]


def test_fetch_options_are_refused_where_they_do_not_apply(runner, cli, tiny_model_dir, tmp_path):
    base = ["gaps", "--questions", str(QUESTIONS), "--model", str(tiny_model_dir), "-o", str(tmp_path / "r")]
    res = runner.invoke(cli, [*base, "--content", str(FIX / "gaps" / "content.csv"), "--fetch"])
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {FIX / 'gaps' / 'content.csv'}: --fetch reads the pages of a sitemap (.xml), "
                                  "and this content is not one; drop --fetch, or give the site's sitemap.xml")
    res = runner.invoke(cli, [*base, "--content", str(WXR), "--fetch"])
    assert res.exit_code == 1 and "a WordPress export already holds its pages' text; drop --fetch" in res.output
    res = runner.invoke(cli, [*base, "--content", str(SITEMAPS / "post-sitemap.xml"), "--fetch-delay", "2"])
    assert res.exit_code == 2 and "--fetch-delay and --fetch-max go with --fetch" in res.output


# ----------------------------------------------------------------------------- --fetch, against a local server

PAGES = {
    "/blog/note-de-frais-sans-justificatif": "<html><head><title>Note de frais : que faire sans justificatif ? | Factureo</title>"
    "</head><body><nav>Menu Tarifs Blog</nav><main><h1>Note de frais sans justificatif</h1><p>Sans ticket, la dépense "
    "peut être remboursée sur attestation sur l'honneur.</p></main></body></html>",
    "/etudes-de-cas/boulangeries-martin/": "<html><head><meta charset='windows-1252'><title>Étude de cas : Boulangeries Martin"
    "</title></head><body><article><p>Relances automatiques : 6 heures gagnées par semaine.</p></article></body></html>",
    "/prive/tableau-de-bord": "<html><title>Privé</title><p>secret</p></html>",
    "/tarifs/": "<html><head><title>Tarifs</title></head><body><p>Essentiel 19 € HT par mois.</p></body></html>",
}


class _Site:
    """A local site: robots.txt (disallowing /prive/), a few pages, a 404, a PDF and a redirect to file:."""

    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, self.headers.get("User-Agent", "")))
                if self.path == "/robots.txt":
                    return self._send(200, "text/plain", b"User-agent: *\nDisallow: /prive/\n")
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "file:///etc/passwd")
                    self.end_headers()
                    return None
                if self.path == "/guide.pdf":
                    return self._send(200, "application/pdf", b"%PDF-1.7 ...")
                if self.path == "/big":
                    return self._send(200, "text/html", b"<p>" + b"x" * 20000 + b"</p>")
                page = PAGES.get(self.path)
                if page is None:
                    return self._send(404, "text/html", b"<h1>Not found</h1>")
                enc = "cp1252" if "windows-1252" in page else "utf-8"
                ctype = "text/html" if enc == "cp1252" else "text/html; charset=utf-8"
                return self._send(200, ctype, page.encode(enc))

            def _send(self, code, ctype, body):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def pages(self) -> list[str]:
        return [p for p, _ in self.requests if p != "/robots.txt"]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def site(monkeypatch, tmp_path):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(tmp_path / "cache"))   # each test its own page cache
    s = _Site()
    yield s
    s.stop()


@pytest.fixture
def sleeps(monkeypatch):
    waited: list[float] = []
    monkeypatch.setattr(fetch_mod, "_sleep", waited.append)
    return waited


def _sitemap(tmp_path: Path, base: str, paths: list[str]) -> Path:
    path = tmp_path / "sitemap.xml"
    urls = "".join(f"<url><loc>{base}{p}</loc><lastmod>2024-06-03</lastmod></url>" for p in paths)
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"{urls}</urlset>", encoding="utf-8")
    return path


ALL = ["/blog/note-de-frais-sans-justificatif", "/prive/tableau-de-bord", "/etudes-de-cas/boulangeries-martin/",
       "/introuvable", "/guide.pdf", "/redirect", "/tarifs/"]


def test_fetch_is_polite_and_reports_failures(site, sleeps, tmp_path, capsys):
    inv, carry = read_content_carry(_sitemap(tmp_path, site.base, ALL), fetch=FetchOptions(delay=2.5))
    # robots.txt read once, first; the disallowed page never requested; one request at a time, our user agent.
    assert site.requests[0][0] == "/robots.txt" and [p for p, _ in site.requests].count("/robots.txt") == 1
    assert "/prive/tableau-de-bord" not in site.pages()
    assert site.pages() == [p for p in ALL if p != "/prive/tableau-de-bord"]
    assert {ua for _, ua in site.requests} == {USER_AGENT} and USER_AGENT.startswith("contentplan/")
    # The delay before every request but the first (robots.txt included).
    assert sleeps == [2.5] * (len(site.requests) - 1)
    assert carry.fetch.tolist() == ["fetched", "disallowed by robots.txt", "fetched", "failed: HTTP 404",
                                    "failed: not an HTML page (application/pdf)",
                                    "failed: redirected to a non-http(s) URL (file:///etc/passwd)", "fetched"]
    # Title and text from the page (navigation dropped); failures keep the title of their URL.
    assert inv.title.tolist() == ["Note de frais : que faire sans justificatif ? | Factureo", "Tableau de bord",
                                  "Étude de cas : Boulangeries Martin", "Introuvable", "Guide", "Redirect", "Tarifs"]
    assert inv.body[0] == "Sans ticket, la dépense peut être remboursée sur attestation sur l'honneur."
    assert inv.body[2] == "Relances automatiques : 6 heures gagnées par semaine."      # cp1252 page, meta charset
    assert inv.body[1] == "" and inv.date[0] == "2024-06-03"
    err = capsys.readouterr().err
    assert ": 3 of 7 pages fetched, 0 read from the cache" in err
    assert f"1 page disallowed by robots.txt for contentplan, not fetched (kept with the title of their URL): {site.base}/prive/" in err
    assert (f"3 of 7 pages could not be fetched, kept with the title of their URL: {site.base}/introuvable (HTTP 404), "
            f"{site.base}/guide.pdf (not an HTML page (application/pdf)), ") in err
    assert "see the fetch column of content.csv" in err


def test_fetch_cap_and_size_limit(site, sleeps, tmp_path, capsys):
    inv, carry = read_content_carry(_sitemap(tmp_path, site.base, ["/tarifs/", "/big", "/blog/note-de-frais-sans-justificatif"]),
                               fetch=FetchOptions(delay=0, max_pages=2, max_bytes=10000))
    assert site.pages() == ["/tarifs/", "/big"]                      # the cap holds: 2 pages requested
    assert carry.fetch.tolist() == ["fetched", "failed: response over 9.76562 KB", "not fetched: --fetch-max 2 reached"]
    assert inv.title[2] == "Note de frais sans justificatif"
    assert sleeps == [0, 0]
    assert ("1 page not fetched: --fetch-max 2 reached; run again to fetch the next ones (pages fetched are cached)"
            in capsys.readouterr().err)


def test_fetched_pages_are_cached_and_an_interrupted_run_resumes(site, sleeps, tmp_path, capsys):
    sitemap = _sitemap(tmp_path, site.base, ["/tarifs/", "/blog/note-de-frais-sans-justificatif", "/introuvable"])
    _first, c1 = read_content_carry(sitemap, fetch=FetchOptions(delay=1, max_pages=1))      # "interrupted" after one page
    assert c1.fetch.tolist() == ["fetched", "not fetched: --fetch-max 1 reached", "not fetched: --fetch-max 1 reached"]
    second, c2 = read_content_carry(sitemap, fetch=FetchOptions(delay=1))
    assert c2.fetch.tolist() == ["cached", "fetched", "failed: HTTP 404"]
    assert site.pages() == ["/tarifs/", "/blog/note-de-frais-sans-justificatif", "/introuvable"]   # /tarifs/ once
    site.stop()                                              # the server is gone: what was fetched is still there
    capsys.readouterr()
    third, c3 = read_content_carry(sitemap, fetch=FetchOptions(delay=1))
    assert c3.fetch.tolist()[:2] == ["cached", "cached"]
    assert third.title.tolist()[:2] == second.title.tolist()[:2] == ["Tarifs", "Note de frais : que faire sans justificatif ? | Factureo"]
    assert third.body[0] == "Essentiel 19 € HT par mois."
    assert c3.fetch[2].startswith("failed: robots.txt unreachable (cannot connect")   # a failure is never cached
    assert "2 read from the cache" in capsys.readouterr().err


def test_sitemap_index_with_fetch_reads_remote_children(site, sleeps, tmp_path, capsys):
    index = tmp_path / "sitemap_index.xml"
    index.write_text(f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{site.base}/'
                     'page-sitemap.xml</loc></sitemap></sitemapindex>', encoding="utf-8")
    PAGES["/page-sitemap.xml"] = (f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{site.base}'
                                  '/tarifs/</loc></url></urlset>')
    try:
        inv, carry = read_content_carry(index, fetch=FetchOptions(delay=0))
    finally:
        PAGES.pop("/page-sitemap.xml")
    assert inv.title.tolist() == ["Tarifs"] and carry.fetch.tolist() == ["fetched"]
    assert carry.sitemap.tolist() == [f"{site.base}/page-sitemap.xml"]
    assert site.pages() == ["/page-sitemap.xml", "/tarifs/"]


def test_gaps_fetch_from_the_command_line(site, sleeps, runner, cli, tiny_model_dir, tmp_path):
    sitemap = _sitemap(tmp_path, site.base, ["/tarifs/", "/prive/tableau-de-bord", "/blog/note-de-frais-sans-justificatif"])
    res = runner.invoke(cli, ["gaps", "--content", str(sitemap), "--fetch", "--fetch-delay", "0.5", "--fetch-max", "10",
                              "--questions", str(QUESTIONS), "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    content = _csv(tmp_path / "r" / "content.csv")
    assert content.fetch.tolist() == ["fetched", "disallowed by robots.txt", "fetched"]
    assert content.title.tolist()[:2] == ["Tarifs", "Tableau de bord"]
    assert sleeps == [0.5, 0.5]
    assert "/prive/tableau-de-bord" not in site.pages()
