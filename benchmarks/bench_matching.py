"""Gap matching on real pages: does the report find the page that answers a question, and does it
say "answered" when (and only when) one does?

    .venv/bin/python benchmarks/bench_matching.py [--pairs corpora/matching/real] [--json benchmarks/results_matching.json]

Reads the real-page pair set (``corpora/matching/real/questions.csv`` + ``judgments.csv``) and the
pages it refers to (``../shared/realtext/pages``; skipped with a message when absent). Each question
is matched against every page of its site. The fusion and the answered calibration are fitted on
the ``split=fit`` questions and every figure is measured on the ``split=heldout`` ones (their pages
were held out of the questions written for fitting):

- hit@1 / hit@3 among questions that have an answering page (the top page is one of them);
- "answered" precision / recall / F1 at each ``--match-precision`` setting: a true positive is an
  answerable question called answered whose top page answers it;
- hit@1 for same-language and cross-lingual questions (question language != answering page's);
- per site; and the old rule (cosine to passages of the question's own stage, old threshold) as
  the baseline, in the same run. ``--with-pairs`` also fits with the 320 hand-written pairs of
  ``corpora/matching/pairs.jsonl`` as one more small "site" and reports that variant.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _prf(called: np.ndarray, ok: np.ndarray, answerable: np.ndarray) -> dict:
    tp = int((called & ok).sum())
    n_called, n_pos = int(called.sum()), int(answerable.sum())
    p = tp / n_called if n_called else 0.0
    r = tp / n_pos if n_pos else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "called_answered": n_called, "true_positives": tp}


def collect(pairs_dir: Path, pages_dir: Path, model, log) -> list[dict]:
    """One record per question: its (pages, features) array, answering page indexes, languages, stages."""
    from contentplan.training.matchdata import load_site, question_arrays, read_pair_set, site_features
    ps = read_pair_set(pairs_dir)
    out = []
    for file, qs in ps.questions.groupby("file", sort=True):
        t0 = time.perf_counter()
        site = load_site(pages_dir / file, model)
        texts = qs.question.tolist()
        vec, proba, qlang = question_arrays(model, texts)
        X = site_features(site, texts, vec, proba, qlang)
        pos_of = {pid: k for k, pid in enumerate(site.ids)}
        page_canon = np.array(_canonical(site.index.page_proba), dtype=object)
        q_canon = np.array(_canonical(proba), dtype=object)
        for i, r in enumerate(qs.itertuples()):
            pos = {pos_of[p] for p in ps.answering.get(r.qid, set()) if p in pos_of}
            out.append({"qid": r.qid, "file": file, "split": r.split, "lang": r.lang, "X": X[i], "pos": pos,
                        "page_langs": site.langs, "q_canon": q_canon[i], "page_canon": page_canon,
                        "P": site.index.P, "owner": site.index.owner,
                        "qv": None if vec is None else vec[i]})
        log(f"{file}: {site.index.n} pages, {len(qs)} questions ({time.perf_counter() - t0:.0f} s)")
    return out


def _canonical(proba: np.ndarray) -> list[str]:
    from contentplan.domain.schemes import load_scheme
    return load_scheme("buyer-journey").decide(proba, 0.0).canonical


def evaluate(recs: list[dict], mm, old_threshold: float) -> dict:
    from contentplan.match import answer_inputs
    order, p = [], []
    for r in recs:
        o, A = answer_inputs(r["X"][None], mm.score(r["X"])[None])
        order.append(o[0])
        p.append(float(mm.p_answered(A)[0]))
    top, p = np.array([o[0] for o in order]), np.array(p)
    answerable = np.array([bool(r["pos"]) for r in recs])
    ok = np.array([int(t) in r["pos"] for t, r in zip(top, recs)])
    hit3 = np.array([bool(set(o[:3].tolist()) & r["pos"]) for o, r in zip(order, recs)])
    cross = np.array([bool(r["pos"]) and all(r["page_langs"][k] != r["lang"] for k in r["pos"]) for r in recs])
    res = {"questions": len(recs), "answerable": int(answerable.sum()),
           "hit@1": round(float(ok[answerable].mean()), 4) if answerable.any() else None,
           "hit@3": round(float(hit3[answerable].mean()), 4) if answerable.any() else None,
           "answered": {k: {"threshold": round(mm.thresholds[k], 4), **_prf(p >= mm.thresholds[k], ok, answerable)}
                        for k in ("high", "balanced", "recall")}}
    same = answerable & ~cross
    xl = answerable & cross
    res["hit@1_same_language"] = {"n": int(same.sum()), "hit@1": round(float(ok[same].mean()), 4) if same.any() else None}
    res["hit@1_cross_lingual"] = {"n": int(xl.sum()), "hit@1": round(float(ok[xl].mean()), 4) if xl.any() else None}
    res["per_site"] = {}
    for f in sorted({r["file"] for r in recs}):
        m = np.array([r["file"] == f for r in recs])
        a = m & answerable
        res["per_site"][f] = {"questions": int(m.sum()), "answerable": int(a.sum()),
                              "hit@1": round(float(ok[a].mean()), 4) if a.any() else None,
                              "answered_f1_balanced": _prf((p >= mm.thresholds["balanced"]) & m, ok & m, a)["f1"]}
    if not all("page_canon" in r for r in recs):
        return res
    # The old rule: cosine to the passages of pages of the question's own canonical stage, old threshold.
    old_top, old_sim = [], []
    for r in recs:
        same_stage = np.flatnonzero(r["page_canon"] == r["q_canon"])
        if r["qv"] is None or not len(same_stage) or r["q_canon"] in ("", "none"):
            old_top.append(-1); old_sim.append(0.0)
            continue
        cos = r["X"][:, 0]
        j = same_stage[int(np.argmax(cos[same_stage]))]
        old_top.append(int(j)); old_sim.append(float(cos[j]))
    old_top, old_sim = np.array(old_top), np.array(old_sim)
    old_ok = np.array([int(t) in r["pos"] for t, r in zip(old_top, recs)])
    res["baseline_old_rule"] = {"threshold": old_threshold,
                                "hit@1": round(float(old_ok[answerable].mean()), 4) if answerable.any() else None,
                                "hit@1_cross_lingual": round(float(old_ok[xl].mean()), 4) if xl.any() else None,
                                "answered": _prf(old_sim >= old_threshold, old_ok, answerable)}
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(ROOT / "corpora" / "matching" / "real"))
    ap.add_argument("--pages", default=None, help="realtext pages folder (default: ../shared/realtext/pages)")
    ap.add_argument("--model", default=None)
    ap.add_argument("--actions", default=str(ROOT / "corpora" / "matching" / "actions"),
                    help="the action-request set (pages.csv + questions.csv); '' leaves it out")
    ap.add_argument("--with-pairs", action="store_true", help="also fit with corpora/matching/pairs.jsonl and report that variant")
    ap.add_argument("--json", help="write results to this file")
    args = ap.parse_args()
    if args.pages is None:
        from contentplan.training.realtext import find_realtext
        rt = find_realtext(ROOT / "corpora")
        args.pages = str(rt / "pages") if rt else str(ROOT.parent / "shared" / "realtext" / "pages")
    pages = Path(args.pages)
    if not pages.is_dir():
        print(f"skipped: {pages} not found (the real pages live in ../shared/realtext/pages)")
        return 0
    if not (Path(args.pairs) / "questions.csv").exists():
        print(f"skipped: {args.pairs}/questions.csv not found")
        return 0
    from contentplan.match import fit_match_model, match_threshold_for
    from contentplan.model.pipeline import JourneyModel
    log = lambda m: print(f"[bench] {m}", file=sys.stderr)   # noqa: E731
    t0 = time.perf_counter()
    model = JourneyModel.load(args.model)
    recs = collect(Path(args.pairs), pages, model, log)
    fit = [r for r in recs if r["split"] == "fit"]
    held = [r for r in recs if r["split"] == "heldout"]
    # The action-request set (corpora/matching/actions): written pages and questions asking for a demo,
    # a trial, a quote or a call; its fit split joins the fit, its held-out split is measured apart.
    from contentplan.training.matchdata import action_records
    acts = action_records(model, args.actions) if args.actions else []
    act_fit = [r for r in acts if r["split"] == "fit"]
    act_held = [r for r in acts if r["split"] == "heldout"]
    mm = fit_match_model([(r["X"], r["pos"]) for r in fit], extra=[(r["X"], r["pos"]) for r in act_fit])
    old_th = match_threshold_for(model.meta.get("embedder", ""))
    out = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "load_average": [round(x, 2) for x in os.getloadavg()],
           "model": str(model.path), "embedder": model.meta.get("embedder"),
           "pairs": str(Path(args.pairs).relative_to(ROOT)) if Path(args.pairs).resolve().is_relative_to(ROOT) else args.pairs,
           "fit_questions": len(fit), "heldout_questions": len(held),
           "actions": args.actions, "action_fit_questions": len(act_fit), "action_heldout_questions": len(act_held),
           "match_model": mm.to_dict(), "heldout": evaluate(held, mm, old_th), "fit": evaluate(fit, mm, old_th)}
    if acts:
        out["heldout_actions"] = evaluate(act_held, mm, old_th)
        # Before the action check, in the same run: the real fit split alone, action_gap held at 0
        # (a constant feature gets no weight: the model fitted before the check existed).
        from contentplan.match import FEATURES
        k = FEATURES.index("action_gap")

        def without(rs):
            out_ = []
            for r in rs:
                X = r["X"].copy()
                X[:, k] = 0.0
                out_.append({**r, "X": X})
            return out_
        mm0 = fit_match_model([(r["X"], r["pos"]) for r in without(fit)])
        out["before_action_check"] = {"match_model": mm0.to_dict(), "heldout": evaluate(without(held), mm0, old_th),
                                      "heldout_actions": evaluate(without(act_held), mm0, old_th)}
    if args.with_pairs:
        from contentplan.training.matchdata import old_pairs_groups
        extra = old_pairs_groups(ROOT / "corpora" / "matching" / "pairs.jsonl", model)
        mm2 = fit_match_model([(r["X"], r["pos"]) for r in fit] + extra)
        out["with_pairs"] = {"match_model": mm2.to_dict(), "heldout": evaluate(held, mm2, old_th)}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    h = out["heldout"]
    print(f"held-out: {h['questions']} questions ({h['answerable']} answerable): hit@1 {h['hit@1']}, hit@3 {h['hit@3']}; "
          f"answered F1 high {h['answered']['high']['f1']}, balanced {h['answered']['balanced']['f1']}, "
          f"recall {h['answered']['recall']['f1']}; same-language hit@1 {h['hit@1_same_language']['hit@1']}, "
          f"cross-lingual {h['hit@1_cross_lingual']['hit@1']}; old rule hit@1 {h['baseline_old_rule']['hit@1']}, "
          f"F1 {h['baseline_old_rule']['answered']['f1']}")
    if acts:
        b, a, ba = out["before_action_check"]["heldout"], out["heldout_actions"], out["before_action_check"]["heldout_actions"]
        print(f"before the action check: hit@1 {b['hit@1']}, hit@3 {b['hit@3']}, F1 balanced {b['answered']['balanced']['f1']}; "
              f"action requests held out ({a['questions']}): hit@1 {ba['hit@1']} -> {a['hit@1']}, "
              f"F1 balanced {ba['answered']['balanced']['f1']} -> {a['answered']['balanced']['f1']}")
    if args.with_pairs:
        w = out["with_pairs"]["heldout"]
        print(f"with the 320 pairs: hit@1 {w['hit@1']}, hit@3 {w['hit@3']}, F1 balanced {w['answered']['balanced']['f1']}, "
              f"cross-lingual {w['hit@1_cross_lingual']['hit@1']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
