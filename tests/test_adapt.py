"""`contentplan adapt`: label resolution across schemes and languages, corrections read from a classify
output, the MAP head fit, the adapted folder loaded by --model, and (shipped model) a handful of a
vertical's labels fixing those texts and their paraphrases without breaking the corpus test split."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from contentplan.training import adaptation as A
from contentplan.errors import InputError, OutputError
from contentplan.domain.schemes import load_scheme

ROOT = Path(__file__).resolve().parent.parent
BJ = load_scheme("buyer-journey")
USER_SCHEME = """name: my-funnel
stages:
  - {id: tofu, label: Top of funnel, canonical: [problem, solution]}
  - {id: mofu, canonical: [vendor], aliases: [middle of funnel]}
  - {id: bofu, canonical: [offer, purchase, onboarding, evaluation, support, loyalty, advocacy]}
"""


# ----------------------------------------------------------------------------- label resolution

@pytest.mark.parametrize("label, expected", [
    ("Decision", ("offer", "purchase")), ("décision", ("offer", "purchase")), ("BOFU", ("offer", "purchase")),
    ("consideration", ("solution", "vendor")), ("Considération", ("solution", "vendor")), ("mofu", ("solution", "vendor")),
    ("TOFU", ("problem",)), ("Sensibilisation", ("problem",)), ("awareness", ("problem",)),
    ("Après-achat", ("onboarding", "evaluation", "support", "loyalty", "advocacy")),
    ("post_purchase", ("onboarding", "evaluation", "support", "loyalty", "advocacy")),
    ("support", ("support",)), ("Offer", ("offer",)), ("purchase", ("purchase",)),   # canonical stages stay fine
    ("none", ("none",)), ("hors parcours", ("none",)),
])
def test_label_sets_buyer_journey(label, expected):
    assert A.label_sets([label], BJ) == [expected]


def test_label_sets_other_schemes_and_guess():
    oni = load_scheme("oni")
    assert A.resolve_scheme(["trust", "promotional", "expertise"], None).name == "oni"
    assert A.label_sets(["trust"], oni) == [tuple(oni.stage("trust").canonical)]
    assert A.resolve_scheme(["TOFU", "support", "Décision"], None).name == "buyer-journey"


def test_label_sets_user_scheme(tmp_path):
    path = tmp_path / "funnel.yaml"
    path.write_text(USER_SCHEME, encoding="utf-8")
    sch = A.resolve_scheme(["tofu"], str(path))
    assert A.label_sets(["tofu", "Middle of funnel", "BOFU", "support"], sch) == [
        ("problem", "solution"), ("vendor",), ("offer", "purchase", "onboarding", "evaluation", "support", "loyalty", "advocacy"),
        ("support",)]


def test_unknown_label_exact_error_with_row_and_closest_match():
    with pytest.raises(InputError) as err:
        A.label_sets(["awareness", "decison"], BJ, "labels.csv", rows=[3, 7])
    assert str(err.value) == (
        "labels.csv: row 7: stage 'decison' is not in scheme 'buyer-journey' (awareness, consideration, decision, "
        "post-purchase) nor a canonical stage; did you mean 'decision'?; pass --scheme with the scheme the labels use")


def test_unknown_label_through_the_cli(runner, cli, tmp_path, tiny_model_dir):
    data = tmp_path / "labels.csv"
    data.write_text("text,stage\ncrm pricing,decision\nwhat is churn,awarness\n", encoding="utf-8")
    res = runner.invoke(cli, ["adapt", "-i", str(data), "-o", str(tmp_path / "out"), "--model", str(tiny_model_dir), "--corpus", str(tmp_path), "-q"])
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"Error: {data}: row 2: stage 'awarness' is not in scheme 'buyer-journey' (awareness, consideration, decision, "
        "post-purchase) nor a canonical stage; did you mean 'awareness'?; pass --scheme with the scheme the labels use")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- reading labels

def _classify_output(path: Path, rows: list[tuple[str, str, dict]]) -> None:
    recs = []
    for text, stage, p in rows:
        recs.append({"Keyword": text, "Volume": "10", "stage": stage, "confidence": max(p.values()), "lang": "en",
                     "intent": "informational", **{f"p_{k}": v for k, v in p.items()}, "explanation": ""})
    pd.DataFrame(recs).to_csv(path, index=False)


P_DEC = {"awareness": 0.1, "consideration": 0.1, "decision": 0.7, "post-purchase": 0.05, "none": 0.05}
P_AWA = {"awareness": 0.8, "consideration": 0.1, "decision": 0.05, "post-purchase": 0.03, "none": 0.02}


def test_classify_output_edited_stage_column(tmp_path):
    path = tmp_path / "staged.csv"
    _classify_output(path, [("frais de mission forfait", "awareness", P_DEC),   # edited: decision -> awareness
                            ("crm pricing", "decision", P_DEC),                 # the model's answer, untouched
                            ("what is churn", "awareness", P_AWA),              # untouched
                            ("vague", "unclear", P_AWA)])
    data = A.read_labels(path)
    assert (data.texts, data.labels, data.rows, data.text_column) == (["frais de mission forfait"], ["awareness"], [1], "Keyword")
    assert data.kind == "classify output (corrections)"
    assert "the 1 row(s) whose stage you changed are the labels, the 2 still holding the model's answer are left out" in data.notes[0]
    every = A.read_labels(path, all_rows=True)
    assert every.texts == ["frais de mission forfait", "crm pricing", "what is churn"]


def test_classify_output_stage_corrected_column(tmp_path):
    path = tmp_path / "staged.csv"
    _classify_output(path, [("frais de mission forfait", "decision", P_DEC), ("crm pricing", "decision", P_DEC)])
    frame = pd.read_csv(path)
    frame["stage_corrected"] = ["Sensibilisation", ""]
    frame.to_csv(path, index=False)
    data = A.read_labels(path)
    assert (data.texts, data.labels, data.label_column) == (["frais de mission forfait"], ["Sensibilisation"], "stage_corrected")
    assert A.label_sets(data.labels, A.resolve_scheme(data.labels, None)) == [("problem",)]


def test_last_row_of_a_text_wins_and_blank_rows_are_left_out(tmp_path):
    path = tmp_path / "labels.jsonl"
    lines = [{"question": "a", "label": "decision"}, {"question": "b", "label": ""}, {"question": "a", "label": "awareness"},
             {"question": "c", "label": "support"}, {"question": "c", "label": ""}, {"question": "", "label": "none"}]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    data = A.read_labels(path)
    assert (data.texts, data.labels, data.rows) == (["a"], ["awareness"], [3])


def test_no_labels_is_an_error(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,stage\nhello,\n", encoding="utf-8")
    with pytest.raises(InputError, match="no labeled rows"):
        A.read_labels(path)


# ----------------------------------------------------------------------------- the head

def test_lbfgs_minimises_a_quadratic():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(30, 30))
    H = M @ M.T + np.eye(30)
    c = rng.normal(size=30)
    x = A.minimize_lbfgs(lambda v: (0.5 * v @ H @ v - c @ v, H @ v - c), np.zeros(30), max_iter=500, tol=1e-14)
    assert np.allclose(x, np.linalg.solve(H, c), atol=1e-4)


def test_features_reproduce_the_runtime_logits(tiny_model_dir):
    from contentplan.model.artifacts import load_runtime, read_meta
    rt, _ = load_runtime(tiny_model_dir, read_meta(tiny_model_dir))
    texts = ["how much is the pro plan", "mon colis est abîmé", "what is churn"]
    X = A.feature_matrix(rt, texts)
    assert np.allclose(np.asarray(X @ rt.coef_.T) + rt.intercept_, rt.decision_function(texts), atol=1e-5)


def test_fit_head_learns_labels_keeps_unseen_weights_and_coarse_sets(tiny_model_dir):
    from contentplan.model.artifacts import load_estimator, read_meta
    est = load_estimator(tiny_model_dir, read_meta(tiny_model_dir))
    rt = est.runtime()
    classes = list(est.classes_)
    texts = ["frais de mission forfait", "barème frais kilométriques"]
    sets = [("problem",), ("offer", "purchase")]
    X = A.feature_matrix(rt, texts)
    mask = A.target_mask(sets, classes)
    coef, b = A.fit_head(X, mask, A.label_weights(sets, 10.0), rt.coef_, rt.intercept_, rt.temperature_, 10.0)
    P = A._proba(X, coef, b, rt.temperature_)
    P0 = A._proba(X, rt.coef_, rt.intercept_, rt.temperature_)
    assert classes[int(P[0].argmax())] == "problem"
    assert P[1, mask[1]].sum() > P0[1, mask[1]].sum() and P[1, mask[1]].sum() > 0.5
    untouched = np.setdiff1d(np.arange(coef.shape[1]), np.unique(X.indices))
    assert np.array_equal(coef[:, untouched], rt.coef_[:, untouched])


def test_none_label_needs_a_model_with_none(tiny_model_dir):
    from contentplan.errors import ModelError
    with pytest.raises(ModelError, match="the base model has no class 'none'"):
        A.target_mask([("none",)], ["problem", "solution"])


# ----------------------------------------------------------------------------- the command

LABELS_CSV = ("Requête,Étape\nfrais de mission forfait,Sensibilisation\nbarème frais kilométriques,TOFU\n"
              "logiciel note de frais prix,Décision\nmon export comptable ne marche plus,support\n")


def test_adapt_writes_a_folder_classify_and_evaluate_load(runner, cli, tmp_path, tiny_model_dir):
    data = tmp_path / "labels.csv"
    data.write_text(LABELS_CSV, encoding="utf-8")
    before = data.read_bytes()
    out = tmp_path / "adapted"
    res = runner.invoke(cli, ["adapt", "-i", str(data), "-o", str(out), "--model", str(tiny_model_dir), "--corpus", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    assert data.read_bytes() == before
    assert f"wrote {out} (4 labels, buyer-journey)" in res.output
    meta = json.loads((out / "meta.json").read_text())
    a = meta["adapted"]
    assert a["base"]["name"] == "tiny" and a["base"]["path"] == str(tiny_model_dir)
    assert a["data"]["sha256"] == A._file_sha256(data) and a["data"]["labels_used"] == 4
    assert a["label_mapping"]["Décision"] == ["offer", "purchase"] and a["label_mapping"]["support"] == ["support"]
    assert a["metrics"]["labels_fit"]["adapted"]["accuracy"] == 1.0
    assert (out / "README.md").read_text().startswith("# contentplan model `adapted` (adapted)")
    res = runner.invoke(cli, ["classify", "--model", str(out), "-f", "csv", "frais de mission forfait", "logiciel note de frais prix"])
    assert res.exit_code == 0, res.output
    stages = pd.read_csv(__import__("io").StringIO(res.output)).stage.tolist()
    assert stages == ["awareness", "decision"]
    res = runner.invoke(cli, ["evaluate", "--model", str(out), "--data", str(data), "-f", "json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)[0]
    assert report["results"]["model"]["accuracy"] == 1.0
    assert report["model"].startswith(f"{out}: adapted from tiny on 4 labels of {data}")
    res = runner.invoke(cli, ["evaluate", "--model", str(out), "--data", str(data)])
    assert res.output.startswith(f"model: {out}: adapted from tiny on 4 labels of {data}, ")
    # The estimator and the inference arrays agree (the saved runtime is the adapted head, not the base's).
    from contentplan.model.artifacts import load_estimator, load_runtime, read_meta
    m = read_meta(out)
    rt, _ = load_runtime(out, m)
    est = load_estimator(out, m)
    texts = ["frais de mission forfait", "hubspot vs salesforce"]
    assert np.allclose(rt.predict_proba(texts), est.predict_proba(texts), atol=1e-5)


def test_adapt_output_refusals(runner, cli, tmp_path, tiny_model_dir):
    data = tmp_path / "labels.csv"
    data.write_text(LABELS_CSV, encoding="utf-8")
    with pytest.raises(OutputError, match="is the base model folder"):
        A.check_adapt_output(tiny_model_dir, tiny_model_dir, data)
    other = tmp_path / "thesis"
    other.mkdir()
    (other / "chapter1.md").write_text("x")
    res = runner.invoke(cli, ["adapt", "-i", str(data), "-o", str(other), "--model", str(tiny_model_dir)])
    assert res.exit_code == 1 and "exists and is not a contentplan model folder" in res.output
    assert (other / "chapter1.md").read_text() == "x"


def test_adapt_a_user_scheme_file(runner, cli, tmp_path, tiny_model_dir):
    scheme = tmp_path / "funnel.yaml"
    scheme.write_text(USER_SCHEME, encoding="utf-8")
    data = tmp_path / "labels.xlsx"
    pd.DataFrame({"text": ["frais de mission forfait", "hubspot vs salesforce avis", "tarif pro"],
                  "label": ["tofu", "Middle of funnel", "bofu"]}).to_excel(data, index=False)
    res = runner.invoke(cli, ["adapt", "-i", str(data), "-o", str(tmp_path / "m"), "--model", str(tiny_model_dir),
                              "--scheme", str(scheme), "--corpus", str(tmp_path), "-q"])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["adapted"]["label_scheme"] == "my-funnel"
    assert meta["adapted"]["label_mapping"]["tofu"] == ["problem", "solution"]


# ----------------------------------------------------------------------------- the shipped model

VERTICAL = [   # an expense-management SaaS: "frais" are expenses, and these are questions about the rules
    ("plafond frais de repas urssaf", "awareness"), ("frais de mission forfait", "awareness"),
    ("frais de déplacement remboursement règles", "awareness"), ("note de frais sans justificatif", "awareness"),
    ("indemnités kilométriques calcul", "awareness"), ("calcul des frais de repas déclarables", "awareness"),
    ("logiciel note de frais prix", "decision"), ("démo logiciel notes de frais", "decision"),
    ("comparatif logiciels de notes de frais", "consideration"),
    ("mon export comptable des notes de frais ne marche plus", "post-purchase"),
]
PARAPHRASES = ["plafond des frais de repas urssaf 2025", "forfait des frais de mission", "règles de remboursement des frais de déplacement",
               "note de frais perdue sans justificatif", "calcul des indemnités kilométriques"]


@pytest.mark.model
def test_a_handful_of_labels_fixes_them_and_paraphrases_without_breaking_the_test_split(tmp_path):
    from contentplan.model.artifacts import default_model_dir
    from contentplan.training.corpus import load_split
    from contentplan.model.pipeline import JourneyModel

    base = JourneyModel.load(None)
    data = tmp_path / "vertical.csv"
    pd.DataFrame(VERTICAL, columns=["query", "stage"]).to_csv(data, index=False)
    res = A.adapt_model(data, tmp_path / "vertical", corpus=None, cv=False)
    adapted = JourneyModel.load(tmp_path / "vertical")
    texts, gold = zip(*VERTICAL)
    before = BJ.decide(base.proba(list(texts)), 0.0).dominant
    assert sum(b != g for b, g in zip(before, gold)) >= 3, "the shipped model already knows this vertical: pick harder texts"
    assert BJ.decide(adapted.proba(list(texts)), 0.0).dominant == list(gold)
    para = BJ.decide(adapted.proba(PARAPHRASES), 0.0).dominant
    para_before = BJ.decide(base.proba(PARAPHRASES), 0.0).dominant
    assert sum(p == "awareness" for p in para) >= 4 and sum(p == "awareness" for p in para) > sum(p == "awareness" for p in para_before)
    assert res.meta["adapted"]["base"]["path"] == str(default_model_dir())
    # The general case: buyer-journey macro-F1 on the corpus test questions moves by at most 0.02.
    from contentplan.training.evaluation import score
    tq, _ = load_split(ROOT / "corpora", "test")
    g = [BJ.of_canonical(s) for s in tq.stage]
    f1 = {}
    for name, m in (("base", base), ("adapted", adapted)):
        pred = BJ.decide(m.proba(tq.text.tolist()), 0.0).dominant
        f1[name] = score(name, g, pred, ["x"] * len(g), list(BJ.ids) + ["none"]).macro_f1
    assert f1["adapted"] >= f1["base"] - 0.02, f1
