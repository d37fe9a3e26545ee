"""The embedded DuckDB warehouse: one file, schema `carbon`, previous release in `carbon_previous`.

A publish is one DuckDB transaction (DuckDB DDL is transactional): readers see the old release
or the new one, never a mix; a crash before COMMIT leaves the previous release as it was. Tables
get the catalog's primary keys, rows are inserted in key order, the analyst views and the
`COMMENT ON` documentation are (re)applied in the same transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError
from carbon_assess.publish.catalog import (
    META_TABLES,
    VIEWS,
    comment_statements,
    quote_ident,
    row_order,
    table,
)
from carbon_assess.publish.common import (
    PREVIOUS_SCHEMA,
    PUBLISHED_TABLES,
    SCHEMA,
    PublishResult,
    rows_digest,
    run_record,
)
from carbon_assess.workdir import Run


def _meta_ddl(name: str) -> str:
    t = table(name)
    columns = [f"{quote_ident(c.name)} {c.type}" for c in t.columns]
    if t.primary_key:
        columns.append(f"primary key ({', '.join(quote_ident(c) for c in t.primary_key)})")
    return f"create table if not exists {SCHEMA}.{name} (\n    " + ",\n    ".join(columns) + "\n)"


META_DDL = {name: _meta_ddl(name) for name in META_TABLES}


def connect_warehouse(path: Path, read_only: bool = False, wait: float = 0.0) -> Any:
    """Open the warehouse file; a writer waits up to `wait` seconds for another process's lock."""
    import duckdb

    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `carbon-assess run` first")
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise WarehouseError(f"cannot open warehouse {path}: {exc}") from None
            if time.monotonic() >= deadline:
                waited = f" (waited {wait:.0f} s)" if wait else ""
                raise WarehouseError(
                    f"warehouse {path} is in use by another process (DuckDB allows one "
                    f"writer){waited}; retry when it has finished"
                ) from None
            time.sleep(0.2)


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
    key = list(table(name).primary_key) if name in PUBLISHED_TABLES else []
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
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"create schema if not exists {PREVIOUS_SCHEMA}")
        for ddl in META_DDL.values():
            con.execute(ddl)


def publish_duckdb(run: Run, path: Path, lock_timeout: float = 0.0) -> PublishResult:
    record = run_record(run, status="published")
    validation = run.validation_results
    compute_db = run.compute_db
    if not compute_db.exists():
        raise WarehouseError(f"{compute_db} not found: run the compute and assess stages first")
    started = time.monotonic()
    init_duckdb(path, wait=lock_timeout)
    with connect_warehouse(path, wait=lock_timeout) as con, _errors(path, "publish"):
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
            catalog = _current_catalog(con)
            for name in PUBLISHED_TABLES:
                if name in current:
                    _copy_ordered(con, f"{SCHEMA}.{name}", PREVIOUS_SCHEMA, name,
                                  _columns(con, catalog, SCHEMA, name))
            for name in PUBLISHED_TABLES:
                _copy_ordered(con, f"compute.main.{name}", SCHEMA, name, layouts[name])
            columns = ", ".join(record)
            placeholders = ", ".join("?" for _ in record)
            con.execute(
                f"insert or replace into {SCHEMA}.meta_pipeline_run ({columns}) "
                f"values ({placeholders})",
                list(record.values()),
            )
            if validation.exists():
                con.execute(
                    f"delete from {SCHEMA}.meta_validation_result where run_id = ?",
                    [record["run_id"]],
                )
                con.execute(
                    f"insert into {SCHEMA}.meta_validation_result by name "
                    "select run_id, source, expectation, \"column\", severity, success, "
                    "unexpected_count, examples from read_parquet(?) order by all",
                    [str(validation)],
                )
            _create_views(con)
            _apply_comments(con)
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


def rollback_duckdb(path: Path) -> dict[str, Any]:
    """Swap the previous release back in (and the current one out), in one transaction."""
    with connect_warehouse(path) as con, _errors(path, "rollback"):
        previous = [t for t in _tables_in(con, PREVIOUS_SCHEMA) if t in PUBLISHED_TABLES]
        if not previous:
            raise WarehouseError(f"warehouse {path} has no previous release to roll back to")
        catalog = _current_catalog(con)
        con.execute("begin transaction")
        try:
            for name in previous:
                current_columns = _columns(con, catalog, SCHEMA, name)
                con.execute(f"alter table {SCHEMA}.{name} rename to {name}__swap")
                _copy_ordered(con, f"{PREVIOUS_SCHEMA}.{name}", SCHEMA, name,
                              _columns(con, catalog, PREVIOUS_SCHEMA, name))
                _copy_ordered(con, f"{SCHEMA}.{name}__swap", PREVIOUS_SCHEMA, name,
                              current_columns)
                con.execute(f"drop table {SCHEMA}.{name}__swap")
            _apply_comments(con)  # the views bind by name: they now read the restored tables
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return {"warehouse": str(path), "restored_tables": previous}


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
