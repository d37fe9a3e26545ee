"""The raw-layer contract: one tidy row per observed cell, with lineage.

`raw/<kind>.parquet` holds every observation of one source kind. `value` is the number as
published (None for a blank cell, negative rounding noise kept as is: the blank-value and noise
policies are applied later, in staging, so raw stays a faithful typed copy of the input).
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa

from carbon_assess import reference

SOURCE_KINDS = ("energy_consumption", "energy_production", "gdp", "gdp_index", "population")

NATIONAL_CODE = "000000"  # rows from national files (no province column)

RAW_SCHEMA = pa.schema(
    [
        pa.field("region_code", pa.string(), nullable=False),  # GB/T 2260, or 000000 national
        pa.field("year", pa.int32(), nullable=False),
        pa.field("variable", pa.string(), nullable=False),  # e.g. consumption, gdp_current
        pa.field("fuel", pa.string()),  # coal, coke, ... for energy kinds; null otherwise
        pa.field("value", pa.float64()),  # canonical unit; null = blank cell
        pa.field("unit", pa.string(), nullable=False),  # canonical unit, e.g. 万吨
        pa.field("source_value", pa.string()),  # the cell text as published
        pa.field("source_unit", pa.string(), nullable=False),  # unit as in the header
        pa.field("source_file", pa.string(), nullable=False),  # path relative to landing
        pa.field("source_sha256", pa.string(), nullable=False),
        pa.field("source_sheet", pa.string()),  # XLSX sheet name; null for CSV and Parquet
        pa.field("source_row", pa.int32(), nullable=False),  # 1-based line/row in the file
        pa.field("source_column", pa.string(), nullable=False),  # header text
        pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("vintage", pa.string(), nullable=False),
    ]
)
# Arrow type -> the DuckDB type it reads back as (and converts back to: ingest.arrow_values)
SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int8(): "TINYINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP WITH TIME ZONE",
}
ARROW_TYPES = {sql_type: arrow_type for arrow_type, sql_type in SQL_TYPES.items()}
# the same columns as DuckDB reads them from the raw Parquet (raw validation's type rules and
# placeholder rows; compute's empty raw_* tables)
RAW_SQL_TYPES = {f.name: SQL_TYPES[f.type] for f in RAW_SCHEMA}


# What each kind's raw rows can hold, derived from the indicators the pipeline uses
# (reference/indicators.csv rows with a variable) and their units (reference/units.csv).


@cache
def _used(kind: str) -> tuple[dict[str, str], ...]:
    return tuple(r for r in reference.load("indicators") if r["source_kind"] == kind
                 and r["variable"])


def variables(kind: str) -> tuple[str, ...]:
    """The `variable` values of a kind, e.g. ('consumption',)."""
    return tuple(dict.fromkeys(r["variable"] for r in _used(kind)))


def fuels() -> tuple[str, ...]:
    """Every fuel an energy row can name, in the order of reference/indicators.csv."""
    return tuple(dict.fromkeys(r["fuel"] for kind in SOURCE_KINDS for r in _used(kind)
                               if r["fuel"]))


def source_units(kind: str) -> tuple[str, ...]:
    """Header units ingest recognises for a kind (every unit of its indicators' dimensions)."""
    dimensions = {r["dimension"] for r in reference.load("indicators")
                  if r["source_kind"] == kind}
    return tuple(sorted(u["unit"] for u in reference.load("units")
                        if u["dimension"] in dimensions))


def canonical_units(kind: str) -> tuple[str, ...]:
    """The units a kind's raw `value` is in after conversion."""
    dimensions = {r["dimension"] for r in _used(kind)}
    return tuple(dict.fromkeys(u["canonical_unit"] for u in reference.load("units")
                               if u["dimension"] in dimensions))


def statistics_columns(schema: pa.Schema) -> list[str]:
    """The columns whose Parquet min/max statistics are written: all but floating-point ones.
    Parquet statistics leave NaN out, and DuckDB folds `isnan(x)` to false from them (DuckDB
    2.0: a NaN cell reads as NaN yet `isnan` says false), so a NaN value would pass every check."""
    return [f.name for f in schema if not pa.types.is_floating(f.type)]
