"""The labeled corpus: schema, label ids, balance minimums, language tags, no duplicates or
leakage between splits, and the shipped default model trained on exactly this corpus."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from contentplan.training.corpus import corpus_hash, load_split, normalise
from contentplan.model.lang import detect_lang
from contentplan.domain.schemes import NONE, canonical_ids, formats

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpora"


@pytest.fixture(scope="module")
def splits():
    return {s: load_split(CORPUS, s) for s in ("train", "test")}


def test_schema_and_label_ids(splits):
    for split, (q, c) in splits.items():
        assert set(q.stage) <= set(canonical_ids()) | {NONE}   # 'none': text on no journey (guide rule 17)
        assert set(c.stage) <= set(canonical_ids()) | {NONE}
        assert set(c.format) <= set(formats())
        assert set(q.lang) == {"fr", "en"}
        assert set(q.market) <= {"b2b", "b2c"}
        assert (q.text.str.strip() != "").all()
        words = c.body.str.split().str.len()
        assert words.between(50, 400).all(), f"{split}: content bodies must have 50-400 words"


def test_minimum_counts_and_balance(splits):
    q, c = splits["train"]
    qt, ct = splits["test"]
    allq = len(q) + len(qt)
    assert allq >= 5000
    fr = (q.lang == "fr").sum() + (qt.lang == "fr").sum()
    en = (q.lang == "en").sum() + (qt.lang == "en").sum()
    assert fr / allq >= 0.45 and en / allq >= 0.45
    per_stage = Counter(q.stage) + Counter(qt.stage)
    assert min(per_stage[s] for s in canonical_ids()) >= 300, per_stage
    assert len(c) + len(ct) >= 1000
    assert set(c.lang) == {"fr", "en"}
    industries = set(q.industry) | set(qt.industry)
    assert len(industries) >= 20
    assert set(q.market) == {"b2b", "b2c"}
    assert set(q.kind) == {"keyword", "question", "chat", "sales_note"}
    assert c.mixed.sum() >= 50, "mixed pieces (e.g. an article ending with a call to action) must be present"


def test_language_tags_match_detected_language(splits):
    for split, (q, c) in splits.items():
        agree = np.mean([detect_lang(t) == l for t, l in zip(q.text, q.lang)])
        assert agree >= 0.97, f"{split}: only {agree:.1%} of language tags match the detector"
        agree_c = np.mean([detect_lang(f"{t} {b}") == l for t, b, l in zip(c.title, c.body, c.lang)])
        assert agree_c >= 0.99


def _texts(q, c):
    return q.text.tolist() + (c.title + "\n" + c.body).tolist()


def test_no_two_items_share_a_normalised_text(splits):
    seen = {}
    for split, (q, c) in splits.items():
        for src, text in zip(list(q.source) + list(c.source), _texts(q, c)):
            key = normalise(text)
            assert key not in seen, f"{src} repeats {seen[key]}"
            seen[key] = src


def _trigram_matrix(texts, vectorizer=None):
    docs = [" ".join(normalise(t)) if False else normalise(t) for t in texts]
    vectorizer = vectorizer or CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True, lowercase=False).fit(docs)
    return vectorizer.transform(docs).astype(np.float32).tocsr(), vectorizer


def _near_duplicates(a_texts, b_texts, threshold=0.8):
    A, vec = _trigram_matrix(a_texts + b_texts)
    A, B = A[: len(a_texts)], A[len(a_texts):]
    na, nb = np.asarray(A.sum(1)).ravel(), np.asarray(B.sum(1)).ravel()
    pairs = []
    for start in range(0, A.shape[0], 2000):
        inter = (A[start:start + 2000] @ B.T).toarray()
        union = na[start:start + 2000, None] + nb[None, :] - inter
        hits = np.argwhere(inter / np.maximum(union, 1) >= threshold)
        pairs += [(start + i, j) for i, j in hits]
    return pairs


def test_no_near_duplicates_across_splits(splits):
    q, c = splits["train"]
    qt, ct = splits["test"]
    pairs = _near_duplicates(_texts(q, c), _texts(qt, ct))
    train_src = list(q.source) + list(c.source)
    test_src = list(qt.source) + list(ct.source)
    assert not pairs, "train/test near-duplicates (char-3-gram Jaccard >= 0.8): " + \
        "; ".join(f"{train_src[i]} ~ {test_src[j]}" for i, j in pairs[:10])


def test_default_model_is_trained_on_this_corpus():
    meta = json.loads((ROOT / "models" / "default" / "meta.json").read_text(encoding="utf-8"))
    assert meta["corpus_sha256"] == corpus_hash(CORPUS), (
        "corpora/ changed since models/default was trained: retrain with "
        "'contentplan train --corpus corpora -o models/default'")
