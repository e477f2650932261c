"""The estimator: scikit-learn contract, overfit -> save -> load -> same predictions, batch vs one
by one, calibration, explanations, model-folder checks."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from contentplan.model.artifacts import load_estimator, read_meta, save_model
from contentplan.errors import ModelError
from contentplan.model.estimator import StageClassifier
from contentplan.model.pipeline import JourneyModel

from .conftest import TINY

TEXTS, LABELS = map(list, zip(*TINY))


@pytest.mark.parametrize("params", [dict(embedder=None), dict(embedder="tfidf-hash"), dict(embedder="tfidf-hash", ngrams=False)])
def test_overfit_save_load_same_predictions(tmp_path, params):
    est = StageClassifier(C=100.0, calibrate=False, **params).fit(TEXTS, LABELS)
    assert (est.predict(TEXTS) == np.array(LABELS)).mean() >= 0.95
    meta = {"labels": list(est.classes_), "embedder": str(est.embedder), "embedding_dim": getattr(est, "embedding_dim_", None)}
    save_model(est, meta, tmp_path / "m")
    loaded = load_estimator(tmp_path / "m", read_meta(tmp_path / "m"))
    assert np.allclose(loaded.predict_proba(TEXTS), est.predict_proba(TEXTS))
    assert list(loaded.predict(TEXTS)) == list(est.predict(TEXTS))


def test_sklearn_contract():
    est = StageClassifier(embedder=None, C=3.0)
    assert est.get_params()["C"] == 3.0
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "classes_")
    assert est.fit(TEXTS, LABELS) is est
    assert set(est.classes_) == set(LABELS)
    proba = est.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 10) and np.allclose(proba.sum(1), 1)
    scores = cross_val_score(StageClassifier(embedder=None, calibrate=False), TEXTS * 2, LABELS * 2, cv=2)
    assert scores.shape == (2,)


def test_calibration_fits_a_temperature():
    est = StageClassifier(embedder=None, calibrate=True).fit(TEXTS * 2, LABELS * 2)
    assert 0.2 <= est.temperature_ <= 5.0


def test_batch_and_one_by_one_agree():
    est = StageClassifier(embedder="tfidf-hash", calibrate=False).fit(TEXTS, LABELS)
    batch = est.predict_proba(TEXTS)
    single = np.vstack([est.predict_proba([t]) for t in TEXTS])
    assert np.allclose(batch, single, atol=1e-6)


def test_explanations_name_the_words_that_pushed():
    extra = [("tarif formation excel", "offer"), ("devis toiture gratuit", "offer"), ("le tarif de la pompe", "offer")]
    texts, labels = zip(*(TINY + extra))
    est = StageClassifier(embedder=None, C=50.0, calibrate=False).fit(list(texts), list(labels))
    (terms,) = est.explain(["tarif devis pompe à chaleur"], ["offer"])
    assert terms and terms[0] in ("tarif", "devis", "tarif devis")
    assert not any(t in ("a", "le", "de") for t in terms)


def test_corrupt_model_folders(tmp_path, tiny_model_dir):
    with pytest.raises(ModelError) as err:
        JourneyModel.load(tmp_path / "nope")
    assert str(err.value) == f"{tmp_path / 'nope'}: model folder not found; pass --model with a folder made by 'contentplan train'"

    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    meta = json.loads((bad / "meta.json").read_text())
    meta["format_version"] = 99
    (bad / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError) as err:
        read_meta(bad)
    assert str(err.value) == f"{bad}: model format version 99 is not supported (this contentplan reads version 1); retrain with 'contentplan train'"

    meta["format_version"] = 1
    meta["embedding_dim"] = 384
    (bad / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError) as err:
        load_estimator(bad, read_meta(bad))
    assert str(err.value) == f"{bad}: embedding dimension mismatch (2048 in the estimator, 384 in meta.json); retrain with 'contentplan train'"

    (bad / "estimator.skops").write_bytes(b"garbage")
    with pytest.raises(ModelError) as err:
        load_estimator(bad, read_meta(bad))
    assert str(err.value) == f"{bad / 'estimator.skops'}: corrupt model file (BadZipFile); retrain with 'contentplan train'"


def test_pickled_or_crafted_estimators_are_refused(tmp_path, tiny_model_dir):
    """A skops file that would instantiate an untrusted type (here os.system via a crafted node) is refused."""
    import zipfile

    bad = tmp_path / "evil"
    shutil.copytree(tiny_model_dir, bad)
    est_file = bad / "estimator.skops"
    with zipfile.ZipFile(est_file) as zf:
        schema = json.loads(zf.read("schema.json"))
        others = {n: zf.read(n) for n in zf.namelist() if n != "schema.json"}
    schema["content"]["content"]["evil"] = {"__class__": "system", "__module__": "os", "__loader__": "TypeNode", "__id__": 999999}
    with zipfile.ZipFile(est_file, "w") as zf:
        zf.writestr("schema.json", json.dumps(schema))
        for n, b in others.items():
            zf.writestr(n, b)
    with pytest.raises(ModelError) as err:
        load_estimator(bad, read_meta(bad))
    assert "refuses to load untrusted type(s) os.system" in str(err.value)

    (bad / "estimator.skops").unlink()
    (bad / "estimator.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelError) as err:
        load_estimator(bad, read_meta(bad))
    assert str(err.value) == f"{bad}: no estimator.skops (found estimator.pkl: pickle files are never loaded); retrain with 'contentplan train'"


def test_documents_are_not_decided_by_a_closing_call_to_action(tiny_model_dir):
    model = JourneyModel.load(tiny_model_dir)
    body = ("What is customer churn and why does it matter? Churn is the share of customers who leave. "
            "Why do my customers leave? What is a normal churn rate? Why does churn rise in summer?\n\n"
            "What is churn in subscription businesses and why is it a risk for revenue? What is a cohort?\n\n"
            "Book a demo.")
    (doc,) = model.documents([("What is customer churn", body)])
    assert len(doc.passages) == 3
    from contentplan.domain.schemes import canonical_ids
    assert canonical_ids()[int(np.argmax(doc.proba))] == "problem"


def test_saving_a_model_never_replaces_a_folder_that_is_not_a_model(tmp_path):
    """train -o DIR used to rename and remove any existing folder, whatever it held."""
    from contentplan.model.artifacts import save_model
    from contentplan.errors import ModelError
    from contentplan.model.estimator import StageClassifier
    from tests.conftest import TINY

    texts, labels = zip(*TINY)
    est = StageClassifier(embedder=None, calibrate=False).fit(list(texts), list(labels))
    meta = {"name": "m", "labels": list(est.classes_), "embedder": "none", "embedding_dim": None,
            "corpus_sha256": "0" * 64, "min_confidence": 0.0, "scheme": "canonical"}
    thesis = tmp_path / "work"
    thesis.mkdir()
    (thesis / "thesis.tex").write_text("chapter 1", encoding="utf-8")
    with pytest.raises(ModelError, match="is not a contentplan model folder"):
        save_model(est, meta, thesis)
    assert (thesis / "thesis.tex").read_text(encoding="utf-8") == "chapter 1"
    model_dir = tmp_path / "model"
    save_model(est, meta, model_dir)
    save_model(est, meta, model_dir)   # a model folder is replaced, as retraining does
    assert (model_dir / "meta.json").is_file()


def test_test_split_scores_count_a_none_answer_as_wrong_not_as_a_crash(tmp_path):
    """A model whose most likely label is `none` for some test items (the eleventh column) is
    scored as every command answers: `none`, wrong against a stage; canonical scoring must not
    index past the ten stages."""
    from types import SimpleNamespace

    from contentplan.domain.schemes import model_labels
    from contentplan.training.train import test_metrics

    labels = model_labels()
    test = tmp_path / "test"
    test.mkdir()
    rows = [("how much does it cost", "offer"), ("how do i import my contacts", "onboarding"),
            ("what is churn", "problem"), ("hubspot vs salesforce", "vendor")]
    (test / "questions_x.jsonl").write_text("".join(
        json.dumps({"text": t, "stage": s, "lang": "en", "kind": "keyword", "industry": "saas", "market": "b2b"}) + "\n"
        for t, s in rows), encoding="utf-8")
    (test / "content_x.jsonl").write_text(json.dumps(
        {"title": "Pricing", "body": "Plans and prices.", "stage": "offer", "format": "pricing_page", "lang": "en",
         "industry": "saas", "market": "b2b", "mixed": False}) + "\n", encoding="utf-8")

    def proba(texts):
        out = np.zeros((len(texts), len(labels)))
        for i, t in enumerate(texts):
            gold = dict(rows)[t]
            # The first two right, the last two answered `none`.
            out[i, labels.index(gold) if i < 2 else labels.index("none")] = 1.0
        return out

    def documents(items, langs=None):   # every page answered `none`
        return [SimpleNamespace(proba=np.eye(len(labels))[labels.index("none")]) for _ in items]

    model = SimpleNamespace(proba=proba, documents=documents)
    scores = test_metrics(model, tmp_path)
    assert scores["canonical"]["questions"]["model"]["accuracy"] == pytest.approx(0.5)
    assert scores["buyer-journey"]["questions"]["model"]["accuracy"] == pytest.approx(0.5)
    assert scores["buyer-journey"]["content"]["model"]["accuracy"] == 0.0
