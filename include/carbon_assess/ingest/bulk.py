"""The one reader of long-layout tables: every long-layout table, whatever its size or format,
is typed, checked and written by DuckDB here.

A long layout is `地区编码,地区,年份,<indicator>(<unit>),...` (or `省份编码,省份,年份,...`, or
national `年份,...`). Python only reads headers and turns what DuckDB cannot scan into a cell
table; DuckDB does the rest:

- CSV: DuckDB reads the file itself, one text column a line split on commas (line number = the
  row number `csv.reader` gives), staged as a table. The header is found and analysed in Python
  (`long_header`: columns used and skipped, duplicate columns, units, notes), and the encoding
  too (UTF-8, or GB18030 transcoded to UTF-8 chunk by chunk). A CSV whose lines are not its rows
  (a quote character, NUL, lone carriage returns, mixed line endings, a line longer than the csv
  module's field limit) is tokenized by Python's csv module into the same cell table, and the
  ingest report's `reader` says so (`_Irregular`);
- Parquet: DuckDB reads the file (`read_parquet`); types other than strings, integers and
  float64 become DuckDB's text of them (`CAST AS VARCHAR`; binary cells must be UTF-8);
- XLSX sheets (openpyxl) and irregular CSVs: `ingest_rows` stages Python's text cells as a
  Parquet cell table in the run's scratch folder, and DuckDB reads that.

Then, in DuckDB: each number is parsed (plain decimal text by DuckDB's correctly rounded cast,
NBS blank markers as blanks, every other text by `parse_number` once per distinct text); years
and units (code and name) through `LongHeader.year` / `.region` once per distinct value, looked
up through an ENUM. The first bad row in file order (a short row, a bad year, an unknown or
mismatched unit, a bad number), the row where the run's row limit is crossed, or where reading
the file stopped (the cell limit, malformed CSV), whichever comes first, is checked again in
Python by `LongHeader.check_row`, which raises the `InputError` naming file, row, column and rule.
One statement per table UNPIVOTs the used columns into Arrow record batches in file order (on
one DuckDB thread); a writer thread hands them to the run's raw writer.

One DuckDB connection serves the whole run (`Sink.duckdb`), with a memory limit
(CARBON_DUCKDB_MEMORY_LIMIT, else 2GB), spilling into the run's scratch folder; each table's
objects are dropped after it. Python never hands Arrow data to DuckDB (that would import pandas
into every ingest): only lists, as query parameters.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import logging
import os
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from carbon_assess.errors import CarbonAssessError, InputError
from carbon_assess.ingest.arrow_values import arrow_array, arrow_arrays, arrow_batch
from carbon_assess.ingest.layouts import (
    BLANKS,
    LongHeader,
    ParsedTable,
    detect_layout,
    long_header,
    parse_number,
)
from carbon_assess.ingest.readers import (
    CHUNK,
    CellBudget,
    _parquet_texts,
    encoding_of,
    read_parquet,
    rows_exceeded,
)
from carbon_assess.ingest.schema import NATIONAL_CODE
from carbon_assess.ingest.sheets import sheet_kind

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

BATCH_ROWS = 131_072  # raw rows a record batch (and a row group of raw/<kind>.parquet)
STAGE_ROWS = 65_536  # Python cell rows a record batch of a staged cell table
# what str.strip() removes: every character c with c.isspace() (tests check the list)
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# text that DuckDB's cast and Python's float() read as the same double (tests check it)
PLAIN_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
# the ingest report's `reader` of a table DuckDB scanned itself
DUCKDB = "duckdb"


class Sink(Protocol):
    """What the reader needs of the run's raw writer (ingest._RawWriter)."""

    discarded: bool
    total: int
    limit: int
    source: tuple[str, str, str | None]  # file, sha256, sheet of the rows added

    def add_columns(self, kind: str, columns: dict[str, Any], rows: int) -> None: ...

    def duckdb(self) -> tuple[Any, Path]:
        """The run's DuckDB connection and a scratch folder for staged tables."""
        ...


@dataclass
class LongTable:
    """A long-layout table read: what it held (observations went to the sink) and how."""

    parsed: ParsedTable
    format: str  # csv, parquet or xlsx
    encoding: str | None
    sha256: str
    size: int
    reader: str = DUCKDB  # who scanned the cells: duckdb, or why Python did


class _Irregular(Exception):
    """A CSV whose lines are not its rows: Python's csv module tokenizes it (`ingest_rows`)."""


class ReaderBug(CarbonAssessError):
    """DuckDB and the Python checks disagree on a table: refused, never read another way."""


# --- SQL text ---------------------------------------------------------------------------------

def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_WS = _lit(WHITESPACE)
_SPACES = "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE)  # in an RE2 character class
_BLANKS = ", ".join(_lit(b) for b in sorted(BLANKS))


def _strip(text: str) -> str:
    """SQL: `text` (not null) as str.strip() leaves it. (trim with a character list is slow,
    so only text that starts or ends with whitespace goes through it.)"""
    return (f"CASE WHEN regexp_matches({text}, {_lit(f'^[{_SPACES}]|[{_SPACES}]$')}) "
            f"THEN trim({text}, {_WS}) ELSE {text} END")


def _has_text(text: str, also: str = "") -> str:
    """SQL: whether `text` holds a character other than whitespace (and those of `also`):
    not empty once stripped (null: false)."""
    return f"coalesce(regexp_matches({text}, {_lit(f'[^{also}{_SPACES}]')}), false)"


@dataclass
class _Col:
    """One column of the `src` view: `c<i>`, with what its cells are."""

    index: int
    # text (a string column), stripped (a CSV field or staged cell, stripped already), int,
    # float (float64) or null (no values)
    kind: str

    @property
    def sql(self) -> str:
        return f"c{self.index}"

    @property
    def is_text(self) -> bool:
        return self.kind in ("text", "stripped")

    def text(self) -> str:
        """SQL: the cell's text (not for float columns: Arrow writes those)."""
        if self.kind == "text":
            return _strip(f"coalesce({self.sql}, '')")
        if self.kind == "stripped":
            return f"coalesce({self.sql}, '')"
        if self.kind == "int":
            return f"coalesce(CAST({self.sql} AS VARCHAR), '')"
        if self.kind == "null":
            return "''"
        raise AssertionError("float cells become text in Arrow")

    def key(self) -> str:
        """SQL: a text standing for the cell's value, one to one (its text but for floats)."""
        if self.kind == "float":
            return f"coalesce(CAST({self.sql} AS VARCHAR), '')"
        return self.text()

    def filled(self) -> str:
        """SQL: whether the cell's text is not empty."""
        if self.kind in ("int", "float"):
            return f"{self.sql} IS NOT NULL"
        if self.kind == "null":
            return "false"
        if self.kind == "stripped":
            return f"coalesce({self.sql} <> '', false)"
        return _has_text(self.sql)


@dataclass
class _Source:
    """A table DuckDB reads as the view `src` (source_row, [nf,] c0..cN) and `rows` (its
    non-empty data rows), with its header as read."""

    con: Any
    name: str  # the file (and sheet) errors name
    header_row: int
    raw_header: list[str]
    cols: list[_Col]
    short_rows: bool = False  # `nf` fields a row; fewer than the header is an error
    nonempty: str | None = None  # SQL: whether a row has a cell (None: one of its columns)
    # where reading the table stopped early, and why (the cell limit, malformed CSV...): no
    # row from `stop_row` on is in `src`
    stop_row: int | None = None
    stop: InputError | None = None

    def texts(self, table: Any, cols: list[_Col]) -> list[list[str]]:
        """The Python cell texts of columns `cols` in a DuckDB result (Arrow), row by row:
        strings stripped, numbers as Arrow writes them (`readers._parquet_texts`)."""
        import pyarrow as pa

        out = []
        for col in cols:
            array = table.column(col.sql).combine_chunks()
            if pa.types.is_string_view(array.type):
                array = array.cast(pa.string())
            if pa.types.is_string(array.type):
                out.append([(v or "").strip() for v in array.to_pylist()])
            else:
                out.append(_parquet_texts(array, self.name, self.raw_header[col.index], 0))
        return [list(row) for row in zip(*out, strict=True)]

    def row_cells(self, row: int) -> list[str]:
        """The cells of data row `row`, as read (as many as the row has)."""
        names = ", ".join(c.sql for c in self.cols)
        extra = ", nf" if self.short_rows else ""
        table = self.con.sql(f"SELECT {names}{extra} FROM src WHERE source_row = {row}"
                             ).to_arrow_table()
        cells = self.texts(table, self.cols)[0]
        if self.short_rows:
            fields = table.column("nf")[0].as_py()
            cells = cells[:fields] + [""] * (fields - len(cells))
        return cells


def is_long_header(header: list[str]) -> bool:
    """Whether `header` (a table's first non-empty row) is a long-layout header: not an
    assessment sheet, and a year column."""
    return any(header) and sheet_kind(header) is None and detect_layout(header) == "long"


# --- entry points -----------------------------------------------------------------------------

def ingest_parquet(handle: BinaryIO, name: str, sha256: str, size: int, sink: Sink
                   ) -> LongTable | None:
    """Read a Parquet file (`handle`, open and hashed) if its header is a long layout; None
    when it is not (an assessment sheet, or no NBS layout: the caller reads its rows). Raises
    `InputError` for bad input."""
    import pyarrow.parquet as pq

    handle.seek(0)
    read_parquet(handle, name, CellBudget(name))  # the footer checks: magic, cells, unpacked
    handle.seek(0)
    schema = pq.ParquetFile(handle).schema_arrow
    header = [str(n).strip() for n in schema.names]
    if not is_long_header(header):
        return None
    con, _ = sink.duckdb()
    path = _fd_path(handle)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)}, "
                                "hive_partitioning = false)").fetchall()
        if len(described) != len(header):
            raise InputError(name, f"not a readable Parquet file: DuckDB reads "
                             f"{len(described)} columns, the schema names {len(header)}")
        cols, select = [], []
        for i, (field_, column) in enumerate(zip(schema, described, strict=True)):
            kind, expr = _parquet_column(field_.type, _ident(column[0]))
            cols.append(_Col(i, kind))
            select.append(f"{expr} AS c{i}")
        con.execute(
            f"CREATE VIEW src AS SELECT file_row_number + 2 AS source_row, {', '.join(select)} "
            f"FROM read_parquet({_lit(path)}, file_row_number = true, "
            "hive_partitioning = false)")
        _check_binary(con, name, header, schema, path)
        parsed = _ingest(_Source(con, name, 1, header, cols), sink)
    except _duckdb_errors() as exc:
        raise InputError(name, f"not a readable Parquet file: {_first_line(exc)}") from None
    finally:
        _reset(con)
    return LongTable(parsed, "parquet", None, sha256, size)


def ingest_csv(handle: BinaryIO, name: str, sink: Sink) -> LongTable | None:
    """Read a CSV (`handle`, open, size-checked) if its header is a long layout; None when it
    is not (a portal export, an assessment sheet, no NBS layout, an empty file: the caller
    reads its rows). Raises `InputError` for bad input, `_Irregular` when its lines are not
    its rows."""
    con, scratch = sink.duckdb()
    scan = _scan_csv(handle, name, scratch)
    try:
        if scan.size == 0:
            return None
        if scan.path is None:
            handle.seek(0)
            header_row, header, used = _header(handle, scan.encoding, name)
        else:
            with scan.path.open("rb") as copy:
                header_row, header, used = _header(copy, "utf-8", name)
        if header is None or not is_long_header(header):
            return None
        sink.source = (name, scan.sha256, None)
        try:
            source = _stage_csv(con, handle, name, scan, header_row, header, used)
            parsed = _ingest(source, sink)
        except _duckdb_errors() as exc:
            raise ReaderBug(f"{name}: DuckDB could not read the CSV: {_first_line(exc)}"
                            ) from None
        finally:
            _reset(con)
    finally:
        if scan.path is not None:
            scan.path.unlink(missing_ok=True)
    return LongTable(parsed, "csv", scan.encoding, scan.sha256, scan.size)


def ingest_rows(rows: Iterator[tuple[int, list[str]]], header_row: int, header: list[str],
                where: str, sink: Sink) -> ParsedTable:
    """Read a long-layout table whose cells Python read (an XLSX sheet, an irregular CSV):
    `rows`, the data rows after the header, are staged as a Parquet cell table and typed by
    the same DuckDB statements as a CSV. An `InputError` while reading them (the cell limit,
    malformed CSV, an unreadable sheet) ends the table there; it is raised unless an earlier
    row holds an error of its own."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    con, scratch = sink.duckdb()
    width = len(header)
    schema = pa.schema([("source_row", pa.int64()), ("nf", pa.int64()), ("ne", pa.bool_()),
                        *((f"c{i}", pa.string()) for i in range(width))])
    staged = scratch / "cells.parquet"
    stop: InputError | None = None
    last = header_row
    try:
        with pq.ParquetWriter(staged, schema) as writer:
            for batch in _row_batches(rows, width):
                last = batch[0][-1]
                writer.write_batch(arrow_batch(dict(zip(schema.names, batch, strict=True)),
                                               schema))
    except InputError as exc:
        stop = exc
    try:
        con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet({_lit(str(staged))})")
        stop_row = None
        if stop is not None:
            stop_row = stop.row if stop.row is not None else last + 1
        source = _Source(con, where, header_row, header,
                         [_Col(i, "stripped") for i in range(width)], short_rows=True,
                         nonempty="ne", stop_row=stop_row, stop=stop)
        return _ingest(source, sink)
    except _duckdb_errors() as exc:
        raise ReaderBug(f"{where}: DuckDB could not read the cell table: {_first_line(exc)}"
                        ) from None
    finally:
        _reset(con)
        staged.unlink(missing_ok=True)


def _row_batches(rows: Iterable[tuple[int, list[str]]], width: int
                 ) -> Iterator[list[list[Any]]]:
    """Python's cell rows as columns (source_row, nf, ne, c0..c<width-1>), STAGE_ROWS at a
    time. Cells beyond the header's width are not kept (they are not read)."""
    columns: list[list[Any]] = [[] for _ in range(width + 3)]
    for number, cells in rows:
        columns[0].append(number)
        columns[1].append(len(cells))
        columns[2].append(any(cells))
        for i in range(width):
            columns[i + 3].append(cells[i] if i < len(cells) else None)
        if len(columns[0]) >= STAGE_ROWS:
            yield columns
            columns = [[] for _ in range(width + 3)]
    if columns[0]:
        yield columns


# --- Parquet and CSV sources ------------------------------------------------------------------

def _parquet_column(kind: Any, column: str) -> tuple[str, str]:
    """A Parquet column's kind for `_Col` and its SQL in `src`: strings, integers and float64
    as they are; anything else (float32, decimals, dates, booleans, binary...) as DuckDB's
    text of it."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(
            kind):
        return "text", column
    if pa.types.is_integer(kind):
        return "int", column
    if pa.types.is_float64(kind):
        return "float", column
    if pa.types.is_null(kind):
        return "null", column
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "text", f"decode({column})"
    return "text", f"CAST({column} AS VARCHAR)"


def _check_binary(con: Any, name: str, header: list[str], schema: Any, path: str) -> None:
    """Binary cells must be UTF-8 text: the first one that is not is an error."""
    import pyarrow as pa

    for i, field_ in enumerate(schema):
        if pa.types.is_binary(field_.type) or pa.types.is_large_binary(field_.type):
            column = _ident(field_.name)
            row = con.execute(
                f"SELECT min(file_row_number) + 2 FROM read_parquet({_lit(path)}, "
                f"file_row_number = true, hive_partitioning = false) "
                f"WHERE {column} IS NOT NULL AND try(decode({column})) IS NULL").fetchall()[0][0]
            if row is not None:
                raise InputError(name, "binary cell is not UTF-8 text", row=row,
                                 column=header[i])


def _fd_path(handle: BinaryIO) -> str:
    """A path DuckDB opens as the very file `handle` is (not whatever the name now names)."""
    path = f"/proc/self/fd/{handle.fileno()}"
    if not os.path.exists(path):  # pragma: no cover (not Linux)
        path = handle.name if isinstance(handle.name, str) else ""
    if not path:  # pragma: no cover
        raise ReaderBug("no path for an open landing file")
    return path


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [exc.__class__.__name__])[0]


def _reset(con: Any) -> None:
    """Drop one table's objects, so that the run's connection serves the next table."""
    for statement in ("DROP VIEW IF EXISTS rows", "DROP VIEW IF EXISTS src",
                      "DROP TABLE IF EXISTS csv_rows", "DROP TABLE IF EXISTS bad_keys",
                      "DROP TABLE IF EXISTS enum_keys", "DROP TYPE IF EXISTS e_year",
                      "DROP TYPE IF EXISTS e_region", "DROP TYPE IF EXISTS e_other"):
        con.execute(statement)


@dataclass
class _CsvScan:
    sha256: str
    size: int
    lines: int
    encoding: str
    path: Path | None  # the transcoded UTF-8 copy (GB18030), else None: the file itself


def _scan_csv(handle: BinaryIO, name: str, scratch: Path) -> _CsvScan:
    """One pass over the file: SHA-256, line count and encoding (UTF-8, else GB18030; anything
    else is `encoding_of`'s error). `_Irregular` when a line is not a row: a quote, NUL or SOH
    byte, a carriage return other than in CRLF line ends, or mixed line ends."""
    digest = hashlib.sha256()
    size = lf = cr = crlf = 0
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    utf8 = True
    bom = False
    irregular = None
    last = b""
    handle.seek(0)
    while chunk := handle.read(CHUNK):
        if not size:
            bom = chunk.startswith(codecs.BOM_UTF8)
        if irregular is None and (b'"' in chunk or b"\x00" in chunk or b"\x01" in chunk):
            irregular = "quoted fields, NUL or SOH bytes"
        digest.update(chunk)
        size += len(chunk)
        lf += chunk.count(b"\n")
        cr += chunk.count(b"\r")
        crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
        last = chunk[-1:]
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    head = _head(handle)
    if size and (head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head
                 or (bom and not utf8)):
        _encoding(handle, name)  # raises: UTF-16/32, or a UTF-8 BOM over other bytes
    path = None
    if size and not utf8:
        try:
            path = _transcode(handle, scratch)
        except UnicodeDecodeError:
            _encoding(handle, name)  # raises: neither UTF-8 nor GB18030, naming the line
            raise ReaderBug(f"{name}: not GB18030, yet its encoding was accepted") from None
    if irregular is None and (cr != crlf or crlf not in (0, lf)):
        irregular = "carriage returns other than CRLF line ends"
    if irregular is not None:
        if path is not None:
            path.unlink(missing_ok=True)
        raise _Irregular(irregular)
    lines = lf + (last != b"\n") if size else 0
    encoding = ("utf-8-sig" if bom else "utf-8") if utf8 else "gb18030"
    return _CsvScan(digest.hexdigest(), size, lines, encoding, path)


def _head(handle: BinaryIO) -> bytes:
    handle.seek(0)
    return handle.read(4096)


def _encoding(handle: BinaryIO, name: str) -> str:
    """The CSV's encoding as `readers.encoding_of` finds it (raising its error)."""
    handle.seek(0)
    return encoding_of(handle.read(), name)


def _transcode(handle: BinaryIO, scratch: Path) -> Path:
    """The GB18030 file as UTF-8, in the scratch folder (a chunk at a time)."""
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    target = scratch / "transcoded.csv"
    handle.seek(0)
    with target.open("wb") as out:
        while chunk := handle.read(CHUNK):
            out.write(decoder.decode(chunk).encode("utf-8"))
        out.write(decoder.decode(b"", final=True).encode("utf-8"))
    return target


def _header(stream: BinaryIO, encoding: str, name: str) -> tuple[int, list[str] | None, int]:
    """The first non-empty row (line number, stripped cells; None: no such row), as
    `readers.read_csv` reads it, and the cells read up to it (against the file's cell limit)."""
    budget = CellBudget(name)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        reader = csv.reader(text, strict=True)
        for cells in reader:
            budget.take(len(cells), reader.line_num)
            stripped = [c.strip() for c in cells]
            if any(stripped):
                return reader.line_num, stripped, budget.used
    except csv.Error:  # (a field longer than the csv module's limit)
        raise _Irregular("a line the csv module refuses") from None
    finally:
        text.detach()
    return 0, None, budget.used


def _stage_csv(con: Any, handle: BinaryIO, name: str, scan: _CsvScan, header_row: int,
               header: list[str], used: int) -> _Source:
    """The CSV's data lines as a DuckDB table (line number, field count, whether the row is
    blank, stripped fields), and the `src` view over it."""
    path = _fd_path(handle) if scan.path is None else str(scan.path)
    budget = CellBudget(name)
    width = len(header)
    fields = ", ".join(f"f[{i + 1}] AS c{i}" for i in range(width))
    # one thread (the connection's): a parallel scan would number the lines in the order its
    # chunks arrive. Fields are stripped in one lambda (written once, not once a column).
    con.execute(
        f"CREATE TABLE csv_rows AS SELECT source_row, nf, ne, width, {fields} FROM ("
        f"SELECT source_row, CASE WHEN l IS NULL THEN 0 ELSE len(f) END AS nf, "
        f"{_has_text('l', also=',')} AS ne, coalesce(length(l), 0) AS width, "
        f"list_transform(f, lambda x: {_strip('x')}) AS f "
        f"FROM (SELECT row_number() OVER () AS source_row, l, string_split(l, ',') AS f "
        f"FROM read_csv({_lit(path)}, columns = {{'l': 'VARCHAR'}}, header = false, "
        "delim = '\x01', quote = '', escape = '', auto_detect = false, "
        "compression = 'none', null_padding = false)) "
        f"WHERE source_row > {header_row})")
    cells, longest, lines = con.execute(
        "SELECT coalesce(sum(nf), 0), coalesce(max(width), 0), count(*) FROM csv_rows"
    ).fetchall()[0]
    if lines != scan.lines - header_row:
        raise ReaderBug(f"{name}: DuckDB read {lines} lines after the header, the file has "
                        f"{scan.lines - header_row}")
    if longest > csv.field_size_limit():
        raise _Irregular("a line longer than the csv module's field limit")
    con.execute("CREATE VIEW src AS SELECT * FROM csv_rows")
    source = _Source(con, name, header_row, header, [_Col(i, "stripped") for i in range(width)],
                     short_rows=True, nonempty="ne")
    if used + cells > budget.limit:  # the row where reading stops: the file's cell limit
        source.stop_row = con.execute(
            f"SELECT source_row FROM (SELECT source_row, sum(nf) OVER (ORDER BY source_row "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS used FROM src) "
            f"WHERE used > {budget.limit - used} ORDER BY source_row LIMIT 1"
        ).fetchall()[0][0]
        source.stop = budget.exceeded(source.stop_row)
    return source


def _duckdb_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    return (duckdb.Error,)


# --- the common part: keys, numbers, errors, rows ---------------------------------------------

@dataclass
class _Map:
    """Distinct cell keys of a column (or a pair) → what the Python checks make of them."""

    keys: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)


def _ingest(source: _Source, sink: Sink) -> ParsedTable:
    con, name, cols = source.con, source.name, source.cols
    filled = source.nonempty or " OR ".join(c.filled() for c in cols)
    con.execute(f"CREATE VIEW rows AS SELECT * FROM src WHERE {filled}")
    count = con.execute("SELECT count(*) FROM rows").fetchall()[0][0]
    if not count:
        if source.stop is not None:
            raise source.stop
        raise InputError(name, "header only, no data rows", row=source.header_row)
    head = long_header(source.header_row, source.raw_header, name)
    analysis = _analyse(source, head)
    nv = len(head.value_cols)
    observations = count * nv
    crossing = None
    if observations and not sink.discarded and sink.total + observations > sink.limit:
        crossing = sink.limit - sink.total  # 0-based: the observation of this file that fails
    rows = [r for r in (analysis.first_bad, source.stop_row) if r is not None]
    over: tuple[int, int] | None = None  # the row crossing the run's row limit, and where
    if crossing is not None:
        over = (con.execute(f"SELECT source_row FROM rows ORDER BY source_row LIMIT 1 "
                            f"OFFSET {crossing // nv}").fetchall()[0][0], crossing % nv)
        rows.append(over[0])
    if rows:
        _raise_at(source, head, min(rows), over, sink.limit)
    parsed = head.finish(analysis.unnamed_with_values, analysis.recoded)
    for _, indicator in head.value_cols:
        parsed.counts[indicator.source_kind] = parsed.counts.get(indicator.source_kind, 0) + count
    if observations and not sink.discarded:
        _write(source, head, analysis, sink, observations)
    return parsed


@dataclass
class _Analysis:
    years: _Map
    regions: _Map | None  # None: a national file
    others: _Map  # texts of number cells that are not plain numbers nor blank markers
    recoded: dict[str, str]
    unnamed_with_values: set[int]
    first_bad: int | None


def _simple(text: str) -> str:
    """SQL: the cell text is a blank marker or a plain number DuckDB reads as Python does."""
    return (f"({text} IN ({_BLANKS}) OR (regexp_full_match({text}, {_lit(PLAIN_NUMBER)}) "
            f"AND coalesce(isfinite(TRY_CAST({text} AS DOUBLE)), false)))")


def _region_key(source: _Source, head: LongHeader) -> str | None:
    if head.province_col is None:
        return None
    if head.code_col is not None and head.name_col is not None:
        code, name = source.cols[head.code_col].key(), source.cols[head.name_col].key()
        return f"(length({code})::VARCHAR || ':' || {code} || {name})"
    return source.cols[head.province_col].key()


def _distinct(source: _Source, key: str, indexes: list[int]) -> tuple[list[str], list[list[str]]]:
    """Distinct keys of the data rows and, for each, the Python texts of columns `indexes`
    (the key determines them: SQL gives the texts, but Arrow formats floats)."""
    cols = [source.cols[i] for i in indexes]
    values = ", ".join(f"{c.sql if c.kind == 'float' else c.text()} AS {c.sql}" for c in cols)
    query = f"SELECT DISTINCT {key} AS key, {values} FROM rows"
    if any(c.kind == "float" for c in cols):
        table = source.con.sql(query).to_arrow_table()
        keys, texts = table.column("key").to_pylist(), source.texts(table, cols)
    else:  # text only: no Arrow round trip (it costs milliseconds a query)
        found = source.con.execute(query).fetchall()
        keys, texts = [r[0] for r in found], [[t.strip() for t in r[1:]] for r in found]
    if len(set(keys)) != len(keys):
        raise ReaderBug(f"{source.name}: cell values that are not told apart by their text")
    return keys, texts


def _analyse(source: _Source, head: LongHeader) -> _Analysis:
    con, name, cols, width = source.con, source.name, source.cols, len(source.cols)
    # years
    years = _Map()
    keys, texts = _distinct(source, cols[head.year_col].key(), [head.year_col])
    for key, (text,) in zip(keys, texts, strict=True):
        cells = [""] * width
        cells[head.year_col] = text
        try:
            years.values.append(head.year(cells, name, 0))
            years.keys.append(key)
        except InputError:
            years.bad.append(key)
    # units
    regions: _Map | None = None
    recoded: dict[str, str] = {}
    region_key = _region_key(source, head)
    if region_key is not None:
        regions = _Map()
        indexes = [i for i in (head.code_col, head.name_col) if i is not None]
        keys, texts = _distinct(source, region_key, indexes)
        for key, row in zip(keys, texts, strict=True):
            cells = [""] * width
            for i, text in zip(indexes, row, strict=True):
                cells[i] = text
            try:
                code, old = head.region(cells, name, 0)
            except InputError:
                regions.bad.append(key)
                continue
            regions.keys.append(key)
            regions.values.append(code)
            if old is not None:
                recoded[old] = code
    # numbers: texts that are neither blank markers nor plain numbers, parsed by parse_number
    others = _Map()
    texts_sql = [cols[i].text() for i, _ in head.value_cols if cols[i].is_text]
    if texts_sql:
        listed = ", ".join(texts_sql)
        for (text,) in con.execute(
                f"SELECT DISTINCT t FROM (SELECT unnest([{listed}]) AS t FROM rows) "
                f"WHERE NOT {_simple('t')}").fetchall():
            try:
                others.values.append(parse_number(text, name, 0, ""))
                others.keys.append(text)
            except InputError:
                others.bad.append(text)
    # a row count, short rows, infinite floats and unnamed columns with values, in one scan
    checks = []
    if source.short_rows:
        checks.append(f"count(*) FILTER (WHERE nf < {width})")
    floats = [cols[i] for i, _ in head.value_cols if cols[i].kind == "float"]
    if floats:
        infinite = " OR ".join(f"isinf({c.sql})" for c in floats)
        checks.append(f"count(*) FILTER (WHERE {infinite})")
    checks += [f"bool_or({cols[i].filled()})" for i in head.unnamed]
    found = con.execute(f"SELECT {', '.join(checks)} FROM rows").fetchall()[0] if checks else ()
    flags = list(found)
    short = flags.pop(0) if source.short_rows else 0
    infinite_cells = flags.pop(0) if floats else 0
    unnamed = {i for i, value in zip(head.unnamed, flags, strict=True) if value}
    first_bad = None
    if short or infinite_cells or years.bad or others.bad or (regions and regions.bad):
        first_bad = _first_bad(source, head, years, regions, others, floats, region_key)
    return _Analysis(years, regions, others, recoded, unnamed, first_bad)


def _first_bad(source: _Source, head: LongHeader, years: _Map, regions: _Map | None,
               others: _Map, floats: list[_Col], region_key: str | None) -> int | None:
    """The first data row holding a cell the Python checks refuse."""
    con, cols = source.con, source.cols
    where = []
    if source.short_rows:
        where.append(f"nf < {len(cols)}")
    where += [f"isinf({c.sql})" for c in floats]
    bad = [(set_, values, key) for set_, values, key in (
        (0, years.bad, cols[head.year_col].key()),
        (1, regions.bad if regions else [], region_key),
        (2, others.bad, None)) if values]
    if bad:
        con.execute("CREATE TABLE bad_keys AS SELECT unnest($1::INTEGER[]) AS set_, "
                    "unnest($2::VARCHAR[]) AS key",
                    [[s for s, values, _ in bad for _ in values],
                     [v for _, values, _ in bad for v in values]])
    for set_, _, key in bad:
        lookup = f"(SELECT key FROM bad_keys WHERE set_ = {set_})"
        if key is not None:
            where.append(f"{key} IN {lookup}")
        else:
            where += [f"{cols[i].text()} IN {lookup}"
                      for i, _ in head.value_cols if cols[i].is_text]
    return con.execute(f"SELECT min(source_row) FROM rows WHERE {' OR '.join(where)}"
                       ).fetchall()[0][0]


def _raise_at(source: _Source, head: LongHeader, row: int, over: tuple[int, int] | None,
              limit: int) -> None:
    """Raise the error of data row `row`: where reading stopped, else the row's cells checked
    in Python (`over`: the row where the run's row limit is crossed, and at which of its
    observations)."""
    name = source.name
    if row == source.stop_row and source.stop is not None:
        raise source.stop
    cells = source.row_cells(row)
    fails = over[1] if over is not None and over[0] == row else None

    def checked(j: int) -> None:
        if j == fails:
            raise rows_exceeded(name, limit, row)

    head.check_row(cells, name, row, checked)
    raise ReaderBug(f"{name}: row {row} was refused by DuckDB, yet its cells check")


def _enum(con: Any, type_name: str, keys: list[str]) -> None:
    """An ENUM of `keys` in this order (its codes index the mapped values)."""
    con.execute("CREATE OR REPLACE TABLE enum_keys AS SELECT unnest($1::VARCHAR[]) AS key, "
                "unnest(range(len($1::VARCHAR[]))) AS i", [keys])
    con.execute(f"CREATE TYPE {type_name} AS ENUM (SELECT key FROM enum_keys ORDER BY i)")


def _write(source: _Source, head: LongHeader, analysis: _Analysis, sink: Sink,
           observations: int) -> None:
    """One statement: the used columns UNPIVOTed, a row per cell in file order, each number
    parsed (and converted to the canonical unit); record batches to the raw writer."""
    import pyarrow as pa
    import pyarrow.compute as pc

    con, cols = source.con, source.cols
    _enum(con, "e_year", analysis.years.keys)
    keys = {"source_row": "source_row",  # alias -> SQL; yi, ri: the year's and unit's index
            "yi": f"enum_code(CAST({cols[head.year_col].key()} AS e_year))"}
    if analysis.regions is not None:
        _enum(con, "e_region", analysis.regions.keys)
        keys["ri"] = f"enum_code(CAST({_region_key(source, head)} AS e_region))"
    other = "NULL::DOUBLE"
    if analysis.others.keys:
        _enum(con, "e_other", analysis.others.keys)
        con.execute("SET VARIABLE bulk_other = CAST($1 AS DOUBLE[])",
                    [[None if v is None else float(v) for v in analysis.others.values]])
        other = "getvariable('bulk_other')[enum_code(TRY_CAST(t AS e_other)) + 1]"
    con.execute("SET VARIABLE bulk_factor = CAST($1 AS DOUBLE[])",
                [[float(indicator.factor) for _, indicator in head.value_cols]])
    # each used cell as (text to parse, number, source text, float): the cells are UNPIVOTed
    # first and parsed after, so the parsing SQL is written (and planned) once, not per column
    cells = []
    for j, (i, _) in enumerate(head.value_cols):
        col = cols[i]
        if col.is_text:
            cells.append(f"{col.text()} AS t{j}, NULL::DOUBLE AS x{j}, NULL::VARCHAR AS s{j}, "
                         f"NULL::DOUBLE AS n{j}")
        elif col.kind == "int":
            cells.append(f"NULL::VARCHAR AS t{j}, CAST({col.sql} AS DOUBLE) AS x{j}, "
                         f"{col.text()} AS s{j}, NULL::DOUBLE AS n{j}")
        elif col.kind == "float":
            cells.append(f"NULL::VARCHAR AS t{j}, CASE WHEN isnan({col.sql}) THEN NULL "
                         f"ELSE {col.sql} END AS x{j}, NULL::VARCHAR AS s{j}, {col.sql} AS n{j}")
        else:
            cells.append(f"NULL::VARCHAR AS t{j}, NULL::DOUBLE AS x{j}, '' AS s{j}, "
                         f"NULL::DOUBLE AS n{j}")
    names = ", ".join(keys)
    inner = ", ".join([*(f"{sql} AS {alias}" for alias, sql in keys.items()), *cells])
    labels = ", ".join(f"(t{j}, x{j}, s{j}, n{j}) AS '{j}'"
                       for j in range(len(head.value_cols)))
    number = (f"CASE WHEN t IS NULL THEN x WHEN t IN ({_BLANKS}) THEN NULL "
              f"WHEN {_simple('t')} THEN TRY_CAST(t AS DOUBLE) ELSE {other} END")
    sql = (f"SELECT {names}, col, {number} * getvariable('bulk_factor')[col + 1] AS value, "
           f"coalesce(s, t) AS txt, num FROM (SELECT {names}, CAST(col AS INTEGER) AS col, t, x, "
           f"s, num FROM (SELECT {inner} FROM rows) "
           f"UNPIVOT INCLUDE NULLS ((t, x, s, num) FOR col IN ({labels})))")

    indicators = [indicator for _, indicator in head.value_cols]
    text = pa.string()
    per_col = arrow_arrays({
        "variable": [d.variable for d in indicators],
        "fuel": [d.fuel for d in indicators],
        "unit": [d.canonical_unit for d in indicators],
        "source_unit": [d.source_unit for d in indicators],
        "source_column": [head.cells[i] for i, _ in head.value_cols],
    }, dict.fromkeys(("variable", "fuel", "unit", "source_unit", "source_column"), text))
    columns_of: dict[str, list[int]] = {}  # source kind -> its value columns' positions
    for j, indicator in enumerate(indicators):
        columns_of.setdefault(indicator.source_kind, []).append(j)
    kinds = {kind: arrow_array(js, pa.int32()) for kind, js in columns_of.items()}
    years = arrow_array(analysis.years.values, pa.int32())
    regions = arrow_array(analysis.regions.values if analysis.regions else [], text)
    per_col["national"] = arrow_array([NATIONAL_CODE], text)
    per_col["empty"] = arrow_array([""], text)

    def parts(batch: Any) -> Iterator[tuple[str, dict[str, Any], int]]:
        for kind, js in kinds.items():
            part = batch if len(kinds) == 1 else batch.filter(
                pc.is_in(batch.column("col"), value_set=js))
            if part.num_rows:
                yield kind, _columns(part, per_col, years, regions), part.num_rows

    # (the connection runs one DuckDB thread: rows in file order; a parallel streaming result
    # may reorder chunks)
    if observations <= BATCH_ROWS:  # one batch: no reader, no writer thread
        for batch in con.sql(sql).to_arrow_table().combine_chunks().to_batches():
            for part in parts(batch):
                sink.add_columns(*part)
        return
    # Parquet encoding runs beside DuckDB in the writer thread
    with con.sql(sql).to_arrow_reader(BATCH_ROWS) as reader, _Writer(sink) as out:
        for batch in reader:
            for part in parts(batch):
                out.put(*part)


class _Writer:
    """The raw writer fed from a thread of its own, so that Parquet encoding (pyarrow, without
    the GIL) overlaps DuckDB making the next batches; at most `DEPTH` batches wait."""

    DEPTH = 2

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.queue: queue.Queue[tuple[str, dict[str, Any], int] | None] = queue.Queue(
            self.DEPTH)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bulk-raw-writer", daemon=True)

    def __enter__(self) -> _Writer:
        self.thread.start()
        return self

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.sink.add_columns(*item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self.error = exc

    def put(self, kind: str, columns: dict[str, Any], rows: int) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((kind, columns, rows))

    def __exit__(self, *exc: object) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


def _columns(batch: Any, per_col: dict[str, Any], years: Any, regions: Any) -> dict[str, Any]:
    """A record batch of the UNPIVOT as raw columns (all but the file's and the run's)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = batch.column("col")
    rows = batch.num_rows
    if "ri" in batch.schema.names:
        region = pc.take(regions, batch.column("ri"))
    else:  # the national code on every row: index 0 of a one-element array, `rows` times
        region = pc.take(per_col["national"], pc.subtract(col, col))
    text = batch.column("txt")
    if pa.types.is_string_view(text.type):
        text = text.cast(pa.string())
    number = batch.column("num")
    if number.null_count < rows:  # float64 cells: Arrow's text of the value, as read_parquet
        formatted = pc.coalesce(number.cast(pa.string()), per_col["empty"][0])
        text = pc.if_else(pc.is_null(text), formatted, text)
    return {
        "region_code": region,
        "year": pc.take(years, batch.column("yi")),
        "variable": pc.take(per_col["variable"], col),
        "fuel": pc.take(per_col["fuel"], col),
        "value": batch.column("value"),
        "unit": pc.take(per_col["unit"], col),
        "source_value": text.cast(pa.string()),
        "source_unit": pc.take(per_col["source_unit"], col),
        "source_row": batch.column("source_row").cast(pa.int32()),
        "source_column": pc.take(per_col["source_column"], col),
    }
