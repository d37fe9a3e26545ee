"""Run one SQL model (or a model and the upstream models a test lists) on a few hand-made rows.

    rows = run_model(
        "int_emissions",
        {"int_energy_activity": [
            {"region_code": "630000", "year": 2010, "flow": "consumption", "fuel": "coke",
             "quantity": 50.0},
            ...
        ]},
    )

- `inputs` maps a table name to its rows: a list of dicts (a missing key is null) or a dict
  column -> list of values. Only the columns a test cares about need to be given: every table is
  created with the column types it has in the pipeline (sources: raw Parquet schema, sheet
  columns, VARCHAR reference columns; models: the types the model produces), the rows inserted
  by name, other columns null.
- Tables the models read but `inputs` does not give: reference tables (`ref_<name>`) hold the
  bundled reference CSVs, and so do the models computed from reference tables alone (dim_plan,
  dim_emission_factor, stg_methods, stg_scoring_rules, ...: built from them); every other source
  or model is an empty table of the right types.
- `upstream` lists models to build first from the inputs (in dependency order), e.g.
  `run_model("int_energy_activity", {"raw_energy": ...}, upstream=["stg_energy",
  "int_energy_adjustments"])`.
- The run variables `method`, `factor_version`, `electricity_trade` are settable; the shared
  macros (`sql/macros`) are created with `carbon_assess.transform.models.create_macros`.

Everything happens on one in-memory DuckDB, inside a transaction rolled back after each call
(cheaper than a new connection), so a call takes a few milliseconds; the column types of the
models are worked out once per session, by building every model on empty sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa

from carbon_assess import reference
from carbon_assess.ingest.schema import RAW_SCHEMA
from carbon_assess.ingest.sheets import SHEETS, sheet_column_types
from carbon_assess.transform import (
    FLAGGED_CELLS_COLUMNS,
    OFFICIAL_RESULTS_COLUMNS,
    RAW_GROUPS,
    current_factor_version,
    set_variables,
)
from carbon_assess.transform.models import create_macros, in_order, models, referenced_names

Rows = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]

_ARROW_TO_DUCKDB = {pa.string(): "varchar", pa.int32(): "integer", pa.float64(): "double",
                    pa.timestamp("us", tz="UTC"): "timestamptz"}


@cache
def source_types() -> dict[str, tuple[tuple[str, str], ...]]:
    """(column, DuckDB type) of every source table the runner loads before the models."""
    types: dict[str, tuple[tuple[str, str], ...]] = {
        f"ref_{name}": tuple((c, "varchar") for c in reference.load(name)[0])
        for name in reference.names()
    }
    raw = tuple((f.name, _ARROW_TO_DUCKDB[f.type]) for f in RAW_SCHEMA)
    types |= dict.fromkeys(RAW_GROUPS, raw)
    types |= {f"sheet_{kind}": tuple(sheet_column_types(kind)) for kind in SHEETS}
    types["official_results"] = tuple((c, "varchar") for c in OFFICIAL_RESULTS_COLUMNS)
    types["raw_flagged_cells"] = FLAGGED_CELLS_COLUMNS
    types["run_parameters"] = (("method", "varchar"), ("factor_version", "varchar"),
                               ("electricity_trade", "boolean"))
    return types


def _create(con: duckdb.DuckDBPyConnection, table: str,
            columns: Iterable[tuple[str, str]]) -> None:
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns)
    con.execute(f"create or replace table {table} ({ddl})")


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()


@contextmanager
def _scratch() -> Iterator[duckdb.DuckDBPyConnection]:
    """The shared in-memory connection, everything done in it rolled back afterwards."""
    con = _connection()
    con.execute("begin transaction")
    try:
        yield con
    finally:
        con.execute("rollback")


@cache
def model_types() -> dict[str, tuple[tuple[str, str], ...]]:
    """(column, DuckDB type) of every model: each built once on empty sources."""
    with _scratch() as con:
        set_variables(con, "reference", current_factor_version(), False)
        create_macros(con)
        for table, columns in source_types().items():
            _create(con, table, columns)
        for name in reference.names():
            _load_reference(con, name)
        types = {}
        for name, model in models().items():
            con.execute(f"create table {name} as {model.sql}")
            types[name] = tuple((r[0], r[1]) for r in con.execute(f"describe {name}").fetchall())
    return types


@cache
def reference_models() -> frozenset[str]:
    """Models computed from reference tables alone (directly or through other models)."""
    graph, sources = models(), set(source_types())
    pure: set[str] = set()
    for name, model in graph.items():  # dependency order: a model's inputs are decided first
        read_sources = referenced_names(model.sql) & sources
        if all(s.startswith("ref_") for s in read_sources) and set(model.depends_on) <= pure:
            pure.add(name)
    return frozenset(pure)


def _load_reference(con: duckdb.DuckDBPyConnection, name: str) -> None:
    _insert(con, f"ref_{name}", list(reference.load(name)))


def _as_columns(rows: Rows) -> dict[str, list[Any]]:
    if isinstance(rows, Mapping):
        return {column: list(values) for column, values in rows.items()}
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for column in row:
            columns.setdefault(column, [])
    for column, values in columns.items():
        values.extend(row.get(column) for row in rows)
    return columns


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Rows) -> None:
    columns = _as_columns(rows)
    if not columns or not next(iter(columns.values())):
        return
    data = pa.table(columns)
    con.register("harness_rows", data)
    try:
        con.execute(f"insert into {table} by name select * from harness_rows")
    finally:
        con.unregister("harness_rows")


def run_model(
    model: str,
    inputs: Mapping[str, Rows] | None = None,
    *,
    upstream: Sequence[str] = (),
    method: str = "reference",
    factor_version: str | None = None,
    electricity_trade: bool = False,
) -> list[dict[str, Any]]:
    """Build `model` (after the `upstream` models) from `inputs`; its rows as dicts, in the
    model's order."""
    inputs = dict(inputs or {})
    graph = models()
    built = set(upstream) | {model}
    unknown = sorted(n for n in built if n not in graph)
    if unknown:
        raise KeyError(f"no SQL model {unknown}")
    sources, model_columns = source_types(), model_types()
    pending = list(built)
    tables: set[str] = set()
    while pending:  # what the built models read; reference models not given are built too
        read = referenced_names(graph[pending.pop()].sql) & (set(sources) | set(graph))
        for table in read - built - tables:
            if table in reference_models() and table not in inputs:
                built.add(table)
                pending.append(table)
            else:
                tables.add(table)
    stray = sorted(set(inputs) - tables)
    if stray:
        raise KeyError(f"inputs {stray} are not read by {sorted(built)} (or are built by them)")
    with _scratch() as con:
        set_variables(con, method, factor_version or current_factor_version(),
                      electricity_trade)
        create_macros(con)
        for table in sorted(tables):
            _create(con, table, sources[table] if table in sources else model_columns[table])
            if table in inputs:
                _insert(con, table, inputs[table])
            elif table.startswith("ref_"):
                _load_reference(con, table.removeprefix("ref_"))
            elif table == "run_parameters":
                con.execute("insert into run_parameters select getvariable('method'), "
                            "getvariable('factor_version'), getvariable('electricity_trade')")
        for name in in_order(built):
            con.execute(f"create table {name} as {graph[name].sql}")
        cursor = con.execute(f"select * from {model}")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
