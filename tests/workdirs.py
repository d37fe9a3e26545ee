"""Work directories for tests: a computed demo run, a clone under another run id, a thinned-out
release. Shared by the publish tests of both engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from carbon_assess.demo import write_demo_landing
from carbon_assess.pipeline import assess_stage, compute_stage, ingest_stage, validate_stage
from carbon_assess.publish import PUBLISHED_TABLES
from carbon_assess.workdir import Run


def compute_demo_run(root: Path, run_id: str) -> Path:
    """A work directory holding a computed (not published) run of the demo landing files."""
    landing = root / "landing"
    if not landing.exists():
        write_demo_landing(landing)
    workdir = root / run_id
    ingest_stage(landing, workdir, run_id, vintage="test")
    validate_stage(workdir)
    compute_stage(workdir)
    assess_stage(workdir)
    return workdir


def clone_run(source: Path, target: Path, run_id: str, edit_sql: tuple[str, ...] = ()) -> Path:
    """A copy of a work directory under another run id; `edit_sql` runs on its compute.duckdb."""
    shutil.copytree(source, target)
    info = json.loads((target / "run.json").read_text(encoding="utf-8"))
    info["run_id"] = run_id
    (target / "run.json").write_text(json.dumps(info), encoding="utf-8")
    results = target / "validation" / "results.parquet"
    if results.exists():
        with duckdb.connect() as con:
            con.execute(
                f"copy (select * replace ('{run_id}' as run_id) from read_parquet(?)) "
                f"to '{results}.new' (format parquet)",
                [str(results)],
            )
        Path(f"{results}.new").replace(results)
    if edit_sql:
        with duckdb.connect(str(Run(target).compute_db)) as con:
            # published models that are views (materialized: view) become tables, so that the
            # edits can change what this run publishes
            views = [r[0] for r in con.execute(
                "select view_name from duckdb_views() where not internal").fetchall()]
            for view in views:
                con.execute(f"create table {view}__copy as select * from {view}")
            for view in reversed(views):  # views may read views
                con.execute(f"drop view {view}")
            for view in views:
                con.execute(f"alter table {view}__copy rename to {view}")
            for statement in edit_sql:
                con.execute(statement)
    return target


def thin_out(table_names: tuple[str, ...] = PUBLISHED_TABLES) -> tuple[str, ...]:
    """SQL removing every third row of each table: a different release with different counts."""
    return tuple(f"delete from {t} where rowid % 3 = 0" for t in table_names)


def release_state(warehouse: Path) -> dict:
    """What analysts see in a DuckDB warehouse: the digest of every published table and the run
    whose release is current (unchanged by a run that is rejected, fails or is skipped)."""
    from carbon_assess.publish import current_release, table_checksums

    url = f"duckdb://{warehouse}"
    current = current_release(url)
    return {"tables": table_checksums(url), "current": current and current["run_id"]}


def run_log(warehouse: Path) -> list[tuple]:
    """(status, failed_stage, reason) of every run in the run log, oldest first."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select status, failed_stage, reason from carbon.meta_pipeline_run "
                           "order by finished_at").fetchall()
    finally:
        con.close()


def nothing_published(warehouse: Path) -> bool:
    """No release in a DuckDB warehouse: no file, or none of the published tables (a refused
    run may have left its run-log row, never a table)."""
    if not warehouse.exists():
        return True
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'carbon'"
        ).fetchall()}
    finally:
        con.close()
    return not present & set(PUBLISHED_TABLES)


def query_warehouse(url: str, sql: str) -> list[tuple]:
    """Rows of `sql` in the warehouse at `url` (duckdb://path or postgresql://...), read-only."""
    if url.startswith("duckdb"):
        with duckdb.connect(url.removeprefix("duckdb://"), read_only=True) as con:
            return con.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def execute_warehouse(url: str, *statements: str) -> None:
    """Run `statements` in the warehouse at `url` (duckdb://path or postgresql://...), committed
    together: a test's set-up of a warehouse state the library would never write itself."""
    if url.startswith("duckdb"):
        with duckdb.connect(url.removeprefix("duckdb://")) as con:
            for statement in statements:
                con.execute(statement)
        return
    import psycopg

    with psycopg.connect(url) as conn:
        for statement in statements:
            conn.execute(statement)
