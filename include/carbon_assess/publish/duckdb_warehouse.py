"""The embedded DuckDB warehouse: one file, schema `carbon`, previous release in `carbon_previous`.

A publish is one DuckDB transaction (DuckDB DDL is transactional): readers see the old release
or the new one, never a mix; a crash before COMMIT leaves the previous release as it was. Tables
get the catalog's primary keys, rows are inserted in key order, the analyst views and the
`COMMENT ON` documentation are (re)applied in the same transaction. DuckDB's file lock is the
publish lock (one writer per file; a second one waits up to the lock timeout).

`carbon_control.release` records which run's release is in `carbon` and in `carbon_previous`;
a rollback swaps the two releases and adds a 'rolled back' row to the run log, in the same
transaction. A rollback never creates a warehouse file.

The publish transaction also appends the release to schema `carbon_history` (`dim_release` and
every published table keyed by `release_id`); a rollback leaves the history as it is.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError
from carbon_assess.publish.catalog import (
    META_TABLES,
    PUBLISHED_TABLES,
    RELEASE_DIMENSION,
    VIEWS,
    comment_statements,
    history_comment_statements,
    history_table,
    quote_ident,
    row_order,
    table,
)
from carbon_assess.publish.common import (
    CONTROL_SCHEMA,
    HISTORY_SCHEMA,
    PREVIOUS_SCHEMA,
    RELEASE_STATUSES,
    SCHEMA,
    PublishResult,
    history_backfill,
    release_from_log,
    release_row,
    rollback_record,
    rows_digest,
    run_record,
)
from carbon_assess.settings import duckdb_connect
from carbon_assess.workdir import Run


def _meta_ddl(name: str) -> str:
    t = table(name)
    columns = [f"{quote_ident(c.name)} {c.type}" for c in t.columns]
    if t.primary_key:
        columns.append(f"primary key ({', '.join(quote_ident(c) for c in t.primary_key)})")
    return f"create table if not exists {SCHEMA}.{name} (\n    " + ",\n    ".join(columns) + "\n)"


META_DDL = {name: _meta_ddl(name) for name in META_TABLES}
RELEASE_DDL = (
    f"create table if not exists {CONTROL_SCHEMA}.release (\n"
    "    slot varchar primary key,  -- 'current' (schema carbon) or 'previous'\n"
    "    run_id varchar,\n"
    "    since timestamp with time zone\n"
    ")"
)


def connect_warehouse(path: Path, read_only: bool = False, wait: float = 0.0,
                      create: bool = True) -> Any:
    """Open the warehouse file, waiting up to `wait` seconds while another process writes it
    (DuckDB: one writer, and no reader beside a writer). `read_only` or `create=False`: a
    missing file is a WarehouseError naming the path, never a new empty warehouse."""
    import duckdb

    if (read_only or not create) and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `carbon-assess run` first")
    deadline = time.monotonic() + wait
    while True:
        try:
            # bounded memory (a 50M-row release is sorted and copied; DuckDB spills beside
            # the warehouse file beyond the limit)
            return duckdb_connect(path, path.parent / f"{path.name}.tmp", keep_order=True,
                                  read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open warehouse {path}: {exc}") from None
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(exc))
                by = f" (PID {holder[1]})" if holder else ""
                waited = f"gave up after waiting {wait:g} s, " if wait else ""
                raise WarehouseError(
                    f"warehouse {path} is in use by another process{by}: DuckDB allows one "
                    f"writer and no reader beside it, e.g. while a publish runs; {waited}retry "
                    "when it has finished"
                ) from None
            time.sleep(0.1)


@contextmanager
def _errors(path: Path, action: str) -> Iterator[None]:
    """DuckDB errors (constraint violations, I/O ...) as one-line WarehouseErrors."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise WarehouseError(f"{action} to {path} failed: {text[:400]}") from None


def _tables_in(con: Any, schema: str, kind: str = "BASE TABLE") -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_type = ? and table_catalog = current_database() order by 1",
            [schema, kind],
        ).fetchall()
    ]


def _columns(con: Any, catalog: str, schema: str, name: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = ? and table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [catalog, schema, name],
        ).fetchall()
    ]


def _create_table_sql(schema: str, name: str, columns: list[tuple[str, str]]) -> str:
    parts = [f"{quote_ident(c)} {t}" for c, t in columns]
    names = [c for c, _ in columns]
    doc = table(name) if name in PUBLISHED_TABLES else None
    key = list(doc.primary_key) if doc and doc.key_indexed else []
    if key and set(key) <= set(names):
        parts.append(f"primary key ({', '.join(quote_ident(c) for c in key)})")
    return f"create table {schema}.{name} (" + ", ".join(parts) + ")"


def _copy_ordered(con: Any, source: str, target_schema: str, name: str,
                  columns: list[tuple[str, str]]) -> None:
    """(Re)create `target_schema.name` with its key and insert the rows of `source` in key order."""
    names = [c for c, _ in columns]
    con.execute(f"drop table if exists {target_schema}.{name}")
    con.execute(_create_table_sql(target_schema, name, columns))
    select = ", ".join(quote_ident(c) for c in names)
    order = ", ".join(quote_ident(c) for c in row_order(name, names))
    con.execute(
        f"insert into {target_schema}.{name} ({select}) select {select} from {source} "
        f"order by {order}"
    )


def _create_views(con: Any) -> None:
    for view in VIEWS:
        con.execute(
            f"create or replace view {SCHEMA}.{view.name} as {view.sql.format(schema=SCHEMA)}"
        )


def _apply_comments(con: Any) -> None:
    present = {
        name: [c for c, _ in _columns(con, _current_catalog(con), SCHEMA, name)]
        for name in (*PUBLISHED_TABLES, *META_TABLES, *(v.name for v in VIEWS))
    }
    for statement in comment_statements(SCHEMA, {k: v for k, v in present.items() if v},
                                        views=[v.name for v in VIEWS]):
        con.execute(statement)


def _current_catalog(con: Any) -> str:
    return con.execute("select current_database()").fetchall()[0][0]


def init_duckdb(path: Path, wait: float = 0.0) -> None:
    """Create the schemas and the run-log tables (idempotent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect_warehouse(path, wait=wait) as con:
        _ensure_base(con)


def _ensure_base(con: Any) -> None:
    """Schemas, run-log tables (with the catalog's columns: a warehouse from an older version
    gets the new ones) and the release table."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"create schema if not exists {PREVIOUS_SCHEMA}")
    con.execute(f"create schema if not exists {CONTROL_SCHEMA}")
    con.execute(f"create schema if not exists {HISTORY_SCHEMA}")
    for name, ddl in META_DDL.items():
        con.execute(ddl)
        present = {c for c, _ in _columns(con, _current_catalog(con), SCHEMA, name)}
        for column in table(name).columns:
            if column.name not in present:
                con.execute(f"alter table {SCHEMA}.{name} add column {quote_ident(column.name)} "
                            f"{column.type}")
    con.execute(RELEASE_DDL)


def _release(con: Any, slot: str) -> str | None:
    """The run whose release is in `carbon` ('current') or `carbon_previous` ('previous');
    from the run log when the warehouse predates the release table."""
    row = con.execute(f"select run_id from {CONTROL_SCHEMA}.release where slot = ?",
                      [slot]).fetchall()
    if row:
        return row[0][0]
    return _release_from_log(con, 0 if slot == "current" else 1)


def _release_from_log(con: Any, back: int) -> str | None:
    statuses = ", ".join(f"'{s}'" for s in RELEASE_STATUSES)
    entries = con.execute(
        f"select run_id, restored_run_id from {SCHEMA}.meta_pipeline_run "
        f"where status in ({statuses}) or status is null "
        "order by finished_at desc nulls last, started_at desc nulls last, run_id desc"
    ).fetchall()
    return release_from_log(entries, back=back)


def _set_releases(con: Any, current: str | None, previous: str | None) -> None:
    now = datetime.now(UTC)
    for slot, run_id in (("current", current), ("previous", previous)):
        con.execute(f"insert or replace into {CONTROL_SCHEMA}.release values (?, ?, ?)",
                    [slot, run_id, now])


def _record(con: Any, record: dict[str, Any]) -> None:
    columns = ", ".join(quote_ident(c) for c in record)
    placeholders = ", ".join("?" for _ in record)
    con.execute(
        f"insert or replace into {SCHEMA}.meta_pipeline_run ({columns}) values ({placeholders})",
        list(record.values()),
    )


def _record_validation(con: Any, run_id: str, validation: Path) -> None:
    """The run's validation results (results.parquet) into `meta_validation_result`,
    replacing what an earlier attempt of the same run recorded."""
    con.execute(f"delete from {SCHEMA}.meta_validation_result where run_id = ?", [run_id])
    con.execute(
        f"insert into {SCHEMA}.meta_validation_result by name "
        "select run_id, source, expectation, \"column\", severity, success, "
        "unexpected_count, examples from read_parquet(?) order by all",
        [str(validation)],
    )


def record_run_duckdb(path: Path, record: dict[str, Any], validation: Path | None,
                      lock_timeout: float = 0.0) -> None:
    """A run that did not publish (rejected, failed, skipped) joins the run log with its
    validation results, in one transaction that touches no published table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect_warehouse(path, wait=lock_timeout) as con, _errors(path, "record the run"):
        _ensure_base(con)
        con.execute("begin transaction")
        try:
            _record(con, record)
            if validation is not None and validation.exists():
                _record_validation(con, record["run_id"], validation)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


def current_release_duckdb(path: Path, wait: float = 0.0) -> dict[str, Any] | None:
    """The run-log row of the release in `carbon`; None when nothing was ever published (no
    file is created)."""
    if not path.exists():
        return None
    with connect_warehouse(path, read_only=True, wait=wait) as con:
        tables = set(_tables_in(con, SCHEMA))
        if "meta_pipeline_run" not in tables or not tables & set(PUBLISHED_TABLES):
            return None
        control = CONTROL_SCHEMA in {r[0] for r in con.execute(
            "select schema_name from information_schema.schemata").fetchall()}
        if control and "release" in _tables_in(con, CONTROL_SCHEMA):
            return _run_row(con, _release(con, "current"))
        return _run_row(con, _release_from_log(con, 0))


def _ensure_history_table(con: Any, name: str, columns: list[tuple[str, str]]) -> list[str]:
    """carbon_history.<name> with `release_id` first and the given columns (a table created by
    an older release gets the new columns; dropped ones stay, null from then on)."""
    doc = history_table(name)
    have = [c for c, _ in _columns(con, _current_catalog(con), HISTORY_SCHEMA, name)]
    if not have:
        parts = [f"{quote_ident(c)} {t}" for c, t in [("release_id", "VARCHAR"), *columns]]
        names = {"release_id", *(c for c, _ in columns)}
        if doc.primary_key and doc.key_indexed and set(doc.primary_key) <= names:
            parts.append(f"primary key ({', '.join(quote_ident(c) for c in doc.primary_key)})")
        con.execute(f"create table {HISTORY_SCHEMA}.{name} (" + ", ".join(parts) + ")")
        return ["release_id", *(c for c, _ in columns)]
    added = []
    for column, column_type in columns:
        if column not in have:
            con.execute(f"alter table {HISTORY_SCHEMA}.{name} add column {quote_ident(column)} "
                        f"{column_type}")
            have.append(column)
            added.append(column)
    for statement in history_backfill(f"{HISTORY_SCHEMA}.{quote_ident(name)}", added, have):
        con.execute(statement)
    _rekey_history(con, name, list(doc.primary_key) if doc.key_indexed else [])
    return have


def _rekey_history(con: Any, name: str, key: list[str]) -> None:
    """Give a history table made by an older release the catalog's key when the key changed
    (issue 13: province_code -> region_code). DuckDB cannot drop a primary key: the table is
    rebuilt (same columns, same rows, the new key), inside the publish transaction."""
    found = con.execute(
        "select constraint_column_names from duckdb_constraints() where schema_name = ? "
        "and table_name = ? and constraint_type = 'PRIMARY KEY' and database_name = "
        "current_database()", [HISTORY_SCHEMA, name]).fetchall()
    old = list(found[0][0]) if found else []
    if not old or old == key:
        return
    table_sql = f"{HISTORY_SCHEMA}.{quote_ident(name)}"
    columns = _columns(con, _current_catalog(con), HISTORY_SCHEMA, name)
    parts = [f"{quote_ident(c)} {t}" for c, t in columns]
    if key:
        parts.append(f"primary key ({', '.join(quote_ident(c) for c in key)})")
    con.execute(f"alter table {table_sql} rename to {quote_ident(name + '__rekey')}")
    con.execute(f"create table {table_sql} ({', '.join(parts)})")
    con.execute(f"insert into {table_sql} select * from "
                f"{HISTORY_SCHEMA}.{quote_ident(name + '__rekey')}")
    con.execute(f"drop table {HISTORY_SCHEMA}.{quote_ident(name + '__rekey')}")


def _append_history(con: Any, record: dict[str, Any], layouts: dict[str, list]) -> None:
    """Keep this release in schema carbon_history (in the publish transaction): its
    dim_release row and its rows of every published table; a republished run replaces its
    rows."""
    release_id = record["run_id"]
    release = release_row(record)
    _ensure_history_table(con, "dim_release", [(c.name, c.type) for c in RELEASE_DIMENSION.columns
                                               if c.name != "release_id"])
    present = {"dim_release": list(RELEASE_DIMENSION.column_names)}
    con.execute(f"delete from {HISTORY_SCHEMA}.dim_release where release_id = ?", [release_id])
    con.execute(
        f"insert into {HISTORY_SCHEMA}.dim_release ({', '.join(quote_ident(c) for c in release)})"
        f" values ({', '.join('?' for _ in release)})",
        list(release.values()),
    )
    for name in PUBLISHED_TABLES:
        present[name] = _ensure_history_table(con, name, layouts[name])
        names = [c for c, _ in layouts[name]]
        select = ", ".join(quote_ident(c) for c in names)
        con.execute(f"delete from {HISTORY_SCHEMA}.{name} where release_id = ?", [release_id])
        # carbon.<name> was just written in key order, and an insert keeps a scan's order
        con.execute(
            f"insert into {HISTORY_SCHEMA}.{name} (release_id, {select}) "
            f"select ?, {select} from {SCHEMA}.{name}",
            [release_id],
        )
    for statement in history_comment_statements(present):
        con.execute(statement)


def publish_duckdb(run: Run, path: Path, lock_timeout: float = 0.0) -> PublishResult:
    record = run_record(run, status="published")
    validation = run.validation_results
    compute_db = run.compute_db
    if not compute_db.exists():
        raise WarehouseError(f"{compute_db} not found: run the compute and assess stages first")
    started = time.monotonic()
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect_warehouse(path, wait=lock_timeout) as con, _errors(path, "publish"):
        _ensure_base(con)
        con.execute("attach ? as compute (read_only)", [str(compute_db)])
        record["factor_version"] = con.execute(
            "select factor_version from compute.main.run_parameters"
        ).fetchall()[0][0]
        layouts = {t: _columns(con, "compute", "main", t) for t in PUBLISHED_TABLES}
        missing = [t for t, cols in layouts.items() if not cols]
        if missing:
            raise WarehouseError(f"{compute_db} lacks table(s) {', '.join(missing)}")
        counts = {
            t: con.execute(f"select count(*) from compute.main.{t}").fetchall()[0][0]
            for t in PUBLISHED_TABLES
        }
        record["row_counts"] = json.dumps(counts, sort_keys=True)
        con.execute("begin transaction")
        try:
            for name in _tables_in(con, PREVIOUS_SCHEMA):
                con.execute(f"drop table {PREVIOUS_SCHEMA}.{name}")
            current = set(_tables_in(con, SCHEMA))
            outgoing = _release(con, "current") if current & set(PUBLISHED_TABLES) else None
            catalog = _current_catalog(con)
            for name in PUBLISHED_TABLES:
                if name in current:
                    _copy_ordered(con, f"{SCHEMA}.{name}", PREVIOUS_SCHEMA, name,
                                  _columns(con, catalog, SCHEMA, name))
            for name in PUBLISHED_TABLES:
                _copy_ordered(con, f"compute.main.{name}", SCHEMA, name, layouts[name])
            _record(con, record)
            _set_releases(con, record["run_id"], outgoing)
            if validation.exists():
                _record_validation(con, record["run_id"], validation)
            _create_views(con)
            _apply_comments(con)
            _append_history(con, record, layouts)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("detach compute")
    return {
        "warehouse": str(path),
        "run_id": record["run_id"],
        "row_counts": counts,
        "seconds": round(time.monotonic() - started, 3),
    }


def rollback_duckdb(path: Path, lock_timeout: float = 0.0) -> dict[str, Any]:
    """Swap the previous release back in (and the current one out) and log the rollback in
    `meta_pipeline_run`, in one transaction. A missing file is an error, never created."""
    started_at = datetime.now(UTC)
    with connect_warehouse(path, wait=lock_timeout, create=False) as con, \
            _errors(path, "rollback"):
        previous = [t for t in _tables_in(con, PREVIOUS_SCHEMA) if t in PUBLISHED_TABLES]
        if not previous:
            raise WarehouseError(f"warehouse {path} has no previous release to roll back to")
        _ensure_base(con)
        catalog = _current_catalog(con)
        con.execute("begin transaction")
        try:
            restored, outgoing = _release(con, "previous"), _release(con, "current")
            for name in previous:
                current_columns = _columns(con, catalog, SCHEMA, name)
                con.execute(f"alter table {SCHEMA}.{name} rename to {name}__swap")
                _copy_ordered(con, f"{PREVIOUS_SCHEMA}.{name}", SCHEMA, name,
                              _columns(con, catalog, PREVIOUS_SCHEMA, name))
                _copy_ordered(con, f"{SCHEMA}.{name}__swap", PREVIOUS_SCHEMA, name,
                              current_columns)
                con.execute(f"drop table {SCHEMA}.{name}__swap")
            counts = {
                t: con.execute(f"select count(*) from {SCHEMA}.{t}").fetchall()[0][0]
                for t in previous
            }
            record = rollback_record(started_at, _run_row(con, restored), restored, counts)
            _record(con, record)
            _set_releases(con, restored, outgoing)
            _apply_comments(con)  # the views bind by name: they now read the restored tables
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return {"warehouse": str(path), "restored_tables": previous, "run_id": record["run_id"],
            "restored_run_id": restored}


def _run_row(con: Any, run_id: str | None) -> dict[str, Any] | None:
    if run_id is None:
        return None
    cursor = con.execute(f"select * from {SCHEMA}.meta_pipeline_run where run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return dict(zip(names, rows[0], strict=True)) if rows else None


def duckdb_checksums(path: Path, schema: str, tables: tuple[str, ...]) -> dict[str, str]:
    with connect_warehouse(path, read_only=True) as con:
        catalog = _current_catalog(con)
        sums = {}
        for name in tables:
            names = [c for c, _ in _columns(con, catalog, schema, name)]
            if not names:
                continue
            order = ", ".join(quote_ident(c) for c in row_order(name, names))
            rows = con.execute(
                f"select {', '.join(quote_ident(c) for c in names)} from {schema}.{name} "
                f"order by {order}"
            ).fetchall()
            sums[name] = rows_digest(names, rows)
        return sums
