"""Canonical journey stages, built-in schemes and user scheme files.

A scheme is a projection of the canonical stages: each scheme stage lists the canonical stages it
groups, and scheme probabilities are sums of canonical probabilities.
"""
from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from ..errors import SchemeError, did_you_mean
from ..textfold import fold_accents
from . import DEFAULT_SCHEME

UNCLEAR = "unclear"
# Text on no buyer or customer journey (legal notices, job ads, news, greetings...): an answer, not a
# doubt. Models trained on it have a ``none`` class; it projects to no scheme stage.
NONE = "none"

# Search intent of each canonical stage (the SEO view; navigational is detected separately).
CANONICAL_INTENT = {
    "problem": "informational",
    "solution": "informational",
    "vendor": "commercial",
    "offer": "transactional",
    "purchase": "transactional",
    "onboarding": "informational",
    "evaluation": "informational",
    "support": "informational",
    "loyalty": "transactional",
    "advocacy": "informational",
}


def _data_text(*parts: str) -> str:
    node = resources.files("contentplan").joinpath("data")
    for part in parts:
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


@dataclass(frozen=True)
class CanonicalStage:
    id: str
    label: dict
    description: dict


@functools.cache
def canonical_stages() -> tuple[CanonicalStage, ...]:
    data = yaml.safe_load(_data_text("canonical.yaml"))
    return tuple(CanonicalStage(s["id"], s["label"], s["description"]) for s in data["stages"])


def canonical_ids() -> list[str]:
    """The ten journey stages (no ``none``)."""
    return [s.id for s in canonical_stages()]


def model_labels() -> list[str]:
    """The columns of every probability array a model returns: the canonical stages, then ``none``."""
    return canonical_ids() + [NONE]


@dataclass(frozen=True)
class Format:
    id: str
    label: dict
    stages: tuple[str, ...]


@functools.cache
def formats() -> dict[str, Format]:
    data = yaml.safe_load(_data_text("formats.yaml"))
    return {f["id"]: Format(f["id"], f["label"], tuple(f["stages"])) for f in data["formats"]}


@dataclass(frozen=True)
class Stage:
    id: str
    label: dict
    description: str
    canonical: tuple[str, ...]
    cues: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    descriptions: dict = field(default_factory=dict, compare=False)   # language -> text, when the scheme gives several

    def describe(self, lang: str = "en") -> str:
        """The stage description in ``lang`` when the scheme has one, else the English one."""
        return self.descriptions.get(lang) or self.description


def label_key(text) -> str:
    """A stage name reduced for matching: lowercase, no accents, letters and digits only
    ("Post-Purchase", "post_purchase" and "post purchase" all give "postpurchase")."""
    return "".join(c for c in fold_accents(str(text).strip()) if c.isalnum())


@dataclass
class StageDecision:
    """What :meth:`Scheme.decide` returns, one entry per row."""

    stage: list[str]            # scheme stage id, ``none`` or ``unclear``
    confidence: np.ndarray      # probability of the answer (0 for a blank row)
    best: np.ndarray            # index of the most likely scheme stage (ignores ``none``)
    canonical: list[str]        # canonical stage inside the answer ('' for blank rows, ``none`` for none)
    dominant: list[str]         # the answer before abstention ('' for blank rows)
    scheme_proba: np.ndarray    # (n, n_stages)
    p_none: np.ndarray          # (n,)

    @property
    def answers(self) -> list[str]:
        """The answer before abstention (a stage or ``none``), ``unclear`` for a blank row: what an
        evaluation scores."""
        return [d or UNCLEAR for d in self.dominant]


@dataclass(frozen=True)
class Scheme:
    name: str
    description: str
    stages: tuple[Stage, ...]
    source: str = "built-in"
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.stages]

    def resolve(self, label) -> str | None:
        """The scheme stage id a gold label names, or None. Accepted, ignoring case, accents and
        separators: a stage id, its label in any language, one of its aliases, or a canonical
        stage (id or label) that projects to it."""
        if not self._index:
            index = {NONE: NONE, "offjourney": NONE, "horsparcours": NONE}
            for cs in canonical_stages():
                for name in (cs.id, *cs.label.values()):
                    index.setdefault(label_key(name), self.of_canonical(cs.id))
            for st in self.stages:   # the scheme's own names win over canonical ones
                for name in (st.id, *st.label.values(), *st.aliases):
                    index[label_key(name)] = st.id
            index.pop("", None)
            self._index.update(index)
        return self._index.get(label_key(label))

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise SchemeError(f"scheme '{self.name}' has no stage '{stage_id}'{did_you_mean(stage_id, self.ids)} (stages: {', '.join(self.ids)})")

    def of_canonical(self, canonical: str) -> str:
        """The scheme stage a canonical stage projects to (``none`` stays ``none``)."""
        if canonical == NONE:
            return NONE
        for s in self.stages:
            if canonical in s.canonical:
                return s.id
        raise SchemeError(f"scheme '{self.name}' does not project canonical stage '{canonical}'")

    def projection_matrix(self, canonical: list[str] | None = None) -> np.ndarray:
        """(n_labels, n_stages) 0/1 matrix: model probabilities @ M = scheme probabilities. The
        default rows are :func:`model_labels`; the ``none`` row is all zeros (it is no stage)."""
        canonical = canonical or model_labels()
        m = np.zeros((len(canonical), len(self.stages)), dtype=np.float64)
        for j, s in enumerate(self.stages):
            for c in s.canonical:
                if c in canonical:
                    m[canonical.index(c), j] = 1.0
        return m

    def decide(self, proba: np.ndarray, threshold: float = 0.0) -> StageDecision:
        """The one rule that turns model probabilities into stages, used by every command.

        ``proba`` is (n, len(model_labels())) or (n, len(canonical_ids())) (a model without ``none``).
        Per row: an all-zero row (no letters) is ``unclear`` with confidence 0; ``none`` wins when its
        probability beats every scheme stage's; the answer (stage or ``none``) becomes ``unclear``
        when its probability is below ``threshold``. ``dominant`` is the best scheme stage before
        abstention and ``canonical`` the most likely canonical stage inside it.
        """
        proba = np.atleast_2d(np.asarray(proba, dtype=np.float64))
        n_can = len(canonical_ids())
        if proba.shape[1] == n_can:
            proba = np.hstack([proba, np.zeros((len(proba), 1))])
        M = self.projection_matrix()
        sp = proba @ M
        n = len(sp)
        best = sp.argmax(1) if n else np.zeros(0, dtype=int)
        conf = sp[np.arange(n), best] if n else np.zeros(0)
        p_none = proba[:, n_can]
        is_none = p_none > conf
        blank = ~proba.any(axis=1)
        conf = np.where(blank, 0.0, np.where(is_none, p_none, conf))
        labels = np.array(model_labels(), dtype=object)
        # The most likely canonical stage among those the chosen scheme stage groups (vectorised).
        top = labels[(proba * M.T[best]).argmax(1)] if n else np.zeros(0, dtype=object)
        answer = np.where(is_none, NONE, np.array(self.ids, dtype=object)[best] if n else top)
        canonical_arr = np.where(is_none, NONE, top)
        stage = np.where(blank | (conf < threshold), UNCLEAR, answer)
        stage = stage.tolist()
        canonical = np.where(blank, "", canonical_arr).tolist()
        dominant = np.where(blank, "", answer).tolist()
        return StageDecision(stage, conf, best, canonical, dominant, sp, p_none)

    def stage_mix(self, canonical_labels: list[str]) -> str:
        """'stage:share' for the scheme stages of a list of canonical labels (one per passage)."""
        if not canonical_labels:
            return ""
        counts = Counter(self.of_canonical(c) for c in canonical_labels)
        return " ".join(f"{s}:{counts[s] / len(canonical_labels):.0%}" for s in [*self.ids, NONE] if counts[s])

    def recommended_formats(self, stage_id: str) -> list[str]:
        return list(self.stage(stage_id).formats)


def _builtin_names() -> tuple[str, ...]:
    """The built-in schemes: one YAML file each in the package's data/schemes folder (adding a file
    adds a scheme), the default first, then by name."""
    node = resources.files("contentplan").joinpath("data").joinpath("schemes")
    names = sorted(f.name[:-len(".yaml")] for f in node.iterdir() if f.name.endswith(".yaml"))
    return tuple(sorted(names, key=lambda n: n != DEFAULT_SCHEME))


BUILTIN = _builtin_names()


def _check_keys(data: dict, allowed: tuple[str, ...], required: tuple[str, ...], where: str) -> None:
    """Refuse a key outside ``allowed`` (the first one, by name) and a missing ``required`` one."""
    unknown = set(data) - set(allowed)
    if unknown:
        key = sorted(unknown)[0]
        raise SchemeError(f"{where}: unknown key '{key}'{did_you_mean(key, allowed)} (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in data:
            raise SchemeError(f"{where}: missing key '{key}'")


def _parse(data, source: str) -> Scheme:
    """Validate a parsed scheme document and build a Scheme. Errors name the key at fault."""
    if not isinstance(data, dict):
        raise SchemeError(f"{source}: a scheme file must be a mapping with 'name' and 'stages' keys")
    _check_keys(data, ("name", "description", "stages"), ("name", "stages"), source)
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise SchemeError(f"{source}: 'name' must be a non-empty string")
    if not isinstance(data["stages"], list) or not data["stages"]:
        raise SchemeError(f"{source}: 'stages' must be a non-empty list")
    canon = canonical_ids()
    fmts = formats()
    stages, seen_ids, covered = [], set(), {}
    for i, s in enumerate(data["stages"]):
        where = f"{source}: stages[{i}]"
        if not isinstance(s, dict):
            raise SchemeError(f"{where}: each stage must be a mapping with 'id' and 'canonical'")
        _check_keys(s, ("aliases", "canonical", "cues", "description", "formats", "id", "label"), ("id", "canonical"), where)
        sid = s["id"]
        if not isinstance(sid, str) or not sid.strip() or sid in (UNCLEAR, NONE):
            raise SchemeError(f"{where}: 'id' must be a non-empty string other than '{UNCLEAR}' and '{NONE}'")
        if sid in seen_ids:
            raise SchemeError(f"{where}: duplicate stage id '{sid}'")
        seen_ids.add(sid)
        can = s["canonical"]
        if isinstance(can, str):
            can = [can]
        if not isinstance(can, list) or not can:
            raise SchemeError(f"{where} ('{sid}'): 'canonical' must be a list of canonical stages ({', '.join(canon)})")
        for c in can:
            if c not in canon:
                raise SchemeError(f"{where} ('{sid}'): unknown canonical stage '{c}'{did_you_mean(str(c), canon)} (valid: {', '.join(canon)})")
            if c in covered:
                raise SchemeError(f"{where} ('{sid}'): canonical stage '{c}' is already mapped to stage '{covered[c]}'")
            covered[c] = sid
        fl = s.get("formats") or []
        if not isinstance(fl, list):
            raise SchemeError(f"{where} ('{sid}'): 'formats' must be a list")
        for f in fl:
            if f not in fmts:
                raise SchemeError(f"{where} ('{sid}'): unknown format '{f}'{did_you_mean(str(f), fmts)} (valid: {', '.join(fmts)})")
        label = s.get("label", sid)
        if isinstance(label, str):
            label = {"en": label, "fr": label}
        if not isinstance(label, dict):
            raise SchemeError(f"{where} ('{sid}'): 'label' must be a string or a mapping of language to text")
        cues = s.get("cues") or []
        if not isinstance(cues, list):
            raise SchemeError(f"{where} ('{sid}'): 'cues' must be a list")
        aliases = s.get("aliases") or []
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise SchemeError(f"{where} ('{sid}'): 'aliases' must be a list of strings")
        desc = s.get("description", "")
        descs = {}
        if isinstance(desc, dict) and desc and all(isinstance(k, str) and isinstance(v, str) for k, v in desc.items()):
            descs = dict(desc)
            desc = desc.get("en") or next(iter(desc.values()))
        if not isinstance(desc, str):
            raise SchemeError(f"{where} ('{sid}'): 'description' must be a string or a mapping of language to text")
        stages.append(Stage(sid, label, desc, tuple(can), tuple(map(str, cues)), tuple(fl), tuple(aliases), descs))
    missing = [c for c in canon if c not in covered]
    if missing:
        raise SchemeError(f"{source}: canonical stage(s) {', '.join(missing)} are not mapped to any stage; add them to a stage's 'canonical' list")
    return Scheme(data["name"], str(data.get("description", "")), tuple(stages), source)


def _load_yaml_text(text: str, source: str):
    from ..errors import InputError
    from ..io.documents import safe_yaml
    try:
        return safe_yaml(text, source, "YAML")
    except InputError as err:
        raise SchemeError(str(err)) from None


@functools.cache
def _builtin(name: str) -> Scheme:
    return _parse(yaml.safe_load(_data_text("schemes", f"{name}.yaml")), "built-in")


def load_scheme(name_or_path: str | Path | Scheme | None = None) -> Scheme:
    """Load a built-in scheme by name, or a user scheme YAML file by path."""
    if isinstance(name_or_path, Scheme):
        return name_or_path
    name = str(name_or_path or DEFAULT_SCHEME)
    if name in BUILTIN:
        return _builtin(name)
    path = Path(name)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SchemeError(f"scheme file {path} does not exist; pass a built-in name ({', '.join(BUILTIN)}) or a YAML file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise SchemeError(f"{path}: cannot read scheme file ({err.__class__.__name__}); save it as UTF-8 YAML") from None
        return _parse(_load_yaml_text(text, str(path)), str(path))
    raise SchemeError(f"unknown scheme '{name}'{did_you_mean(name, BUILTIN)} (built-in: {', '.join(BUILTIN)}; or pass a .yaml file)")


def list_schemes() -> list[Scheme]:
    return [load_scheme(n) for n in BUILTIN]
