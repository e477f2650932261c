"""Prospect journeys: place each prospect on the journey from the questions they asked over time,
detect milestones (a change in the nature of their questions), score them 0-100 and propose the
next content piece to send.

Smoothing is an HMM forward filter over the scheme's stages, in order. The hidden state is the
prospect's stage; each question is an observation whose likelihood is the classifier's stage
probabilities, tempered (mixed with a uniform floor) because one question is weak evidence. The
transition model says prospects mostly stay, sometimes move one stage on, rarely skip ahead and
very rarely go back. Filtering uses only past and present questions, so the current stage is what
a CRM would know at that moment; recent questions weigh more because older evidence passes
through more transitions. A milestone is a change of the filtered stage.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.personas import UNASSIGNED, PersonaMatcher, assign_personas, load_personas
from ..domain.schemes import DEFAULT_SCHEME, Scheme, load_scheme
from ..inputs import read_content, read_interactions
from ..io.tables import detect_column
from ..match import doc_vectors, match_threshold_for
from ..model.pipeline import JourneyModel

STAY, NEXT, SKIP, BACK = 0.84, 0.12, 0.03, 0.01   # transition mass: stay / next stage / further ahead / back
EVIDENCE = 0.6                                     # weight of a question's probabilities vs a uniform floor
START_DECAY = 0.6                                  # prior on the first question: earlier stages more likely


def transition_matrix(k: int) -> np.ndarray:
    t = np.zeros((k, k))
    for i in range(k):
        ahead = list(range(i + 2, k))
        back = list(range(0, i))
        t[i, i] = STAY
        if i + 1 < k:
            t[i, i + 1] = NEXT
        for j in ahead:
            t[i, j] = SKIP / len(ahead)
        for j in back:
            t[i, j] = BACK / len(back)
        t[i] /= t[i].sum()
    return t


def forward_filter(proba: np.ndarray) -> np.ndarray:
    """Filtered stage distribution after each question (rows of ``proba`` in time order)."""
    n, k = proba.shape
    T = transition_matrix(k)
    emit = EVIDENCE * proba + (1 - EVIDENCE) / k
    out = np.zeros((n, k))
    belief = START_DECAY ** np.arange(k)
    belief /= belief.sum()
    for i in range(n):
        prior = belief @ T if i else belief
        post = prior * emit[i]
        belief = post / post.sum()
        out[i] = belief
    return out


@dataclass
class ProspectReport:
    summary: pd.DataFrame
    timeline: dict
    date_order: str = "iso"

    def timeline_json(self) -> str:
        return json.dumps(self.timeline, ensure_ascii=False, indent=2)


def prospect_journeys(interactions, scheme: str | Scheme = DEFAULT_SCHEME, model=None, content=None, personas=None,
                      prospect_column=None, time_column=None, text_column=None, dayfirst: bool | None = None) -> ProspectReport:
    """Journey position, milestones, score and next content for every prospect.

    ``dayfirst``: how to read numeric dates such as 02/12/2026 (None: decided from the column,
    an error when it cannot be)."""
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    inp = read_interactions(interactions, prospect_column, time_column, text_column, dayfirst)
    f = inp.frame
    texts = f[inp.text].astype(str).tolist()
    vecs = m.embed(texts)
    raw = m.short_proba(texts, vecs)
    ids = sch.ids
    k = len(ids)
    dec = sch.decide(raw, m.min_confidence)
    # A blank question, or one on no journey ('none'), carries no evidence about the stage: its
    # 'none' share is spread evenly over the stages.
    proba = dec.scheme_proba + dec.p_none[:, None] / k
    blank = ~raw.any(axis=1)
    proba[blank] = 1.0 / k
    plist = load_personas(personas) if isinstance(personas, (str, Path)) else list(personas or [])
    persona_of = [""] * len(f)
    if plist:
        matcher = PersonaMatcher(plist, m.embed if vecs is not None else None) if vecs is not None else None
        pcol = detect_column(f, "persona", None, required=False, exclude=(inp.prospect, inp.time, inp.text))
        persona_of = assign_personas(f[pcol] if pcol else [""] * len(f), texts, plist, matcher, vecs)[0]
    catalogue = _catalogue(content, m, sch) if content is not None else None

    rows, timeline = [], {}
    order = f.sort_values([inp.prospect, "_ts", "_row"], kind="stable")
    for pid, g in order.groupby(inp.prospect, sort=True):
        idx = g.index.to_numpy()
        filt = forward_filter(proba[idx])
        states = filt.argmax(1)
        milestones = []
        for j in range(1, len(idx)):
            if states[j] != states[j - 1]:
                milestones.append({"date": g._ts.iloc[j].isoformat(), "from": ids[states[j - 1]], "to": ids[states[j]],
                                   "question": texts[idx[j]]})
        cur = int(states[-1])
        conf = float(filt[-1, cur])
        score = round(100 * float(filt[-1] @ (np.arange(k) / (k - 1))), 1)
        since = g._ts.iloc[0] if not milestones else pd.Timestamp(milestones[-1]["date"])
        days = int((g._ts.iloc[-1] - since).days)
        plabels = [persona_of[i] for i in idx if persona_of[i] and persona_of[i] != UNASSIGNED]
        persona = max(sorted(set(plabels)), key=plabels.count) if plabels else (UNASSIGNED if plist else "")
        row = {"prospect": pid, "questions": len(idx), "first_seen": g._ts.iloc[0].date().isoformat(),
               "last_seen": g._ts.iloc[-1].date().isoformat(), "stage": ids[cur], "confidence": round(conf, 4),
               "score": score, "milestones": len(milestones),
               "milestone_path": " → ".join([ids[states[0]]] + [ms["to"] for ms in milestones]),
               "days_in_stage": days, "persona": persona}
        if catalogue is not None:
            row.update(_next_content(catalogue, vecs[idx] if vecs is not None else None, cur, ids, persona))
        rows.append(row)
        timeline[str(pid)] = {
            "stage": ids[cur], "score": score, "milestones": milestones,
            "questions": [{"date": g._ts.iloc[j].isoformat(), "text": texts[idx[j]],
                           "question_stage": dec.stage[idx[j]],
                           "filtered_stage": ids[states[j]], "p_filtered": round(float(filt[j, states[j]]), 4),
                           "score": round(100 * float(filt[j] @ (np.arange(k) / (k - 1))), 1)} for j in range(len(idx))]}
    return ProspectReport(pd.DataFrame(rows), timeline, inp.date_order)


def _catalogue(content, m: JourneyModel, sch: Scheme) -> dict:
    inv = read_content(content)
    docs = m.documents(list(zip(inv.title, inv.body)), urls=inv.url.tolist())
    dec = sch.decide(np.vstack([d.proba for d in docs]), m.min_confidence)
    # Pieces on no journey ('none') or of no clear stage are never sent as the next piece.
    stage_of = np.array([sch.ids.index(s) if s in sch.ids else -1 for s in dec.stage])
    return {"inv": inv, "stage": stage_of, "vec": doc_vectors(docs), "persona": inv.persona.tolist(),
            "threshold": match_threshold_for(m.meta.get("embedder", ""))}


def _next_content(cat: dict, qvec: np.ndarray | None, cur: int, ids: list[str], persona: str) -> dict:
    """Best piece of the current stage (of the next one when the current has none), close to the
    prospect's topics and persona, and not one that plainly answers a question they already asked."""
    inv, stage = cat["inv"], cat["stage"]
    cand = np.where(stage == cur)[0]
    if not len(cand):
        cand = np.where(stage == min(cur + 1, len(ids) - 1))[0]
    if not len(cand) or qvec is None or cat["vec"] is None:
        return {"next_content": "", "next_content_url": "", "next_content_stage": ""}
    sims = qvec @ cat["vec"][cand].T                       # (questions, candidates)
    already = (sims >= cat["threshold"] + 0.2).any(0)       # a piece that plainly answers a past question
    weights = 0.5 ** np.arange(len(qvec))[::-1]             # recent questions weigh more
    topic = (weights @ sims) / weights.sum()
    score = topic + 0.05 * (stage[cand] == cur + 1) + 0.05 * np.array([cat["persona"][i] == persona for i in cand])
    score[already] -= 1.0
    best = cand[int(np.argmax(score))]
    return {"next_content": inv.title.iloc[best], "next_content_url": inv.url.iloc[best], "next_content_stage": ids[stage[best]]}
