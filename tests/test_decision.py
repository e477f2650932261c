"""One rule turns probabilities into a stage: classify, gaps and prospects give the same stage for
the same text, ``unclear`` included (issue: gaps used to count abstained questions as demand)."""
from __future__ import annotations

import pandas as pd

from contentplan.reports.gaps import gap_report
from contentplan.model.pipeline import JourneyModel, label_frame
from contentplan.reports.journeys import prospect_journeys
from contentplan.domain.schemes import UNCLEAR, load_scheme

TEXTS = ["how do I import my contacts", "crm", "thermostat", "pompe à chaleur", "tarif devis pompe à chaleur",
         "mon colis est arrivé abîmé", "hubspot vs salesforce", "c'est quoi le lead nurturing", "12345"]


def test_classify_gaps_and_prospects_agree_on_every_text(tiny_model_dir, tmp_path):
    loaded = JourneyModel.load(tiny_model_dir)   # cached: never mutate it
    model = JourneyModel(loaded.estimator, {**loaded.meta, "min_confidence": 0.3})   # abstention bites on the tiny model
    bj = load_scheme("buyer-journey")
    classified = label_frame(model, TEXTS, bj).stage.tolist()
    assert UNCLEAR in classified and len(set(classified) - {UNCLEAR}) >= 2

    report = gap_report(pd.DataFrame({"title": ["Import guide"], "body": ["How to import contacts step by step."]}),
                        pd.DataFrame({"question": TEXTS}), model=model)
    assert report.questions.stage.tolist() == classified
    # Abstained questions are not demand: the cells' demand sums to the answered-or-not staged questions.
    assert report.gaps.questions.sum() == sum(s != UNCLEAR for s in classified)

    history = pd.DataFrame({"prospect": ["p"] * len(TEXTS), "date": pd.date_range("2026-01-01", periods=len(TEXTS)).astype(str),
                            "text": TEXTS})
    journeys = prospect_journeys(history, model=model)
    assert [q["question_stage"] for q in journeys.timeline["p"]["questions"]] == classified


def test_pages_on_no_journey_are_neither_supply_nor_demand(tmp_path):
    """A model with the 'none' class: a legal notice comes out 'none' in gaps, tag and classify,
    and is counted in no cell; a 'none' question is not demand."""
    from contentplan.model.estimator import StageClassifier
    from contentplan.domain.schemes import NONE
    from tests.conftest import TINY

    off = [("mentions légales éditeur du site hébergeur", NONE), ("legal notice publisher of this website host", NONE),
           ("we are hiring a backend engineer apply now", NONE), ("nous recrutons un développeur envoyez votre cv", NONE),
           ("privacy policy cookies personal data", NONE), ("politique de confidentialité données personnelles cookies", NONE)]
    texts, labels = zip(*(TINY + off))
    est = StageClassifier(embedder="tfidf-hash", C=10.0, calibrate=False, cache=False).fit(list(texts), list(labels))
    model = JourneyModel(est, {"min_confidence": 0.0, "embedder": "tfidf-hash"})
    assert model.has_none
    content = pd.DataFrame({"title": ["Mentions légales", "Import your contacts"],
                            "body": ["Éditeur du site : société X. Hébergeur : Y. Données personnelles et cookies.",
                                     "How do I import my contacts: open settings, choose import, pick the file."]})
    questions = pd.DataFrame({"question": ["legal notice publisher host", "how do I import my contacts"]})
    report = gap_report(content, questions, model=model)
    assert report.content.stage.tolist()[0] == NONE
    assert report.questions.stage.tolist()[0] == NONE
    assert report.gaps.supply.sum() == 1 and report.gaps.questions.sum() == 1
    assert report.meta["not_counted"] == {"questions_unclear": 0, "questions_none": 1, "content_unclear": 0, "content_none": 1}
    assert "not counted: 0 question(s) unclear, 1 on no journey; 0 piece(s) unclear, 1 on no journey" in report.summary_lines()[1]
    assert label_frame(model, ["legal notice publisher host"], load_scheme("buyer-journey")).stage[0] == NONE
