"""The gap report's warm path: clustering without scikit-learn, cached content languages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from contentplan.reports import gaps


def _same_partition(a, b) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@pytest.mark.parametrize("seed", range(6))
def test_cluster_equals_scikit_learn_agglomerative(seed):
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 24))
    vecs = np.vstack([c + rng.normal(scale=0.6 + 0.2 * seed, size=(25, 24)) for c in centres]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ours = gaps._cluster(vecs)
    ref = sklearn_cluster.AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                                  distance_threshold=0.75).fit_predict(vecs)
    assert _same_partition(ours, ref)
    _, first = np.unique(ours, return_index=True)
    assert list(ours[np.sort(first)]) == list(range(len(first)))     # labelled in order of first member
    assert gaps._cluster(vecs[:1]).tolist() == [0]


def test_content_languages_come_back_from_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(tmp_path / "cache"))     # a store of its own
    inv = pd.DataFrame({"title": ["Guide du CRM", "Pricing", "x"], "body": ["comment choisir un logiciel pour votre équipe",
                                                                             "how much does it cost per user", "12 34"],
                        "lang": ["", "en", ""]})
    from contentplan import inputs
    first = inputs.content_langs(inv)
    assert first == ["fr", "en", inputs.detect_lang("x 12 34")]
    monkeypatch.setattr(inputs, "detect_lang", lambda text: pytest.fail("language detected again"))
    assert inputs.content_langs(inv) == first
