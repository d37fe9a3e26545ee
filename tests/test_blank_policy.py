"""Blank and odd values (DESIGN.md §3), visible in the published tables."""

from __future__ import annotations

import duckdb
import pytest

from carbon_assess.pipeline import run_pipeline

from builders import write_economy, write_long_csv

YEARS = range(2010, 2015)


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("blanks")
    landing = root / "landing"
    cols = ["煤炭消费量(万吨)", "煤油消费量(万吨)", "原油消费量(万吨)"]
    write_long_csv(
        landing / "consumption.csv",
        cols,
        [
            # Qinghai: kerosene gap 2011-2012 between 0.3 (2010) and 0.6 (2013);
            # crude no longer reported from 2012; rounding noise in 2014 kerosene
            ("630000", 2010, 100, 0.3, 5),
            ("630000", 2011, 100, None, 5),
            ("630000", 2012, 100, None, None),
            ("630000", 2013, 100, 0.6, None),
            ("630000", 2014, 100, -1e-12, None),
            # Tibet: nothing reported
            *[("540000", y, None, None, None) for y in YEARS],
            # Beijing: coal blank in 2012 → insufficient data that year
            *[("110000", y, None if y == 2012 else 50, 1, 1) for y in YEARS],
        ],
    )
    write_long_csv(landing / "production.csv", ["煤油生产量(万吨)"],
                   [("630000", y, None) for y in YEARS])
    codes = ("630000", "540000", "110000")
    write_economy(
        landing,
        gdp={c: {y: 100.0 for y in YEARS} for c in codes},
        index={c: {y: 105.0 for y in YEARS} for c in codes},
    )
    db = root / "w.duckdb"
    run_pipeline(landing, f"duckdb://{db}", workdir=root / "work")
    connection = duckdb.connect(str(db), read_only=True)
    yield connection
    connection.close()


def _activity(con, code: str, fuel: str, flow: str = "consumption") -> dict[int, tuple]:
    return {
        year: (quantity, status, imputed)
        for year, quantity, status, imputed in con.execute(
            "select year, quantity, value_status, imputed from carbon.fct_energy_activity "
            "where province_code = ? and fuel = ? and flow = ? order by year",
            [code, fuel, flow],
        ).fetchall()
    }


def test_gap_between_reported_years_is_interpolated_and_flagged(con) -> None:
    kerosene = _activity(con, "630000", "kerosene")
    assert kerosene[2011] == (pytest.approx(0.4), "imputed", True)
    assert kerosene[2012] == (pytest.approx(0.5), "imputed", True)
    assert kerosene[2010] == (0.3, "reported", False)


def test_rounding_noise_becomes_zero(con) -> None:
    assert _activity(con, "630000", "kerosene")[2014][0] == 0.0


def test_fuel_no_longer_reported_is_assumed_zero(con) -> None:
    crude = _activity(con, "630000", "crude_oil")
    assert crude[2012] == (0.0, "assumed_zero", False)
    row = con.execute("select assumed_zero_fuels from carbon.fct_province_year "
                      "where province_code = '630000' and year = 2013").fetchone()
    assert row == ("crude_oil",)


def test_blank_production_means_no_production(con) -> None:
    assert _activity(con, "630000", "kerosene", "production")[2011] == (0.0, "blank_is_zero", False)


def test_imputed_share_of_emissions(con) -> None:
    # 2011: coal 100 × 1.9003/100 = 1.9003 Mt; kerosene 0.4 × 3.0179/100 = 0.0120716 Mt (imputed);
    # crude 5 × 3.0202/100 = 0.15101 Mt
    share = con.execute("select imputed_share from carbon.fct_province_year "
                        "where province_code = '630000' and year = 2011").fetchone()[0]
    assert share == pytest.approx(0.0120716 / (1.9003 + 0.0120716 + 0.15101))


def test_province_without_fuel_data_is_insufficient_never_a_number(con) -> None:
    rows = con.execute("select data_status, co2_mt, data_gaps from carbon.fct_province_year "
                       "where province_code = '540000'").fetchall()
    assert rows and all(r[0] == "insufficient data" and r[1] is None for r in rows)
    assert "no fuel data" in rows[0][2]
    statuses = con.execute("select distinct status, grade from carbon.fct_target_assessment "
                           "where province_code = '540000'").fetchall()
    assert statuses == [("insufficient data", "insufficient data")]


def test_blank_coal_makes_the_year_insufficient(con) -> None:
    row = con.execute("select data_status, co2_mt, data_gaps from carbon.fct_province_year "
                      "where province_code = '110000' and year = 2012").fetchone()
    assert row[0] == "insufficient data" and row[1] is None
    assert "coal" in row[2]
    status = con.execute("select status, cumulative_decline_pct from carbon.fct_target_assessment "
                         "where province_code = '110000' and assessment_year = 2012").fetchone()
    assert status == ("insufficient data", None)
