"""Units below the provinces (issue 13): a prefecture, its two counties and a declared park, worked
by hand, through ingest, validation, compute, assessment and both warehouses.

The landing (written below) uses the region header `地区编码,地区,年份,...` and coal only
(the other fuels have no column, so they have no rows), for 2010-2015 (12th FYP, base 2010):

    unit                    coal 2010 (万吨)  coal 2015          GDP 2010 (亿元)  GDP index  people
    新余市 360500 (parent)  470               470 × 0.8 × 1.1^5  1000             110/year   160
    渝水区 360502 (county)  300               300 × 1.1^5        600              110        100
    分宜县 360521 (county)  150               150 × 1.1^5 × 1.2  400              110         60
    Z3605020001 (a park in 渝水区, declared in units.csv): 渝水区's figures, 10 (万人) people

CO2 = coal × 1e4 t × 1.9003 kgCO2/kg / 1e9 = coal × 0.019003 Mt (raw coal, DESIGN.md §5), so
every ratio of CO2 is a ratio of coal. GDP at 2010 prices in 2015 = GDP_2010 × 1.1^5.

- Intensity decline 2010-2015 of 新余市 = 1 − (0.8 × 1.1^5 / 1.1^5) = 20 %; its targets sheet
  (region column 地区) gives 16 %, so in 2015 (end of plan) it has `met`.
- 渝水区: coal grows as GDP, decline 0 %; no target: status `no target`, declines still given.
- 分宜县: coal grows 1.2 × GDP: decline 1 − 1.2 = −20 % (a rise); `no target`.
- Roll-up, 2010: children 300 + 150 = 450 against the parent's own 470:
  gap = 100 × (450 / 470 − 1) = −4.2553 %, within 5 %: complete, no warning. GDP: 600 + 400 =
  1000 against 1000, population 100 + 60 = 160 against 160: 0 %.
- Roll-up, 2015: children 300 × 1.1^5 + 150 × 1.1^5 × 1.2 = 480 × 1.1^5 against
  470 × 0.8 × 1.1^5 = 376 × 1.1^5: gap = 100 × (480 / 376 − 1) = +27.66 %: warning.
- The park is not a child in any sum (a part of its county, not a partition): children_in_sum 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main

GROWTH = 1.1**5
COAL_MT = 0.019003  # Mt CO2 per 万吨 of raw coal: 1e4 t × 1.9003 t/t / 1e6
YEARS = range(2010, 2016)
UNITS = {  # code: (name, coal 2010, coal growth factor 2010 -> 2015 beyond GDP, GDP 2010,
    #         population)
    "360500": ("新余市", 470.0, 0.8, 1000.0, 160.0),
    "360502": ("渝水区", 300.0, 1.0, 600.0, 100.0),
    "360521": ("分宜县", 150.0, 1.2, 400.0, 60.0),
    "Z3605020001": ("渝水区工业园区", 300.0, 1.0, 600.0, 10.0),
}


def _coal(code: str, year: int) -> float:
    """Coal consumption: GDP growth times the unit's intensity factor, reached evenly."""
    _name, base, factor, _gdp, _people = UNITS[code]
    k = year - 2010
    return base * 1.1**k * (1 + (factor - 1) * k / 5)


def write_landing(landing: Path) -> None:
    landing.mkdir(parents=True)
    energy = ["地区编码,地区,年份,煤炭消费量(万吨)"]
    gdp = ["地区编码,地区,年份,地区生产总值(亿元)"]
    index = ["地区编码,地区,年份,地区生产总值指数(上年=100)"]
    population = ["地区编码,地区,年份,年末常住人口(万人)"]
    for code, (name, _coal0, _f, gdp0, people) in UNITS.items():
        for year in YEARS:
            energy.append(f"{code},{name},{year},{_coal(code, year)!r}")
            gdp.append(f"{code},{name},{year},{gdp0 * 1.1 ** (year - 2010)!r}")
            index.append(f"{code},{name},{year},110")
            population.append(f"{code},{name},{year},{people}")
    for file, lines in {"energy.csv": energy, "gdp.csv": gdp, "gdp_index.csv": index,
                        "population.csv": population}.items():
        (landing / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (landing / "units.csv").write_text(
        "code,name,level,parent\nZ3605020001,渝水区工业园区,park,360502\n", encoding="utf-8")
    (landing / "targets.csv").write_text("规划,地区,目标(%)\n12th,新余市,16\n", encoding="utf-8")


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("regions")
    write_landing(root / "landing")
    return root / "landing"


def _publish(landing: Path, url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(home))
    assert main(["run", "--landing", str(landing), "--warehouse", url]) == 0


def _facts(con, placeholder: str = "?") -> dict:
    """The published figures this module checks, the same way in both warehouses."""
    q = con.execute
    return {
        "levels": dict(q("select region_code, region_level from carbon.dim_region "
                         "where region_code in ('360500', '360502', '360521', 'Z3605020001')"
                         ).fetchall()),
        "park_province": q("select province_code, parent_code from carbon.dim_region "
                           "where region_code = 'Z3605020001'").fetchall(),
        "assessment": {r[0]: r[1:] for r in q(
            "select region_code, region_level, province_code, status, cumulative_decline_pct, "
            "target_pct from carbon.fct_target_assessment "
            "where plan_id = '12th' and assessment_year = 2015 and region_level <> 'province'"
        ).fetchall()},
        "rollup": {r[0]: r[1:] for r in q(
            "select year, children_in_sum, children_expected, complete, co2_gap_pct, "
            "gdp_gap_pct, exceeds_tolerance from carbon.fct_region_reconciliation "
            "where region_code = '360500' order by year").fetchall()},
        "provinces_in_province_year": q(
            "select count(distinct province_code) from carbon.fct_province_year").fetchone()[0],
        "co2_2010": dict(q("select region_code, co2_mt from carbon.fct_region_year "
                           "where year = 2010 and region_level <> 'province'").fetchall()),
    }


def _check(facts: dict) -> None:
    assert facts["levels"] == {"360500": "prefecture", "360502": "county", "360521": "county",
                               "Z3605020001": "park"}
    assert facts["park_province"] == [("360000", "360502")]
    assessment = facts["assessment"]
    # 新余市: 20 % against 16 %, end of plan: met; province_code null below the provinces
    level, province, status, decline, target = assessment["360500"]
    assert (level, province, status, target) == ("prefecture", None, "met", 16.0)
    assert decline == pytest.approx(20.0, abs=1e-9)
    assert assessment["360502"][2:4] == ("no target", pytest.approx(0.0, abs=1e-9))
    assert assessment["360521"][2:4] == ("no target", pytest.approx(-20.0, abs=1e-9))
    assert assessment["Z3605020001"][:3] == ("park", None, "no target")
    rollup = facts["rollup"]
    in_sum, expected, complete, co2_gap, gdp_gap, warns = rollup[2010]
    assert (in_sum, expected, complete, warns) == (2, 2, True, False)
    assert co2_gap == pytest.approx(100 * (450 / 470 - 1), rel=1e-9)  # -4.2553 %
    assert co2_gap == pytest.approx(-4.2553, abs=1e-4)
    assert gdp_gap == pytest.approx(0.0, abs=1e-9)
    assert rollup[2015][3] == pytest.approx(100 * (480 / 376 - 1), rel=1e-9)  # +27.66 %
    assert rollup[2015][-1] is True
    # the province tables hold provinces only (31, listed without data as before)
    assert facts["provinces_in_province_year"] == 31
    assert facts["co2_2010"]["360500"] == pytest.approx(470 * COAL_MT, rel=1e-9)
    assert facts["co2_2010"]["Z3605020001"] == pytest.approx(300 * COAL_MT, rel=1e-9)


def test_prefecture_counties_and_park_in_duckdb(landing: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    warehouse = tmp_path / "w.duckdb"
    _publish(landing, f"duckdb://{warehouse}", tmp_path / "home", monkeypatch)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        _check(_facts(con))
    # `show --region` prints any unit (by name or code); `show` alone the provinces, as before
    capsys.readouterr()
    assert main(["show", "--warehouse", f"duckdb://{warehouse}", "--region", "新余市",
                 "--plan", "12th", "--year", "2015", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("12th,360500,新余市,2015,")
    assert ",met," in lines[1]
    assert main(["show", "--warehouse", f"duckdb://{warehouse}", "--plan", "12th",
                 "--year", "2015", "--format", "csv"]) == 0
    codes = [line.split(",")[1] for line in capsys.readouterr().out.splitlines()[1:]]
    assert len(codes) == 31 and all(code.endswith("0000") for code in codes)


def test_prefecture_counties_and_park_in_postgres(landing: Path, tmp_path: Path, pg_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    _publish(landing, pg_url, tmp_path / "home", monkeypatch)
    with psycopg.connect(pg_url) as con:
        _check(_facts(con))


def test_an_undeclared_unit_is_rejected_by_validation(landing: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    """A code no units sheet declares: validation names the file, row, column and rule."""
    bad = tmp_path / "landing"
    write_landing(bad)
    (bad / "units.csv").unlink()
    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))
    assert main(["run", "--landing", str(bad), "--warehouse", f"duckdb://{warehouse}"]) == 2
    err = capsys.readouterr().err
    assert "region code must be a GB/T 2260 unit" in err
    assert "energy.csv row " in err and "region_code 'Z3605020001'" in err


def test_a_retired_code_is_mapped_and_an_unknown_one_refused(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    """110228 (密云县) is 110118 (密云区) since 2016 (reference/region_code_changes.csv): ingest
    maps it and says so. 999999 is no unit at all: ingest refuses it, naming file and row."""
    import pyarrow.parquet as pq

    from carbon_assess.ingest import ingest_landing

    landing = tmp_path / "landing"
    write_landing(landing)
    energy = landing / "energy.csv"
    energy.write_text(energy.read_text(encoding="utf-8") + "110228,密云县,2015,12.5\n",
                      encoding="utf-8")
    report = ingest_landing(landing, tmp_path / "run", "run-1", "test")
    codes = set(pq.read_table(tmp_path / "run" / "raw" / "energy_consumption.parquet")
                ["region_code"].to_pylist())
    assert "110118" in codes and "110228" not in codes
    assert any("110228→110118" in w for w in report["warnings"])

    energy.write_text(energy.read_text(encoding="utf-8").replace(
        "360521,分宜县,2012", "999999,分宜县,2012"), encoding="utf-8")
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))
    assert main(["validate", "--landing", str(landing)]) == 2
    err = capsys.readouterr().err
    assert "unknown region" in err and "999999" in err and "energy.csv" in err


LEGACY_KEY = ("release_id", "plan_id", "province_code", "assessment_year")


def _make_legacy_history(con) -> None:
    """Turn carbon_history.fct_target_assessment into what a release before issue 13 left: no
    region columns, provinces only, keyed on province_code (NOT NULL). (The views of it, in
    carbon, go: PostgreSQL would not drop a table they depend on; the next publish makes them
    again.)"""
    table = "carbon_history.fct_target_assessment"
    for statement in (
        f"delete from {table} where province_code is null",
        f"create table {table}_old as select * from {table}",
        f"drop table {table} cascade",
        f"alter table {table}_old rename to fct_target_assessment",
        f"alter table {table} drop column region_code",
        f"alter table {table} drop column region_level",
        f"alter table {table} add primary key ({', '.join(LEGACY_KEY)})",
    ):
        con.execute(statement)


def _history_after_upgrade(con) -> tuple:
    rows = con.execute(
        "select release_id, region_level, count(*), count(region_code), "
        "count(*) filter (where region_code = province_code) "
        "from carbon_history.fct_target_assessment group by 1, 2 order by 1, 2").fetchall()
    return rows


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_history_of_an_older_release_is_upgraded_to_the_region_key(
        engine: str, landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    """A warehouse whose history was written before issue 13 (key province_code, NOT NULL) takes
    a release with counties: the history table gets region_code/region_level (the old rows: their
    province, level province) and the region key, and the county rows (province_code null) land."""
    if engine == "duckdb":
        warehouse = tmp_path / "w.duckdb"
        url = f"duckdb://{warehouse}"
        connect = lambda: duckdb.connect(str(warehouse))  # noqa: E731
    else:
        import psycopg

        url = request.getfixturevalue("pg_url")
        connect = lambda: psycopg.connect(url, autocommit=True)  # noqa: E731
    _publish(landing, url, tmp_path / "home", monkeypatch)
    with connect() as con:
        first = con.execute("select distinct release_id from "
                            "carbon_history.fct_target_assessment").fetchall()
        _make_legacy_history(con)
    _publish(landing, url, tmp_path / "home", monkeypatch)
    with connect() as con:
        rows = _history_after_upgrade(con)
    (old_release,), = first
    old = [r for r in rows if r[0] == old_release]
    new = [r for r in rows if r[0] != old_release]
    # the older release: province rows only, every one backfilled with its own province code
    assert [(level, n == with_code == same) for _, level, n, with_code, same in old] == [
        ("province", True)]
    # the new release: provinces, and the prefecture, counties and park with province_code null
    levels = {level: (n, with_code, same) for _, level, n, with_code, same in new}
    assert set(levels) == {"province", "prefecture", "county", "park"}
    assert levels["county"][1] == levels["county"][0] and levels["county"][2] == 0


def test_a_units_sheet_that_redeclares_a_gb_unit_or_names_no_parent_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """units.csv row 3 declares 110101 (东城区, in GB/T 2260 already), row 4 gives a parent no
    one declares: validation refuses both, naming the file, row and column."""
    landing = tmp_path / "landing"
    write_landing(landing)
    (landing / "units.csv").write_text(
        "code,name,level,parent\nZ3605020001,渝水区工业园区,park,360502\n"
        "110101,东城区,park,110000\nZ9,某开发区,development_zone,Zmissing\n", encoding="utf-8")
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))
    assert main(["validate", "--landing", str(landing)]) == 2
    report = next((tmp_path / "home" / "quarantine").glob("*/report.json"))
    failed = {r["rule"]: r for r in json.loads(report.read_text(encoding="utf-8"))["results"]
              if not r["success"]}
    gb = failed["a declared unit's code must not be a GB/T 2260 code (those units are known "
                "already: reference/regions.csv)"]
    assert [(o["file"], o["row"], o["value"]) for o in gb["offenders"]] == [
        ("units.csv", 3, "110101")]
    parent = failed["parent must be a GB/T 2260 unit or another declared unit"]
    assert [(o["file"], o["row"], o["value"]) for o in parent["offenders"]] == [
        ("units.csv", 4, "Zmissing")]
    capsys.readouterr()
