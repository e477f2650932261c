"""Content format: normalise a declared format (CMS exports say "Blog post", "Étude de cas"...) to a
format id, or detect it from front matter, title cues, URL/path hints and the text."""
from __future__ import annotations

import re
import unicodedata

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
    s = unicodedata.normalize("NFKD", str(s).lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[\s_/]+", " ", s.replace("’", "'")).strip()


_LOOKUP = {}
for fid, names in _SYNONYMS.items():
    _LOOKUP[_fold(fid)] = fid
    for n in names:
        _LOOKUP[_fold(n)] = fid


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


def detect_format(title: str = "", text: str = "", url: str = "", meta: dict | None = None) -> tuple[str, str]:
    """Return (format id, why). Declared metadata wins, then the title, the URL/path, then the text."""
    for key in _META_KEYS:
        if meta and meta.get(key):
            fid = normalise_format(meta[key])
            if fid:
                return fid, f"front matter {key}: {meta[key]}"
    for fid, rx in _TITLE_RX:
        m = rx.search(title or "")
        if m:
            return fid, f"title: '{m.group(0).strip()}'"
    path = (url or "").lower()
    for fid, rx in _URL_RX:
        if rx.search(path if path.endswith("/") else path + "/"):
            return fid, f"path: {url}"
    head = (text or "")[:600]
    for fid, rx in _TITLE_RX:
        m = rx.search(head)
        if m and fid not in ("comparison_page", "guide", "video"):
            return fid, f"text: '{m.group(0).strip()}'"
    return "blog_article", "default (no format cue found)"
