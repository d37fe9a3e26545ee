"""Assessment sheets a user drops in the landing folder next to the statistics.

Recognised by their header (English or Chinese), never by file name:
- measures score sheet: plan, year, province, indicator, points[, note]
                        (规划, 年份, 省份, 指标, 得分, 说明)
- targets override:     plan, province, target_pct[, source]             (规划, 省份, 目标(%), 来源)
- annual targets:       plan, year, province, annual_target_pct[, source] (…, 年度目标(%))
- confirmed declines:   plan, year, province, confirmed_decline_pct[, source]
                        (…, 核定累计下降率(%)): cumulative declines confirmed earlier

Each is checked here (known plan, province, indicator; points within the sub-indicator maximum;
no duplicates) and written to `<workdir>/sheets/<kind>.parquet` for the SQL models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon_assess import reference
from carbon_assess.errors import InputError

ALIASES = {
    "plan": "plan", "规划": "plan", "plan_id": "plan",
    "year": "year", "年份": "year",
    "province": "province", "省份": "province", "province_code": "province", "省份编码": "province",
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
        "required": ("plan", "year", "province", "indicator", "points"),
        "key": ("plan", "year", "province", "indicator"),
    },
    "targets": {"required": ("plan", "province", "target_pct"), "key": ("plan", "province")},
    "annual_targets": {
        "required": ("plan", "year", "province", "annual_target_pct"),
        "key": ("plan", "year", "province"),
    },
    "confirmed_declines": {
        "required": ("plan", "year", "province", "confirmed_decline_pct"),
        "key": ("plan", "year", "province"),
    },
}
NUMERIC = {"points", "target_pct", "annual_target_pct", "confirmed_decline_pct"}
OPTIONAL = ("note", "source")


def _normalise(header: list[str]) -> list[str | None]:
    return [ALIASES.get(h.strip().lstrip("\ufeff").casefold(), ALIASES.get(h.strip()))
            for h in header]


def sheet_kind(header: list[str]) -> str | None:
    """Which assessment sheet a header row belongs to, or None."""
    names = set(_normalise(header)) - {None}
    for kind in ("measures", "annual_targets", "confirmed_declines", "targets"):
        if set(SHEETS[kind]["required"]) <= names:
            return kind
    return None


def _check_row(kind: str, record: dict[str, Any], file: str, row: int,
               header_of: dict[str, str]) -> None:
    from carbon_assess.ingest.provinces import resolve_province

    plans = {p["plan_id"]: p for p in reference.load("plans")}
    if record["plan"] not in plans:
        raise InputError(file, f"unknown plan; known: {', '.join(plans)}", row=row,
                         column=header_of["plan"], value=record["plan"])
    code = resolve_province(record["province"])
    if code is None:
        raise InputError(file, "unknown province", row=row, column=header_of["province"],
                         value=record["province"])
    record["province"] = code
    if "year" in record:
        plan = plans[record["plan"]]
        low = int(plan["start_year"]) if kind != "confirmed_declines" else int(plan["base_year"])
        if not low <= record["year"] <= int(plan["end_year"]):
            raise InputError(file, f"year outside the {record['plan']} plan "
                             f"({plan['start_year']}-{plan['end_year']})", row=row,
                             column=header_of["year"], value=str(record["year"]))
    if kind == "measures":
        maxima = {(m["plan_id"], m["indicator"]): float(m["max_points"])
                  for m in reference.load("measures_indicators")}
        limit = maxima.get((record["plan"], record["indicator"]))
        if limit is None:
            known = sorted(i for p, i in maxima if p == record["plan"])
            raise InputError(file, f"unknown sub-indicator for {record['plan']}; known: "
                             + ", ".join(known), row=row, column=header_of["indicator"],
                             value=record["indicator"])
        if not 0 <= record["points"] <= limit:
            raise InputError(file, f"points must be between 0 and the sub-indicator maximum "
                             f"{limit:g}", row=row, column=header_of["points"],
                             value=str(record["points"]))
    for column in ("target_pct", "annual_target_pct"):
        if column in record and not 0 < record[column] < 100:
            raise InputError(file, "a reduction target is a percentage between 0 and 100",
                             row=row, column=header_of[column], value=str(record[column]))


def read_sheet(rows: list[tuple[int, list[str]]], file: str, sheet: str | None
               ) -> tuple[str, list[dict[str, Any]]] | None:
    """Parse one table if it is an assessment sheet; None otherwise."""
    from carbon_assess.ingest.layouts import parse_number, parse_year

    content = [(n, cells) for n, cells in rows if any(cells)]
    if not content:
        return None
    header_row, header = content[0]
    kind = sheet_kind(header)
    if kind is None:
        return None
    names = _normalise(header)
    header_of = {name: header[i] for i, name in enumerate(names) if name}
    wanted = set(SHEETS[kind]["required"]) | set(OPTIONAL)
    records: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    for row_number, cells in content[1:]:
        record: dict[str, Any] = {}
        for i, name in enumerate(names):
            if name not in wanted:
                continue
            text = cells[i].strip() if i < len(cells) else ""
            if name in NUMERIC:
                value = parse_number(text, file, row_number, header[i])
                if value is None:
                    raise InputError(file, "a value is required", row=row_number,
                                     column=header[i], value=text)
                record[name] = value
            elif name == "year":
                record[name] = parse_year(text, file, row_number, header[i])
            else:
                record[name] = text
        _check_row(kind, record, file, row_number, header_of)
        key = tuple(record[k] for k in SHEETS[kind]["key"])
        if key in seen:
            raise InputError(file, f"duplicate {', '.join(SHEETS[kind]['key'])} (first at row "
                             f"{seen[key]})", row=row_number, value=" / ".join(map(str, key)))
        seen[key] = row_number
        record.update(source_file=file, source_sheet=sheet, source_row=row_number)
        records.append(record)
    return kind, records


def check_sheet_duplicates(found: dict[str, list[dict[str, Any]]]) -> list[InputError]:
    """The same key in two sheets (e.g. two measures files for one province-year) is an error."""
    errors = []
    for kind, records in found.items():
        first: dict[tuple, dict[str, Any]] = {}
        for record in records:
            key = tuple(record[k] for k in SHEETS[kind]["key"])
            if key in first and first[key]["source_file"] != record["source_file"]:
                errors.append(InputError(
                    record["source_file"],
                    f"duplicate {', '.join(SHEETS[kind]['key'])}: also in "
                    f"{first[key]['source_file']} row {first[key]['source_row']}",
                    row=record["source_row"], value=" / ".join(map(str, key))))
            first.setdefault(key, record)
    return errors


def write_sheets(found: dict[str, list[dict[str, Any]]], workdir: Path) -> dict[str, int]:
    """Write each sheet kind to `<workdir>/sheets/<kind>.parquet` (empty kinds are omitted)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = workdir / "sheets"
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.parquet"):
        stale.unlink()
    counts = {}
    for kind, records in found.items():
        if not records:
            continue
        columns = list(SHEETS[kind]["required"]) + list(OPTIONAL) + [
            "source_file", "source_sheet", "source_row"]
        table = pa.table({c: [r.get(c) for r in records] for c in columns})
        pq.write_table(table, target / f"{kind}.parquet")
        counts[kind] = len(records)
    return counts
