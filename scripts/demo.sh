#!/usr/bin/env bash
# Install contentplan into .venv/ (first run only) and run the gap report on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv ""
out="${1:-out/demo}"
.venv/bin/contentplan gaps \
  --content corpora/examples/content.csv \
  --questions corpora/examples/questions.csv \
  --personas corpora/examples/personas.yaml \
  -o "$out"
echo
echo "Open $out/report.html in a browser (also: $out/report.md, gaps.csv, briefs.csv, questions.csv, content.csv, report.xlsx)."
