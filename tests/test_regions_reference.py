"""reference/regions.csv and reference/region_code_changes.csv (see reference/regions.md).

The expected counts are MCA's own totals for the code list's date (2020), not counts taken
from the table; the hand-checked facts are ones known independently of the source package.
The derivation rules of scripts/make_regions.py are tested on small made-up code lists.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from carbon_assess import reference

REPO_ROOT = Path(__file__).resolve().parent.parent
LEVELS = ("province", "prefecture", "county")
CHANGES = ("renamed", "recoded", "renamed_recoded")
MUNICIPALITIES = ("110000", "120000", "310000", "500000")

# MCA totals for mid- and end-2020 (no county-level change was approved July-November 2020):
# 34 provincial units less Taiwan, Hong Kong, Macao; 333 prefecture-level units; 2,844
# county-level units. The code list of December 2020 prints no row for the two districts of
# Sansha set up in April 2020 (西沙区, 南沙区), so up to 2 county-level units may be missing,
# all of them districts.
PROVINCES = 31
PREFECTURE_TYPES = {"地级市": 293, "地区": 7, "自治州": 30, "盟": 3}
COUNTY_TYPES = {"市辖区": 973, "县级市": 388, "县": 1312, "自治县": 117, "旗": 49, "自治旗": 3,
                "特区": 1, "林区": 1}
UNCODED_DISTRICTS = 2


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with reference.path(name).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


@cache
def regions() -> list[dict[str, str]]:
    columns, rows = _read("regions")
    assert columns == ["code", "name", "level", "parent_code", "province_code"]
    return rows


@cache
def by_code() -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in regions()}


@cache
def changes() -> list[dict[str, str]]:
    columns, rows = _read("region_code_changes")
    assert columns == ["old_code", "old_name", "new_code", "new_name", "year", "change"]
    return rows


def _pattern_level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    return "prefecture" if code.endswith("00") else "county"


def _prefecture_type(name: str) -> str:
    return next((t for t in ("自治州", "地区", "盟") if name.endswith(t)), "地级市")


def _county_type(code: str, name: str) -> str:
    if code == "429021":  # 神农架林区, the only forestry district (other names end in 林区 too)
        return "林区"
    for suffix, kind in (("自治县", "自治县"), ("自治旗", "自治旗"), ("特区", "特区"), ("旗", "旗"),
                         ("县", "县"), ("市", "县级市"), ("区", "市辖区")):
        if name.endswith(suffix):
            return kind
    raise AssertionError(f"{code} {name}: no county-level type")


def test_files_are_utf8_without_bom_and_end_with_a_newline() -> None:
    for name in ("regions", "region_code_changes"):
        data = reference.path(name).read_bytes()
        data.decode("utf-8")
        assert not data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\n"), name
        assert b"\r" not in data, name


def test_codes_are_six_digits_unique_and_sorted() -> None:
    codes = [r["code"] for r in regions()]
    assert all(re.fullmatch(r"[1-9]\d{5}", c) for c in codes)
    assert len(set(codes)) == len(codes)
    assert codes == sorted(codes)


def test_names_are_clean_chinese_names() -> None:
    for row in regions():
        assert row["name"] and row["name"] == row["name"].strip(), row
        assert re.fullmatch(r"[\u4e00-\u9fff]+", row["name"]), row


def test_level_follows_the_code_pattern() -> None:
    for row in regions():
        assert row["level"] == _pattern_level(row["code"]), row


def test_parents_exist_one_level_up() -> None:
    rows = by_code()
    for row in regions():
        code, parent = row["code"], row["parent_code"]
        assert row["province_code"] == code[:2] + "0000"
        assert rows[row["province_code"]]["level"] == "province"
        if row["level"] == "province":
            assert parent == ""
        elif row["level"] == "prefecture":
            assert parent == row["province_code"], row
        elif code[:4] + "00" in rows:
            assert parent == code[:4] + "00" and rows[parent]["level"] == "prefecture", row
        else:  # a municipality's district or county, or a province-administered unit (xx90yy)
            assert parent == row["province_code"], row
            assert parent in MUNICIPALITIES or code[2:4] == "90", row


def test_directly_administered_units_hang_on_their_province() -> None:
    direct = Counter(r["province_code"] for r in regions()
                     if r["level"] == "county" and r["parent_code"] == r["province_code"])
    # Henan: 济源; Hubei: 仙桃 潜江 天门 神农架; Hainan: 5 cities, 4 counties, 6 autonomous
    # counties; Xinjiang: the XPCC cities; municipalities: all their districts and counties.
    assert direct["410000"] == 1 and direct["420000"] == 4 and direct["460000"] == 15
    assert set(direct) == {*MUNICIPALITIES, "410000", "420000", "460000", "650000"}
    assert not any(r["code"].endswith("9000") or r["name"] in ("市辖区", "县")
                   for r in regions())  # no grouping rows


def test_provinces_are_those_of_provinces_csv() -> None:
    expected = {r["code"]: r["name_zh"] for r in reference.load("provinces")}
    got = {r["code"]: r["name"] for r in regions() if r["level"] == "province"}
    assert got == expected
    assert not any(r["code"][:2] in ("71", "81", "82") for r in regions())


def test_counts_match_mca_totals() -> None:
    levels = Counter(r["level"] for r in regions())
    assert levels["province"] == PROVINCES
    prefectures = Counter(_prefecture_type(r["name"]) for r in regions()
                          if r["level"] == "prefecture")
    assert prefectures == PREFECTURE_TYPES
    counties = Counter(_county_type(r["code"], r["name"]) for r in regions()
                       if r["level"] == "county")
    expected = sum(COUNTY_TYPES.values())
    assert expected - UNCODED_DISTRICTS <= levels["county"] <= expected
    for kind, count in COUNTY_TYPES.items():
        missing = UNCODED_DISTRICTS if kind == "市辖区" else 0
        assert count - missing <= counties[kind] <= count, kind


@pytest.mark.parametrize(("code", "name", "parent"), [
    ("630000", "青海省", ""),
    ("630100", "西宁市", "630000"),
    ("440300", "深圳市", "440000"),
    ("440100", "广州市", "440000"),
    ("110101", "东城区", "110000"),
    ("110102", "西城区", "110000"),
    ("310115", "浦东新区", "310000"),
    ("120116", "滨海新区", "120000"),
    ("500101", "万州区", "500000"),
    ("540100", "拉萨市", "540000"),
    ("650100", "乌鲁木齐市", "650000"),
    ("419001", "济源市", "410000"),
    ("429021", "神农架林区", "420000"),
    ("469001", "五指山市", "460000"),
    ("659001", "石河子市", "650000"),
    ("441900", "东莞市", "440000"),
    ("370116", "莱芜区", "370100"),  # 莱芜市 merged into 济南市 in 2019
    ("520203", "六枝特区", "520200"),
])
def test_hand_checked_facts(code: str, name: str, parent: str) -> None:
    row = by_code()[code]
    assert (row["name"], row["parent_code"]) == (name, parent)


def test_abolished_units_are_absent() -> None:
    for code in ("110103", "110104", "110229", "371200", "341400"):  # 崇文 宣武 延庆县 莱芜 巢湖
        assert code not in by_code()


def test_changes_resolve_to_current_units() -> None:
    rows = changes()
    # Never empty: the pipeline loads every reference table and reads its first row.
    assert rows
    current = {(r["code"], r["name"]) for r in regions()}
    keys = [(r["old_code"], r["old_name"]) for r in rows]
    assert len(set(keys)) == len(keys) and keys == sorted(keys)
    for row in rows:
        assert re.fullmatch(r"[1-9]\d{5}", row["old_code"]), row
        assert row["old_name"] and row["old_name"] == row["old_name"].strip(), row
        assert (row["new_code"], row["new_name"]) in current, row
        assert (row["old_code"], row["old_name"]) not in current, row
        assert 2003 <= int(row["year"]) <= 2020, row
        assert _pattern_level(row["old_code"]) == _pattern_level(row["new_code"]), row
        expected = ("renamed" if row["old_code"] == row["new_code"] else
                    "recoded" if row["old_name"] == row["new_name"] else "renamed_recoded")
        assert row["change"] == expected, row
    assert set(r["change"] for r in rows) == set(CHANGES)


@pytest.mark.parametrize("row", [
    "110229,延庆县,110119,延庆区,2016,renamed_recoded",   # county made a district, Nov 2015
    "420600,襄樊市,420600,襄阳市,2011,renamed",           # Dec 2010
    "542300,日喀则地区,540200,日喀则市,2014,renamed_recoded",  # prefecture made a city, 2014
    "371203,钢城区,370117,钢城区,2020,recoded",           # 莱芜市 merged into 济南市, 2019
    "610125,户县,610118,鄠邑区,2020,renamed_recoded",      # county made a district, 2016
])
def test_hand_checked_changes(row: str) -> None:
    old_code, old_name, new_code, new_name, year, change = row.split(",")
    assert {"old_code": old_code, "old_name": old_name, "new_code": new_code,
            "new_name": new_name, "year": year, "change": change} in changes()


def test_merged_units_have_no_invented_successor() -> None:
    old = {(r["old_code"], r["old_name"]) for r in changes()}
    assert ("110103", "崇文区") not in old and ("371200", "莱芜市") not in old


# --- the derivation rules of scripts/make_regions.py, on made-up code lists --------------

@cache
def make_regions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_regions",
                                                  REPO_ROOT / "scripts" / "make_regions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_drops_grouping_rows_and_hangs_direct_units_on_the_province() -> None:
    rows = make_regions().build_regions({
        "110000": "北京市", "110100": "市辖区", "110101": "东城区",
        "410000": "河南省", "410100": "郑州市", "410101": "市辖区", "410102": "中原区",
        "419000": "省直辖县级行政区划", "419001": "济源市", "810000": "香港特别行政区",
    })
    assert [(r["code"], r["level"], r["parent_code"]) for r in rows] == [
        ("110000", "province", ""), ("110101", "county", "110000"),
        ("410000", "province", ""), ("410100", "prefecture", "410000"),
        ("410102", "county", "410100"), ("419001", "county", "410000")]


def test_script_refuses_a_county_without_its_prefecture() -> None:
    with pytest.raises(SystemExit):
        make_regions().build_regions({"130000": "河北省", "130102": "长安区"})


def test_script_matches_by_name_then_code_then_stem() -> None:
    step = make_regions().step_edges
    # Hainan 2007: codes reused for other counties; the name decides, not the code.
    assert step({"469025": "定安县", "469030": "白沙黎族自治县"},
                {"469021": "定安县", "469025": "白沙黎族自治县"}) == {
        ("469025", "定安县"): ("469021", "定安县"),
        ("469030", "白沙黎族自治县"): ("469025", "白沙黎族自治县")}
    assert step({"420600": "襄樊市"}, {"420600": "襄阳市"}) == {
        ("420600", "襄樊市"): ("420600", "襄阳市")}
    assert step({"110229": "延庆县"}, {"110119": "延庆区"}) == {
        ("110229", "延庆县"): ("110119", "延庆区")}


def test_script_pairs_a_lone_county_but_never_a_district() -> None:
    step = make_regions().step_edges
    assert step({"610125": "户县"}, {"610118": "鄠邑区"}) == {
        ("610125", "户县"): ("610118", "鄠邑区")}
    # Harbin 2004: 太平区 merged into 道外区 while 松北区 was created; no pairing.
    assert step({"230105": "太平区"}, {"230109": "松北区"}) == {}
    # two vanished, one new (Suzhou 2012): ambiguous, no pairing.
    assert step({"320502": "沧浪区", "320521": "甲县"}, {"320508": "姑苏区"}) == {}


def test_script_follows_chains_and_drops_dead_ends() -> None:
    rows, dead = make_regions().build_changes([
        ("200312", {"532700": "思茅地区", "110103": "崇文区"}),
        ("200712", {"530800": "思茅市"}),
        ("201607", {"530800": "普洱市"}),
    ])
    assert rows == [{"old_code": "530800", "old_name": "思茅市", "new_code": "530800",
                     "new_name": "普洱市", "year": "2016", "change": "renamed"},
                    {"old_code": "532700", "old_name": "思茅地区", "new_code": "530800",
                     "new_name": "普洱市", "year": "2007", "change": "renamed_recoded"}]
    assert dead == [("200712", ("110103", "崇文区"))]
