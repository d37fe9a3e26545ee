"""Compute: build stg_/int_/fct_ tables in `<workdir>/compute.duckdb` from one SQL file per table.

Each `sql/<table>.sql` is a SELECT; the runner materialises it as `<table>`, in the listed order
(dbt-style, without the ceremony). Run parameters reach SQL through DuckDB variables
(`getvariable('method')`, `getvariable('factor_version')`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon_assess import reference

SQL_DIR = Path(__file__).resolve().parent / "sql"

REFERENCE_TABLES = ("provinces", "plans", "targets", "emission_factors", "scoring_rules",
                    "grade_thresholds", "measures_indicators", "grid_emission_factors")
SHEET_COLUMNS = {
    "plan": "varchar", "year": "integer", "province": "varchar", "indicator": "varchar",
    "points": "double", "target_pct": "double", "annual_target_pct": "double",
    "confirmed_decline_pct": "double", "note": "varchar", "source": "varchar",
    "source_file": "varchar", "source_sheet": "varchar", "source_row": "integer",
}
RAW_GROUPS = {
    "raw_energy": ("energy_consumption", "energy_production"),
    "raw_economy": ("gdp", "gdp_index", "population"),
}
COMPUTE_MODELS = (
    "dim_province",
    "dim_plan",
    "dim_target",
    "dim_emission_factor",
    "stg_energy",
    "stg_economy",
    "int_energy_activity",
    "int_emissions",
    "int_geo_year",
    "int_intensity",
    "fct_energy_activity",
    "fct_emissions",
    "fct_province_year",
    "fct_intensity",
    "fct_intensity_decomposition",
    "fct_national_year",
    "fct_national_intensity",
    "fct_national_reconciliation",
)
ASSESS_MODELS = ("fct_measures_score", "fct_target_assessment")


def compute_db_path(workdir: Path) -> Path:
    return workdir / "compute.duckdb"


def current_factor_version() -> str:
    """The factor version a run uses: the newest listed in emission_factors.csv."""
    return max(row["factor_version"] for row in reference.load("emission_factors"))


def run_models(con: Any, models: tuple[str, ...]) -> dict[str, int]:
    """Materialise each model from its SQL file; return row counts."""
    counts = {}
    for model in models:
        sql = (SQL_DIR / f"{model}.sql").read_text(encoding="utf-8")
        con.execute(f"create or replace table {model} as {sql}")
        counts[model] = con.execute(f"select count(*) from {model}").fetchone()[0]
    return counts


def _load_inputs(con: Any, workdir: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from carbon_assess.ingest.schema import RAW_SCHEMA

    for name in REFERENCE_TABLES:
        rows = reference.load(name)
        table = pa.table({column: [row[column] for row in rows] for column in rows[0]})
        con.register("reference_arrow", table)
        con.execute(f"create or replace table ref_{name} as select * from reference_arrow")
        con.unregister("reference_arrow")
    for view, kinds in RAW_GROUPS.items():
        tables = [
            pq.read_table(workdir / "raw" / f"{kind}.parquet", schema=RAW_SCHEMA)
            for kind in kinds
            if (workdir / "raw" / f"{kind}.parquet").exists()
        ]
        arrow_table = pa.concat_tables(tables) if tables else RAW_SCHEMA.empty_table()
        con.register(f"{view}_arrow", arrow_table)
        con.execute(f"create or replace table {view} as select * from {view}_arrow")
        con.unregister(f"{view}_arrow")


def _load_sheets(con: Any, workdir: Path) -> None:
    """User assessment sheets (assess/inputs.py) as `sheet_<kind>` tables, empty when absent."""
    from carbon_assess.assess.inputs import OPTIONAL, SHEETS

    for kind, spec in SHEETS.items():
        columns = [*spec["required"], *OPTIONAL, "source_file", "source_sheet", "source_row"]
        ddl = ", ".join(f"{c} {SHEET_COLUMNS[c]}" for c in columns)
        con.execute(f"create or replace table sheet_{kind} ({ddl})")
        parquet = workdir / "sheets" / f"{kind}.parquet"
        if parquet.exists():
            con.execute(f"insert into sheet_{kind} by name select * from read_parquet(?)",
                        [str(parquet)])


def _set_run_variables(con: Any) -> None:
    """Expose the stored run parameters to the SQL models as DuckDB variables."""
    method, factor_version, electricity_trade = con.execute(
        "select method, factor_version, electricity_trade from run_parameters").fetchone()
    con.execute("set variable method = ?", [method])
    con.execute("set variable factor_version = ?", [factor_version])
    con.execute("set variable electricity_trade = ?", [electricity_trade])


def connect(workdir: Path) -> Any:
    """A connection to the run's compute database (built by `run_transforms`), with the run
    parameters set as variables."""
    import duckdb

    con = duckdb.connect(str(compute_db_path(workdir)))
    _set_run_variables(con)
    return con


def run_transforms(workdir: Path, method: str, electricity_trade: bool = False) -> dict[str, Any]:
    """Build every compute model from the raw Parquet of this run (a fresh database each time)."""
    import duckdb

    compute_db_path(workdir).unlink(missing_ok=True)
    with duckdb.connect(str(compute_db_path(workdir))) as con:
        con.execute("create table run_parameters "
                    "(method varchar, factor_version varchar, electricity_trade boolean)")
        con.execute("insert into run_parameters values (?, ?, ?)",
                    [method, current_factor_version(), electricity_trade])
        _set_run_variables(con)
        _load_inputs(con, workdir)
        _load_sheets(con, workdir)
        counts = run_models(con, COMPUTE_MODELS)
    return {
        "compute_db": str(compute_db_path(workdir)),
        "method": method,
        "electricity_trade": electricity_trade,
        "factor_version": current_factor_version(),
        "row_counts": counts,
    }
