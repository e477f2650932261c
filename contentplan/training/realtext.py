"""Real text: labels kept in the repository by row id, texts read from ``../shared/realtext``.

The text of real messages and pages never enters the repository. ``corpora/real/labels.csv``
holds, per row id, the adjudicated stage and both annotation passes; ``corpora/real/sources.csv``
says for each source file whether it may be trained on (``train``) or only used to develop and
evaluate (``dev``). Where ``../shared/realtext`` is absent (a user's clone) :func:`find_realtext`
returns None and callers skip.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from ..domain.schemes import NONE, UNCLEAR, canonical_ids
from ..errors import CorpusError

REAL_DIR = "real"
LABELS = "labels.csv"
SOURCES = "sources.csv"
LABEL_COLUMNS = ["file", "id", "kind", "lang", "stage", "pass_a", "pass_b", "agreement"]


def valid_labels() -> list[str]:
    """What an annotator may answer: a canonical stage, ``none`` (no journey) or ``unclear``."""
    return canonical_ids() + [NONE, UNCLEAR]


def find_realtext(corpus: str | Path = "corpora") -> Path | None:
    """The real-text folder: $CONTENTPLAN_REALTEXT, else ``../shared/realtext`` beside the repository."""
    env = os.environ.get("CONTENTPLAN_REALTEXT")
    candidates = [Path(env)] if env else []
    root = Path(corpus).resolve().parent
    candidates += [root.parent / "shared" / "realtext", root / "shared" / "realtext"]
    for c in candidates:
        if (c / "README.md").is_file() and (c / "messages").is_dir():
            return c
    return None


def sources(corpus: str | Path = "corpora") -> pd.DataFrame:
    path = Path(corpus) / REAL_DIR / SOURCES
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def labels_path(corpus: str | Path = "corpora") -> Path:
    return Path(corpus) / REAL_DIR / LABELS


def labels_hash(corpus: str | Path = "corpora") -> str:
    """sha256 of the real-text label and source files ('' when there are none)."""
    h = hashlib.sha256()
    found = False
    for name in (LABELS, SOURCES):
        p = Path(corpus) / REAL_DIR / name
        if p.is_file():
            found = True
            h.update(name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest() if found else ""


def load_labels(corpus: str | Path = "corpora") -> pd.DataFrame:
    """The adjudicated real-text labels, validated (ids unique, stages known, files listed)."""
    path = labels_path(corpus)
    if not path.is_file():
        return pd.DataFrame(columns=LABEL_COLUMNS)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LABEL_COLUMNS if c not in df]
    if missing:
        raise CorpusError(f"{path}: missing column(s) {', '.join(missing)}")
    ok = set(valid_labels())
    for col in ("stage", "pass_a", "pass_b"):
        bad = df[~df[col].isin(ok)]
        if len(bad):
            raise CorpusError(f"{path}: row {bad.index[0] + 2}: {col} '{bad[col].iloc[0]}' is not one of {', '.join(sorted(ok))}")
    dup = df[df.duplicated(["file", "id"])]
    if len(dup):
        raise CorpusError(f"{path}: row {dup.index[0] + 2}: id '{dup.id.iloc[0]}' is labeled twice")
    known = set(sources(corpus).file)
    stray = df[~df.file.isin(known)]
    if len(stray):
        raise CorpusError(f"{path}: row {stray.index[0] + 2}: file '{stray.file.iloc[0]}' is not in {SOURCES}")
    return df


def load_real(corpus: str | Path = "corpora", root: Path | None = None, use: str | None = None) -> pd.DataFrame:
    """Labeled real items joined with their text: file, id, kind, lang, stage, use, title, text.

    ``use``: 'train' or 'dev' keeps only the sources of that use. Raises CorpusError when a
    labeled id is not in its source file (the label file and the shared data disagree)."""
    root = root or find_realtext(corpus)
    if root is None:
        raise CorpusError("real text not found: put the shared data at ../shared/realtext or set CONTENTPLAN_REALTEXT")
    lab = load_labels(corpus)
    src = sources(corpus).set_index("file")
    parts = []
    for file, g in lab.groupby("file", sort=True):
        s = src.loc[file]
        if use and s.use != use:
            continue
        data = pd.read_csv(root / s.folder / file, dtype=str, keep_default_na=False).set_index("id")
        lost = sorted(set(g.id) - set(data.index))
        if lost:
            raise CorpusError(f"{labels_path(corpus)}: id '{lost[0]}' is not in {s.folder}/{file} ({len(lost)} missing)")
        rows = data.loc[g.id]
        part = g.copy().reset_index(drop=True)
        part["use"] = s.use
        part["text"] = rows.text.to_numpy()
        part["title"] = rows.title.to_numpy() if "title" in rows else ""
        # A page's path in its site's repository stands for its URL (owner/repo@commit:path).
        part["url"] = rows.source.str.split(":", n=1).str[-1].to_numpy() if "source" in rows else ""
        parts.append(part)
    cols = LABEL_COLUMNS + ["use", "text", "title", "url"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def page_body(title: str, text: str) -> str:
    """A page's ``text`` is its title + '. ' + body: the body alone."""
    prefix = f"{title}. "
    return text[len(prefix):] if title and text.startswith(prefix) else text
