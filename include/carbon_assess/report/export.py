"""Export the analyst views of schema carbon to files: `dest/<view>.parquet` and `dest/<view>.csv`.

`export_views(warehouse_url, dest)` reads every view the catalog lists (`catalog.VIEWS`, e.g.
v_latest_assessment, v_behind_schedule, ...) through the report's read-only session
(`data._reader`: DuckDB read-only with the short wait for a publish's lock, PostgreSQL in one
read-only REPEATABLE READ transaction, so every view comes from the same release), and writes
them at once:

- the files are written into a fresh temporary folder beside `dest` (same parent, so the same
  file system), then that folder is renamed to `dest`; an export already at `dest` is moved
  aside just before and deleted after. A reader never sees half an export: `dest` holds the
  previous export, then (for the instant between two renames) nothing, then the new one;
- on any error the temporary folder is removed and `dest` is left as it was.

Column types come from the catalog (VARCHAR → string, DOUBLE → float64, INTEGER → int32, BIGINT
→ int64, BOOLEAN → bool), so a DuckDB and a PostgreSQL warehouse give the same Parquet schema; a
column the catalog does not document keeps the type Arrow infers. CSV: UTF-8 without BOM, a header
row, strings quoted, null as an empty unquoted field, floats in their shortest round-trip form.
Rows keep the order of the view's own ORDER BY. pyarrow is imported on first use.

It backs the downstream DAG `carbon_export`, run when the assessment publishes.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError
from carbon_assess.publish import SCHEMA, parse_warehouse_url
from carbon_assess.publish.catalog import VIEWS, Table, quote_ident
from carbon_assess.report.data import _Empty, _Reader, _reader


def view_names() -> tuple[str, ...]:
    """The analyst views of schema carbon, in catalog order."""
    return tuple(view.name for view in VIEWS)


def _arrow_type(duckdb_type: str) -> Any:
    import pyarrow as pa

    return {
        "VARCHAR": pa.string(),
        "DOUBLE": pa.float64(),
        "FLOAT": pa.float32(),
        "SMALLINT": pa.int16(),
        "INTEGER": pa.int32(),
        "BIGINT": pa.int64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),
        "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    }.get(duckdb_type)


def _column(values: list[Any], duckdb_type: str | None) -> Any:
    """An Arrow array of the catalog's type, else (undocumented column, or values that do not
    fit it) the type Arrow infers."""
    import pyarrow as pa

    wanted = _arrow_type(duckdb_type) if duckdb_type else None
    if wanted is not None:
        try:
            return pa.array(values, type=wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            pass
    return pa.array(values)


def _read_view(reader: _Reader, view: Table) -> Any:
    """The rows of `carbon.<view>` as an Arrow table."""
    import pyarrow as pa

    names, rows = reader.query(f"select * from {SCHEMA}.{quote_ident(view.name)}")
    documented = {c.name: c.type for c in view.columns}
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({name: _column(list(values), documented.get(name))
                     for name, values in zip(names, columns, strict=True)})


def _write(table: Any, folder: Path, name: str) -> tuple[Path, Path]:
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    pq.write_table(table, parquet)
    pa_csv.write_csv(table, csv)  # UTF-8, header row
    return parquet, csv


def _swap_in(staged: Path, dest: Path) -> None:
    """Rename the finished export `staged` to `dest`, replacing an earlier export there."""
    old = None
    if dest.exists() or dest.is_symlink():
        old = dest.parent / f".{dest.name}.old-{secrets.token_hex(4)}"
        os.rename(dest, old)
    try:
        os.rename(staged, dest)
    except BaseException:
        if old is not None:
            os.rename(old, dest)  # put the previous export back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def export_views(warehouse_url: str, dest: Path) -> dict[str, dict]:
    """Write every analyst view of schema carbon to `dest/<view>.parquet` and `dest/<view>.csv`,
    atomically (see the module docstring), and return per view `{"rows": n, "parquet": path,
    "csv": path}` (paths as strings, inside `dest`). WarehouseError (one line, no password)
    when the warehouse does not exist, has nothing published, lacks a view or a read fails; then
    `dest` is left as it was and no temporary folder remains."""
    dest = Path(dest).absolute()
    if dest.exists() and not dest.is_dir():
        raise WarehouseError(f"export destination {dest} exists and is not a folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Not tempfile.mkdtemp: its mode 0700 would stay on `dest`; mkdir follows the umask.
    staged = dest.parent / f".{dest.name}.tmp-{secrets.token_hex(6)}"
    staged.mkdir()
    counts: dict[str, int] = {}
    try:
        try:
            with _reader(warehouse_url) as reader:
                present = reader.tables()
                missing = [name for name in view_names() if name not in present]
                if len(missing) == len(VIEWS):
                    raise WarehouseError(f"warehouse {reader.where} has no published "
                                         f"assessment (no view in schema {SCHEMA})")
                if missing:
                    raise WarehouseError(
                        f"warehouse {reader.where} has no view {', '.join(missing)} in schema "
                        f"{SCHEMA}: publish a run with this version first"
                    )
                for view in VIEWS:
                    table = _read_view(reader, view)
                    _write(table, staged, view.name)
                    counts[view.name] = table.num_rows
        except _Empty:
            raise WarehouseError(f"warehouse {parse_warehouse_url(warehouse_url).target} does "
                                 "not exist; run `carbon-assess run` first") from None
        _swap_in(staged, dest)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return {name: {"rows": rows, "parquet": str(dest / f"{name}.parquet"),
                   "csv": str(dest / f"{name}.csv")}
            for name, rows in counts.items()}
