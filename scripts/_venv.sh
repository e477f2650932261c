# Shared by demo.sh and test.sh: create .venv/ and install the project into it, once.
# Idempotent: a second run only checks a stamp file (re-installs when pyproject.toml changes).

pick_python() {
  for cand in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  echo "Error: contentplan needs Python >= 3.11; install it or set PYTHON=/path/to/python3.11" >&2
  return 1
}

ensure_venv() {
  local extras="$1"   # "" for the runtime, "test" for runtime + test tools + sentence-transformers
  local py
  if [ ! -x .venv/bin/python ]; then
    py=$(pick_python) || exit 1
    echo "[setup] creating .venv with $py" >&2
    "$py" -m venv .venv
  fi
  local stamp=".venv/.contentplan-installed${extras:+-$extras}"
  if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
    return 0
  fi
  echo "[setup] installing contentplan into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
  if [ "$extras" = "test" ]; then
    # torch is pinned to the CPU build; sentence-transformers is installed in the same command.
    .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" -e ".[test,transformers,dask]"
  else
    .venv/bin/python -m pip install -q --disable-pip-version-check -e .
  fi
  touch "$stamp"
}
