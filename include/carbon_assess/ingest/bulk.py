"""Bulk ingest: large long-layout CSV and Parquet files read by DuckDB, never cell by cell in
Python, with the same raw rows, report and errors as the row-by-row reader (layouts.py).

A long-layout file (`地区编码,地区,年份,<indicator>(<unit>),...`, or `省份编码,省份,年份,...`,
or national `年份,...`) of at least `min_rows()` data rows (CARBON_ASSESS_BULK_MIN_ROWS,
default 100,000; 0: every long-layout file) is read here; any other file, and any file this
module cannot read exactly as the row-by-row reader does, is left to it (`None` is returned):

- the header is found and analysed in Python by the row-by-row reader's own functions
  (`detect_layout`, `long_header`: columns used and skipped, duplicate columns, units, notes);
- DuckDB then reads the file streaming (Parquet directly; a CSV as one text column a line,
  split on commas, staged as Parquet in the run's scratch folder). A CSV is read here only
  when it has no quote character, NUL, lone carriage return or mixed line endings, so that a
  line is a row and the line number is the row number `csv.reader` gives; GB18030 is
  transcoded to UTF-8 first (chunk by chunk);
- each cell's text is the text the row-by-row reader sees (strings stripped of the whitespace
  `str.strip` removes; Parquet integers in digits, floats formatted by Arrow as in
  `readers._parquet_texts`), each number is parsed as `parse_number` parses it: plain decimal
  text by DuckDB's (correctly rounded) cast, NBS blank markers as blanks, and every other text
  (thousands separators, full-width digits, ...) by `parse_number` itself, once per distinct
  text; years and units (code and name) likewise through `LongHeader.year` / `.region`, once
  per distinct value, then looked up by DuckDB through an ENUM (no join: the rows keep their
  file order);
- errors: the first bad row in file order (a short row, a bad year, an unknown or mismatched
  unit, a bad number), the row where the run's row limit or (CSV) the file's cell limit is
  crossed, whichever comes first, is parsed again by the row-by-row reader, which raises the
  very `InputError` it raises on the whole file;
- rows: one DuckDB statement per file UNPIVOTs the used columns into Arrow record batches, in
  file order (that statement, and the numbering of CSV lines, run on one DuckDB thread: a
  parallel scan may hand its chunks on out of order); Arrow adds the texts of float cells
  and the lineage, and a writer thread hands the batches to the run's raw writer (Parquet
  encoding overlaps DuckDB), which stages them with the other files' rows (one file per kind,
  in landing order) and commits or discards them all together.

DuckDB runs with a memory limit (CARBON_DUCKDB_MEMORY_LIMIT, else 2GB) and spills to a
temporary folder inside the run's work directory; Python holds a few record batches at a time
and the distinct keys (years, units, unusual number texts) of one file.
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
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from carbon_assess.errors import CarbonAssessError, InputError
from carbon_assess.ingest.layouts import (
    BLANKS,
    LongHeader,
    Observation,
    ParsedTable,
    detect_layout,
    long_header,
    parse_number,
    parse_table,
)
from carbon_assess.ingest.readers import (
    CHUNK,
    CellBudget,
    _parquet_texts,
    read_parquet,
    rows_exceeded,
)
from carbon_assess.ingest.schema import NATIONAL_CODE
from carbon_assess.ingest.sheets import sheet_kind
from carbon_assess.settings import duckdb_connect

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

MIN_ROWS_ENV = "CARBON_ASSESS_BULK_MIN_ROWS"
# data rows; smaller files are read row by row (layouts.py). The real NBS provincial batch has
# 12,780 rows in all; a county-level national file (benchmarks/generate_landing.py) 128,240
DEFAULT_MIN_ROWS = 100_000
BATCH_ROWS = 131_072  # raw rows a record batch (and a row group of raw/<kind>.parquet)
# what str.strip() removes: every character c with c.isspace() (tests check the list)
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# text that DuckDB's cast and Python's float() read as the same double (tests check it)
PLAIN_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def min_rows() -> int:
    """From how many data rows a long-layout CSV or Parquet file is read in bulk:
    $CARBON_ASSESS_BULK_MIN_ROWS, else 100,000 (0: every long-layout file)."""
    raw = os.environ.get(MIN_ROWS_ENV, "").strip()
    if not raw:
        return DEFAULT_MIN_ROWS
    try:
        return max(int(float(raw.replace("_", ""))), 0)
    except (ValueError, OverflowError):
        raise CarbonAssessError(f"{MIN_ROWS_ENV}={raw!r} is not a number of rows") from None


class Sink(Protocol):
    """What bulk ingest needs of the run's raw writer (ingest._RawWriter)."""

    discarded: bool
    total: int
    limit: int
    source: tuple[str, str, str | None]  # file, sha256, sheet of the rows added

    def add_columns(self, kind: str, columns: dict[str, Any], rows: int) -> None: ...


@dataclass
class BulkTable:
    """A file read in bulk: what the row-by-row reader's table and parse would have said."""

    parsed: ParsedTable
    format: str  # csv or parquet
    encoding: str | None
    sha256: str
    size: int


class _Decline(Exception):
    """This file is not for bulk ingest (the row-by-row reader reads it)."""


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
    # text (a string column), stripped (a CSV field, stripped already), int, float (float64)
    # or null (no values)
    kind: str

    @property
    def sql(self) -> str:
        return f"c{self.index}"

    @property
    def is_text(self) -> bool:
        return self.kind in ("text", "stripped")

    def text(self) -> str:
        """SQL: the cell text the row-by-row reader sees (not for float columns)."""
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
    """A file DuckDB reads as the view `src` (source_row, [nf,] c0..cN) and `rows` (its
    non-empty data rows), with the header the row-by-row reader would find."""

    con: Any
    name: str
    header_row: int
    raw_header: list[str]
    cols: list[_Col]
    short_rows: bool = False  # CSV: `nf` fields; fewer than the header is an error
    nonempty: str | None = None  # SQL: whether a row has a cell (None: one of its columns)
    budget_row: int | None = None  # CSV: the row where the file's cell limit is crossed
    budget: CellBudget | None = None

    def texts(self, table: Any, cols: list[_Col]) -> list[list[str]]:
        """The Python cell texts of columns `cols` in a DuckDB result (Arrow), row by row:
        strings stripped, other types as `readers._parquet_texts` writes them."""
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
        """The cells of data row `row`, as the row-by-row reader reads them."""
        names = ", ".join(c.sql for c in self.cols)
        extra = ", nf" if self.short_rows else ""
        table = self.con.sql(f"SELECT {names}{extra} FROM src WHERE source_row = {row}"
                             ).to_arrow_table()
        cells = self.texts(table, self.cols)[0]
        if self.short_rows:
            fields = table.column("nf")[0].as_py()
            cells = cells[:fields] + [""] * (fields - len(cells))
        return cells


# --- entry points -----------------------------------------------------------------------------

def ingest_parquet(handle: BinaryIO, name: str, sha256: str, size: int, sink: Sink,
                   scratch: Callable[[], AbstractContextManager[Path]]) -> BulkTable | None:
    """Read a long-layout Parquet file (`handle`, open and hashed) in bulk; None when it is not
    for bulk ingest. Raises the row-by-row reader's `InputError` for bad input."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    threshold = min_rows()
    try:
        handle.seek(0)
        footer = pq.ParquetFile(handle)
        rows, schema = footer.metadata.num_rows, footer.schema_arrow
    except (pa.ArrowException, OSError, ValueError, TypeError, EOFError, KeyError, IndexError):
        return None  # the row-by-row reader says what is wrong
    if rows < max(threshold, 1):
        return None
    kinds = [_arrow_kind(f.type) for f in schema]
    header = [str(n).strip() for n in schema.names]
    if None in kinds or not _long_header_row(header):
        return None
    handle.seek(0)
    read_parquet(handle, name, CellBudget(name))  # the footer checks: magic, cells, unpacked
    with scratch() as folder, _connect(folder) as con:
        try:
            path = _fd_path(handle)
            try:
                described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(path)}, "
                                        "hive_partitioning = false)").fetchall()
                if len(described) != len(header):
                    raise _Decline("DuckDB sees other columns")
                select = ", ".join(f"{_ident(d[0])} AS c{i}" for i, d in enumerate(described))
                con.execute(
                    f"CREATE VIEW src AS SELECT file_row_number + 2 AS source_row, {select} "
                    f"FROM read_parquet({_lit(path)}, file_row_number = true, "
                    "hive_partitioning = false)")
            except _duckdb_errors() as exc:
                raise _Decline(f"DuckDB: {str(exc).splitlines()[0]}") from None
            cols = [_Col(i, kind or "") for i, kind in enumerate(kinds)]
            parsed = _ingest(_Source(con, name, 1, header, cols), sink)
        except _Decline as exc:
            log.info("%s: read row by row (%s)", name, exc)
            return None
    return BulkTable(parsed, "parquet", None, sha256, size)


def ingest_csv(handle: BinaryIO, name: str, sink: Sink,
               scratch: Callable[[], AbstractContextManager[Path]]) -> BulkTable | None:
    """Read a long-layout CSV (`handle`, open, size-checked) in bulk; None when it is not for
    bulk ingest. Raises the row-by-row reader's `InputError` for bad input."""
    try:
        with scratch() as folder:
            scan = _scan_csv(handle, folder)
            sink.source = (name, scan.sha256, None)
            with _connect(folder) as con:
                source = _stage_csv(con, handle, name, scan, folder)
                parsed = _ingest(source, sink)
    except _Decline as exc:
        log.info("%s: read row by row (%s)", name, exc)
        return None
    return BulkTable(parsed, "csv", scan.encoding, scan.sha256, scan.size)


# --- Parquet and CSV sources ------------------------------------------------------------------

def _arrow_kind(kind: Any) -> str | None:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(
            kind):
        return "text"
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_float64(kind):
        return "float"
    if pa.types.is_null(kind):
        return "null"
    return None  # float32, decimals, dates, binary...: read row by row


def _long_header_row(header: list[str]) -> bool:
    """Whether the row-by-row reader would take `header` (the first row) as a long-layout
    header: not blank, not an assessment sheet, and a year column."""
    return any(header) and sheet_kind(header) is None and detect_layout(header) == "long"


def _fd_path(handle: BinaryIO) -> str:
    """A path DuckDB opens as the very file `handle` is (not whatever the name now names)."""
    path = f"/proc/self/fd/{handle.fileno()}"
    if not os.path.exists(path):  # pragma: no cover (not Linux)
        path = handle.name if isinstance(handle.name, str) else ""
    if not path:  # pragma: no cover
        raise _Decline("no path for the open file")
    return path


class _connect:
    """A DuckDB connection with a memory limit, spilling inside the run's scratch folder."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch

    def __enter__(self) -> Any:

        temp = self.scratch / "duckdb"
        temp.mkdir(parents=True, exist_ok=True)
        self.con = duckdb_connect(None, temp, keep_order=True)
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


@dataclass
class _CsvScan:
    sha256: str
    size: int
    lines: int
    encoding: str
    path: Path | None  # the transcoded UTF-8 copy (GB18030), else None: the file itself


def _scan_csv(handle: BinaryIO, scratch: Path) -> _CsvScan:
    """One pass over the file: SHA-256, line count and what the bulk reader needs (UTF-8 or
    GB18030; no quote, NUL or SOH byte; LF or CRLF line ends, not mixed, no lone CR)."""
    digest = hashlib.sha256()
    size = lf = cr = crlf = 0
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    utf8 = True
    bom = False
    last = b""
    handle.seek(0)
    while chunk := handle.read(CHUNK):
        if not size:
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise _Decline("UTF-16/32")
            bom = chunk.startswith(codecs.BOM_UTF8)
        if b'"' in chunk or b"\x00" in chunk or b"\x01" in chunk:
            raise _Decline("quotes, NUL or SOH bytes")
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
    if cr != crlf or crlf not in (0, lf):
        raise _Decline("carriage returns other than CRLF line ends")
    if not size:
        raise _Decline("empty file")
    lines = lf + (last != b"\n")
    if utf8:
        return _CsvScan(digest.hexdigest(), size, lines, "utf-8-sig" if bom else "utf-8", None)
    if bom:
        raise _Decline("not UTF-8")
    return _CsvScan(digest.hexdigest(), size, lines, "gb18030", _transcode(handle, scratch))


def _transcode(handle: BinaryIO, scratch: Path) -> Path:
    """The GB18030 file as UTF-8, in the scratch folder (a chunk at a time)."""
    decoder = codecs.getincrementaldecoder("gb18030")("strict")
    target = scratch / "transcoded.csv"
    handle.seek(0)
    try:
        with target.open("wb") as out:
            while chunk := handle.read(CHUNK):
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError:
        raise _Decline("neither UTF-8 nor GB18030") from None
    return target


def _header(stream: BinaryIO, encoding: str, budget: CellBudget) -> tuple[int, list[str]]:
    """The first non-empty row (line number, stripped cells), as `readers.read_csv` reads it,
    counting the cells read so far against the file's cell budget."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        reader = csv.reader(text, strict=True)
        for cells in reader:
            budget.take(len(cells), reader.line_num)
            stripped = [c.strip() for c in cells]
            if any(stripped):
                return reader.line_num, stripped
    except (csv.Error, UnicodeDecodeError, InputError):
        raise _Decline("header not readable as the row-by-row reader reads it") from None
    finally:
        text.detach()
    raise _Decline("no header")


def _stage_csv(con: Any, handle: BinaryIO, name: str, scan: _CsvScan, scratch: Path
               ) -> _Source:
    """The CSV's data lines as Parquet in the scratch folder (line number, field count, whether
    the row is blank, stripped fields), and the `src` view over them."""
    budget = CellBudget(name)
    if scan.path is None:
        handle.seek(0)
        header_row, header = _header(handle, scan.encoding, budget)
        path = _fd_path(handle)
    else:
        with scan.path.open("rb") as copy:
            header_row, header = _header(copy, "utf-8", budget)
        path = str(scan.path)
    if not _long_header_row(header):
        raise _Decline("not a long-layout header")
    if scan.lines - header_row < max(min_rows(), 1):
        raise _Decline("small file")
    width = len(header)
    staged = scratch / "csv_rows.parquet"
    fields = ", ".join(f"{_strip(f'f[{i + 1}]')} AS c{i}" for i in range(width))
    try:
        # one thread: a parallel scan would number the lines in the order its chunks arrive
        con.execute("SET threads = 1")
        con.execute(
            f"COPY (SELECT source_row, CASE WHEN l IS NULL THEN 0 ELSE len(f) END AS nf, "
            f"{_has_text('l', also=',')} AS ne, "
            f"coalesce(length(l), 0) AS width, {fields} "
            f"FROM (SELECT row_number() OVER () AS source_row, l, string_split(l, ',') AS f "
            f"FROM read_csv({_lit(path)}, columns = {{'l': 'VARCHAR'}}, header = false, "
            "delim = '\x01', quote = '', escape = '', auto_detect = false, "
            "compression = 'none', null_padding = false)) "
            f"WHERE source_row > {header_row}) TO {_lit(str(staged))} (FORMAT parquet)")
        con.execute("RESET threads")
        cells, longest, lines = con.execute(
            f"SELECT coalesce(sum(nf), 0), coalesce(max(width), 0), count(*) "
            f"FROM read_parquet({_lit(str(staged))})").fetchall()[0]
    except _duckdb_errors() as exc:
        raise _Decline(f"DuckDB: {str(exc).splitlines()[0]}") from None
    if lines != scan.lines - header_row:
        raise _Decline("line count differs")
    if longest > csv.field_size_limit():
        raise _Decline("a line longer than the csv module's field limit")
    con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet({_lit(str(staged))})")
    source = _Source(con, name, header_row, header, [_Col(i, "stripped") for i in range(width)],
                     short_rows=True, nonempty="ne", budget=budget)
    if budget.used + cells > budget.limit:  # the row the row-by-row reader stops at
        source.budget_row = con.execute(
            f"SELECT source_row FROM (SELECT source_row, sum(nf) OVER (ORDER BY source_row "
            f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS used FROM src) "
            f"WHERE used > {budget.limit - budget.used} ORDER BY source_row LIMIT 1"
        ).fetchall()[0][0]
    return source


def _duckdb_errors() -> tuple[type[BaseException], ...]:
    import duckdb

    return (duckdb.Error,)


# --- the common part: keys, numbers, errors, rows ---------------------------------------------

@dataclass
class _Map:
    """Distinct cell keys of a column (or a pair) → what the row-by-row reader makes of them."""

    keys: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)


def _ingest(source: _Source, sink: Sink) -> ParsedTable:
    con, name, cols = source.con, source.name, source.cols
    try:
        filled = source.nonempty or " OR ".join(c.filled() for c in cols)
        con.execute(f"CREATE VIEW rows AS SELECT * FROM src WHERE {filled}")
        count = con.execute("SELECT count(*) FROM rows").fetchall()[0][0]
        if not count:
            raise _Decline("no data rows")  # the row-by-row reader: "header only"
        head = long_header(source.header_row, source.raw_header, name)
        analysis = _analyse(source, head)
    except _duckdb_errors() as exc:
        raise _Decline(f"DuckDB: {str(exc).splitlines()[0]}") from None
    nv = len(head.value_cols)
    observations = count * nv
    crossing = None
    if observations and not sink.discarded and sink.total + observations > sink.limit:
        crossing = sink.limit - sink.total  # 0-based: the observation of this file that fails
    rows = [r for r in (analysis.first_bad, source.budget_row) if r is not None]
    over: tuple[int, int] | None = None  # the row crossing the run's row limit, and where
    if crossing is not None:
        over = (con.execute(f"SELECT source_row FROM rows ORDER BY source_row LIMIT 1 "
                            f"OFFSET {crossing // nv}").fetchall()[0][0], crossing % nv)
        rows.append(over[0])
    if rows:
        try:
            _raise_at(source, min(rows), over, sink.limit)
        except _duckdb_errors() as exc:
            raise _Decline(f"DuckDB: {str(exc).splitlines()[0]}") from None
    parsed = head.finish(analysis.unnamed_with_values, analysis.recoded)
    for _, indicator in head.value_cols:
        parsed.counts[indicator.source_kind] = parsed.counts.get(indicator.source_kind, 0) + count
    if observations and not sink.discarded:
        _write(source, head, analysis, sink)
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
    table = source.con.sql(f"SELECT DISTINCT {key} AS key, {values} FROM rows").to_arrow_table()
    keys = table.column("key").to_pylist()
    if len(set(keys)) != len(keys):
        raise _Decline("cell values that are not told apart by their text")
    return keys, source.texts(table, cols)


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
    """The first data row holding a cell the row-by-row reader refuses."""
    import pyarrow as pa

    con, cols = source.con, source.cols
    where = []
    if source.short_rows:
        where.append(f"nf < {len(cols)}")
    where += [f"isinf({c.sql})" for c in floats]
    for table, values, key in (("bad_years", years.bad, cols[head.year_col].key()),
                               ("bad_regions", regions.bad if regions else [], region_key),
                               ("bad_numbers", others.bad, None)):
        if not values:
            continue
        con.register(table, pa.table({"key": pa.array(values, pa.string())}))
        if key is not None:
            where.append(f"{key} IN (SELECT key FROM {table})")
        else:
            where += [f"{cols[i].text()} IN (SELECT key FROM {table})"
                      for i, _ in head.value_cols if cols[i].is_text]
    return con.execute(f"SELECT min(source_row) FROM rows WHERE {' OR '.join(where)}"
                       ).fetchall()[0][0]


def _raise_at(source: _Source, row: int, over: tuple[int, int] | None, limit: int) -> None:
    """Raise the row-by-row reader's error for data row `row` (parsed again on its own; `over`:
    the row where the run's row limit is crossed, and at which of its observations)."""
    name = source.name
    if row == source.budget_row and source.budget is not None:
        raise source.budget.exceeded(row)
    cells = source.row_cells(row)
    emitted = 0
    fails = over[1] if over is not None and over[0] == row else None

    def emit(observation: Observation) -> None:
        nonlocal emitted
        if emitted == fails:
            raise rows_exceeded(name, limit, observation.source_row)
        emitted += 1

    parse_table(iter([(source.header_row, source.raw_header), (row, cells)]), name, emit)
    # not expected: the two readers disagree on this row; the row-by-row reader decides
    log.warning("%s: row %s parsed without the error the bulk reader found there; reading the "
                "file row by row", name, row)
    raise _Decline(f"row {row} disagreement")


def _enum(con: Any, type_name: str, keys: list[str]) -> None:
    """An ENUM of `keys` in this order (its codes index the mapped values)."""
    import pyarrow as pa

    con.register(f"{type_name}_keys", pa.table({"i": pa.array(range(len(keys)), pa.int64()),
                                               "key": pa.array(keys, pa.string())}))
    con.execute(f"CREATE TYPE {type_name} AS ENUM (SELECT key FROM {type_name}_keys ORDER BY i)")


def _write(source: _Source, head: LongHeader, analysis: _Analysis, sink: Sink) -> None:
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
        other = "getvariable('bulk_other')[enum_code(TRY_CAST(t{j} AS e_other)) + 1]"
    texts, cells = [], []
    for j, (i, indicator) in enumerate(head.value_cols):
        col = cols[i]
        factor = f"CAST({_lit(repr(indicator.factor))} AS DOUBLE)"
        if col.is_text:
            texts.append(f"{col.text()} AS t{j}")
            number = (f"CASE WHEN t{j} IN ({_BLANKS}) THEN NULL "
                      f"WHEN {_simple(f't{j}')} THEN TRY_CAST(t{j} AS DOUBLE) "
                      f"ELSE {other.format(j=j)} END")
            cells.append(f"{number} * {factor} AS v{j}, t{j} AS s{j}, NULL::DOUBLE AS n{j}")
        elif col.kind == "int":
            cells.append(f"CAST({col.sql} AS DOUBLE) * {factor} AS v{j}, "
                         f"{col.text()} AS s{j}, NULL::DOUBLE AS n{j}")
        elif col.kind == "float":
            cells.append(f"CASE WHEN isnan({col.sql}) THEN NULL ELSE {col.sql} * {factor} END "
                         f"AS v{j}, NULL::VARCHAR AS s{j}, {col.sql} AS n{j}")
        else:
            cells.append(f"NULL::DOUBLE AS v{j}, '' AS s{j}, NULL::DOUBLE AS n{j}")
    inner = ", ".join([*(f"{sql} AS {alias}" for alias, sql in keys.items()),
                       *(c.sql for c in cols), *texts])
    names = ", ".join(keys)
    labels = ", ".join(f"(v{j}, s{j}, n{j}) AS '{j}'" for j in range(len(head.value_cols)))
    sql = (f"SELECT {names}, CAST(col AS INTEGER) AS col, value, txt, num FROM ("
           f"SELECT {names}, {', '.join(cells)} FROM (SELECT {inner} FROM rows)) "
           f"UNPIVOT INCLUDE NULLS ((value, txt, num) FOR col IN ({labels}))")

    indicators = [indicator for _, indicator in head.value_cols]
    per_col = {
        "variable": pa.array([d.variable for d in indicators], pa.string()),
        "fuel": pa.array([d.fuel for d in indicators], pa.string()),
        "unit": pa.array([d.canonical_unit for d in indicators], pa.string()),
        "source_unit": pa.array([d.source_unit for d in indicators], pa.string()),
        "source_column": pa.array([head.cells[i] for i, _ in head.value_cols], pa.string()),
    }
    kinds: dict[str, list[int]] = {}
    for j, indicator in enumerate(indicators):
        kinds.setdefault(indicator.source_kind, []).append(j)
    years = pa.array(analysis.years.values, pa.int32())
    regions = pa.array(analysis.regions.values if analysis.regions else [], pa.string())
    # one DuckDB thread: rows in file order (a parallel streaming result may reorder chunks);
    # Parquet encoding runs beside it in the writer thread
    con.execute("SET threads = 1")
    with con.sql(sql).to_arrow_reader(BATCH_ROWS) as reader, _Writer(sink) as out:
        for batch in reader:
            for kind, js in kinds.items():
                part = batch if len(kinds) == 1 else batch.filter(
                    pc.is_in(batch.column("col"), value_set=pa.array(js, pa.int32())))
                if part.num_rows:
                    out.put(kind, _columns(part, per_col, years, regions), part.num_rows)


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
    else:
        region = pc.take(pa.array([NATIONAL_CODE], pa.string()),
                         pa.nulls(rows, pa.int32()).fill_null(0))
    text = batch.column("txt")
    if pa.types.is_string_view(text.type):
        text = text.cast(pa.string())
    number = batch.column("num")
    if number.null_count < rows:  # float64 cells: Arrow's text of the value, as read_parquet
        formatted = pc.fill_null(number.cast(pa.string()), "")
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
