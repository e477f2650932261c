"""classify: the contract other tools rely on (columns, order, carried-through columns, blanks,
errors), the Python API and the spaCy component. Most tests use a tiny model; the last ones run
the shipped default model end to end, because that is what users run."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import contentplan
from contentplan.domain.schemes import load_scheme

BJ_COLUMNS = ["stage", "confidence", "lang", "intent", "p_awareness", "p_consideration", "p_decision",
              "p_post-purchase", "explanation"]


def run(runner, cli, args, **kw):
    return runner.invoke(cli, args, catch_exceptions=False, **kw)


def test_inline_texts_all_columns(runner, cli, tiny_model_dir):
    res = run(runner, cli, ["classify", "--model", str(tiny_model_dir), "-f", "json",
                            "combien coûte votre CRM ?", "what is lead nurturing"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["text"] for r in rows] == ["combien coûte votre CRM ?", "what is lead nurturing"]
    assert list(rows[0]) == ["text"] + BJ_COLUMNS
    for r in rows:
        assert abs(sum(r[f"p_{s}"] for s in load_scheme("buyer-journey").ids) - 1) < 1e-3
        assert r["stage"] in load_scheme("buyer-journey").ids + ["unclear"]
    assert [r["lang"] for r in rows] == ["fr", "en"]


def test_file_columns_carried_through_same_order(runner, cli, tiny_model_dir, tmp_path):
    src = tmp_path / "gsc.csv"
    src.write_text("Query;Clicks;Impressions;Position\nprix crm;3;120;4.2\n;0;10;9\nrefund for a damaged item;1;40;2.0\n"
                   "42;0;1;1\n", encoding="utf-8")
    before = src.read_bytes()
    out = tmp_path / "out.csv"
    res = run(runner, cli, ["classify", "-i", str(src), "--model", str(tiny_model_dir), "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert list(df.columns) == ["Query", "Clicks", "Impressions", "Position"] + BJ_COLUMNS
    assert df["Query"].tolist() == ["prix crm", "", "refund for a damaged item", "42"]
    assert df["Impressions"].tolist() == ["120", "10", "40", "1"]
    assert df.loc[1, "stage"] == "unclear" and float(df.loc[1, "confidence"]) == 0.0
    assert src.read_bytes() == before


def test_stdin_and_other_schemes(runner, cli, tiny_model_dir):
    res = run(runner, cli, ["classify", "-i", "-", "--model", str(tiny_model_dir), "--scheme", "oni", "-f", "csv"],
              input="comment choisir un crm\nrésilier mon abonnement\n")
    assert res.exit_code == 0
    df = pd.read_csv(pd.io.common.StringIO(res.output))
    assert {f"p_{s}" for s in load_scheme("oni").ids} <= set(df.columns)
    assert len(df) == 2


def test_min_confidence_abstains(runner, cli, tiny_model_dir):
    res = run(runner, cli, ["classify", "--model", str(tiny_model_dir), "--min-confidence", "0.999", "-f", "json", "hello"])
    assert json.loads(res.output)[0]["stage"] == "unclear"


def test_brand_makes_a_query_navigational(tiny_model_dir):
    df = contentplan.classify(["pilotis login", "acme", "acme vs pilotis pricing", "www.pilotis.example"],
                              model=tiny_model_dir, brands=["pilotis"])
    assert df["intent"].tolist()[0] == "navigational"
    assert df["intent"].tolist()[3] == "navigational"
    assert df["intent"].tolist()[2] != "navigational"


def test_input_column_named_stage_is_kept(tiny_model_dir):
    df = contentplan.classify(pd.DataFrame({"text": ["devis"], "stage": ["mine"]}), model=tiny_model_dir)
    assert df["input_stage"].tolist() == ["mine"]


@pytest.mark.parametrize("args,message", [
    (["classify", "--scheme", "buyer-jorney", "x"], "Error: unknown scheme 'buyer-jorney'; did you mean 'buyer-journey'? (built-in: buyer-journey, customer-journey, oni, online-journey; or pass a .yaml file)"),
    (["classify", "--model", "no/such/model", "x"], "Error: no/such/model: model folder not found; pass --model with a folder made by 'contentplan train'"),
])
def test_bad_options_exact_errors(runner, cli, args, message):
    res = runner.invoke(cli, args)
    assert res.exit_code == 1
    assert res.output.strip() == message


def test_missing_column_and_bad_files(runner, cli, tiny_model_dir, tmp_path):
    src = tmp_path / "kw.csv"
    src.write_text("keyword,volume\ncrm,10\n", encoding="utf-8")
    res = runner.invoke(cli, ["classify", "-i", str(src), "--text-column", "Keyword Text", "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {src}: no column 'Keyword Text'; did you mean 'keyword'? (columns found: keyword, volume); pass --text-column with one of them"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    res = runner.invoke(cli, ["classify", "-i", str(empty), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.strip() == f"Error: {empty}: file is empty; it needs a header row and at least one row of data"
    res = runner.invoke(cli, ["classify", "-i", str(src), "-o", str(src), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {src}: is also an input file; write the output to another file"
    assert src.read_text(encoding="utf-8") == "keyword,volume\ncrm,10\n"


def test_corrupt_model_folder_cli(runner, cli, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "meta.json").write_text("{not json", encoding="utf-8")
    res = runner.invoke(cli, ["classify", "--model", str(tmp_path / "m"), "x"])
    assert res.exit_code == 1
    assert res.output.strip() == f"Error: {tmp_path / 'm' / 'meta.json'}: corrupt meta.json (JSONDecodeError); retrain with 'contentplan train'"


def test_non_text_cells(tiny_model_dir):
    df = contentplan.classify(pd.DataFrame({"text": [None, np.nan, 12, "   ", "prix crm"]}), model=tiny_model_dir)
    assert len(df) == 5
    assert df["stage"].tolist()[:4] == ["unclear"] * 4
    assert df["confidence"].tolist()[:4] == [0.0] * 4


def test_streaming_chunks_match_whole(runner, cli, tiny_model_dir, tmp_path, monkeypatch):
    from contentplan import api
    src = tmp_path / "many.txt"
    src.write_text("\n".join(f"question {i} about crm price" if i % 2 else f"why does thing {i} happen" for i in range(50)), encoding="utf-8")
    whole = run(runner, cli, ["classify", "-i", str(src), "--model", str(tiny_model_dir), "-f", "csv"]).output
    monkeypatch.setattr(api, "CHUNK_ROWS", 7)
    chunked = run(runner, cli, ["classify", "-i", str(src), "--model", str(tiny_model_dir), "-f", "csv"]).output
    assert whole == chunked
    assert len(whole.strip().splitlines()) == 51


def test_spacy_component(tiny_model_dir):
    import spacy

    import contentplan.spacy_component  # noqa: F401  (registers the factory)
    nlp = spacy.blank("en")
    nlp.add_pipe("journey_stage", config={"model": str(tiny_model_dir), "scheme": "buyer-journey"})
    doc = nlp("how much is the crm per user")
    assert set(doc.cats) == set(load_scheme("buyer-journey").ids)
    assert abs(sum(doc.cats.values()) - 1) < 1e-6


@pytest.mark.model
def test_shipped_default_model_end_to_end(runner, cli):
    texts = ["combien coûte votre CRM ?", "what is lead nurturing", "hubspot vs pipedrive avis",
             "my parcel never arrived, I want a refund"]
    res = run(runner, cli, ["classify", "-f", "json", *texts])
    assert res.exit_code == 0, res.output
    stages = [r["stage"] for r in json.loads(res.output)]
    assert stages == ["decision", "awareness", "consideration", "post-purchase"]


@pytest.mark.model
def test_shipped_model_long_text_and_content(tmp_path):
    body = ("Une pompe à chaleur air-eau consomme plus en hiver : pourquoi ? Quand il fait froid, son rendement baisse "
            "et la facture grimpe. Beaucoup de propriétaires découvrent ce problème après la première saison. "
            "Les causes les plus fréquentes sont un mauvais dimensionnement et une isolation insuffisante.\n\n"
            "Demandez votre devis gratuit !")
    df = contentplan.classify([body])
    assert df["stage"][0] == "awareness"


def test_html_cells_are_read_as_pages(tiny_model_dir):
    """A crawler export with raw HTML in the text column: classified on the page's title and main
    text, navigation and scripts dropped; '<3' or 'a < b' stay plain text."""
    page = ("<html><head><title>Crm pricing per user</title><script>var x = 1;</script></head><body>"
            "<nav>Home | Blog | Login</nav><main><p>Crm pricing per user: tarif devis pompe à chaleur, essai gratuit.</p>"
            "</main><footer>© 2026</footer></body></html>")
    model = contentplan.load_model(tiny_model_dir)
    out = contentplan.classify([page, "Crm pricing per user. Crm pricing per user: tarif devis pompe à chaleur, essai gratuit.",
                                "i <3 your app", "is a < b"], model=model)
    assert out.text[0] == page                                    # the input column is kept as given
    cols = [c for c in out.columns if c.startswith("p_")]
    assert np.allclose(out.loc[0, cols].to_numpy(float), out.loc[1, cols].to_numpy(float))
    assert "script" not in out.explanation[0] and "var" not in out.explanation[0]
    assert out.confidence[2] > 0 and out.confidence[3] > 0


def test_an_html_cell_with_a_huge_head_is_read_on_its_article(tiny_model_dir):
    """A saved page whose head holds 300 KB of inline scripts and styles before the article: the
    article is read, as for the same page without them (the cell was once cut at 200,000 characters
    before parsing, which left only the title and classified the page on it, silently)."""
    article = ("<main><h1>Crm pricing per user</h1><p>Crm pricing per user: tarif devis pompe à chaleur, "
               "essai gratuit, plans from 12 € per seat.</p></main>")
    head = "<script>window.x = '<div>' + 1;</script><style>.a{color:red}</style><!-- <p>not text</p> -->" * 4000
    big = f"<html><head><title>Crm pricing per user</title>{head}</head><body>{article}</body></html>"
    small = f"<html><head><title>Crm pricing per user</title></head><body>{article}</body></html>"
    assert len(big) > 300_000
    out = contentplan.classify([big, small], model=contentplan.load_model(tiny_model_dir))
    cols = [c for c in out.columns if c.startswith("p_")]
    assert np.allclose(out.loc[0, cols].to_numpy(float), out.loc[1, cols].to_numpy(float))
    assert out.explanation[0] == out.explanation[1]


def test_a_huge_one_word_cell_is_read_on_its_start(tiny_model_dir):
    """A short text of absurd length (a pasted blob without spaces) is classified on its first
    2,000 characters, like the encoder reads it, instead of making millions of n-grams."""
    blob = "tarifdevis" * 50_000
    out = contentplan.classify([blob, blob[:2000]], model=contentplan.load_model(tiny_model_dir))
    cols = [c for c in out.columns if c.startswith("p_")] + ["stage", "confidence"]
    assert out.loc[0, cols].tolist() == out.loc[1, cols].tolist()
    assert out.text[0] == blob


@pytest.mark.parametrize("name", ["report.ods", "staged.xls", "out.parquet"])
def test_unknown_output_extension_is_refused_not_filled_with_a_text_table(runner, cli, tiny_model_dir, tmp_path, name):
    out = tmp_path / name
    res = runner.invoke(cli, ["classify", "how to reduce churn", "--model", str(tiny_model_dir), "-o", str(out)])
    assert res.exit_code == 1
    assert f"unknown output extension '{out.suffix}'" in res.output and "pass -f" in res.output
    assert not out.exists()
    ok = runner.invoke(cli, ["classify", "how to reduce churn", "--model", str(tiny_model_dir), "-o", str(out), "-f", "csv"])
    assert ok.exit_code == 0 and out.read_text(encoding="utf-8").startswith("text,stage")
