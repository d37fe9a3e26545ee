"""Ingest: landing folder (as published) → typed, lineage-stamped raw Parquet per source kind.

Raw inputs are only ever read: never modified, moved or followed outside the landing folder
(symlinks are skipped with a warning, files are opened with O_NOFOLLOW). Any file that breaks the
contract stops the ingest with an `InputError` naming file, row, column and value, before anything
is written downstream. Every landing file is parsed even after a first error, so the quarantine
report (`<CARBON_ASSESS_HOME>/quarantine/<run_id>/report.md|json`) lists one error per bad file;
the raised error (one line for the CLI) is the first one, with `.report_path` set.

Landing files are CSV, XLSX or Parquet (by suffix; a Parquet file's column names are its header
row); the ingest report says each input's `format`. Memory stays bounded whatever the landing
folder holds: each file is streamed (readers.py states the limits: size, cells and unpacked
bytes per file, rows per run), observations go to
Parquet a record batch at a time, staged inside the work directory and moved to `raw/` only
when every file passed.

One path per kind of table, at every size: every long-layout table (CSV, Parquet, an XLSX sheet)
is typed and written by DuckDB (bulk.py); Python reads headers, and the cells of what DuckDB
cannot scan itself (XLSX, a CSV whose lines are not its rows: the report's `reader` says so).
Portal exports (wide layout, one indicator a file) and assessment sheets are small and read in
Python; their observations go to the same raw writer.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing, suppress
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

from carbon_assess.errors import InputError
from carbon_assess.ingest import bulk
from carbon_assess.ingest.arrow_values import arrow_batch, arrow_constants
from carbon_assess.ingest.layouts import Observation, ParsedTable, detect_layout, parse_table
from carbon_assess.ingest.readers import (
    MAX_BYTES_ENV,
    SUPPORTED_SUFFIXES,
    UNSUPPORTED,
    CellBudget,
    Table,
    human_bytes,
    max_file_bytes,
    max_rows,
    read_csv,
    read_parquet,
    read_xlsx,
    rows_exceeded,
)
from carbon_assess.ingest.schema import RAW_SCHEMA, SOURCE_KINDS, statistics_columns
from carbon_assess.ingest.sheets import (
    read_sheet,
    sheet_kind,
    unit_parent_errors,
    write_sheets,
)
from carbon_assess.landing import (
    LandingDigest,
    display_name,
    landing_digest,
    landing_files,
    name_problem,
    scan_landing,
)
from carbon_assess.quarantine import write_ingest_rejection
from carbon_assess.settings import duckdb_connect
from carbon_assess.workdir import Run

__all__ = ["IngestReport", "LandingDigest", "ingest_landing", "landing_digest", "landing_files",
           "scan_landing"]


class IngestReport(TypedDict):
    """What ingest read and skipped (also `<workdir>/ingest_report.json`)."""

    inputs: list[dict[str, Any]]  # file, sheet, sha256, bytes, format, encoding, layout...
    sheet_counts: dict[str, int]  # assessment sheet kind -> rows
    skipped_files: list[dict[str, str]]  # file, reason
    warnings: list[str]  # one line each
    warning_details: list[dict[str, str | None]]  # file, sheet, message
    row_counts: dict[str, int]  # raw source kind -> observations

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # no stderr noise in the CLI; Airflow handlers see it


def _open(path: Path, name: str, limit: int) -> tuple[BinaryIO, int]:
    """The file opened for reading and its size, refusing symlinks (O_NOFOLLOW) and files above
    the size limit."""
    # O_NONBLOCK: a file replaced by a named pipe since the scan is refused, never waited on
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror})") from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise InputError(name, "not a regular file (replaced while the landing folder was read)")
    size = info.st_size
    if size > limit:
        handle.close()
        raise InputError(
            name,
            f"file is {human_bytes(size)}, larger than the {human_bytes(limit)} limit "
            f"(split it, or set {MAX_BYTES_ENV} to raise the limit)",
        )
    return handle, size


def _stamp(handle: BinaryIO) -> tuple[int, int]:
    info = os.fstat(handle.fileno())
    return info.st_size, info.st_mtime_ns


def _read_bytes(path: Path, name: str, limit: int) -> bytes:
    """The file's bytes, refusing symlinks (O_NOFOLLOW) and files above the size limit."""
    handle, size = _open(path, name, limit)
    with handle:
        data = handle.read(size + 1)  # (not limit + 1: read() allocates what it is asked for)
        if len(data) > size:  # grew since fstat: read on, up to the limit
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:  # grew while we read it
        raise InputError(name, f"file is larger than the {human_bytes(limit)} limit")
    return data


def _sha256(handle: BinaryIO, name: str, limit: int) -> tuple[str, int]:
    """SHA-256 and size of an open file, read a chunk at a time (never whole)."""
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(1 << 20):
        size += len(chunk)
        if size > limit:  # grew since it was opened
            raise InputError(name, f"file is larger than the {human_bytes(limit)} limit")
        digest.update(chunk)
    return digest.hexdigest(), size


def _tables(path: Path, data: bytes | BinaryIO, name: str) -> Iterator[Table]:
    """The file's tables, streamed, with one cell budget for the whole file."""
    budget = CellBudget(name)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield read_csv(data, name, budget)
    elif suffix == ".parquet":
        yield read_parquet(data, name, budget)
    else:
        yield from read_xlsx(data, name, budget)


class _RawWriter:
    """Observations → `raw/<kind>.parquet`, a record batch at a time.

    Batches go to Parquet files staged in a hidden folder of the work directory (one file per
    source kind, in landing order: column-wise with `add_columns` from the DuckDB reader, or
    the observations of a portal export one by one with `add`); `commit` moves them into
    `raw/` (replacing a previous ingest's files), `discard` deletes them. Once discarded (a file
    was rejected, so nothing will be written), observations are dropped. More than
    `max_rows()` rows in all (observations, and the assessment-sheet rows `count`ed here too)
    is an `InputError` on the file that crosses it (the DuckDB reader checks before it adds).
    It also holds the run's DuckDB connection (`duckdb`), closed with the stage.
    """

    BATCH_ROWS = bulk.BATCH_ROWS  # rows a row group of raw/<kind>.parquet, at most
    COLUMNS = ("region_code", "year", "variable", "fuel", "value", "unit", "source_value",
               "source_unit", "source_file", "source_sha256", "source_sheet", "source_row",
               "source_column")  # as `add` lays out a row; the rest of RAW_SCHEMA is constant

    def __init__(self, run: Run, run_id: str, vintage: str) -> None:
        self.run = run
        self.constants = {"ingested_at": datetime.now(UTC), "run_id": run_id,
                          "vintage": vintage}
        self.source: tuple[str, str, str | None] = ("", "", None)  # file, sha256, sheet
        self.buffers: dict[str, list[tuple]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.total = 0
        self.limit = max_rows()
        self.writers: dict[str, Any] = {}
        self.fixed: tuple[Any, dict[str, Any]] = (None, {})  # add_columns' constant columns
        self.stage: Path | None = None
        self.con: Any = None
        self.scratch: Path | None = None
        self.created_workdir = False
        self.discarded = False
        self.committed = False

    def add(self, obs: Observation) -> None:
        if self.discarded:
            return
        self.total += 1
        if self.total > self.limit:
            raise rows_exceeded(self.source[0], self.limit, obs.source_row)
        indicator = obs.indicator
        buffer = self.buffers[indicator.source_kind]
        buffer.append((obs.region_code, obs.year, indicator.variable, indicator.fuel,
                       obs.value, indicator.canonical_unit, obs.source_value,
                       indicator.source_unit, *self.source, obs.source_row, obs.source_column))
        if len(buffer) >= self.BATCH_ROWS:
            self._flush(indicator.source_kind)

    def count(self, name: str, rows: list[int]) -> None:
        """Count rows kept elsewhere (assessment sheets; `rows`: their row numbers) against the
        run's row limit."""
        if self.discarded:
            return
        if self.total + len(rows) > self.limit:
            raise rows_exceeded(name, self.limit, rows[self.limit - self.total])
        self.total += len(rows)

    def add_columns(self, kind: str, columns: dict[str, Any], rows: int) -> None:
        """`rows` observations of one kind as Arrow arrays (the DuckDB reader's): every column
        of `COLUMNS` but the source's file, sha256 and sheet, which `source` gives."""
        import pyarrow as pa

        if self.discarded:
            return
        self._flush(kind)  # the rows of earlier files first: raw rows stay in landing order
        if self.fixed[0] != (rows, self.source):  # batches mostly have the same length
            fixed = {**dict(zip(("source_file", "source_sha256", "source_sheet"), self.source,
                                strict=True)), **self.constants}
            self.fixed = ((rows, self.source), arrow_constants(
                fixed, {column: RAW_SCHEMA.field(column).type for column in fixed}, rows))
        data = {**columns, **self.fixed[1]}
        batch = pa.RecordBatch.from_arrays([data[f.name] for f in RAW_SCHEMA], schema=RAW_SCHEMA)
        self._write(kind, batch)
        self.total += rows

    def duckdb(self) -> tuple[Any, Path]:
        """The run's DuckDB connection (made on first use, kept for every file: connecting
        costs more than reading a provincial file) and its scratch folder inside the work
        directory (DuckDB's spills, staged cell tables), removed with the stage."""
        if self.con is None:
            self._workdir()
            self.scratch = Path(tempfile.mkdtemp(prefix=".bulk-", suffix=".partial",
                                                 dir=self.run.path))
            (self.scratch / "duckdb").mkdir()
            self.con = duckdb_connect(None, self.scratch / "duckdb", keep_order=True)
            # one thread: CSV lines are numbered, and rows written, in file order (a parallel
            # scan hands its chunks on out of order); and setting threads costs ms each time
            self.con.execute("SET threads = 1")
        return self.con, self.scratch

    def _close_duckdb(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def _workdir(self) -> None:
        if not self.run.path.exists():
            self.created_workdir = True
            self.run.path.mkdir(parents=True, exist_ok=True)

    def _flush(self, kind: str) -> None:
        rows = self.buffers.pop(kind, None)
        if not rows:
            return
        data: dict[str, Any] = dict(zip(self.COLUMNS, map(list, zip(*rows, strict=True)),
                                        strict=True))
        data.update({c: [v] * len(rows) for c, v in self.constants.items()})
        self._write(kind, arrow_batch(data, RAW_SCHEMA))

    def _write(self, kind: str, batch: Any) -> None:
        import pyarrow.parquet as pq

        if kind not in self.writers:
            if self.stage is None:
                self._workdir()
                self.stage = Path(tempfile.mkdtemp(prefix=".raw-", suffix=".partial",
                                                   dir=self.run.path))
            self.writers[kind] = pq.ParquetWriter(
                self.stage / f"{kind}.parquet", RAW_SCHEMA,
                write_statistics=statistics_columns(RAW_SCHEMA))
        self.writers[kind].write_batch(batch, row_group_size=self.BATCH_ROWS)
        self.counts[kind] += batch.num_rows

    def commit(self) -> dict[str, int]:
        """Move the staged files into `raw/`; the observation count of each kind written."""
        for kind in list(self.buffers):
            self._flush(kind)
        for writer in self.writers.values():
            writer.close()
        self._close_duckdb()
        self.run.raw_dir.mkdir(parents=True, exist_ok=True)
        for kind in SOURCE_KINDS:
            target = self.run.raw(kind)
            target.unlink(missing_ok=True)
            if kind in self.writers:
                os.replace(self.stage / f"{kind}.parquet", target)
        self._remove_stage()
        self.committed = True
        return {kind: self.counts[kind] for kind in SOURCE_KINDS if self.counts[kind]}

    def discard(self) -> None:
        """Drop everything staged (and whatever comes later); nothing to do after a commit."""
        self._close_duckdb()
        if self.committed:
            return
        self.discarded = True
        self.buffers.clear()
        for writer in self.writers.values():
            with suppress(OSError):  # the files are deleted next anyway
                writer.close()
        self.writers.clear()
        self._remove_stage()
        if self.created_workdir:
            with suppress(OSError):
                self.run.path.rmdir()  # only if still empty

    def _remove_stage(self) -> None:
        if self.stage is not None:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.stage = None


def ingest_landing(landing: Path, workdir: Run | Path, run_id: str, vintage: str
                   ) -> IngestReport:
    """Parse all landing files, write `raw/<kind>.parquet`, return the ingest report.

    On bad input, writes a quarantine report (every file's first error) and raises the first
    `InputError`, with `.report_path` naming the report.
    """
    run = Run.of(workdir)
    try:
        return _ingest(Path(landing), run, run_id, vintage)
    except InputError as exc:
        errors = exc.all_errors or [exc]
        try:
            exc.report_path = str(write_ingest_rejection(run, run_id, errors,
                                                         exc.warning_details))
        except OSError:  # the report is a courtesy; the error itself must still surface
            exc.report_path = None
        for error in errors:
            log.error("input rejected: %s", error)
        if exc.report_path:
            log.error("quarantine report: %s", exc.report_path)
        raise


class _Batch:
    """What ingest gathers while it reads the landing files one by one."""

    def __init__(self, writer: _RawWriter) -> None:
        self.writer = writer
        self.inputs: list[dict[str, Any]] = []
        self.details: list[dict[str, str | None]] = []  # skipped files and columns, notes
        self.sheets: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def read_file(self, path: Path, name: str, limit: int) -> bool:
        """Read one landing file; True when a table of it was used."""
        suffix = path.suffix.lower()
        reader = "openpyxl" if suffix == ".xlsx" else None
        if suffix == ".parquet":
            return self._read_parquet(path, name, limit)
        if suffix == ".csv":
            try:
                recognised = self._read_csv(path, name, limit)
            except bulk._Irregular as exc:  # the csv module tokenizes it: said in the report
                recognised, reader = None, f"python csv module ({exc})"
            if recognised is not None:
                return recognised
        data = _read_bytes(path, name, limit)
        sha256 = hashlib.sha256(data).hexdigest()
        if not data or data.isspace():
            raise InputError(name, "file is empty")
        source = {"file": name, "sha256": sha256, "bytes": len(data)}
        return self._read_tables(path, data, source, reader)

    def _read_parquet(self, path: Path, name: str, limit: int) -> bool:
        """A Parquet file is hashed, then read, from the one open file, never read whole: the
        file must not change in between (same size and modification time)."""
        handle, _ = _open(path, name, limit)
        with handle:
            stamp = _stamp(handle)
            sha256, size = _sha256(handle, name, limit)
            if not size:
                raise InputError(name, "file is empty")
            source = {"file": name, "sha256": sha256, "bytes": size}
            self.writer.source = (name, sha256, None)
            table = bulk.ingest_parquet(handle, name, sha256, size, self.writer)
            if table is not None:
                recognised = self._record(table.parsed, source, None, table.format,
                                          table.encoding, table.reader)
            else:  # not a long layout: an assessment sheet, or no NBS layout
                handle.seek(0)
                recognised = self._read_tables(path, handle, source, None)
            if _stamp(handle) != stamp or size != stamp[0]:
                raise _changed(name)
        return recognised

    def _read_csv(self, path: Path, name: str, limit: int) -> bool | None:
        """A long-layout CSV, read by DuckDB (bulk.py); None when its header is not a long
        layout (the caller reads its rows in Python)."""
        handle, _ = _open(path, name, limit)
        with handle:
            stamp = _stamp(handle)
            table = bulk.ingest_csv(handle, name, self.writer)
            if table is None:
                return None
            if _stamp(handle) != stamp or table.size != stamp[0]:
                raise _changed(name)
        source = {"file": name, "sha256": table.sha256, "bytes": table.size}
        return self._record(table.parsed, source, None, table.format, table.encoding,
                            table.reader)

    def _read_tables(self, path: Path, data: bytes | BinaryIO, source: dict[str, Any],
                     reader: str | None) -> bool:
        recognised = False
        with closing(_tables(path, data, source["file"])) as tables:  # closed on errors
            for table in tables:
                recognised = self._read_table(table, source, reader) or recognised
        return recognised

    def _read_table(self, table: Table, source: dict[str, Any], reader: str | None) -> bool:
        """A table whose cells Python read: an assessment sheet, a portal export, or a long
        layout (its cells go to DuckDB, as a CSV's would)."""
        name, sheet = source["file"], table.sheet
        rows = iter(table.rows)
        first = next(rows, None)
        if first is None:  # a sheet without a single row (or a CSV that is only a BOM)
            if sheet is None:
                self._note(name, sheet, "skipped, header is not an NBS layout")
            return False
        content = (r for r in chain([first], rows) if any(r[1]))
        header = next(content, None)
        if header is not None and sheet_kind(header[1]) is not None:
            # an assessment sheet (measures, targets, ...): small, read whole
            kind, records = read_sheet([header, *content], name, sheet)
            self.writer.count(name, [r["source_row"] for r in records])
            self.sheets[kind].extend(records)
            self.inputs.append({**self._input(source, sheet), "format": table.format,
                                "encoding": table.encoding,
                                "layout": f"assessment_sheet:{kind}", "source_kinds": [kind],
                                "observations": len(records),
                                "columns_used": [c for c in header[1] if c],
                                "reader": "python (assessment sheet)"})
            return True
        where = name + (f" [sheet {sheet}]" if sheet else "")
        self.writer.source = (name, source["sha256"], sheet)
        parsed: ParsedTable | None
        if header is not None and detect_layout(header[1]) == "long":
            parsed = bulk.ingest_rows(content, header[0], header[1], where, self.writer)
            reader = reader or "python"
        else:
            stream = chain([header], content) if header is not None else iter(())
            parsed = parse_table(stream, where, self.writer.add)  # a portal export, or None
            reader = "python (portal export)"
        if parsed is None:  # (an all-blank table raised "file is empty")
            self._note(name, sheet, "skipped, header is not an NBS layout")
            return False
        return self._record(parsed, source, sheet, table.format, table.encoding, reader)

    def _record(self, parsed: ParsedTable, source: dict[str, Any], sheet: str | None,
                fmt: str, encoding: str | None, reader: str) -> bool:
        """Note what a parsed table held; True when it had observations."""
        name = source["file"]
        if parsed.columns_skipped:
            self._note(name, sheet, f"{len(parsed.columns_skipped)} column(s) not used by the "
                       f"pipeline, skipped: {', '.join(parsed.columns_skipped)}")
        for note in parsed.notes:
            self._note(name, sheet, note)
        if not parsed.observation_count:
            return False
        self.inputs.append({**self._input(source, sheet), "format": fmt,
                            "encoding": encoding, "layout": parsed.layout,
                            "source_kinds": sorted(parsed.counts),
                            "observations": parsed.observation_count,
                            "columns_used": parsed.columns_used, "reader": reader})
        return True

    @staticmethod
    def _input(source: dict[str, Any], sheet: str | None) -> dict[str, Any]:
        return {"file": source["file"], "sheet": sheet, "sha256": source["sha256"],
                "bytes": source["bytes"]}

    def _note(self, name: str, sheet: str | None, message: str) -> None:
        self.details.append({"file": name, "sheet": sheet, "message": message})


def _changed(name: str) -> InputError:
    return InputError(name, "file changed while it was read (copy files into the landing "
                      "folder whole, then run again)")


def _ingest(landing: Path, run: Run, run_id: str, vintage: str) -> IngestReport:
    writer = _RawWriter(run, run_id, vintage)
    try:
        return _ingest_into(landing, run, writer)
    finally:
        writer.discard()  # drops the staged files on any error (nothing to do after a commit)


def _ingest_into(landing: Path, run: Run, writer: _RawWriter) -> IngestReport:
    files, skipped = scan_landing(landing)
    batch = _Batch(writer)
    batch.details += [{"file": s["file"], "sheet": None, "message": f"skipped, {s['reason']}"}
                      for s in skipped]
    errors: list[InputError] = []
    limit = max_file_bytes()

    for path in files:
        name = display_name(landing, path)
        problem = name_problem(path.relative_to(landing).as_posix())
        if problem is not None:  # a name that would print as another one, or forge a line
            errors.append(InputError(name, problem))
            writer.discard()
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append({"file": name, "reason": UNSUPPORTED})
            batch.details.append({"file": name, "sheet": None,
                                  "message": f"skipped, {UNSUPPORTED}"})
            continue
        try:
            if not batch.read_file(path, name, limit):
                skipped.append({"file": name, "reason": "no column the pipeline uses"})
        except InputError as exc:
            # no traceback kept: its frames would hold each rejected file's bytes
            errors.append(exc.with_traceback(None))
            writer.discard()  # the batch is rejected: parse on for errors, write nothing

    inputs, details, sheets = batch.inputs, batch.details, batch.sheets
    errors += unit_parent_errors(sheets.get("units", []))
    warnings = [
        f"{d['file']}" + (f" [sheet {d['sheet']}]" if d["sheet"] else "") + f": {d['message']}"
        for d in details
    ]
    if not errors and not inputs:
        errors.append(InputError(str(landing), "no recognised NBS file in the landing folder"
                                 + (f" ({len(skipped)} entr{'y' if len(skipped) == 1 else 'ies'}"
                                    " skipped: see the report)" if skipped else "")))
    if errors:
        first = errors[0]
        first.all_errors = errors
        first.warning_details = details
        raise first

    row_counts = writer.commit()
    sheet_counts = write_sheets(sheets, run)
    report: IngestReport = {
        "inputs": inputs,
        "sheet_counts": sheet_counts,
        "skipped_files": skipped,
        "warnings": warnings,
        "warning_details": details,
        "row_counts": row_counts,
    }
    run.write_ingest_report(report)
    for warning in warnings:
        log.warning("ingest warning: %s", warning)
    return report
