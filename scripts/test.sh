#!/usr/bin/env bash
# Set up (scripts/bootstrap.sh), lint (ruff) and run the whole test suite (pytest).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_dag.py -k bag`.
# CI runs this through .ci/run with CI=true (then tests needing ../shared/data fail, not skip).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"
export GX_ANALYTICS_ENABLED=False

echo "== ruff check"
ruff check .

echo "== pytest"
set +e
python -m pytest -q "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then
  echo "error: pytest collected no tests (exit 5); treated as a failure" >&2
fi
exit "$status"
