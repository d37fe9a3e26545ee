"""Turn a landing file (CSV in UTF-8 / UTF-8-BOM / GB18030, or XLSX) into rows of cell text.

Row numbers are kept as they appear to a person opening the file (1-based line or sheet row), so
every later error can point at them. Files are read from bytes the caller has already read (and
size-checked), so nothing here opens a path a second time.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from carbon_assess.errors import CarbonAssessError, InputError

ENCODINGS = ("utf-8", "gb18030")
SUPPORTED_SUFFIXES = (".csv", ".xlsx")

MAX_BYTES_ENV = "CARBON_ASSESS_MAX_FILE_BYTES"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # 64 MiB: ~1000x the largest NBS provincial extract
XLSX_EXPANSION = 20  # an XLSX may unzip to at most this many times the byte limit


@dataclass
class Table:
    """One sheet (or the whole CSV) as text rows with their row numbers."""

    sheet: str | None
    encoding: str | None
    rows: list[tuple[int, list[str]]]  # (row number, cells)


def max_file_bytes() -> int:
    """The per-file size limit (env CARBON_ASSESS_MAX_FILE_BYTES, default 64 MiB)."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        raise CarbonAssessError(f"{MAX_BYTES_ENV}={raw!r} is not a number of bytes") from None
    return max(value, 1)


def human_bytes(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)  # pragma: no cover


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode strictly: UTF-8 (a BOM is optional), then GB18030 as the NBS portal writes.

    UTF-16/32 files, a UTF-8 byte-order mark on a file that is not UTF-8, and bytes that are
    neither UTF-8 nor GB18030 (Latin-1 / Windows-1252 exports) are errors naming the line.
    """
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError(name, "file is UTF-32 text; save it as UTF-8 CSV", row=1)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise InputError(
            name, "file is UTF-16 text (or binary), not UTF-8 or GB18030; save it as UTF-8 CSV",
            row=1,
        )
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            offset = exc.start + len(codecs.BOM_UTF8)
            raise InputError(
                name,
                "file declares UTF-8 (byte-order mark) but is not valid UTF-8 "
                f"(byte 0x{data[offset]:02x}); save it again as UTF-8",
                row=_line_of(data, offset),
            ) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        pass
    raise InputError(
        name,
        "file is neither UTF-8 nor GB18030 text "
        f"(byte 0x{data[first_bad]:02x}; Latin-1/Windows-1252?); save it as UTF-8 CSV",
        row=_line_of(data, first_bad),
    )


def read_csv(data: bytes, name: str) -> Table:
    text, encoding = decode(data, name)
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for cells in reader:
            rows.append((reader.line_num, [c.strip() for c in cells]))
    except csv.Error as exc:
        raise InputError(
            name, f"malformed CSV ({exc}; truncated file?)", row=reader.line_num
        ) from None
    return Table(sheet=None, encoding=encoding, rows=rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def read_xlsx(data: bytes, name: str) -> Iterator[Table]:
    """Every sheet of a workbook. Formulas are kept as text (`=...`) so they are reported, not
    silently evaluated by whatever program saved the file last.

    Merged cells read as their top-left value with the other cells of the range blank, as NBS
    portal workbooks merge their title lines.
    """
    from openpyxl import load_workbook

    limit = max_file_bytes() * XLSX_EXPANSION
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise InputError(name, "not a readable XLSX workbook (not a zip archive)") from None
    if expanded > limit:
        raise InputError(
            name,
            f"workbook unpacks to {human_bytes(expanded)}, more than the "
            f"{human_bytes(limit)} allowed (set {MAX_BYTES_ENV} to raise the limit)",
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
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
