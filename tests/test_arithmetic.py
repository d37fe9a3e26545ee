"""Hand-worked arithmetic: two provinces, 2010-2015 (12th FYP, base year 2010), coal only.

Inputs are chosen so that intensity relative to 2010, r(t) = I(t)/I(2010), is a round number:
coal(t) = coal(2010) × r(t) × GDP_const(t)/GDP(2010).

Qinghai 630000, target T = 10 %, GDP 2010 = 1000 亿元, index 110 every year:
  GDP_2010(t) = 1000, 1100, 1210, 1331, 1464.1, 1610.51
  r(t)        = 1, 0.975, 0.955, 0.935, 0.915, 0.89
  coal (万吨) = 1000, 1072.5, 1155.55, 1244.485, 1339.6515, 1433.3539
  CO2 2010    = 1000 万吨 × 1.9003 kgCO2/kg = 1e7 t × 1.9003 = 19.003 Mt
  I(2010)     = 19.003 Mt / 1000 亿元 = 19.003e6 t / 1000e4 万元 = 1.9003 t/万元
  d(t)        = 1 − r(t) = 2.5 %, 4.5 %, 6.5 %, 8.5 %, 11 %
  e(t)        = 1 − 0.9^(k/5): 2.0852 %, 4.1269 %, 6.1260 %, 8.0834 %, 10 %
  annual a    = 1 − 0.9^(1/5) = 2.0852 %
  annual decline 2012 = 1 − 0.955/0.975 = 2.0513 % < 2.0852 % → veto in 2012 (on schedule, yet fail)
  annual points 2012 = 25 × 2.0513/2.0852 = 24.59; cumulative points 25 → 49.59
  2015: d = 11 % ≥ 10 % → met, no veto (annual 1 − 0.89/0.915 = 2.732 %)

Guangdong 440000, target T = 19.5 %, GDP 2010 = 2000 亿元, index 108 every year:
  GDP_2010(2015) = 2000 × 1.08^5 = 2938.6561536
  r(t)        = 1, 0.97, 0.93, 0.90, 0.86, 0.83
  coal (万吨) = 2000 × r × 1.08^k = 2000, 2095.2, 2169.504, 2267.4816, 2340.0410112, 2439.084607488
  e(2011)     = 1 − 0.805^(1/5) = 4.2455 %;  d(2011) = 3 % → behind; annual 3 % < 4.2455 % → veto
  2014: annual 1 − 0.86/0.90 = 4.444 % ≥ 4.2455 % (met), but d = 14 % <
        e(2014) = 1 − 0.805^(4/5) = 1 − exp(0.8 × ln 0.805) = 15.9308 % → veto → fail
  2015: d = 17 % < 19.5 % → missed; completion 17/19.5 = 87.18 %
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from carbon_assess.pipeline import run_pipeline

from builders import write_economy, write_long_csv, write_two_province_plan


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("arith")
    landing = root / "landing"
    write_two_province_plan(landing)
    db = root / "w.duckdb"
    run_pipeline(landing, f"duckdb://{db}", vintage="test", workdir=root / "work")
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def _row(con, sql: str, *params):
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    row = cursor.fetchone()
    assert row is not None, f"no row for {params}"
    return dict(zip(names, row, strict=True))


def test_emissions_and_intensity_in_base_year(warehouse) -> None:
    py = _row(warehouse, "select * from carbon.fct_province_year "
              "where province_code = '630000' and year = 2010")
    assert py["co2_mt"] == pytest.approx(19.003)
    i = _row(warehouse, "select * from carbon.fct_intensity "
             "where plan_id = '12th' and province_code = '630000' and year = 2010")
    assert i["intensity_t_per_10k_yuan"] == pytest.approx(1.9003)


def test_constant_price_gdp_chains_the_index(warehouse) -> None:
    i = _row(warehouse, "select * from carbon.fct_intensity "
             "where plan_id = '12th' and province_code = '440000' and year = 2015")
    assert i["gdp_const_100m_yuan"] == pytest.approx(2938.6561536)
    # current-price GDP of later years (5000 + year) must not leak into constant prices
    q = _row(warehouse, "select * from carbon.fct_intensity "
             "where plan_id = '12th' and province_code = '630000' and year = 2013")
    assert q["gdp_const_100m_yuan"] == pytest.approx(1331.0)


@pytest.mark.parametrize(
    ("year", "decline", "expected", "status"),
    [
        (2011, 2.5, 2.0852, "on schedule"),
        (2012, 4.5, 4.1269, "on schedule"),
        (2013, 6.5, 6.1260, "on schedule"),
        (2014, 8.5, 8.0834, "on schedule"),
        (2015, 11.0, 10.0, "met"),
    ],
)
def test_qinghai_declines_and_status(warehouse, year, decline, expected, status) -> None:
    a = _row(warehouse, "select * from carbon.fct_target_assessment where plan_id = '12th' "
             "and province_code = '630000' and assessment_year = ?", year)
    assert a["cumulative_decline_pct"] == pytest.approx(decline, abs=1e-9)
    assert a["expected_decline_pct"] == pytest.approx(expected, abs=1e-4)
    assert a["status"] == status
    assert a["target_pct"] == 10


def test_missing_the_annual_target_is_a_veto_even_on_schedule(warehouse) -> None:
    a = _row(warehouse, "select * from carbon.fct_target_assessment where plan_id = '12th' "
             "and province_code = '630000' and assessment_year = 2012")
    assert a["annual_decline_pct"] == pytest.approx(2.0513, abs=1e-4)
    assert a["annual_target_pct"] == pytest.approx(2.0852, abs=1e-4)
    assert a["veto"] is True
    assert a["grade"] == "fail"
    assert a["target_score"] == pytest.approx(49.59, abs=0.01)


def test_no_veto_gives_a_provisional_grade_without_measures_sheet(warehouse) -> None:
    a = _row(warehouse, "select * from carbon.fct_target_assessment where plan_id = '12th' "
             "and province_code = '630000' and assessment_year = 2015")
    assert a["veto"] is False
    assert a["target_score"] == pytest.approx(50.0)
    assert a["grade"] == "provisional"
    assert "no measures score sheet" in a["note"]
    assert a["total_score"] is None


def test_guangdong_behind_then_missed(warehouse) -> None:
    y2011 = _row(warehouse, "select * from carbon.fct_target_assessment where plan_id = '12th' "
                 "and province_code = '440000' and assessment_year = 2011")
    assert y2011["cumulative_decline_pct"] == pytest.approx(3.0, abs=1e-9)
    assert y2011["expected_decline_pct"] == pytest.approx(4.2455, abs=1e-4)
    assert y2011["status"] == "behind"
    assert y2011["veto"] is True
    y2015 = _row(warehouse, "select * from carbon.fct_target_assessment where plan_id = '12th' "
                 "and province_code = '440000' and assessment_year = 2015")
    assert y2015["cumulative_decline_pct"] == pytest.approx(17.0, abs=1e-9)
    assert y2015["status"] == "missed"
    assert y2015["completion_pct"] == pytest.approx(100 * 17 / 19.5, abs=1e-6)
    assert y2015["grade"] == "fail"


def test_annual_decline_of_guangdong(warehouse) -> None:
    i = _row(warehouse, "select * from carbon.fct_intensity "
             "where plan_id = '12th' and province_code = '440000' and year = 2013")
    assert i["annual_decline_pct"] == pytest.approx(100 * (1 - 0.90 / 0.93), abs=1e-9)
    assert i["on_schedule"] is False


def test_rising_intensity_gives_zero_completion(tmp_path: Path) -> None:
    """Xinjiang 650000 (T = 11 %): coal up 10 % with GDP flat → d(2011) = −10 %, completion 0."""
    landing = tmp_path / "landing"
    write_long_csv(landing / "e.csv", ["煤炭消费量(万吨)"],
                   [("650000", 2010, 100), ("650000", 2011, 110)])
    write_economy(landing, gdp={"650000": {2010: 500, 2011: 600}},
                  index={"650000": {2010: 100, 2011: 100}})
    db = tmp_path / "w.duckdb"
    run_pipeline(landing, f"duckdb://{db}", workdir=tmp_path / "work")
    with duckdb.connect(str(db), read_only=True) as con:
        a = _row(con, "select * from carbon.fct_target_assessment where plan_id = '12th' "
                 "and province_code = '650000' and assessment_year = 2011")
    assert a["cumulative_decline_pct"] == pytest.approx(-10.0)
    assert a["completion_pct"] == 0
    assert a["target_score"] == 0
    assert a["status"] == "behind"


def test_meeting_the_annual_target_but_missing_cumulative_progress_is_a_veto(warehouse) -> None:
    a = _row(warehouse, "select * from carbon.fct_target_assessment where plan_id = '12th' "
             "and province_code = '440000' and assessment_year = 2014")
    assert a["annual_decline_pct"] == pytest.approx(100 * (1 - 0.86 / 0.90), abs=1e-9)
    assert a["annual_decline_pct"] > a["annual_target_pct"]
    assert a["expected_decline_pct"] == pytest.approx(15.9308, abs=1e-4)
    assert (a["status"], a["veto"], a["grade"]) == ("behind", True, "fail")
    assert a["annual_target_score"] == 25
    assert a["note"].startswith("veto: cumulative progress target missed")
