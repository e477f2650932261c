"""Demo, trial, quote and contact requests: answered only by a page that offers that action."""
from __future__ import annotations

import numpy as np
import pytest

from contentplan.match import (
    ACTIONS,
    FEATURES,
    MatchModel,
    asked_actions,
    build_index,
    encode_queries,
    feature_arrays,
    match_model_for,
    match_questions,
    offered_actions,
    tokens,
)


@pytest.mark.parametrize("question, actions", [
    ("réserver une démo de l'outil de paie Payflo", ["demo"]),
    ("payflo demonstration for HR teams", ["demo"]),
    ("est-ce qu'on peut essayer Payflo gratuitement 15 jours", ["trial"]),
    ("payflo 30 day trial", ["trial"]),
    ("ouvrir un compte d'essai : créer un compte payflo", ["trial"]),
    ("we need a quote for 300 payslips a month", ["quote"]),
    ("demander un devis pour la paie de 45 salariés", ["quote"]),
    ("je souhaite être rappelée par un conseiller paie", ["contact"]),
    ("speak with someone at payflo about payroll in Belgium", ["contact"]),
    ("prendre rendez-vous avec un expert paie", ["contact"]),
    ("payflo prix par bulletin", []),                       # a price, not an action
    ("how to export payslips to the accounting software", []),
    ("payflo peut-il générer des devis pour mes clients", []),  # a feature named like an action
    ("how do I subscribe online without having to talk to sales?", []),
    ("s'abonner sans parler à un commercial, c'est possible ?", []),
    ("what do I give when I sign up for the newsletter", []),     # signing up as a circumstance
])
def test_what_a_question_asks_for(question, actions):
    assert asked_actions(question) == actions


@pytest.mark.parametrize("page, actions", [
    ("Réservez votre démo personnalisée : choisissez un créneau de 20 minutes.", ["demo"]),
    ("Schedule a free demo with our payroll team.", ["demo"]),
    ("Essayez Payflo gratuitement, sans carte bancaire.", ["trial"]),
    ("Start your free trial today.", ["trial"]),
    ("Obtenez votre devis en 24 heures grâce au formulaire.", ["quote"]),
    ("Get a custom quote for more than 500 employees.", ["quote"]),
    ("Une question ? Écrivez-nous à paie@payflo.example.", ["contact"]),
    ("Un conseiller vous rappelle sous deux heures.", ["contact"]),
    ("Payflo calcule les cotisations et édite les bulletins chaque mois.", []),
    ("Envoyez un rappel de paiement à vos clients en un clic.", []),   # a reminder, not a call back
    ("Most quotes include supplies; windows are extra.", []),         # quotes mentioned, none offered
])
def test_what_a_page_offers(page, actions):
    assert offered_actions(page) == actions


PAGES = [("Tarifs Payflo", "La paie coûte 4 € par bulletin et par mois, sans engagement.", "https://payflo.example/tarifs"),
         ("Réserver une démo", "Réservez une démo de 20 minutes avec un expert paie : choisissez un créneau.",
          "https://payflo.example/demo"),
         ("Payroll for Belgium", "Payflo runs Belgian payroll with the social secretariat rules built in.",
          "https://payflo.example/en/belgium")]


def _index(pages):
    t, b, u = zip(*pages)
    return build_index(list(t), list(b), list(u), [[f"{x}. {y}"] for x, y in zip(t, b)], None)


def _gap(index, questions):
    q = encode_queries(index, [tokens(x) for x in questions], texts=questions)
    return feature_arrays(index, q)[0]["action_gap"]


def test_action_gap_is_one_only_for_a_request_and_a_page_without_its_offer():
    index = _index(PAGES)
    gap = _gap(index, ["demande de démo payflo", "payflo prix par bulletin", "payflo free trial",
                       "get a quote for payflo"])
    assert gap.tolist() == [[1, 0, 1],      # the demo page offers the demo
                            [0, 0, 0],      # no action asked
                            [1, 1, 1],      # no page offers a trial
                            [1, 1, 1]]      # nor a quote or a sales contact
    assert "action_gap" in FEATURES and len(ACTIONS) == 4


def test_a_quote_request_is_served_by_a_sales_contact():
    index = _index([("Contact sales", "Email sales@payflo.example and an account executive replies within a day.",
                     "https://payflo.example/contact")])
    assert _gap(index, ["request a quote for 80 payslips", "talk to sales"]).tolist() == [[0], [0]]


def test_the_shipped_model_lowers_p_answered_when_the_page_offers_no_such_action():
    model, _ = match_model_for("use-multilingual")
    assert model.weights["action_gap"] < 0 and model.answer_weights["action_gap"] < 0
    q = ["réserver une démo payflo paie"]
    without = match_questions(_index([PAGES[0], PAGES[2]]), q, None, None, model, explain=False)
    demo = ("Tarifs Payflo", PAGES[0][1] + " Réservez une démo de 20 minutes avec un expert paie.", PAGES[0][2])
    offered = match_questions(_index([demo, PAGES[2]]), q, None, None, model, explain=False)
    assert without.best_page[0] == offered.best_page[0] == 0
    assert without.p_answered[0] < offered.p_answered[0]


@pytest.mark.parametrize("question", ["démo payflo", "demande de démo payflo", "payflo demo"])
def test_of_two_pages_alike_the_one_that_offers_the_demo_ranks_first(question):
    """Two pages with the same words but one: the video page shows a demo, the other offers one.
    Without the action check (its weights at 0) the video page, listed first, wins the tie."""
    pages = [("Payflo en vidéo", "Regardez la démo Payflo : trois minutes sur l'édition des bulletins de paie.",
              "https://payflo.example/video"),
             ("Payflo pour les cabinets", "Réservez une démo Payflo : trente minutes sur l'édition des bulletins de paie.",
              "https://payflo.example/cabinets")]
    model, _ = match_model_for("use-multilingual")
    d = model.to_dict()
    d["weights"]["action_gap"] = d["calibration"]["weights"]["action_gap"] = 0.0
    before = MatchModel.from_dict(d)
    assert match_questions(_index(pages), [question], None, None, before, explain=False).best_page[0] == 0
    res = match_questions(_index(pages), [question], None, None, model, explain=False)
    assert res.best_page[0] == 1


def test_a_model_fitted_before_the_action_check_reads_with_no_weight_for_it():
    d = match_model_for("use-multilingual")[0].to_dict()
    del d["weights"]["action_gap"], d["calibration"]["weights"]["action_gap"]
    m = MatchModel.from_dict(d)
    assert m.weights["action_gap"] == 0.0 and m.answer_weights["action_gap"] == 0.0
    assert np.isfinite(m.p_answered(np.zeros((1, 6)))).all()


# ----------------------------------------------------------------------------- the action-request set

ACTIONS_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "corpora" / "matching" / "actions"


def test_the_action_set_is_well_formed():
    from contentplan.training.matchdata import action_sites
    pages, qs = action_sites(ACTIONS_DIR)
    assert pages.id.is_unique and qs.qid.is_unique and qs.question.is_unique
    assert set(qs.split) == {"fit", "heldout"} and set(qs.lang) == set(pages.lang) == {"fr", "en"}
    asks = qs.question.map(asked_actions).map(bool)
    assert asks.sum() >= 40 and (~asks).sum() >= 10                    # requests and ordinary questions
    unanswered = qs.answering == ""
    assert unanswered.sum() >= 8 and asks[unanswered].all()           # the unanswered are requests
    site_of = dict(zip(pages.id, pages.site))
    assert all(site_of[p] == s for a, s in zip(qs.answering, qs.site) for p in a.split("|") if p)


def test_an_unknown_answering_page_is_named(tmp_path):
    from contentplan.errors import InputError
    from contentplan.training.matchdata import action_sites
    (tmp_path / "pages.csv").write_text((ACTIONS_DIR / "pages.csv").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "questions.csv").write_text("qid,site,lang,split,question,answering\naq-1,pipewise,en,fit,pipewise demo,pw-dmeo\n",
                                            encoding="utf-8")
    with pytest.raises(InputError, match=r"questions.csv: answering page\(s\) pw-dmeo not in pages.csv"):
        action_sites(tmp_path)
