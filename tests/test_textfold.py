"""One accent-folding function (contentplan.textfold.fold_accents): every place that folded text its
own way now goes through it, and gives the same output as before on French (and English) text.

The reference functions below are the helpers as they were before #13, copied verbatim."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

from contentplan.domain.personas import _fold as personas_fold
from contentplan.domain.schemes import label_key
from contentplan.io.tables import column_key as tables_norm
from contentplan.model.runtime import _preprocess
from contentplan.textfold import fold_accents
from contentplan.training.corpus import normalise
from contentplan.training.noise import flatten

ROOT = Path(__file__).resolve().parent.parent


def old_textfold(text) -> str:
    s = unicodedata.normalize("NFKD", str(text).lower().replace("’", "'"))
    return "".join(c for c in s if not unicodedata.combining(c))


def old_runtime(text: str) -> str:
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def old_rules(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s.lower()) if not unicodedata.combining(c))


def old_personas(s: str) -> str:
    return re.sub(r"[\u0300-\u036f]", "", unicodedata.normalize("NFKD", s.lower()))


def old_corpus(text: str) -> str:
    t = unicodedata.normalize("NFKD", str(text).lower())
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def old_tables(name: str) -> str:
    s = unicodedata.normalize("NFKD", str(name).lower())
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r"[^a-z0-9.]+", " ", s).replace(".", "")
    return re.sub(r"\s+", " ", s).strip()


def old_flatten(text: str) -> str:
    text = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'-]", " ", text)).strip()


def old_label_key(text) -> str:
    t = unicodedata.normalize("NFKD", str(text).strip().lower())
    return "".join(c for c in t if c.isalnum())


HANDMADE = [
    "", " ", "Études de cas", "ÉTÉ À L’ÎLE", "Qu’est-ce qu'un CRM ?", "cœur, Œuvre, æsthète, ÆON", "naïve façade",
    "Noël à Saint-Étienne", "ﬁche ﬂash", "½ prix — 10 €", "Ça coûte combien ?", "Post-Purchase", "post_purchase",
    "Après-achat", "Décision", "hôtel  crêpe\tgâteau\nsœur", "emoji 🚀 et «guillemets»", "Größe", "ÀÉÎÕÜ àéîõü ÿ",
    "l’entreprise d’aujourd’hui", "CPC moyen (€)", "Volume de recherche", "Difficulté du mot-clé",
]


def french_samples(limit: int = 400) -> list[str]:
    """Titles, questions and the start of bodies of the French corpus items (handmade strings when
    the corpus is not there)."""
    out = list(HANDMADE)
    for path in sorted((ROOT / "corpora" / "train").glob("*.jsonl"))[:12]:
        for line in path.read_text(encoding="utf-8").splitlines()[:60]:
            item = json.loads(line)
            if item.get("lang") == "fr":
                out += [item.get(k, "")[:400] for k in ("text", "title", "body") if item.get(k)]
    return out[:limit]


SAMPLES = french_samples()
PAIRS = [
    ("textfold", fold_accents, old_textfold),
    ("runtime features", _preprocess, old_runtime),
    ("rules brands", lambda s: fold_accents(s, apostrophe=False), old_rules),
    ("personas", personas_fold, old_personas),
    ("corpus near-duplicates", normalise, old_corpus),
    ("column names", tables_norm, old_tables),
    ("noise", flatten, old_flatten),
    ("scheme labels", label_key, old_label_key),
]


def test_the_samples_are_french_text():
    assert len(SAMPLES) > 100 or not (ROOT / "corpora" / "train").is_dir()
    assert sum(any(c in s for c in "éèàçù") for s in SAMPLES) > 10


@pytest.mark.parametrize("name,new,old", PAIRS, ids=[p[0] for p in PAIRS])
def test_same_output_as_the_helper_it_replaced(name, new, old):
    diffs = [(s, new(s), old(s)) for s in SAMPLES if new(s) != old(s)]
    assert diffs == [], f"{name}: {diffs[:3]}"


def test_one_folding_function_in_the_package():
    """No module but textfold.py strips combining marks itself."""
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "contentplan").rglob("*.py")
                 if p.name != "textfold.py" and ("unicodedata.combining" in p.read_text(encoding="utf-8")
                                                 or "\\u0300-\\u036f" in p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_one_stop_word_source():
    """Stop-word lists live in contentplan/stopwords.py only; the explanation list is the shorter one."""
    from contentplan.stopwords import FUNCTION_WORDS, STOP_WORDS
    assert FUNCTION_WORDS < STOP_WORDS and {"comment", "combien", "pourquoi"} <= STOP_WORDS - FUNCTION_WORDS
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "contentplan").rglob("*.py")
                 if p.name != "stopwords.py" and re.search(r"_?STOP\w* = frozenset\(", p.read_text(encoding="utf-8"))]
    assert offenders == []
