"""What both warehouse engines share: the schema names, the URL syntax, the run-log record and the
row digest. The engine modules import from here (never from the package `__init__`)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NotRequired, TypedDict

from carbon_assess import __version__
from carbon_assess.errors import WarehouseError
from carbon_assess.publish import catalog
from carbon_assess.quarantine import warnings_count
from carbon_assess.workdir import Run, new_run_id

SCHEMA = "carbon"
HISTORY_SCHEMA = catalog.HISTORY_SCHEMA  # every release, kept across publishes and rollbacks
PREVIOUS_SCHEMA = "carbon_previous"
# Not published, not readable by analysts: the publish lock (PostgreSQL) and which run's release
# is in `carbon` and in `carbon_previous` (both engines).
CONTROL_SCHEMA = "carbon_control"
READER_ROLE = "carbon_reader"
PUBLISHER_ROLE = "carbon_publisher"
PUBLISHER_PASSWORD_ENV = "CARBON_PUBLISHER_PASSWORD"  # read by `warehouse init` only
PUBLISHED = "published"  # meta_pipeline_run.status of a publish
ROLLED_BACK = "rolled back"  # ... and of a rollback
REJECTED = "rejected"  # ... a run whose batch validation or the output gate refused
FAILED = "failed"  # ... a run stopped by an error in a stage
SKIPPED = "skipped"  # ... a run with nothing new to assess (empty or unchanged landing)
RELEASE_STATUSES = (PUBLISHED, ROLLED_BACK)  # the statuses that change the release in `carbon`
LOCK_TIMEOUT_ENV = "CARBON_PUBLISH_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 120.0  # seconds a publish waits for another one to finish

PUBLISHED_TABLES = catalog.PUBLISHED_TABLES


class PublishResult(TypedDict):
    warehouse: str  # file path, or the PostgreSQL URL with its password masked
    run_id: str
    row_counts: dict[str, int]  # published table -> rows
    seconds: float
    load_seconds: NotRequired[float]  # PostgreSQL: COPY of the release into the staging schema
    swap_seconds: NotRequired[float]  # PostgreSQL: the transaction attaching it, re-pointing views
    notes: NotRequired[list[str]]  # PostgreSQL: what `warehouse init` would have done


@dataclass(frozen=True)
class WarehouseUrl:
    kind: str  # "duckdb" | "postgresql"
    target: str  # file path for duckdb, the libpq URL for postgresql


# Columns issue 13 added to tables whose rows, before it, were provinces only: the value those
# older rows get when a history table gains the column (their province is their unit). Every
# other added column stays null for older releases.
HISTORY_BACKFILL = {
    "region_code": ("province_code", "province_code is not null"),
    "region_level": ("'province'", "province_code is not null"),
}


def history_backfill(table_sql: str, added: Iterable[str], have: Iterable[str]) -> list[str]:
    """UPDATE statements filling the columns just `added` to a history table (`table_sql`, quoted)
    for the rows of older releases, where HISTORY_BACKFILL says how."""
    columns = set(have)
    return [f"update {table_sql} set {column} = {value} where {column} is null and {when}"
            for column in added if column in HISTORY_BACKFILL
            for value, when in [HISTORY_BACKFILL[column]] if "province_code" in columns]


def backfill_values(added: Iterable[str], have: Iterable[str]) -> dict[str, str]:
    """For rows copied into a history table from a table that lacks its columns `added` (a
    release an older version left in `carbon`): the SQL value of each one HISTORY_BACKFILL says
    how to fill from the table's columns `have`."""
    columns = set(have)
    return {column: f"case when {when} then {value} end"
            for column in added if column in HISTORY_BACKFILL and "province_code" in columns
            for value, when in [HISTORY_BACKFILL[column]]}


def parse_warehouse_url(url: str) -> WarehouseUrl:
    """`duckdb:///abs/path.duckdb` (as a file URL: the path after `duckdb://` is absolute),
    `duckdb:relative/path.duckdb`, or a PostgreSQL libpq URL."""
    if url.startswith("duckdb://"):
        path = "/" + url.removeprefix("duckdb://").lstrip("/")
        if path != "/":
            return WarehouseUrl("duckdb", path)
    elif url.startswith("duckdb:") and len(url) > len("duckdb:"):
        return WarehouseUrl("duckdb", url.removeprefix("duckdb:"))
    elif url.startswith(("postgresql://", "postgres://")):
        return WarehouseUrl("postgresql", url)
    raise WarehouseError(
        f"unsupported warehouse URL {url!r}: use duckdb:///path/to/file.duckdb "
        "or postgresql://user@host:port/dbname"
    )


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def run_record(run: Run, status: str = PUBLISHED, *, failed_stage: str | None = None,
               reason: str | None = None, report_path: str | None = None) -> dict[str, Any]:
    """The `meta_pipeline_run` row for this run, from the files in its work directory; a run
    stopped early (no ingest report yet) gets what its run.json says."""
    info = run.info
    ingest = run.read_ingest_report()
    inputs = [
        {"file": i["file"], "sheet": i["sheet"], "sha256": i["sha256"],
         "observations": i["observations"]}
        for i in ingest.get("inputs", [])
    ]
    return {
        "run_id": info.run_id,
        "started_at": datetime.fromisoformat(info.started_at) if info.started_at
        else datetime.now(UTC),
        "finished_at": datetime.now(UTC),
        "status": status,
        "code_version": code_version(),
        "vintage": info.vintage,
        "method": info.method,
        "factor_version": None,
        "landing": info.landing,
        "input_files": json.dumps(inputs, ensure_ascii=False, sort_keys=True) if ingest else None,
        "row_counts": None,
        # one count: the failed warning results of the run (what meta_validation_result holds
        # and the CLI prints); a run never validated has only its ingest warnings
        "warnings": warnings_count(run.validation_results) if run.validation_results.exists()
        else len(ingest.get("warnings", [])),
        "restored_run_id": None,
        "failed_stage": failed_stage,
        "reason": reason,
        "report_path": report_path,
        "landing_digest": info.landing_digest or None,
    }


def landing_record(run_id: str, landing: str, reason: str, landing_digest: str | None,
                   vintage: str | None = None, method: str | None = None, *,
                   status: str = SKIPPED, failed_stage: str | None = None) -> dict[str, Any]:
    """The `meta_pipeline_run` row of a run that stopped before ingest (no work directory):
    skipped (nothing new to assess), or failed checking the landing folder."""
    now = datetime.now(UTC)
    columns = catalog.table("meta_pipeline_run").column_names
    return {c: None for c in columns} | {
        "run_id": run_id, "started_at": now, "finished_at": now, "status": status,
        "code_version": code_version(), "vintage": vintage, "method": method,
        "landing": landing, "reason": reason, "landing_digest": landing_digest,
        "failed_stage": failed_stage,
    }


def release_row(record: dict[str, Any], published_at: datetime | None = None) -> dict[str, Any]:
    """The `carbon_history.dim_release` row of a publish, from its run-log record."""
    row = {c: record.get(c) for c in catalog.RELEASE_DIMENSION.column_names}
    row["release_id"] = record["run_id"]
    row["published_at"] = published_at or datetime.now(UTC)
    return row


def rollback_record(started_at: datetime, restored: dict[str, Any] | None,
                    restored_run_id: str | None, counts: dict[str, int]) -> dict[str, Any]:
    """The `meta_pipeline_run` row of a rollback: its own run id and times, status 'rolled back',
    `restored_run_id`, and the restored run's parameters (vintage, method, factor version,
    landing, inputs, warnings), so that the latest row of the run log always describes the
    release in `carbon`. `counts`: the rows now published per table."""
    restored = restored or {}
    columns = catalog.table("meta_pipeline_run").column_names
    return {c: None for c in columns} | {
        "run_id": new_run_id(),
        "started_at": started_at,
        "finished_at": datetime.now(UTC),
        "status": ROLLED_BACK,
        "code_version": code_version(),
        "vintage": restored.get("vintage"),
        "method": restored.get("method"),
        "factor_version": restored.get("factor_version"),
        "landing": restored.get("landing"),
        "input_files": restored.get("input_files"),
        "row_counts": json.dumps(counts, sort_keys=True),
        "warnings": restored.get("warnings"),
        "restored_run_id": restored_run_id,
        "landing_digest": restored.get("landing_digest"),
    }


def release_from_log(entries: Iterable[tuple[str, str | None]], back: int = 0) -> str | None:
    """The run whose release was current `back` entries ago, from the run log's (run_id,
    restored_run_id) pairs, newest first: for warehouses published before the releases were
    recorded in `carbon_control.release`."""
    releases = [restored or run_id for run_id, restored in entries]
    return releases[back] if len(releases) > back else None


def lock_timeout_seconds(value: float | None = None) -> float:
    """How long a publish waits for a concurrent one (on PostgreSQL also, at the swap, for
    readers' open transactions): the argument, else $CARBON_PUBLISH_LOCK_TIMEOUT, else 120 s."""
    if value is not None:
        return float(value)
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        raise WarehouseError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds") from None


def rows_digest(columns: Iterable[str], rows: Iterable[tuple]) -> str:
    """SHA-256 of the column names and rows (in the given order), engine-independent: values are
    JSON-encoded (floats exactly, booleans as booleans, timestamps in ISO 8601)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(columns)).encode())
    for row in rows:
        digest.update(b"\n")
        digest.update(json.dumps(list(row), default=str, ensure_ascii=False).encode())
    return digest.hexdigest()


