"""Small writers for landing files in the NBS layouts, so tests state their inputs inline."""

from __future__ import annotations

import csv
from pathlib import Path

NAMES = {
    "110000": "北京市",
    "440000": "广东省",
    "540000": "西藏自治区",
    "630000": "青海省",
    "650000": "新疆维吾尔自治区",
}


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A plain UTF-8 CSV (assessment sheets and other hand-made inputs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_long_csv(
    path: Path,
    columns: list[str],
    rows: list[tuple],
    encoding: str = "utf-8",
) -> Path:
    """NBS long format 省份编码, 省份, 年份, <indicator>(<unit>)...; rows: (code, year, *values);
    None is written as a blank cell."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["省份编码", "省份", "年份", *columns])
        for code, year, *values in rows:
            cells = ["" if v is None else v for v in values]
            writer.writerow([code, NAMES.get(code, ""), year, *cells])
    return path


def write_economy(landing: Path, gdp: dict[str, dict[int, float]],
                  index: dict[str, dict[int, float]]) -> None:
    """GDP (亿元) and GDP index (上年=100) files for the given province → year → value."""
    write_long_csv(
        landing / "gdp.csv",
        ["地区生产总值(亿元)"],
        [(code, year, value) for code, years in gdp.items() for year, value in years.items()],
    )
    write_long_csv(
        landing / "gdp_index.csv",
        ["地区生产总值指数(上年=100)"],
        [(code, year, value) for code, years in index.items() for year, value in years.items()],
    )


# The two-province 12th-FYP case worked by hand in test_arithmetic.py's docstring.
QINGHAI_COAL = [1000, 1072.5, 1155.55, 1244.485, 1339.6515, 1433.3539]
GUANGDONG_COAL = [2000, 2095.2, 2169.504, 2267.4816, 2340.0410112, 2439.084607488]
PLAN_YEARS = list(range(2010, 2016))


def write_two_province_plan(landing: Path) -> None:
    """Coal, GDP and GDP index of Qinghai and Guangdong, 2010-2015 (see test_arithmetic.py)."""
    write_long_csv(
        landing / "energy.csv",
        ["煤炭消费量(万吨)"],
        [("630000", y, c) for y, c in zip(PLAN_YEARS, QINGHAI_COAL, strict=True)]
        + [("440000", y, c) for y, c in zip(PLAN_YEARS, GUANGDONG_COAL, strict=True)],
    )
    write_economy(
        landing,
        gdp={"630000": {y: 1000 + y for y in PLAN_YEARS} | {2010: 1000},
             "440000": {y: 5000 + y for y in PLAN_YEARS} | {2010: 2000}},
        index={"630000": dict.fromkeys(PLAN_YEARS, 110),
               "440000": dict.fromkeys(PLAN_YEARS, 108)},
    )
