"""Build corpora/real/labels.csv from two annotation passes and the adjudication of their disagreements.

    python scripts/realtext_labels.py /tmp/annot ../shared/realtext [--provisional]

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

from contentplan.realtext import LABEL_COLUMNS, sources


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("annot", type=Path)
    ap.add_argument("realtext", type=Path)
    ap.add_argument("--corpus", default="corpora")
    ap.add_argument("--provisional", action="store_true")
    args = ap.parse_args()
    sample = pd.DataFrame(json.loads((args.annot / "sample.json").read_text()))
    a = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(glob.glob(str(args.annot / "passA" / "batch*.csv")))])
    b = pd.concat([pd.read_csv(p, dtype=str) for p in sorted(glob.glob(str(args.annot / "passB" / "batch*.csv")))])
    adj_files = sorted(glob.glob(str(args.annot / "adjud" / "final_*.csv")))
    adj = pd.concat([pd.read_csv(p, dtype=str) for p in adj_files]) if adj_files else pd.DataFrame(columns=["id", "label"])
    df = sample.merge(a.rename(columns={"label": "pass_a"}), on="id").merge(b.rename(columns={"label": "pass_b"}), on="id")
    df = df.merge(adj[["id", "label"]].rename(columns={"label": "adjudicated"}), on="id", how="left")
    agree = df.pass_a == df.pass_b
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
    df = df.sort_values(["file", "id"], kind="stable")[LABEL_COLUMNS]
    out = Path(args.corpus) / "real" / "labels.csv"
    df.to_csv(out, index=False)
    print(f"wrote {out}: {len(df)} items, agreement {agree.mean():.3f}")


if __name__ == "__main__":
    main()
