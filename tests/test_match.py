"""Gap matching (#17): BM25 over folded text, the fused score and its calibrated P(answered),
cross-stage answers with the mismatch said, --match-precision / --match-threshold, multi-label
content personas, and the pieces the real-page benchmark uses."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contentplan.errors import InputError
from contentplan.reports.gaps import gap_report
from contentplan.match import (ANSWER_INPUTS, FEATURES, PRECISIONS, build_index, encode_queries, features,
                               fit_match_model, match_model_for, match_questions, operating_points, slug_text, tokens)
from contentplan.domain.personas import declared_personas, load_personas

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "gaps"


def _lexical_index(pages, urls=None, langs=None):
    titles = [t for t, _ in pages]
    bodies = [b for _, b in pages]
    return build_index(titles, bodies, urls or [""] * len(pages), [[b] for b in bodies], None, langs=langs)


def _features_of(index, questions, lang=None):
    q = encode_queries(index, [tokens(x) for x in questions], lang=lang)
    X, _ = features(index, q)
    return {f: X[..., k] for k, f in enumerate(FEATURES)}


def _shipped():
    model, source = match_model_for("use-multilingual")
    assert model is not None and source == "calibrated"
    return model


# ----------------------------------------------------------------------------- BM25

def test_tokens_fold_case_accents_stop_words_and_plurals():
    assert tokens("Études de CAS clients") == tokens("etudes de cas client") == ["etude", "cas", "client"]
    assert tokens("Quels sont vos TARIFS ?") == ["tarif"]
    assert tokens("price of the iPhone 15") == ["price", "iphone", "15"]
    assert slug_text("https://acme.example/fr/tarifs-crm.html?x=1") == "fr tarifs crm"


def test_bm25_matches_across_case_and_accents():
    index = _lexical_index([("Études de cas", "Nos études de cas clients dans la maintenance."),
                            ("Mentions légales", "Éditeur du site, hébergeur, contact.")])
    f = _features_of(index, ["etude de cas maintenance", "ETUDES DE CAS MAINTENANCE"])
    assert f["bm25_body"][0, 0] > 0 and f["bm25_body"][0, 1] == 0
    assert np.allclose(f["bm25_body"][0], f["bm25_body"][1])                   # case and accents do not matter
    assert f["coverage"][0, 0] == pytest.approx(1.0) and f["missing"][0, 0] == 0


def test_a_word_the_page_never_uses_is_missing_and_lowers_coverage():
    index = _lexical_index([("Pilotis", "Pilotis plans interventions."), ("Blog", "Pilotis news and interventions.")])
    f = _features_of(index, ["pilotis vs servicetitan"])
    assert f["missing"][0, 0] == pytest.approx(1.0) and f["coverage"][0, 0] < 0.5


def test_brand_name_query_beats_a_generic_passage():
    pages = [("Combien coûte un logiciel de planification ?",
              "Le prix d'un logiciel de planification dépend du nombre d'utilisateurs, des modules et du support. "
              "Comptez un tarif par utilisateur et par mois."),
             ("Tarifs Pilotis", "Pilotis : trois formules, Essentiel, Pro et Entreprise, facturées par technicien."),
             ("Nos techniciens sur le terrain", "Une journée avec nos techniciens de maintenance.")]
    index = _lexical_index(pages, urls=["/blog/prix-logiciel", "/tarifs", "/blog/terrain"])
    res = match_questions(index, ["pilotis tarif", "Pilotis tarifs ?"], None, None, _shipped())
    assert res.best_page.tolist() == [1, 1]
    assert "pilotis" in res.terms[0].lower() and "Pilotis" in res.passage[0]
    # The same question without the brand has no reason to prefer the brand's page over the generic one.
    assert match_questions(index, ["prix logiciel de planification par utilisateur"], None, None, _shipped()).best_page[0] == 0


def test_demo_request_goes_to_the_demo_page_not_the_pricing_page():
    pages = [("Tarifs", "Pilotis : trois formules par technicien et par mois, essai gratuit de 14 jours."),
             ("Réserver une démonstration", "Un expert Pilotis vous présente l'outil en 30 minutes, sur vos cas.")]
    index = _lexical_index(pages, urls=["https://pilotis.example/tarifs", "https://pilotis.example/demo"])
    res = match_questions(index, ["demande de démo pilotis", "pilotis tarif"], None, None, _shipped())
    assert res.best_page.tolist() == [1, 0]


def test_a_price_question_is_not_answered_by_a_page_that_states_no_price():
    """The bundled example's failure: "combien coûte…" matched a buying guide full of the right words
    but without a single price. A page with an amount or a rate per month may answer; one without may not."""
    guide = ("Choisir un logiciel de planification", "Le coût d'un logiciel de planification : critères, modules, "
             "support, nombre de techniciens. Comment comparer les logiciels de planification.")
    priced = ("Tarifs", "Le logiciel de planification Pilotis : formule Pro à 39 € par technicien et par mois.")
    q = ["combien coûte un logiciel de planification"]
    alone = match_questions(_lexical_index([guide]), q, None, None, _shipped())
    both = match_questions(_lexical_index([guide, priced]), q, None, None, _shipped())
    f = _features_of(_lexical_index([guide, priced]), q)
    assert f["price_gap"][0].tolist() == [1.0, 0.0]
    assert _features_of(_lexical_index([guide]), ["comment comparer les logiciels de planification"])["price_gap"][0, 0] == 0
    assert alone.p_answered[0] < 0.05                    # the guide alone: not answered, whatever its words
    assert both.best_page[0] == 1 and both.p_answered[0] > alone.p_answered[0]


def test_same_language_page_preferred_when_the_words_are_the_same():
    pages = [("Pricing", "Pricing plans per user and per month."), ("Pricing", "Pricing plans per user and per month.")]
    index = _lexical_index(pages, langs=["fr", "en"])
    res = match_questions(index, ["pricing plans per user"], None, None, _shipped(), q_lang=["en"])
    assert res.best_page[0] == 1


# ----------------------------------------------------------------------------- the fitted model

def test_calibrated_probability_is_monotone_in_score():
    m = _shipped()
    A = np.zeros((50, len(ANSWER_INPUTS)))
    A[:, 0] = np.linspace(-6, 6, 50)
    A[:, 2:] = [0.6, 1.0, 0.0, 0.0]                                    # coverage, same language, no price gap, no action gap
    p = m.p_answered(A)
    assert np.all(np.diff(p) > 0) and 0 < p[0] < p[-1] < 1


def test_shipped_model_records_its_operating_points_and_held_out_figures():
    m = _shipped()
    assert set(m.thresholds) == set(PRECISIONS)
    assert m.thresholds["high"] >= m.thresholds["balanced"] >= m.thresholds["recall"]
    held = m.info["heldout"]
    assert held["questions"] > 0 and 0 <= held["hit@1"] <= 1
    assert held["high"]["precision"] >= held["balanced"]["precision"] >= held["recall"]["precision"]
    assert held["high"]["recall"] <= held["balanced"]["recall"] <= held["recall"]["recall"]


def _synthetic_groups(n=300, pages=20, seed=0):
    """Questions whose answering page has a higher cosine and BM25 than the others, and some unanswered."""
    rnd = np.random.default_rng(seed)
    groups = []
    for i in range(n):
        # The first 15 features' noise, as drawn before the action check (16th) was added: 0 for it.
        X = np.zeros((pages, len(FEATURES)), dtype=np.float32)
        X[:, :15] = rnd.normal(0, 0.1, (pages, 15))
        X[:, FEATURES.index("same_lang")] = 1.0
        pos = set()
        if i % 3:
            j = int(rnd.integers(pages))
            strength = rnd.uniform(0, 1)
            X[j, FEATURES.index("cos")] += strength
            X[j, FEATURES.index("bm25_body")] += strength
            X[j, FEATURES.index("coverage")] += strength
            pos = {j}
        groups.append((X, pos))
    return groups


def test_fit_learns_positive_weights_and_ordered_operating_points():
    m = fit_match_model(_synthetic_groups())
    assert m.weights["cos"] > 0 and m.weights["bm25_body"] > 0
    assert m.answer_weights["score"] > 0
    assert m.thresholds["high"] >= m.thresholds["balanced"] >= m.thresholds["recall"]
    again = type(m).from_dict(json.loads(json.dumps(m.to_dict())))             # plain JSON round trip
    X = _synthetic_groups(5, seed=1)[0][0]
    assert np.allclose(again.score(X), m.score(X), atol=1e-4)


def test_listwise_ranking_puts_each_question_answer_above_its_own_rivals():
    """The answer is the best page of ITS question on feature 0, but each question's pages sit at their
    own level of it (a question-wide offset) and feature 1 is noise that is high on many non-answers:
    the ranking fit must learn feature 0 and rank every question's answer first on fresh questions."""
    from contentplan.match import _listwise

    def sets(n, seed):
        rnd = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            x = np.column_stack([rnd.normal(rnd.normal(0, 3), 0.3, 12), rnd.normal(0, 1, 12)])
            y = np.zeros(12, dtype=bool)
            j = int(np.argmax(x[:, 0]))
            x[j, 0] += 0.5                 # the answer stands out from its own rivals
            y[j] = True
            out.append((x, y))
        return out
    w = _listwise(sets(200, 0))
    assert w[0] > 0 and abs(w[1]) < w[0] / 5
    fresh = sets(100, 1)
    assert all(int(np.argmax(x @ w)) == int(np.flatnonzero(y)[0]) for x, y in fresh)


def test_operating_points_on_a_known_curve():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    ok = np.array([1, 1, 1, 0, 1, 0, 1, 0], dtype=bool)
    th = operating_points(p, ok, n_answerable=6)
    assert th["high"] == pytest.approx(0.65)           # 3/3 right above it; the next cut drops to 3/4
    assert th["recall"] < 0.3                          # 0.9 of 6 answerable is never reached: the most complete point
    assert th["high"] >= th["balanced"] >= th["recall"]


# ----------------------------------------------------------------------------- the gap report

@pytest.fixture(scope="module")
def open_report(tiny_model_dir):
    """Every question called answered (threshold 0): where the best page is of another stage, it shows."""
    return gap_report(FIX / "content.csv", FIX / "questions.csv", FIX / "personas.yaml", model=tiny_model_dir,
                      match_threshold=0.0)


def test_cross_stage_answer_is_kept_and_the_mismatch_flagged(open_report):
    q = open_report.questions
    assert q.answered.all()
    cross = q[q.best_match_stage != q.stage]
    assert len(cross) and cross.stage_mismatch.all() and not q.stage_mismatch[q.best_match_stage == q.stage].any()
    # The decision questions have no decision page: they keep their best page, flagged.
    assert (q.stage_mismatch[q.stage == "decision"]).all()
    assert open_report.meta["stage_mismatches"] == int(q.stage_mismatch.sum())
    assert "Stage mismatch: " in open_report.to_markdown()
    assert q.match_passage.str.len().gt(0).all() and q.match_passage.str.len().le(161).all()


def test_match_precision_settings_order_what_counts_as_answered(tiny_model_dir):
    counts = {}
    for setting in PRECISIONS:
        rep = gap_report(FIX / "content.csv", FIX / "questions.csv", FIX / "personas.yaml", model=tiny_model_dir,
                         match_precision=setting)
        assert rep.meta["match_precision"] == setting and rep.meta["match_threshold"] == _shipped().thresholds[setting]
        assert rep.meta["match_threshold_source"].startswith("default (fitted for use-multilingual")  # tfidf-hash model
        counts[setting] = int(rep.questions.answered.sum())
    assert counts["high"] <= counts["balanced"] <= counts["recall"]
    with pytest.raises(InputError, match="match precision 'loose' is not one of high, balanced, recall"):
        gap_report(FIX / "content.csv", FIX / "questions.csv", model=tiny_model_dir, match_precision="loose")


def test_cli_match_precision_and_threshold(runner, cli, tiny_model_dir, tmp_path):
    base = ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(FIX / "questions.csv"),
            "--model", str(tiny_model_dir), "-q"]
    res = runner.invoke(cli, [*base, "--match-precision", "high", "-o", str(tmp_path / "h")])
    assert res.exit_code == 0, res.output
    th = _shipped().thresholds["high"]
    assert f"(match threshold {th:.2f})" in res.output.splitlines()[0]
    res = runner.invoke(cli, [*base, "--match-threshold", "0.8", "-o", str(tmp_path / "t")])
    assert res.exit_code == 0 and "(match threshold 0.80)" in res.output.splitlines()[0]
    q = pd.read_csv(tmp_path / "t" / "questions.csv")
    assert (q.answered == (q.p_answered >= 0.8)).all()


@pytest.mark.parametrize("value, why", [("1.5", "1.5 is not in the range 0<=x<=1"), ("high", "'high' is not a valid float range")])
def test_bad_match_threshold_is_a_one_line_error(runner, cli, tiny_model_dir, tmp_path, value, why):
    res = runner.invoke(cli, ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(FIX / "questions.csv"),
                              "--model", str(tiny_model_dir), "--match-threshold", value, "-o", str(tmp_path / "r")])
    assert res.exit_code == 2 and "Traceback" not in res.output
    errors = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert errors == [f"Error: Invalid value for '--match-threshold': {why}."]
    res = runner.invoke(cli, ["gaps", "--content", str(FIX / "content.csv"), "--questions", str(FIX / "questions.csv"),
                              "--model", str(tiny_model_dir), "--match-precision", "exact", "-o", str(tmp_path / "r")])
    assert res.exit_code == 2 and "'exact' is not one of 'high', 'balanced', 'recall'" in res.output
    assert not (tmp_path / "r").exists()


# ----------------------------------------------------------------------------- personas

def test_declared_persona_lists():
    plist = load_personas(FIX / "personas.yaml")
    assert declared_personas("marketer; cfo", plist) == ["marketer", "cfo"]
    assert declared_personas("CFO | Responsable marketing", plist) == ["cfo", "marketer"]
    assert declared_personas("cfo,cfo, unknown", plist) == ["cfo"]
    assert declared_personas("Directeur financier", plist) == ["cfo"]
    assert declared_personas("", plist) == [] and declared_personas("nobody", plist) == []


def test_a_piece_counts_in_the_cell_of_each_of_its_personas(tiny_model_dir, tmp_path):
    content = pd.read_csv(FIX / "content.csv").rename(columns={"persona": "personas"})
    content["personas"] = ["marketer; cfo", "marketer", "cfo|marketer", ""]
    path = tmp_path / "content.csv"
    content.to_csv(path, index=False)
    rep = gap_report(path, FIX / "questions.csv", FIX / "personas.yaml", model=tiny_model_dir, match_threshold=0.5)
    c = rep.content
    assert c.personas.tolist()[:3] == ["marketer; cfo", "marketer", "cfo; marketer"]
    g = rep.gaps.set_index(["stage", "persona"])
    for stage in set(c.stage):
        tagged = c[c.stage == stage]
        for persona in ("marketer", "cfo"):
            n = sum(persona in p.split("; ") for p in tagged.personas)
            assert g.loc[(stage, persona), "supply"] == n
    # A stage with pieces tagged for a persona never shows 0 pieces for that persona.
    both = c[c.personas == "marketer; cfo"].stage.iloc[0]
    assert g.loc[(both, "cfo"), "supply"] >= 1 and g.loc[(both, "marketer"), "supply"] >= 1


def test_inferred_personas_are_every_persona_above_the_threshold():
    from contentplan.domain.personas import PersonaMatcher
    from contentplan.match import lexical_embed
    plist = load_personas(FIX / "personas.yaml")
    m = PersonaMatcher(plist, lexical_embed, threshold=0.0)
    assert m.assign_all(["how much does churn cost us, what budget for retention"])[0] in (["marketer", "cfo"], ["cfo", "marketer"])
    assert PersonaMatcher(plist, lexical_embed, threshold=5.0).assign_all(["pricing"]) == [["unassigned"]]
    assert m.assign_all(["   "]) == [["unassigned"]]


# ----------------------------------------------------------------------------- lazy imports, benchmark

def test_matching_needs_neither_sklearn_nor_torch():
    code = ("import sys, numpy as np\n"
            "from contentplan.match import build_index, match_questions, match_model_for\n"
            "ix = build_index(['Tarifs'], ['Nos prix.'], ['/tarifs'], [['Nos prix.']], None)\n"
            "match_questions(ix, ['prix'], None, None, match_model_for('use-multilingual')[0])\n"
            "print(sorted(m for m in ('sklearn', 'torch', 'sentence_transformers') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_bench_matching_skips_without_shared_pages(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_matching.py"), "--pages", str(tmp_path / "none")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.startswith("skipped: ")


def test_pair_set_errors_name_the_file(tmp_path):
    from contentplan.training.matchdata import read_pair_set
    with pytest.raises(InputError, match="questions.csv: not found"):
        read_pair_set(tmp_path)
    (tmp_path / "questions.csv").write_text("qid,file\nq1,x.csv\n", encoding="utf-8")
    (tmp_path / "judgments.csv").write_text("qid,page_id,answered\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"questions.csv: missing column\(s\) lang, question, split"):
        read_pair_set(tmp_path)


def test_pair_set_counts_a_pages_translation_as_answering_unless_judged(tmp_path):
    from contentplan.training.matchdata import read_pair_set
    (tmp_path / "questions.csv").write_text("qid,file,lang,split,question\nq1,s.csv,en,fit,a?\nq2,s.csv,fr,fit,b?\n"
                                            "q3,s.csv,en,fit,c?\n", encoding="utf-8")
    (tmp_path / "judgments.csv").write_text("qid,page_id,answered\nq1,p-en,true\nq2,p-en,true\nq2,p-fr,false\n"
                                            "q3,p-en,false\nq3,o-en,true\n", encoding="utf-8")
    (tmp_path / "translations.csv").write_text("file,page_en,page_fr,translation\ns.csv,p-en,p-fr,yes\n"
                                               "s.csv,o-en,o-fr,no\n", encoding="utf-8")
    ps = read_pair_set(tmp_path)
    # q1: the unjudged translation answers too; q2: the passes judged it, their label stands;
    # q3: a pair that is not a translation adds nothing
    assert ps.answering == {"q1": {"p-en", "p-fr"}, "q2": {"p-en"}, "q3": {"o-en"}}
    (tmp_path / "translations.csv").write_text("file,page_en,page_fr,translation\ns.csv,p-en,p-fr,yes\n"
                                               "s.csv,p-en,x-fr,yes\n", encoding="utf-8")
    with pytest.raises(InputError, match="page p-en has two translations"):
        read_pair_set(tmp_path)


# ----------------------------------------------------------------------------- the shipped calibration

REALTEXT = None
try:
    from contentplan.training.realtext import find_realtext
    REALTEXT = find_realtext(ROOT / "corpora")
except ImportError:   # pragma: no cover
    pass


@pytest.mark.model
@pytest.mark.skipif(REALTEXT is None, reason="../shared/realtext is absent (a user's clone): the pair set's pages cannot be read")
def test_shipped_match_model_is_what_the_pair_set_fits():
    """data/match_model.json is what 'contentplan dev calibrate-match' fits now (not stale), and its
    recorded held-out figures are what the held-out questions give."""
    from contentplan.training.matchdata import calibrate
    from contentplan.model.pipeline import JourneyModel
    model = JourneyModel.load(None)
    fitted = calibrate(ROOT / "corpora" / "matching" / "real", REALTEXT / "pages", model)
    shipped, _ = match_model_for(model.meta["embedder"])
    for f in FEATURES:
        assert fitted.weights[f] == pytest.approx(shipped.weights[f], abs=1e-3), f
    assert fitted.thresholds == pytest.approx(shipped.thresholds, abs=1e-3)
    assert fitted.info["heldout"] == shipped.info["heldout"]
    assert shipped.info["heldout"]["hit@1"] >= 0.85 and shipped.info["heldout"]["balanced"]["f1"] >= 0.75
