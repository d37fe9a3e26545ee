#!/usr/bin/env bash
# Create or refresh the project virtualenv (.venv): pinned requirements from requirements.txt,
# resolved with the lock constraints.txt, plus the project itself (editable, no deps).
# A stamp in .venv holds the hash of requirements.txt + constraints.txt + pyproject.toml; when it
# matches, nothing is installed. Needs only python3.11 (override with PYTHON=...) and network
# access to PyPI on the first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3.11}"
VENV="$ROOT/.venv"
STAMP="$VENV/.bootstrap-stamp"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [[ ! -x "$VENV/bin/python" ]]; then
  if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON not found on PATH (the project needs Python 3.11; set PYTHON=...)" >&2
    exit 1
  fi
  echo "bootstrap: creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi

hash="$(cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | "$VENV/bin/python" -c \
  'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"

# Up to date: same stamp, and carbon_assess imports from this checkout's include/.
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$hash" ]] && "$VENV/bin/python" -c '
import pathlib, sys, carbon_assess
here = pathlib.Path(carbon_assess.__file__).resolve()
sys.exit(0 if here.is_relative_to(pathlib.Path(sys.argv[1]).resolve()) else 1)
' "$ROOT/include" >/dev/null 2>&1; then
  exit 0
fi

echo "bootstrap: installing requirements-dev.txt with constraints.txt into $VENV"
"$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt -c constraints.txt
"$VENV/bin/python" -m pip install --quiet --no-deps -e .
echo "$hash" >"$STAMP"
echo "bootstrap: done"
