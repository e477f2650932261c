"""Issue #15, reading inputs faithfully: CMS exports (WordPress, HubSpot, Webflow, Shopify, Drupal),
several question sources merged without double counting demand, and keyword-tool intent columns.

The fixtures are shaped like the real exports: tests/fixtures/cms/ (WordPress with a UTF-8 BOM and
semicolons, HTML bodies on several lines) and tests/fixtures/sources/ (Search Console in French,
Semrush in English and French, sales notes saved by French Excel in cp1252, help-desk tickets)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from contentplan.formats_detect import detect_format
from contentplan.gaps import _read_content, content_formats
from contentplan.io.tables import carried_names

CMS = Path(__file__).parent / "fixtures" / "cms"
GAPS = Path(__file__).parent / "fixtures" / "gaps"


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
        "format_fits_stage", "persona", "persona_source", "best_question_similarity", "questions_answered",
        # every input column but Title and Permalink (they are title and url), unchanged
        "ID", "Content", "Excerpt", "Date", "Post Type", "Categories", "Tags", "Status"]
    assert list(zip(content.format, content.format_source)) == WORDPRESS_FORMATS
    assert content.ID.tolist() == [str(i) for i in range(101, 110)]
    assert content.url[0] == "https://www.factureo.fr/blog/etude-de-cas-boulangeries-martin/"
    assert content.Categories.tolist()[:2] == ["Études de cas|Blog", "Webinars"]
    assert content.Content[0].startswith("<!-- wp:paragraph -->\n<p>Boulangeries Martin (12 magasins) relançait")
    assert content["Post Type"].tolist() == ["post"] * 6 + ["page", "page", "post"]


def test_wordpress_html_body_is_read_as_text():
    inv, _ = _read_content(CMS / "wordpress_export.csv")
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
    inv, carry = _read_content(CMS / name)
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


def test_carried_names_never_differ_only_by_case():
    assert carried_names(["Stage", "input_stage", "ID", "id", "Intent"], ["stage", "intent"], {"Intent": "input_intent"}) == \
        ["input_Stage", "input_input_stage", "ID", "input_id", "input_intent"]
