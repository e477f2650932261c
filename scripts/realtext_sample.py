"""Draw the real-text sample to label and write annotation batches OUTSIDE the repository.

The text of ../shared/realtext never enters the repository: this script writes the batches (id,
text shown to annotators) to a folder you name, and the repository keeps only labels by id.

    python scripts/realtext_sample.py ../shared/realtext /tmp/annot --batches 4
    python scripts/realtext_sample.py ../shared/realtext /tmp/annot2 --batches 2 --round 2

Round 1 (2,731 items): every page of the small sites, a random sample of the large files (seed
12), banking77 stratified by its intent (so every one of the 77 intents is seen). Round 2: the
rows of the trainable files that round 1 left unlabeled (every remaining page of the four large
sites, 308 more banking77 queries stratified by intent, seed 13); ids already in
corpora/real/labels.csv are never drawn again.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import pandas as pd

SIZES = {  # file -> rows to draw (None: every row)
    "messages/banking77_en.csv": 500,
    "messages/twitter_customer_care_en.csv": 450,
    "messages/telecom_tweets_fr.csv": 600,
    "pages/cds-snc+digital-canada-ca-website.csv": 200,
    "pages/api-platform+website.csv": 220,
    "pages/etalab+guides.etalab.gouv.fr.csv": None,
    "pages/sebousan+uncinq.dev.csv": None,
    "pages/gitpod-io+website.csv": None,
    "pages/cloud-gov+cg-site.csv": 180,
    "pages/18F+18f.gsa.gov.csv": 180,
    "pages/nuxt+nuxt.com.csv": None,
    "pages/meilisearch+documentation.csv": None,
}
SIZES_ROUND2 = {  # trainable files only: more labels to train on, and more held-out items per source
    "messages/banking77_en.csv": 308,
    "pages/cds-snc+digital-canada-ca-website.csv": None,
    "pages/api-platform+website.csv": None,
    "pages/cloud-gov+cg-site.csv": None,
    "pages/18F+18f.gsa.gov.csv": None,
}
SHOWN_CHARS = 1200  # what an annotator sees of a page: title, section, URL path and the start of the text


def draw(root: Path, seed: int = 12, sizes: dict | None = None, exclude: frozenset = frozenset()) -> list[dict]:
    items = []
    for rel, n in (sizes or SIZES).items():
        df = pd.read_csv(root / rel, dtype=str, keep_default_na=False)
        df = df[~df.id.isin(exclude)]
        if n is not None and n < len(df):
            if "category" in df:
                per = max(1, n // df.category.nunique())
                df = df.groupby("category", group_keys=False).apply(lambda g: g.sample(min(per, len(g)), random_state=seed))
                df = df.head(n)
            else:
                df = df.sample(n, random_state=seed)
        kind = rel.split("/")[0][:-1]  # message / page
        for r in df.itertuples(index=False):
            r = r._asdict()
            shown = r["text"] if kind == "message" else (
                f"[page · section: {r.get('section', '')} · path: {r.get('source', '').split(':', 1)[-1]}]\n{r['text'][:SHOWN_CHARS]}")
            items.append({"file": Path(rel).name, "id": r["id"], "kind": kind, "text": shown})
    return items


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("realtext", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=60)
    ap.add_argument("--round", type=int, choices=(1, 2), default=1)
    args = ap.parse_args()
    if args.round == 1:
        items = draw(args.realtext)
    else:
        labeled = pd.read_csv(Path(__file__).resolve().parent.parent / "corpora" / "real" / "labels.csv", dtype=str)
        items = draw(args.realtext, seed=13, sizes=SIZES_ROUND2, exclude=frozenset(labeled.id))
    random.Random(7).shuffle(items)
    args.out.mkdir(parents=True, exist_ok=True)
    for b in range(args.batches):
        part = items[b::args.batches]
        bdir = args.out / f"batch{b + 1}"
        bdir.mkdir(exist_ok=True)
        for c in range(0, len(part), args.chunk):
            with open(bdir / f"chunk{c // args.chunk + 1:02d}.txt", "w", encoding="utf-8") as fh:
                for it in part[c:c + args.chunk]:
                    fh.write(f"### {it['id']} ({it['file']}, {it['kind']})\n{it['text']}\n\n")
        (bdir / "ids.json").write_text(json.dumps([it["id"] for it in part]))
    (args.out / "sample.json").write_text(json.dumps([{k: it[k] for k in ("file", "id", "kind")} for it in items]))
    print(f"{len(items)} items in {args.batches} batches under {args.out}")


if __name__ == "__main__":
    main()
