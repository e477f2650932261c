"""Content format: normalise a declared format (CMS exports say "Blog post", "Étude de cas"...) to a
format id, or detect it from front matter, title cues, CMS categories/tags, URL/path hints and the text.

A CMS object type (WordPress "post"/"page", Drupal "article") is not a format: a case study, a
webinar replay and a promotion are all WordPress posts. It is only a weak cue, used when nothing
else says what the piece is."""
from __future__ import annotations

import re

from ..textfold import fold_accents
from .schemes import formats

_SYNONYMS = {
    "blog_article": ["blog", "blog post", "blogpost", "article", "article de blog", "post", "listicle", "news", "actualite", "billet"],
    "guide": ["guide", "ebook", "e-book", "e book", "livre blanc", "white paper", "whitepaper", "checklist", "template", "modele", "kit"],
    "webinar": ["webinar", "webinaire", "seminar", "seminaire", "live", "masterclass", "replay"],
    "video": ["video", "youtube", "vlog"],
    "podcast": ["podcast", "episode"],
    "infographic": ["infographic", "infographie"],
    "social_post": ["social", "social post", "linkedin", "linkedin post", "post linkedin", "instagram", "tweet", "facebook post"],
    "newsletter": ["newsletter", "email", "e-mail", "mail", "emailing", "courriel", "nurturing email"],
    "case_study": ["case study", "case studies", "etude de cas", "cas client", "success story", "customer story", "histoire client"],
    "testimonial": ["testimonial", "temoignage", "review", "avis client", "customer review", "quote"],
    "comparison_page": ["comparison", "comparison page", "comparatif", "versus", "vs", "alternatives", "alternative"],
    "product_page": ["product", "product page", "page produit", "feature", "features", "fonctionnalites", "solution page", "service page"],
    "pricing_page": ["pricing", "pricing page", "prices", "tarifs", "tarif", "prix", "plans", "offres"],
    "demo_trial": ["demo", "free trial", "trial", "essai gratuit", "essai", "quote", "devis", "demande de devis", "demande de demo"],
    "promotion": ["promo", "promotion", "offer", "offre speciale", "discount", "sale", "soldes", "coupon", "code promo", "black friday"],
    "faq_help": ["faq", "help", "help article", "help center", "aide", "centre d'aide", "support", "knowledge base", "kb", "article d'aide"],
    "tutorial": ["tutorial", "tutoriel", "tuto", "documentation", "docs", "how-to", "how to guide", "mode d'emploi", "pas a pas"],
}


def _fold(s: str) -> str:
    return re.sub(r"[\s_/]+", " ", fold_accents(s)).strip()


_LOOKUP = {}
for fid, names in _SYNONYMS.items():
    _LOOKUP[_fold(fid)] = fid
    for n in names:
        _LOOKUP[_fold(n)] = fid


# Object types of CMS exports (WordPress Post Type, Drupal node type, Jekyll/Hugo layout), not formats.
CMS_TYPES = {"post": "blog_article", "posts": "blog_article", "article": "blog_article", "articles": "blog_article",
             "entry": "blog_article", "story": "blog_article", "page": "product_page",
             "pages": "product_page", "basic page": "product_page", "site page": "product_page",
             "landing page": "product_page", "node": "", "attachment": "", "revision": "", "nav menu item": "",
             "default": "", "single": ""}

# Category / tag / content-group names that say what a piece is. Words that are usually a topic
# in a blog's taxonomy ("Emailing", "Social media", "Produit", "Support") are left out on purpose.
_TAXONOMY = {
    "case_study": ["case study", "etude de cas", "cas client", "success story", "customer story", "histoire client",
                   "reference client", "references"],
    "webinar": ["webinar", "webinaire", "masterclass", "replay", "conference en ligne"],
    "testimonial": ["temoignage", "testimonial", "avis client"],
    "podcast": ["podcast"],
    "video": ["video"],
    "infographic": ["infographic", "infographie"],
    "guide": ["guide", "ebook", "e-book", "livre blanc", "white paper", "whitepaper"],
    "comparison_page": ["comparatif", "comparison"],
    "promotion": ["promo", "promotion", "offre speciale", "bon plan", "soldes", "black friday", "code promo"],
    "faq_help": ["faq", "aide", "help center", "centre d'aide", "knowledge base", "base de connaissance"],
    "tutorial": ["tutoriel", "tutorial", "tuto", "how to", "mode d'emploi", "documentation"],
    "newsletter": ["newsletter"],
    "blog_article": ["blog", "article", "actualite", "news", "billet", "blog post", "article de blog"],
}


def _singular(folded: str) -> str:
    out = []
    for w in folded.split():
        if len(w) > 4 and w.endswith("ies"):
            w = w[:-3] + "y"
        elif len(w) > 3 and w[-1] in "sx":
            w = w[:-1]
        out.append(w)
    return " ".join(out)


def _fold_tax(s: str) -> str:
    return _singular(re.sub(r"[^\w' -]+", " ", _fold(s)).replace("-", " ").strip())


_TAX_LOOKUP = {_fold_tax(n): fid for fid, names in _TAXONOMY.items() for n in names}


def cms_type(value) -> str | None:
    """The CMS object type a declared value names ("post", "Page", "basic_page"), or None."""
    v = _fold(value or "").replace("-", " ")
    return v if v in CMS_TYPES else None


def taxonomy_formats(value) -> list[tuple[str, str]]:
    """(format id, term) for each category / tag / content-group term that names a format.
    Terms are split on | , ; > (WordPress exports join categories with '|', hierarchies with '>')."""
    out = []
    for term in re.split(r"[|,;>/\n]+", str(value or "")):
        fid = _TAX_LOOKUP.get(_fold_tax(term))
        if fid:
            out.append((fid, term.strip()))
    return out


def normalise_format(value) -> str | None:
    """Map a declared format ("Blog post", "Étude de cas", "case_study") to a format id, or None."""
    if value is None:
        return None
    v = _fold(value)
    if not v:
        return None
    if v in _LOOKUP:
        return _LOOKUP[v]
    for fid, f in formats().items():
        if v in (_fold(f.label["en"]), _fold(f.label["fr"])):
            return fid
    return None


# Title / first-line cues, strongest first.
_TITLE_CUES = [
    ("webinar", r"^\s*\[?(webinar|webinaire|live|masterclass)\b|\b(webinar|webinaire)\b"),
    ("case_study", r"^\s*\[?(case study|étude de cas|etude de cas|cas client|success story)\b|\b(case study|étude de cas|success story)\b"),
    ("testimonial", r"^\s*\[?(témoignage|temoignage|testimonial)\b|\b(témoignage|testimonial)\b"),
    ("promotion", r"^\s*\[(promo|offre|sale|deal)\]|\b(promo|code promo|black friday|soldes|-\d{1,2} ?%|\d{1,2} ?% off)\b"),
    ("podcast", r"\b(podcast|épisode \d+|episode \d+)\b"),
    ("infographic", r"\b(infographi(c|e))\b"),
    ("video", r"^\s*\[?(vid[ée]o)\b|\b(en vid[ée]o|\(vid[ée]o\)|video:)"),
    ("comparison_page", r"\b(vs\.?|versus|comparatif|comparison|alternatives? (to|à))\b"),
    ("pricing_page", r"^\s*((nos|our|les) )?(pricing|tarifs?|prix|offres|plans?( and| et| &)? (pricing|tarifs))\b"),
    ("demo_trial", r"\b(book a demo|request a demo|free trial|essai gratuit|demandez? (une|votre) d[ée]mo|get a quote|demande de devis)\b"),
    ("guide", r"\b(guide|e-?book|livre blanc|white ?paper|checklist|template)\b"),
    ("tutorial", r"^\s*(tuto(riel|rial)?|how to|comment (faire|configurer|installer|paramétrer))\b|\b(step[- ]by[- ]step|pas à pas)\b"),
    ("faq_help", r"^\s*(faq|aide|help)\b|\b(frequently asked questions|questions fréquentes)\b"),
    ("newsletter", r"^\s*(newsletter|objet ?:|subject ?:)|\b(newsletter)\b"),
]
_URL_CUES = [
    ("blog_article", r"/(blog|actualites|news|articles?)/"),
    ("social_post", r"(linkedin\.com|instagram\.com|twitter\.com|x\.com|facebook\.com)/|/(linkedin|social|posts)/"),
    ("case_study", r"/(case-stud(y|ies)|etudes?-de-cas|clients?|customers?|success-stor(y|ies))/"),
    ("webinar", r"/(webinars?|webinaires?|events?)/"),
    ("faq_help", r"/(help|aide|support|faq|kb|knowledge-base|centre-d-aide|help-center)/"),
    ("pricing_page", r"/(pricing|tarifs?|prix|plans)(/|$|\.)"),
    ("demo_trial", r"/(demo|trial|essai|devis|quote)(/|$|\.)"),
    ("tutorial", r"/(docs?|documentation|tutorials?|tutoriels?|guides?/how)/"),
    ("podcast", r"/podcasts?/"),
    ("video", r"/videos?/"),
    ("comparison_page", r"/(compare|comparatif|vs|alternatives?)/|-vs-"),
    ("product_page", r"/(product|produit|features?|fonctionnalites|solutions?)/"),
    ("guide", r"/(guides?|ebooks?|livres-blancs|white-?papers?|ressources|resources)/"),
]
_TITLE_RX = [(f, re.compile(rx, re.I)) for f, rx in _TITLE_CUES]
_URL_RX = [(f, re.compile(rx, re.I)) for f, rx in _URL_CUES]
_META_KEYS = ("content_format", "format", "type", "content_type", "layout", "category", "categorie")


def detect_format(title: str = "", text: str = "", url: str = "", meta: dict | None = None,
                  taxonomy: str = "", object_type: str = "") -> tuple[str, str]:
    """Return (format id, why). Declared metadata wins, then the title, the categories/tags
    (``taxonomy``), the URL/path, the text; a blog-like category, then the CMS object type
    (``object_type``: post, page...) are weak cues used only when nothing else is found."""
    weak_type = ""
    for key in _META_KEYS:
        if meta and meta.get(key):
            if cms_type(meta[key]) is not None:   # layout: post, type: page — an object type, not a format
                weak_type = weak_type or f"front matter {key}: {meta[key]}"
                continue
            fid = normalise_format(meta[key])
            if fid:
                return fid, f"front matter {key}: {meta[key]}"
    for fid, rx in _TITLE_RX:
        m = rx.search(title or "")
        if m:
            return fid, f"title: '{m.group(0).strip()}'"
    tax = taxonomy_formats(taxonomy)
    for fid, term in tax:
        if fid != "blog_article":
            return fid, f"category: {term}"
    path = (url or "").lower()
    for fid, rx in _URL_RX:
        if rx.search(path if path.endswith("/") else path + "/"):
            return fid, f"path: {url}"
    head = (text or "")[:600]
    for fid, rx in _TITLE_RX:
        m = rx.search(head)
        if m and fid not in ("comparison_page", "guide", "video"):
            return fid, f"text: '{m.group(0).strip()}'"
    for fid, term in tax:
        return fid, f"category: {term}"
    t = cms_type(object_type)
    if t and CMS_TYPES[t]:
        return CMS_TYPES[t], f"weak cue: CMS type {object_type}"
    if weak_type:
        t = cms_type(weak_type.split(": ", 1)[1])
        if t and CMS_TYPES[t]:
            return CMS_TYPES[t], f"weak cue: {weak_type}"
    return "blog_article", "default (no format cue found)"
