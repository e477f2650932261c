"""Active learning: which texts to ask a person about, and the append-only file of their answers.

:func:`review_order` ranks unlabeled texts by how much their label would teach the model:
uncertainty (one minus the margin between the two most likely answers, ``none`` included) times
representativeness (how typical the text is of the pool: mean similarity to its nearest
neighbours, so outliers and junk come late), chosen greedily so that each pick is far from the
texts already picked or labeled (diversity: no ten near-identical questions in a row).

:class:`LabelLog` is the answers file: a CSV that is only ever appended to, one flushed and
fsync'ed line per answer (``text, stage, answer, model_stage, confidence, row, time``). An undo
appends a line with a blank stage; the last line of a text wins, so Ctrl-C or a crash loses at
most the answer being typed, and ``contentplan adapt -i FILE`` reads the file as it is.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..domain.schemes import NONE, Scheme
from ..errors import InputError

CANDIDATES = 2000      # the most uncertain texts considered (similarity matrices stay ~16 MB)
NEIGHBOURS = 10        # neighbours averaged for representativeness
LOG_COLUMNS = ["text", "stage", "answer", "model_stage", "confidence", "row", "time"]


def answer_proba(proba: np.ndarray, scheme: Scheme) -> np.ndarray:
    """(n, n_stages + 1): the scheme stages' probabilities and ``none``'s, rows summing to 1 (0 for blank rows)."""
    dec = scheme.decide(proba, 0.0)
    q = np.column_stack([dec.scheme_proba, dec.p_none])
    s = q.sum(1, keepdims=True)
    return np.divide(q, s, out=np.zeros_like(q), where=s > 0)


def uncertainty(q: np.ndarray) -> np.ndarray:
    """One minus the margin between the two most likely answers (0: sure, 1: a coin toss)."""
    if q.shape[1] < 2:
        return np.zeros(len(q))
    top = np.sort(q, axis=1)[:, -2:]
    u = 1.0 - (top[:, 1] - top[:, 0])
    return np.where(q.sum(1) > 0, u, 0.0)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def review_order(proba: np.ndarray, scheme: Scheme, vectors: np.ndarray | None, n: int,
                 labeled_vectors: np.ndarray | None = None, candidates: int = CANDIDATES) -> list[int]:
    """Indices of up to ``n`` texts to ask about, most useful first (see the module docstring).

    ``proba``: model probabilities (columns :func:`~contentplan.domain.schemes.model_labels`);
    ``vectors``: the texts' embeddings (None: uncertainty alone); ``labeled_vectors``: embeddings
    of texts labeled already, which new picks keep away from. Blank rows are never picked."""
    q = answer_proba(proba, scheme)
    u = uncertainty(q)
    live = np.flatnonzero(q.sum(1) > 0)
    if not len(live) or n <= 0:
        return []
    cand = live[np.argsort(-u[live], kind="stable")[:max(candidates, n)]]
    if vectors is None:
        return cand[:n].tolist()
    V = _unit(vectors[cand])
    sim = V @ V.T
    k = min(NEIGHBOURS, len(cand) - 1)
    if k > 0:
        np.fill_diagonal(sim, -np.inf)
        dens = np.sort(sim, axis=1)[:, -k:].mean(1)
        np.fill_diagonal(sim, 1.0)
        dens = np.clip(dens, 0.0, None)
        dens = dens / dens.max() if dens.max() > 0 else np.ones(len(cand))
    else:
        dens = np.ones(len(cand))
    gain = u[cand] * (0.5 + 0.5 * dens)
    near = np.zeros(len(cand))
    if labeled_vectors is not None and len(labeled_vectors):
        near = np.clip((V @ _unit(labeled_vectors).T).max(1), 0.0, 1.0)
    picked: list[int] = []
    free = np.ones(len(cand), dtype=bool)
    for _ in range(min(n, len(cand))):
        score = np.where(free, gain * (1.0 - near), -np.inf)
        j = int(np.argmax(score))
        if not np.isfinite(score[j]):
            break
        picked.append(j)
        free[j] = False
        near = np.maximum(near, np.clip(sim[j], 0.0, 1.0))
    return cand[picked].tolist()


# ----------------------------------------------------------------------------- the answers file

@dataclass
class Answer:
    text: str
    stage: str            # '' for a skip or an undo
    answer: str           # accept | pick | skip | undo
    model_stage: str
    confidence: float
    row: int


def _line(values: Sequence) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue().encode("utf-8")


class LabelLog:
    """The append-only answers file (see the module docstring). ``answers()`` reads it back;
    ``append()`` writes one complete line with Ctrl-C held off, flushed to disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def answers(self) -> list[Answer]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            # A line cut by a crash: everything before it stands.
            data = data[:data.rfind(b"\n") + 1]
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{self.path}: not a labels file written by 'contentplan review' (not UTF-8); "
                             "pass another -o") from None
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return []
        if rows[0] != LOG_COLUMNS:
            raise InputError(f"{self.path}: not a labels file written by 'contentplan review' (header "
                             f"{', '.join(rows[0][:8])}); pass another -o")
        out = []
        for r in rows[1:]:
            if len(r) != len(LOG_COLUMNS):
                continue
            try:
                out.append(Answer(r[0], r[1], r[2], r[3], float(r[4] or 0), int(r[5] or 0)))
            except ValueError:
                continue
        return out

    def repair(self) -> bool:
        """Cut a last line left incomplete by a crash (before appending after it); True when cut."""
        if not self.path.is_file():
            return False
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return False
        with open(self.path, "r+b") as fh:
            fh.truncate(data.rfind(b"\n") + 1)
        return True

    def current(self) -> dict[str, Answer]:
        """The standing answer of each text: its last line."""
        last: dict[str, Answer] = {}
        for a in self.answers():
            last[a.text] = a
        return last

    def append(self, a: Answer) -> None:
        line = _line([a.text, a.stage, a.answer, a.model_stage, f"{a.confidence:.4f}", a.row,
                      _dt.datetime.now().isoformat(timespec="seconds")])
        blocked = _block_sigint()
        try:
            new = not self.path.exists() or self.path.stat().st_size == 0
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (_line(LOG_COLUMNS) if new else b"") + line)
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            _unblock_sigint(blocked)


def _block_sigint() -> bool:
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        return True
    except (AttributeError, ValueError, OSError):
        return False


def _unblock_sigint(blocked: bool) -> None:
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def answer_choices(scheme: Scheme, has_none: bool) -> list[str]:
    """The answers a reviewer can pick, keyed 1..n in this order (``none`` last)."""
    return list(scheme.ids) + ([NONE] if has_none else [])


# ----------------------------------------------------------------------------- the session

@dataclass
class Item:
    row: int               # 1-based data row in the input file
    text: str
    guess: str             # the model's answer before abstention (a stage or none)
    stage: str             # the model's answer (``unclear`` below the threshold)
    confidence: float
    reasons: str           # the words that pushed the guess
    runner_up: str
    runner_up_p: float


@dataclass
class ReviewQueue:
    items: list[Item]
    choices: list[str]
    log: LabelLog
    source: str
    pool: int              # texts that could be asked (not answered yet, not blank, not repeated)
    answered_before: int   # texts the log answered already


def prepare_review(input_path: str, log_path: str | Path, text_column: str | None = None, scheme: str | None = None,
                   model_dir: str | None = None, limit: int = 200) -> ReviewQueue:
    """The texts of ``input_path`` to ask about, most useful first (:func:`review_order`), leaving out
    those the answers file ``log_path`` holds an answer for (a later session resumes)."""
    from ..domain.schemes import load_scheme
    from ..io.encoding import display_name
    from ..io.tables import detect_column, read_table
    from ..model.pipeline import JourneyModel, clean_cell, label_frame
    from ..textfold import fold_accents

    name = display_name(input_path)
    frame = read_table(input_path)
    col = detect_column(frame, "text", text_column, where=name, option="--text-column")
    log = LabelLog(log_path)
    done = {t for t, a in log.current().items() if a.answer != "undo"}
    seen: set[str] = set()
    rows, texts = [], []
    for i, t in enumerate(frame[col].tolist()):
        t = clean_cell(t)
        key = " ".join(fold_accents(t).split())
        if not t or key in seen or not any(c.isalpha() for c in t):
            continue
        seen.add(key)
        if t in done:
            continue
        rows.append(i + 1)
        texts.append(t)
    sch = load_scheme(scheme)
    model = JourneyModel.load(model_dir)
    if not texts:
        return ReviewQueue([], answer_choices(sch, model.has_none), log, name, 0, len(done))
    proba = model.proba(texts)
    vectors = model.embed(texts)
    labeled = [t for t in done]
    labeled_vectors = model.embed(labeled) if labeled and vectors is not None else None
    order = review_order(proba, sch, vectors, limit, labeled_vectors)
    picked = [texts[i] for i in order]
    shown = label_frame(model, picked, sch, min_confidence=None) if picked else None
    dec = sch.decide(proba[order], 0.0) if order else None
    q = answer_proba(proba[order], sch) if order else None
    answers = answer_choices(sch, True)
    items = []
    for j, i in enumerate(order):
        ranked = np.argsort(-q[j])
        second = int(ranked[1]) if len(ranked) > 1 else int(ranked[0])
        items.append(Item(rows[i], texts[i], dec.dominant[j], shown.stage.iloc[j], float(dec.confidence[j]),
                          str(shown.explanation.iloc[j]) if "explanation" in shown else "",
                          answers[second], float(q[j, second])))
    return ReviewQueue(items, answer_choices(sch, model.has_none), log, name, len(texts), len(done))


KEYS_HELP = "Enter accept · {digits} pick · s skip · u undo · q quit"


def run_session(queue: ReviewQueue, read_key, write) -> dict:
    """Ask about each item in turn: ``read_key()`` returns one key ('' at end of input), ``write(str)``
    shows text. Every answer is appended to the log before the next item is shown. Returns counts."""
    from ..terminal import clean_line

    digits = " ".join(f"{k}={c}" for k, c in _keymap(queue.choices).items())
    counts = {"labeled": 0, "skipped": 0, "undone": 0}
    history: list[int] = []
    i = 0
    n = len(queue.items)
    while 0 <= i < n:
        it = queue.items[i]
        text = clean_line(it.text)
        if len(text) > 400:
            text = text[:400] + "…"
        guess = f"{it.guess} {it.confidence:.2f}" + (" (below the threshold: unclear)" if it.stage == "unclear" else "")
        write(f"\n[{i + 1}/{n}] row {it.row}: {text}\n"
              f"  model: {guess}; next {it.runner_up} {it.runner_up_p:.2f}"
              + (f"; words: {clean_line(it.reasons)}" if it.reasons else "") + "\n"
              f"  {KEYS_HELP.format(digits=digits)} > ")
        key = read_key()
        if key == "":
            write("\nend of input\n")
            break
        keymap = _keymap(queue.choices)
        if key in ("\r", "\n", "y", "a"):
            ans = Answer(it.text, it.guess, "accept", it.guess, it.confidence, it.row)
        elif key in keymap:
            ans = Answer(it.text, keymap[key], "pick", it.guess, it.confidence, it.row)
        elif key == "s":
            ans = Answer(it.text, "", "skip", it.guess, it.confidence, it.row)
        elif key == "u":
            if not history:
                write("nothing to undo in this session\n")
                continue
            i = history.pop()
            prev = queue.items[i]
            queue.log.append(Answer(prev.text, "", "undo", prev.guess, prev.confidence, prev.row))
            counts["undone"] += 1
            write(f"undone: row {prev.row} (saved)\n")
            continue
        elif key == "q":
            write("\n")
            break
        else:
            write(f"unknown key {key!r}\n")
            continue
        queue.log.append(ans)
        counts["labeled" if ans.stage else "skipped"] += 1
        write(f"{ans.stage or 'skipped'} (saved)\n")
        history.append(i)
        i += 1
    return counts


def _keymap(choices: list[str]) -> dict[str, str]:
    """Keys 1..9 for the stages, 0 for none."""
    out = {}
    k = 1
    for c in choices:
        if c == NONE:
            out["0"] = c
        else:
            out[str(k)] = c
            k += 1
    return out
