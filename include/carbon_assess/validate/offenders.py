"""The offending rows of a failed expectation, with their lineage (file, sheet, row, column,
value) and the sentence that explains the finding (derived note columns, see `checks`)."""

from __future__ import annotations

from typing import Any

from carbon_assess.quarantine import text as _text
from carbon_assess.validate.checks import NOTE_COLUMNS


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
    return {
        "file": _text(row.get("source_file")) or "?",
        "sheet": _text(row.get("source_sheet")) or None,
        "row": int(source_row) if _text(source_row) else None,
        "column": _text(row.get("source_column")),
        "value": value,
        "detail": detail,
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
