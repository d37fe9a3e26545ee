#!/usr/bin/env bash
# Demo, end to end: set up, write the bundled (synthetic) demo landing files to var/landing,
# run the assessment Airflow DAG for real (`airflow dags test`, SQLite metadata DB in a fresh
# var/airflow-demo, apart from scripts/airflow.sh's var/airflow) into the DuckDB warehouse
# var/warehouse.duckdb, then print the 12th-FYP assessment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"

VAR="$ROOT/var"
LANDING="$VAR/landing"
WAREHOUSE_URL="duckdb:///$VAR/warehouse.duckdb"

export AIRFLOW_HOME="$VAR/airflow-demo"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export GX_ANALYTICS_ENABLED=False
export CARBON_ASSESS_HOME="$VAR"
# the demo figures are synthetic: never compared with the official results the project ships
export CARBON_OFFICIAL_RESULTS=none

echo "== Airflow metadata DB (fresh, $AIRFLOW_HOME)"
rm -rf "$AIRFLOW_HOME"
mkdir -p "$AIRFLOW_HOME"
if ! airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1; then
  tail -n 30 "$AIRFLOW_HOME/db-migrate.log" >&2
  echo "error: airflow db migrate failed (log: $AIRFLOW_HOME/db-migrate.log)" >&2
  exit 1
fi

echo "== demo landing data (synthetic) -> $LANDING"
carbon-assess demo-data "$LANDING"

echo "== airflow dags test carbon_intensity_assessment"
# force: a second demo publishes again (the DAG skips a landing folder equal to the release)
conf="$(python -c 'import json, sys; print(json.dumps({"landing_dir": sys.argv[1], "warehouse_url": sys.argv[2], "vintage": "demo", "force": True}))' "$LANDING" "$WAREHOUSE_URL")"
log="$VAR/demo-dag-run.log"
set +e
airflow dags test carbon_intensity_assessment -c "$conf" >"$log" 2>&1
status=$?
set -e
grep -E '^carbon_assess\.errors\.|\[DAG TEST\] end task|DagRun Finished' "$log" \
  | sed -E -e 's/.*end task task_id=([a-z_]+).*/  ran task \1/' \
    -e 's/.*DagRun Finished.* (state=[a-z_]+).*/  DAG run \1/' || true
if [[ $status -ne 0 ]]; then
  echo "error: the DAG run failed (exit $status); full log: $log" >&2
  exit 1
fi

echo "== 12th Five-Year Plan assessment ($WAREHOUSE_URL)"
carbon-assess show --warehouse "$WAREHOUSE_URL" --plan 12th
