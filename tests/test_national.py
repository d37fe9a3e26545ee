"""National figures come from national files, never from a sum of provinces (DESIGN.md §6).

Hand-worked: national coal 1000 万吨 in 2010 and 2011, GDP 10000 亿元 in 2010, index 110 in
2011, target 17 % (12th FYP, plans.csv):
  CO2 = 1000 × 1.9003 / 100 = 19.003 Mt both years; I(2010) = 19.003 × 100 / 10000 = 0.19003
  I(2011) = 19.003 × 100 / 11000; decline = 1 − 1/1.1 = 9.0909 %;
  e(2011) = 1 − 0.83^0.2 = 1 − exp(ln 0.83 / 5) = 3.6580 %
One province (Qinghai) with coal 100 万吨 → 1.9003 Mt: province sum / national − 1 = −90 %.
The national balance tables carry no unit in their headers: the NBS unit comes from
reference/indicators.csv (`国内生产总值` in 亿元) and the ingest report says so.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from carbon_assess.pipeline import run_pipeline

from builders import write_economy, write_long_csv


def _national(landing: Path) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    with (landing / "national_energy.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["年份", "煤炭消费量(万吨)"])
        writer.writerows([[2011, 1000], [2010, 1000]])
    with (landing / "national_gdp.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["年份", "国内生产总值", "国内生产总值指数(上年=100)",
                         "国内生产总值指数(1978年=100)"])
        writer.writerows([[2011, 12000, 110, 2300], [2010, 10000, 110.6, 2100]])


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("national")
    landing = root / "landing"
    _national(landing)
    write_long_csv(landing / "province.csv", ["煤炭消费量(万吨)"],
                   [("630000", 2010, 100), ("630000", 2011, 100)])
    write_economy(landing, gdp={"630000": {2010: 1000, 2011: 1100}},
                  index={"630000": {2010: 110, 2011: 110}})
    db = root / "w.duckdb"
    result = run_pipeline(landing, f"duckdb://{db}", workdir=root / "work")
    connection = duckdb.connect(str(db), read_only=True)
    yield SimpleNamespace(execute=connection.execute, ingest_warnings=result["ingest"]["warnings"])
    connection.close()


def test_national_intensity_from_national_data(con) -> None:
    rows = {year: (i, d, e, target) for year, i, d, e, target in con.execute(
        "select year, intensity_t_per_10k_yuan, cumulative_decline_pct, expected_decline_pct, "
        "target_pct from carbon.fct_national_intensity where plan_id = '12th'").fetchall()}
    assert rows[2010][0] == pytest.approx(0.19003)
    assert rows[2011][0] == pytest.approx(0.19003 / 1.1)
    assert rows[2011][1] == pytest.approx(100 * (1 - 1 / 1.1))
    assert rows[2011][2] == pytest.approx(3.6580, abs=1e-4)
    assert rows[2011][3] == 17


def test_reconciliation_compares_province_sum_with_national(con) -> None:
    row = con.execute("select national_co2_mt, province_sum_co2_mt, provinces_in_sum, "
                      "co2_difference_pct from carbon.fct_national_reconciliation "
                      "where year = 2010").fetchone()
    assert row == (pytest.approx(19.003), pytest.approx(1.9003), 1, pytest.approx(-90.0))


def test_national_rows_stay_out_of_provincial_tables(con) -> None:
    for table in ("fct_province_year", "fct_intensity", "fct_target_assessment",
                  "fct_emissions", "fct_energy_activity"):
        count = con.execute(f"select count(*) from carbon.{table} "
                            "where province_code = '000000'").fetchone()[0]
        assert count == 0, table


def test_unitless_header_takes_the_nbs_unit_and_says_so(con) -> None:
    gdp = con.execute("select gdp_current_100m_yuan from carbon.fct_national_year "
                      "where year = 2010").fetchone()[0]
    assert gdp == 10000
    assert any("国内生产总值 [亿元]" in w for w in con.ingest_warnings)
    assert any("国内生产总值指数(1978年=100)" in w and "not used" in w
               for w in con.ingest_warnings)


def test_real_national_files_province_sum_runs_above_national(shared_nbs: Path,
                                                              tmp_path: Path) -> None:
    """DESIGN.md §6: province sums of emissions run a few percent above national totals."""
    landing = tmp_path / "landing"
    for folder in ("provincial", "national"):
        shutil.copytree(shared_nbs / folder, landing / folder)
    db = tmp_path / "w.duckdb"
    run_pipeline(landing, f"duckdb://{db}", workdir=tmp_path / "work")
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select year, co2_difference_pct "
                           "from carbon.fct_national_reconciliation "
                           "where provinces_in_sum = 30").fetchall()
        national_years = con.execute("select count(*) from carbon.fct_national_intensity "
                                     "where plan_id = '12th' and intensity_t_per_10k_yuan "
                                     "is not null").fetchone()[0]
    assert len(rows) >= 15
    assert all(diff > 0 for _, diff in rows), rows
    assert national_years == 6
