"""The gap report's warm re-run: matching and topics read back from the on-disk cache, byte for byte
the cold report; an edited inventory matched again; question languages cached."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contentplan.reports import gaps, warm

FIX = Path(__file__).parent / "fixtures" / "gaps"


@pytest.fixture
def cache(monkeypatch, tmp_path):
    folder = tmp_path / "cache"
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(folder))     # a store of its own, empty
    return folder


def _run(runner, cli, model, out: Path, content=FIX / "content.csv", questions=FIX / "questions.csv"):
    res = runner.invoke(cli, ["gaps", "--content", str(content), "--questions", str(questions),
                              "--personas", str(FIX / "personas.yaml"), "--model", str(model), "-q", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _files(folder: Path) -> dict[str, bytes]:
    """Every report file's bytes; report.xlsx as its parts, less docProps/core.xml (its creation time)."""
    out = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for name in sorted(z.namelist()):
                    if name != "docProps/core.xml":
                        out[f"{p.name}:{name}"] = z.read(name)
        else:
            out[p.name] = p.read_bytes()
    return out


def _forbid(monkeypatch, what: str):
    def fail(*a, **k):
        pytest.fail(f"{what} ran on a warm re-run")
    return fail


def test_warm_rerun_is_the_cold_report_byte_for_byte_and_matches_nothing(runner, cli, tiny_model_dir, cache, tmp_path,
                                                                         monkeypatch):
    cold = _files(_run(runner, cli, tiny_model_dir, tmp_path / "cold"))
    assert {"report.html", "report.md", "questions.csv", "report.xlsx:xl/worksheets/sheet3.xml"} <= set(cold)
    monkeypatch.setattr(warm, "match_questions", _forbid(monkeypatch, "matching"))
    monkeypatch.setattr(warm, "page_reach", _forbid(monkeypatch, "matching"))
    monkeypatch.setattr("contentplan.reports.gaps.page_index", _forbid(monkeypatch, "building the page index"))
    hot = _files(_run(runner, cli, tiny_model_dir, tmp_path / "warm"))
    assert hot.keys() == cold.keys()
    for name in cold:
        assert hot[name] == cold[name], f"{name} differs between the cold and the warm run"


def test_cache_off_gives_the_same_report(runner, cli, tiny_model_dir, cache, tmp_path, monkeypatch):
    _run(runner, cli, tiny_model_dir, tmp_path / "fill")
    hot = _files(_run(runner, cli, tiny_model_dir, tmp_path / "warm"))
    monkeypatch.setenv("CONTENTPLAN_CACHE", "off")
    off = _files(_run(runner, cli, tiny_model_dir, tmp_path / "off"))
    assert off == hot


def test_one_edited_page_matches_every_question_again(runner, cli, tiny_model_dir, cache, tmp_path, monkeypatch):
    _run(runner, cli, tiny_model_dir, tmp_path / "first")
    inv = pd.read_csv(FIX / "content.csv", dtype=str, keep_default_na=False)
    edited = inv.copy()
    edited.loc[len(inv) - 1, "body"] = edited.loc[len(inv) - 1, "body"] + " Annual plans start at 49 € per user."
    path = tmp_path / "content.csv"
    edited.to_csv(path, index=False)
    calls = []
    real = warm.match_questions
    monkeypatch.setattr(warm, "match_questions", lambda index, qs, *a, **k: calls.append(len(qs)) or real(index, qs, *a, **k))
    hot = _files(_run(runner, cli, tiny_model_dir, tmp_path / "edited", content=path))
    n_questions = len(pd.read_csv(tmp_path / "edited" / "questions.csv"))
    assert calls == [n_questions]                       # every question matched again, once
    monkeypatch.setenv("CONTENTPLAN_CACHE", "off")
    assert _files(_run(runner, cli, tiny_model_dir, tmp_path / "cold", content=path)) == hot


def test_a_new_question_alone_is_matched(runner, cli, tiny_model_dir, cache, tmp_path, monkeypatch):
    _run(runner, cli, tiny_model_dir, tmp_path / "first")
    qs = pd.read_csv(FIX / "questions.csv", dtype=str, keep_default_na=False)
    more = pd.concat([qs, qs.iloc[[0]].assign(**{qs.columns[0]: "combien coûte l'abonnement annuel pour 12 personnes"})],
                     ignore_index=True)
    path = tmp_path / "questions.csv"
    more.to_csv(path, index=False)
    calls = []
    real = warm.match_questions
    monkeypatch.setattr(warm, "match_questions", lambda index, q, *a, **k: calls.append(list(q)) or real(index, q, *a, **k))
    hot = pd.read_csv(_run(runner, cli, tiny_model_dir, tmp_path / "more", questions=path) / "questions.csv")
    assert calls == [["combien coûte l'abonnement annuel pour 12 personnes"]]
    monkeypatch.setenv("CONTENTPLAN_CACHE", "off")
    cold = pd.read_csv(_run(runner, cli, tiny_model_dir, tmp_path / "cold", questions=path) / "questions.csv")
    pd.testing.assert_frame_equal(hot, cold)


class _Doc:
    def __init__(self, passages, vectors):
        self.passages, self.vectors = passages, vectors


def _index_inputs():
    inv = pd.DataFrame({"title": ["Tarifs", "Demander une démo"], "body": ["Dès 29 € par mois.", "Réservez 30 minutes."],
                        "url": ["https://x.fr/tarifs", "https://x.fr/demo"]})
    content = pd.DataFrame({"stage": ["decision", "decision"], "format": ["pricing", "demo"], "lang": ["fr", "fr"]})
    rng = np.random.default_rng(0)
    docs = [_Doc(["Tarifs. Dès 29 € par mois."], rng.normal(size=(1, 8)).astype(np.float32)),
            _Doc(["Demander une démo. Réservez 30 minutes."], rng.normal(size=(1, 8)).astype(np.float32))]
    return inv, content, docs, np.full((2, 9), 0.1)


@pytest.mark.parametrize("edit", ["title", "body", "url", "stage", "format", "lang", "passage", "vector", "proba", "model"])
def test_the_fingerprint_changes_with_any_input_of_the_index(edit):
    from contentplan.match import match_model_for
    model, _ = match_model_for("use-multilingual")
    inv, content, docs, proba = _index_inputs()
    before = warm.index_fingerprint(inv, content, docs, proba, True, model)
    assert warm.index_fingerprint(*_index_inputs(), True, model) == before        # stable
    if edit in ("title", "body", "url"):
        inv.loc[1, edit] += "!"
    elif edit in ("stage", "format", "lang"):
        content.loc[0, edit] = "x"
    elif edit == "passage":
        docs[0].passages = ["Tarifs. Dès 39 € par mois."]
    elif edit == "vector":
        docs[1].vectors = docs[1].vectors.copy()
        docs[1].vectors[0, 3] += 1e-6
    elif edit == "proba":
        proba = proba.copy()
        proba[1, 2] = 0.2
    else:
        model.weights["cos"] += 1e-3
    assert warm.index_fingerprint(inv, content, docs, proba, True, model) != before


def test_topics_are_read_back_and_recomputed_for_other_vectors(cache):
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(40, 6)).astype(np.float32)
    calls = []

    def compute(v):
        calls.append(len(v))
        return gaps._cluster(v)
    first = warm.cached_labels(vecs, compute, gaps.__file__)
    again = warm.cached_labels(vecs, compute, gaps.__file__)
    assert calls == [40] and again.tolist() == first.tolist() and again.dtype == first.dtype
    other = vecs.copy()
    other[3, 0] += 0.5
    warm.cached_labels(other, compute, gaps.__file__)
    assert calls == [40, 40]


def test_no_cache_when_it_is_off(monkeypatch):
    monkeypatch.setenv("CONTENTPLAN_CACHE", "off")
    calls = []
    vecs = np.eye(3, dtype=np.float32)
    for _ in range(2):
        warm.cached_labels(vecs, lambda v: calls.append(1) or np.arange(len(v)), gaps.__file__)
    assert calls == [1, 1]


def test_question_languages_come_back_from_the_cache(cache, monkeypatch):
    from contentplan import inputs
    texts = ["combien coûte un crm", "how much is a crm", "12 34"]
    first = inputs.detected_langs(texts)
    assert first == [inputs.detect_lang(t) for t in texts]
    monkeypatch.setattr(inputs, "detect_lang", lambda text: pytest.fail("language detected again"))
    assert inputs.detected_langs(texts) == first


def test_the_stage_model_stands_for_vectors_and_probabilities_when_given():
    from contentplan.match import match_model_for
    model, _ = match_model_for("use-multilingual")
    inv, content, docs, proba = _index_inputs()
    a = warm.index_fingerprint(inv, content, docs, proba, True, model, "sha-a\x00use")
    docs[0].vectors = docs[0].vectors + np.float32(1e-7)          # a warm run's float32 round trip
    assert warm.index_fingerprint(inv, content, docs, proba + 1e-9, True, model, "sha-a\x00use") == a
    assert warm.index_fingerprint(inv, content, docs, proba, True, model, "sha-b\x00use") != a   # another model
    inv.loc[0, "title"] = "Prix"
    assert warm.index_fingerprint(inv, content, docs, proba, True, model, "sha-a\x00use") != a


def test_probabilities_are_the_same_cold_and_warm(tiny_model_dir, cache):
    """The model returns its probabilities as the cache stores them (float32), so a warm run's stages
    and confidences are the cold run's to the last digit (they differed in the 8th, and a rounded
    confidence could flip)."""
    from contentplan.model.pipeline import JourneyModel
    m = JourneyModel.load(tiny_model_dir)
    texts = ["combien coûte un crm pour 5 personnes", "how to import contacts", "résilier mon abonnement"]
    items = [("Pricing", "Starter is $12 per user per month. Growth adds sequences."),
             ("Importer vos contacts", "Ouvrez Paramètres, puis Import. Choisissez un fichier CSV.")]
    cold_q, cold_d = m.short_proba(texts, m.embed(texts)), [d.proba for d in m.documents(items)]
    warm_q, warm_d = m.short_proba(texts, m.embed(texts)), [d.proba for d in m.documents(items)]
    assert np.array_equal(cold_q, warm_q)
    assert all(np.array_equal(a, b) for a, b in zip(cold_d, warm_d))
