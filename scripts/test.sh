#!/usr/bin/env bash
# Install the project and its test dependencies into .venv/, then run the whole test suite.
# Usage: bash scripts/test.sh [pytest args]
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv test || exit 1
source scripts/_browser.sh
ensure_browser
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "Error: pytest collected no tests; the suite must not pass empty" >&2
  exit 1
fi
exit "$rc"
