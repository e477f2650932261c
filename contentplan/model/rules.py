"""Cue-word rules: the baseline SEO tools use (keyword-intent labels from trigger words), and the
navigational-intent detector used by ``classify``.

The baseline maps each text to a canonical stage from ordered FR/EN cue lists; the first list that
matches wins. It is what ``contentplan evaluate`` compares the model against.
"""
from __future__ import annotations

import re

from ..textfold import fold_accents

# Ordered: post-purchase and transactional cues are more specific than informational ones.
_RULES: list[tuple[str, str]] = [
    ("advocacy", r"\b(refer|referral|parrain\w*|ambassad\w*|leave a review|laisser un avis|recommend(er)? (a|à) un|testimonial)\b"),
    ("support", r"\b(not working|doesn'?t work|broken|error|bug|crash\w*|refund|rembours\w*|panne|ne marche pas|ne fonctionne pas|erreur|colis|where is my order|return|retour|sav|warranty claim|garantie|can'?t log ?in|mot de passe oubli\w*|forgot password)\b"),
    ("loyalty", r"\b(cancel\w*|r[ée]sili\w*|renew\w*|renouvel\w*|upgrade|changer de (formule|forfait|offre)|loyalty|fid[ée]lit[ée]|points)\b"),
    ("onboarding", r"\b(set ?up|install\w*|configur\w*|param[ée]tr\w*|getting started|first steps|premiers pas|activate|activer|import (my|mes)|login|connexion|se connecter|mon compte|my account)\b"),
    ("purchase", r"\b(buy|acheter|achat|order|commander|commande|delivery|livraison|shipping|checkout|in stock|en stock|payment|paiement|pay|payer|where to buy|o[uù] acheter)\b"),
    ("offer", r"\b(price|prices|pricing|cost|costs|how much|cheap\w*|prix|tarif\w*|co[uû]t\w*|combien|devis|quote|free trial|essai gratuit|demo|d[ée]mo|discount|coupon|promo\w*|remise|r[ée]duction|gratuit|free)\b"),
    ("vendor", r"\b(best|top|vs|versus|review\w*|avis|compar\w*|meilleur\w*|alternative\w*|leader|classement|ranking|rated)\b"),
    ("solution", r"\b(how to|how do|how can|comment|best practices|bonnes pratiques|tips|conseils|astuces|guide|m[ée]thode|method|strat[ée]gie|strategy|choisir|choose|checklist)\b"),
    ("problem", r"\b(what is|what are|why|pourquoi|qu'?est[- ]ce|c'?est quoi|d[ée]finition|meaning|signification|causes?|symptom\w*|risques?|risks?)\b"),
]
_COMPILED = [(stage, re.compile(rx, re.I)) for stage, rx in _RULES]


def _fold(text: str) -> str:
    return text.replace("’", "'")


def rule_stage(text: str) -> str:
    """Canonical stage from cue words; 'problem' (informational) when no cue matches."""
    t = _fold(text or "")
    for stage, rx in _COMPILED:
        if rx.search(t):
            return stage
    return "problem"


_URL = re.compile(r"(https?://|www\.|\b[\w-]+\.(com|fr|io|net|org|co|eu|be|ch|ca|de|app|shop)\b)", re.I)
_NAV = re.compile(r"\b(log ?in|sign ?in|se connecter|connexion|espace client|mon compte|my account|customer portal|"
                  r"site officiel|official site|website|site web|homepage|page d'accueil|contact|num[ée]ro|phone number|"
                  r"horaires|opening hours|adresse|address|app download|t[ée]l[ée]charger l'app)\b", re.I)
_QUESTIONISH = re.compile(r"\b(how|why|what|which|best|vs|review|price|cost|comment|pourquoi|quel\w*|avis|prix|tarif|combien)\b|\?", re.I)


def is_navigational(text: str, brands: tuple[str, ...] = ()) -> bool:
    """A query that tries to reach a known site or page rather than learn or buy."""
    t = _fold(text or "").strip()
    if not t:
        return False
    words = t.split()
    if _URL.search(t) and len(words) <= 4:
        return True
    if _NAV.search(t) and len(words) <= 5 and not _QUESTIONISH.search(t):
        return True
    if not brands:
        return False
    low = fold_accents(t, apostrophe=False)
    if any(b and fold_accents(b, apostrophe=False) in low for b in brands):
        rest = low
        for b in brands:
            rest = rest.replace(fold_accents(b, apostrophe=False), " ")
        rest_words = rest.split()
        if len(rest_words) <= 2 and not _QUESTIONISH.search(t):
            return True
    return False
