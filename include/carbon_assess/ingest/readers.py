"""Turn a landing file (CSV in UTF-8 / UTF-8-BOM / GB18030, XLSX or Parquet) into rows of cell
text.

Row numbers are kept as they appear to a person opening the file (1-based line or sheet row), so
every later error can point at them. CSV and XLSX files are read from bytes the caller has already
read (and size-checked), a Parquet file from the file object the caller opened (and hashed), so
nothing here opens a path a second time.

Rows are streamed, never held all at once: a CSV is checked for its encoding chunk by chunk and
then parsed line by line; an XLSX is read with openpyxl's read-only (streaming) reader; a Parquet
file is read from its open file a record batch at a time with pyarrow (`iter_batches`, about
`PARQUET_BATCH_CELLS` cells a batch; each column is read page by page, without pre-buffering row
groups, so neither the file nor its decoded table is ever in memory whole), its column names
being the header row (row 1) and its typed cells turned into the text a CSV would hold (see
`read_parquet`). Four limits keep memory and time bounded whatever the landing folder holds, each
with an environment override:

- file size      CARBON_ASSESS_MAX_FILE_BYTES      64 MiB per file (checked before reading);
- cells          CARBON_ASSESS_MAX_CELLS           20,000,000 per file, all sheets, every cell
                                                   read (counted while rows are read; for Parquet
                                                   also checked from the footer's row count, header
                                                   included, before reading);
- unpacked       CARBON_ASSESS_MAX_UNPACKED_BYTES  256 MiB per workbook, and 16 MiB for a part
                                                   openpyxl reads whole (styles...), checked from
                                                   the zip directory before parsing; for Parquet,
                                                   the uncompressed size of its row groups, from
                                                   the footer;
- rows           CARBON_ASSESS_MAX_ROWS            20,000,000 rows per run, all files together:
                                                   observations (raw rows) and assessment-sheet
                                                   rows (the real NBS provincial batch has
                                                   12,780; every county for 40 years ~2.8M).

Hitting one is an `InputError` naming the file and the limit, never a `MemoryError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from carbon_assess.errors import CarbonAssessError, InputError

ENCODINGS = ("utf-8", "gb18030")
SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".parquet")
UNSUPPORTED = "not a CSV, XLSX or Parquet file"  # why a file of another suffix is skipped

MAX_BYTES_ENV = "CARBON_ASSESS_MAX_FILE_BYTES"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # 64 MiB: ~1000x the largest NBS provincial extract
MAX_CELLS_ENV = "CARBON_ASSESS_MAX_CELLS"
# ~7x an energy file of every county of China for 40 years (~2.8M cells; issue 13)
DEFAULT_MAX_CELLS = 20_000_000
MAX_UNPACKED_ENV = "CARBON_ASSESS_MAX_UNPACKED_BYTES"
DEFAULT_MAX_UNPACKED = 256 * 1024 * 1024  # ~3x the XML of a workbook at the cell limit
MAX_ROWS_ENV = "CARBON_ASSESS_MAX_ROWS"
# ~7x every county of China for 40 years (~2.8M raw rows); validated inside DuckDB (bounded memory)
DEFAULT_MAX_ROWS = 20_000_000
MAX_WHOLE_PART = 16 * 1024 * 1024  # an XLSX part openpyxl parses whole (styles, workbook...)
CHUNK = 1024 * 1024  # bytes decoded at a time when checking a CSV's encoding
PARQUET_MAGIC = b"PAR1"  # first and last 4 bytes of every Parquet file
PARQUET_BATCH_CELLS = 65_536  # cells of a Parquet file turned into Python text at a time
PARQUET_READ_BUFFER = 64 * 1024  # bytes pyarrow reads at a time from a column (or a whole page)


@dataclass
class Table:
    """One sheet (or the whole CSV) as text rows with their row numbers.

    `rows` is streamed: iterate it once, in order, before reading the next table of the file.
    """

    sheet: str | None
    encoding: str | None
    rows: Iterable[tuple[int, list[str]]]  # (row number, cells)
    format: str = "csv"  # csv, xlsx or parquet: the ingest report's `format`


def _env_limit(env: str, default: int, what: str) -> int:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))
    except (ValueError, OverflowError):
        raise CarbonAssessError(f"{env}={raw!r} is not a number of {what}") from None
    return max(value, 1)


def max_file_bytes() -> int:
    """The per-file size limit (env CARBON_ASSESS_MAX_FILE_BYTES, default 64 MiB)."""
    return _env_limit(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, "bytes")


def max_cells() -> int:
    """The per-file cell limit, all sheets together (env CARBON_ASSESS_MAX_CELLS, default
    2,000,000)."""
    return _env_limit(MAX_CELLS_ENV, DEFAULT_MAX_CELLS, "cells")


def max_unpacked_bytes() -> int:
    """The limit on what an XLSX unzips to (env CARBON_ASSESS_MAX_UNPACKED_BYTES, 256 MiB)."""
    return _env_limit(MAX_UNPACKED_ENV, DEFAULT_MAX_UNPACKED, "bytes")


def max_rows() -> int:
    """The per-run limit on rows, observations and assessment-sheet rows of all files together
    (env CARBON_ASSESS_MAX_ROWS, default 200,000)."""
    return _env_limit(MAX_ROWS_ENV, DEFAULT_MAX_ROWS, "rows")


def rows_exceeded(name: str, limit: int, row: int | None) -> InputError:
    """The error for the file whose rows take the run past `max_rows()`."""
    return InputError(
        name,
        f"with this file the run has more than {limit:,} rows (observations and sheet rows), "
        f"the limit for one run (split the landing folder, or set {MAX_ROWS_ENV} to raise the "
        "limit)",
        row=row,
    )


def human_bytes(count: float) -> str:
    """`20 bytes`, `1.5 KiB`, `64 MiB`, `1.2 GiB`: a byte count as a person writes it."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            if unit == "bytes":
                return f"{int(count):,} bytes"
            return f"{count:,.1f}".removesuffix(".0") + f" {unit}"
        count /= 1024
    return str(count)  # pragma: no cover


class CellBudget:
    """Cells read so far from one file (all its sheets), against `max_cells()`."""

    def __init__(self, name: str, limit: int | None = None) -> None:
        self.name = name
        self.limit = max_cells() if limit is None else limit
        self.used = 0

    def take(self, count: int, row: int | None) -> None:
        self.used += count
        if self.used > self.limit:
            raise self.exceeded(row)

    def exceeded(self, row: int | None = None) -> InputError:
        return InputError(
            self.name,
            f"file has more than {self.limit:,} cells, the limit for one file "
            f"(split it, or set {MAX_CELLS_ENV} to raise the limit)",
            row=row,
        )


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _first_bad(data: bytes, encoding: str, start: int = 0) -> int | None:
    """Offset of the first byte of `data[start:]` that does not decode, None if all do.

    Decodes a chunk at a time and keeps no text, so a large file never exists as one string.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    view = memoryview(data)
    end = len(data)
    for offset in range(start, end, CHUNK):
        pending = decoder.getstate()[0]  # bytes of a character cut by the previous chunk
        try:
            decoder.decode(view[offset:offset + CHUNK], final=offset + CHUNK >= end)
        except UnicodeDecodeError as exc:
            return max(offset - len(pending) + exc.start, start)
    return None


def encoding_of(data: bytes, name: str) -> str:
    """The encoding of a CSV, checked strictly: UTF-8 (a BOM is optional, `utf-8-sig`), then
    GB18030 as the NBS portal writes.

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
        offset = _first_bad(data, "utf-8", start=len(codecs.BOM_UTF8))
        if offset is None:
            return "utf-8-sig"
        raise InputError(
            name,
            "file declares UTF-8 (byte-order mark) but is not valid UTF-8 "
            f"(byte 0x{data[offset]:02x}); save it again as UTF-8",
            row=_line_of(data, offset),
        )
    first_bad = _first_bad(data, "utf-8")
    if first_bad is None:
        return "utf-8"
    gb_bad = _first_bad(data, "gb18030")
    if gb_bad is None:
        return "gb18030"
    # the row to fix is where the encoding that decodes further stops: a GB18030 export with
    # one row pasted from a UTF-8 file fails UTF-8 at row 1 and GB18030 only at that row
    line, gb_line = _line_of(data, first_bad), _line_of(data, gb_bad)
    if gb_line != line:
        encoding, other, offset = (("GB18030", "UTF-8", gb_bad) if gb_line > line
                                   else ("UTF-8", "GB18030", first_bad))
        raise InputError(
            name,
            f"file is neither UTF-8 nor GB18030 text: its rows before this one are {encoding}, "
            f"this row is not (byte 0x{data[offset]:02x}; pasted from a {other} file?); save "
            "the whole file in one encoding, as UTF-8 CSV",
            row=max(line, gb_line),
        )
    raise InputError(
        name,
        "file is neither UTF-8 nor GB18030 text "
        f"(byte 0x{data[first_bad]:02x}; Latin-1/Windows-1252?); save it as UTF-8 CSV",
        row=line,
    )


class _Lines:
    """The text lines of a CSV for `csv.reader`, refusing a row that would outgrow the cell
    budget before the csv module has built it (a row is at most one cell more than its commas).
    """

    def __init__(self, text: io.TextIOBase, budget: CellBudget) -> None:
        self.text = text
        self.budget = budget
        self.pending = 0  # upper bound on the cells of the row being read
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.text:
            self.line += 1
            self.pending += line.count(",") + 1
            if self.pending > self.budget.limit:
                raise self.budget.exceeded(self.line)
            yield line


def read_csv(data: bytes, name: str, budget: CellBudget | None = None) -> Table:
    """The CSV's rows, streamed; the encoding is checked (whole file) before the first row."""
    encoding = encoding_of(data, name)
    return Table(sheet=None, encoding=encoding, format="csv",
                 rows=_csv_rows(data, name, encoding, budget or CellBudget(name)))


def _csv_rows(data: bytes, name: str, encoding: str, budget: CellBudget
              ) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    lines = _Lines(text, budget)
    reader = csv.reader(lines, strict=True)
    try:
        for cells in reader:
            budget.take(len(cells), reader.line_num)
            lines.pending = 0
            yield reader.line_num, [c.strip() for c in cells]
    except csv.Error as exc:
        raise InputError(
            name, f"malformed CSV ({exc}; truncated file?)", row=reader.line_num
        ) from None


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _is_worksheet(part: str) -> bool:
    return part.startswith("xl/worksheets/") and part.endswith(".xml")


def _shared_strings(archive: zipfile.ZipFile, part: str) -> int:
    """How many strings the shared-strings part holds (its `<si>` elements), counted a chunk at
    a time: openpyxl keeps them all in memory, so they count against the cell limit."""
    count = 0
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(CHUNK):
            window = tail + chunk
            count += window.count(b"<si>") + window.count(b"<si ")
            count -= tail.count(b"<si>") + tail.count(b"<si ")
            tail = window[-3:]
    return count


def _check_workbook(data: bytes, name: str, budget: CellBudget) -> None:
    """Refuse a workbook that unpacks beyond the limits, from its zip directory (the size a zip
    entry declares bounds what it inflates to: zipfile stops there and fails the CRC check)."""
    limit = max_unpacked_bytes()
    whole_part_limit = min(MAX_WHOLE_PART, limit)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError):
        raise InputError(name, "not a readable XLSX workbook (not a zip archive)") from None
    with archive:
        infos = archive.infolist()
        expanded = sum(info.file_size for info in infos)
        if expanded > limit:
            raise InputError(
                name,
                f"workbook unpacks to {human_bytes(expanded)}, more than the "
                f"{human_bytes(limit)} limit (split it, or set {MAX_UNPACKED_ENV} to raise the "
                "limit)",
            )
        for info in infos:
            part = info.filename
            if part.lower().endswith("sharedstrings.xml"):
                try:
                    strings = _shared_strings(archive, part)
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError,
                        EOFError) as exc:  # corrupt, unsupported compression, encrypted
                    raise InputError(
                        name, f"not a readable XLSX workbook ({exc.__class__.__name__})"
                    ) from None
                if strings > budget.limit:
                    raise InputError(
                        name,
                        f"workbook holds {strings:,} shared strings, more than the "
                        f"{budget.limit:,} cells allowed in one file (split it, or set "
                        f"{MAX_CELLS_ENV} to raise the limit)",
                    )
            elif (part.endswith((".xml", ".rels")) and not _is_worksheet(part)
                  and info.file_size > whole_part_limit):
                raise InputError(
                    name,
                    f"workbook part {part} unpacks to {human_bytes(info.file_size)}, more than "
                    f"the {human_bytes(whole_part_limit)} allowed for a part that is not a "
                    "worksheet",
                )


def read_xlsx(data: bytes, name: str, budget: CellBudget | None = None) -> Iterator[Table]:
    """Every sheet of a workbook, its rows streamed. Formulas are kept as text (`=...`) so they
    are reported, not silently evaluated by whatever program saved the file last.

    Merged cells read as their top-left value with the other cells of the range blank, as NBS
    portal workbooks merge their title lines. Rows are as wide as the sheet's declared dimension
    (openpyxl pads them), and every cell counts against the file's cell budget.
    """
    from openpyxl import load_workbook

    budget = budget or CellBudget(name)
    _check_workbook(data, name, budget)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False,
                                 keep_links=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, EOFError,
            RuntimeError, NotImplementedError, SyntaxError) as exc:
        raise InputError(name, f"not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        for sheet in workbook.worksheets:
            yield Table(sheet=sheet.title, encoding=None, rows=_sheet_rows(sheet, name, budget),
                        format="xlsx")
    finally:
        workbook.close()


def _sheet_rows(sheet, name: str, budget: CellBudget) -> Iterator[tuple[int, list[str]]]:
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            budget.take(len(values), number)
            yield number, [_cell_text(v) for v in values]
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, EOFError,
            RuntimeError, NotImplementedError, SyntaxError) as exc:  # ParseError: SyntaxError
        raise InputError(
            name, f"not a readable XLSX workbook ({exc.__class__.__name__} in sheet "
            f"{sheet.title})"
        ) from None


# --- Parquet ----------------------------------------------------------------------------------

# what pyarrow raises on a corrupt file, besides pyarrow.ArrowException (thrift errors: OSError)
_PARQUET_ERRORS = (EOFError, IndexError, KeyError, OSError, OverflowError, RuntimeError,
                   TypeError, ValueError)


def _unreadable_parquet(name: str, reason: object) -> InputError:
    text = " ".join(str(reason).split()) or reason.__class__.__name__
    if len(text) > 200:
        text = text[:197] + "..."
    return InputError(name, f"not a readable Parquet file: {text}")


def _parquet_magic(source: bytes | BinaryIO) -> tuple[int, bytes, bytes]:
    """Size, first and last 4 bytes of a Parquet file (bytes, or a seekable binary file)."""
    if isinstance(source, bytes):
        return len(source), source[:4], source[-4:]
    size = source.seek(0, os.SEEK_END)
    source.seek(0)
    head = source.read(4)
    source.seek(max(size - 4, 0))
    tail = source.read(4)
    source.seek(0)
    return size, head, tail


def read_parquet(source: bytes | BinaryIO, name: str, budget: CellBudget | None = None
                 ) -> Table:
    """The Parquet file's rows, streamed a record batch at a time (never through pandas).

    `source` is the file's bytes or, to keep the file out of memory, the seekable binary file
    itself (pyarrow then reads its footer and pages as it needs them).

    Row 1 is the header (the column names), the first data row is row 2, as a person counts the
    rows of the same table saved as CSV. Typed cells become the text a CSV would hold, parsed
    later exactly like CSV text: null → blank cell; strings stripped; integers in digits; floats
    in their shortest round-trip digits (a float64 1270.68 reads as "1270.68", so exactly
    1270.68; a float32 as its float32 digits; NaN as "nan", a blank marker, as in a CSV);
    decimals, booleans and dates as Arrow writes them as text. The footer is checked first
    against the cell and unpacked-size limits; a file that is not Parquet (no `PAR1` magic
    bytes), truncated or corrupt is one `InputError` "not a readable Parquet file: ...".
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    budget = budget or CellBudget(name)
    try:
        size, head, tail = _parquet_magic(source)
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror or exc})") from None
    if size < 12 or head != PARQUET_MAGIC or tail != PARQUET_MAGIC:
        where = "start" if head != PARQUET_MAGIC else "end (truncated file?)"
        raise _unreadable_parquet(name, f"no PAR1 magic bytes at its {where}")
    try:
        # no pre-buffering (pyarrow's default reads a whole row group at once): each column is
        # read through a small buffer, a page at a time
        parquet = pq.ParquetFile(pa.BufferReader(source) if isinstance(source, bytes) else source,
                                 buffer_size=PARQUET_READ_BUFFER, pre_buffer=False)
        header = [str(column).strip() for column in parquet.schema_arrow.names]
        rows, row_groups = parquet.metadata.num_rows, parquet.metadata.num_row_groups
        unpacked = sum(parquet.metadata.row_group(i).total_byte_size for i in range(row_groups))
    except (pa.ArrowException, *_PARQUET_ERRORS) as exc:
        raise _unreadable_parquet(name, exc) from None
    if header and (rows + 1) * len(header) > budget.limit:  # + 1: the header row
        raise budget.exceeded(budget.limit // len(header) + 1)  # the row that crosses it
    limit = max_unpacked_bytes()
    if unpacked > limit:
        raise InputError(
            name,
            f"Parquet file unpacks to {human_bytes(unpacked)}, more than the "
            f"{human_bytes(limit)} limit (split it, or set {MAX_UNPACKED_ENV} to raise the limit)",
        )
    return Table(sheet=None, encoding=None, format="parquet",
                 rows=_parquet_rows(parquet, header, name, budget))


def _parquet_rows(parquet, header: list[str], name: str, budget: CellBudget
                  ) -> Iterator[tuple[int, list[str]]]:
    import pyarrow as pa

    budget.take(len(header), 1)
    yield 1, header
    row = 1
    batch_size = max(1, PARQUET_BATCH_CELLS // max(len(header), 1))
    try:
        for batch in parquet.iter_batches(batch_size=batch_size, use_threads=False):
            columns = [_parquet_texts(batch.column(i), name, header[i], row + 1)
                       for i in range(batch.num_columns)]
            for cells in zip(*columns, strict=True):
                row += 1
                budget.take(len(cells), row)
                yield row, list(cells)
            if not columns:
                row += batch.num_rows
    except (pa.ArrowException, *_PARQUET_ERRORS) as exc:
        raise _unreadable_parquet(name, exc) from None
    finally:
        parquet.close()


def _parquet_texts(column, name: str, header: str, first_row: int) -> list[str]:
    """One column of a record batch as cell text (see `read_parquet`)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        for offset, value in enumerate(column.to_pylist()):
            try:
                if value is not None:
                    value.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(name, "binary cell is not UTF-8 text", row=first_row + offset,
                                 column=header) from None
        is_text = True
    try:
        text = column.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return [_cell_text(value) for value in column.to_pylist()]  # nested: Python's text
    values = text.fill_null("").to_pylist()
    return [value.strip() for value in values] if is_text else values
