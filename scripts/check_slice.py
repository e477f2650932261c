"""Quick validator for corpus slice files (used while writing the corpus).

Usage: python3 scripts/check_slice.py corpora/train/questions_t1_*.jsonl corpora/train/content_t1_*.jsonl
"""
import collections
import json
import re
import sys
import unicodedata

STAGES = {"problem", "solution", "vendor", "offer", "purchase", "onboarding", "evaluation", "support", "loyalty", "advocacy", "none"}
FORMATS = {"blog_article", "guide", "webinar", "video", "podcast", "infographic", "social_post", "newsletter",
           "case_study", "testimonial", "comparison_page", "product_page", "pricing_page", "demo_trial",
           "promotion", "faq_help", "tutorial"}
KINDS = {"keyword", "question", "chat", "sales_note"}


def norm(t):
    t = unicodedata.normalize("NFKD", t.lower())
    t = "".join(c for c in t if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def grams(t):
    t = norm(t)
    return {t[i:i + 3] for i in range(max(1, len(t) - 2))}


errors = 0
seen = {}
counts = collections.Counter()
items = []
for path in sys.argv[1:]:
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"{path}:{n}: bad JSON: {e}"); errors += 1; continue
        is_content = "title" in d
        need = ["title", "body", "stage", "format", "lang", "industry", "market"] if is_content else ["text", "stage", "lang", "kind", "industry", "market"]
        for k in need:
            if k not in d:
                print(f"{path}:{n}: missing key {k}"); errors += 1
        if d.get("stage") not in STAGES:
            print(f"{path}:{n}: bad stage {d.get('stage')!r}"); errors += 1
        if d.get("lang") not in ("fr", "en"):
            print(f"{path}:{n}: bad lang {d.get('lang')!r}"); errors += 1
        if d.get("market") not in ("b2b", "b2c"):
            print(f"{path}:{n}: bad market {d.get('market')!r}"); errors += 1
        if is_content:
            if d.get("format") not in FORMATS:
                print(f"{path}:{n}: bad format {d.get('format')!r}"); errors += 1
            nw = len(str(d.get("body", "")).split())
            if not 50 <= nw <= 400:
                print(f"{path}:{n}: body has {nw} words (need 50-400)"); errors += 1
            key = norm(d.get("title", "") + " " + d.get("body", ""))
        else:
            if d.get("kind") not in KINDS:
                print(f"{path}:{n}: bad kind {d.get('kind')!r}"); errors += 1
            key = norm(d.get("text", ""))
        if key in seen:
            print(f"{path}:{n}: duplicate of {seen[key]}"); errors += 1
        seen[key] = f"{path}:{n}"
        counts[("content" if is_content else "question", d.get("lang"), d.get("stage"))] += 1
        if not is_content:
            items.append((f"{path}:{n}", grams(d.get("text", ""))))

# near duplicates among questions
for i in range(len(items)):
    for j in range(i + 1, len(items)):
        a, b = items[i][1], items[j][1]
        if a and b and len(a & b) / len(a | b) >= 0.8:
            print(f"near-duplicate: {items[i][0]} ~ {items[j][0]}"); errors += 1

for kind in ("question", "content"):
    tot = sum(v for k, v in counts.items() if k[0] == kind)
    if not tot:
        continue
    print(f"{kind}s: {tot}")
    for lang in ("fr", "en"):
        row = {s: counts[(kind, lang, s)] for s in sorted(STAGES)}
        print(f"  {lang}: {sum(row.values())}  " + " ".join(f"{s}={c}" for s, c in row.items()))
print(f"{errors} problem(s)")
sys.exit(1 if errors else 0)
