"""Stage schemes: the four built-ins project every canonical stage; user scheme files are validated."""
from __future__ import annotations

import numpy as np
import pytest

from contentplan.errors import SchemeError
from contentplan.domain.schemes import BUILTIN, canonical_ids, formats, list_schemes, load_scheme


def test_four_builtin_schemes_each_project_every_canonical_stage():
    names = [s.name for s in list_schemes()]
    assert names == ["buyer-journey", "customer-journey", "oni", "online-journey"]   # the default, then by name
    for s in list_schemes():
        m = s.projection_matrix()
        assert m.shape == (len(canonical_ids()) + 1, len(s.stages))  # + the "none" row (no stage)
        m = m[:-1]
        assert (m.sum(axis=1) == 1).all(), f"{s.name}: every canonical stage maps to exactly one stage"
        assert (m.sum(axis=0) >= 1).all(), f"{s.name}: every stage receives at least one canonical stage"
        for st in s.stages:
            assert st.label["en"] and st.label["fr"] and st.description and st.formats
            assert all(f in formats() for f in st.formats)


def test_buyer_journey_ids_and_crosswalk():
    bj = load_scheme("buyer-journey")
    assert bj.ids == ["awareness", "consideration", "decision", "post-purchase"]
    assert [bj.of_canonical(c) for c in ("problem", "solution", "vendor", "offer", "purchase", "support")] == \
        ["awareness", "consideration", "consideration", "decision", "decision", "post-purchase"]
    oni = load_scheme("oni")
    assert oni.ids[:4] == ["discovery", "expertise", "trust", "promotional"]
    assert "post-purchase" in oni.ids


def test_scheme_probabilities_are_sums_over_the_projection():
    bj = load_scheme("buyer-journey")
    p = np.full((1, len(canonical_ids())), 0.1)
    assert np.allclose(p @ bj.projection_matrix(canonical_ids()), [[0.1, 0.2, 0.2, 0.5]])


def test_every_format_serves_known_stages():
    for f in formats().values():
        assert set(f.stages) <= set(canonical_ids())


GOOD = """name: my-funnel
description: Three stages
stages:
  - id: tofu
    label: Top of funnel
    canonical: [problem, solution]
    formats: [blog_article]
  - id: mofu
    canonical: [vendor]
  - id: bofu
    canonical: [offer, purchase, onboarding, evaluation, support, loyalty, advocacy]
"""


def test_user_scheme_file(tmp_path):
    p = tmp_path / "funnel.yaml"
    p.write_text(GOOD, encoding="utf-8")
    s = load_scheme(str(p))
    assert s.ids == ["tofu", "mofu", "bofu"]
    assert s.of_canonical("vendor") == "mofu"


@pytest.mark.parametrize("text,message", [
    (GOOD.replace("[vendor]", "[vendr]"), "stages[1] ('mofu'): unknown canonical stage 'vendr'; did you mean 'vendor'? (valid: problem, solution, vendor, offer, purchase, onboarding, evaluation, support, loyalty, advocacy)"),
    (GOOD.replace("id: mofu", "id: tofu"), "stages[1]: duplicate stage id 'tofu'"),
    (GOOD.replace("    canonical: [vendor]\n", ""), "stages[1]: missing key 'canonical'"),
    (GOOD.replace("[vendor]", "[vendor, problem]"), "stages[1] ('mofu'): canonical stage 'problem' is already mapped to stage 'tofu'"),
    (GOOD.replace("[vendor]", "[solution]").replace("[problem, solution]", "[problem]"), "canonical stage(s) vendor are not mapped to any stage; add them to a stage's 'canonical' list"),
    (GOOD.replace("name: my-funnel", "nmae: my-funnel"), "unknown key 'nmae'; did you mean 'name'? (allowed: name, description, stages)"),
    (GOOD.replace("formats: [blog_article]", "formats: [blog]"), "stages[0] ('tofu'): unknown format 'blog'"),
    ("name: x\nstages: [\n", "line 3, column 1: YAML syntax error: expected the node content, but found '<stream end>'; fix it and retry"),
    ("- just\n- a list\n", "a scheme file must be a mapping with 'name' and 'stages' keys"),
])
def test_bad_scheme_files_name_the_key_or_line(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        load_scheme(str(p))
    assert str(err.value).startswith(f"{p}: " if not message.startswith("line") else f"{p}:")
    assert message in str(err.value)


def test_unknown_scheme_name():
    with pytest.raises(SchemeError) as err:
        load_scheme("buyer-jorney")
    assert str(err.value) == ("unknown scheme 'buyer-jorney'; did you mean 'buyer-journey'? "
                              f"(built-in: {', '.join(BUILTIN)}; or pass a .yaml file)")


def test_schemes_command(runner, cli):
    res = runner.invoke(cli, ["schemes"])
    assert res.exit_code == 0
    for name in BUILTIN:
        assert name in res.output
    res = runner.invoke(cli, ["schemes", "oni", "--lang", "fr"])
    assert res.exit_code == 0 and "Découverte" in res.output and "Étude de cas" in res.output
    res = runner.invoke(cli, ["schemes", "nope"])
    assert res.exit_code == 1
    assert res.output.startswith("Error: unknown scheme 'nope'")


@pytest.mark.parametrize("label,expected", [
    ("awareness", "awareness"), ("Awareness", "awareness"), (" DECISION ", "decision"),
    ("Post-Purchase", "post-purchase"), ("post_purchase", "post-purchase"), ("Après-achat", "post-purchase"),
    ("apres achat", "post-purchase"), ("TOFU", "awareness"), ("bofu", "decision"), ("Retention", "post-purchase"),
    ("vendor", "consideration"), ("Problème", "awareness"), ("purchase", "decision"), ("nope", None), ("", None),
])
def test_gold_labels_resolve_ignoring_case_accents_and_separators(label, expected):
    assert load_scheme("buyer-journey").resolve(label) == expected


def test_guess_scheme_from_gold_labels():
    from contentplan.training.evaluation import guess_scheme
    assert guess_scheme(["Awareness", "Consideration", "Post-purchase"]) == "buyer-journey"
    assert guess_scheme(["problem", "support"]) == "buyer-journey"
    assert guess_scheme(["discovery", "expertise", "trust", "promotional"]) == "oni"
    assert guess_scheme(["information_search", "comparison", "recommendation"]) == "customer-journey"
    assert guess_scheme(["need_information", "interaction"]) == "online-journey"


def test_scheme_aliases_are_validated(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(GOOD.replace("id: mofu", "id: mofu\n    aliases: middle"), encoding="utf-8")
    with pytest.raises(SchemeError) as err:
        load_scheme(str(p))
    assert str(err.value) == f"{p}: stages[1] ('mofu'): 'aliases' must be a list of strings"


def test_evaluate_accepts_funnel_labels_as_people_write_them(runner, cli, tmp_path, tiny_model_dir):
    data = tmp_path / "labeled.csv"
    data.write_text("query,Stage\nwhat is customer churn,Awareness\ncrm pricing per user,Decision\n"
                    "the app crashes on login,Post-Purchase\nhubspot vs salesforce,consideration\n", encoding="utf-8")
    res = runner.invoke(cli, ["evaluate", "--model", str(tiny_model_dir), "--data", str(data), "-f", "json"])
    assert res.exit_code == 0, res.output
    import json
    (report,) = json.loads(res.output)
    assert report["scheme"] == "buyer-journey" and report["results"]["model"]["n"] == 4
    assert set(report["abstention"]) == {"min_confidence", "unclear_rate", "accuracy_answered"}
    assert report["abstention"]["min_confidence"] == 0.0 and report["abstention"]["unclear_rate"] == 0.0


def test_evaluate_scores_the_answer_commands_give_none_included():
    """`none` is an answer of every command: evaluate must count it (right against gold `none`,
    wrong against a stage), not score the runner-up stage; gold `unclear` is left out of the scores
    and measures abstention."""
    from types import SimpleNamespace

    import numpy as np

    from contentplan.domain.schemes import model_labels
    from contentplan.training.evaluation import evaluate_labeled

    labels = model_labels()
    answer = {"where is my parcel": ("support", 0.9), "we are hiring a designer": ("none", 0.9),
              "what is churn": ("none", 0.6), "ok": ("support", 0.4)}   # "ok": no answer above 0.5

    def proba(texts, langs=None):
        out = np.zeros((len(texts), len(labels)))
        for i, t in enumerate(texts):
            lab, p = answer[t]
            out[i, labels.index(lab)] = p
            out[i, labels.index("problem" if lab == "none" else "none")] = 1 - p   # the runner-up
        out[texts.index("ok")] = 0.0
        out[texts.index("ok"), [labels.index("support"), labels.index("vendor"), labels.index("problem")]] = (0.4, 0.3, 0.3)
        return out

    model = SimpleNamespace(proba=proba, path=None, min_confidence=0.5)
    rep = evaluate_labeled(model, list(answer), ["post-purchase", "none", "awareness", "unclear"],
                           load_scheme("buyer-journey"), "labeled.csv")
    m = rep.results["model"]
    assert m.n == 3 and m.accuracy == pytest.approx(2 / 3)          # "what is churn" answered none: wrong
    assert m.per_stage_f1["none"] == pytest.approx(2 / 3) and m.per_stage_f1["awareness"] == 0.0
    assert m.macro_f1 < 1.0
    assert rep.abstention["n_gold_unclear"] == 1 and rep.abstention["gold_unclear_abstained"] == 1.0
    assert "labeled 'unclear'" in rep.abstention_line()
