"""One `Warehouse` interface over both engines: the release bookkeeping is written once here.

`open_warehouse(url)` chooses the engine once, from the URL, and returns a `Warehouse` whose
methods (`init`, `publish`, `record_run`, `current_release`, `history`, `rollback`, `checksums`)
do the same things on DuckDB and PostgreSQL: the run log (`carbon.meta_pipeline_run`,
`meta_validation_result`), which run's release is in `carbon` and `carbon_previous`
(`carbon_control.release`), the release history (`carbon_history`). What differs between the
engines (connecting, locking, transactions, bulk loads, views, quoting and type names) is a small
`Dialect` (`duckdb_warehouse.DuckDBDialect`, `postgres_warehouse.PostgresDialect`).

A release's rows are written once, into the history, in key order (`catalog.row_order`):
`carbon_history.<table>` keyed by `release_id`. `carbon.<table>` and `carbon_previous.<table>`
are views selecting one release's rows of it (the run-log tables `meta_*` are tables of
`carbon`). A publish, on either engine: in one transaction, write the release into the history
(DuckDB: INSERT ... SELECT ... ORDER BY key straight from compute.duckdb; PostgreSQL: the
release's partition, loaded by binary COPY into a staging schema beforehand and attached now),
log the run, point `carbon_previous` at the outgoing release and `carbon` at the new one, and
record the releases. A rollback only points the views back (no row is copied).

The history appends only the new release: earlier releases' rows are never read, rewritten or
deleted, so a publish costs the same whatever the number of earlier releases. Republishing a
run replaces that run's rows only. A warehouse written before the views (its releases were
tables in `carbon` and `carbon_previous`) is upgraded by its next publish or rollback: a release
there that the history lacks is copied into it once, then the tables are replaced by views.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
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
    backfill_values,
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

    def typed_columns(self, con: Any, schema: str, name: str) -> list[tuple[str, str]]:
        """(column, DuckDB type) of a table or view, in order."""

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

    def rekey(self, con: Any, name: str, key: list[str], have: list[str]) -> None:
        """Give carbon_history.<name> the primary key `key` if an older release keyed it
        otherwise."""

    def check_layouts(self, layouts: Layouts) -> None:
        """Fail before touching the warehouse if a column type cannot be published."""

    def publishing(self, con: Any, lock: Any, run: Run, layouts: Layouts,
                   counts: dict[str, int]) -> AbstractContextManager[None]:
        """Prepare the run's rows (PostgreSQL: its history partitions, loaded into a staging
        schema and committed; `counts` filled) and open the publish transaction; commit on
        exit."""

    def lock_release(self, con: Any, wait: float) -> None:
        """Inside the publish or rollback transaction, before `carbon` changes: exclusive
        access to the views (or tables) of `carbon` and `carbon_previous`."""

    def write_release(self, con: Any, name: str, release_id: str, columns: list[str],
                      republished: bool) -> int:
        """The run's rows of `name`, in key order, as release `release_id` of
        carbon_history.<name> (`republished`: that release's earlier rows go first); the number
        of rows. Never reads or rewrites another release's rows. A duplicated key is a
        WarehouseError naming the table and its key."""

    def copy_release(self, con: Any, name: str, release_id: str, columns: list[str],
                     source: str, fill: dict[str, str]) -> None:
        """The rows of `source` (a table of the warehouse written before the views) as release
        `release_id` of carbon_history.<name>, in key order; `fill`: history column -> SQL
        value for the columns `source` lacks."""

    def point(self, con: Any, schema: str, release_id: str | None,
              tables: dict[str, list[str]]) -> None:
        """`schema`.<name> := a view of the release's rows of carbon_history.<name> (its
        `columns`), for every name of `tables`, replacing the table or view there. In
        `carbon_previous`, every other published table or view is dropped."""

    def finish(self, con: Any) -> None:
        """Last, in the transaction: analyst views, comments, grants as the engine needs."""

    def result_extras(self) -> dict[str, Any]: ...


def read_compute(run: Run, dialect: Dialect) -> tuple[str, Layouts]:
    """The run's factor version and the layout of every table to publish, read from
    compute.duckdb before the warehouse is touched (the row counts come from the load: some
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

    def _published(self, con: Any, schema: str) -> list[str]:
        """The published tables present in `schema` (views, or tables of an older version)."""
        return [t for t in self.d.relations(con, schema, views=True) if t in PUBLISHED_TABLES]

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

    def _ensure_history(self, con: Any, layouts: Layouts | None = None) -> None:
        """carbon_history.dim_release and, with `layouts`, every published table's history table
        with the run's columns."""
        self._history_table(
            con, "dim_release",
            [(c.name, c.type) for c in RELEASE_DIMENSION.columns if c.name != "release_id"])
        for name, columns in (layouts or {}).items():
            self._history_table(con, name, columns)

    def _insert_release_row(self, con: Any, row: dict[str, Any]) -> None:
        d = self.d
        d.rows(con, f"delete from {d.quote(HISTORY_SCHEMA, 'dim_release')} "
                    "where release_id = ?", [row["release_id"]])
        d.rows(con, f"insert into {d.quote(HISTORY_SCHEMA, 'dim_release')} "
                    f"({', '.join(d.quote(c) for c in row)}) "
                    f"values ({', '.join('?' for _ in row)})", list(row.values()))

    def _comment_history(self, con: Any) -> None:
        d = self.d
        present = {name: d.columns(con, HISTORY_SCHEMA, name)
                   for name in ("dim_release", *PUBLISHED_TABLES)}
        for statement in history_comment_statements({k: v for k, v in present.items() if v}):
            d.rows(con, statement)

    def _adopt(self, con: Any, schema: str, release_id: str | None,
               replaced: str | None = None) -> str | None:
        """A release that an older version left as tables in `schema` (`carbon` or
        `carbon_previous`): copied into the history once if the history lacks it (`replaced`:
        the release this publish rewrites anyway, not copied). Returns the release's id (one
        made up when the run log cannot name it)."""
        d = self.d
        tables = [t for t in d.relations(con, schema) if t in PUBLISHED_TABLES]
        if not tables:
            return release_id
        if release_id is None:
            release_id = f"unrecorded-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        if release_id == replaced or self._in_history(con, release_id):
            return release_id
        self._ensure_history(con)
        for name in tables:
            typed = d.typed_columns(con, schema, name)
            have = self._history_table(con, name, typed)
            names = [c for c, _ in typed]
            d.copy_release(con, name, release_id, names, d.quote(schema, name),
                           backfill_values([c for c in have if c not in names], names))
        logged = self._run_row(con, release_id) or {"run_id": release_id}
        self._insert_release_row(con, release_row(
            logged, published_at=logged.get("finished_at") or datetime.now(UTC)))
        return release_id

    def _write_release(self, con: Any, record: dict[str, Any], layouts: Layouts,
                       counts: dict[str, int]) -> None:
        """This release into carbon_history, in the publish transaction: its rows of every
        published table (`counts` filled) and its dim_release row. Only a republished run's own
        rows are deleted first; no earlier release is read or rewritten."""
        release_id = record["run_id"]
        republished = self._in_history(con, release_id)
        for name in PUBLISHED_TABLES:
            counts[name] = self.d.write_release(con, name, release_id,
                                                [c for c, _ in layouts[name]], republished)
        record["row_counts"] = json.dumps(counts, sort_keys=True)
        self._insert_release_row(con, release_row(record))

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
        """Publish the run atomically: in one transaction write its release into the history,
        log the run and point `carbon` at it (the outgoing release becomes `carbon_previous`)."""
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
            with d.publishing(con, lock, run, layouts, counts):
                timings["load_seconds"] = time.monotonic() - load_started
                swap_started = time.monotonic()
                # which run's release goes out (read before this run's row joins the log)
                outgoing = (self._release(con, "current")
                            if self._published(con, SCHEMA) else None)
                d.lock_release(con, wait)
                self._ensure_history(con, layouts)
                outgoing = self._adopt(con, SCHEMA, outgoing, replaced=record["run_id"])
                leaving = {name: d.columns(con, SCHEMA, name)
                           for name in self._published(con, SCHEMA)}
                self._write_release(con, record, layouts, counts)
                self._comment_history(con)
                self._log(con, record, run.validation_results)
                d.point(con, PREVIOUS_SCHEMA, outgoing, leaving)
                d.point(con, SCHEMA, record["run_id"],
                        {name: [c for c, _ in layouts[name]] for name in PUBLISHED_TABLES})
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
            if "meta_pipeline_run" not in d.relations(con, SCHEMA) \
                    or not self._published(con, SCHEMA):
                return None
            return self._run_row(con, self._release(con, "current"))

    def rollback(self, lock_timeout: float | None = None) -> dict[str, Any]:
        """Point `carbon` back at the previous release (and `carbon_previous` at the current
        one) and log a 'rolled back' run, in one transaction; no row is copied. Never creates
        a warehouse."""
        d = self.d
        wait = lock_timeout_seconds(lock_timeout)
        started_at = datetime.now(UTC)
        with d.open("rollback", wait=wait, create=False) as con, \
                d.lock(con, "rollback", wait) as lock:
            previous = self._published(con, PREVIOUS_SCHEMA)
            if not previous:
                raise WarehouseError(f"warehouse {d.where} has no previous release to roll "
                                     "back to")
            self._ensure_base(con)
            d.check_lock(lock, "rollback")
            with d.transaction(con):
                restored, outgoing = self._release(con, "previous"), self._release(con, "current")
                d.lock_release(con, wait)
                restored = self._adopt(con, PREVIOUS_SCHEMA, restored)
                outgoing = self._adopt(con, SCHEMA, outgoing)
                if restored is None:
                    raise WarehouseError(f"warehouse {d.where}: no release is recorded for "
                                         f"{PREVIOUS_SCHEMA}; nothing was changed")
                back = {name: d.columns(con, PREVIOUS_SCHEMA, name) for name in previous}
                leaving = {name: d.columns(con, SCHEMA, name)
                           for name in self._published(con, SCHEMA)}
                d.point(con, SCHEMA, restored, back)
                d.point(con, PREVIOUS_SCHEMA, outgoing, leaving)
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
