#!/usr/bin/env bash
# Regenerate the lock file constraints.txt: install requirements-dev.txt into a fresh, throw-away
# Python 3.11 virtualenv and pip-freeze the result. Run it by hand after changing a pin in
# requirements.txt, review the diff, then `bash scripts/bootstrap.sh` (the stamp changes, so the
# .venv is refreshed). Not run in CI.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3.11}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1

"$PYTHON" -m venv "$tmp/venv"
# Keep the pins of the current lock (only new packages are resolved); UPGRADE=1 resolves afresh.
if [[ -f constraints.txt && -z "${UPGRADE:-}" ]]; then
  grep -v '^#' constraints.txt >"$tmp/keep.txt"
  "$tmp/venv/bin/python" -m pip install --quiet -r requirements-dev.txt -c "$tmp/keep.txt"
else
  "$tmp/venv/bin/python" -m pip install --quiet -r requirements-dev.txt
fi
{
  echo "# Lock file: the full resolved environment (pip freeze of a working install on Python 3.11)."
  echo "# Regenerate: scripts/lock.sh"
  "$tmp/venv/bin/python" -m pip freeze --exclude-editable | grep -viE '^carbon[-_]assess([=@ ]|$)'
} >"$tmp/constraints.txt"
"$tmp/venv/bin/python" -m pip check
mv "$tmp/constraints.txt" constraints.txt
echo "wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
