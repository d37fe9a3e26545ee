"""One `Warehouse` interface over both engines: the release bookkeeping is written once here.

`open_warehouse(url)` chooses the engine once, from the URL, and returns a `Warehouse` whose
methods (`init`, `publish`, `record_run`, `current_release`, `history`, `rollback`, `checksums`)
do the same things on DuckDB and PostgreSQL: the run log (`carbon.meta_pipeline_run`,
`meta_validation_result`), which run's release is in `carbon` and `carbon_previous`
(`carbon_control.release`), the release history (`carbon_history`). What differs between the
engines (connecting, locking, transactions, bulk loads, how a staged release replaces the current
one, quoting and type names) is a small `Dialect` (`duckdb_warehouse.DuckDBDialect`,
`postgres_warehouse.PostgresDialect`).

A publish, on either engine: stage the run's tables (DuckDB: inside the publish transaction,
beside the current ones; PostgreSQL: a staging schema, loaded with binary COPY, committed before
the swap), then in one transaction append the release to the history, log the run, swap the
staged tables in (the outgoing release becomes `carbon_previous`) and record the releases.

The history appends only the new release (rows keyed by `release_id`): earlier releases' rows
are never read, rewritten or deleted, so a publish costs the same whatever the number of earlier
releases. Republishing a run replaces that run's rows only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from carbon_assess.errors import WarehouseError
from carbon_assess.publish.catalog import (
    META_TABLES,
    PUBLISHED_TABLES,
    RELEASE_DIMENSION,
    Table,
    history_comment_statements,
    history_table,
    row_order,
    table,
)
from carbon_assess.publish.common import (
    CONTROL_SCHEMA,
    HISTORY_SCHEMA,
    PREVIOUS_SCHEMA,
    PUBLISHED,
    RELEASE_STATUSES,
    SCHEMA,
    PublishResult,
    history_backfill,
    lock_timeout_seconds,
    parse_warehouse_url,
    release_from_log,
    release_row,
    rollback_record,
    rows_digest,
    run_record,
)
from carbon_assess.publish.duckdb_warehouse import DuckDBDialect
from carbon_assess.publish.postgres_warehouse import PostgresDialect
from carbon_assess.workdir import Run

RELEASE_TABLE = "release"  # in CONTROL_SCHEMA: slot 'current' / 'previous' -> run id
RUN_KEY = ("run_id",)
Staged = Callable[[str], str]  # published table name -> the staged table's qualified SQL name
Layouts = dict[str, list[tuple[str, str]]]  # published table -> [(column, DuckDB type)]


class Dialect(Protocol):
    """What an engine must offer the bookkeeping. SQL is written with `?` placeholders and
    identifiers quoted by `quote`; `rows` runs a statement and returns its rows."""

    kind: str
    where: str  # the file path, or the URL without its password: for messages

    def open(self, action: str, *, wait: float, create: bool) -> AbstractContextManager[Any]:
        """A read-write session (errors become one-line WarehouseErrors). `create=False`: a
        missing warehouse is an error, never created."""

    def open_read(self, wait: float = 0.0) -> AbstractContextManager[Any | None]:
        """A read-only session, None when there is no warehouse at all."""

    def lock(self, con: Any, action: str, wait: float) -> AbstractContextManager[Any]:
        """Exclusive right to change the release, waiting up to `wait` seconds."""

    def check_lock(self, lock: Any, action: str) -> None:
        """Before changing `carbon`: fail if the lock was lost."""

    def transaction(self, con: Any) -> AbstractContextManager[None]: ...

    def rows(self, con: Any, sql: str, params: Iterable[Any] = ()) -> list[tuple]: ...

    def dict_rows(self, con: Any, sql: str, params: Iterable[Any] = ()) -> list[dict]: ...

    def quote(self, *names: str) -> str: ...

    def type_name(self, duck_type: str, where: str) -> str: ...

    def relations(self, con: Any, schema: str, views: bool = False) -> list[str]:
        """Base tables (and views with `views`) of `schema`."""

    def columns(self, con: Any, schema: str, name: str) -> list[str]: ...

    def schema_exists(self, con: Any, schema: str) -> bool: ...

    def upsert(self, con: Any, schema: str, name: str, row: dict[str, Any],
               key: tuple[str, ...]) -> None:
        """Insert `row`, replacing the row of the same primary key `key`."""

    def create_table(self, con: Any, schema: str, name: str, columns: list[tuple[str, str]],
                     doc: Table | None, if_not_exists: bool = False) -> None:
        """A table with `columns` (DuckDB types), and the keys the engine keeps for `doc`."""

    def after_base(self, con: Any) -> None:
        """Engine extras after the run-log tables exist (PostgreSQL: comments, grants)."""

    def load_validation(self, con: Any, path: Path) -> None:
        """Bulk-load results.parquet into carbon.meta_validation_result."""

    def create_history_table(self, con: Any, name: str, columns: list[tuple[str, str]],
                             doc: Table) -> None:
        """carbon_history.<name> (`columns`: release_id first), keyed as the engine keeps it."""

    def append_history(self, con: Any, name: str, release_id: str, columns: list[str],
                       source: str, republished: bool) -> None:
        """The rows of `source` (the staged table, in key order) as release `release_id` of
        carbon_history.<name>; `republished`: that release's earlier rows go first. Never reads
        or rewrites another release's rows."""

    def rekey(self, con: Any, name: str, key: list[str], have: list[str]) -> None:
        """Give carbon_history.<name> the primary key `key` if an older release keyed it
        otherwise."""

    def check_layouts(self, layouts: Layouts) -> None:
        """Fail before touching the warehouse if a column type cannot be published."""

    def publishing(self, con: Any, lock: Any, run: Run, layouts: Layouts,
                   counts: dict[str, int]) -> AbstractContextManager[Staged]:
        """Stage the run's tables (filling `counts`: rows staged per table), open the swap
        transaction and yield the function giving a staged table's qualified name; commit on
        exit."""

    def swap_in(self, con: Any, staged: Staged, outgoing: str | None, in_history: bool,
                wait: float) -> None:
        """Inside the publish transaction: the staged tables become `carbon`, the release
        there becomes `carbon_previous` (kept as the history's rows when `in_history`)."""

    def swap_back(self, con: Any, previous: list[str], outgoing: str | None,
                  in_history: bool, wait: float) -> None:
        """Inside the rollback transaction: `carbon_previous` becomes `carbon` and back."""

    def finish(self, con: Any) -> None:
        """After a swap, in its transaction: views, comments, grants as the engine needs."""

    def result_extras(self) -> dict[str, Any]: ...


def read_compute(run: Run, dialect: Dialect) -> tuple[str, Layouts]:
    """The run's factor version and the layout of every table to publish, read from
    compute.duckdb before the warehouse is touched (the row counts come from the staging: some
    published tables are views in compute.duckdb, counted only by computing them)."""
    import duckdb

    compute_db = run.compute_db
    if not compute_db.exists():
        raise WarehouseError(f"{compute_db} not found: run the compute and assess stages first")
    with duckdb.connect(str(compute_db), read_only=True) as duck:
        factor = duck.execute("select factor_version from run_parameters").fetchall()[0][0]
        layouts: Layouts = {name: [] for name in PUBLISHED_TABLES}
        for name, column, data_type in duck.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'main' order by table_name, ordinal_position").fetchall():
            if name in layouts:
                layouts[name].append((column, data_type))
        missing = [t for t, cols in layouts.items() if not cols]
        if missing:
            raise WarehouseError(f"{compute_db} lacks table(s) {', '.join(missing)}")
    dialect.check_layouts(layouts)
    return factor, layouts


class Warehouse:
    """A warehouse, its engine chosen once from the URL (see the module docstring)."""

    def __init__(self, dialect: Dialect):
        self.d = dialect

    @property
    def kind(self) -> str:
        return self.d.kind

    # ---------------------------------------------------------------------------- base

    def _ensure_base(self, con: Any) -> None:
        """Schemas, run-log tables with the catalog's columns (an older warehouse gets the new
        ones), the release table."""
        d = self.d
        with d.transaction(con):
            for schema in (SCHEMA, PREVIOUS_SCHEMA, HISTORY_SCHEMA, CONTROL_SCHEMA):
                if not d.schema_exists(con, schema):
                    d.rows(con, f"create schema {d.quote(schema)}")
            for name in META_TABLES:
                doc = table(name)
                d.create_table(con, SCHEMA, name, [(c.name, c.type) for c in doc.columns], doc,
                               if_not_exists=True)
                have = set(d.columns(con, SCHEMA, name))
                for column in doc.columns:
                    if column.name not in have:
                        d.rows(con, f"alter table {d.quote(SCHEMA, name)} add column "
                                    f"{d.quote(column.name)} "
                                    f"{d.type_name(column.type, f'{name}.{column.name}')}")
            if RELEASE_TABLE not in d.relations(con, CONTROL_SCHEMA):
                d.rows(con, f"create table {d.quote(CONTROL_SCHEMA, RELEASE_TABLE)} (slot "
                            f"{d.type_name('VARCHAR', 'slot')} primary key, run_id "
                            f"{d.type_name('VARCHAR', 'run_id')}, since "
                            f"{d.type_name('TIMESTAMP WITH TIME ZONE', 'since')})")
            d.after_base(con)

    def init(self) -> dict[str, Any]:
        """Create schemas, run-log and control tables (idempotent)."""
        with self.d.open("warehouse init", wait=60.0, create=True) as con, \
                self.d.lock(con, "warehouse init", 60.0):
            self._ensure_base(con)
        return {"warehouse": self.d.where, "schemas": [SCHEMA, PREVIOUS_SCHEMA],
                **self.d.result_extras()}

    # ---------------------------------------------------------------------------- releases

    def _release(self, con: Any, slot: str) -> str | None:
        """The run whose release is in `carbon` ('current') or `carbon_previous` ('previous');
        from the run log when the warehouse predates the release table."""
        d = self.d
        if RELEASE_TABLE in d.relations(con, CONTROL_SCHEMA):
            row = d.rows(con, f"select run_id from {d.quote(CONTROL_SCHEMA, RELEASE_TABLE)} "
                              "where slot = ?", [slot])
            if row:
                return row[0][0]
        return self._release_from_log(con, 0 if slot == "current" else 1)

    def _release_from_log(self, con: Any, back: int) -> str | None:
        """The release `back` publishes or rollbacks ago, from the run log (rejected, failed and
        skipped runs never changed the release)."""
        d = self.d
        if "meta_pipeline_run" not in d.relations(con, SCHEMA):
            return None
        statuses = ", ".join(f"'{s}'" for s in RELEASE_STATUSES)
        entries = d.rows(con, f"select run_id, restored_run_id from "
                              f"{d.quote(SCHEMA, 'meta_pipeline_run')} where status in "
                              f"({statuses}) or status is null order by finished_at desc nulls "
                              "last, started_at desc nulls last, run_id desc")
        return release_from_log(entries, back=back)

    def _set_releases(self, con: Any, current: str | None, previous: str | None) -> None:
        now = datetime.now(UTC)
        for slot, run_id in (("current", current), ("previous", previous)):
            self.d.upsert(con, CONTROL_SCHEMA, RELEASE_TABLE,
                          {"slot": slot, "run_id": run_id, "since": now}, ("slot",))

    def _run_row(self, con: Any, run_id: str | None) -> dict[str, Any] | None:
        if run_id is None:
            return None
        rows = self.d.dict_rows(con, f"select * from {self.d.quote(SCHEMA, 'meta_pipeline_run')}"
                                     " where run_id = ?", [run_id])
        return rows[0] if rows else None

    def _log(self, con: Any, record: dict[str, Any], validation: Path | None) -> None:
        """The run's row (a republished run replaces its row) and its validation results
        (replacing what an earlier attempt of the same run recorded)."""
        d = self.d
        d.upsert(con, SCHEMA, "meta_pipeline_run", record, RUN_KEY)
        if validation is not None and validation.exists():
            d.rows(con, f"delete from {d.quote(SCHEMA, 'meta_validation_result')} "
                        "where run_id = ?", [record["run_id"]])
            d.load_validation(con, validation)

    def _in_history(self, con: Any, release_id: str | None) -> bool:
        d = self.d
        if release_id is None or "dim_release" not in d.relations(con, HISTORY_SCHEMA):
            return False
        return bool(d.rows(con, f"select 1 from {d.quote(HISTORY_SCHEMA, 'dim_release')} "
                                "where release_id = ?", [release_id]))

    # ---------------------------------------------------------------------------- history

    def _history_table(self, con: Any, name: str, columns: list[tuple[str, str]]) -> list[str]:
        """carbon_history.<name> with `release_id` first and `columns` (DuckDB types); a table
        created by an older release gets the new columns (dropped ones stay, null from then
        on) and the catalog's key."""
        d = self.d
        doc = history_table(name)
        have = d.columns(con, HISTORY_SCHEMA, name)
        if not have:
            d.create_history_table(con, name, [("release_id", "VARCHAR"), *columns], doc)
            return ["release_id", *(c for c, _ in columns)]
        added = []
        for column, duck_type in columns:
            if column not in have:
                d.rows(con, f"alter table {d.quote(HISTORY_SCHEMA, name)} add column "
                            f"{d.quote(column)} {d.type_name(duck_type, f'{name}.{column}')}")
                have.append(column)
                added.append(column)
        for statement in history_backfill(d.quote(HISTORY_SCHEMA, name), added, have):
            d.rows(con, statement)
        d.rekey(con, name, list(doc.primary_key), have)
        return have

    def _append_history(self, con: Any, record: dict[str, Any], layouts: Layouts,
                        staged: Staged) -> None:
        """This release into carbon_history, in the publish transaction: its dim_release row
        and its rows of every published table, read from the staged tables. Only a republished
        run's own rows are deleted first; no earlier release is read or rewritten."""
        d = self.d
        release_id = record["run_id"]
        present = {"dim_release": self._history_table(
            con, "dim_release",
            [(c.name, c.type) for c in RELEASE_DIMENSION.columns if c.name != "release_id"])}
        republished = self._in_history(con, release_id)
        if republished:
            d.rows(con, f"delete from {d.quote(HISTORY_SCHEMA, 'dim_release')} "
                        "where release_id = ?", [release_id])
        release = release_row(record)
        d.rows(con, f"insert into {d.quote(HISTORY_SCHEMA, 'dim_release')} "
                    f"({', '.join(d.quote(c) for c in release)}) "
                    f"values ({', '.join('?' for _ in release)})", list(release.values()))
        for name in PUBLISHED_TABLES:
            present[name] = self._history_table(con, name, layouts[name])
            d.append_history(con, name, release_id, [c for c, _ in layouts[name]],
                             staged(name), republished)
        for statement in history_comment_statements(present):
            d.rows(con, statement)

    def history(self) -> list[dict[str, Any]]:
        """The releases of carbon_history.dim_release, oldest first ([] without history)."""
        d = self.d
        with d.open_read() as con:
            if con is None or "dim_release" not in d.relations(con, HISTORY_SCHEMA):
                return []
            return d.dict_rows(con, f"select * from {d.quote(HISTORY_SCHEMA, 'dim_release')} "
                                    "order by published_at, release_id")

    # ---------------------------------------------------------------------------- operations

    def publish(self, run: Run | str | Path, lock_timeout: float | None = None
                ) -> PublishResult:
        """Publish the run atomically: stage its tables, then in one transaction append the
        release to the history, log the run and swap the release in."""
        d = self.d
        run = Run.of(run)
        wait = lock_timeout_seconds(lock_timeout)
        record = run_record(run, status=PUBLISHED)
        started = time.monotonic()
        record["factor_version"], layouts = read_compute(run, d)
        counts: dict[str, int] = {}
        timings: dict[str, float] = {}
        with d.open("publish", wait=wait, create=True) as con, \
                d.lock(con, "publish", wait) as lock:
            self._ensure_base(con)
            load_started = time.monotonic()
            with d.publishing(con, lock, run, layouts, counts) as staged:
                timings["load_seconds"] = time.monotonic() - load_started
                record["row_counts"] = json.dumps(counts, sort_keys=True)
                swap_started = time.monotonic()
                # which run's release goes out (read before this run's row joins the log)
                outgoing = (self._release(con, "current")
                            if set(d.relations(con, SCHEMA)) & set(PUBLISHED_TABLES) else None)
                self._append_history(con, record, layouts, staged)
                self._log(con, record, run.validation_results)
                d.swap_in(con, staged, outgoing, self._in_history(con, outgoing), wait)
                self._set_releases(con, record["run_id"], outgoing)
                d.finish(con)
            timings["swap_seconds"] = time.monotonic() - swap_started
        result: PublishResult = {
            "warehouse": d.where,
            "run_id": record["run_id"],
            "row_counts": counts,
            "seconds": round(time.monotonic() - started, 3),
        }
        if d.kind == "postgresql":
            result["load_seconds"] = round(timings["load_seconds"], 3)
            result["swap_seconds"] = round(timings["swap_seconds"], 3)
            result.update(d.result_extras())  # type: ignore[typeddict-item]
        return result

    def record_run(self, record: dict[str, Any], validation: Path | None = None,
                   lock_timeout: float | None = None) -> None:
        """A run that did not publish (rejected, failed, skipped) joins the run log with its
        validation results, in one transaction that touches no published table."""
        with self.d.open("record the run", wait=lock_timeout_seconds(lock_timeout),
                         create=True) as con:
            self._ensure_base(con)
            with self.d.transaction(con):
                self._log(con, record, validation)

    def current_release(self, lock_timeout: float | None = None) -> dict[str, Any] | None:
        """The run-log row of the release in `carbon`; None when nothing was ever published
        (creates nothing)."""
        d = self.d
        with d.open_read(lock_timeout_seconds(lock_timeout)) as con:
            if con is None:
                return None
            tables = set(d.relations(con, SCHEMA))
            if "meta_pipeline_run" not in tables or not tables & set(PUBLISHED_TABLES):
                return None
            return self._run_row(con, self._release(con, "current"))

    def rollback(self, lock_timeout: float | None = None) -> dict[str, Any]:
        """Swap the previous release back in (the current one becomes the previous) and log a
        'rolled back' run, in one transaction. Never creates a warehouse."""
        d = self.d
        wait = lock_timeout_seconds(lock_timeout)
        started_at = datetime.now(UTC)
        with d.open("rollback", wait=wait, create=False) as con, \
                d.lock(con, "rollback", wait) as lock:
            previous = [t for t in d.relations(con, PREVIOUS_SCHEMA, views=True)
                        if t in PUBLISHED_TABLES]
            if not previous:
                raise WarehouseError(f"warehouse {d.where} has no previous release to roll "
                                     "back to")
            self._ensure_base(con)
            d.check_lock(lock, "rollback")
            with d.transaction(con):
                restored, outgoing = self._release(con, "previous"), self._release(con, "current")
                d.swap_back(con, previous, outgoing, self._in_history(con, outgoing), wait)
                counts = {t: d.rows(con, f"select count(*) from {d.quote(SCHEMA, t)}")[0][0]
                          for t in previous}
                record = rollback_record(started_at, self._run_row(con, restored), restored,
                                         counts)
                d.upsert(con, SCHEMA, "meta_pipeline_run", record, RUN_KEY)
                self._set_releases(con, restored, outgoing)
                d.finish(con)
        return {"warehouse": d.where, "restored_tables": previous, "run_id": record["run_id"],
                "restored_run_id": restored, **d.result_extras()}

    def checksums(self, schema: str = SCHEMA, tables: Iterable[str] = PUBLISHED_TABLES
                  ) -> dict[str, str]:
        """Per table, the digest of its rows in key order (see `rows_digest`)."""
        d = self.d
        sums = {}
        with d.open_read() as con:
            if con is None:
                raise WarehouseError(f"warehouse {d.where} does not exist")
            for name in tables:
                names = d.columns(con, schema, name)
                if not names:
                    continue
                rows = d.rows(con, f"select {', '.join(d.quote(c) for c in names)} from "
                                   f"{d.quote(schema, name)} order by "
                                   f"{', '.join(d.quote(c) for c in row_order(name, names))}")
                sums[name] = rows_digest(names, rows)
        return sums


def open_warehouse(url: str) -> Warehouse:
    """The warehouse at `url`: `duckdb:///path.duckdb` (or `duckdb:relative.duckdb`) or a
    `postgresql://` URL; the engine is chosen here, once."""
    target = parse_warehouse_url(url)
    if target.kind == "duckdb":
        return Warehouse(DuckDBDialect(Path(target.target)))
    return Warehouse(PostgresDialect(target.target))

