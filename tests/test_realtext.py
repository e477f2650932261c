"""Real-text labels (corpora/real): ids exist in ../shared/realtext, the two passes and the
adjudication are consistent, dev-only sources are never trained on, and the shipped model was
trained on these labels. Tests that need the shared text skip where it is absent (a user's clone)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contentplan.training.realtext import find_realtext, labels_hash, load_labels, load_real, sources, valid_labels
from contentplan.domain.schemes import NONE, UNCLEAR, load_scheme

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora"
REAL = find_realtext(CORPUS)
needs_shared = pytest.mark.skipif(REAL is None, reason="../shared/realtext is absent (a user's clone): real-text ids cannot be checked")


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return load_labels(CORPUS)


def test_labels_are_many_varied_and_valid(labels):
    assert len(labels) >= 2500
    assert set(labels.stage) <= set(valid_labels())
    assert set(labels.kind) == {"message", "page"}
    assert set(labels.lang) == {"fr", "en"}
    assert set(labels.file) == set(sources(CORPUS).file), "every real source file is sampled"


def test_agreement_and_adjudication_rules(labels):
    agree = labels.pass_a == labels.pass_b
    assert (labels.agreement == np.where(agree, "agree", "adjudicated")).all()
    assert (labels.stage[agree] == labels.pass_a[agree]).all(), "an agreed item keeps the agreed label"
    assert agree.mean() >= 0.8


def test_no_text_is_copied_into_the_repository(labels):
    assert list(labels.columns) == ["file", "id", "kind", "lang", "stage", "pass_a", "pass_b", "agreement"]


def test_dev_only_sources_are_never_trained_on():
    meta = json.loads((ROOT / "models" / "default" / "meta.json").read_text(encoding="utf-8"))
    src = sources(CORPUS).set_index("file")
    trained = meta.get("real_sources_trained", [])
    assert trained, "the shipped model is trained on the trainable real sources"
    assert all(src.loc[f, "use"] == "train" for f in trained)
    assert not set(src[src.use == "dev"].index) & set(trained)


def test_default_model_is_trained_on_these_real_labels():
    meta = json.loads((ROOT / "models" / "default" / "meta.json").read_text(encoding="utf-8"))
    assert meta.get("real_labels_sha256") == labels_hash(CORPUS), (
        "corpora/real changed since models/default was trained: retrain with "
        "'contentplan train --corpus corpora -o models/default' (with ../shared/realtext present)")


@needs_shared
def test_every_label_refers_to_an_existing_row(labels):
    real = load_real(CORPUS, REAL)   # raises when an id is missing from its source file
    assert len(real) == len(labels)
    assert (real.text.str.len() > 0).all()
    pages = pd.concat([pd.read_csv(REAL / "pages" / f, dtype=str, keep_default_na=False)[["id", "lang"]]
                       for f in sources(CORPUS).query("kind == 'page'").file])
    got = real[real.kind == "page"].merge(pages, on="id", suffixes=("", "_src"))
    assert (got.lang == got.lang_src).all(), "a page's language is its source row's"


def test_missing_id_is_a_clear_error(tmp_path, labels):
    if REAL is None:
        pytest.skip("../shared/realtext is absent")
    corpus = tmp_path / "corpora"
    (corpus / "real").mkdir(parents=True)
    (corpus / "real" / "sources.csv").write_bytes((CORPUS / "real" / "sources.csv").read_bytes())
    bad = labels.head(3).copy()
    bad.loc[bad.index[1], "id"] = "no-such-id"
    bad.to_csv(corpus / "real" / "labels.csv", index=False)
    from contentplan.errors import CorpusError
    with pytest.raises(CorpusError, match="id 'no-such-id' is not in"):
        load_real(corpus, REAL)


# ----------------------------------------------------------------------------- the stage decision

def test_none_wins_only_over_every_stage_and_is_thresholded():
    bj = load_scheme("buyer-journey")
    p = np.zeros((4, 11))
    p[0, [0, 10]] = [0.3, 0.7]          # none beats awareness
    p[1, [2, 1, 10]] = [0.3, 0.3, 0.4]  # consideration (solution + vendor = 0.6) beats none 0.4
    p[2, [0, 10]] = [0.45, 0.55]        # none, but below a 0.6 threshold -> unclear
    dec = bj.decide(p, 0.5)
    assert dec.stage[:3] == [NONE, "consideration", NONE]
    assert dec.stage[3] == UNCLEAR and dec.confidence[3] == 0.0   # a blank row
    assert bj.decide(p, 0.6).stage[2] == UNCLEAR
    assert dec.canonical[1] in ("solution", "vendor")
    assert bj.decide(p[:, :10], 0.0).stage[0] == "awareness"   # a model without 'none'


def test_gold_none_resolves_in_every_scheme():
    for name in ("buyer-journey", "oni", "customer-journey", "online-journey"):
        s = load_scheme(name)
        assert s.resolve("none") == NONE and s.of_canonical(NONE) == NONE
        assert s.projection_matrix()[-1].sum() == 0


@needs_shared
def test_training_uses_trainable_real_labels_only_and_records_them(tmp_path, labels, monkeypatch):
    """A small end-to-end training run (hashing embedder): dev-only sources are never trained
    on, the label hash and the held-out real-text figures are recorded, calibration is on real text."""
    from contentplan.training.train import train_model
    from tests.conftest import TINY

    monkeypatch.setenv("CONTENTPLAN_REALTEXT", str(REAL))
    corpus = tmp_path / "corpora"
    (corpus / "train").mkdir(parents=True)
    (corpus / "real").mkdir()
    slices = [TINY[i::3] for i in range(3)]
    for k, items in enumerate(slices):
        with open(corpus / "train" / f"questions_t{k + 1}_1.jsonl", "w", encoding="utf-8") as fh:
            for text, stage in items:
                fh.write(json.dumps({"text": text, "stage": stage, "lang": "en", "kind": "keyword",
                                     "industry": "saas", "market": "b2b"}) + "\n")
    (corpus / "real" / "sources.csv").write_bytes((CORPUS / "real" / "sources.csv").read_bytes())
    files = ["banking77_en.csv", "nuxt+nuxt.com.csv", "telecom_tweets_fr.csv"]
    sub = labels[labels.file.isin(files)].groupby("file").head(25)
    sub.to_csv(corpus / "real" / "labels.csv", index=False)
    _, meta = train_model(corpus, None, embedder="tfidf-hash", evaluate=False)
    assert meta["real_sources_trained"] == ["banking77_en.csv", "nuxt+nuxt.com.csv"]
    assert meta["real_labels_sha256"] == labels_hash(corpus)
    assert meta["calibrated_on"].startswith("real text")
    held = meta["metrics_real_out_of_source"]
    assert held["dev_only_sources"]["overall"]["n"] == int((sub[sub.file == "telecom_tweets_fr.csv"].stage != UNCLEAR).sum())
    assert 0 <= held["all"]["calibration"]["ece"] <= 1
    _, meta2 = train_model(corpus, None, embedder="tfidf-hash", evaluate=False, real=False)
    assert meta2["real_sources_trained"] == [] and meta2["real_labels_sha256"] == ""
    # Corpus-only: grouped CV scores the answer commands give, `none` included.
    assert set(meta2["metrics_dev_grouped_cv"]["buyer-journey questions"]["per_stage_f1"]) == {
        "awareness", "consideration", "decision", "post-purchase", "none"}


def test_evaluate_real_without_shared_text_is_a_one_line_error(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from contentplan.cli import cli
    monkeypatch.delenv("CONTENTPLAN_REALTEXT", raising=False)
    corpus = tmp_path / "a" / "corpora"
    corpus.mkdir(parents=True)
    res = CliRunner().invoke(cli, ["evaluate", "--real", "--corpus", str(corpus)])
    assert res.exit_code == 1
    assert "real text not found: put the shared data at ../shared/realtext or set CONTENTPLAN_REALTEXT" in res.output
    assert "Traceback" not in res.output


@needs_shared
def test_evaluate_real_reports_every_source_and_marks_trained_ones():
    from click.testing import CliRunner

    from contentplan.cli import cli
    res = CliRunner().invoke(cli, ["evaluate", "--real", "--corpus", str(CORPUS), "-f", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert set(out["real"]["per_file"]) == set(sources(CORPUS).file)
    assert set(out["real"]["per_kind"]) == {"message", "page"} and set(out["real"]["per_lang"]) == {"fr", "en"}
    assert out["real"]["calibration"]["reliability"] and 0 <= out["real"]["calibration"]["ece"] <= 1
    assert "telecom_tweets_fr.csv" not in out["real_sources_trained"]
    assert out["out_of_source_at_training"]["all"]["overall"]["n"] == out["real"]["overall"]["n"]
