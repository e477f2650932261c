"""Build corpora/real/labels.csv from two annotation passes and the adjudication of their disagreements.

    python scripts/realtext_labels.py /tmp/annot ../shared/realtext [--provisional]
    python scripts/realtext_labels.py /tmp/annot2 ../shared/realtext --append   # a later round

--append keeps every row already in corpora/real/labels.csv and adds the new round's rows (an id
labeled in both is refused).

The annotation folder (outside the repository) holds passA/batch*.csv and passB/batch*.csv
(`id,label`), adjud/final_*.csv (`id,label,reason`) and sample.json (file, id, kind per item).
Only ids and labels are written to the repository. --provisional fills a missing adjudication
with pass A (for development only; the committed file never uses it).
"""
from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import pandas as pd

from contentplan.training.realtext import LABEL_COLUMNS, sources


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("annot", type=Path)
    ap.add_argument("realtext", type=Path)
    ap.add_argument("--corpus", default="corpora")
    ap.add_argument("--provisional", action="store_true")
    ap.add_argument("--append", action="store_true", help="add this round to the labels already in the file")
    args = ap.parse_args()
    sample = pd.DataFrame(json.loads((args.annot / "sample.json").read_text()))
    a = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(glob.glob(str(args.annot / "passA" / "batch*.csv")))])
    b = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(glob.glob(str(args.annot / "passB" / "batch*.csv")))])
    adj_files = sorted(glob.glob(str(args.annot / "adjud" / "final_*.csv")))
    adj = pd.concat([pd.read_csv(p, dtype=str) for p in adj_files]) if adj_files else pd.DataFrame(columns=["id", "label"])
    for name, part in (("pass A", a), ("pass B", b)):
        lost = sorted(set(sample.id) - set(part.id))
        if lost:
            raise SystemExit(f"{name} has no label for {len(lost)} sampled ids (e.g. {lost[0]})")
        if part.id.duplicated().any():
            raise SystemExit(f"{name} labels id {part.id[part.id.duplicated()].iloc[0]} twice")
    df = sample.merge(a.rename(columns={"label": "pass_a"}), on="id").merge(b.rename(columns={"label": "pass_b"}), on="id")
    df = df.merge(adj[["id", "label"]].rename(columns={"label": "adjudicated"}), on="id", how="left")
    agree = df.pass_a == df.pass_b
    a_lab, b_lab = df.pass_a.reset_index(drop=True), df.pass_b.reset_index(drop=True)
    missing = ~agree & df.adjudicated.isna()
    if missing.any() and not args.provisional:
        raise SystemExit(f"{int(missing.sum())} disagreements have no adjudication (e.g. {df.id[missing].iloc[0]})")
    df["stage"] = df.pass_a.where(agree, df.adjudicated.fillna(df.pass_a))
    df["agreement"] = ["agree" if x else "adjudicated" for x in agree]
    src = sources(args.corpus).set_index("file")
    langs = []
    for file, g in df.groupby("file", sort=False):
        s = src.loc[file]
        if s.lang:
            langs.append(pd.Series(s.lang, index=g.index))
        else:
            data = pd.read_csv(args.realtext / s.folder / file, dtype=str, keep_default_na=False).set_index("id")
            langs.append(pd.Series(data.loc[g.id, "lang"].to_numpy(), index=g.index))
    df["lang"] = pd.concat(langs)
    out = Path(args.corpus) / "real" / "labels.csv"
    df = df[LABEL_COLUMNS]
    if args.append:
        old = pd.read_csv(out, dtype=str, keep_default_na=False)
        both = sorted(set(old.id) & set(df.id))
        if both:
            raise SystemExit(f"{len(both)} ids of this round are already labeled (e.g. {both[0]})")
        df = pd.concat([old, df], ignore_index=True)
    df = df.sort_values(["file", "id"], kind="stable")
    df.to_csv(out, index=False)
    print(f"wrote {out}: {len(df)} items; this round {int(len(agree))} items, agreement {agree.mean():.3f}, "
          f"Cohen's kappa {cohen_kappa(a_lab, b_lab):.3f}")


def cohen_kappa(a: pd.Series, b: pd.Series) -> float:
    labels = sorted(set(a) | set(b))
    po = float((a.to_numpy() == b.to_numpy()).mean())
    pe = sum(float((a == lab).mean()) * float((b == lab).mean()) for lab in labels)
    return (po - pe) / (1 - pe) if pe < 1 else 1.0


if __name__ == "__main__":
    main()
