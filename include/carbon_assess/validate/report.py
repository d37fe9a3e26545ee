"""Rendering of validation results: offending rows with lineage, results files, quarantine report.

Everything here works on plain dicts/lists; pandas/pyarrow are imported inside the functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
MAX_EXAMPLES = 5  # in the `examples` column and the one-line messages
MAX_REPORT_ROWS = 50  # offending rows listed per failed expectation in report.md


def _text(value: Any) -> str:
    if value is None:
        return ""
    try:
        if value != value:  # NaN / NA
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def offender(row: dict[str, Any], column: str | None) -> dict[str, Any]:
    """The lineage of one offending raw row, plus the offending field when it is not `value`."""
    value = _text(row.get("source_value"))
    if not value:
        value = _text(row.get("value"))
    detail = None
    if column == "yoy_factor":
        factor = row.get("yoy_factor")
        if factor is not None and factor == factor:
            detail = f"{float(factor):.3g}x the previous year"
    elif column and "," in column:
        detail = "duplicate key " + "/".join(_text(row.get(c)) or "NULL" for c in column.split(","))
    elif column and column != "value":
        detail = f"{column} {_text(row.get(column))!r}"
    source_row = row.get("source_row")
    return {
        "file": _text(row.get("source_file")) or "?",
        "sheet": _text(row.get("source_sheet")) or None,
        "row": int(source_row) if _text(source_row) else None,
        "column": _text(row.get("source_column")),
        "value": value,
        "detail": detail,
    }


def render_offender(o: dict[str, Any]) -> str:
    """`prov.csv row 12 column '煤炭消费量(万吨)' value '-5'` (+ sheet / detail when useful)."""
    text = o["file"]
    if o.get("sheet"):
        text += f" sheet {o['sheet']!r}"
    if o.get("row") is not None:
        text += f" row {o['row']}"
    text += f" column {o['column']!r} value {o['value']!r}"
    if o.get("detail"):
        text += f" ({o['detail']})"
    return text


def write_results(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """`results.json` (list of rows) and `results.parquet`; returns the parquet path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir.mkdir(parents=True, exist_ok=True)
    public = [{k: r[k] for k in RESULT_COLUMNS} for r in rows]
    (out_dir / "results.json").write_text(
        json.dumps(public, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    schema = pa.schema(
        [
            ("run_id", pa.string()),
            ("source", pa.string()),
            ("expectation", pa.string()),
            ("column", pa.string()),
            ("severity", pa.string()),
            ("success", pa.bool_()),
            ("unexpected_count", pa.int64()),
            ("examples", pa.string()),
        ]
    )
    table = pa.Table.from_pylist(public, schema=schema)
    path = out_dir / "results.parquet"
    pq.write_table(table, path)
    return path


def _md_cell(text: Any) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """A readable report: every failed expectation with its offending file/row/column/value."""
    lines = [
        f"# Validation report: run {summary['run_id']}",
        "",
        f"- status: **{summary['status']}**",
        f"- workdir: `{summary['workdir']}`",
        f"- failed error expectations: {summary['errors']}",
        f"- failed warning expectations: {summary['warnings']}",
        "",
    ]
    if summary["status"] == "failed":
        lines += [
            "The batch was quarantined: nothing was computed or published. Fix the landing files",
            "named below and trigger a new run.",
            "",
        ]
    failed = [r for r in rows if not r["success"]]
    failed.sort(key=lambda r: (r["severity"] != "error", r["source"]))
    for r in failed:
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
                value = o["value"] + (f" ({o['detail']})" if o.get("detail") else "")
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
    js.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return md, js
