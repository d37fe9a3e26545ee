"""Arrow arrays from Python values, converted by DuckDB.

pyarrow imports pandas the first time it converts any Python object (a list, a scalar, a fill
value: its pandas shim checks for pandas types), which costs an ingest task about 0.4 s and
60 MiB for a library it never uses. DuckDB converts the same values without it, so ingest
builds every Arrow array it needs from Python values here, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import pyarrow as pa

from carbon_assess.ingest.schema import SQL_TYPES


def _sql_type(arrow_type: pa.DataType) -> str:
    try:
        return SQL_TYPES[arrow_type]
    except KeyError:
        raise TypeError(f"no DuckDB conversion for Arrow type {arrow_type}") from None


@cache
def _database() -> Any:
    """One in-memory DuckDB per process (connecting costs ms, and ingest converts a few arrays
    per file); each conversion runs on a cursor of its own, as the raw writer's thread
    converts too."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _query(select: str, params: list[Any], types: Sequence[pa.DataType]) -> list[pa.Array]:
    with _database().cursor() as con:
        table = con.sql(select, params=params).to_arrow_table()
    # (combine_chunks of no chunk converts a Python list: pa.nulls(0) is the empty array)
    return [(column.combine_chunks() if column.num_chunks else pa.nulls(0, column.type))
            .cast(arrow_type) for column, arrow_type in zip(table.columns, types, strict=True)]


def arrow_arrays(columns: Mapping[str, Sequence[Any]], types: Mapping[str, pa.DataType]
                 ) -> dict[str, pa.Array]:
    """Each list of `columns` (all of one length) as an array of its type in `types`."""
    names = list(columns)
    if not names:
        return {}
    select = ", ".join(f"unnest(${i + 1}::{_sql_type(types[n])}[]) AS c{i}"
                       for i, n in enumerate(names))
    arrays = _query(f"SELECT {select}", [list(columns[n]) for n in names],
                    [types[n] for n in names])
    return dict(zip(names, arrays, strict=True))


def arrow_array(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    """One list as an array of `arrow_type`."""
    return arrow_arrays({"v": values}, {"v": arrow_type})["v"]


def arrow_constants(values: Mapping[str, Any], types: Mapping[str, pa.DataType], rows: int
                    ) -> dict[str, pa.Array]:
    """For each of `values`, an array of `rows` times that value (None: nulls)."""
    names = list(values)
    if not names:
        return {}
    select = ", ".join(f"${i + 2}::{_sql_type(types[n])} AS c{i}" for i, n in enumerate(names))
    arrays = _query(f"SELECT {select} FROM range($1)", [rows, *(values[n] for n in names)],
                    [types[n] for n in names])
    return dict(zip(names, arrays, strict=True))


def arrow_batch(columns: Mapping[str, Sequence[Any]], schema: pa.Schema) -> pa.RecordBatch:
    """A record batch of `schema` from one list per field."""
    arrays = arrow_arrays({f.name: columns[f.name] for f in schema},
                          {f.name: f.type for f in schema})
    return pa.RecordBatch.from_arrays([arrays[f.name] for f in schema], schema=schema)
