"""Ingest: landing folder (as published) → typed, lineage-stamped raw Parquet per source kind.

Raw inputs are only ever read. Any file that breaks the contract stops the ingest with an
`InputError` naming file, row, column and value, before anything is written downstream.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import InputError
from carbon_assess.ingest.layouts import ParsedTable, parse_table
from carbon_assess.ingest.readers import SUPPORTED_SUFFIXES, Table, read_csv, read_xlsx
from carbon_assess.ingest.schema import RAW_SCHEMA, SOURCE_KINDS

__all__ = ["ingest_landing", "landing_files"]


def landing_files(landing: Path) -> list[Path]:
    """Every regular file under the landing folder, recursively, in a stable order.

    Symlinks are not followed and hidden files (`.` prefix) are ignored, so a file name can
    never make the ingest read outside the landing folder.
    """
    if not landing.is_dir():
        raise InputError(str(landing), "landing folder does not exist or is not a folder")
    root = landing.resolve()
    files = []
    for path in sorted(landing.rglob("*")):
        relative = path.relative_to(landing)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            continue
        files.append(path)
    return files


def _tables(path: Path, data: bytes, name: str) -> list[Table]:
    if path.suffix.lower() == ".csv":
        return [read_csv(data, name)]
    return list(read_xlsx(path, name))


def ingest_landing(landing: Path, workdir: Path, run_id: str, vintage: str) -> dict[str, Any]:
    """Parse all landing files, write `raw/<kind>.parquet`, return the ingest report."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ingested_at = datetime.now(UTC)
    columns: dict[str, dict[str, list]] = {
        kind: defaultdict(list) for kind in SOURCE_KINDS
    }
    inputs: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    warnings: list[str] = []

    for path in landing_files(landing):
        name = path.relative_to(landing).as_posix()
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            skipped.append({"file": name, "reason": "not a CSV or XLSX file"})
            warnings.append(f"{name}: skipped, not a CSV or XLSX file")
            continue
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        if not data.strip():
            raise InputError(name, "file is empty")
        recognised = False
        for table in _tables(path, data, name):
            parsed: ParsedTable | None = parse_table(table.rows, name) if table.rows else None
            where = f"{name}" + (f" [sheet {table.sheet}]" if table.sheet else "")
            if parsed is None:
                if table.sheet is None or any(any(c) for _, c in table.rows):
                    warnings.append(f"{where}: skipped, header is not an NBS layout")
                continue
            if parsed.columns_skipped:
                warnings.append(
                    f"{where}: {len(parsed.columns_skipped)} column(s) not used by the pipeline, "
                    f"skipped: {', '.join(parsed.columns_skipped)}"
                )
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
                    "observations": len(parsed.observations),
                    "columns_used": parsed.columns_used,
                }
            )
        if not recognised:
            skipped.append({"file": name, "reason": "no column the pipeline uses"})

    if not inputs:
        raise InputError(str(landing), "no recognised NBS file in the landing folder")

    raw_dir = workdir / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    row_counts: dict[str, int] = {}
    for kind, data_columns in columns.items():
        target = raw_dir / f"{kind}.parquet"
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

    report = {
        "inputs": inputs,
        "skipped_files": skipped,
        "warnings": warnings,
        "row_counts": row_counts,
    }
    (workdir / "ingest_report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return report
