"""
### Provincial carbon-intensity assessment (yearly)

Reads the statistical releases dropped in the **landing folder**, checks them, computes CO2
emissions and carbon intensity per province, scores every province against its Five-Year-Plan
target and publishes the tables of schema `carbon` to the **warehouse** (DuckDB file or
PostgreSQL).

Tasks, in order:

- `ingest`: reads every recognised CSV/XLSX in the landing folder into typed raw Parquet. A file
  that breaks the data contract fails the task; the log names file, row, column and value.
- `validate`: Great Expectations checks on the raw batch. A failed batch is quarantined,
  **nothing is published** and the task is not retried: fix the input, trigger a new run.
- `compute`: DuckDB transforms stg_ -> int_ -> fct_ (emissions, intensity).
- `assess`: target completion, scores and grades (`carbon.fct_target_assessment`).
- `check_outputs`: the output gate, Great Expectations checks on the computed facts (finite and
  plausible declines and intensities, verdicts consistent with declines, targets and vetoes,
  every province-year present, no duplicate keys). A failure is reported like a failed input
  (quarantine report naming table, key, column and value), **nothing is published**, and the
  task is not retried.
- `publish`: atomic swap into the warehouse plus the run log (`carbon.meta_pipeline_run`); on
  failure the warehouse keeps the previous release.

**Configuration** (trigger form / run conf). An empty value falls back to an Airflow Variable,
then the environment, then a default (`carbon_assess.settings`); the form says which for each
parameter. `warehouse_conn_id` (an Airflow Postgres connection, credentials in Airflow's
connection store) wins over `warehouse_url`. `method` is `reference` (primary fuels in full,
secondary products by net supply) or `consumption` (every fuel's consumption x factor,
overcounts); `electricity_trade` also reports CO2 of net imported electricity.

Each run works in `$CARBON_ASSESS_HOME/runs/<run_id>/` (default `<repo>/var/runs/`), where the
ingest report and the validation results stay for inspection. The run id is the Airflow run id,
sanitised, and is recorded in the warehouse table `carbon.meta_pipeline_run`.

This file only wires tasks: every stage is a plain function in `carbon_assess.pipeline` (the
library in `include/`). Parsing it is cheap on purpose: only the light `carbon_assess.settings`
and `carbon_assess.workdir` are imported here; each task imports the pipeline when it runs.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

REPO_ROOT = Path(__file__).resolve().parent.parent

# The library lives in <repo>/include. It is normally installed (pip install -e .) or on
# PYTHONPATH (docker-compose); otherwise make it importable for the tasks of this DAG.
if importlib.util.find_spec("carbon_assess") is None:
    sys.path.insert(0, str(REPO_ROOT / "include"))

from carbon_assess import settings  # noqa: E402  (light: reference CSVs and paths only)
from carbon_assess.workdir import Run, new_run_id  # noqa: E402  (light: paths and run.json)


def _param(name: str) -> Param:
    setting = settings.SETTINGS[name]
    return Param(None, type=["null", "string"], title=setting.title,
                 description=setting.describe())


def _run_id() -> str:
    """The Airflow run id, made file-system and SQL friendly (it contains ':' and '+')."""
    dag_run = get_current_context().get("dag_run")
    if not dag_run:
        return new_run_id()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", dag_run.run_id).strip("._-")


@dag(
    dag_id=settings.DAG_ID,
    schedule="@yearly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,  # runs publish to the same warehouse
    dagrun_timeout=timedelta(hours=6),
    default_args={"owner": "data-engineering", "retries": 1, "retry_delay": timedelta(minutes=5)},
    params={
        **{name: _param(name) for name in settings.SETTINGS},
        "method": Param(settings.DEFAULT_METHOD, enum=list(settings.METHODS),
                        title="Emissions method",
                        description="reference: primary fuels + net secondary products "
                        "(default); consumption: every fuel's consumption x factor (overcounts)."),
        "electricity_trade": Param(False, type="boolean", title="Electricity trade term",
                                   description="Also report CO2 of net imported electricity at "
                                   "the regional grid factor (a separate column, not part of "
                                   "the intensity)."),
    },
    doc_md=__doc__,
    tags=["carbon", "assessment"],
)
def carbon_intensity_assessment():
    # Input problems are deterministic: ingest and validate are never retried.
    @task(retries=0)
    def ingest() -> dict[str, Any]:
        """Read the landing folder into raw Parquet in a fresh per-run work directory."""
        import shutil

        from carbon_assess.pipeline import ingest_stage

        params = get_current_context()["params"]
        run_id = _run_id()
        landing = settings.resolve("landing_dir", params, REPO_ROOT)
        vintage = settings.resolve("vintage", params, REPO_ROOT)
        method = params.get("method") or settings.DEFAULT_METHOD
        run = Run(settings.runs_dir(REPO_ROOT) / run_id)
        if run.exists():  # a cleared/re-run ingest starts from scratch
            shutil.rmtree(run.path)
        print(f"run {run_id}: landing={landing} vintage={vintage} method={method}")
        print(f"work directory: {run.path}")
        result = ingest_stage(landing, run.path, run_id, vintage=vintage, method=method,
                              electricity_trade=bool(params.get("electricity_trade")))
        return {**result, "run_id": run_id}

    @task(retries=0)  # a rejected batch must not be retried: fix the input, trigger a new run
    def validate(ingested: dict[str, Any]) -> dict[str, Any]:
        """Great Expectations checks; raises ValidationFailed (batch quarantined) on errors."""
        from carbon_assess.pipeline import validate_stage

        return {**validate_stage(ingested["workdir"]), "workdir": ingested["workdir"]}

    @task
    def compute(validated: dict[str, Any]) -> dict[str, Any]:
        """DuckDB transforms stg_ -> int_ -> fct_ in <workdir>/compute.duckdb."""
        from carbon_assess.pipeline import compute_stage

        return {**compute_stage(validated["workdir"]), "workdir": validated["workdir"]}

    @task
    def assess(computed: dict[str, Any]) -> dict[str, Any]:
        """Score every province against its Five-Year-Plan target."""
        from carbon_assess.pipeline import assess_stage

        return {**assess_stage(computed["workdir"]), "workdir": computed["workdir"]}

    @task(retries=0)  # the computed facts are deterministic: a failed gate is not retried
    def check_outputs(assessed: dict[str, Any]) -> dict[str, Any]:
        """Output gate on the computed facts; raises ValidationFailed (nothing published)."""
        from carbon_assess.pipeline import check_outputs_stage

        return {**check_outputs_stage(assessed["workdir"]), "workdir": assessed["workdir"]}

    @task
    def publish(checked: dict[str, Any]) -> dict[str, Any]:
        """Atomically swap the tables into the warehouse and log the run."""
        from carbon_assess.pipeline import publish_stage

        url = settings.warehouse_url(get_current_context()["params"], REPO_ROOT)
        print(f"publishing to {settings.display_url(url)}")
        return {**publish_stage(checked["workdir"], url), "workdir": checked["workdir"]}

    publish(check_outputs(assess(compute(validate(ingest())))))


carbon_intensity_assessment()
