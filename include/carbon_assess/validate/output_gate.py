"""The output gate: Great Expectations suites on the computed facts, after assess, before publish
(as dbt tests run after the models and before exposure).

`check_outputs(workdir)` reads `fct_intensity` and `fct_target_assessment` from
`<workdir>/compute.duckdb` with the derived check columns of `validate/sql/gate_<table>.sql`, runs
the suites `output_<table>` (`output_suites.py`) with the same machinery as input validation,
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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError
from carbon_assess.quarantine import text, write_results
from carbon_assess.transform import ASSESSMENT_MODEL, connect
from carbon_assess.validate import (
    ValidationSummary,
    _conclude,
    _gx_context,
    _result_row,
    _run_suite,
)
from carbon_assess.validate.common import fmt
from carbon_assess.validate.output_suites import (
    OUTPUT_TABLES,
    build_output_suite,
    gate_sql,
    output_rules,
    output_suite_name,
)
from carbon_assess.validate.suites import Rule
from carbon_assess.workdir import Run

__all__ = ["OutputGateSummary", "check_outputs"]

STAGE = "output gate"


class OutputGateSummary(ValidationSummary):
    tables: list[str]  # the tables checked
    expectations: int  # expectations evaluated (all tables)


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


def _locate(table: str) -> Callable[[dict[str, Any], Rule], dict[str, Any]]:
    """The offender of a failed rule: `<table>[<key>=<value>, ...]` in place of file and row,
    the rule's cell column(s) and value(s), and its note column explaining the finding."""
    key = OUTPUT_TABLES[table]

    def locate(record: dict[str, Any], rule: Rule) -> dict[str, Any]:
        where = ", ".join(f"{c}={_value(record, c)}" for c in key)
        cells = [c for c in (rule.column or "").split(",") if c]
        return {
            "file": f"{table}[{where}]",
            "sheet": None,
            "row": None,
            "column": ", ".join(cells),
            "value": " / ".join(_value(record, c) for c in cells),
            "detail": (text(record.get(rule.note)) or None) if rule.note else None,
        }

    return locate


def _batches(run: Run) -> dict[str, Any]:
    """The gate's DataFrames, one per checked table, read from the run's compute database."""
    if not run.compute_db.exists():
        raise CarbonAssessError(
            f"{run.compute_db} not found: run the compute and assess stages first")
    with connect(run) as con:
        present = {name for (name,) in con.execute("select table_name from duckdb_tables()")
                   .fetchall()}
        if ASSESSMENT_MODEL not in present:
            raise CarbonAssessError(
                f"{run.compute_db} has no {ASSESSMENT_MODEL}: run the assess stage first")
        return {table: con.sql(gate_sql(table)).df() for table in OUTPUT_TABLES}


def _earlier_results(run: Run) -> list[dict[str, Any]]:
    """The run's recorded result rows other than the gate's (input validation, ingest)."""
    if not run.validation_results.exists():
        return []
    import pyarrow.parquet as pq

    return [r for r in pq.read_table(run.validation_results).to_pylist()
            if r["source"] not in OUTPUT_TABLES]


def check_outputs(workdir: Run | str | Path, quarantine_root: Path | None = None
                  ) -> OutputGateSummary:
    """Run the output gate on the run's computed facts (see the module docstring).

    Returns the validation summary of the gate plus `tables` and `expectations`. Raises
    ValidationFailed (batch quarantined, `.report_path` = its report.md) when an expectation
    fails, CarbonAssessError when the facts have not been computed.
    """
    from great_expectations.core.run_identifier import RunIdentifier

    started = datetime.now(UTC)
    run = Run.of(workdir)
    run_id = run.run_id
    batches = _batches(run)
    run.validation_dir.mkdir(parents=True, exist_ok=True)
    context, source = _gx_context(run.data_docs_dir)
    gx_run = RunIdentifier(run_name=run_id, run_time=started)
    rows: list[dict[str, Any]] = []
    for table, df in batches.items():
        rules = output_rules(table)
        by_key = _run_suite(context, source, output_suite_name(table),
                            build_output_suite(table, rules), df, {}, gx_run)
        locate = _locate(table)
        rows += [_result_row(run_id, table, rule, by_key.get(rule.key), df, locate)
                 for rule in rules]
    # No Data Docs of its own: rebuilding the run's site from this context would drop the input
    # suites' pages (GX cleans pages it has no result for). The input site stays as it is.
    results_path = write_results(_earlier_results(run) + rows, run.validation_dir)
    summary = _conclude(run, rows, rows, started, results_path, None, quarantine_root,
                        stage=STAGE, report_dir=None)
    return {**summary, "tables": list(batches), "expectations": len(rows)}
