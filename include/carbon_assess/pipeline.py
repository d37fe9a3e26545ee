"""The pipeline stages as plain functions: the one place that orders them.

Every stage takes the run (a `Run`, or its work-directory path) and returns JSON-serialisable
values (paths, counts), so the same functions back the CLI and the Airflow tasks (which pass
them through XCom). Stages communicate through the run's work directory, whose layout
`carbon_assess.workdir.Run` owns. Nothing here touches the warehouse except `publish_stage`.
Two gates stop a run before it publishes: input validation (after ingest) and the output gate
on the computed facts (after assess; `check_outputs_stage`).

Imports flow one way (tests/test_architecture.py): errors, reference, workdir, quarantine →
ingest → transform → validate → publish → report → this module, settings and the CLI.
Layers run forward: input validation runs no model; the warnings about what the models decided
(blank cells interpolated or taken as 0, carbon intensity) come from their own flags after
compute, in the post-compute check of the check_outputs stage, beside the output gate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from carbon_assess.errors import CarbonAssessError, is_rejection, one_line_error, printable
from carbon_assess.landing import landing_digest
from carbon_assess.settings import DEFAULT_METHOD, METHODS
from carbon_assess.workdir import Run, RunInfo, new_run_id

# Each stage imports its own layer when it runs, so an Airflow task (a fresh process per task)
# loads only what its stage needs: compute and assess no pyarrow, no stage but validate GX
# (tests/test_stage_imports.py). The names below are for type checkers only.
if TYPE_CHECKING:
    from carbon_assess.ingest import IngestReport
    from carbon_assess.publish import PublishResult
    from carbon_assess.transform import AssessmentResult, ComputeResult
    from carbon_assess.validate import ValidationSummary
    from carbon_assess.validate.output_gate import OutputGateSummary

    class IngestResult(IngestReport):
        workdir: str  # the run's work directory: what the next stage is given

log = logging.getLogger(__name__)

STAGES = ("ingest", "validate", "compute", "assess", "check_outputs", "publish")


class LandingCheck(TypedDict):
    landing: str
    landing_digest: str | None  # None: the folder holds no file to read
    files: int
    current_run_id: str | None  # the run whose release is in the warehouse, if any
    skip_reason: str | None  # None: there is something new to assess


class PipelineResult(TypedDict):
    run_id: str
    workdir: str
    ingest: IngestResult
    validate: ValidationSummary
    compute: ComputeResult
    assess: AssessmentResult
    check_outputs: OutputGateSummary
    publish: PublishResult


__all__ = ["DEFAULT_METHOD", "METHODS", "STAGES", "LandingCheck", "assess_stage",
           "check_landing", "check_outputs_stage", "compute_stage", "ingest_stage", "new_run_id",
           "publish_stage", "record_failure", "record_skip", "recorded", "run_pipeline",
           "run_stage", "validate_stage"]


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
    from carbon_assess.ingest import ingest_landing

    if method not in METHODS:
        raise CarbonAssessError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    run = Run.of(workdir)
    digest, failure = "", None
    if Path(landing).is_dir():
        try:
            digest = landing_digest(Path(landing)).digest or ""
        except Exception as exc:  # raised once the run is started, so that it is on record
            failure = exc
    run.start(RunInfo(
        run_id=run_id,
        vintage=vintage,
        method=method,
        electricity_trade=bool(electricity_trade),
        landing=printable(str(Path(landing).resolve())),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        landing_digest=digest,
    ))
    if failure is not None:
        raise failure
    report = ingest_landing(Path(landing), run, run_id=run_id, vintage=vintage)
    return {"workdir": str(run.path), **report}


def validate_stage(workdir: Run | str | Path) -> ValidationSummary:
    """Run the GX suites on the raw Parquet; ValidationFailed (after quarantine) on errors."""
    from carbon_assess.validate import validate_workdir

    return validate_workdir(Run.of(workdir))


def compute_stage(workdir: Run | str | Path) -> ComputeResult:
    """Build the stg_/int_/fct_ models in <workdir>/compute.duckdb (method from run.json)."""
    from carbon_assess.transform import run_transforms

    return run_transforms(Run.of(workdir))


def assess_stage(workdir: Run | str | Path) -> AssessmentResult:
    """Score each province against its plan target (fct_target_assessment)."""
    from carbon_assess.transform import run_assessment

    return run_assessment(Run.of(workdir))


def check_outputs_stage(workdir: Run | str | Path) -> OutputGateSummary:
    """The output gate: GX suites on the computed facts (finite, in bounds, verdicts consistent,
    complete, unique); ValidationFailed (after quarantine) on errors, so nothing is published."""
    from carbon_assess.validate.output_gate import check_outputs

    return check_outputs(Run.of(workdir))


def publish_stage(workdir: Run | str | Path, warehouse_url: str) -> PublishResult:
    """Swap the computed tables into the warehouse atomically and log the run."""
    from carbon_assess.publish import publish

    return publish(Run.of(workdir), warehouse_url)


def check_landing(landing: str | Path, warehouse_url: str, *, vintage: str = "unlabelled",
                  method: str = DEFAULT_METHOD, force: bool = False,
                  run_id: str | None = None) -> LandingCheck:
    """Is there anything new to assess? Not when the landing folder holds no file, nor when its
    content (and the run's vintage and method) equals the release in the warehouse; `force`
    assesses an unchanged folder anyway (new code or reference data). An empty folder is never
    assessed, forced or not. With `run_id`, a failure here (no landing folder, warehouse
    unreadable) is put on record as the run's failure at stage check_landing."""
    from carbon_assess.publish import current_release

    try:
        state = landing_digest(Path(landing))
        current = None if state.empty else current_release(warehouse_url)
    except Exception as exc:
        if run_id:
            _record_early_failure(run_id, printable(str(landing)), warehouse_url, exc, vintage,
                                  method)
        raise
    reason = None
    if state.empty:
        reason = f"landing folder {landing} holds no file to read: nothing to assess"
    elif (not force and current and current.get("landing_digest") == state.digest
          and current.get("vintage") == vintage and current.get("method") == method):
        reason = (f"landing folder unchanged since release {current['run_id']} (same content, "
                  f"sha256 {state.digest[:12]}..., vintage {vintage!r}, method {method!r}): "
                  "nothing new to publish; trigger with force to publish it again")
    return {
        "landing": str(Path(landing).resolve()),
        "landing_digest": state.digest,
        "files": state.files,
        "current_run_id": current["run_id"] if current else None,
        "skip_reason": reason,
    }


def record_skip(run_id: str, check: LandingCheck, warehouse_url: str, *,
                vintage: str | None = None, method: str | None = None) -> None:
    """Put a skipped run on record (status 'skipped', the reason); the release is untouched."""
    from carbon_assess.publish import landing_record, record_run

    record_run(warehouse_url, landing_record(run_id, check["landing"], check["skip_reason"] or "",
                                             check["landing_digest"], vintage, method))


def _record_early_failure(run_id: str, landing: str, warehouse_url: str, exc: Exception,
                          vintage: str | None, method: str | None) -> None:
    from carbon_assess.publish import landing_record

    _record_quietly(run_id, warehouse_url, exc, lambda: landing_record(
        run_id, landing, _reason(exc, warehouse_url), None, vintage, method,
        status=_failure_status(exc), failed_stage="check_landing"))


def _failure_status(exc: BaseException) -> str:
    """'rejected' for bad input or a failed gate (exit code 2), else 'failed'."""
    from carbon_assess.publish import FAILED, REJECTED

    return REJECTED if is_rejection(exc) else FAILED


def _reason(exc: BaseException, warehouse_url: str) -> str:
    """The one-line reason of a run log row: our errors as they are, others with their type."""
    reason = str(exc) if isinstance(exc, CarbonAssessError) else (
        f"{type(exc).__name__}: {one_line_error(exc, warehouse_url)}")
    return printable(" ".join(reason.split()))[:1000]


def _record_quietly(run_id: str, warehouse_url: str, exc: BaseException,
                    build: Callable[[], dict[str, Any]], validation: Path | None = None) -> None:
    """Write the run-log row `build()` makes for a run `exc` stopped. Never raises: the warehouse
    may be what failed, and the original error is what the caller must see."""
    from carbon_assess.publish import record_run

    try:
        record_run(warehouse_url, build(), validation)
    except Exception as error:
        log.warning("run %s: could not put the %s run on record in the warehouse: %s",
                    run_id, _failure_status(exc), one_line_error(error, warehouse_url))


def record_failure(run: Run, warehouse_url: str, stage: str, exc: BaseException) -> None:
    """Put a run that `exc` stopped at `stage` on record: status 'rejected' (bad input or a
    failed gate: exit code 2) or 'failed', the one-line reason, the quarantine report and the
    validation results. Never raises (`_record_quietly`)."""
    from carbon_assess.publish import run_record

    report = exc.report_path if isinstance(exc, CarbonAssessError) else None
    _record_quietly(run.run_id, warehouse_url, exc, lambda: run_record(
        run, _failure_status(exc), failed_stage=stage, reason=_reason(exc, warehouse_url),
        report_path=report), run.validation_results)


@contextmanager
def recorded(stage: str, run: Run, warehouse_url: str) -> Iterator[None]:
    """Run a stage; if it raises, put the run on record (`record_failure`) and re-raise."""
    try:
        yield
    except Exception as exc:
        if run.exists():
            record_failure(run, warehouse_url, stage, exc)
        raise


def run_stage(stage: str, run_id: str, warehouse_url: str,
              default_home: Path | str = "var") -> Any:
    """One stage after ingest, for a task that may run on another worker than ingest did: the
    run is found by id under the shared work area; a failure is put on record."""
    functions: dict[str, Callable[[Run], Any]] = {  # looked up per call (tests stub stages)
        "validate": validate_stage,
        "compute": compute_stage,
        "assess": assess_stage,
        "check_outputs": check_outputs_stage,
        "publish": lambda run: publish_stage(run, warehouse_url),
    }
    if stage not in functions:
        raise CarbonAssessError(f"unknown stage {stage!r}; the stages after ingest are "
                                f"{', '.join(functions)}")
    run = Run.require(run_id, default_home)
    with recorded(stage, run, warehouse_url):
        return functions[stage](run)


def run_pipeline(
    landing: str | Path,
    warehouse_url: str,
    vintage: str = "unlabelled",
    method: str = DEFAULT_METHOD,
    workdir: str | Path | None = None,
    electricity_trade: bool = False,
) -> PipelineResult:
    """All stages in order, as the DAG runs them; a run that does not publish is put on record
    in the warehouse all the same (`recorded`)."""
    from carbon_assess.publish import parse_warehouse_url

    parse_warehouse_url(warehouse_url)  # a bad URL fails before any work is done
    run_id = new_run_id()
    run = Run(Path(workdir)) if workdir else Run.in_home(run_id)
    with recorded("ingest", run, warehouse_url):
        ingested = ingest_stage(landing, run, run_id, vintage=vintage, method=method,
                                electricity_trade=electricity_trade)
    with recorded("validate", run, warehouse_url):
        validated = validate_stage(run)
    with recorded("compute", run, warehouse_url):
        computed = compute_stage(run)
    with recorded("assess", run, warehouse_url):
        assessed = assess_stage(run)
    with recorded("check_outputs", run, warehouse_url):
        checked = check_outputs_stage(run)
    with recorded("publish", run, warehouse_url):
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
