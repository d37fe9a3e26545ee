"""Turn a landing file (CSV in UTF-8 / UTF-8-BOM / GB18030, or XLSX) into rows of cell text.

Row numbers are kept as they appear to a person opening the file (1-based line or sheet row), so
every later error can point at them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from carbon_assess.errors import InputError

ENCODINGS = ("utf-8-sig", "gb18030")
SUPPORTED_SUFFIXES = (".csv", ".xlsx")


@dataclass
class Table:
    """One sheet (or the whole CSV) as text rows with their row numbers."""

    sheet: str | None
    encoding: str | None
    rows: list[tuple[int, list[str]]]  # (row number, cells)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode strictly; UTF-8 first (a BOM is optional), then GB18030 as the NBS portal writes."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), ("utf-8" if encoding == "utf-8-sig" else encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(name, "file is neither UTF-8 nor GB18030 text; save it as UTF-8 CSV")


def read_csv(data: bytes, name: str) -> Table:
    text, encoding = decode(data, name)
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise InputError(name, f"malformed CSV: {exc}", row=reader.line_num) from None
    return Table(sheet=None, encoding=encoding, rows=rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def read_xlsx(path: Path, name: str) -> Iterator[Table]:
    """Every sheet of a workbook. Formulas are kept as text (`=...`) so they are reported, not
    silently evaluated by whatever program saved the file last."""
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InputError(name, f"not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        for sheet in workbook.worksheets:
            rows = [
                (number, [_cell_text(v) for v in values])
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
            ]
            yield Table(sheet=sheet.title, encoding=None, rows=rows)
    finally:
        workbook.close()
