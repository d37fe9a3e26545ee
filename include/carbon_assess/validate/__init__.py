"""Validation stage: Great Expectations 1.x suites on the raw and sheet Parquet of a work directory.

`validate_workdir(workdir)` runs one suite per source kind present in `<workdir>/raw/`
(`raw_<kind>`) and one per assessment sheet kind present in `<workdir>/sheets/`
(`sheet_measures`, `sheet_targets`, `sheet_annual_targets`, `sheet_confirmed_declines`; see
`suites.py`; derived check columns come from `checks.py`, `blanks.py` and `sheet_checks.py`)
and, whatever the outcome, writes

    <workdir>/validation/results.{json,parquet}   one row per expectation (+ ingest warnings)
    <workdir>/validation/data_docs/index.html     GX Data Docs (static, local, no network)
    <workdir>/validation/report.{md,json}         when anything failed (errors or warnings)

If an error-severity expectation fails, the batch (raw and sheet Parquet, run.json, ingest report,
validation results and Data Docs: copies) goes to `<CARBON_ASSESS_HOME>/quarantine/<run_id>/`
with `report.md` / `report.json`, and `ValidationFailed` is raised with a one-line message naming
the first offending file/row/column/value and the report. The landing files and the warehouse are
never touched here.

The raw suites run in DuckDB at every size (`sql_engine.validate_raw_in_duckdb`: their rules
compiled to SQL over the raw Parquet; no pandas holds the batch); their results are recorded as GX
validation results, so the Data Docs show them beside the sheet suites, which GX runs on pandas
(a few hundred rows at most).

The output gate (`output_gate.check_outputs`, after the assess stage) runs its suites on the
computed facts with the same engine and the same conclusion (`_conclude`).

GX and pandas are imported inside the function so that importing this package stays cheap.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from carbon_assess.errors import ValidationFailed
from carbon_assess.ingest.schema import SOURCE_KINDS
from carbon_assess.quarantine import (
    MAX_EXAMPLES,
    MAX_REPORT_ROWS,
    ingest_rows,
    quarantine_batch,
    render_offender,
    warnings_count,
    write_report,
    write_results,
)
from carbon_assess.validate.common import passing_row
from carbon_assess.validate.offenders import count_rejected_cells_once, offender, sheet_offender
from carbon_assess.validate.sheet_checks import prepare_sheet_batch
from carbon_assess.validate.sql_engine import validate_raw_in_duckdb
from carbon_assess.validate.suites import (
    ERROR,
    KNOWN_REGIONS_PARAMETER,
    POST_COMPUTE_RULES,
    SHEET_KINDS,
    build_suite,
    declared_units,
    for_batch,
    rules_for,
    suite_name,
    suite_parameters,
)
from carbon_assess.workdir import Run

__all__ = ["ValidationSummary", "validate_workdir", "warnings_count"]


class ValidationSummary(TypedDict):
    """The outcome of a validation run (the CLI prints it; the DAG passes it on)."""

    status: Literal["passed", "passed_with_warnings", "failed"]
    errors: int  # failed error-severity expectations
    warnings: int  # failed warning-severity expectations and ingest warnings
    results_path: str  # <workdir>/validation/results.parquet
    report_path: str | None  # report.md when anything failed
    data_docs_path: str | None  # GX Data Docs index.html
    warnings_summary: list[str]  # one line per failed warning expectation
    seconds: float

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # no stderr noise in the CLI; Airflow handlers see it

RESULT_FORMAT = {
    "result_format": "COMPLETE",  # unexpected_index_list: all offending DataFrame index labels
    "partial_unexpected_count": 5,
    "return_unexpected_index_query": False,
}
DATA_DOCS_SITE = "local"


def _gx_context(docs_dir: Path):
    """An ephemeral GX context (no analytics, no progress bars) with a pandas source and a
    file-system Data Docs site in `docs_dir`."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        data_docs_sites={DATA_DOCS_SITE: site},
        analytics_enabled=False,
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name="raw")
    return context, source


# GX renders a suite "Failed" as soon as any expectation fails, whatever its `severity` (GX 1.24's
# Data Docs ignore it). A suite whose only failures are warnings passed: its pages say so.
_GX_FAILED_STATUS = '<i class="fas fa-times text-danger" aria-hidden="true"></i> Failed'
_WARNED_STATUS = ('<i class="fas fa-exclamation-triangle text-warning" aria-hidden="true"></i> '
                  "Passed with warnings")
_GX_FAILED_ICON = "fas fa-times text-danger ge-failed-icon"
_WARNED_ICON = "fas fa-exclamation-triangle text-warning ge-warning-icon"
_GX_FAILED_TEXT = "'_validation_success_text': 'Failed'"
_WARNED_TEXT = "'_validation_success_text': 'Passed with warnings'"
_GX_ROW = "{'validation_success':"
# the filter of the expectation list: it shows every unmet expectation, warnings included
_GX_FILTER = "> Failed Only"
_FILTER = "> Unmet Only"


def _mark_warnings_in_data_docs(docs_dir: Path, outcome: dict[str, str]) -> None:
    """Rewrite the GX Data Docs of `docs_dir` so that severity shows: a suite whose failed
    expectations are all warnings (`outcome[suite] == "passed_with_warnings"`) reads "Passed
    with warnings" on its validation page and in the index, not "Failed"; suites with a failed
    error keep GX's "Failed"."""
    warned = {name for name, status in outcome.items() if status == "passed_with_warnings"}
    index = docs_dir / "index.html"
    if index.is_file():
        html = index.read_text(encoding="utf-8")
        parts = html.split(_GX_ROW)
        for i, part in enumerate(parts[1:], start=1):
            if any(f"'_expectation_suite_name_sort': '{name}'" in part for name in warned):
                head, sep, tail = part.partition(_GX_FAILED_TEXT)
                parts[i] = (head.replace(_GX_FAILED_ICON, _WARNED_ICON, 1) + _WARNED_TEXT + tail
                            if sep else part)
        index.write_text(_GX_ROW.join(parts), encoding="utf-8")
    validations = docs_dir / "validations"
    for page in validations.glob("*/**/*.html") if validations.is_dir() else ():
        suite = page.relative_to(validations).parts[0]
        html = page.read_text(encoding="utf-8").replace(_GX_FILTER, _FILTER)
        if suite in warned:
            html = html.replace(_GX_FAILED_STATUS, _WARNED_STATUS)
        page.write_text(html, encoding="utf-8")


def _exception_message(res) -> str | None:
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return info.get("exception_message")
    for value in info.values():  # {metric_id: {...}} when a metric failed to resolve
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None


def _raw_offender(record: dict[str, Any], rule) -> dict[str, Any]:
    return offender(record, rule.column)


def _sheet_offender(record: dict[str, Any], rule) -> dict[str, Any]:
    return sheet_offender(record, rule.column, rule.note)


def _result_row(run_id: str, kind: str, rule, res, df,
                locate: Callable[[dict[str, Any], Any], dict[str, Any]] = _raw_offender,
                ) -> dict[str, Any]:
    """One result row (see `quarantine`) from the GX result of `rule` on `df`; `locate` gives
    the file/row/column/value of an offending record (raw, sheet or output-table rows)."""
    row = passing_row(run_id, kind, rule)
    if res is None:  # should not happen: GX returns one result per expectation
        row.update(success=False, note="no result returned by Great Expectations")
        row["examples"] = row["note"]
        return row
    result = res.result or {}
    row["success"] = bool(res.success)
    error = _exception_message(res)
    if error:
        row.update(success=False, note=f"could not evaluate: {error}", examples=error)
        return row
    if row["success"]:
        return row
    if rule.expectation == "ExpectTableColumnsToMatchSet":
        missing = (result.get("details") or {}).get("mismatched", {}).get("missing", [])
        row["unexpected_count"] = len(missing)
        row["examples"] = "missing columns: " + ", ".join(missing)
        row["note"] = row["examples"]
        return row
    if rule.expectation == "ExpectColumnValuesToBeOfType":
        row["unexpected_count"] = len(df)
        row["examples"] = (
            f"column {rule.column} is {result.get('observed_value')}, "
            f"expected {rule.kwargs['type_']}"
        )
        row["note"] = row["examples"]
        return row
    index = result.get("unexpected_index_list") or []
    row["unexpected_count"] = int(result.get("unexpected_count") or len(index))
    labels = [i for i in index[:MAX_REPORT_ROWS] if i in df.index]
    records = df.loc[labels].to_dict("records") if labels else []
    row["offenders"] = [locate(rec, rule) for rec in records]
    row["examples"] = "; ".join(render_offender(o) for o in row["offenders"][:MAX_EXAMPLES])
    if not row["examples"]:
        values = result.get("partial_unexpected_list") or []
        row["examples"] = "values: " + ", ".join(repr(v) for v in values[:MAX_EXAMPLES])
    return row


def _summary_line(row: dict[str, Any]) -> str:
    first = row["offenders"][0] if row["offenders"] else None
    example = render_offender(first) if first else row["examples"]
    count = f"{row['unexpected_count']} row(s)" if row["unexpected_count"] else "failed"
    return f"{row['source']}: {row['rule']}: {count} (e.g. {example})"


def _ingest_warnings(run: Run) -> list[dict[str, Any]]:
    report = run.read_ingest_report()
    if "warning_details" in report:
        return list(report["warning_details"])
    return [{"file": w.split(":", 1)[0], "sheet": None, "message": w.split(":", 1)[-1].strip()}
            for w in report.get("warnings", [])]


def _run_suite(context, source, name: str, suite, df, parameters, gx_run):
    """Run one suite on one DataFrame; GX results by rule key."""
    import great_expectations as gx

    suite = context.suites.add(suite)
    batch_definition = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(
        name=f"{name}_whole"
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"validate_{name}", data=batch_definition, suite=suite)
    )
    validation = definition.run(
        batch_parameters={"dataframe": df},
        expectation_parameters=parameters,
        result_format=dict(RESULT_FORMAT),
        run_id=gx_run,
    )
    # GX does not keep suite order (expectations that raised come first): match by key
    return {r.expectation_config.meta.get("rule"): r for r in validation.results}


def _record_results(context, suite, rules: list, rows: list[dict[str, Any]], elements: int,
                    gx_run) -> None:
    """Store the result rows of `suite`, evaluated in SQL (`sql_engine`), as the GX suite
    validation result of that suite, so that GX's Data Docs render them like any GX result."""
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite = context.suites.add(suite)
    configs = {e.meta.get("rule"): e.configuration for e in suite.expectations}
    results = []
    for rule, row in zip(rules, rows, strict=True):
        failed_to_run = (row.get("note") or "").startswith("could not evaluate")
        examples = [render_offender(o) for o in row["offenders"][:MAX_EXAMPLES]]
        count = int(row["unexpected_count"] or 0)
        results.append(ExpectationValidationResult(
            success=bool(row["success"]),
            expectation_config=configs[rule.key],
            result={} if failed_to_run else {
                "element_count": max(elements, count),
                "unexpected_count": count,
                "unexpected_percent": 100.0 * count / max(elements, count, 1),
                "partial_unexpected_list": examples or ([row["examples"]]
                                                        if row["examples"] else []),
            },
            exception_info={"raised_exception": failed_to_run,
                            "exception_message": row["examples"] if failed_to_run else None,
                            "exception_traceback": None},
        ))
    evaluated = len(results)
    passed = sum(r.success for r in results)
    statistics = {"evaluated_expectations": evaluated, "successful_expectations": passed,
                  "unsuccessful_expectations": evaluated - passed,
                  "success_percent": 100.0 * passed / evaluated if evaluated else None}
    identifier = ExpectationSuiteIdentifier(name=suite.name)
    context.validation_results_store.store_validation_results(
        suite_validation_result=ExpectationSuiteValidationResult(
            success=all(r.success for r in results), results=results, suite_name=suite.name,
            statistics=statistics,
            meta={"run_id": gx_run, "validation_time": gx_run.run_time,
                  "active_batch_definition": {"engine": "DuckDB SQL (carbon_assess.validate."
                                                        "sql_engine)"}}),
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=identifier, run_id=gx_run,
            batch_identifier=f"{suite.name}_sql"),
        expectation_suite_identifier=identifier)


def validate_workdir(workdir: Run | Path, quarantine_root: Path | None = None
                     ) -> ValidationSummary:
    """Validate `<workdir>/raw/*.parquet` and `<workdir>/sheets/*.parquet` with GX; quarantine
    and raise on error-severity failures.

    Returns {"status", "errors", "warnings", "results_path", "report_path", "data_docs_path",
    "warnings_summary", "seconds"}. Raises carbon_assess.errors.ValidationFailed (one-line message
    naming file, row, column, value and rule; `.report_path` = quarantine report.md; `.summary` =
    the summary dict).
    """
    started = datetime.now(UTC)
    run = Run.of(workdir)
    run_id = run.run_id
    raw_files = {kind: run.raw(kind) for kind in SOURCE_KINDS if run.raw(kind).exists()}
    sheet_files = {kind: run.sheet(kind) for kind in SHEET_KINDS if run.sheet(kind).exists()}
    validation_dir = run.validation_dir
    docs_dir = run.data_docs_dir
    validation_dir.mkdir(parents=True, exist_ok=True)

    rows: list[dict[str, Any]] = []
    outcome: dict[str, str] = {}  # GX suite name -> passed | passed_with_warnings | failed
    data_docs_path: str | None = None
    notes: list[str] = [] if raw_files else [f"no raw Parquet files in {run.raw_dir}"]
    if raw_files or sheet_files:
        import pyarrow.parquet as pq
        from great_expectations.core.run_identifier import RunIdentifier

        context, source = _gx_context(docs_dir)
        gx_run = RunIdentifier(run_name=run_id, run_time=started)
        parameters = suite_parameters(started.year, declared_units(run))
        # the raw suites: their rules compiled to SQL over the raw Parquet (sql_engine), at
        # every size; GX records the results (Data Docs) as it records the sheets' own
        info = run.info_or_none()
        pinned = info.run_id if info else None
        for kind, suite_rows in validate_raw_in_duckdb(run, run_id, parameters).items():
            rules = [r for r in rules_for(kind, run_id=pinned) if r.key not in POST_COMPUTE_RULES]
            count_rejected_cells_once(rules, suite_rows)  # a rejected cell is no noise warning
            elements = (pq.ParquetFile(raw_files[kind]).metadata.num_rows
                        if kind in raw_files else 0)
            _record_results(context, build_suite(kind, rules=rules), rules, suite_rows,
                            elements, gx_run)
            outcome[suite_name(kind)] = _outcome(suite_rows)
            rows += suite_rows
        for kind, path in sheet_files.items():
            df = prepare_sheet_batch(kind, pq.read_table(path),
                                     frozenset(parameters[KNOWN_REGIONS_PARAMETER]))
            rules = rules_for(kind)
            name = suite_name(kind)
            # the sheet rules read the unit codes from derived columns: no code set for GX
            by_key = _run_suite(context, source, name, build_suite(kind, rules=rules), df,
                                for_batch(parameters, set()), gx_run)
            suite_rows = [_result_row(run_id, name, rule, by_key.get(rule.key), df,
                                      _sheet_offender) for rule in rules]
            outcome[name] = _outcome(suite_rows)
            rows += suite_rows
        try:
            sites = context.build_data_docs(site_names=[DATA_DOCS_SITE])
            data_docs_path = str(docs_dir / "index.html") if sites else None
            _mark_warnings_in_data_docs(docs_dir, outcome)
        except Exception as exc:  # noqa: BLE001 - docs are a view; results are already complete
            log.warning("could not build Great Expectations Data Docs: %s", exc)

    gx_rows = list(rows)
    rows += ingest_rows(run_id, [], _ingest_warnings(run))
    results_path = write_results(rows, validation_dir)
    return _conclude(
        run, rows, gx_rows, started, results_path, data_docs_path, quarantine_root,
        stage="validation", report_dir=validation_dir,
        notes=tuple(notes),
    )


def _outcome(rows: list[dict[str, Any]]) -> str:
    if any(not r["success"] and r["severity"] == ERROR for r in rows):
        return "failed"
    return "passed_with_warnings" if any(not r["success"] for r in rows) else "passed"


def _conclude(run: Run, rows: list[dict[str, Any]], gx_rows: list[dict[str, Any]],
              started: datetime, results_path: Path, data_docs_path: str | None,
              quarantine_root: Path | None, stage: str, report_dir: Path | None,
              notes: tuple[str, ...] = ()) -> ValidationSummary:
    """The outcome of a validation stage (input validation or the output gate) once its result
    rows are written: the summary; a report when anything failed (in `report_dir`, when given,
    for warnings only); on a failed error expectation, the batch quarantined with its report and
    ValidationFailed raised with a one-line message naming the first offender and the rule."""
    run_id = run.run_id
    failed_errors = [r for r in rows if not r["success"] and r["severity"] == ERROR]
    failed_warnings = [r for r in rows if not r["success"] and r["severity"] != ERROR]
    status = _outcome(rows)
    warnings_summary = [
        _summary_line(r) for r in gx_rows if not r["success"] and r["severity"] != ERROR
    ]
    warnings_summary += list(notes)
    summary: ValidationSummary = {
        "status": status,
        "errors": len(failed_errors),
        "warnings": len(failed_warnings),
        "results_path": str(results_path),
        "report_path": None,
        "data_docs_path": data_docs_path,
        "warnings_summary": warnings_summary,
        "seconds": round((datetime.now(UTC) - started).total_seconds(), 3),
    }
    report_meta = {"run_id": run_id, "workdir": str(run.path), **summary}
    if stage != "validation":  # the report says where the batch was stopped
        report_meta["stage"] = stage
    for line in warnings_summary:
        log.warning("%s warning: %s", stage, line)

    if not failed_errors:
        if failed_warnings and report_dir is not None:
            md, _ = write_report(report_meta, rows, report_dir)
            summary["report_path"] = str(md)
        log.info("%s %s in %.1f s: %s", stage, status, summary["seconds"], results_path)
        return summary

    # Quarantine: copy the batch (same layout as the work directory) and write the report there.
    target = quarantine_batch(run, run_id, quarantine_root)
    report_meta["quarantine"] = str(target)
    if data_docs_path:
        report_meta["data_docs_path"] = str(Run(target).data_docs_dir / "index.html")
    md, _ = write_report(report_meta, rows, target)
    summary["report_path"] = str(md)

    first = failed_errors[0]
    kinds = ", ".join(dict.fromkeys(r["source"] for r in failed_errors))
    if first["offenders"]:
        example = f"{render_offender(first['offenders'][0])}: {first['rule']}"
    else:
        example = f"{first['rule']}: {first['examples']}"
    message = (
        f"{stage} failed: {len(failed_errors)} error(s) in {kinds} (e.g. {example}); "
        f"report: {md}"
    )
    message = message.replace("\r", " ").replace("\n", " ")  # strictly one line
    log.error(message)
    raise ValidationFailed(message, str(md), summary=summary)
