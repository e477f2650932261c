"""Buyer personas: a small YAML file (id, name, description, role cues, vocabulary, goals, pains,
example questions in FR/EN), validated with errors that name the key, and a matcher that assigns a
text to the closest persona, or ``unassigned`` when none is close enough."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError, did_you_mean
from ..io.documents import safe_yaml
from ..io.encoding import decode, read_bytes
from ..textfold import fold_accents

UNASSIGNED = "unassigned"
# Cosine similarity (multilingual USE) below which no persona is assigned; chosen on the bundled
# example (questions whose persona column is filled), see benchmarks/README.md.
DEFAULT_THRESHOLD = 0.30
_KEYS = {"id", "name", "description", "role_cues", "vocabulary", "goals", "pains", "example_questions", "channels"}


@dataclass
class Persona:
    id: str
    name: dict
    description: dict
    role_cues: list[str] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)
    goals: list[str] = field(default_factory=list)
    pains: list[str] = field(default_factory=list)
    example_questions: dict = field(default_factory=dict)

    def label(self, lang: str = "en") -> str:
        return self.name.get(lang) or self.name.get("en") or self.id

    def profile_texts(self) -> list[str]:
        texts = [v for v in self.description.values() if v]
        if self.vocabulary:
            texts.append(", ".join(self.vocabulary))
        if self.role_cues:
            texts.append(", ".join(self.role_cues))
        texts += [g for g in self.goals + self.pains if g]
        return texts

    def examples(self) -> list[str]:
        return [q for qs in self.example_questions.values() for q in (qs or [])]


def _lang_map(value, where: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value, "fr": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise InputError(f"{where}: must be a string or a mapping of language to text (en: ..., fr: ...)")


def _str_list(value, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise InputError(f"{where}: must be a list of strings")
    return [str(v) for v in value]


def load_personas(path: str | Path) -> list[Persona]:
    """Read and validate a personas YAML file."""
    name = str(path)
    text, _ = decode(read_bytes(path), name)
    data = safe_yaml(text, name, "YAML")
    if isinstance(data, dict) and "personas" in data:
        extra = set(data) - {"personas"}
        if extra:
            raise InputError(f"{name}: unknown top-level key '{sorted(extra)[0]}' (allowed: personas)")
        data = data["personas"]
    if not isinstance(data, list) or not data:
        raise InputError(f"{name}: expected a list of personas under 'personas:' (each with id and name)")
    out, seen = [], set()
    for i, p in enumerate(data):
        where = f"{name}: personas[{i}]"
        if not isinstance(p, dict):
            raise InputError(f"{where}: each persona must be a mapping with at least 'id' and 'name'")
        bad = set(p) - _KEYS
        if bad:
            key = sorted(bad)[0]
            raise InputError(f"{where}: unknown key '{key}'{did_you_mean(key, _KEYS)} (allowed: {', '.join(sorted(_KEYS))})")
        if "id" not in p:
            raise InputError(f"{where}: missing key 'id'")
        pid = p["id"]
        if not isinstance(pid, str) or not re.fullmatch(r"[\w.-]+", pid) or pid == UNASSIGNED:
            raise InputError(f"{where}: 'id' must be a word (letters, digits, _ . -) other than '{UNASSIGNED}'")
        if pid in seen:
            raise InputError(f"{where}: duplicate persona id '{pid}'")
        seen.add(pid)
        eq = p.get("example_questions") or {}
        if isinstance(eq, list):
            eq = {"any": eq}
        if not isinstance(eq, dict):
            raise InputError(f"{where} ('{pid}'): 'example_questions' must be a list or a mapping fr/en -> list")
        eq = {k: _str_list(v, f"{where} ('{pid}').example_questions.{k}") for k, v in eq.items()}
        out.append(Persona(
            id=pid, name=_lang_map(p.get("name", pid), f"{where} ('{pid}').name"),
            description=_lang_map(p.get("description"), f"{where} ('{pid}').description"),
            role_cues=_str_list(p.get("role_cues"), f"{where} ('{pid}').role_cues"),
            vocabulary=_str_list(p.get("vocabulary"), f"{where} ('{pid}').vocabulary"),
            goals=_str_list(p.get("goals"), f"{where} ('{pid}').goals"),
            pains=_str_list(p.get("pains"), f"{where} ('{pid}').pains"),
            example_questions=eq))
        if not out[-1].examples() and not out[-1].profile_texts():
            raise InputError(f"{where} ('{pid}'): give a description, vocabulary or example_questions so texts can be matched to it")
    return out


def _fold(s: str) -> str:
    """Lowercase without accents (é -> e)."""
    return fold_accents(s, apostrophe=False)


class PersonaMatcher:
    """Assign texts to personas by embedding similarity to their profiles and example questions,
    plus a small bonus when the text uses the persona's own role words or vocabulary."""

    def __init__(self, personas: list[Persona], embed, threshold: float = DEFAULT_THRESHOLD):
        self.personas = personas
        self.threshold = threshold
        self._embed = embed
        self._examples = []
        self._centroids = []
        for p in personas:
            ex = p.examples()
            prof = p.profile_texts()
            ve = embed(ex) if ex else np.zeros((0, 0))
            vp = embed(prof) if prof else np.zeros((0, 0))
            allv = np.vstack([v for v in (ve, vp) if v.size])
            c = allv.mean(0)
            self._centroids.append(c / (np.linalg.norm(c) or 1.0))
            self._examples.append(ve if ve.size else allv)
        # One alternation per persona: a text is scanned once per persona, not once per cue.
        self._cues = []
        for p in personas:
            words = sorted({_fold(w) for w in p.role_cues + p.vocabulary if len(w) > 2}, key=len, reverse=True)
            self._cues.append(re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b") if words else None)

    def scores(self, texts: list[str], vectors: np.ndarray | None = None) -> np.ndarray:
        if vectors is None:
            vectors = self._embed(texts)
        out = np.zeros((len(texts), len(self.personas)))
        for j in range(len(self.personas)):
            ex = vectors @ self._examples[j].T
            out[:, j] = 0.5 * ex.max(1) + 0.5 * (vectors @ self._centroids[j])
        for i, t in enumerate(texts):
            ft = _fold((t or "")[:3000])
            for j, rx in enumerate(self._cues):
                if rx is not None:
                    hits = len(set(rx.findall(ft)))
                    out[i, j] += min(0.1, 0.05 * hits)
        return out

    def assign_all(self, texts: list[str], vectors: np.ndarray | None = None) -> list[list[str]]:
        """Every persona whose score clears the threshold, best first (``[unassigned]`` when none does):
        a content piece can serve several personas."""
        if not texts:
            return []
        s = self.scores(texts, vectors)
        out = []
        for i, row in enumerate(s):
            ids = [self.personas[j].id for j in np.argsort(-row, kind="stable")
                   if row[j] >= self.threshold] if (texts[i] or "").strip() else []
            out.append(ids or [UNASSIGNED])
        return out

    def assign(self, texts: list[str], vectors: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
        """Persona id per text (``unassigned`` below the threshold) and the best score."""
        if not texts:
            return [], np.zeros(0)
        s = self.scores(texts, vectors)
        best = s.argmax(1)
        top = s.max(1)
        ids = [self.personas[b].id if top[i] >= self.threshold and (texts[i] or "").strip() else UNASSIGNED
               for i, b in enumerate(best)]
        return ids, top


def normalise_persona(value, personas: list[Persona]) -> str | None:
    """A declared persona value ('CEO', 'ceo_smb', 'Dirigeant') mapped to a persona id, or None."""
    if value is None:
        return None
    v = _fold(str(value).strip())
    if not v:
        return None
    for p in personas:
        if v == _fold(p.id) or v in (_fold(n) for n in p.name.values()):
            return p.id
    for p in personas:
        if any(v == _fold(c) for c in p.role_cues):
            return p.id
    return None


def assign_personas(declared, texts, personas: list[Persona], matcher: PersonaMatcher | None = None,
                    vectors: np.ndarray | None = None, multi: bool = False) -> tuple[list, list[str]]:
    """The persona of each text, declared or inferred (the one rule tag, prospects and gaps use): its
    declared value when that names one of ``personas`` (an id, a name or a role cue), else the
    closest profile by ``matcher`` (``unassigned`` below its threshold, or without a matcher).
    With ``multi`` (content pieces, which can serve several personas), each text gets a list: every
    persona its declared value lists (:func:`declared_personas`), else every persona whose score
    clears the threshold (:meth:`PersonaMatcher.assign_all`), else ``[unassigned]``.
    Returns the persona ids (or lists of ids) and, per text, 'declared' or 'inferred'."""
    given = [declared_personas(v, personas) if multi else normalise_persona(v, personas) for v in declared]
    if matcher is None or all(given):
        inferred = [[UNASSIGNED] if multi else UNASSIGNED for _ in given]
    elif multi:
        inferred = matcher.assign_all(list(texts), vectors)
    else:
        inferred = matcher.assign(list(texts), vectors)[0]
    return [g or i for g, i in zip(given, inferred)], ["declared" if g else "inferred" for g in given]


_LIST_SEP = re.compile(r"\s*[;,|]\s*")


def declared_personas(value, personas: list[Persona]) -> list[str]:
    """The persona ids a content cell declares: one value, or a list separated by ``;``, ``,`` or ``|``
    ('CEO; CFO', 'ceo_smb|cfo'). Values that name no persona are left out; [] when none does."""
    one = normalise_persona(value, personas)
    if one:
        return [one]
    out = []
    for part in _LIST_SEP.split(str(value or "")):
        pid = normalise_persona(part, personas)
        if pid and pid not in out:
            out.append(pid)
    return out
