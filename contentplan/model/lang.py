"""Fast language identification for French / English / other.

Short search queries defeat general-purpose detectors, so this uses what marks each language in
short commercial text: function words, frequent query words, accents and elisions. It costs a few
microseconds per text.
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from importlib import resources

_FR = set("""
le la les un une des du de d l au aux et ou est sont pour par sur dans avec sans ce cet cette ces mon ma mes
ton ta tes son sa ses notre nos votre vos leur leurs je tu il elle nous vous ils elles on qui que quoi quel quelle
quels quelles comment pourquoi combien quand où ou est-ce pas ne plus moins très tres faut faire peut peux
veux voudrais souhaite avoir être etre chez entre vers après apres avant depuis pendant selon comme aussi
mais donc car si alors bonjour merci svp stp cordialement salut oui non
prix tarif tarifs devis gratuit gratuite meilleur meilleure meilleurs avis comparatif livraison commande commander
acheter achat abonnement résilier resilier remboursement panne logiciel entreprise entreprises fournisseur
formation assurance banque voiture maison chauffage pompe chaleur panneaux solaires travaux location logement
crédit credit prêt pret mutuelle devis essai démo demo rendez-vous rdv facture paiement compte mot passe
nouveau nouvelle client clients offre offres remise promo code parrainage fidélité fidelite renouveler
installer installation paramétrer parametrer configurer mise service garantie retour colis reçu recu
qu'est-ce c'est n'est j'ai qu'il d'un d'une l'entreprise quelle s'il
""".split())
_EN = set("""
the a an and or is are was were be been for of to in on at by with without from this that these those my your
our their his her its we you they i me it what which who whom why how when where can could should would will
do does did not no yes please thanks hi hello there any some more most best better than vs versus
price prices pricing cost costs cheap cheapest free trial demo quote review reviews compare comparison buy
order delivery shipping subscription cancel refund broken software company companies supplier provider
training insurance bank car home house heating pump solar panels rent loan account password invoice payment
new customer customers offer offers discount coupon referral loyalty renew install setup set up configure
warranty return package received near me online guide tips vs alternative alternatives
""".split())
_WORD = re.compile(r"[a-zàâäçéèêëîïôöùûüÿœæ'’-]+")
_FR_CHARS = re.compile(r"[àâçéèêëîïôùûüœ]")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[a-zàâäçéèêëîïôöùûüÿœæ]")


PROFILE_FILE = "lang_ngrams.json"


def _grams(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text):
        w = f" {w} "
        for n in (1, 2, 3, 4):
            out.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return out


@functools.cache
def _profiles() -> dict | None:
    try:
        raw = resources.files("contentplan").joinpath("data").joinpath(PROFILE_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    return json.loads(raw)


def build_profiles(texts_by_lang: dict[str, list[str]], top: int = 4000) -> dict:
    """Character n-gram log-probabilities per language (a naive Bayes model), from labeled texts."""
    out = {}
    for lang, texts in texts_by_lang.items():
        counts = Counter(g for t in texts for g in _grams(t.lower()))
        total = sum(counts.values()) + len(counts)
        kept = dict(counts.most_common(top))
        out[lang] = {"unk": math.log(1 / total), "grams": {g: round(math.log((c + 1) / total), 4) for g, c in kept.items()}}
    return out


@functools.lru_cache(maxsize=200000)
def _word_margin(word: str) -> float:
    """log P(fr) - log P(en) of one word's character n-grams (cached: queries reuse words)."""
    prof = _profiles()
    fr, en = prof["fr"], prof["en"]
    w = f" {word} "
    score = 0.0
    for n in (1, 2, 3, 4):
        for i in range(len(w) - n + 1):
            g = w[i:i + n]
            score += fr["grams"].get(g, fr["unk"]) - en["grams"].get(g, en["unk"])
    return score


_ELISIONS = ("l", "d", "j", "qu", "c", "n", "s", "m", "t")


@functools.lru_cache(maxsize=200000)
def _word_score(w: str) -> float:
    """One word's vote, French > 0 > English: function-word and query-word cues, elisions and
    accents count most; the n-gram model decides words without cues."""
    cue = w.replace("’", "'")
    fr = 1.0 if cue in _FR or ("'" in cue and cue.split("'")[0] in _ELISIONS) else 0.0
    en = 1.0 if cue in _EN else 0.0
    fr += 0.7 * len(_FR_CHARS.findall(w))
    return 2.0 * (fr - en) + 0.15 * (_word_margin(w) if _profiles() else 0.0)


def detect_lang(text: str) -> str:
    """Return 'fr', 'en' or 'other' (no latin-script letters)."""
    if not isinstance(text, str) or not _LETTER.search(text):
        return "other"
    low = text.lower()[:2000]
    words = _WORD.findall(low)
    if not words:
        return "other"
    letters = len(_LETTER.findall(low))
    latin = len(_LATIN.findall(low))
    if latin / letters < 0.5:
        return "other"
    return "fr" if sum(map(_word_score, words)) > 0 else "en"


def save_profiles(profiles: dict):
    """Write ``profiles`` (from :func:`build_profiles`) as the shipped profile file; returns its path."""
    from pathlib import Path

    out = Path(__file__).resolve().parent.parent / "data" / PROFILE_FILE
    out.write_text(json.dumps(profiles, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    _profiles.cache_clear()
    return out
