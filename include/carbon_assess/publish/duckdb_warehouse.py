"""The embedded DuckDB warehouse: one file, schema `carbon`, previous release in `carbon_previous`.

A publish is one DuckDB transaction (DuckDB DDL is transactional): readers see the old release
or the new one, never a mix; a crash before COMMIT leaves the previous release as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError
from carbon_assess.publish import PREVIOUS_SCHEMA, PUBLISHED_TABLES, SCHEMA, run_record
from carbon_assess.transform import compute_db_path

META_DDL = {
    "meta_pipeline_run": f"""
        create table if not exists {SCHEMA}.meta_pipeline_run (
            run_id varchar primary key,
            started_at timestamptz,
            finished_at timestamptz,
            status varchar,
            code_version varchar,
            vintage varchar,
            method varchar,
            factor_version varchar,
            landing varchar,
            input_files varchar,
            row_counts varchar,
            warnings integer
        )""",
    "meta_validation_result": f"""
        create table if not exists {SCHEMA}.meta_validation_result (
            run_id varchar,
            source varchar,
            expectation varchar,
            "column" varchar,
            severity varchar,
            success boolean,
            unexpected_count bigint,
            examples varchar
        )""",
}


def connect_warehouse(path: Path, read_only: bool = False) -> Any:
    import duckdb

    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist; run `carbon-assess run` first")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseError(
                f"warehouse {path} is in use by another process (DuckDB allows one writer); "
                "retry when it has finished"
            ) from None
        raise WarehouseError(f"cannot open warehouse {path}: {exc}") from None


def _tables_in(con: Any, schema: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_catalog = current_database() order by 1",
            [schema],
        ).fetchall()
    ]


def init_duckdb(path: Path) -> None:
    """Create the schemas and the run-log tables (idempotent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect_warehouse(path) as con:
        con.execute(f"create schema if not exists {SCHEMA}")
        con.execute(f"create schema if not exists {PREVIOUS_SCHEMA}")
        for ddl in META_DDL.values():
            con.execute(ddl)


def publish_duckdb(workdir: Path, path: Path) -> dict[str, Any]:
    record = run_record(workdir, status="published")
    validation = workdir / "validation" / "results.parquet"
    init_duckdb(path)
    with connect_warehouse(path) as con:
        con.execute("attach ? as compute (read_only)", [str(compute_db_path(workdir))])
        record["factor_version"] = con.execute(
            "select factor_version from compute.main.run_parameters"
        ).fetchone()[0]
        counts = {
            t: con.execute(f"select count(*) from compute.main.{t}").fetchone()[0]
            for t in PUBLISHED_TABLES
        }
        record["row_counts"] = json.dumps(counts, sort_keys=True)
        con.execute("begin transaction")
        try:
            for table in _tables_in(con, PREVIOUS_SCHEMA):
                con.execute(f"drop table {PREVIOUS_SCHEMA}.{table}")
            for table in _tables_in(con, SCHEMA):
                if table in PUBLISHED_TABLES:
                    con.execute(
                        f"create table {PREVIOUS_SCHEMA}.{table} as select * from {SCHEMA}.{table}"
                    )
            for table in PUBLISHED_TABLES:
                con.execute(
                    f"create or replace table {SCHEMA}.{table} as "
                    f"select * from compute.main.{table}"
                )
            columns = ", ".join(record)
            placeholders = ", ".join("?" for _ in record)
            con.execute(
                f"insert or replace into {SCHEMA}.meta_pipeline_run ({columns}) values ({placeholders})",
                list(record.values()),
            )
            if validation.exists():
                con.execute(
                    f"delete from {SCHEMA}.meta_validation_result where run_id = ?", [record["run_id"]]
                )
                con.execute(
                    f"insert into {SCHEMA}.meta_validation_result by name "
                    "select run_id, source, expectation, \"column\", severity, success, "
                    "unexpected_count, examples from read_parquet(?)",
                    [str(validation)],
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("detach compute")
    return {"warehouse": str(path), "run_id": record["run_id"], "row_counts": counts}


def rollback_duckdb(path: Path) -> dict[str, Any]:
    """Swap the previous release back in (and the current one out), in one transaction."""
    with connect_warehouse(path) as con:
        previous = [t for t in _tables_in(con, PREVIOUS_SCHEMA) if t in PUBLISHED_TABLES]
        if not previous:
            raise WarehouseError(f"warehouse {path} has no previous release to roll back to")
        con.execute("begin transaction")
        try:
            for table in previous:
                con.execute(f"alter table {SCHEMA}.{table} rename to {table}__swap")
                con.execute(
                    f"create table {SCHEMA}.{table} as select * from {PREVIOUS_SCHEMA}.{table}"
                )
                con.execute(f"drop table {PREVIOUS_SCHEMA}.{table}")
                con.execute(
                    f"create table {PREVIOUS_SCHEMA}.{table} as "
                    f"select * from {SCHEMA}.{table}__swap"
                )
                con.execute(f"drop table {SCHEMA}.{table}__swap")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return {"warehouse": str(path), "restored_tables": previous}
