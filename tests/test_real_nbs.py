"""The real NBS provincial extracts (../shared/data/nbs, see its PROVENANCE.md), run end to end
through the CLI into a DuckDB warehouse. Figures are the published NBS cells."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main


@pytest.fixture(scope="module")
def warehouse(shared_nbs: Path, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("nbs")
    db = root / "w.duckdb"
    code = main(["run", "--landing", str(shared_nbs / "provincial"),
                 "--warehouse", f"duckdb://{db}", "--vintage", "nbs-portal-2021",
                 "--workdir", str(root / "work")])
    assert code == 0
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def test_thirty_provinces_have_fuel_data_and_tibet_none(warehouse) -> None:
    with_fuel = warehouse.execute(
        "select count(distinct province_code) from carbon.fct_energy_activity "
        "where flow = 'consumption' and value_status = 'reported' and fuel <> 'electricity'"
    ).fetchone()[0]
    assert with_fuel == 30
    assert warehouse.execute("select count(*) from carbon.dim_province").fetchone()[0] == 31


def test_qinghai_2010_gdp_is_the_portal_vintage(warehouse) -> None:
    gdp = warehouse.execute("select gdp_current_100m_yuan from carbon.fct_province_year "
                            "where province_code = '630000' and year = 2010").fetchone()[0]
    assert gdp == pytest.approx(1144.2)


def test_qinghai_kerosene_gap_2012_2014_is_imputed(warehouse) -> None:
    rows = warehouse.execute(
        "select year, value_status, imputed, source_row from carbon.fct_energy_activity "
        "where province_code = '630000' and fuel = 'kerosene' and flow = 'consumption' "
        "and year between 2011 and 2015 order by year").fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        (2011, "reported"), (2012, "imputed"), (2013, "imputed"), (2014, "imputed"),
        (2015, "reported"),
    ]
    assert all(r[3] > 1 for r in rows), "lineage points at the source row"


def test_qinghai_kerosene_2006_rounding_noise_is_zero(warehouse) -> None:
    row = warehouse.execute(
        "select quantity, source_value from carbon.fct_energy_activity where "
        "province_code = '630000' and fuel = 'kerosene' and flow = 'consumption' and year = 2006"
    ).fetchone()
    assert row == (0.0, "-1e-12")


def test_tibet_is_insufficient_data(warehouse) -> None:
    statuses = warehouse.execute("select distinct status from carbon.fct_target_assessment "
                                 "where province_code = '540000'").fetchall()
    assert statuses == [("insufficient data",)]


def test_every_12th_plan_assessment_row_is_present(warehouse) -> None:
    rows = warehouse.execute(
        "select province_code, assessment_year, status from carbon.fct_target_assessment "
        "where plan_id = '12th'").fetchall()
    assert {(r[0], r[1]) for r in rows} == {
        (code, year)
        for (code,) in warehouse.execute("select province_code from carbon.dim_province").fetchall()
        for year in range(2011, 2016)
    }
    assert all(r[2] for r in rows)


def test_run_log_records_vintage_method_and_inputs(warehouse) -> None:
    run = warehouse.execute("select vintage, method, factor_version, input_files "
                            "from carbon.meta_pipeline_run").fetchall()
    assert len(run) == 1
    vintage, method, factor_version, inputs = run[0]
    assert (vintage, method) == ("nbs-portal-2021", "reference")
    assert factor_version
    # sha256 of the consumption file as listed in PROVENANCE.md
    assert "fd32f070141e6ab6a73c57dffd154901d592b1c7c55ad0004843eea76959cc7a" in inputs


def test_every_province_year_of_the_11th_and_12th_plan_and_2016_2017_has_a_status(
    warehouse,
) -> None:
    rows = warehouse.execute(
        "select plan_id, province_code, assessment_year, status from carbon.fct_target_assessment "
        "where plan_id in ('11th', '12th') or assessment_year in (2016, 2017)").fetchall()
    codes = [c for (c,) in warehouse.execute(
        "select province_code from carbon.dim_province").fetchall()]
    expected = (
        {("11th", c, y) for c in codes for y in range(2006, 2011)}
        | {("12th", c, y) for c in codes for y in range(2011, 2016)}
        | {("13th", c, y) for c in codes for y in (2016, 2017)}
    )
    assert {(p, c, y) for p, c, y, _ in rows} == expected
    statuses = {s for *_, s in rows}
    assert statuses <= {"met", "missed", "on schedule", "behind", "insufficient data",
                        "no target"}
    assert all(s == "no target" for p, c, _, s in rows if p == "11th" and c != "540000")
