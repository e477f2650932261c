"""Shared fixtures: tiny inline data, a small model trained with the dependency-free embedder,
and a CLI runner. Tests that need the shipped default model say so with the ``model`` marker."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Tiny labeled data: a few items per canonical stage, both languages.
TINY = [
    ("what is customer churn", "problem"), ("pourquoi mes clients partent", "problem"),
    ("why does my boiler make noise", "problem"), ("c'est quoi le lead nurturing", "problem"),
    ("how to reduce churn", "solution"), ("comment choisir un crm", "solution"),
    ("best practices for onboarding emails", "solution"), ("méthode pour isoler des combles", "solution"),
    ("hubspot vs salesforce", "vendor"), ("avis logiciel pipedrive", "vendor"),
    ("best crm for startups reviews", "vendor"), ("comparatif fournisseurs électricité", "vendor"),
    ("crm pricing per user", "offer"), ("tarif devis pompe à chaleur", "offer"),
    ("book a demo", "offer"), ("essai gratuit logiciel paie", "offer"),
    ("delivery time to lyon", "purchase"), ("paiement en 3 fois possible", "purchase"),
    ("can I pay by bank transfer", "purchase"), ("où acheter en magasin", "purchase"),
    ("how do I import my contacts", "onboarding"), ("comment activer ma carte", "onboarding"),
    ("getting started with the app", "onboarding"), ("paramétrer mon thermostat", "onboarding"),
    ("is our roi good after six months", "evaluation"), ("mes panneaux produisent moins que prévu", "evaluation"),
    ("measure results of the new tool", "evaluation"), ("bilan après un an d'utilisation", "evaluation"),
    ("the app crashes on login", "support"), ("mon colis est arrivé abîmé", "support"),
    ("refund for a damaged item", "support"), ("erreur 403 sur mon compte", "support"),
    ("upgrade to the pro plan", "loyalty"), ("résilier mon abonnement", "loyalty"),
    ("renew my licence", "loyalty"), ("programme de fidélité points", "loyalty"),
    ("refer a friend bonus", "advocacy"), ("parrainer un collègue", "advocacy"),
    ("how do I leave a review", "advocacy"), ("devenir ambassadeur de la marque", "advocacy"),
]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session writes embeddings to its own cache, never the user's."""
    monkeypatch.setenv("CONTENTPLAN_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("CONTENTPLAN_NO_PROGRESS", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A small model trained on TINY with the hashing embedder, saved as a real model folder."""
    from contentplan.model.artifacts import save_model
    from contentplan.model.estimator import StageClassifier

    os.environ.setdefault("CONTENTPLAN_CACHE", "off")
    texts, labels = zip(*TINY)
    est = StageClassifier(embedder="tfidf-hash", C=10.0, calibrate=False).fit(list(texts), list(labels))
    meta = {"name": "tiny", "labels": list(est.classes_), "embedder": "tfidf-hash", "embedding_dim": est.embedding_dim_,
            "corpus_sha256": "0" * 64, "min_confidence": 0.0, "scheme": "canonical"}
    path = tmp_path_factory.mktemp("models") / "tiny"
    save_model(est, meta, path, "# tiny test model\n")
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli():
    from contentplan.cli import cli as command
    return command
