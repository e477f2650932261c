"""Tag drafts: stage, stage mix, format, persona, confidence, explanation and advice per file; write
the result into Markdown front matter (key order and body preserved byte for byte), or check
declared values against predictions (for a content repository's CI)."""
from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..domain.formats import detect_format, normalise_format
from ..domain.personas import UNASSIGNED, PersonaMatcher, assign_personas, load_personas
from ..domain.schemes import DEFAULT_SCHEME, NONE, UNCLEAR, Scheme, formats, load_scheme, model_labels
from ..errors import InputError, OutputError
from ..io.documents import Document, read_documents
from ..io.encoding import decode, read_bytes
from ..io.frontmatter import set_front_matter
from ..io.writers import atomic_write
from ..model.lang import detect_lang
from ..model.pipeline import JourneyModel

FRONT_KEYS = ("journey_stage", "content_format", "persona", "stage_confidence")


@dataclass
class Tag:
    path: str
    title: str
    lang: str
    stage: str
    confidence: float
    stage_mix: str
    format: str
    format_source: str
    persona: str
    explanation: str
    advice: str
    declared: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {k: getattr(self, k) for k in TAG_COLUMNS}


def _snippet(text: str, n: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= n else text[: n - 1] + "…"


def tag_documents(paths, scheme: str | Scheme = DEFAULT_SCHEME, personas=None,
                  model: str | Path | JourneyModel | None = None, min_confidence: float | None = None,
                  errors: list | None = None, notes: list | None = None, keep_going: bool = False) -> list[Tag]:
    """Tag every md/html/txt/docx file given (folders recursively). ``errors``, ``notes`` and
    ``keep_going`` are read_documents': files that could not be read, links not followed."""
    sch = load_scheme(scheme)
    m = model if isinstance(model, JourneyModel) else JourneyModel.load(model)
    plist = load_personas(personas) if isinstance(personas, (str, Path)) else list(personas or [])
    docs: list[Document] = read_documents(paths, errors, notes, keep_going)
    if not docs:
        return []
    langs = [detect_lang(d.full_text) for d in docs]
    # The page's URL when its front matter declares one, else the last folders of its path
    # (content/blog/2024/post.md): both say which section of a site the piece lives in.
    urls = [str(d.meta.get("url") or d.meta.get("permalink") or "/".join(Path(d.path).parts[-3:])) for d in docs]
    results = m.documents([(d.title, d.text) for d in docs], urls=urls)
    threshold = m.min_confidence if min_confidence is None else float(min_confidence)
    matcher = PersonaMatcher(plist, m.embed) if plist and m.estimator.embedder else None
    tags = []
    decisions = sch.decide(np.vstack([r.proba for r in results]), threshold)
    labels = model_labels()
    for k, (d, lang, r) in enumerate(zip(docs, langs, results)):
        stage, conf, dominant = decisions.stage[k], float(decisions.confidence[k]), decisions.dominant[k] or sch.ids[0]
        best = int(decisions.best[k])
        mix = sch.stage_mix(r.passage_labels)
        p_stages = [sch.of_canonical(c) for c in r.passage_labels]
        # Explanation: the passages that weigh most for the dominant stage, and the words that pushed it.
        members = [labels.index(c) for c in ((NONE,) if dominant == NONE else sch.stages[best].canonical)]
        expl = []
        if len(r.passage_proba):
            weight = r.passage_proba[:, members].sum(1)
            for i in np.argsort(-weight, kind="stable")[:2]:
                expl.append(f"passage {i + 1} ({weight[i]:.0%}): '{_snippet(r.passages[i])}'")
        target = decisions.canonical[k]
        words = m.explain([f"{d.title}. {d.text[:3000]}"], [target], top=5)[0]
        if words:
            expl.append(f"words: {words}")
        # Our own content_format key is what --check compares against: detect without it.
        fmt, why = detect_format(d.title, d.text, d.path, {k: v for k, v in d.meta.items() if k != "content_format"})
        persona = ""
        if plist:
            persona = assign_personas([d.meta.get("persona")], [f"{d.title}. {d.text[:1500]}"], plist, matcher)[0][0]
        advice = _advice(sch, dominant, stage, fmt, r, p_stages)
        declared = {k: d.meta.get(k) for k in FRONT_KEYS if k in d.meta}
        tags.append(Tag(d.path, d.title, lang, stage, round(conf, 4), mix, fmt, why, persona, " | ".join(expl),
                        advice, declared))
    return tags


def _advice(sch: Scheme, dominant: str, stage: str, fmt: str, r, p_stages: list[str]) -> str:
    if dominant == NONE:
        return ("serves no journey stage (legal notice, job ad, news, biography...): "
                "gaps does not count it as supply of any stage")
    notes = []
    st = sch.stage(dominant)
    fm = formats()
    if not set(fm[fmt].stages) & set(st.canonical):
        good = ", ".join(st.formats[:4])
        notes.append(f"a {dominant} piece written as {fmt}: formats that serve {dominant} are {good}")
    if stage == UNCLEAR:
        notes.append("no stage is clear: the draft mixes stages; sharpen it around one question of one stage")
    off = [(i, s) for i, s in enumerate(p_stages) if s != dominant]
    if off and len(p_stages) > 1:
        where = "; ".join(f"passage {i + 1} ('{_snippet(r.passages[i], 40)}') pulls towards {s}" for i, s in off[:3])
        last_only = len(off) == 1 and off[0][0] == len(p_stages) - 1
        notes.append(("closing call to action is " + off[0][1] + "-stage; fine if intended: " if last_only else "mixed draft: ") + where)
    return "; ".join(notes) if notes else "ok"


# ----------------------------------------------------------------------------- front matter

def updated_markdown(original: bytes, values: dict, where: str) -> bytes:
    """The file with ``values`` set in its front matter (YAML, TOML or JSON; a YAML block is added when
    there is none): other keys, their order, comments, line endings, a BOM and the body are kept byte
    for byte; keys already present are replaced in place (their whole entry, however many lines), new
    ones appended. Raises InputError rather than write anything that would not read back exactly."""
    text, enc = decode(original, where)
    if enc not in ("utf-8", "utf-8-sig"):
        raise InputError(f"{where}: is {enc}, not UTF-8; re-save it as UTF-8 before using --write")
    new = set_front_matter(text, values, where)
    if new == text:
        return original
    data = new.encode("utf-8")
    return (b"\xef\xbb\xbf" + data) if enc == "utf-8-sig" else data


def write_tags(tags: list[Tag], dry_run: bool = False, with_persona: bool = False, overwrite: bool = False,
               errors: list | None = None) -> list[str]:
    """Store the tags in Markdown front matter (atomically). Returns one message per file (diffs on dry run).

    A value the author declared is kept unless ``overwrite``; a non-answer (stage ``unclear``,
    persona ``unassigned``) is never written, and the confidence goes with the stage.

    A file that cannot be updated safely (a symbolic link, a read-only file, a file with other hard
    links (replacing it would split them), a file that is not UTF-8,
    front matter that would not read back exactly, a failed write) is left as it is and reported in
    ``errors`` as one line (the file, what is wrong, how to fix it) while the others are still written;
    without ``errors`` the first one raises. A dry run reports the same refusals."""
    # A link inside a tagged folder whose target is tagged too is a second name for a file written anyway.
    real_files = {os.path.realpath(t.path) for t in tags if not os.path.islink(t.path)}
    out = []
    for t in tags:
        try:
            out.append(_write_one(t, dry_run, with_persona, overwrite, real_files))
        except (InputError, OutputError) as err:
            if errors is None:
                raise
            errors.append(str(err))
    return out


def _write_one(t: Tag, dry_run: bool, with_persona: bool, overwrite: bool, real_files: set) -> str:
    p = Path(t.path)
    if p.suffix.lower() not in (".md", ".markdown"):
        return f"{t.path}: skipped (only Markdown front matter is written; this file is left as it is)"
    proposed = {"journey_stage": t.stage, "content_format": t.format, "stage_confidence": round(t.confidence, 2)}
    if with_persona:
        proposed["persona"] = t.persona
    notes = []
    if t.stage == UNCLEAR:
        notes.append("journey_stage not written (unclear)")
        proposed.pop("journey_stage"), proposed.pop("stage_confidence")
    if proposed.get("persona") in ("", UNASSIGNED):
        notes.append("persona not written (unassigned)")
        proposed.pop("persona")
    # Declared values that differ from the prediction are the author's: kept unless --overwrite.
    kept = [k for k in ("journey_stage", "content_format", "persona")
            if k in proposed and k in t.declared and str(t.declared[k]) != str(proposed[k]) and not overwrite]
    for k in kept:
        proposed.pop(k)
        if k == "journey_stage":
            proposed.pop("stage_confidence", None)
    if kept:
        notes.append(f"kept declared {', '.join(kept)} (--overwrite replaces)")
    values = proposed
    unchanged = f"{t.path}: unchanged" + (f" ({'; '.join(notes)})" if notes else "")
    if not values:
        return unchanged
    if p.is_symlink():
        # Replacing a link would turn it into a plain file; writing through it would edit a file
        # that may lie outside what was asked for. Neither is done.
        target = os.path.realpath(p)
        if target in real_files:
            return f"{t.path}: skipped (a symbolic link to {target}, which is written under its own name)"
        raise InputError(f"{t.path}: is a symbolic link, and --write never replaces or follows a link; "
                         "pass the file it points to instead")
    try:
        st = p.stat()
    except OSError:
        st = None  # read_bytes below says what is wrong
    if st is not None and (not st.st_mode & 0o222 or not os.access(p, os.W_OK)):
        raise InputError(f"{t.path}: file is read-only, so it was left as it is; make it writable "
                         "(chmod u+w) and rerun, or leave it out")
    if st is not None and st.st_nlink > 1:
        # The file is replaced by a new one (atomically): its other names would keep the old text.
        raise InputError(f"{t.path}: file has {st.st_nlink - 1} other hard link(s), which --write would split "
                         "(they would keep the old text), so it was left as it is; edit its front matter by hand, "
                         "or break the link (cp FILE FILE.new && mv FILE.new FILE) and rerun")
    original = read_bytes(p)
    new = updated_markdown(original, values, t.path)
    if new == original:
        return unchanged
    if dry_run:
        diff = difflib.unified_diff(original.decode("utf-8-sig").splitlines(True), new.decode("utf-8-sig").splitlines(True),
                                    fromfile=t.path, tofile=t.path + " (tagged)")
        return "".join(diff).rstrip("\n")
    try:
        with atomic_write(p, "wb") as fh:
            fh.write(new)
    except OSError as err:
        raise OutputError(f"{t.path}: cannot write it ({err.strerror or err}), so it was left as it is; "
                          "check that its folder is writable and rerun") from None
    return f"{t.path}: wrote {', '.join(values)}" + (f"; {'; '.join(notes)}" if notes else "")


def check_tags(tags: list[Tag]) -> list[str]:
    """Disagreements between declared front matter (journey_stage, content_format) and predictions."""
    problems = []
    for t in tags:
        declared_stage = t.declared.get("journey_stage")
        if declared_stage is not None and str(declared_stage) != t.stage:
            problems.append(f"{t.path}: declared journey_stage '{declared_stage}' but predicted '{t.stage}' ({t.confidence:.0%})")
        declared_fmt = t.declared.get("content_format")
        if declared_fmt is not None and (normalise_format(declared_fmt) or str(declared_fmt)) != t.format:
            problems.append(f"{t.path}: declared content_format '{declared_fmt}' but detected '{t.format}'")
    return problems


TAG_COLUMNS = ["path", "title", "lang", "stage", "confidence", "stage_mix", "format", "persona", "explanation", "advice"]


def tags_frame(tags: list[Tag]) -> pd.DataFrame:
    return pd.DataFrame([t.row() for t in tags], columns=TAG_COLUMNS)
