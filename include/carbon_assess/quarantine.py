"""Findings reports and quarantine, shared by ingest (a rejected landing file) and validate.

Result rows, their `results.{json,parquet}`, the readable `report.md` / `report.json`, and the
copy of a rejected batch to `<home>/quarantine/<run_id>/`. Everything here works on plain
dicts/lists; pyarrow is imported inside the function that writes Parquet.

A result row (one per expectation, plus one per ingest error or warning) is a dict with the public
columns of `RESULT_COLUMNS` (what `meta_validation_result` holds) and, for the reports, `rule`,
`note` and `offenders` (file / sheet / row / column / value / detail of each offending cell).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

from carbon_assess.reference import province_label
from carbon_assess.settings import duckdb_table
from carbon_assess.workdir import Run

RESULT_COLUMNS = (
    "run_id",
    "source",
    "expectation",
    "column",
    "severity",
    "success",
    "unexpected_count",
    "examples",
)
# their DuckDB types in results.parquet (meta_validation_result's columns)
RESULT_TYPES = dict(zip(RESULT_COLUMNS, ("varchar", "varchar", "varchar", "varchar", "varchar",
                                         "boolean", "bigint", "varchar"), strict=True))
MAX_EXAMPLES = 5  # in the `examples` column and the one-line messages
MAX_REPORT_ROWS = 50  # offending rows listed per failed expectation in report.md

INGEST_SOURCE = "ingest"


def text(value: Any) -> str:
    """A cell as text: blank for None, NaN and pandas NA."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return ""
    try:
        if value != value:  # NaN / NA
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def unit_year(o: dict[str, Any]) -> str:
    """Whose figure an offending cell is: `青海省 (630000) 2015` from the offender's `region_code`
    and `year` (raw rows carry both); '' when it has neither, or when its detail already names
    the unit (the note of a finding on a unit-year does)."""
    code, year = text(o.get("region_code")), text(o.get("year"))
    if not code or code in text(o.get("detail")):
        return ""
    label = "nation (000000)" if code == "000000" else province_label(code)
    return f"{label} {year}".strip()


def render_offender(o: dict[str, Any]) -> str:
    """`prov.csv row 12 column '煤炭消费量(万吨)' (青海省 (630000) 2015) value '-5'` (+ sheet /
    detail when useful): where the cell is, whose figure it is, what it holds."""
    line = o["file"]
    if o.get("sheet"):
        line += f" sheet {o['sheet']!r}"
    if o.get("row") is not None:
        line += f" row {o['row']}"
    if o.get("column"):
        line += f" column {o['column']!r}"
    whose = unit_year(o)
    if whose:
        line += f" ({whose})"
    if o.get("value") or o.get("row") is not None:
        line += f" value {o['value']!r}"
    if o.get("detail"):
        line += f" ({o['detail']})"
    return line


def write_results(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """`results.json` (list of rows) and `results.parquet`; returns the parquet path. The
    Parquet is written by DuckDB (settings.duckdb_table), not built as Arrow from Python
    objects, which would import pandas into the validate and check_outputs tasks."""
    import duckdb

    out_dir.mkdir(parents=True, exist_ok=True)
    public = [{k: r[k] for k in RESULT_COLUMNS} for r in rows]
    (out_dir / "results.json").write_text(
        json.dumps(public, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    path = out_dir / "results.parquet"
    with duckdb.connect() as con:
        duckdb_table(con, "results", RESULT_TYPES,
                     [tuple(r[c] for c in RESULT_COLUMNS) for r in public])
        target = str(path).replace("'", "''")
        con.execute(f"copy (select * from results) to '{target}' (format parquet)")
    return path


def warnings_count(results_path: str | Path) -> int | None:
    """The warnings of a run, counted once for every place that shows it (CLI summary,
    `meta_pipeline_run.warnings`, the plugin's data-quality counts): the failed
    warning-severity rows of `<workdir>/validation/results.parquet` (ingest warnings, input
    validation and output gate), i.e. what lands in `meta_validation_result`. None when the
    run has no results file."""
    path = Path(results_path)
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    # ParquetFile.read, not read_table: the latter goes through pyarrow.dataset, which imports
    # pandas into a task that needs none (publish)
    table = pq.ParquetFile(path).read(columns=["severity", "success"])
    return sum(1 for severity, success in zip(table.column("severity").to_pylist(),
                                              table.column("success").to_pylist(), strict=True)
               if severity == "warning" and not success)


def _md_cell(value: Any) -> str:
    return text(value).replace("|", "\\|").replace("\n", " ")


def explanation(summary: dict[str, Any]) -> str | None:
    """What happened to a quarantined batch and what to do, for the report and its page."""
    stage = summary.get("stage")
    if summary.get("status") in ("failed", "rejected") and stage in (None, "ingest"):
        return ("The batch was quarantined: nothing was computed or published, and the landing "
                "files were left as they are. Fix the landing files named below and trigger a "
                "new run.")
    if summary.get("status") == "failed":
        return ("The batch was quarantined: its computed facts break the rules below, so "
                "nothing was published and the warehouse keeps its current release. The "
                "findings name table, key and column; they point to an input the input checks "
                "let through or to a model bug.")
    return None


def failed_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The result rows that did not hold, errors first, by source."""
    failed = [r for r in rows if not r["success"]]
    return sorted(failed, key=lambda r: (r["severity"] != "error", r["source"]))


def render_markdown(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """A readable report: every failed expectation with its offending file/row/column/value."""
    lines = [
        f"# Validation report: run {summary['run_id']}",
        "",
        f"- status: **{summary['status']}**",
        f"- workdir: `{summary['workdir']}`",
        f"- failed error expectations: {summary['errors']}",
        f"- failed warning expectations: {summary['warnings']}",
    ]
    stage = summary.get("stage")
    if stage == "ingest":
        lines.append("- rejected at: ingest (before any Great Expectations suite ran)")
    elif stage:
        lines.append(f"- rejected at: {stage} (after the models were computed, before publish)")
    if summary.get("quarantine"):
        lines.append(f"- quarantine: `{summary['quarantine']}`")
    if summary.get("data_docs_path"):
        lines.append(f"- Great Expectations Data Docs: `{summary['data_docs_path']}`")
    lines.append("")
    explained = explanation(summary)
    if explained:
        lines += [*textwrap.wrap(explained, 90), ""]
    for r in failed_first(rows):
        lines += [
            f"## {r['severity'].upper()}: {r['source']}: {r['rule']}",
            "",
            f"- expectation: `{r['expectation']}`",
            f"- column: `{r['column'] or '(table)'}`",
            f"- offending rows: {r['unexpected_count']}",
        ]
        if r.get("note"):
            lines.append(f"- note: {r['note']}")
        lines.append("")
        offenders = r.get("offenders") or []
        if offenders:
            lines += [
                "| file | row | column | value | rule | severity |",
                "|---|---|---|---|---|---|",
            ]
            for o in offenders[:MAX_REPORT_ROWS]:
                file = o["file"] + (f" [{o['sheet']}]" if o.get("sheet") else "")
                detail = f"({o['detail']})" if o.get("detail") else ""
                value = " ".join(part for part in (o["value"], detail) if part)
                lines.append(
                    f"| {_md_cell(file)} | {_md_cell(o['row'])} | {_md_cell(o['column'])} | "
                    f"{_md_cell(value)} | {_md_cell(r['rule'])} | {r['severity']} |"
                )
            more = r["unexpected_count"] - min(len(offenders), MAX_REPORT_ROWS)
            if more > 0:
                lines.append(f"| ... | | | {more} more | | |")
            lines.append("")
    passed = [r for r in rows if r["success"]]
    if passed:
        lines += ["## Passed", ""]
        lines += [f"- {r['source']}: {r['rule']} ({r['severity']})" for r in passed]
        lines.append("")
    return "\n".join(lines)


def write_report(
    summary: dict[str, Any], rows: list[dict[str, Any]], out_dir: Path
) -> tuple[Path, Path]:
    """`report.md` and `report.json` in out_dir; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "report.md"
    md.write_text(render_markdown(summary, rows), encoding="utf-8")
    js = out_dir / "report.json"
    payload = {
        **summary,
        "results": [
            {
                **{k: r[k] for k in RESULT_COLUMNS},
                "rule": r["rule"],
                "note": r.get("note"),
                "offenders": (r.get("offenders") or [])[:MAX_REPORT_ROWS],
            }
            for r in rows
        ],
    }
    js.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str),
                  encoding="utf-8")
    return md, js


# --- quarantine -----------------------------------------------------------------------------


def quarantine_batch(run: Run, run_id: str, root: Path | None = None) -> Path:
    """Copy the batch (raw and sheet Parquet, run.json, ingest report, validation results and
    Data Docs) to `<quarantine root>/<run_id>/` (see `Run.quarantine`), same layout as the work
    directory. Copies only: the work directory and, above all, the landing files stay in place."""
    target = run.quarantine(run_id, root)
    target.mkdir(parents=True, exist_ok=True)
    copy = Run(target)
    for source, dest in ((run.raw_dir, copy.raw_dir), (run.sheets_dir, copy.sheets_dir)):
        if source.is_dir():
            dest.mkdir(exist_ok=True)
            for path in sorted(source.glob("*.parquet")):
                shutil.copy2(path, dest / path.name)
    for source, dest in ((run.run_json, copy.run_json), (run.ingest_report, copy.ingest_report)):
        if source.exists():
            shutil.copy2(source, dest)
    if run.validation_dir.is_dir() and run.validation_dir != copy.validation_dir:
        shutil.copytree(run.validation_dir, copy.validation_dir, dirs_exist_ok=True)
    return target


def ingest_rows(
    run_id: str,
    errors: list[Any],
    warnings: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Result rows for ingest-time findings (InputErrors and skipped files/columns), in the
    same shape as GX results so they share the report and the warehouse table."""
    rows: list[dict[str, Any]] = []
    for exc in errors:
        o = {
            "file": exc.file,
            "sheet": None,
            "row": exc.row,
            "column": exc.column or "",
            "value": exc.value if exc.value is not None else "",
            "detail": None,
        }
        rows.append({
            "run_id": run_id,
            "source": INGEST_SOURCE,
            "expectation": "ingest: landing file follows the data contract",
            "column": exc.column,
            "severity": "error",
            "success": False,
            "unexpected_count": 1,
            "examples": str(exc),
            "rule": exc.rule,
            "note": None,
            "offenders": [o],
        })
    for w in warnings:
        file = w.get("file") or "?"
        o = {"file": file, "sheet": w.get("sheet"), "row": None, "column": "", "value": "",
             "detail": w.get("message")}
        rows.append({
            "run_id": run_id,
            "source": INGEST_SOURCE,
            "expectation": "ingest: every landing file and column is recognised",
            "column": None,
            "severity": "warning",
            "success": False,
            "unexpected_count": 1,
            "examples": f"{file}" + (f" [sheet {w['sheet']}]" if w.get("sheet") else "")
            + f": {w.get('message')}",
            "rule": "file or column skipped",
            "note": None,
            "offenders": [o],
        })
    return rows


def write_ingest_rejection(
    run: Run,
    run_id: str,
    errors: list[Any],
    warnings: list[dict[str, Any]],
    root: Path | None = None,
) -> Path:
    """Quarantine report for a batch rejected at ingest (bad encoding, unknown unit...): the same
    report.md / report.json format as validation failures; returns the report.md path."""
    target = quarantine_batch(run, run_id, root)
    rows = ingest_rows(run_id, errors, warnings)
    write_results(rows, Run(target).validation_dir)
    summary = {
        "run_id": run_id,
        "workdir": str(run.path),
        "status": "rejected",
        "stage": "ingest",
        "errors": len(errors),
        "warnings": len(warnings),
        "quarantine": str(target),
        "message": str(errors[0]) if errors else None,
    }
    md, _ = write_report(summary, rows, target)
    return md
