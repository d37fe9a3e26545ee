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
