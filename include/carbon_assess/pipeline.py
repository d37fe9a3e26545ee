"""The pipeline stages as plain functions.

Every stage takes and returns JSON-serialisable values (paths, counts), so the same functions back
the CLI and the Airflow tasks (which pass them through XCom). Stages communicate through files in a
per-run *work directory*:

    <workdir>/run.json              run id, vintage, method, landing, start time
    <workdir>/raw/<kind>.parquet    typed raw observations with lineage (ingest)
    <workdir>/ingest_report.json    inputs (file, sha256, rows), skipped files/columns, warnings
    <workdir>/validation/           GX results (validate)
    <workdir>/compute.duckdb        stg_/int_/fct_ tables (compute + assess)

Nothing here touches the warehouse except `publish_stage`.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_METHOD = "reference"
METHODS = ("reference", "consumption")


def new_run_id() -> str:
    """A sortable, unique run id (UTC timestamp + random suffix)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def default_workdir(run_id: str) -> Path:
    """Work directories live under $CARBON_ASSESS_HOME/runs (default ./var/runs)."""
    home = Path(os.environ.get("CARBON_ASSESS_HOME", "var"))
    return (home / "runs" / run_id).resolve()


def read_run_info(workdir: str | Path) -> dict[str, Any]:
    return json.loads((Path(workdir) / "run.json").read_text(encoding="utf-8"))


def ingest_stage(
    landing: str | Path,
    workdir: str | Path,
    run_id: str,
    vintage: str = "unlabelled",
    method: str = DEFAULT_METHOD,
    electricity_trade: bool = False,
) -> dict[str, Any]:
    """Read every recognised landing file into raw Parquet. Raises InputError on bad input."""
    from carbon_assess.ingest import ingest_landing

    if method not in METHODS:
        from carbon_assess.errors import CarbonAssessError

        raise CarbonAssessError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    info = {
        "run_id": run_id,
        "vintage": vintage,
        "method": method,
        "electricity_trade": bool(electricity_trade),
        "landing": str(Path(landing).resolve()),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (workdir / "run.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    report = ingest_landing(Path(landing), workdir, run_id=run_id, vintage=vintage)
    return {"workdir": str(workdir), **report}


def validate_stage(workdir: str | Path) -> dict[str, Any]:
    """Run the GX suites on the raw Parquet; ValidationFailed (after quarantine) on errors."""
    from carbon_assess.validate import validate_workdir

    return validate_workdir(Path(workdir))


def compute_stage(workdir: str | Path) -> dict[str, Any]:
    """Build stg_/int_/fct_ tables in <workdir>/compute.duckdb from the SQL files."""
    from carbon_assess.transform import run_transforms

    info = read_run_info(workdir)
    return run_transforms(Path(workdir), method=info["method"],
                          electricity_trade=info.get("electricity_trade", False))


def assess_stage(workdir: str | Path) -> dict[str, Any]:
    """Score each province against its plan target (adds fct_target_assessment)."""
    from carbon_assess.assess import run_assessment

    return run_assessment(Path(workdir))


def publish_stage(workdir: str | Path, warehouse_url: str) -> dict[str, Any]:
    """Swap the computed tables into the warehouse atomically and log the run."""
    from carbon_assess.publish import publish

    return publish(Path(workdir), warehouse_url)


def run_pipeline(
    landing: str | Path,
    warehouse_url: str,
    vintage: str = "unlabelled",
    method: str = DEFAULT_METHOD,
    workdir: str | Path | None = None,
    electricity_trade: bool = False,
) -> dict[str, Any]:
    """All stages in order, as the DAG runs them."""
    from carbon_assess.publish import parse_warehouse_url

    parse_warehouse_url(warehouse_url)  # a bad URL fails before any work is done
    run_id = new_run_id()
    workdir = Path(workdir) if workdir else default_workdir(run_id)
    ingested = ingest_stage(landing, workdir, run_id, vintage=vintage, method=method,
                            electricity_trade=electricity_trade)
    validated = validate_stage(workdir)
    computed = compute_stage(workdir)
    assessed = assess_stage(workdir)
    published = publish_stage(workdir, warehouse_url)
    return {
        "run_id": run_id,
        "workdir": str(workdir),
        "ingest": ingested,
        "validate": validated,
        "compute": computed,
        "assess": assessed,
        "publish": published,
    }
