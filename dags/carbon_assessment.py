"""Yearly provincial carbon-intensity assessment: ingest, validate, compute, assess, publish.

A thin DAG: every stage is a plain function in `carbon_assess.pipeline` (the library in
`include/`). Parsing this file is cheap on purpose: no pandas, Great Expectations, DuckDB or
pipeline internals are imported here; each task imports the library when it runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, dag, task

REPO_ROOT = Path(__file__).resolve().parent.parent

# The library lives in <repo>/include. It is normally installed (pip install -e .) or on
# PYTHONPATH (docker-compose); otherwise make it importable for the tasks of this DAG.
if importlib.util.find_spec("carbon_assess") is None:
    sys.path.insert(0, str(REPO_ROOT / "include"))

DAG_ID = "carbon_intensity_assessment"
METHODS = ["reference", "consumption"]  # mirrors carbon_assess.pipeline.METHODS

DOC_MD = """
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
- `publish`: atomic swap into the warehouse plus the run log (`carbon.meta_pipeline_run`); on
  failure the warehouse keeps the previous release.

**Configuration** (trigger form / run conf; an empty value falls back in this order):

- `landing_dir`: conf -> Variable `carbon_landing_dir` -> env `CARBON_LANDING_DIR` ->
  `<repo>/var/landing`
- `warehouse_url`: conf -> Variable `carbon_warehouse_url` -> env `CARBON_WAREHOUSE_URL` ->
  `duckdb:///<repo>/var/warehouse.duckdb` (`postgresql://user@host:port/db` for PostgreSQL)
- `warehouse_conn_id`: an Airflow Postgres connection (production); wins over `warehouse_url`.
  conf -> Variable `carbon_warehouse_conn_id` -> env `CARBON_WAREHOUSE_CONN_ID`
- `vintage`: label of the statistical release, conf -> Variable `carbon_vintage` -> `unlabelled`
- `method`: `reference` (default: primary fuels in full, secondary products by net supply) or
  `consumption` (every fuel's consumption x factor, no correction; overcounts)
- `electricity_trade`: also report CO2 of net imported electricity (off by default)

Each run works in `$CARBON_ASSESS_HOME/runs/<run_id>/` (default `<repo>/var/runs/`), where the
ingest report and the validation results stay for inspection. The run id is the Airflow run id,
sanitised, and is recorded in the warehouse table `carbon.meta_pipeline_run`.
"""


def _clean_run_id(airflow_run_id: str | None) -> str:
    """Airflow run ids contain ':' and '+'; keep a file-system and SQL friendly version."""
    if not airflow_run_id:
        from carbon_assess.pipeline import new_run_id

        return new_run_id()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", airflow_run_id).strip("._-")


def _setting(params: dict[str, Any], name: str, variable: str, fallback: str) -> str:
    """Run conf/param if given, else Airflow Variable, else the fallback (env or repo default)."""
    value = params.get(name)
    if value not in (None, ""):
        return str(value)
    from airflow.sdk import Variable

    value = Variable.get(variable, default=None)
    return str(value) if value not in (None, "") else fallback


def _default_landing() -> str:
    return os.environ.get("CARBON_LANDING_DIR") or str(REPO_ROOT / "var" / "landing")


def _default_warehouse() -> str:
    return os.environ.get("CARBON_WAREHOUSE_URL") or (
        f"duckdb:///{REPO_ROOT / 'var' / 'warehouse.duckdb'}"
    )


def _workdir(run_id: str) -> Path:
    """`default_workdir` under $CARBON_ASSESS_HOME, else <repo>/var/runs (not the worker's cwd)."""
    if os.environ.get("CARBON_ASSESS_HOME"):
        from carbon_assess.pipeline import default_workdir

        return default_workdir(run_id)
    return REPO_ROOT / "var" / "runs" / run_id


def _mask_url_password(url: str) -> str:
    """Keep a PostgreSQL password out of the task logs; returns the URL for printing."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        from airflow.sdk.log import mask_secret

        mask_secret(parts.password)
        return url.replace(f":{parts.password}@", ":***@")
    return url


@dag(
    dag_id=DAG_ID,
    schedule="@yearly",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,  # runs publish to the same warehouse
    dagrun_timeout=timedelta(hours=6),
    default_args={"owner": "data-engineering", "retries": 1, "retry_delay": timedelta(minutes=5)},
    params={
        "landing_dir": Param(
            None,
            type=["null", "string"],
            title="Landing folder",
            description="Empty: Variable carbon_landing_dir, env CARBON_LANDING_DIR, "
            "<repo>/var/landing.",
        ),
        "warehouse_url": Param(
            None,
            type=["null", "string"],
            title="Warehouse URL",
            description="duckdb:///path/file.duckdb or postgresql://user@host:port/db. Empty: "
            "Variable carbon_warehouse_url, env CARBON_WAREHOUSE_URL, "
            "duckdb:///<repo>/var/warehouse.duckdb.",
        ),
        "warehouse_conn_id": Param(
            None,
            type=["null", "string"],
            title="Warehouse Airflow connection",
            description="A Postgres connection id (credentials stay in Airflow's connection "
            "store); when set it wins over warehouse_url. Empty: Variable "
            "carbon_warehouse_conn_id, env CARBON_WAREHOUSE_CONN_ID, none.",
        ),
        "vintage": Param(
            None,
            type=["null", "string"],
            title="Vintage",
            description="Label of the statistical release. Empty: Variable carbon_vintage, "
            "'unlabelled'.",
        ),
        "method": Param(
            "reference",
            enum=METHODS,
            title="Emissions method",
            description="reference: primary fuels + net secondary products (default); "
            "consumption: every fuel's consumption x factor (overcounts).",
        ),
        "electricity_trade": Param(
            False,
            type="boolean",
            title="Electricity trade term",
            description="Also report CO2 of net imported electricity at the regional grid "
            "factor (a separate column, not part of the intensity).",
        ),
    },
    doc_md=DOC_MD,
    tags=["carbon", "assessment"],
)
def carbon_intensity_assessment():
    # Input problems are deterministic: ingest and validate are never retried.
    @task(retries=0)
    def ingest() -> dict[str, Any]:
        """Read the landing folder into raw Parquet in a fresh per-run work directory."""
        import shutil

        from airflow.sdk import get_current_context

        from carbon_assess.pipeline import ingest_stage

        context = get_current_context()
        params = context["params"]
        dag_run = context.get("dag_run")
        run_id = _clean_run_id(dag_run.run_id if dag_run else None)
        landing = _setting(params, "landing_dir", "carbon_landing_dir", _default_landing())
        vintage = _setting(params, "vintage", "carbon_vintage", "unlabelled")
        method = params.get("method") or "reference"
        workdir = _workdir(run_id)
        if (workdir / "run.json").exists():  # a cleared/re-run ingest starts from scratch
            shutil.rmtree(workdir)
        print(f"run {run_id}: landing={landing} vintage={vintage} method={method}")
        print(f"work directory: {workdir}")
        result = ingest_stage(
            landing,
            workdir,
            run_id,
            vintage=vintage,
            method=method,
            electricity_trade=bool(params.get("electricity_trade")),
        )
        return {**result, "workdir": str(workdir), "run_id": run_id}

    @task(retries=0)  # a rejected batch must not be retried: fix the input, trigger a new run
    def validate(ingested: dict[str, Any]) -> dict[str, Any]:
        """Great Expectations checks; raises ValidationFailed (batch quarantined) on errors."""
        from carbon_assess.pipeline import validate_stage

        workdir = ingested["workdir"]
        return {**validate_stage(workdir), "workdir": workdir}

    @task
    def compute(validated: dict[str, Any]) -> dict[str, Any]:
        """DuckDB transforms stg_ -> int_ -> fct_ in <workdir>/compute.duckdb."""
        from carbon_assess.pipeline import compute_stage

        workdir = validated["workdir"]
        return {**compute_stage(workdir), "workdir": workdir}

    @task
    def assess(computed: dict[str, Any]) -> dict[str, Any]:
        """Score every province against its Five-Year-Plan target."""
        from carbon_assess.pipeline import assess_stage

        workdir = computed["workdir"]
        return {**assess_stage(workdir), "workdir": workdir}

    @task
    def publish(assessed: dict[str, Any]) -> dict[str, Any]:
        """Atomically swap the tables into the warehouse and log the run."""
        from airflow.sdk import get_current_context

        from carbon_assess.pipeline import publish_stage

        params = get_current_context()["params"]
        conn_id = _setting(params, "warehouse_conn_id", "carbon_warehouse_conn_id",
                           os.environ.get("CARBON_WAREHOUSE_CONN_ID", ""))
        if conn_id:
            from carbon_assess.publish import warehouse_url_from_airflow_connection

            url = warehouse_url_from_airflow_connection(conn_id)
        else:
            url = _setting(params, "warehouse_url", "carbon_warehouse_url",
                           _default_warehouse())
        print(f"publishing to {_mask_url_password(url)}")
        workdir = assessed["workdir"]
        return {**publish_stage(workdir, url), "workdir": workdir}

    publish(assess(compute(validate(ingest()))))


carbon_intensity_assessment()
