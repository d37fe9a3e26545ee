"""Publish: swap a run's computed tables into the warehouse atomically and log the run.

Warehouse URLs: `duckdb:///path/to/file.duckdb` (embedded, default) or
`postgresql://user@host:port/dbname` (production). The schema is `carbon`; the release before the
current one is kept in `carbon_previous` so that `rollback` can restore it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError

SCHEMA = "carbon"
PREVIOUS_SCHEMA = "carbon_previous"

PUBLISHED_TABLES = (
    "dim_province",
    "dim_plan",
    "dim_target",
    "dim_emission_factor",
    "fct_energy_activity",
    "fct_emissions",
    "fct_province_year",
    "fct_intensity",
    "fct_target_assessment",
)


@dataclass(frozen=True)
class WarehouseUrl:
    kind: str  # "duckdb" | "postgresql"
    target: str  # file path for duckdb, the libpq URL for postgresql


def parse_warehouse_url(url: str) -> WarehouseUrl:
    """`duckdb:///abs/path.duckdb` (as a file URL: the path after `duckdb://` is absolute),
    `duckdb:relative/path.duckdb`, or a PostgreSQL libpq URL."""
    if url.startswith("duckdb://"):
        path = "/" + url.removeprefix("duckdb://").lstrip("/")
        if path != "/":
            return WarehouseUrl("duckdb", path)
    elif url.startswith("duckdb:") and len(url) > len("duckdb:"):
        return WarehouseUrl("duckdb", url.removeprefix("duckdb:"))
    elif url.startswith(("postgresql://", "postgres://")):
        return WarehouseUrl("postgresql", url)
    raise WarehouseError(
        f"unsupported warehouse URL {url!r}: use duckdb:///path/to/file.duckdb "
        "or postgresql://user@host:port/dbname"
    )


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    import subprocess

    from carbon_assess import __version__

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def run_record(workdir: Path, status: str) -> dict[str, Any]:
    """The `meta_pipeline_run` row for this run, from the files in its work directory."""
    info = json.loads((workdir / "run.json").read_text(encoding="utf-8"))
    ingest = json.loads((workdir / "ingest_report.json").read_text(encoding="utf-8"))
    inputs = [
        {"file": i["file"], "sheet": i["sheet"], "sha256": i["sha256"],
         "observations": i["observations"]}
        for i in ingest["inputs"]
    ]
    return {
        "run_id": info["run_id"],
        "started_at": datetime.fromisoformat(info["started_at"]),
        "finished_at": datetime.now(UTC),
        "status": status,
        "code_version": code_version(),
        "vintage": info["vintage"],
        "method": info["method"],
        "factor_version": None,
        "landing": info["landing"],
        "input_files": json.dumps(inputs, ensure_ascii=False, sort_keys=True),
        "row_counts": None,
        "warnings": len(ingest["warnings"]),
    }


def publish(workdir: Path, warehouse_url: str) -> dict[str, Any]:
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import publish_duckdb

        return publish_duckdb(workdir, Path(target.target))
    raise WarehouseError("PostgreSQL publishing is not available yet (planned: issue 6)")


def init_warehouse(warehouse_url: str) -> dict[str, Any]:
    """Create schemas, run-log tables (and, on PostgreSQL, roles and grants); idempotent."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import init_duckdb

        init_duckdb(Path(target.target))
        return {"warehouse": target.target, "schemas": [SCHEMA, PREVIOUS_SCHEMA]}
    raise WarehouseError("PostgreSQL warehouses are not available yet (planned: issue 6)")


def rollback(warehouse_url: str) -> dict[str, Any]:
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import rollback_duckdb

        return rollback_duckdb(Path(target.target))
    raise WarehouseError("PostgreSQL warehouses are not available yet (planned: issue 6)")


ASSESSMENT_QUERY = f"""
    select
        a.plan_id as plan,
        a.province_code as code,
        p.name_en as province,
        a.assessment_year as year,
        a.target_pct,
        round(a.cumulative_decline_pct, 2) as decline_pct,
        round(a.expected_decline_pct, 2) as expected_pct,
        a.status,
        a.target_score,
        a.grade
    from {SCHEMA}.fct_target_assessment as a
    join {SCHEMA}.dim_province as p using (province_code)
    where (? is null or a.plan_id = ?)
      and (? is null or a.province_code = ?)
      and (? is null or a.assessment_year = ?)
    order by a.plan_id, a.province_code, a.assessment_year
"""


def query_assessment(
    warehouse_url: str,
    plan: str | None = None,
    province: str | None = None,
    year: int | None = None,
) -> tuple[list[str], list[tuple]]:
    """Column names and rows of the published assessment, filtered."""
    target = parse_warehouse_url(warehouse_url)
    params = [plan, plan, province, province, year, year]
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import connect_warehouse

        with connect_warehouse(Path(target.target), read_only=True) as con:
            tables = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = 'fct_target_assessment'",
                [SCHEMA],
            ).fetchone()[0]
            if not tables:
                raise WarehouseError(f"warehouse {target.target} has no published assessment")
            cursor = con.execute(ASSESSMENT_QUERY, params)
            return [d[0] for d in cursor.description], cursor.fetchall()
    raise WarehouseError("PostgreSQL warehouses are not available yet (planned: issue 6)")
