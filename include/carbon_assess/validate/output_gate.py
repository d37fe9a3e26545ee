"""The output gate: Great Expectations suites on the computed facts, after assess, before publish
(as dbt tests run after the models and before exposure).

`check_outputs(workdir)` reads `fct_intensity` and `fct_target_assessment` from
`<workdir>/compute.duckdb` with the derived check columns of `validate/sql/gate_<table>.sql`, runs
the suites `output_<table>` (`output_suites.py`) with the same engine as input validation,
and records one result row per expectation with the input results, in
`<workdir>/validation/results.{json,parquet}` (`source` = the table; rows of an earlier gate run
are replaced), so that they reach `meta_validation_result` when the run publishes. (The gate
renders no Data Docs: rebuilding the run's site would drop the input suites' pages.)

A failed expectation (all are errors) is reported like a failing input: the batch is copied to
`<CARBON_ASSESS_HOME>/quarantine/<run_id>/` with `report.md` / `report.json`, where a row is
located by table and key (`fct_target_assessment[plan_id=12th, region_code=630000,
assessment_year=2015]`) instead of file and row, and `ValidationFailed` (exit code 2) is raised
with a one-line message naming table, key, column, value and rule. Nothing is published then:
the pipeline stops before publish, and the warehouse stays exactly as it was.

The rules run in DuckDB at every size: compiled by `sql_engine` over `gate_<table>` (the gate
relation materialised in an in-memory scratch database, with `__idx` its row number in the
order of the table's key), without pandas or GX holding the facts; the suites stay GX suites
(`output_suites.py`, their JSON in `suites/`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError
from carbon_assess.ingest.schema import SOURCE_KINDS
from carbon_assess.quarantine import text, write_results
from carbon_assess.reference import province_label
from carbon_assess.transform import ASSESSMENT_MODEL, connect
from carbon_assess.validate import (
    ValidationSummary,
    _conclude,
)
from carbon_assess.validate.common import fmt
from carbon_assess.validate.output_suites import (
    OUTPUT_TABLES,
    gate_sql,
    output_rules,
)
from carbon_assess.validate.sql_engine import (
    POST,
    _Batch,
    _Compiler,
    _evaluate,
    _quote,
    _records,
    validate_raw_in_duckdb,
)
from carbon_assess.validate.sql_engine import _result_row as _sql_result_row
from carbon_assess.validate.suites import Rule, declared_units, suite_parameters
from carbon_assess.workdir import Run

__all__ = ["OutputGateSummary", "check_outputs"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

STAGE = "output gate"
SCRATCH = "gate_scratch"  # the scratch database of the DuckDB path, attached under this name


class OutputGateSummary(ValidationSummary):
    tables: list[str]  # the tables checked
    expectations: int  # gate expectations evaluated (all tables)
    post_compute: int  # post-compute rules evaluated (suites.POST_COMPUTE_RULES, per kind)


def _value(record: dict[str, Any], column: str) -> str:
    """A published value as the report prints it: 6 significant digits, true/false, blank for
    NULL, NaN and infinity spelt out. pandas reads NULL and NaN alike as NaN: the batch's
    `<column>_finite` flag (SQL) tells a NaN from a blank."""
    value = record.get(column)
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, float):  # numpy float64 too
        if math.isnan(value):
            finite = record.get(f"{column}_finite")
            return "NaN" if finite is not None and not finite else ""
        return fmt(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    return text(value)


def _input_cells(con: Any) -> Callable[[str, str, Any], str]:
    """`inputs(plan_id, region_code, year)`: the raw cells behind a fact of that unit, plan and
    year (every statistics row of the unit in the year and in the plan's base year), as
    'file rows a-b (unit year)' per file and year, so that a gate failure points at an input
    a user can check, not only at the computed fact."""
    cache: dict[tuple[str, str, Any], str] = {}

    def inputs(plan_id: str, region_code: str, year: Any) -> str:
        key = (plan_id, region_code, year)
        if key not in cache:
            rows = con.execute(
                """
                with years as (
                    select ?::bigint as year
                    union select base_year from dim_plan where plan_id = ?
                ),
                cells as (
                    select source_file, source_row, year, region_code from raw_energy
                    union all
                    select source_file, source_row, year, region_code from raw_economy
                )
                select source_file, year, min(source_row), max(source_row)
                from cells
                where region_code = ? and year in (select year from years)
                    and source_file is not null
                group by source_file, year
                order by year, source_file
                """, [year, plan_id, region_code]).fetchall()
            label = province_label(region_code)
            cache[key] = "; ".join(
                f"{file} {'row ' + str(first) if first == last else f'rows {first}-{last}'} "
                f"({label} {cell_year})" for file, cell_year, first, last in rows)
        return cache[key]

    return inputs


def _locate(table: str, inputs: Callable[[str, str, Any], str] | None = None
            ) -> Callable[[dict[str, Any], Rule], dict[str, Any]]:
    """The offender of a failed rule: `<table>[<key>=<value>, ...]` in place of file and row,
    the rule's cell column(s) and value(s), its note column explaining the finding, and the
    input cells behind the fact (`_input_cells`)."""
    key = OUTPUT_TABLES[table]

    def locate(record: dict[str, Any], rule: Rule) -> dict[str, Any]:
        where = ", ".join(f"{c}={_value(record, c)}" for c in key)
        cells = [c for c in (rule.column or "").split(",") if c]
        detail = (text(record.get(rule.note)) or None) if rule.note else None
        year = record.get("year", record.get("assessment_year"))
        behind = (inputs(text(record.get("plan_id")), text(record.get("region_code")), year)
                  if inputs and record.get("region_code") and year is not None else "")
        if behind:
            detail = "; ".join(part for part in (detail, f"input cells: {behind}") if part)
        return {
            "file": f"{table}[{where}]",
            "sheet": None,
            "row": None,
            "column": ", ".join(cells),
            "value": " / ".join(_value(record, c) for c in cells),
            "detail": detail,
        }

    return locate


def _numbered_sql(con: Any, table: str) -> str:
    """The gate relation of `table` with `__idx`: its 0-based row number in a deterministic
    order (the key, then a hash of the whole row for rows sharing
    a key: only identical rows remain interchangeable)."""
    sql = gate_sql(table).strip().rstrip(";")
    key = OUTPUT_TABLES[table]
    rest = ", ".join(_quote(c) for c in con.sql(sql).columns if c not in key)
    order = ", ".join([*(_quote(c) for c in key), f"hash({rest})"])
    return (f"select *, (row_number() over (order by {order}) - 1)::bigint as __idx "
            f"from ({sql}) as gate")


def _check_computed(run: Run, con: Any) -> None:
    present = {name for (name,) in con.execute("select table_name from duckdb_tables()")
               .fetchall()}
    if ASSESSMENT_MODEL not in present:
        raise CarbonAssessError(
            f"{run.compute_db} has no {ASSESSMENT_MODEL}: run the assess stage first")


def _sql_rows(run: Run, run_id: str, con: Any) -> list[dict[str, Any]]:
    """The result rows of the gate suites: their rules compiled to SQL (`sql_engine`) over
    `gate_<table>`, materialised in an in-memory scratch database (a file cost 0.5 s of writes
    at 2.2M rows; beyond the memory limit DuckDB spills to the run's spill folder). Raises
    UnsupportedRule for a rule the engine cannot evaluate."""
    con.execute(f"attach ':memory:' as {SCRATCH}")
    try:
        rows: list[dict[str, Any]] = []
        for table in OUTPUT_TABLES:
            relation = f"{SCRATCH}.gate_{table}"
            con.execute(f"create table {relation} as {_numbered_sql(con, table)}")
            empty = con.sql(f"select * exclude (__idx) from {relation} limit 0")
            batch = _Batch(
                table, None,
                rows=con.execute(f"select count(*) from {relation}").fetchall()[0][0],
                types={c: str(t) for c, t in zip(empty.columns, empty.types, strict=True)},
                name=relation, derived=(), scratch=f"{SCRATCH}.", lineage=None,
                locate=_locate(table, _input_cells(con)))
            compiler = _Compiler(con, batch, {})
            checks = [compiler.compile(rule) for rule in output_rules(table)]
            _evaluate(con, checks)
            records = _records(con, batch, checks)
            rows += [_sql_result_row(run_id, table, check, records, batch.locate)
                     for check in checks]
        return rows
    finally:
        con.execute(f"detach {SCRATCH}")


def post_compute_source(kind: str) -> str:
    """The `source` of a post-compute result row: the kind, after compute."""
    return f"{kind} (after compute)"


def post_compute_rows(run: Run, started: datetime) -> list[dict[str, Any]]:
    """The post-compute check (issue 19: layers run forward; input validation runs no model):
    the raw rules of suites.POST_COMPUTE_RULES (blank consumption cells as the models treated
    them, with each fuel's share of emissions; carbon intensity within its plausible bounds),
    evaluated by the one SQL engine with the computed models' flags and CO2."""
    parameters = suite_parameters(started.year, declared_units(run))
    found = validate_raw_in_duckdb(run, run.run_id, parameters, stage=POST)
    return [{**row, "source": post_compute_source(kind)}
            for kind, rows in found.items() for row in rows]


def _earlier_results(run: Run) -> list[dict[str, Any]]:
    """The run's recorded result rows other than this stage's (input validation, ingest)."""
    if not run.validation_results.exists():
        return []
    import pyarrow.parquet as pq

    mine = set(OUTPUT_TABLES) | {post_compute_source(k) for k in SOURCE_KINDS}
    return [r for r in pq.ParquetFile(run.validation_results).read().to_pylist()
            if r["source"] not in mine]


def check_outputs(workdir: Run | str | Path, quarantine_root: Path | None = None
                  ) -> OutputGateSummary:
    """Run the output gate on the run's computed facts (see the module docstring).

    Returns the validation summary of the gate plus `tables` and `expectations`. Raises
    ValidationFailed (batch quarantined, `.report_path` = its report.md) when an expectation
    fails, CarbonAssessError when the facts have not been computed.
    """
    started = datetime.now(UTC)
    run = Run.of(workdir)
    run_id = run.run_id
    if not run.compute_db.exists():
        raise CarbonAssessError(
            f"{run.compute_db} not found: run the compute and assess stages first")
    run.validation_dir.mkdir(parents=True, exist_ok=True)
    with connect(run) as con:
        _check_computed(run, con)
        rows = _sql_rows(run, run_id, con)
    # beside the gate, the post-compute check: the raw rules that read what the models made of
    # the batch (blank-value statuses, CO2; suites.POST_COMPUTE_RULES), recorded per kind
    post = post_compute_rows(run, started)
    # No Data Docs of its own: rebuilding the run's site from this context would drop the input
    # suites' pages (GX cleans pages it has no result for). The input site stays as it is.
    results_path = write_results(_earlier_results(run) + post + rows, run.validation_dir)
    summary = _conclude(run, post + rows, post + rows, started, results_path, None,
                        quarantine_root, stage=STAGE, report_dir=None)
    return {**summary, "tables": list(OUTPUT_TABLES), "expectations": len(rows),
            "post_compute": len(post)}
