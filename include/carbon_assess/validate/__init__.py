"""Validation stage: Great Expectations 1.x suites on the raw Parquet of a work directory.

`validate_workdir(workdir)` runs one suite per source kind present in `<workdir>/raw/`
(see `suites.py`), writes `<workdir>/validation/results.{json,parquet}` and returns a summary.
If an error-severity expectation fails, the batch (raw Parquet + run.json, same layout as the
work directory) is copied to `<quarantine_root>/<run_id>/` with `report.md` / `report.json`, and
`ValidationFailed` is raised.

GX and pandas are imported inside the function so that importing this package stays cheap.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["validate_workdir"]

RESULT_FORMAT = {
    "result_format": "COMPLETE",  # unexpected_index_list: all offending DataFrame index labels
    "partial_unexpected_count": 5,
    "return_unexpected_index_query": False,
}


def _gx_context():
    """An ephemeral GX context (no files, no analytics, no progress bars) with a pandas source."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas(name="raw")
    return context, source


def _exception_message(res) -> str | None:
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return info.get("exception_message")
    for value in info.values():  # {metric_id: {...}} when a metric failed to resolve
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message")
    return None


def _result_row(run_id: str, kind: str, rule, res, df) -> dict[str, Any]:
    from carbon_assess.validate.report import MAX_EXAMPLES, MAX_REPORT_ROWS, offender
    from carbon_assess.validate.report import render_offender as render

    row: dict[str, Any] = {
        "run_id": run_id,
        "source": kind,
        "expectation": f"{rule.expectation_type}: {rule.description}",
        "column": rule.column,
        "severity": rule.severity,
        "success": True,
        "unexpected_count": 0,
        "examples": "",
        "rule": rule.description,
        "note": None,
        "offenders": [],
    }
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
    index = result.get("unexpected_index_list") or []
    row["unexpected_count"] = int(result.get("unexpected_count") or len(index))
    labels = [i for i in index[:MAX_REPORT_ROWS] if i in df.index]
    records = df.loc[labels].to_dict("records") if labels else []
    row["offenders"] = [offender(rec, rule.column) for rec in records]
    row["examples"] = "; ".join(render(o) for o in row["offenders"][:MAX_EXAMPLES])
    if not row["examples"]:
        values = result.get("partial_unexpected_list") or []
        row["examples"] = "values: " + ", ".join(repr(v) for v in values[:MAX_EXAMPLES])
    return row


def _summary_line(row: dict[str, Any]) -> str:
    from carbon_assess.validate.report import render_offender

    first = row["offenders"][0] if row["offenders"] else None
    example = render_offender(first) if first else row["examples"]
    count = f"{row['unexpected_count']} row(s)" if row["unexpected_count"] else "failed"
    return f"{row['source']}: {row['rule']}: {count} (e.g. {example})"


def validate_workdir(workdir: Path, quarantine_root: Path | None = None) -> dict[str, Any]:
    """Validate `<workdir>/raw/*.parquet` with GX; quarantine and raise on error-severity failures.

    Returns {"status", "errors", "warnings", "results_path", "report_path", "warnings_summary"}.
    Raises carbon_assess.errors.ValidationFailed (one-line message naming file, row, column,
    value and rule; `.report_path` = quarantine report.md; `.summary` = the summary dict).
    """
    from carbon_assess.errors import ValidationFailed
    from carbon_assess.ingest.schema import SOURCE_KINDS
    from carbon_assess.validate.report import write_report, write_results
    from carbon_assess.validate.suites import ERROR, add_yoy_factor, build_suite, rules_for

    workdir = Path(workdir).resolve()
    run_json = workdir / "run.json"
    run_info = json.loads(run_json.read_text(encoding="utf-8")) if run_json.exists() else {}
    run_id = str(run_info.get("run_id") or workdir.name)
    raw_files = {
        kind: workdir / "raw" / f"{kind}.parquet"
        for kind in SOURCE_KINDS
        if (workdir / "raw" / f"{kind}.parquet").exists()
    }

    rows: list[dict[str, Any]] = []
    if raw_files:
        import pandas as pd

        _, source = _gx_context()
        for kind, path in raw_files.items():
            df = pd.read_parquet(path).reset_index(drop=True)
            df = add_yoy_factor(df, kind)
            rules = rules_for(kind, run_id=run_info.get("run_id"))
            suite = build_suite(kind, rules=rules)
            batch_definition = source.add_dataframe_asset(
                name=kind
            ).add_batch_definition_whole_dataframe(name=f"{kind}_whole")
            batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
            validation = batch.validate(suite, result_format=dict(RESULT_FORMAT))
            # GX does not keep suite order (expectations that raised come first): match by key
            by_key = {r.expectation_config.meta.get("rule"): r for r in validation.results}
            rows += [_result_row(run_id, kind, rule, by_key.get(rule.key), df) for rule in rules]

    failed_errors = [r for r in rows if not r["success"] and r["severity"] == ERROR]
    failed_warnings = [r for r in rows if not r["success"] and r["severity"] != ERROR]
    status = "failed" if failed_errors else "passed_with_warnings" if failed_warnings else "passed"
    warnings_summary = [_summary_line(r) for r in failed_warnings]
    if not raw_files:
        warnings_summary.append(f"no raw Parquet files in {workdir / 'raw'}")

    results_path = write_results(rows, workdir / "validation")
    summary: dict[str, Any] = {
        "status": status,
        "errors": len(failed_errors),
        "warnings": len(failed_warnings),
        "results_path": str(results_path),
        "report_path": None,
        "warnings_summary": warnings_summary,
    }
    report_meta = {"run_id": run_id, "workdir": str(workdir), **summary}

    if not failed_errors:
        if failed_warnings:
            md, _ = write_report(report_meta, rows, workdir / "validation")
            summary["report_path"] = str(md)
        return summary

    # Quarantine: copy the batch (same layout as the work directory) and write the report there.
    root = Path(quarantine_root) if quarantine_root else workdir.parent.parent / "quarantine"
    target = root.resolve() / run_id
    (target / "raw").mkdir(parents=True, exist_ok=True)
    for path in raw_files.values():
        shutil.copy2(path, target / "raw" / path.name)
    if run_json.exists():
        shutil.copy2(run_json, target / "run.json")
    report_meta["quarantine"] = str(target)
    md, _ = write_report(report_meta, rows, target)
    summary["report_path"] = str(md)

    first = failed_errors[0]
    kinds = ", ".join(dict.fromkeys(r["source"] for r in failed_errors))
    if first["offenders"]:
        from carbon_assess.validate.report import render_offender

        example = f"{render_offender(first['offenders'][0])}: {first['rule']}"
    else:
        example = f"{first['rule']}: {first['examples']}"
    message = (
        f"validation failed: {len(failed_errors)} error(s) in {kinds} (e.g. {example}); "
        f"report: {md}"
    )
    message = message.replace("\r", " ").replace("\n", " ")  # strictly one line
    exc = ValidationFailed(message, str(md))
    exc.summary = summary
    raise exc
