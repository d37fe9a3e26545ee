"""Publish: put a run's computed tables into the warehouse atomically and log the run.

Warehouse URLs: `duckdb:///path/to/file.duckdb` (embedded, default) or
`postgresql://user@host:port/dbname` (production). The schema is `carbon`; the release before the
current one is kept in `carbon_previous` so that `rollback` can restore it.

Both engines get the same tables, types, keys, rows (in key order), analyst views and `COMMENT ON`
documentation, all driven by `carbon_assess.publish.catalog`. `open_warehouse(url)` chooses the
engine once and returns a `Warehouse` (`warehouse.py`): the release, run-log and history
bookkeeping, written once over a small dialect per engine.

Every release is stored once, in schema `carbon_history` (`dim_release`: release_id = run id,
vintage, method, factor version, published_at, input hashes; each published table with
`release_id` first, the release's rows in key order); the published tables of `carbon` and
`carbon_previous` are views of one release's rows there. A publish writes the new release only,
in the same transaction that points `carbon` at it:

- DuckDB (`duckdb_warehouse`): one DuckDB transaction: INSERT ... SELECT ... ORDER BY key from
  compute.duckdb into the history, then the views.
- PostgreSQL (`postgres_warehouse`): binary COPY of the release's partitions into a staging
  schema, then one short transaction attaches them to the history and re-points the views.
  Publishing needs the role `carbon_publisher` (or a member of it, or a superuser): the publish
  lock is a row lock on `carbon_control.publish_lock`, which nobody else may lock.

`carbon-assess diff` (`carbon_assess.report.history`) compares two releases.

Runs that do not publish are on record too: `record_run` adds a rejected, failed or skipped run's
`meta_pipeline_run` row (and its validation results) without touching the published tables;
`current_release` reads the run-log row of the release in `carbon` (for the skip check).

A rollback points the views back at the previous release (copying nothing) and writes a 'rolled
back' row to the run log (`meta_pipeline_run`, with `restored_run_id`); it never creates a
warehouse.

`table_checksums(url)` gives one digest per published table, for proving idempotence and
engine equality. Shared definitions live in `common`, the documentation in `catalog`;
the engine modules import those, never this `__init__`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
    parse_warehouse_url,
    rows_digest,
    run_record,
)
from carbon_assess.publish.warehouse import Warehouse, open_warehouse
from carbon_assess.workdir import Run

__all__ = [
    "CONTROL_SCHEMA", "FAILED", "HISTORY_SCHEMA", "PREVIOUS_SCHEMA", "PUBLISHED_TABLES",
    "PUBLISHER_ROLE", "PublishResult", "READER_ROLE", "REJECTED", "RELEASE_STATUSES",
    "ROLLED_BACK", "SCHEMA", "SKIPPED", "Warehouse", "WarehouseUrl", "current_release",
    "init_warehouse", "landing_record", "open_warehouse", "parse_warehouse_url", "publish",
    "record_run", "rollback", "rows_digest", "run_record", "table_checksums",
]


def publish(
    run: Run | str | Path, warehouse_url: str, *, lock_timeout: float | None = None
) -> PublishResult:
    """Publish the run in `workdir` atomically; a concurrent publish to the same warehouse makes
    this one wait up to `lock_timeout` seconds, then fail with WarehouseError."""
    return open_warehouse(warehouse_url).publish(Run.of(run), lock_timeout)


def record_run(warehouse_url: str, record: dict[str, Any], validation: Path | None = None,
               *, lock_timeout: float | None = None) -> None:
    """Put a run that did not publish on record (`run_record`/`landing_record` build the row),
    with its validation results; the published tables and the release are left as they were."""
    open_warehouse(warehouse_url).record_run(record, validation, lock_timeout)


def current_release(warehouse_url: str, *, lock_timeout: float | None = None
                    ) -> dict[str, Any] | None:
    """The run-log row of the release in schema `carbon`, None when nothing is published."""
    return open_warehouse(warehouse_url).current_release(lock_timeout)


def init_warehouse(warehouse_url: str) -> dict[str, Any]:
    """Create schemas, run-log tables (and, on PostgreSQL, the roles `carbon_reader` and
    `carbon_publisher` with their rights, the publisher getting a login password from
    $CARBON_PUBLISHER_PASSWORD when set); idempotent."""
    return open_warehouse(warehouse_url).init()


def rollback(warehouse_url: str, *, lock_timeout: float | None = None) -> dict[str, Any]:
    """Point `carbon` back at the previous release (the current one becomes the previous) and
    log it in the run log; waits for a running publish like `publish`. Never creates a warehouse: a
    missing DuckDB file or PostgreSQL schema is a WarehouseError."""
    return open_warehouse(warehouse_url).rollback(lock_timeout)


def table_checksums(
    warehouse_url: str, schema: str = SCHEMA, tables: Iterable[str] = PUBLISHED_TABLES
) -> dict[str, str]:
    """Per published table, the digest of its rows in key order (see `rows_digest`)."""
    return open_warehouse(warehouse_url).checksums(schema, tuple(tables))
