"""The synthetic demo landing data: labelled, deterministic, in NBS layouts, with its story.

The demo data is what a new user runs first and what end-to-end tests can rely on, so its
formats, deliberate data-quality cases and assessment outcomes are pinned here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import Path

import openpyxl
import pytest

from carbon_assess.demo import write_demo_landing

YEARS = list(range(2020, 2004, -1))  # as published: latest year first
CONSUMPTION = "synthetic_prov_energy_consumption.csv"
PRODUCTION = "synthetic_prov_energy_production.csv"
GDP = "synthetic_prov_gdp.csv"
POPULATION = "synthetic_prov_population.xlsx"
PORTAL_GAS = "synthetic_portal_natural_gas_consumption.csv"
PORTAL_INDEX = "synthetic_portal_gdp_index.csv"
GB18030_FILES = (GDP, PORTAL_GAS, PORTAL_INDEX)
EF = {"coal": 1.9003, "coke": 2.8604, "crude": 3.0202, "gasoline": 2.9251,
      "kerosene": 3.0179, "diesel": 3.0959, "fuel_oil": 3.1705}  # fmt: skip
EF_GAS = 21.622  # 万吨 CO2 per 亿立方米


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("demo")
    write_demo_landing(target)
    return target


@pytest.fixture(scope="module")
def provinces() -> list[dict[str, str]]:
    ref = Path(__file__).parents[1] / "include/carbon_assess/reference/provinces.csv"
    return list(csv.DictReader(ref.read_text("utf-8").splitlines()))


def _encoding(name: str) -> str:
    return "gb18030" if name in GB18030_FILES else "utf-8-sig"


def _rows(landing: Path, name: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO((landing / name).read_text(_encoding(name)))))


def _long(landing: Path, name: str) -> dict[tuple[str, int], dict[str, str]]:
    """(code, year) -> {header: cell} of a long-format CSV."""
    header, *body = _rows(landing, name)
    return {(r[0], int(r[2])): dict(zip(header, r, strict=True)) for r in body}


def _wide(landing: Path, name: str, provinces: list[dict[str, str]]) -> dict[str, dict[int, str]]:
    """code -> {year: cell} of a portal export, resolving short and English names."""
    codes = {p[k]: p["code"] for p in provinces for k in ("short_zh", "name_en")}
    rows = _rows(landing, name)
    years = [int(h.removesuffix("年")) for h in rows[3][1:]]
    return {codes[r[0]]: dict(zip(years, r[1:], strict=True)) for r in rows[4:-2]}


def _sha256s(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_two_calls_write_byte_identical_files(tmp_path: Path) -> None:
    first = write_demo_landing(tmp_path / "a")
    second = write_demo_landing(tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    assert _sha256s(tmp_path / "a") == _sha256s(tmp_path / "b")
    assert len(_sha256s(tmp_path / "a")) == 8


def test_files_are_labelled_synthetic(tmp_path: Path) -> None:
    written = write_demo_landing(tmp_path)
    data = [p for p in written if p.name != "README_SYNTHETIC.txt"]
    assert len(data) == 7
    assert all(p.name.startswith("synthetic_") for p in data)
    readme = (tmp_path / "README_SYNTHETIC.txt").read_text("utf-8")
    assert "invented" in readme and "NOT statistics of the National Bureau" in readme
    assert "并非国家统计局统计数据" in readme


def test_encodings_match_what_nbs_publishes(landing: Path) -> None:
    for name in GB18030_FILES:
        raw = (landing / name).read_bytes()
        raw.decode("gb18030")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    assert (landing / CONSUMPTION).read_bytes().startswith(b"\xef\xbb\xbf")
    production = (landing / PRODUCTION).read_bytes()
    assert not production.startswith(b"\xef\xbb\xbf")
    production.decode("utf-8")


@pytest.mark.parametrize("name", [CONSUMPTION, PRODUCTION, GDP])
def test_long_csv_has_every_province_year_in_nbs_order(
    landing: Path, name: str, provinces: list[dict[str, str]]
) -> None:
    header, *body = _rows(landing, name)
    assert header[:3] == ["省份编码", "省份", "年份"]
    assert all(re.fullmatch(r".+\(.+\)", h) for h in header[3:])
    expected = [(p["code"], p["name_zh"], str(y)) for p in provinces for y in YEARS]
    assert [tuple(r[:3]) for r in body] == expected  # 31 x 16, province then year descending
    assert all(len(r) == len(header) for r in body)


def test_population_xlsx_long_layout(landing: Path, provinces: list[dict[str, str]]) -> None:
    wb = openpyxl.load_workbook(landing / POPULATION, read_only=True)
    assert wb.sheetnames == ["年末常住人口"]
    header, *body = list(wb["年末常住人口"].iter_rows(values_only=True))
    assert list(header) == ["省份编码", "省份", "年份", "年末常住人口(万人)"]
    assert len(body) == 31 * 16
    assert [(str(r[0]), int(r[2])) for r in body] == [
        (p["code"], y) for p in provinces for y in YEARS
    ]
    assert all(20 < r[3] < 15000 for r in body)


@pytest.mark.parametrize(
    ("name", "indicator"),
    [(PORTAL_GAS, "天然气消费量(亿立方米)"), (PORTAL_INDEX, "地区生产总值指数(上年=100)")],
)
def test_portal_wide_export_layout(
    landing: Path, name: str, indicator: str, provinces: list[dict[str, str]]
) -> None:
    rows = _rows(landing, name)
    assert rows[:3] == [["数据库：分省年度数据"], [f"指标：{indicator}"], ["时间：2005-2020"]]
    assert rows[3] == ["地区", *(f"{y}年" for y in YEARS)]
    assert rows[-2:] == [
        ["注：本表为合成演示数据。"],
        ["数据来源：合成演示数据（非国家统计局数据）"],
    ]
    names = [r[0] for r in rows[4:-2]]
    assert len(names) == 31 and all(len(r) == 17 for r in rows[4:-2])
    english = {p["name_en"] for p in provinces}
    assert 2 <= len(english & set(names)) <= 3
    assert {p["short_zh"] for p in provinces} & set(names)
    assert len(_wide(landing, name, provinces)) == 31


def test_gdp_and_index_are_plausible(landing: Path, provinces: list[dict[str, str]]) -> None:
    index = _wide(landing, PORTAL_INDEX, provinces)
    values = [float(v) for row in index.values() for v in row.values()]
    assert len(values) == 31 * 16 and min(values) >= 101 and max(values) <= 115
    gdp = [float(r["地区生产总值(亿元)"]) for r in _long(landing, GDP).values()]
    assert 100 < min(gdp) < 1000 and 90_000 < max(gdp) < 130_000
    coal = [float(c) for r in _long(landing, CONSUMPTION).values() if (c := r["煤炭消费量(万吨)"])]
    assert min(coal) > 100 and 30_000 < max(coal) < 45_000


def test_tibet_has_no_fuel_data(landing: Path, provinces: list[dict[str, str]]) -> None:
    consumption, production = _long(landing, CONSUMPTION), _long(landing, PRODUCTION)
    gdp, index = _long(landing, GDP), _wide(landing, PORTAL_INDEX, provinces)
    for year in YEARS:
        fuels = [k for k in consumption["540000", year] if "消费量" in k and "电力" not in k]
        assert len(fuels) == 7 and all(consumption["540000", year][k] == "" for k in fuels)
        made = production["540000", year]
        assert all(made[k] == "" for k in made if "生产量" in k)
        assert float(gdp["540000", year]["地区生产总值(亿元)"]) > 0 and index["540000"][year]
    assert all(v == "" for v in _wide(landing, PORTAL_GAS, provinces)["540000"].values())


def test_deliberate_gap_stop_and_noise(landing: Path) -> None:
    consumption = _long(landing, CONSUMPTION)
    kerosene = {y: consumption["630000", y]["煤油消费量(万吨)"] for y in YEARS}
    assert [kerosene[y] for y in (2012, 2013, 2014)] == ["", "", ""]
    assert float(kerosene[2011]) > 0 and float(kerosene[2015]) > 0
    assert float(kerosene[2006]) == -1e-12
    crude = {y: consumption["500000", y]["原油消费量(万吨)"] for y in YEARS}
    assert all(crude[y] == "" for y in range(2010, 2021)) and float(crude[2009]) > 0


def test_at_most_four_decimals_except_the_noise_cell(landing: Path) -> None:
    cells = [c for name in (CONSUMPTION, PRODUCTION, GDP, PORTAL_GAS, PORTAL_INDEX)
             for row in _rows(landing, name) for c in row]  # fmt: skip
    numeric = [c for c in cells if re.fullmatch(r"-?[0-9.e+-]+", c)]
    odd = [c for c in numeric if not re.fullmatch(r"\d+(\.\d{1,4})?", c)]
    assert odd == ["-1e-12"]  # also: nothing else is negative


def _reference_co2(cons: dict[str, str], prod: dict[str, str], gas: str) -> float:
    """Reference approach (DESIGN.md section 5); blank cells count as 0 (callers skip gaps)."""

    def v(row: dict[str, str], key: str) -> float:
        return float(row[key]) if row[key] else 0.0

    total = v(cons, "煤炭消费量(万吨)") * EF["coal"] + v(cons, "原油消费量(万吨)") * EF["crude"]
    total += float(gas) * EF_GAS
    for zh, fuel in (("焦炭", "coke"), ("汽油", "gasoline"), ("煤油", "kerosene"),
                     ("柴油", "diesel"), ("燃料油", "fuel_oil")):  # fmt: skip
        total += (v(cons, f"{zh}消费量(万吨)") - v(prod, f"{zh}生产量(万吨)")) * EF[fuel]
    return total


def test_12th_plan_story(landing: Path, provinces: list[dict[str, str]]) -> None:
    """Most provinces meet the 12th FYP target; Hainan, Ningxia, Xinjiang miss; two lag."""
    targets = {"460000": 0.11, "640000": 0.16, "650000": 0.11, "210000": 0.18, "520000": 0.16,
               "630000": 0.10, "440000": 0.195, "110000": 0.18}  # fmt: skip
    consumption, production = _long(landing, CONSUMPTION), _long(landing, PRODUCTION)
    gdp, index = _long(landing, GDP), _wide(landing, PORTAL_INDEX, provinces)
    gas = _wide(landing, PORTAL_GAS, provinces)
    met, behind_2013 = set(), set()
    for code, target in targets.items():
        level = float(gdp[code, 2010]["地区生产总值(亿元)"])
        intensity = {}
        for year in range(2010, 2016):
            if year > 2010:
                level *= float(index[code][year]) / 100
            if code == "630000" and year in (2012, 2013, 2014):
                continue  # kerosene gap, interpolated by the pipeline
            co2 = _reference_co2(consumption[code, year], production[code, year], gas[code][year])
            intensity[year] = co2 / level
        decline = {y: 1 - intensity[y] / intensity[2010] for y in intensity}
        if decline[2015] >= target:
            met.add(code)
        if code != "630000" and decline[2013] < 1 - (1 - target) ** 0.6:
            behind_2013.add(code)
    assert met == {"210000", "520000", "630000", "440000", "110000"}
    assert behind_2013 == {"460000", "640000", "650000", "210000", "520000"}
