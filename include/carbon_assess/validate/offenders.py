"""The offending rows of a failed expectation, with their lineage (file, sheet, row, column,
value) and the sentence that explains the finding (derived note columns, see `checks`)."""

from __future__ import annotations

from typing import Any

from carbon_assess.quarantine import MAX_EXAMPLES, render_offender
from carbon_assess.quarantine import text as _text
from carbon_assess.validate.checks import COLUMN_LEVEL, NOTE_COLUMNS

# A negative cell below the rounding-noise bound breaks both of these (suites: the error's bound
# is -NEGATIVE_NOISE, the warning's 0); `count_rejected_cells_once` counts it as the error only.
NEGATIVE_RULE, NOISE_RULE = "value_not_negative", "value_negative_noise"
# Findings on a whole column or release (its median; a fuel no province reports in some years):
# the row they point at is an example, so they name no unit-year.
WHOLE_COLUMN_FINDINGS = (COLUMN_LEVEL, "not_covered")


def offender(row: dict[str, Any], column: str | None) -> dict[str, Any]:
    """The lineage of one offending raw row, plus the offending field when it is not `value`."""
    value = _text(row.get("source_value"))
    if not value:
        value = _text(row.get("value"))
    detail = None
    if column in NOTE_COLUMNS:
        detail = _text(row.get(column)) or None
    elif column and _text(row.get(f"{column}_note")):
        detail = _text(row.get(f"{column}_note"))
    elif column == "yoy_factor":
        factor = row.get("yoy_factor")
        if factor is not None and factor == factor:
            detail = f"{float(factor):.3g}x the previous year"
    elif column and "," in column:
        detail = "duplicate key " + "/".join(_text(row.get(c)) or "NULL" for c in column.split(","))
    elif column and column != "value":
        detail = f"{column} {_text(row.get(column))!r}"
    source_row = row.get("source_row")
    whose = column not in WHOLE_COLUMN_FINDINGS
    year = row.get("year") if whose else None
    return {
        "file": _text(row.get("source_file")) or "?",
        "sheet": _text(row.get("source_sheet")) or None,
        "row": int(source_row) if _text(source_row) else None,
        "column": _text(row.get("source_column")),
        "value": value,
        "detail": detail,
        # whose figure it is (quarantine.render_offender names the unit and year)
        "region_code": (_text(row.get("region_code")) or None) if whose else None,
        "year": int(year) if _text(year) else None,
    }


def _cell(value: Any) -> str:
    """A sheet cell as text: 4.0 -> '4', 1.5 -> '1.5', 2015 -> '2015', blank -> ''."""
    text = _text(value)
    if text and isinstance(value, float):  # numpy float64 is a float too
        return format(value, ".15g")
    return text


def sheet_offender(row: dict[str, Any], cell: str | None, note: str | None) -> dict[str, Any]:
    """The lineage of one offending assessment-sheet row: file, sheet, row, the header text of
    the rule's cell(s) in that file and their value(s), and the note explaining the finding."""
    cells = [c for c in (cell or "").split(",") if c]
    source_row = row.get("source_row")
    return {
        "file": _text(row.get("source_file")) or "?",
        "sheet": _text(row.get("source_sheet")) or None,
        "row": int(source_row) if _text(source_row) else None,
        "column": ", ".join(_text(row.get(f"header_{c}")) or c for c in cells),
        "value": " / ".join(_cell(row.get(c)) for c in cells),
        "detail": (_text(row.get(note)) or None) if note else None,
    }


def _cell_key(o: dict[str, Any]) -> tuple[Any, ...]:
    return o.get("file"), o.get("sheet"), o.get("row"), o.get("column")


def count_rejected_cells_once(rules: list[Any], rows: list[dict[str, Any]]) -> None:
    """In one suite's result rows (aligned with its `rules`), the rounding-noise warning keeps
    only the cells within rounding noise: a cell the error rule rejects is not warned about a
    second time. Every error cell is below 0, so the warning's count less the error's is the
    number of noise cells; both list their offenders in row order, so the error's list holds
    every rejected cell among the warning's. Changes the warning's row in place."""
    by_key = {rule.key: row for rule, row in zip(rules, rows, strict=True)}
    negative, noise = by_key.get(NEGATIVE_RULE), by_key.get(NOISE_RULE)
    if negative is None or noise is None or negative["success"] or noise["success"]:
        return
    if any((r.get("note") or "").startswith("could not evaluate") for r in (negative, noise)):
        return
    rejected = {_cell_key(o) for o in negative["offenders"]}
    count = max(0, int(noise["unexpected_count"] or 0) - int(negative["unexpected_count"] or 0))
    offenders = [o for o in noise["offenders"] if _cell_key(o) not in rejected] if count else []
    noise.update(success=count == 0, unexpected_count=count, offenders=offenders,
                 examples="; ".join(render_offender(o) for o in offenders[:MAX_EXAMPLES]))
