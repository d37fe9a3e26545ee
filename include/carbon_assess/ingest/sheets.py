"""Assessment sheets a user drops in the landing folder next to the statistics.

Recognised by their header (English or Chinese), never by file name:
- measures score sheet: plan, year, province, indicator, points[, note]
                        (规划, 年份, 省份, 指标, 得分, 说明)
- targets override:     plan, province, target_pct[, source]             (规划, 省份, 目标(%), 来源)
- annual targets:       plan, year, province, annual_target_pct[, source] (…, 年度目标(%))
- confirmed declines:   plan, year, province, confirmed_decline_pct[, source]
                        (…, 核定累计下降率(%)): cumulative declines confirmed earlier
- units:                code, name, level, parent   (编码, 名称, 级别, 上级编码): extra units
                        (industrial parks, development zones) that then behave like any region

Every sheet names its unit in a `region`/`地区`/`地区编码` column (any GB/T 2260 unit or declared
unit) or, as before, `province`/`省份`; either way it becomes the column `region`.

Ingest only *parses* a sheet here, as it parses the NBS files: header recognition, numbers,
years, required values present, province or region → GB/T 2260 code (an unknown one is an
`InputError`, as in an NBS file). Every rule on the *values* (plan known, year inside the plan,
sub-indicator known and points within its maximum, percentages in range, one row per key across
all files, the incomplete-sheet and target-override warnings) is an expectation of the
`sheet_<kind>` Great Expectations suites (`carbon_assess.validate.suites`), run by the validate
stage on `<workdir>/sheets/<kind>.parquet`, which is what `write_sheets` writes. Each row keeps
its lineage (source_file, source_sheet, source_row) and the Parquet metadata keeps each file's
header text, so the validation report names file, row, column and value.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

from carbon_assess.errors import InputError
from carbon_assess.ingest.arrow_values import arrow_batch
from carbon_assess.ingest.layouts import parse_number, parse_year, unknown_unit_rule
from carbon_assess.ingest.regions import declared_code_rule, province_header, resolve_region
from carbon_assess.ingest.schema import ARROW_TYPES, statistics_columns
from carbon_assess.workdir import Run

ALIASES = {
    "plan": "plan", "规划": "plan", "plan_id": "plan",
    "year": "year", "年份": "year",
    # the unit assessed: a province as before, or any region (prefecture, county, declared unit)
    "province": "region", "省份": "region", "province_code": "region", "省份编码": "region",
    "region": "region", "地区": "region", "region_code": "region", "地区编码": "region",
    # units sheet: extra units (industrial parks, development zones) beyond GB/T 2260
    "code": "code", "编码": "code", "单位编码": "code", "name": "name", "名称": "name",
    "单位名称": "name", "level": "level", "级别": "level", "parent": "parent",
    "上级编码": "parent", "parent_code": "parent",
    "indicator": "indicator", "指标": "indicator",
    "points": "points", "得分": "points",
    "note": "note", "说明": "note", "备注": "note",
    "target_pct": "target_pct", "目标(%)": "target_pct", "下降目标(%)": "target_pct",
    "annual_target_pct": "annual_target_pct", "年度目标(%)": "annual_target_pct",
    "confirmed_decline_pct": "confirmed_decline_pct",
    "核定累计下降率(%)": "confirmed_decline_pct",
    "source": "source", "来源": "source",
}

SHEETS: dict[str, dict[str, Any]] = {
    "measures": {
        "required": ("plan", "year", "region", "indicator", "points"),
        "key": ("plan", "year", "region", "indicator"),
    },
    "targets": {"required": ("plan", "region", "target_pct"), "key": ("plan", "region")},
    "annual_targets": {
        "required": ("plan", "year", "region", "annual_target_pct"),
        "key": ("plan", "year", "region"),
    },
    "confirmed_declines": {
        "required": ("plan", "year", "region", "confirmed_decline_pct"),
        "key": ("plan", "year", "region"),
    },
    "units": {"required": ("code", "name", "level", "parent"), "key": ("code",)},
}
REGION_COLUMNS = ("region", "parent")  # resolved to a unit code at ingest
OPTIONAL = ("note", "source")
LINEAGE = ("source_file", "source_sheet", "source_row")
COLUMN_TYPES = {  # DuckDB type of every column a sheet Parquet can hold
    "plan": "varchar", "year": "integer", "region": "varchar", "code": "varchar",
    "name": "varchar", "level": "varchar", "parent": "varchar", "indicator": "varchar",
    "points": "double", "target_pct": "double", "annual_target_pct": "double",
    "confirmed_decline_pct": "double", "note": "varchar", "source": "varchar",
    "source_file": "varchar", "source_sheet": "varchar", "source_row": "integer",
}
NUMERIC = {c for c, t in COLUMN_TYPES.items() if t == "double"}
HEADERS_METADATA = b"carbon_assess.headers"  # Parquet key: [{file, sheet, headers}] as JSON


def _normalise(header: list[str]) -> list[str | None]:
    return [ALIASES.get(h.strip().lstrip("\ufeff").casefold(), ALIASES.get(h.strip()))
            for h in header]


def sheet_kind(header: list[str]) -> str | None:
    """Which assessment sheet a header row belongs to, or None."""
    names = set(_normalise(header)) - {None}
    for kind in ("measures", "annual_targets", "confirmed_declines", "targets", "units"):
        if set(SHEETS[kind]["required"]) <= names:
            return kind
    return None


def sheet_columns(kind: str) -> list[str]:
    """The columns of `<workdir>/sheets/<kind>.parquet`, in order."""
    return [*SHEETS[kind]["required"], *OPTIONAL, *LINEAGE]


def sheet_column_types(kind: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of `<workdir>/sheets/<kind>.parquet`, in order."""
    return [(c, COLUMN_TYPES[c]) for c in sheet_columns(kind)]


def read_sheet(rows: list[tuple[int, list[str]]], file: str, sheet: str | None
               ) -> tuple[str, list[dict[str, Any]]] | None:
    """Parse one table if it is an assessment sheet; None otherwise.

    Raises InputError for what cannot be parsed: a blank required cell, a number or year that is
    not one, a province that names none. The values themselves are validated later (GX).
    """
    content = [(n, cells) for n, cells in rows if any(cells)]
    if not content:
        return None
    _, header = content[0]
    kind = sheet_kind(header)
    if kind is None:
        return None
    names = _normalise(header)
    header_of = {name: header[i].strip().lstrip("\ufeff") for i, name in enumerate(names) if name}
    required = set(SHEETS[kind]["required"])
    wanted = required | set(OPTIONAL)
    records: list[dict[str, Any]] = []
    for row_number, cells in content[1:]:
        record: dict[str, Any] = {}
        for i, name in enumerate(names):
            if name not in wanted:
                continue
            text = cells[i].strip() if i < len(cells) else ""
            if name in NUMERIC:
                value = parse_number(text, file, row_number, header[i])
            elif name == "year":
                value = parse_year(text, file, row_number, header[i]) if text else None
            else:
                value = text
            if name in required and value in (None, ""):
                raise InputError(file, "a value is required", row=row_number, column=header[i],
                                 value=text)
            record[name] = value
        if kind == "units":
            record["code"] = unicodedata.normalize("NFKC", record["code"]).strip()
            problem = declared_code_rule(record["code"])
            if problem is not None:
                raise InputError(file, problem, row=row_number, column=header_of["code"],
                                 value=record["code"])
        for column in REGION_COLUMNS:
            if column in record:
                written = header_of[column]
                # a declared unit's code only where the header says region (地区, region)
                code = resolve_region(record[column], code_column=not province_header(written))
                if code is None:
                    what = ("province" if province_header(written)
                            else "region" if column == "region" else "parent unit")
                    raise InputError(file, unknown_unit_rule(what, record[column]),
                                     row=row_number, column=written, value=record[column])
                record[column] = code
        record.update(source_file=file, source_sheet=sheet, source_row=row_number)
        record["source_columns"] = header_of  # the header text of each column, for the report
        records.append(record)
    return kind, records


def unit_parent_errors(records: list[dict[str, Any]]) -> list[InputError]:
    """The units sheets' rows (all files) whose parent chain never reaches GB/T 2260: a unit that
    is its own parent, and each cycle of declared units (Z1 → Z2 → Z1), named at the row of its
    first unit in landing order, with the cycle's codes. (A parent no sheet declares is a rule
    of the `sheet_units` suite: it names the row too.)"""
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        first.setdefault(record["code"], record)

    def error(record: dict[str, Any], rule: str) -> InputError:
        return InputError(record["source_file"], rule, row=record["source_row"],
                          column=record["source_columns"].get("parent", "parent"),
                          value=record["parent"])

    errors: list[InputError] = []
    done: set[str] = set()
    for record in records:
        if record["code"] == record["parent"]:
            errors.append(error(record, f"a unit cannot be its own parent ({record['code']})"))
            done.add(record["code"])
    for record in first.values():
        path: list[str] = []
        code: str | None = record["code"]
        while code in first and code not in done and code not in path:
            path.append(code)
            code = first[code]["parent"]
        if code in path:
            cycle = path[path.index(code):]
            at = min((first[c] for c in cycle), key=records.index)
            start = cycle.index(at["code"])
            ring = [*cycle[start:], *cycle[:start], at["code"]]
            errors.append(error(at, f"parent cycle {' → '.join(ring)}: a unit cannot be "
                                "below itself; give one of them a GB/T 2260 parent"))
        done.update(path)
    return errors


def write_sheets(found: dict[str, list[dict[str, Any]]], run: Run | Path) -> dict[str, int]:
    """Write each sheet kind to `<workdir>/sheets/<kind>.parquet` (empty kinds are omitted).

    The Parquet schema metadata `carbon_assess.headers` lists, per file and sheet, the header
    text of each column (e.g. points → 得分), for the validation report.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = Run.of(run)
    target = run.sheets_dir
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.parquet"):
        stale.unlink()
    counts = {}
    for kind, records in found.items():
        if not records:
            continue
        # typed as compute reads them (sheet_column_types), built without pandas (arrow_values)
        schema = pa.schema([(c, ARROW_TYPES[t.upper()]) for c, t in sheet_column_types(kind)])
        table = pa.Table.from_batches([arrow_batch(
            {c: [r.get(c) for r in records] for c in schema.names}, schema)])
        headers: dict[tuple, dict[str, str]] = {}
        for r in records:
            headers.setdefault((r["source_file"], r["source_sheet"]), r.get("source_columns", {}))
        meta = [{"file": f, "sheet": s, "headers": h} for (f, s), h in headers.items()]
        table = table.replace_schema_metadata(
            {HEADERS_METADATA: json.dumps(meta, ensure_ascii=False).encode("utf-8")})
        pq.write_table(table, run.sheet(kind),
                       write_statistics=statistics_columns(table.schema))
        counts[kind] = len(records)
    return counts


def sheet_headers(table: Any) -> dict[tuple[str, str | None], dict[str, str]]:
    """(file, sheet) -> {column: header text} from a sheet table's Parquet metadata."""
    raw = (table.schema.metadata or {}).get(HEADERS_METADATA)
    if not raw:
        return {}
    return {(m["file"], m.get("sheet")): dict(m.get("headers") or {})
            for m in json.loads(raw.decode("utf-8"))}
