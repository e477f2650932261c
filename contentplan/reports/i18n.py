"""The gap report in French or English: display names (stages from the scheme, personas from the
personas file, formats from formats.yaml), the report's own words, and numbers, percentages and
dates written as each language writes them (``1 652 430``, ``37 %``, ``6 déc. 2026`` /
``1,652,430``, ``37%``, ``6 Dec 2026``). Small and local: no locale database is needed for two languages."""
from __future__ import annotations

import datetime as _dt
import math
from collections import Counter
from collections.abc import Iterable

LANGS = ("en", "fr")
NBSP, NNBSP = "\u00a0", "\u202f"   # before '%' and ':' in French; the thousands separator (as CLDR writes French)

_MONTHS = {"en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
           "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."]}


def check_lang(lang: str | None) -> str | None:
    if lang is not None and lang not in LANGS:
        from ..errors import InputError
        raise InputError(f"report language '{lang}' is not supported; use one of {', '.join(LANGS)}")
    return lang


def dominant_lang(langs: Iterable[str]) -> str:
    """The language most of the texts are in ('fr' or 'en'; English on a tie or with neither)."""
    c = Counter(x for x in langs if x in LANGS)
    return "fr" if c["fr"] > c["en"] else "en"


def _group(digits: str, sep: str) -> str:
    out = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return sep.join(out)


def fmt_num(x, lang: str = "en", decimals: int | None = None) -> str:
    """A number for a reader: thousands grouped, whole numbers without decimals, others with one
    (or ``decimals``); '' for a missing value."""
    if x is None or x == "":
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return ""
    if decimals is None:
        decimals = 0 if abs(v - round(v)) < 1e-9 or abs(v) >= 1000 else 1
    s = f"{abs(v):.{decimals}f}"
    whole, _, frac = s.partition(".")
    sep, point = (NNBSP, ",") if lang == "fr" else (",", ".")
    out = _group(whole, sep) + (point + frac if frac else "")
    return ("-" if v < 0 and float(s) != 0 else "") + out


def fmt_pct(x, lang: str = "en", decimals: int = 0) -> str:
    """A share (0.37) as a percentage ('37 %' / '37%'); a non-zero share that rounds to 0 is '<1 %';
    '—' for a missing one (no demand: coverage undefined)."""
    if x is None or x == "":
        return "—"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "—"
    sp = NBSP if lang == "fr" else ""
    pct = 100 * v
    if 0 < pct < 0.5 * 10 ** -decimals:
        return f"<{fmt_num(10 ** -decimals, lang, decimals)}{sp}%"
    return f"{fmt_num(pct, lang, decimals)}{sp}%"


def fmt_date(d, lang: str = "en") -> str:
    """'6 déc. 2026' / '6 Dec 2026' for a date or an ISO date string; other text is returned as is."""
    if isinstance(d, str):
        try:
            d = _dt.date.fromisoformat(d[:10])
        except ValueError:
            return d
    if isinstance(d, _dt.datetime):
        d = d.date()
    if not isinstance(d, _dt.date):
        return "" if d is None else str(d)
    return f"{d.day} {_MONTHS['fr' if lang == 'fr' else 'en'][d.month - 1]} {d.year}"


# The report's own words. Keys are short names; values may hold str.format fields.
TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Content gap report", "fr": "Rapport des manques de contenu"},
    "lead": {"en": "{n_q} questions, {n_c} content pieces, scheme {scheme}",
             "fr": "{n_q} questions, {n_c} contenus, modèle {scheme}"},
    "lead_counts": {"en": "{n_q} questions, {n_c} content pieces.", "fr": "{n_q} questions, {n_c} contenus."},
    "kpi_answered": {"en": "of demand answered by existing content", "fr": "de la demande a déjà une réponse"},
    "kpi_gap": {"en": "of demand left unanswered", "fr": "de la demande reste sans réponse"},
    "kpi_briefs": {"en": "briefs to write", "fr": "contenus à écrire"},
    "kpi_over": {"en": "pieces answer no question", "fr": "contenus ne répondent à aucune question"},
    "kpi_cross": {"en": "questions answered in the other language", "fr": "questions ont une réponse dans l'autre langue"},
    "how_title": {"en": "How to read this report", "fr": "Comment lire ce rapport"},
    "def_demand": {"en": "Demand: how many people ask. {how}",
                   "fr": "Demande : combien de personnes posent la question. {how}"},
    "demand_volume": {"en": "Each question counts its search volume (impressions or monthly searches; a question without volume counts as the median question).",
                      "fr": "Chaque question compte son volume de recherche (impressions ou recherches mensuelles ; une question sans volume compte comme la question médiane)."},
    "demand_count": {"en": "Each question counts once (the inputs have no volume).",
                     "fr": "Chaque question compte pour un (les fichiers n'ont pas de volume)."},
    "def_answered": {"en": "Answered: the question's best page, of any stage (its words, title and URL, and its meaning), is likely enough to answer it (P(answered) ≥ {th}). {src}",
                     "fr": "Avec réponse : la meilleure page pour la question, de n'importe quelle étape (ses mots, son titre et son URL, et son sens), a assez de chances d'y répondre (P(réponse) ≥ {th}). {src}"},
    "th_calibrated": {"en": "Probability calibrated on questions written for real pages, judged by two annotators.",
                      "fr": "Probabilité calibrée sur des questions écrites pour de vraies pages, jugées par deux annotateurs."},
    "th_measured": {"en": "On held-out real pages, at this setting ({setting}), {p} of the questions called answered are, and {r} of the answerable ones are found.",
                    "fr": "Sur des pages réelles mises de côté, à ce réglage ({setting}), {p} des questions dites avec réponse le sont, et {r} de celles qui ont une réponse sont trouvées."},
    "th_given": {"en": "Threshold given for this run.", "fr": "Seuil choisi pour ce rapport."},
    "th_default": {"en": "Calibration fitted for another embedder than this model's (none on record for it).",
                   "fr": "Calibrage fait pour un autre encodeur que celui de ce modèle (aucun pour lui)."},
    "def_mismatch": {"en": "Stage mismatch: {n} answered question(s) are answered by a page written for another stage (stage_mismatch in questions.csv).",
                     "fr": "Étape différente : {n} question(s) avec réponse le sont par une page écrite pour une autre étape (stage_mismatch dans questions.csv)."},
    "def_coverage": {"en": "Coverage: the share of a cell's demand that is answered.",
                     "fr": "Couverture : la part de la demande d'une case qui a une réponse."},
    "def_gap": {"en": "Gap: the unanswered demand of a cell, as a share of all demand; the gaps of all cells add up to the share of demand left unanswered ({gap}).",
                "fr": "Manque : la demande sans réponse d'une case, en part de toute la demande ; les manques de toutes les cases font ensemble la part de la demande restée sans réponse ({gap})."},
    "def_supply": {"en": "Pieces: the content pieces classified at that stage for that persona.",
                   "fr": "Contenus : les contenus classés à cette étape pour ce persona."},
    "def_uncounted": {"en": "Not counted: {qu} question(s) and {cu} piece(s) too uncertain to place, {qn} question(s) and {cn} piece(s) on no buyer journey (see questions.csv, content.csv).",
                      "fr": "Non comptés : {qu} question(s) et {cu} contenu(s) trop incertains pour être placés, {qn} question(s) et {cn} contenu(s) hors parcours d'achat (voir questions.csv, content.csv)."},
    "heatmap": {"en": "Where the gaps are: stage × persona", "fr": "Où sont les manques : étape × persona"},
    "heatmap_note": {"en": "Each cell: gap (large), then demand, content pieces and coverage. Darker red = bigger gap.",
                     "fr": "Chaque case : manque (en grand), puis demande, contenus et couverture. Plus le rouge est foncé, plus le manque est grand."},
    "stage": {"en": "Stage", "fr": "Étape"},
    "persona": {"en": "Persona", "fr": "Persona"},
    "gap": {"en": "Gap", "fr": "Manque"},
    "demand": {"en": "Demand", "fr": "Demande"},
    "pieces": {"en": "Pieces", "fr": "Contenus"},
    "coverage": {"en": "Coverage", "fr": "Couverture"},
    "questions": {"en": "Questions", "fr": "Questions"},
    "n_pieces": {"en": "{n}\u00a0piece(s)", "fr": "{n}\u00a0contenu(s)"},
    "chart": {"en": "Demand and supply per stage", "fr": "Demande et offre par étape"},
    "chart_note": {"en": "Both as a share of their own total, so the bars compare: demand = share of all demand, answered = share of all demand that is answered, pieces = share of all content pieces.",
                   "fr": "Chacune en part de son propre total, pour que les barres se comparent : demande = part de toute la demande, avec réponse = part de toute la demande qui a une réponse, contenus = part de tous les contenus."},
    "chart_axis": {"en": "Share of its own total", "fr": "Part de son propre total"},
    "chart_demand": {"en": "demand", "fr": "demande"},
    "chart_answered": {"en": "answered demand", "fr": "demande avec réponse"},
    "chart_pieces": {"en": "content pieces", "fr": "contenus"},
    "briefs": {"en": "What to write next", "fr": "Quoi écrire ensuite"},
    "briefs_note": {"en": "Topics nobody answers yet, ranked by unanswered demand. The top {n} are shown here; briefs.csv and report.xlsx hold all {total}.",
                    "fr": "Les sujets encore sans réponse, classés par demande sans réponse. Les {n} premiers sont ici ; briefs.csv et report.xlsx les contiennent tous ({total})."},
    "briefs_none": {"en": "No unanswered topic: every question has matching content.",
                    "fr": "Aucun sujet sans réponse : chaque question a un contenu qui lui répond."},
    "brief_who": {"en": "For", "fr": "Pour"},
    "brief_at": {"en": "at stage", "fr": "à l'étape"},
    "brief_format": {"en": "Format", "fr": "Format"},
    "brief_why": {"en": "Why", "fr": "Pourquoi"},
    "brief_asked": {"en": "Questions asked", "fr": "Questions posées"},
    "brief_closest": {"en": "Closest existing piece", "fr": "Contenu existant le plus proche"},
    "why_demand": {"en": "{n} unanswered question(s), demand {d} ({share} of all demand); this cell has {pieces} and {cov} coverage.",
                   "fr": "{n} question(s) sans réponse, demande {d} ({share} de toute la demande) ; cette case a {pieces} et une couverture de {cov}."},
    "why_closest": {"en": "“{title}” is the closest piece at this stage, but unlikely to answer (P(answered) {sim}, below {th}).",
                    "fr": "« {title} » est le contenu le plus proche à cette étape, mais a peu de chances d'y répondre (P(réponse) {sim}, sous {th})."},
    "why_closest_other": {"en": "The closest piece, “{title}”, is written for the {stage} stage and unlikely to answer (P(answered) {sim}, below {th}).",
                          "fr": "Le contenu le plus proche, « {title} », est écrit pour l'étape {stage} et a peu de chances d'y répondre (P(réponse) {sim}, sous {th})."},
    "why_other_stage": {"en": "No piece at this stage; the closest piece, “{title}”, is written for the {stage} stage.",
                        "fr": "Aucun contenu à cette étape ; le plus proche, « {title} », est écrit pour l'étape {stage}."},
    "why_nothing": {"en": "No content piece comes close.", "fr": "Aucun contenu n'en est proche."},
    "navigational_topic": {"en": "Searches for a name or site only: “{q}”", "fr": "Recherches d'un nom ou d'un site seul : « {q} »"},
    "more_briefs": {"en": "The other {n} briefs", "fr": "Les {n} autres sujets"},
    "formats": {"en": "Formats per stage", "fr": "Formats par étape"},
    "formats_present": {"en": "Formats present", "fr": "Formats présents"},
    "formats_recommended": {"en": "Recommended", "fr": "Recommandés"},
    "formats_missing": {"en": "Missing", "fr": "Manquants"},
    "mismatches": {"en": "Formats that do not fit their stage", "fr": "Formats inadaptés à leur étape"},
    "mm_note_fit": {"en": "{k} of {n} piece(s) of this stage use a format that does not serve it.",
                    "fr": "{k} contenu(s) sur {n} de cette étape utilisent un format qui ne la sert pas."},
    "mm_note_none": {"en": "No piece of this stage uses a recommended format.",
                     "fr": "Aucun contenu de cette étape n'utilise un format recommandé."},
    "mm_serve": {"en": "Formats that serve it", "fr": "Formats qui la servent"},
    "over": {"en": "Content that answers no question", "fr": "Contenus qui ne répondent à aucune question"},
    "over_note": {"en": "Off-topic pieces, or a stage nobody asks about. Similarity: the closest question in meaning.",
                  "fr": "Contenus hors sujet, ou une étape sur laquelle personne ne pose de question. Similarité : la question la plus proche par le sens."},
    "unanswered": {"en": "Unanswered questions", "fr": "Questions sans réponse"},
    "unanswered_note": {"en": "The {n} with most demand, of {total}; questions.csv holds every question.",
                        "fr": "Les {n} qui ont le plus de demande, sur {total} ; questions.csv contient toutes les questions."},
    "show_all": {"en": "The other {n} rows", "fr": "Les {n} autres lignes"},
    "none": {"en": "None.", "fr": "Aucun."},
    "title_col": {"en": "Title", "fr": "Titre"},
    "format": {"en": "Format", "fr": "Format"},
    "similarity": {"en": "Similarity", "fr": "Similarité"},
    "p_answered": {"en": "P(answered)", "fr": "P(réponse)"},
    "question": {"en": "Question", "fr": "Question"},
    "volume": {"en": "Volume", "fr": "Volume"},
    "closest_content": {"en": "Closest content", "fr": "Contenu le plus proche"},
    "note": {"en": "Note", "fr": "Remarque"},
    "topic": {"en": "Topic", "fr": "Sujet"},
    "rank": {"en": "#", "fr": "N°"},
    "languages": {"en": "Languages", "fr": "Langues"},
    "generated": {"en": "Generated by contentplan {version} on {date}, model {model}.",
                  "fr": "Produit par contentplan {version} le {date}, modèle {model}."},
    "cells": {"en": "Biggest gaps (stage × persona)", "fr": "Plus grands manques (étape × persona)"},
    "summary_sheet": {"en": "Summary", "fr": "Synthèse"},
    "headline": {"en": "Headline figures", "fr": "Chiffres clés"},
    "top_briefs": {"en": "Top briefs", "fr": "Premiers sujets à écrire"},
    "answered_share": {"en": "Share of demand answered", "fr": "Part de la demande avec réponse"},
    "unanswered_share": {"en": "Share of demand unanswered", "fr": "Part de la demande sans réponse"},
    "n_questions": {"en": "Questions", "fr": "Questions"},
    "n_content": {"en": "Content pieces", "fr": "Contenus"},
    "n_briefs": {"en": "Briefs", "fr": "Sujets à écrire"},
    "threshold": {"en": "Match threshold (P(answered))", "fr": "Seuil de réponse (P(réponse))"},
    "scheme": {"en": "Scheme", "fr": "Modèle d'étapes"},
    "generated_on": {"en": "Generated on", "fr": "Produit le"},
    "all_personas": {"en": "All", "fr": "Tous"},
    "unassigned": {"en": "Unassigned", "fr": "Non attribué"},
    "unclear": {"en": "Unclear", "fr": "Incertain"},
    "no_journey": {"en": "No journey", "fr": "Hors parcours"},
    # CLI summary
    "cli_head": {"en": "{n_q} questions, {n_c} content pieces, scheme {scheme}; {share} of demand answered (match threshold {th})",
                 "fr": "{n_q} questions, {n_c} contenus, modèle {scheme} ; {share} de la demande a une réponse (seuil {th})"},
    "cli_mismatch": {"en": "  {n} answered question(s) matched a page written for another stage: check them (stage_mismatch, p_answered in questions.csv)",
                     "fr": "  {n} question(s) avec réponse le sont par une page écrite pour une autre étape : à vérifier (stage_mismatch, p_answered dans questions.csv)"},
    "cli_uncounted": {"en": "  not counted: {qu} question(s) unclear, {qn} on no journey; {cu} piece(s) unclear, {cn} on no journey (see questions.csv, content.csv)",
                      "fr": "  non comptés : {qu} question(s) incertaine(s), {qn} hors parcours ; {cu} contenu(s) incertain(s), {cn} hors parcours (voir questions.csv, content.csv)"},
    "cli_gap": {"en": "  gap {gap:>5}  {stage} x {persona}: demand {demand}, {pieces}, coverage {cov}",
                "fr": "  manque {gap:>6}  {stage} x {persona} : demande {demand}, {pieces}, couverture {cov}"},
    "cli_brief": {"en": "  brief #{rank}: [{stage} / {persona}] {topic} -> {formats}",
                  "fr": "  sujet n°{rank} : [{stage} / {persona}] {topic} -> {formats}"},
    "cli_renamed": {"en": "  input columns renamed (a report column has the same name): {what}",
                    "fr": "  colonnes d'entrée renommées (une colonne du rapport porte le même nom) : {what}"},
}


def colon(lang: str = "en") -> str:
    """': ' in English, ' : ' (a no-break space before) in French."""
    return f"{NBSP}: " if lang == "fr" else ": "


def t(key: str, lang: str = "en", **fields) -> str:
    """The report's text ``key`` in ``lang``, its fields filled."""
    entry = TEXT[key]
    s = entry.get(lang) or entry["en"]
    return s.format(**fields) if fields else s


class Labels:
    """Display names in one language: stages (the scheme's labels), personas (the personas file's
    names), formats (formats.yaml); an unknown id is shown as it is."""

    def __init__(self, scheme, personas=(), lang: str = "en"):
        from ..domain.schemes import formats
        self.lang = lang
        self._stages = {s.id: s for s in scheme.stages}
        self._personas = {p.id: p for p in personas}
        self._formats = formats()

    def stage(self, sid) -> str:
        sid = str(sid)
        if sid in self._stages:
            return self._stages[sid].label.get(self.lang) or self._stages[sid].label.get("en") or sid
        return {"unclear": t("unclear", self.lang), "none": t("no_journey", self.lang)}.get(sid, sid)

    def persona(self, pid) -> str:
        pid = str(pid)
        if pid in self._personas:
            return self._personas[pid].label(self.lang)
        return {"unassigned": t("unassigned", self.lang), "all": t("all_personas", self.lang)}.get(pid, pid)

    def format(self, fid) -> str:
        f = self._formats.get(str(fid))
        return (f.label.get(self.lang) or f.label.get("en") or f.id) if f else str(fid)

    def formats(self, ids) -> str:
        """'pricing_page, demo_trial' -> 'Page tarifs, Démo / essai gratuit'."""
        if isinstance(ids, str):
            ids = [x.strip() for x in ids.split(",") if x.strip()]
        return ", ".join(self.format(f) for f in ids)
