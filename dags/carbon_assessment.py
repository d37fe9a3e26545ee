"""
### Provincial carbon-intensity assessment

Reads the statistical release in the **landing folder**, checks it, computes CO2 emissions and
carbon intensity per province, scores every province against its Five-Year-Plan target and
publishes the tables of schema `carbon` to the **warehouse** (DuckDB file or PostgreSQL).

**When it runs.** On the Asset `carbon_landing`: the triggerer watches the landing folder and
emits an event once a new release has settled there (same content on two polls,
`CARBON_LANDING_POLL_SECONDS` apart, default 60). Also yearly (1 January, UTC; no catch-up, no
run at unpause) and on demand.

Tasks, in order:

- `check_landing`: hashes the landing folder. An **empty folder**, or content equal to the
  release already in the warehouse (same files, vintage and method), **skips the run** (a
  `skipped` row in `carbon.meta_pipeline_run` with the reason; nothing published). Trigger with
  `force` to publish an unchanged folder again.
- `ingest`: reads every recognised CSV/XLSX into typed raw Parquet. A file that breaks the data
  contract fails the task; the log names file, row, column and value.
- `validate`: Great Expectations checks on the raw batch. A failed batch is quarantined,
  **nothing is published** and the task is not retried: fix the input, drop a new release.
- `compute`: DuckDB transforms stg_ -> int_ -> fct_ (emissions, intensity).
- `assess`: target completion, scores and grades (`carbon.fct_target_assessment`).
- `check_outputs`: the output gate on the computed facts (finite and plausible, verdicts
  consistent with declines, targets and vetoes, complete, unique); a failure publishes nothing
  and is not retried.
- `publish`: atomic swap into the warehouse plus the run log; emits the Asset
  `carbon_warehouse` (extra: run id, vintage, method, row counts), on which the DAG
  `carbon_export` writes the analyst views as Parquet and CSV.

**Every run is on record**: a rejected (validation, output gate), failed (any stage) or skipped
run gets its `carbon.meta_pipeline_run` row (status, failed stage, one-line reason, quarantine
report) and its `meta_validation_result` rows; the published tables stay as they were. The UI
plugin (Browse -> Carbon assessment) lists them. A task that fails for good e-mails an alert
(stage, first error, report) through the Airflow SMTP connection named by
`CARBON_ALERT_CONN_ID` / Variable `carbon_alert_conn_id` to `CARBON_ALERT_TO`; off when unset.

**Configuration** (trigger form / run conf). An empty value falls back to an Airflow Variable,
then the environment, then a default (`carbon_assess.settings`); the form says which for each
parameter. `warehouse_conn_id` (an Airflow Postgres connection) wins over `warehouse_url`.
`method` is `reference` (primary fuels in full, secondary products by net supply) or
`consumption`; `electricity_trade` also reports CO2 of net imported electricity.

**Workers.** Tasks pass only the run id. Each run works in `$CARBON_ASSESS_HOME/runs/<run_id>/`
(default `<repo>/var/runs/`): with several workers (CeleryExecutor) `CARBON_ASSESS_HOME` must be
storage shared by all of them; a task that cannot see its run's directory fails saying so.
Every task has an execution timeout.

This file only wires tasks: the stages are plain functions in `carbon_assess.pipeline` (the
library in `include/`), the Assets, the landing watcher and the alert in
`carbon_assess.orchestration`. Parsing it is cheap on purpose: each task imports the pipeline
when it runs, and the pipeline only the layer of its stage (GX in `validate` alone).

**Timing.** Each task returns, beside the run id, `timing` (XCom `return_value`, also in its
log): when its function began (epoch s), the seconds it spent importing the library and in the
stage, and which heavy libraries its process had loaded; `benchmarks/bench_airflow.py` reads it.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import (
    AssetOrTimeSchedule,
    CronTriggerTimetable,
    Param,
    dag,
    get_current_context,
    task,
)

# This module's own import began (airflow.sdk is loaded before it in a task process): the DAG
# parse a task does before its function runs, with _PARSED below.
_PARSE_STARTED = time.time()
REPO_ROOT = Path(__file__).resolve().parent.parent

# The library lives in <repo>/include. It is normally installed (pip install -e ., the image);
# otherwise make it importable for the tasks of this DAG.
if importlib.util.find_spec("carbon_assess") is None:
    sys.path.insert(0, str(REPO_ROOT / "include"))

from carbon_assess import settings  # noqa: E402  (light: reference CSVs and paths only)
from carbon_assess.orchestration.alerts import FailureAlert  # noqa: E402  (light)
from carbon_assess.orchestration.assets import WAREHOUSE_ASSET, landing_asset  # noqa: E402
from carbon_assess.workdir import Run, new_run_id, safe_run_id  # noqa: E402  (light: paths and run.json)

STAGE_TIMEOUT = timedelta(hours=1)
# Reported per task (timing.heavy_modules): a task loads GX or pandas only if its stage needs them.
HEAVY_MODULES = ("great_expectations", "pandas", "pyarrow", "duckdb", "numpy")


def _param(name: str) -> Param:
    setting = settings.SETTINGS[name]
    return Param(None, type=["null", "string"], title=setting.title,
                 description=setting.describe())


def _run_id() -> str:
    """The Airflow run id, made file-system and SQL friendly (it contains ':' and '+')."""
    dag_run = get_current_context().get("dag_run")
    if not dag_run:
        return new_run_id()
    return safe_run_id(dag_run.run_id)


def _warehouse_url() -> str:
    return settings.warehouse_url(get_current_context()["params"], REPO_ROOT)


def _landing_vintage_method() -> tuple[str, str, str]:
    """The run's landing folder, vintage and method (param, Variable, env, default; an unset
    vintage is the NBS snapshot the landing content was fetched in, if any)."""
    from carbon_assess.fetch.snapshots import snapshot_vintage

    params = get_current_context()["params"]
    landing = str(settings.resolve("landing_dir", params, REPO_ROOT))
    # unset: the snapshot id of content the DAG nbs_fetch wrote (carbon_assess.fetch)
    vintage = snapshot_vintage(landing, str(settings.resolve("vintage", params, REPO_ROOT)),
                               settings.home(REPO_ROOT))
    return landing, vintage, params.get("method") or settings.DEFAULT_METHOD


def _timing(entered: float, imported: float) -> dict[str, Any]:
    """Where the task's time went (returned in XCom, printed): its function began at `entered`,
    had imported the library at `imported`, and ends its stage now."""
    now = time.time()
    timing = {"parse_started": _PARSE_STARTED, "parsed": _PARSED, "entered": entered,
              "import": round(imported - entered, 4), "stage": round(now - imported, 4),
              "left": now, "heavy_modules": [m for m in HEAVY_MODULES if m in sys.modules]}
    print(f"timing: import {timing['import']:.2f} s, stage {timing['stage']:.2f} s, "
          f"heavy modules loaded: {', '.join(timing['heavy_modules']) or 'none'}")
    return timing


def _stage(stage: str, upstream: dict[str, Any]) -> dict[str, Any]:
    """Run one stage after ingest on whichever worker this task landed on."""
    entered = time.time()
    import json

    from carbon_assess.pipeline import run_stage

    imported = time.time()
    result = run_stage(stage, upstream["run_id"], _warehouse_url(), REPO_ROOT / "var")
    timing = _timing(entered, imported)
    print(f"{stage}: {json.dumps(result, ensure_ascii=False, default=str)[:4000]}")
    return {"run_id": upstream["run_id"], "timing": timing}  # XCom: small values only


@dag(
    dag_id=settings.DAG_ID,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 0 1 1 *", timezone="UTC"),
        assets=landing_asset(REPO_ROOT),
    ),
    # No start_date: with one, Airflow runs the latest 1 January as soon as the DAG is unpaused
    # (CronTriggerTimetable's run_immediately only applies without a start date).
    catchup=False,
    max_active_runs=1,  # runs publish to the same warehouse
    dagrun_timeout=timedelta(hours=6),
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": STAGE_TIMEOUT,
        "on_failure_callback": [FailureAlert(str(REPO_ROOT))],
    },
    params={
        **{name: _param(name) for name in settings.RUN_PARAMS},
        "method": Param(settings.DEFAULT_METHOD, enum=list(settings.METHODS),
                        title="Emissions method",
                        description="reference: primary fuels + net secondary products "
                        "(default); consumption: every fuel's consumption x factor (overcounts)."),
        "electricity_trade": Param(False, type="boolean", title="Electricity trade term",
                                   description="Also report CO2 of net imported electricity at "
                                   "the regional grid factor (a separate column, not part of "
                                   "the intensity)."),
        "force": Param(False, type="boolean", title="Publish even if unchanged",
                       description="Assess and publish although the landing folder equals the "
                       "release in the warehouse (e.g. after a code or reference-data change). "
                       "An empty landing folder is never published."),
    },
    doc_md=__doc__,
    tags=["carbon", "assessment"],
)
def carbon_intensity_assessment():
    # Input problems are deterministic: check_landing, ingest and validate are never retried.
    @task(retries=0, execution_timeout=timedelta(minutes=15))
    def check_landing() -> dict[str, Any]:
        """Skip the run when the landing folder is empty or holds the published release."""
        entered = time.time()
        from airflow.sdk.exceptions import AirflowSkipException

        from carbon_assess.pipeline import check_landing as check
        from carbon_assess.pipeline import record_skip

        imported = time.time()
        params = get_current_context()["params"]
        run_id, url = _run_id(), _warehouse_url()
        landing, vintage, method = _landing_vintage_method()
        result = check(landing, url, vintage=vintage, method=method,
                       force=bool(params.get("force")), run_id=run_id)
        print(f"run {run_id}: landing {result['landing']}: {result['files']} file(s), "
              f"sha256 {result['landing_digest']}; release in the warehouse: "
              f"{result['current_run_id'] or 'none'}")
        if result["skip_reason"]:
            record_skip(run_id, result, url, vintage=vintage, method=method)
            print(f"run {run_id} skipped: {result['skip_reason']}")
            raise AirflowSkipException(result["skip_reason"])
        return {"run_id": run_id, "timing": _timing(entered, imported)}

    @task(retries=0)
    def ingest(checked: dict[str, Any]) -> dict[str, Any]:
        """Read the landing folder into raw Parquet in a fresh per-run work directory."""
        entered = time.time()
        import shutil

        from carbon_assess.pipeline import ingest_stage, recorded

        imported = time.time()
        params = get_current_context()["params"]
        run_id = checked["run_id"]
        landing, vintage, method = _landing_vintage_method()
        run = Run.in_home(run_id, REPO_ROOT / "var")  # where run_stage will look for it
        if run.exists():  # a cleared/re-run ingest starts from scratch
            shutil.rmtree(run.path)
        print(f"run {run_id}: landing={landing} vintage={vintage} method={method}")
        print(f"work directory: {run.path}")
        with recorded("ingest", run, _warehouse_url()):
            report = ingest_stage(landing, run.path, run_id, vintage=vintage, method=method,
                                  electricity_trade=bool(params.get("electricity_trade")))
        print(f"ingest: {len(report['inputs'])} input(s), rows {report['row_counts']}, "
              f"{len(report['warnings'])} warning(s)")
        return {"run_id": run_id, "timing": _timing(entered, imported)}

    @task(retries=0)  # a rejected batch must not be retried: fix the input, drop a new release
    def validate(ingested: dict[str, Any]) -> dict[str, Any]:
        """Great Expectations checks; raises ValidationFailed (batch quarantined) on errors."""
        return _stage("validate", ingested)

    @task
    def compute(validated: dict[str, Any]) -> dict[str, Any]:
        """DuckDB transforms stg_ -> int_ -> fct_ in <workdir>/compute.duckdb."""
        return _stage("compute", validated)

    @task
    def assess(computed: dict[str, Any]) -> dict[str, Any]:
        """Score every province against its Five-Year-Plan target."""
        return _stage("assess", computed)

    @task(retries=0)  # the computed facts are deterministic: a failed gate is not retried
    def check_outputs(assessed: dict[str, Any]) -> dict[str, Any]:
        """Output gate on the computed facts; raises ValidationFailed (nothing published)."""
        return _stage("check_outputs", assessed)

    @task(outlets=[WAREHOUSE_ASSET])
    def publish(checked: dict[str, Any]) -> dict[str, Any]:
        """Atomically swap the tables into the warehouse, log the run, announce the release."""
        entered = time.time()
        from carbon_assess.pipeline import run_stage

        imported = time.time()
        context = get_current_context()
        params, run_id = context["params"], checked["run_id"]
        url = _warehouse_url()
        print(f"publishing to {settings.display_url(url)}")
        result = run_stage("publish", run_id, url, REPO_ROOT / "var")
        timing = _timing(entered, imported)
        info = Run.require(run_id, REPO_ROOT / "var").info
        extra = {"run_id": run_id, "vintage": info.vintage, "method": info.method,
                 "landing_digest": info.landing_digest, "row_counts": result["row_counts"],
                 "warehouse": settings.display_url(url)}
        conn_id = settings.resolve("warehouse_conn_id", params, REPO_ROOT)
        if conn_id:
            extra["warehouse_conn_id"] = conn_id
        context["outlet_events"][WAREHOUSE_ASSET].extra = extra
        print(f"published run {run_id}: {result['row_counts']}")
        return {"run_id": run_id, "row_counts": result["row_counts"], "timing": timing}

    publish(check_outputs(assess(compute(validate(ingest(check_landing()))))))


carbon_intensity_assessment()
_PARSED = time.time()  # this module's import ended
