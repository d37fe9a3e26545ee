"""The pipeline stages as plain functions: the one place that orders them.

Every stage takes the run (a `Run`, or its work-directory path) and returns JSON-serialisable
values (paths, counts), so the same functions back the CLI and the Airflow tasks (which pass
them through XCom). Stages communicate through the run's work directory, whose layout
`carbon_assess.workdir.Run` owns. Nothing here touches the warehouse except `publish_stage`.
Two gates stop a run before it publishes: input validation (after ingest) and the output gate
on the computed facts (after assess; `check_outputs_stage`).

Imports flow one way (tests/test_architecture.py): errors, reference, workdir, quarantine →
ingest → transform → validate → publish → report → this module, settings and the CLI.
Validation sits above transform because it reads the blank-value flags the SQL models set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from carbon_assess.errors import CarbonAssessError
from carbon_assess.ingest import IngestReport, ingest_landing
from carbon_assess.publish import PublishResult, parse_warehouse_url, publish
from carbon_assess.settings import DEFAULT_METHOD, METHODS
from carbon_assess.transform import (
    AssessmentResult,
    ComputeResult,
    run_assessment,
    run_transforms,
)
from carbon_assess.validate import ValidationSummary, validate_workdir
from carbon_assess.validate.output_gate import OutputGateSummary, check_outputs
from carbon_assess.workdir import Run, RunInfo, new_run_id


class IngestResult(IngestReport):
    workdir: str  # the run's work directory: what the next stage is given


class PipelineResult(TypedDict):
    run_id: str
    workdir: str
    ingest: IngestResult
    validate: ValidationSummary
    compute: ComputeResult
    assess: AssessmentResult
    check_outputs: OutputGateSummary
    publish: PublishResult


__all__ = ["DEFAULT_METHOD", "METHODS", "assess_stage", "check_outputs_stage", "compute_stage",
           "ingest_stage", "new_run_id", "publish_stage", "run_pipeline", "validate_stage"]


def ingest_stage(
    landing: str | Path,
    workdir: Run | str | Path,
    run_id: str,
    vintage: str = "unlabelled",
    method: str = DEFAULT_METHOD,
    electricity_trade: bool = False,
) -> IngestResult:
    """Start the run (run.json) and read every recognised landing file into raw Parquet.
    Raises InputError on bad input (the quarantine report is written first)."""
    if method not in METHODS:
        raise CarbonAssessError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    run = Run.of(workdir)
    run.start(RunInfo(
        run_id=run_id,
        vintage=vintage,
        method=method,
        electricity_trade=bool(electricity_trade),
        landing=str(Path(landing).resolve()),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    ))
    report = ingest_landing(Path(landing), run, run_id=run_id, vintage=vintage)
    return {"workdir": str(run.path), **report}


def validate_stage(workdir: Run | str | Path) -> ValidationSummary:
    """Run the GX suites on the raw Parquet; ValidationFailed (after quarantine) on errors."""
    return validate_workdir(Run.of(workdir))


def compute_stage(workdir: Run | str | Path) -> ComputeResult:
    """Build the stg_/int_/fct_ models in <workdir>/compute.duckdb (method from run.json)."""
    return run_transforms(Run.of(workdir))


def assess_stage(workdir: Run | str | Path) -> AssessmentResult:
    """Score each province against its plan target (fct_target_assessment)."""
    return run_assessment(Run.of(workdir))


def check_outputs_stage(workdir: Run | str | Path) -> OutputGateSummary:
    """The output gate: GX suites on the computed facts (finite, in bounds, verdicts consistent,
    complete, unique); ValidationFailed (after quarantine) on errors, so nothing is published."""
    return check_outputs(Run.of(workdir))


def publish_stage(workdir: Run | str | Path, warehouse_url: str) -> PublishResult:
    """Swap the computed tables into the warehouse atomically and log the run."""
    return publish(Run.of(workdir), warehouse_url)


def run_pipeline(
    landing: str | Path,
    warehouse_url: str,
    vintage: str = "unlabelled",
    method: str = DEFAULT_METHOD,
    workdir: str | Path | None = None,
    electricity_trade: bool = False,
) -> PipelineResult:
    """All stages in order, as the DAG runs them."""
    parse_warehouse_url(warehouse_url)  # a bad URL fails before any work is done
    run_id = new_run_id()
    run = Run(Path(workdir)) if workdir else Run.in_home(run_id)
    ingested = ingest_stage(landing, run, run_id, vintage=vintage, method=method,
                            electricity_trade=electricity_trade)
    validated = validate_stage(run)
    computed = compute_stage(run)
    assessed = assess_stage(run)
    checked = check_outputs_stage(run)
    published = publish_stage(run, warehouse_url)
    return {
        "run_id": run_id,
        "workdir": str(run.path),
        "ingest": ingested,
        "validate": validated,
        "compute": computed,
        "assess": assessed,
        "check_outputs": checked,
        "publish": published,
    }
