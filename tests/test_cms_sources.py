"""Issue #15, reading inputs faithfully: CMS exports (WordPress, HubSpot, Webflow, Shopify, Drupal),
several question sources merged without double counting demand, and keyword-tool intent columns.

The fixtures are shaped like the real exports: tests/fixtures/cms/ (WordPress with a UTF-8 BOM and
semicolons, HTML bodies on several lines) and tests/fixtures/sources/ (Search Console in French,
Semrush in English and French, sales notes saved by French Excel in cp1252, help-desk tickets)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from contentplan.domain.formats import detect_format
from contentplan.domain.intent import agreement_lines, intent_agreement, parse_intents
from contentplan.domain.schemes import load_scheme
from contentplan.inputs import content_formats, read_content_carry, read_questions
from contentplan.io.tables import carried_names, metric_columns

CMS = Path(__file__).parent / "fixtures" / "cms"
SRC = Path(__file__).parent / "fixtures" / "sources"
GAPS = Path(__file__).parent / "fixtures" / "gaps"
SOURCES = ["gsc_requetes.csv", "semrush_keywords.csv", "semrush_mots_cles.csv", "notes_commerciales.csv", "tickets_support.csv"]


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _no_case_twins(columns) -> bool:
    lowered = [str(c).lower() for c in columns]
    return len(set(lowered)) == len(lowered)


# ----------------------------------------------------------------------------- 1. CMS exports

WORDPRESS_FORMATS = [
    ("case_study", "detected (title: 'Étude de cas')"),
    ("webinar", "detected (title: 'Webinar')"),
    ("guide", "detected (title: 'Livre blanc')"),
    ("promotion", "detected (title: '[Promo]')"),
    ("blog_article", "detected (path: https://www.factureo.fr/blog/qu-est-ce-que-la-facture-electronique/)"),
    ("case_study", "detected (category: Études de cas)"),
    ("pricing_page", "detected (title: 'Tarifs')"),
    ("product_page", "detected (weak cue: CMS type page)"),
    ("blog_article", "detected (weak cue: CMS type post)"),
]


def test_wordpress_post_type_is_not_a_format_and_every_column_is_kept(runner, cli, tiny_model_dir, tmp_path):
    res = runner.invoke(cli, ["gaps", "--content", str(CMS / "wordpress_export.csv"), "--questions", str(GAPS / "questions.csv"),
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"), "-q"])
    assert res.exit_code == 0, res.output
    content = _csv(tmp_path / "r" / "content.csv")
    assert list(content.columns) == [
        "title", "url", "lang", "stage", "confidence", "canonical_stage", "stage_mix", "format", "format_source",
        "format_fits_stage", "persona", "personas", "persona_source", "best_question_similarity", "questions_answered",
        # every input column but Title and Permalink (they are title and url), unchanged
        "ID", "Content", "Excerpt", "Date", "Post Type", "Categories", "Tags", "Status"]
    assert list(zip(content.format, content.format_source)) == WORDPRESS_FORMATS
    assert content.ID.tolist() == [str(i) for i in range(101, 110)]
    assert content.url[0] == "https://www.factureo.fr/blog/etude-de-cas-boulangeries-martin/"
    assert content.Categories.tolist()[:2] == ["Études de cas|Blog", "Webinars"]
    assert content.Content[0].startswith("<!-- wp:paragraph -->\n<p>Boulangeries Martin (12 magasins) relançait")
    assert content["Post Type"].tolist() == ["post"] * 6 + ["page", "page", "post"]


def test_wordpress_html_body_is_read_as_text():
    inv, _ = read_content_carry(CMS / "wordpress_export.csv")
    assert inv.body[0] == ("Boulangeries Martin (12 magasins) relançait ses clients à la main ; les retards s'accumulaient."
                           "\n\nLa solution\n\nAvec les relances automatiques, l'équipe comptable a gagné 6 heures par semaine.")
    assert inv.object_type.tolist() == ["post"] * 6 + ["page", "page", "post"]
    assert inv.format.tolist() == [""] * 9
    assert inv.taxonomy[0] == "Études de cas|Blog | impayés|relances"


@pytest.mark.parametrize("name,roles,carried,formats", [
    ("hubspot_blog_posts.csv", ("Name", "URL"), ["Meta Description", "Post Body", "Publish Date", "Tags", "Content Group"], [
        ("case_study", "detected (title: 'Case Study')"),
        ("case_study", "detected (category: Case Studies)"),
        ("webinar", "detected (title: 'Webinar')"),
        ("blog_article", "detected (category: Blog)")]),
    ("webflow_posts.csv", ("Name", "Slug"), ["Collection ID", "Item ID", "Created On", "Updated On", "Published On", "Post Body",
                                             "Post Summary", "Category"], [
        ("testimonial", "detected (title: 'Témoignage')"),
        ("guide", "detected (category: Guides)")]),
    ("shopify_articles.csv", ("Title", "Handle"), ["Body HTML", "Blog", "Tags", "Published At"], [
        ("promotion", "detected (title: 'Black Friday')"),
        ("blog_article", "detected (category: News)")]),
    ("drupal_content.csv", ("title", "path"), ["body", "type", "created"], [
        ("guide", "detected (title: 'checklist')"),
        ("product_page", "detected (weak cue: CMS type page)"),
        ("blog_article", "detected (weak cue: CMS type article)")]),
])
def test_cms_exports_are_recognised(name, roles, carried, formats):
    frame = _csv(CMS / name)
    inv, carry = read_content_carry(CMS / name)
    assert inv.title.tolist() == frame[roles[0]].tolist()
    assert inv.url.tolist() == frame[roles[1]].tolist()
    assert list(carry.columns) == carried
    assert all("<p>" not in b and b.strip() for b in inv.body)      # HTML bodies read as text
    fmts, why = content_formats(inv)
    assert list(zip(fmts, why)) == formats


def test_cms_type_in_front_matter_is_a_weak_cue():
    assert detect_format("Étude de cas : Acme", meta={"layout": "post"}) == ("case_study", "title: 'Étude de cas'")
    assert detect_format("Nos bureaux", meta={"layout": "post"}) == ("blog_article", "weak cue: front matter layout: post")
    assert detect_format("Nos bureaux", meta={"type": "Étude de cas"}) == ("case_study", "front matter type: Étude de cas")


def test_input_columns_named_like_report_columns_are_prefixed(runner, cli, tiny_model_dir, tmp_path):
    inv = tmp_path / "inventaire.csv"
    inv.write_bytes("\ufeffTitre;URL;Contenu;Format;Stage;Persona\r\n"
                    "Tarifs;https://x.example/tarifs;Nos prix par mois.;Page tarifs;BOFU;DAF\r\n".encode("utf-8"))
    res = runner.invoke(cli, ["gaps", "--content", str(inv), "--questions", str(GAPS / "questions.csv"),
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    content = _csv(tmp_path / "r" / "content.csv")
    assert list(content.columns)[15:] == ["Contenu", "input_Format", "input_Stage", "input_Persona"]
    assert content.input_Stage.tolist() == ["BOFU"] and content.format.tolist() == ["pricing_page"]
    assert _no_case_twins(content.columns)
    assert ("  input columns renamed (a report column has the same name): questions.csv: persona -> input_persona, "
            "volume -> input_volume, source -> input_source; content.csv: Format -> input_Format, Stage -> input_Stage, "
            "Persona -> input_Persona") in res.output.splitlines()


def test_carried_names_never_differ_only_by_case():
    assert carried_names(["Stage", "input_stage", "ID", "id", "Intent"], ["stage", "intent"], {"Intent": "input_intent"}) == \
        ["input_Stage", "input_input_stage", "ID", "input_id", "input_intent"]


# ----------------------------------------------------------------------------- 2. several question sources

def test_several_sources_are_merged_without_double_counting_demand():
    qs = read_questions([SRC / f for f in SOURCES])
    assert len(qs) == 13                     # 19 rows, 6 of them the same query as an earlier row
    by = qs.set_index("question")
    # Median of the 13 rows with a volume: 880. Search volumes of one query are the same searches
    # seen by several tools (the largest counts); each note or ticket is one more person asking.
    price = by.loc["prix logiciel facturation"]
    assert price.source == "gsc_requetes.csv | semrush_keywords.csv | semrush_mots_cles.csv | notes_commerciales.csv"
    assert (price.volume, price.mentions, price.weight) == ("1200", 4, 1200 + 880)
    einv = by.loc["facture électronique obligatoire"]            # "Facture Electronique  Obligatoire" in Semrush
    assert (einv.source, einv.volume, einv.mentions, einv.weight) == ("gsc_requetes.csv | semrush_keywords.csv", "8100", 2, 8100)
    imp = by.loc["Comment importer mes clients depuis Excel"]   # a sales note and a ticket, no volume
    assert (imp.source, imp.volume, imp.mentions, imp.weight) == ("notes_commerciales.csv | tickets_support.csv", "", 2, 2 * 880)
    assert by.loc["factureo connexion"].weight == 140
    assert qs.weight.sum() == 1200 + 880 + 8100 + 900 + 140 + 610 + 390 + 320 + 2900 + 170 + 480 + 880 + 2 * 880 + 880


def test_demand_without_any_volume_counts_people_asking(tmp_path):
    a, b = tmp_path / "appels.csv", tmp_path / "tickets.txt"
    a.write_text("question\nCombien coûte l'offre Pro ?\nest-ce compatible avec Chorus Pro\n", encoding="utf-8")
    b.write_text("combien coute l'offre pro\n", encoding="utf-8")
    qs = read_questions([a, b])
    assert qs[["question", "source", "mentions", "weight"]].values.tolist() == [
        ["Combien coûte l'offre Pro ?", "appels.csv | tickets.txt", 2, 2.0],
        ["est-ce compatible avec Chorus Pro", "appels.csv", 1, 1.0]]


def test_gaps_with_several_question_files(runner, cli, tiny_model_dir, tmp_path):
    args = ["gaps", "--content", str(CMS / "wordpress_export.csv"), "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"), "-q",
            "--lang", "en"]   # the questions are French: the summary would be too
    for f in SOURCES:
        args += ["--questions", str(SRC / f)]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0].startswith("13 questions, 9 content pieces")
    assert ("  input columns renamed (a report column has the same name): questions.csv: Volume -> input_Volume, "
            "Date -> input_Date, Stage -> input_Stage") in res.output.splitlines()
    q = _csv(tmp_path / "r" / "questions.csv")
    assert list(q.columns) == [
        "question", "lang", "stage", "confidence", "canonical_stage", "volume", "source", "date", "persona", "persona_source",
        "similarity", "match_score", "p_answered", "answered", "best_match", "best_match_url", "best_match_stage",
        "stage_mismatch", "match_terms", "match_passage", "best_match_lang", "cross_lingual", "topic", "mentions",
        "input_intent", "clicks", "impressions", "ctr", "position", "keyword_difficulty", "cpc_eur", "cpc_usd",
        "input_Volume", "Trend", "Competitive Density", "SERP Features", "Number of Results", "input_Date", "Commercial",
        "Entreprise", "input_Stage", "Ticket ID", "Sujet", "Canal"]
    assert _no_case_twins(q.columns)
    row = q[q.question == "prix logiciel facturation"].iloc[0]
    assert row[["volume", "mentions", "input_intent", "clicks", "impressions", "ctr", "position", "keyword_difficulty",
                "cpc_eur", "cpc_usd", "input_Volume", "Entreprise", "input_Stage"]].tolist() == [
        "1200", "4", "Commercial, Transactional", "35", "1200", "2,92 %", "7,4", "42", "3,75", "4.10", "880",
        "Boulangeries Martin", "Qualification"]
    ticket = q[q.question == "Les relances automatiques ne partent plus depuis hier"].iloc[0]
    assert ticket[["source", "date", "Ticket ID", "Canal", "clicks"]].tolist() == ["tickets_support.csv", "2025-11-04", "48240", "chat", ""]


def test_metric_columns_french_and_english_exports():
    assert metric_columns(pd.DataFrame(columns=["Top queries", "Clicks", "Impressions", "CTR", "Position"])) == \
        {"clicks": "Clicks", "impressions": "Impressions", "ctr": "CTR", "position": "Position"}
    assert metric_columns(pd.DataFrame(columns=["Requêtes les plus fréquentes", "Clics", "Impressions", "CTR", "Position"])) == \
        {"clicks": "Clics", "impressions": "Impressions", "ctr": "CTR", "position": "Position"}
    assert metric_columns(pd.DataFrame(columns=["#", "Keyword", "Country", "Difficulty", "Volume", "CPC", "CPS", "Parent Keyword"])) == \
        {"keyword_difficulty": "Difficulty", "cpc": "CPC"}
    assert metric_columns(pd.DataFrame(columns=["Mot-clé", "Position", "Volume", "Difficulté du mot-clé", "CPC (EUR)"])) == \
        {"position": "Position", "keyword_difficulty": "Difficulté du mot-clé", "cpc_eur": "CPC (EUR)"}


def test_text_column_with_several_files_names_the_column_of_those_that_have_it():
    qs = read_questions([SRC / "notes_commerciales.csv", SRC / "gsc_requetes.csv"], text_column="Entreprise")
    assert qs.question.tolist()[:3] == ["Boulangeries Martin", "Garage Lemaire", "Cabinet Roux"]
    assert qs.question.tolist()[3] == "prix logiciel facturation"          # detected in the Search Console file


def test_the_same_source_twice_is_refused(runner, cli, tiny_model_dir, tmp_path):
    res = runner.invoke(cli, ["gaps", "--content", str(GAPS / "content.csv"), "--questions", "-", "--questions", "-",
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r")], input="prix crm\n")
    assert res.exit_code == 1
    assert res.output.strip() == "Error: <stdin>: this questions file is given twice; give each file once"


# ----------------------------------------------------------------------------- 3. keyword-tool intent

@pytest.mark.parametrize("value,expected", [
    ("Informational, Commercial", ("informational", "commercial")),
    ("I", ("informational",)),
    ("C, T", ("commercial", "transactional")),
    ("Transactionnelle", ("transactional",)),
    ("Commerciale, Transactionnelle", ("commercial", "transactional")),
    ("Navigational", ("navigational",)),
    ("1, 3", ("informational", "transactional")),          # Semrush API codes
    ("", ()),
    ("Local", None),
])
def test_parse_intents(value, expected):
    assert parse_intents(value) == expected


def test_intent_agreement_summary_exact():
    res = intent_agreement(
        ["Informational", "C, T", "Transactional", "Navigational", "", "I", "Commercial", "nope"],
        ["problem", "offer", "solution", "vendor", "offer", "support", "", "problem"],
        ["awareness", "decision", "consideration", "consideration", "decision", "post-purchase", "unclear", "awareness"],
        ["c'est quoi une facture électronique", "prix logiciel facturation", "essai gratuit", "factureo",
         "devis", "mot de passe oublié", "logiciel facturation avis", "x"])
    assert agreement_lines(res, load_scheme("buyer-journey")) == [
        ("intent check (input_intent vs stage): 2 of 4 question(s) agree (50%), 2 disagree; not compared: 1 navigational only, "
        "1 unclear or none, 1 without intent, 1 intent not recognised"),
        "  agree by input intent: informational 1/2, commercial 1/1, transactional 1/2",
        ("  mapping: informational -> awareness, consideration; commercial -> consideration, decision; transactional -> decision; "
        "navigational -> not compared; post-purchase: no keyword-tool intent (a disagreement)"),
        "  disagree: 'essai gratuit' (input transactional, stage consideration)",
        "  disagree: 'mot de passe oublié' (input informational, stage post-purchase)"]


def test_gaps_compare_intent(runner, cli, tiny_model_dir, tmp_path):
    args = ["gaps", "--content", str(CMS / "wordpress_export.csv"), "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"),
            "--compare-intent", "-q"]
    for f in SOURCES:
        args += ["--questions", str(SRC / f)]
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("intent check"))
    assert lines[start:-1] == [
        ("intent check (input_intent vs stage): 3 of 6 question(s) agree (50%), 3 disagree; not compared: 1 navigational only, "
        "6 without intent"),
        "  agree by input intent: informational 0/3, commercial 2/2, transactional 3/3",
        ("  mapping: informational -> awareness, consideration; commercial -> consideration, decision; transactional -> decision; "
        "navigational -> not compared; post-purchase: no keyword-tool intent (a disagreement)"),
        "  disagree: 'facture électronique obligatoire' (input informational, stage post-purchase)",
        "  disagree: 'mentions obligatoires facture' (input informational, stage post-purchase)",
        "  disagree: 'comment relancer un client qui ne paie pas' (input informational, stage post-purchase)"]
    q = _csv(tmp_path / "r" / "questions.csv")
    assert q.set_index("question").input_intent["logiciel facturation comparatif"] == "C, T"


def test_compare_intent_without_an_intent_column_is_an_error(runner, cli, tiny_model_dir, tmp_path):
    gsc, notes = SRC / "gsc_requetes.csv", SRC / "notes_commerciales.csv"
    res = runner.invoke(cli, ["gaps", "--content", str(GAPS / "content.csv"), "--questions", str(gsc), "--questions", str(notes),
                              "--model", str(tiny_model_dir), "-o", str(tmp_path / "r"), "--compare-intent"])
    assert res.exit_code == 1
    assert res.output.strip() == (f"Error: {gsc}, {notes}: no intent column to compare with (looked for Intent, Intents, "
                                  "Search intent, Intention); give a keyword-tool export with its Intent column, "
                                  "or drop --compare-intent")
    assert "Traceback" not in res.output and not (tmp_path / "r").exists()


def test_classify_keeps_the_keyword_tool_intent_as_input_intent(runner, cli, tiny_model_dir):
    res = runner.invoke(cli, ["classify", "-i", str(SRC / "semrush_mots_cles.csv"), "--model", str(tiny_model_dir),
                              "-f", "csv", "--no-explain"])
    assert res.exit_code == 0, res.output
    header = res.output.splitlines()[0].split(",")
    assert header == ["Mot-clé", "input_intent", "Volume", "KD %", "CPC (EUR)", "stage", "confidence", "lang", "intent",
                      "p_awareness", "p_consideration", "p_decision", "p_post-purchase"]
    assert res.output.splitlines()[1].startswith("essai gratuit logiciel facturation,Transactionnelle,170,29,\"3,20\",")
