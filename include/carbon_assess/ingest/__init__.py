"""Ingest: landing folder (as published) → typed, lineage-stamped raw Parquet per source kind.

Raw inputs are only ever read: never modified, moved or followed outside the landing folder
(symlinks are skipped with a warning, files are opened with O_NOFOLLOW). Any file that breaks the
contract stops the ingest with an `InputError` naming file, row, column and value, before anything
is written downstream. Every landing file is parsed even after a first error, so the quarantine
report (`<CARBON_ASSESS_HOME>/quarantine/<run_id>/report.md|json`) lists one error per bad file;
the raised error (one line for the CLI) is the first one, with `.report_path` set.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from carbon_assess.errors import InputError
from carbon_assess.ingest.layouts import ParsedTable, parse_table
from carbon_assess.ingest.readers import (
    MAX_BYTES_ENV,
    SUPPORTED_SUFFIXES,
    Table,
    human_bytes,
    max_file_bytes,
    read_csv,
    read_xlsx,
)
from carbon_assess.ingest.schema import RAW_SCHEMA, SOURCE_KINDS
from carbon_assess.ingest.sheets import read_sheet, write_sheets
from carbon_assess.quarantine import write_ingest_rejection
from carbon_assess.workdir import Run

__all__ = ["IngestReport", "ingest_landing", "landing_files", "scan_landing"]


class IngestReport(TypedDict):
    """What ingest read and skipped (also `<workdir>/ingest_report.json`)."""

    inputs: list[dict[str, Any]]  # file, sheet, sha256, bytes, encoding, layout, observations...
    sheet_counts: dict[str, int]  # assessment sheet kind -> rows
    skipped_files: list[dict[str, str]]  # file, reason
    warnings: list[str]  # one line each
    warning_details: list[dict[str, str | None]]  # file, sheet, message
    row_counts: dict[str, int]  # raw source kind -> observations

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())  # no stderr noise in the CLI; Airflow handlers see it


def _suspicious_name(name: str) -> bool:
    """A name that reads as a path on some system (`..\\..\\evil.csv`, `C:\\x.csv`)."""
    parts = name.replace("\\", "/").split("/")
    return "\\" in name or ".." in parts or (len(name) > 1 and name[1] == ":")


def scan_landing(landing: Path) -> tuple[list[Path], list[dict[str, str]]]:
    """Regular files under the landing folder (recursively, stable order) and what was skipped.

    Symlinks (to files or folders) are never followed, hidden entries (`.` prefix) and Office
    lock files (`~$`) are ignored, and a file name that looks like a path (`..\\..\\evil.csv`)
    is not read: each such entry is reported as skipped with the reason.
    """
    if not landing.is_dir():
        raise InputError(str(landing), "landing folder does not exist or is not a folder")
    root = landing.resolve()
    files: list[Path] = []
    skipped: list[dict[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        skipped.append({"file": path.relative_to(landing).as_posix(), "reason": reason})

    for dirpath, dirnames, filenames in os.walk(landing, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames):
            path = here / name
            if name.startswith("."):
                skip(path, "hidden folder, not read")
                dirnames.remove(name)
            elif path.is_symlink():
                skip(path, "symlink to a folder, not followed")
                dirnames.remove(name)
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            info = path.lstat()
            if _suspicious_name(name):
                skip(path, "file name looks like a path ('..' or '\\'), not read")
            elif name.startswith(".") or name.startswith("~$"):
                skip(path, "hidden or lock file, not read")
            elif stat.S_ISLNK(info.st_mode):
                skip(path, "symlink, not followed (copy the file into the landing folder)")
            elif not stat.S_ISREG(info.st_mode):
                skip(path, "not a regular file")
            elif not path.resolve().is_relative_to(root):  # pragma: no cover - defensive
                skip(path, "outside the landing folder, not read")
            else:
                files.append(path)
    files.sort()
    return files, skipped


def landing_files(landing: Path) -> list[Path]:
    """Every regular file under the landing folder that ingest reads (see `scan_landing`)."""
    return scan_landing(landing)[0]


def _read_bytes(path: Path, name: str, limit: int) -> bytes:
    """The file's bytes, refusing symlinks (O_NOFOLLOW) and files above the size limit."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise InputError(name, f"cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise InputError(
                name,
                f"file is {human_bytes(size)}, larger than the {human_bytes(limit)} limit "
                f"(split it, or set {MAX_BYTES_ENV} to raise the limit)",
            )
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew while we read it
        raise InputError(name, f"file is larger than the {human_bytes(limit)} limit")
    return data


def _tables(path: Path, data: bytes, name: str) -> list[Table]:
    if path.suffix.lower() == ".csv":
        return [read_csv(data, name)]
    return list(read_xlsx(data, name))


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


def _ingest(landing: Path, run: Run, run_id: str, vintage: str) -> IngestReport:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ingested_at = datetime.now(UTC)
    columns: dict[str, dict[str, list]] = {kind: defaultdict(list) for kind in SOURCE_KINDS}
    inputs: list[dict[str, Any]] = []
    files, skipped = scan_landing(landing)
    details: list[dict[str, str | None]] = [
        {"file": s["file"], "sheet": None, "message": f"skipped, {s['reason']}"} for s in skipped
    ]
    errors: list[InputError] = []
    limit = max_file_bytes()
    sheets: dict[str, list[dict[str, Any]]] = defaultdict(list)

    for path in files:
        name = path.relative_to(landing).as_posix()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append({"file": name, "reason": "not a CSV or XLSX file"})
            details.append({"file": name, "sheet": None,
                            "message": "skipped, not a CSV or XLSX file"})
            continue
        try:
            data = _read_bytes(path, name, limit)
            sha256 = hashlib.sha256(data).hexdigest()
            if not data.strip():
                raise InputError(name, "file is empty")
            recognised = False
            for table in _tables(path, data, name):
                where = name + (f" [sheet {table.sheet}]" if table.sheet else "")
                sheet = read_sheet(table.rows, name, table.sheet) if table.rows else None
                if sheet is not None:  # an assessment sheet (measures, targets, ...)
                    kind, records = sheet
                    sheets[kind].extend(records)
                    recognised = True
                    inputs.append({"file": name, "sheet": table.sheet, "sha256": sha256,
                                   "bytes": len(data), "encoding": table.encoding,
                                   "layout": f"assessment_sheet:{kind}",
                                   "source_kinds": [kind], "observations": len(records),
                                   "columns_used": [c for c in table.rows[0][1] if c]})
                    continue
                parsed: ParsedTable | None = parse_table(table.rows, where) if table.rows else None
                if parsed is None:
                    if table.sheet is None or any(any(c) for _, c in table.rows):
                        details.append({"file": name, "sheet": table.sheet,
                                        "message": "skipped, header is not an NBS layout"})
                    continue
                if parsed.columns_skipped:
                    details.append({
                        "file": name,
                        "sheet": table.sheet,
                        "message": f"{len(parsed.columns_skipped)} column(s) not used by the "
                        f"pipeline, skipped: {', '.join(parsed.columns_skipped)}",
                    })
                for note in parsed.notes:
                    details.append({"file": name, "sheet": table.sheet, "message": note})
                if not parsed.observations:
                    continue
                recognised = True
                for obs in parsed.observations:
                    target = columns[obs.indicator.source_kind]
                    target["province_code"].append(obs.province_code)
                    target["year"].append(obs.year)
                    target["variable"].append(obs.indicator.variable)
                    target["fuel"].append(obs.indicator.fuel)
                    target["value"].append(obs.value)
                    target["unit"].append(obs.indicator.canonical_unit)
                    target["source_value"].append(obs.source_value)
                    target["source_unit"].append(obs.indicator.source_unit)
                    target["source_file"].append(name)
                    target["source_sha256"].append(sha256)
                    target["source_sheet"].append(table.sheet)
                    target["source_row"].append(obs.source_row)
                    target["source_column"].append(obs.source_column)
                inputs.append(
                    {
                        "file": name,
                        "sheet": table.sheet,
                        "sha256": sha256,
                        "bytes": len(data),
                        "encoding": table.encoding,
                        "layout": parsed.layout,
                        "source_kinds": sorted(
                            {o.indicator.source_kind for o in parsed.observations}
                        ),
                        "observations": len(parsed.observations),
                        "columns_used": parsed.columns_used,
                    }
                )
            if not recognised:
                skipped.append({"file": name, "reason": "no column the pipeline uses"})
        except InputError as exc:
            errors.append(exc)

    warnings = [
        f"{d['file']}" + (f" [sheet {d['sheet']}]" if d["sheet"] else "") + f": {d['message']}"
        for d in details
    ]
    if not errors and not inputs:
        errors.append(InputError(str(landing), "no recognised NBS file in the landing folder"))
    if errors:
        first = errors[0]
        first.all_errors = errors
        first.warning_details = details
        raise first

    run.raw_dir.mkdir(parents=True, exist_ok=True)
    row_counts: dict[str, int] = {}
    for kind, data_columns in columns.items():
        target = run.raw(kind)
        target.unlink(missing_ok=True)
        count = len(data_columns["year"])
        if count == 0:
            continue
        data_columns["ingested_at"] = [ingested_at] * count
        data_columns["run_id"] = [run_id] * count
        data_columns["vintage"] = [vintage] * count
        table = pa.table({f.name: data_columns[f.name] for f in RAW_SCHEMA}, schema=RAW_SCHEMA)
        pq.write_table(table, target)
        row_counts[kind] = count

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
