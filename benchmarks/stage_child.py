"""One pipeline stage in a fresh process, for benchmarks/bench_scale.py (peak RSS per stage).

    .venv/bin/python benchmarks/stage_child.py STAGE RUN_ID --warehouse URL
        [--landing DIR --vintage V --method M]      (ingest only)
        [--profile OUT.txt]                         (cProfile + DuckDB statement timings)
    .venv/bin/python benchmarks/stage_child.py check RUN_ID --data DATA_DIR
    .venv/bin/python benchmarks/stage_child.py publish_floor RUN_ID --warehouse URL

The stage is called exactly as the DAG's tasks call it (dags/carbon_assessment.py): ingest with
`pipeline.ingest_stage` inside `pipeline.recorded("ingest", ...)` on `Run.in_home(run_id)`, every
later stage with `pipeline.run_stage(stage, run_id, warehouse_url)`, which finds the run under
$CARBON_ASSESS_HOME (the parent sets it) and puts a failure on record. Nothing is re-implemented.

Before the clock starts the process imports the library (`carbon_assess.pipeline`) and the heavy
dependencies the stage would import on its own (PREIMPORTS: great_expectations and pandas for
validate, DuckDB and pyarrow): `import_seconds`; a heavy module the stage still imports on the
clock is listed in `imported_during_stage`. `seconds` is the stage call alone, like the
reference implementations' in-process time. Prints one JSON line (last line of stdout); exit 0
on success, 3 when the stage raised (the JSON then carries `error`, one line).

`publish_floor`: what publish is measured against, on the run's compute.duckdb: the published
tables copied by a bare `CREATE TABLE AS` into a fresh DuckDB file (a `duckdb://` URL: the file
is replaced), or loaded by a bare binary COPY (the library's encoder, no ORDER BY) into fresh
logged tables without keys or indexes in schema `carbon_publish_floor` (a PostgreSQL URL; the
schema is dropped again, inside the clock). No history, run log, views or swap.

`check`: the correctness check of the pipeline against the DuckDB floor (reference_impls.SQL_FLOOR
run on DATA_DIR) on the same unit-years, read from the run's compute.duckdb; see `check()`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import types
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# The library under test: this checkout's include/, or the folder bench_scale.py --library names
# (e.g. a commit extracted with `git archive`), placed first on the path.
LIBRARY_ENV = "CARBON_BENCH_LIBRARY"
sys.path.insert(0, str(HERE))
sys.path.insert(0, os.environ.get(LIBRARY_ENV) or str(REPO / "include"))

from proc_status import rss_mib  # noqa: E402

STAGES = ("ingest", "validate", "compute", "assess", "check_outputs", "publish")
# What each stage imports on its own, imported before the clock starts (see the docstring).
PREIMPORTS = {  # what each stage needs; one that imports more shows it in imported_during_stage
    "ingest": ("pyarrow", "pyarrow.parquet"),
    "validate": ("great_expectations", "pandas", "duckdb", "pyarrow", "pyarrow.parquet"),
    "compute": ("duckdb", "pyarrow", "pyarrow.parquet"),
    "assess": ("duckdb", "pyarrow"),
    "check_outputs": ("duckdb", "pyarrow", "pyarrow.parquet"),
    "publish": ("duckdb", "pyarrow"),
    "publish_floor": ("duckdb", "pyarrow", "numpy", "psycopg"),
}
PUBLISH_FLOOR_SCHEMA = "carbon_publish_floor"
REL_TOL = 1e-9
# Heavy modules: any the stage still imports while the clock runs is named in the JSON.
HEAVY = ("pandas", "numpy", "duckdb", "pyarrow", "great_expectations", "openpyxl", "sqlalchemy",
         "psycopg", "psycopg2", "scipy")


def _compact(value: Any, depth: int = 0) -> Any:
    """A stage's result, small enough for the report: scalars and dicts of scalars kept, lists
    reduced to their length."""
    if isinstance(value, dict):
        return {k: _compact(v, depth + 1) for k, v in value.items()} if depth < 2 else "{...}"
    if isinstance(value, list | tuple):
        return f"[{len(value)} item(s)]"
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


# --- profiling aid: time every statement run_models sends to DuckDB --------------------------
class _TimedConnection:
    """Wraps a DuckDB connection; times each `execute` and labels it by the table it builds."""

    _LABEL = re.compile(r"create\s+or\s+replace\s+(table|view)\s+(\w+)|from\s+(\w+)", re.I)

    def __init__(self, con: Any, timings: list[tuple[str, float]]):
        self._con, self._timings = con, timings

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            match = self._LABEL.search(sql)
            label = (f"create {match.group(1).lower()} {match.group(2)}"
                     if match and match.group(2) else
                     f"count {match.group(3)}" if match else " ".join(sql.split())[:60])
            self._timings.append((label, time.perf_counter() - start))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _time_models(timings: list[tuple[str, float]]) -> None:
    """Make the library's `run_models` (compute, assess, validate's blank-value policy) time
    each statement: the function is replaced in `transform.models` and wherever a loaded
    carbon_assess module holds it by name (a module imported later gets the timed one). The
    models still run through the library's own function."""
    import importlib

    # (not `import ... as`: the package's attribute `models` is the function models())
    models = importlib.import_module("carbon_assess.transform.models")
    original = models.run_models

    def run_models(con: Any, names: Any) -> dict[str, int]:
        return original(_TimedConnection(con, timings), names)

    for name, module in list(sys.modules.items()):
        if (name.startswith("carbon_assess") and isinstance(module, types.ModuleType)
                and module.__dict__.get("run_models") is original):
            module.run_models = run_models


def _write_profile(path: Path, stage: str, seconds: float, error: str | None, profiler: Any,
                   timings: list[tuple[str, float]]) -> None:
    import io
    import pstats

    out = io.StringIO()
    out.write(f"# profile of stage {stage}: {seconds:.3f} s under cProfile"
              f"{' (FAILED: ' + error + ')' if error else ''}\n\n")
    if timings:
        total = sum(t for _, t in timings)
        out.write(f"## DuckDB statements sent by run_models ({len(timings)}, {total:.3f} s), "
                  "top 25 by time\n\n")
        for label, t in sorted(timings, key=lambda x: -x[1])[:25]:
            out.write(f"{t:9.3f} s  {100 * t / max(seconds, 1e-9):5.1f} %  {label}\n")
        out.write("\n")
    out.write("## cProfile, top 25 by cumulative time\n\n")
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    out.write("## cProfile, top 25 by own (total) time\n\n")
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    path.write_text(out.getvalue(), encoding="utf-8")


# --- one stage ---------------------------------------------------------------------------------
def run_one(args: argparse.Namespace) -> int:
    import importlib

    start = time.perf_counter()
    from carbon_assess import pipeline
    from carbon_assess.errors import one_line_error
    from carbon_assess.workdir import Run

    for module in PREIMPORTS[args.stage]:
        importlib.import_module(module)
    import_seconds = time.perf_counter() - start
    baseline = rss_mib("VmRSS")

    def call() -> Any:
        if args.stage == "ingest":
            run = Run.in_home(args.run_id)
            with pipeline.recorded("ingest", run, args.warehouse):
                return pipeline.ingest_stage(args.landing, run, args.run_id,
                                             vintage=args.vintage, method=args.method)
        if args.stage == "publish_floor":
            return publish_floor(Run.in_home(args.run_id), args.warehouse)
        return pipeline.run_stage(args.stage, args.run_id, args.warehouse)

    profiler, timings = None, []
    if args.profile:
        import cProfile

        _time_models(timings)
        profiler = cProfile.Profile()
    error, result = None, None
    loaded = {m for m in HEAVY if m in sys.modules}
    start = time.perf_counter()
    try:
        result = profiler.runcall(call) if profiler else call()
    except Exception as exc:  # noqa: BLE001 - reported as the stage's one-line failure
        error = f"{type(exc).__name__}: {one_line_error(exc, args.warehouse)}"
    seconds = time.perf_counter() - start
    if profiler:
        _write_profile(Path(args.profile), args.stage, seconds, error, profiler, timings)
    print(json.dumps({
        "stage": args.stage,
        "ok": error is None,
        "error": error,
        "seconds": seconds,
        "import_seconds": import_seconds,
        "rss_baseline_mib": baseline,
        "rss_peak_mib_self": rss_mib("VmHWM"),
        "imported_during_stage": sorted(m for m in HEAVY
                                        if m in sys.modules and m not in loaded),
        "result": _compact(result) if result is not None else None,
    }, ensure_ascii=False, default=str))
    return 0 if error is None else 3


# --- the publish floors --------------------------------------------------------------------------
def publish_floor(run: Any, url: str) -> dict[str, Any]:
    """The bare copy publish is compared with (see the module docstring); its row counts."""
    import duckdb

    from carbon_assess.publish import PUBLISHED_TABLES, parse_warehouse_url

    target = parse_warehouse_url(url)
    counts = {}
    if target.kind == "duckdb":
        path = Path(target.target)
        path.unlink(missing_ok=True)
        with duckdb.connect(str(path)) as con:
            con.execute("attach ? as compute (read_only)", [str(run.compute_db)])
            for name in PUBLISHED_TABLES:
                con.execute(f'create table "{name}" as select * from compute.main."{name}"')
                counts[name] = con.execute(f'select count(*) from "{name}"').fetchone()[0]
            con.execute("detach compute")
            con.execute("checkpoint")
        return {"row_counts": counts}
    from carbon_assess.publish.postgres_warehouse import connect, copy_binary, pg_type

    with duckdb.connect(str(run.compute_db), read_only=True) as duck, \
            connect(target.target) as conn:
        conn.execute(f"drop schema if exists {PUBLISH_FLOOR_SCHEMA} cascade")
        with conn.transaction():
            conn.execute(f"create schema {PUBLISH_FLOOR_SCHEMA}")
            for name in PUBLISHED_TABLES:
                columns = [(c, t) for c, t in duck.execute(
                    "select column_name, data_type from information_schema.columns where "
                    "table_schema = 'main' and table_name = ? order by ordinal_position",
                    [name]).fetchall()]
                conn.execute(f'create table {PUBLISH_FLOOR_SCHEMA}."{name}" ('
                             + ", ".join(f'"{c}" {pg_type(t)}' for c, t in columns) + ")")
                reader = duck.sql(f'select * from main."{name}"').to_arrow_reader(100_000)
                counts[name] = copy_binary(conn, reader, PUBLISH_FLOOR_SCHEMA, name, columns)
        conn.execute(f"drop schema {PUBLISH_FLOOR_SCHEMA} cascade")
    return {"row_counts": counts}


# --- correctness: the pipeline's unit-year figures against the floor ------------------------
def _pick(columns: dict[str, set[str]], counts: dict[str, int], preferred: str,
          need: set[str], without: set[str] = frozenset()) -> str | None:
    """`preferred` if it has the columns `need`, else the largest table that has them."""
    fits = [t for t, cols in columns.items() if need <= cols and not (without & cols)]
    if preferred in fits:
        return preferred
    return max(fits, key=lambda t: counts.get(t, 0), default=None)


def _compare(con: Any, joined: str, pipe: str, floor: str, strict: str) -> dict[str, Any]:
    """Sums and per-row agreement of two columns of `joined` on rows where both are known,
    split by `strict` (rows the two definitions must agree on exactly)."""
    both = f"{pipe} is not null and {floor} is not null"
    rel = f"abs({pipe} - {floor}) / greatest(abs({floor}), abs({pipe}), 1e-300)"
    sql = f"""
        select
            count(*) filter (where {both}) as matched,
            count(*) filter (where {both} and {strict}) as strict_rows,
            sum({floor}) filter (where {both} and {strict}) as floor_sum,
            sum({pipe}) filter (where {both} and {strict}) as pipeline_sum,
            max({rel}) filter (where {both} and {strict}) as max_rel_diff,
            count(*) filter (where {both} and {strict} and {rel} > {REL_TOL}) as differing,
            count(*) filter (where {both} and not ({strict})) as other_rows,
            sum({floor}) filter (where {both} and not ({strict})) as other_floor_sum,
            sum({pipe}) filter (where {both} and not ({strict})) as other_pipeline_sum,
            count(*) filter (where {both} and not ({strict}) and {rel} > {REL_TOL})
                as other_differing,
            count(*) filter (where {pipe} is null and {floor} is not null) as pipeline_null,
            count(*) filter (where {pipe} is not null and {floor} is null) as floor_null
        from {joined}
    """
    row = con.execute(sql).fetchone()
    names = [d[0] for d in con.description]
    out = dict(zip(names, row, strict=True))
    a, b = out["floor_sum"], out["pipeline_sum"]
    out["sums_agree"] = (a is not None and b is not None
                         and abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1e-300))
    out["agree"] = bool(out["strict_rows"]) and out["sums_agree"] and out["differing"] == 0
    return out


def check(args: argparse.Namespace) -> int:
    import duckdb
    from reference_impls import floor_sql

    from carbon_assess.workdir import Run

    run = Run.in_home(args.run_id)
    out: dict[str, Any] = {"compute_db": str(run.compute_db)}
    con = duckdb.connect()
    con.execute(f"attach '{run.compute_db}' as p (read_only)")
    columns: dict[str, set[str]] = {}
    for table, column in con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = 'p' and schema_name = 'main'").fetchall():
        columns.setdefault(table, set()).add(column)
    counts = {t: con.execute(f"select count(*) from p.main.{t}").fetchone()[0] for t in columns}
    # the unit's code column: region_code (county-level pipeline), province_code before it
    key = "region_code" if any("region_code" in c for c in columns.values()) else "province_code"
    geo = _pick(columns, counts, "int_geo_year", {key, "year", "co2_mt"}, {"plan_id"})
    intensity = _pick(columns, counts, "int_intensity",
                      {"plan_id", key, "year", "intensity_t_per_10k_yuan"})
    out.update(geo_table=geo, intensity_table=intensity, key_column=key)
    if geo is None:
        out["error"] = (f"no table with {key}, year, co2_mt in compute.duckdb: "
                        f"tables {sorted(columns)}")
        print(json.dumps(out, default=str))
        return 0
    con.execute(f"create temp table floor as {floor_sql(Path(args.data))}")
    imputed = ("coalesce(g.imputed_share, 0) = 0" if "imputed_share" in columns[geo]
               else "true")
    con.execute(f"""
        create temp table joined as
        select f.code, f.year, f.co2_t, f.intensity as floor_intensity,
               g.{key} as region_code, g.co2_mt * 1e6 as pipeline_co2_t,
               {imputed} as not_imputed,
               {"g.data_gaps" if "data_gaps" in columns[geo] else "null"} as data_gaps
        from floor as f
        full join p.main.{geo} as g on g.{key} = f.code and g.year = f.year
    """)
    out["units"] = dict(zip(("floor_unit_years", "pipeline_unit_years", "floor_only",
                             "pipeline_only"), con.execute("""
        select count(code), count(region_code), count(*) filter (where region_code is null),
               count(*) filter (where code is null) from joined""").fetchone(), strict=True))
    out["floor_only_examples"] = [r[0] for r in con.execute(
        "select distinct code from joined where region_code is null order by 1 limit 5"
    ).fetchall()]
    out["co2"] = _compare(con, "joined", "pipeline_co2_t", "co2_t", "not_imputed")
    out["co2"]["pipeline_null_reasons"] = con.execute("""
        select coalesce(data_gaps, '(none)'), count(*) from joined
        where pipeline_co2_t is null and co2_t is not null and region_code is not null
        group by 1 order by 2 desc limit 5""").fetchall()
    if intensity and "dim_plan" in columns:
        plans = [r[0] for r in con.execute(
            "select plan_id from p.main.dim_plan where base_year = 2010").fetchall()]
        out["intensity_plans"] = plans
        if plans:
            in_list = ", ".join(f"'{p}'" for p in plans)
            con.execute(f"""
                create temp table joined_i as
                select j.*, i.intensity_t_per_10k_yuan as pipeline_intensity
                from joined as j
                join p.main.{intensity} as i
                    on i.{key} = j.code and i.year = j.year and i.plan_id in ({in_list})
            """)
            out["intensity"] = _compare(con, "joined_i", "pipeline_intensity",
                                        "floor_intensity", "not_imputed")
    print(json.dumps(out, ensure_ascii=False, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=(*STAGES, "publish_floor", "check"))
    parser.add_argument("run_id")
    parser.add_argument("--warehouse", help="warehouse URL (stages)")
    parser.add_argument("--landing", type=Path, help="landing folder (ingest)")
    parser.add_argument("--vintage", default="benchmark")
    parser.add_argument("--method", default="consumption", help="emissions method (ingest)")
    parser.add_argument("--profile", help="write a cProfile report of the stage to this file")
    parser.add_argument("--data", type=Path, help="generated data folder (check)")
    args = parser.parse_args(argv)
    if args.stage == "check":
        return check(args)
    if not args.warehouse or (args.stage == "ingest" and not args.landing):
        parser.error("stages need --warehouse; ingest also --landing")
    return run_one(args)


if __name__ == "__main__":
    raise SystemExit(main())
