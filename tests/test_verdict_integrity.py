"""Verdict integrity on the real NBS provincial files (issue 18 steps 1-3): a plausible mistake is
refused naming its cell, or published with the verdicts it decides marked provisional; the gate's
severity follows the verdict, so every documented method publishes on the real files.

Figures from the real files (../shared/data/nbs/provincial) and DESIGN.md §3:
- Qinghai (630000) GDP index 2012, previous year = 100: 111.2; 2011: 112.5. On a 2010 = 100
  basis 2012 reads 112.5 × 111.2 / 100 = 125.1, the yearbook's other column. GDP 2011 1370.4,
  2012 1528.5 亿元: nominal growth 1528.5 / 1370.4 = 1.1154; implied deflator with the wrong
  index 1.1154 / 1.251 − 1 = −10.8 %, outside the band −10 % .. +20 % (real extremes −8.9 %,
  +16.3 %). With it the 12th-FYP decline turns from 9.54 % (missed, target 10 %) to 19.59 %.
- Qinghai GDP 2015 2011.0 亿元 typed ×10 = 20110: 2014 is 1847.7 and 2016 2258.2, so the cell is
  20110 / 1847.7 = 10.9x and 20110 / 2258.2 = 8.9x its neighbours: log10 1.04 and 0.95, both
  within 0.15 of k = 1.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main

INDEX_FILE = "prov_gdp_index_prev_year_100.csv"
GDP_FILE = "prov_gdp_current_prices_100m_yuan.csv"


def _landing(shared_nbs: Path, tmp_path: Path, file: str, code: str, year: int,
             column_prefix: str, new_value: str) -> tuple[Path, int]:
    """A copy of the real provincial files with one cell changed; its row number as the
    pipeline counts rows (the header is row 1)."""
    landing = tmp_path / "landing"
    shutil.copytree(shared_nbs / "provincial", landing)
    path = landing / file
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    column = next(i for i, name in enumerate(rows[0]) if name.startswith(column_prefix))
    (row_number,) = [n for n, row in enumerate(rows, start=1)
                     if row[0] == code and row[2] == str(year)]
    rows[row_number - 1][column] = new_value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return landing, row_number


def _run(landing: Path, warehouse: Path, *extra: str) -> int:
    return main(["run", "--landing", str(landing), "--warehouse", f"duckdb:///{warehouse}",
                 "--workdir", str(warehouse.parent / "work"), *extra])


def _assessment(warehouse: Path, code: str, plan: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select assessment_year, status, verdict_is_provisional, provisional_cells, reason "
            "from carbon.fct_target_assessment where region_code = ? and plan_id = ? "
            "order by assessment_year", [code, plan]).fetchall()


def test_an_index_on_the_2010_basis_makes_qinghai_12th_verdict_provisional_naming_the_cell(
        shared_nbs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    landing, row = _landing(shared_nbs, tmp_path, INDEX_FILE, "630000", 2012,
                            "地区生产总值指数", "125.1")
    warehouse = tmp_path / "w.duckdb"
    assert _run(landing, warehouse) == 0
    printed = capsys.readouterr()
    out = printed.out + printed.err
    assert "implied GDP deflator -10.8 %" in out
    rows = {year: rest for year, *rest in _assessment(warehouse, "630000", "12th")}
    status, provisional, cells, reason = rows[2015]
    # the mistake turns missed (9.54 %) into met (19.59 %): never silently
    assert status == "met" and provisional is True
    cell = f"{INDEX_FILE} row {row} column 地区生产总值指数(上年=100) (2012): implied_deflator"
    assert cells == cell and cell in reason
    # 2011 is decided before the bad year (index chain 2011 only): clean
    assert rows[2011][1] is False and rows[2011][2] is None


def test_the_deflator_note_says_the_index_looks_cumulative(shared_nbs: Path,
                                                            tmp_path: Path) -> None:
    landing, _ = _landing(shared_nbs, tmp_path, INDEX_FILE, "630000", 2012,
                          "地区生产总值指数", "125.1")
    assert main(["validate", "--landing", str(landing), "--workdir",
                 str(tmp_path / "work")]) == 0
    report = (tmp_path / "work" / "validation" / "report.md").read_text(encoding="utf-8")
    assert "on a 2010 = 100 basis" in report
    assert "a cumulative index in the previous-year = 100 column?" in report


def test_gdp_typed_ten_times_is_refused_naming_the_cell(shared_nbs: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    landing, row = _landing(shared_nbs, tmp_path, GDP_FILE, "630000", 2015,
                            "地区生产总值(", "20110.0")
    warehouse = tmp_path / "w.duckdb"
    assert _run(landing, warehouse) == 2
    err = capsys.readouterr().err
    assert f"{GDP_FILE} row {row} column '地区生产总值(亿元)'" in err
    assert "about 10x both its neighbours in its own series (1847.7 in 2014, 2258.2 in 2016)" in err
    with duckdb.connect(str(warehouse), read_only=True) as con:  # nothing published
        tables = con.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'carbon' and table_name like 'fct_%'")
        assert tables.fetchone()[0] == 0


def test_the_consumption_method_publishes_with_the_out_of_plan_row_as_a_warning(
        shared_nbs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hainan 2007 (11th FYP, no carbon target): apparent consumption doubled when its refinery
    opened, a -115 % decline against 2005 under the consumption method. It decides no verdict:
    a warning on its row, and the release is published."""
    warehouse = tmp_path / "w.duckdb"
    assert _run(shared_nbs / "provincial", warehouse, "--method", "consumption") == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        decline, status = con.execute(
            "select cumulative_decline_pct, status from carbon.fct_target_assessment "
            "where region_code = '460000' and plan_id = '11th' and assessment_year = 2007"
        ).fetchone()
        assert decline < -100 and status == "no target"
        warned = con.execute(
            "select count(*) from carbon.meta_validation_result where not success "
            "and severity = 'warning' and expectation like '%decides no verdict%'").fetchone()
        assert warned[0] >= 1


def test_a_blank_index_in_the_first_year_is_not_needed(shared_nbs: Path, tmp_path: Path) -> None:
    """Data for 2010-2015 only, with every 2010 GDP index blank: nothing chains from 2010 (the
    12th FYP's constant prices start from GDP 2010 x the indices of 2011-2015), so the release
    publishes, and Qinghai's 12th-FYP decline is the 9.5373 % of the full release
    (tests/test_consistency.py works it by hand)."""
    landing = tmp_path / "landing"
    landing.mkdir()
    for source in sorted((shared_nbs / "provincial").glob("prov_*.csv")):
        if "intensity" in source.name:
            continue
        with source.open(encoding="utf-8", newline="") as handle:
            header, *rows = list(csv.reader(handle))
        kept = [row for row in rows if 2010 <= int(row[2]) <= 2015]
        if source.name == INDEX_FILE:
            for row in kept:
                if row[2] == "2010":
                    row[3] = ""
        with (landing / source.name).open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, *kept])
    warehouse = tmp_path / "w.duckdb"
    assert _run(landing, warehouse) == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        decline, status = con.execute(
            "select cumulative_decline_pct, status from carbon.fct_target_assessment "
            "where region_code = '630000' and plan_id = '12th' and assessment_year = 2015"
        ).fetchone()
    assert status == "missed" and round(decline, 4) == 9.5373


def test_a_minor_fuel_cell_a_tenth_of_its_neighbours_makes_the_verdict_provisional(
        shared_nbs: Path, tmp_path: Path) -> None:
    """Gansu (620000) diesel production 2015: 584.38 typed 58.438 between 628.39 (2014) and
    526.282 (2016): log10(58.438 / 628.39) = -1.03 and log10(58.438 / 526.282) = -0.95, both
    within 0.15 of -1. A fuel's output can dip for real, so a warning, not an error: the
    12th-FYP verdict of 2015 (its reference-method CO2 nets diesel output) is provisional,
    naming the cell."""
    landing, row = _landing(shared_nbs, tmp_path, "prov_energy_production_by_fuel_physical.csv",
                            "620000", 2015, "柴油生产量", "58.438")
    warehouse = tmp_path / "w.duckdb"
    assert _run(landing, warehouse) == 0
    rows = {year: rest for year, *rest in _assessment(warehouse, "620000", "12th")}
    _, provisional, cells, _ = rows[2015]
    assert provisional is True
    assert (f"prov_energy_production_by_fuel_physical.csv row {row} column 柴油生产量(万吨) "
            "(2015): excursion_minor") in cells


def test_a_county_series_ten_thousand_times_off_is_refused_by_the_county_bounds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two counties of Xining, 2009-2011 (too few for a year median): 城中区's coal in 吨 under a
    万吨 header, every year, so its own series is smooth. Coal per GDP 500,000 万吨 / 200 亿元 =
    2,500 t per 10,000 yuan in 2009, above the subprovince_year maximum 800 (the province bound
    80 widened 10x: reference/plausibility_bounds.csv); 城东区's 50 / 200 = 0.25 passes."""
    landing = tmp_path / "landing"
    landing.mkdir()
    header = "地区编码,地区,年份,煤炭消费量(万吨),地区生产总值(亿元),地区生产总值指数(上年=100)," \
             "年末常住人口(万人)\n"
    lines = [f"{code},{name},{year},{coal},{200 + year - 2009},107.5,40"
             for code, name, coal in (("630102", "城东区", 50), ("630103", "城中区", 500000))
             for year in (2009, 2010, 2011)]
    (landing / "xining.csv").write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", "--landing", str(landing), "--workdir", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "xining.csv row 5 column '煤炭消费量(万吨)' value '500000'" in err  # 城中区 2009
    report = Path(err.split("report: ")[1].split()[0]).read_text(encoding="utf-8")
    assert ("城中区 (630103) 2009: coal consumption / GDP = 2.5e+03 t per 10,000 yuan, above the "
            "plausible maximum 800") in report
    assert "城东区 (630102) 2009: coal" not in report
