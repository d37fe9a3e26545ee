"""Publish: swap a run's computed tables into the warehouse atomically and log the run.

Warehouse URLs: `duckdb:///path/to/file.duckdb` (embedded, default) or
`postgresql://user@host:port/dbname` (production). The schema is `carbon`; the release before the
current one is kept in `carbon_previous` so that `rollback` can restore it.

Both engines get the same tables, types, primary keys, rows (in key order), analyst views and
`COMMENT ON` documentation, all driven by `carbon_assess.publish.catalog`:

- DuckDB (`duckdb_warehouse`): one DuckDB transaction rebuilds schema `carbon`.
- PostgreSQL (`postgres_warehouse`): COPY into a staging schema, then one short transaction
  renames schemas (carbon → carbon_previous, staging → carbon), moving the run log along.
  Publishing needs the role `carbon_publisher` (or a member of it, or a superuser): the publish
  lock is a row lock on `carbon_control.publish_lock`, which nobody else may lock.

Every release also stays in schema `carbon_history` (`dim_release`: release_id = run id,
vintage, method, factor version, published_at, input hashes; each published table with
`release_id` first), appended in the same transaction as the swap; `carbon-assess diff`
(`carbon_assess.report.history`) compares two releases.

Runs that do not publish are on record too: `record_run` adds a rejected, failed or skipped run's
`meta_pipeline_run` row (and its validation results) without touching the published tables;
`current_release` reads the run-log row of the release in `carbon` (for the skip check).

A rollback swaps the two releases back and writes a 'rolled back' row to the run log
(`meta_pipeline_run`, with `restored_run_id`); it never creates a warehouse.

`table_checksums(url)` gives one digest per published table, for proving idempotence and
engine equality. Shared definitions live in `common`, the documentation in `catalog`;
the engine modules import those, never this `__init__`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from carbon_assess.publish import duckdb_warehouse, postgres_warehouse
from carbon_assess.publish.common import (
    CONTROL_SCHEMA,
    FAILED,
    HISTORY_SCHEMA,
    PREVIOUS_SCHEMA,
    PUBLISHED_TABLES,
    PUBLISHER_ROLE,
    READER_ROLE,
    REJECTED,
    RELEASE_STATUSES,
    ROLLED_BACK,
    SCHEMA,
    SKIPPED,
    PublishResult,
    WarehouseUrl,
    landing_record,
    lock_timeout_seconds,
    parse_warehouse_url,
    rows_digest,
    run_record,
)
from carbon_assess.workdir import Run

__all__ = [
    "CONTROL_SCHEMA", "FAILED", "HISTORY_SCHEMA", "PREVIOUS_SCHEMA", "PUBLISHED_TABLES",
    "PUBLISHER_ROLE", "PublishResult", "READER_ROLE", "REJECTED", "RELEASE_STATUSES",
    "ROLLED_BACK", "SCHEMA", "SKIPPED", "WarehouseUrl", "current_release", "init_warehouse",
    "parse_warehouse_url", "publish", "record_run", "rollback", "rows_digest", "run_record",
    "landing_record", "table_checksums",
]


def publish(
    run: Run | str | Path, warehouse_url: str, *, lock_timeout: float | None = None
) -> PublishResult:
    """Publish the run in `workdir` atomically; a concurrent publish to the same warehouse makes
    this one wait up to `lock_timeout` seconds, then fail with WarehouseError."""
    target = parse_warehouse_url(warehouse_url)
    timeout = lock_timeout_seconds(lock_timeout)
    if target.kind == "duckdb":
        return duckdb_warehouse.publish_duckdb(Run.of(run), Path(target.target),
                                               lock_timeout=timeout)
    return postgres_warehouse.publish_postgres(Run.of(run), target.target, lock_timeout=timeout)


def record_run(warehouse_url: str, record: dict[str, Any], validation: Path | None = None,
               *, lock_timeout: float | None = None) -> None:
    """Put a run that did not publish on record (`run_record`/`landing_record` build the row),
    with its validation results; the published tables and the release are left as they were."""
    target = parse_warehouse_url(warehouse_url)
    timeout = lock_timeout_seconds(lock_timeout)
    if target.kind == "duckdb":
        duckdb_warehouse.record_run_duckdb(Path(target.target), record, validation,
                                           lock_timeout=timeout)
    else:
        postgres_warehouse.record_run_postgres(target.target, record, validation,
                                               lock_timeout=timeout)


def current_release(warehouse_url: str, *, lock_timeout: float | None = None
                    ) -> dict[str, Any] | None:
    """The run-log row of the release in schema `carbon`, None when nothing is published."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        return duckdb_warehouse.current_release_duckdb(Path(target.target),
                                                       wait=lock_timeout_seconds(lock_timeout))
    return postgres_warehouse.current_release_postgres(target.target)


def init_warehouse(warehouse_url: str) -> dict[str, Any]:
    """Create schemas, run-log tables (and, on PostgreSQL, the roles `carbon_reader` and
    `carbon_publisher` with their rights, the publisher getting a login password from
    $CARBON_PUBLISHER_PASSWORD when set); idempotent."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        duckdb_warehouse.init_duckdb(Path(target.target))
        return {"warehouse": target.target, "schemas": [SCHEMA, PREVIOUS_SCHEMA]}
    return postgres_warehouse.init_postgres(target.target)


def rollback(warehouse_url: str, *, lock_timeout: float | None = None) -> dict[str, Any]:
    """Swap the previous release back in (the current one becomes the previous) and log it in
    the run log; waits for a running publish like `publish`. Never creates a warehouse: a
    missing DuckDB file or PostgreSQL schema is a WarehouseError."""
    target = parse_warehouse_url(warehouse_url)
    timeout = lock_timeout_seconds(lock_timeout)
    if target.kind == "duckdb":
        return duckdb_warehouse.rollback_duckdb(Path(target.target), lock_timeout=timeout)
    return postgres_warehouse.rollback_postgres(target.target, lock_timeout=timeout)


def table_checksums(
    warehouse_url: str, schema: str = SCHEMA, tables: Iterable[str] = PUBLISHED_TABLES
) -> dict[str, str]:
    """Per published table, the digest of its rows in key order (see `rows_digest`)."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        return duckdb_warehouse.duckdb_checksums(Path(target.target), schema, tuple(tables))
    return postgres_warehouse.postgres_checksums(target.target, schema, tuple(tables))
