"""The pipeline against the two yardsticks of the scale benchmark (issue 13): on the generated
--small county set (Parquet: 承德市 with its 11 counties, 三亚市, 儋州市, 五指山市, their provinces
and 3 declared parks, 1981-2020), the project's published unit-year CO2 and intensity equal the
DuckDB floor's and the pandas version's (benchmarks/reference_impls.py, which the generator's
hand-worked test pins to hand calculation).

Same computation, compared where it is the same: the yardsticks use the consumption method and
constant 2010 prices, so the run uses `--method consumption` and the intensities compared are
those of the 12th FYP (base year 2010) for 2010-2015. The yardsticks count a blank cell as
nothing, the project fills a gap between reported years by interpolation and refuses a
unit-year without coal (DESIGN.md §3): unit-years with an imputed cell or insufficient data are
left out of the comparison, and the test checks that they are few, so it compares almost all.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from carbon_assess.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate_landing as gen  # noqa: E402
import reference_impls as impls  # noqa: E402


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("scale-agreement")
    landing = root / "landing"
    gen.main([str(landing), "--small", "--format", "parquet"])
    warehouse = root / "w.duckdb"
    mp = pytest.MonkeyPatch()
    mp.setenv("CARBON_ASSESS_HOME", str(root / "home"))
    try:
        code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{warehouse}",
                     "--method", "consumption"])
    finally:
        mp.undo()
    assert code == 0
    return landing, warehouse


def test_project_equals_floor_and_pandas_on_generated_counties(published) -> None:
    landing, warehouse = published
    floor = impls.duckdb_floor(landing).set_index(["code", "year"])
    plain = impls.pandas_version(landing).set_index(["code", "year"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        co2 = con.execute(
            "select region_code, year, co2_mt from carbon.fct_region_year "
            "where data_status = 'complete' and imputed_share = 0").fetchall()
        intensity = con.execute(
            "select i.region_code, i.year, i.intensity_t_per_10k_yuan "
            "from carbon.fct_intensity as i join carbon.fct_region_year as y "
            "using (region_code, year) where i.plan_id = '12th' "
            "and y.data_status = 'complete' and y.imputed_share = 0").fetchall()
        units = con.execute("select count(distinct region_code) from carbon.fct_region_year "
                            "where region_level <> 'province' or co2_mt is not null").fetchone()
    # every unit of the set is published (20 prefectures, counties and parks + 2 provinces)
    assert units[0] == len(floor.index.get_level_values("code").unique())
    assert len(co2) >= 0.9 * len(floor)  # the comparison covers at least 90 % of unit-years
    for yardstick in (floor, plain):
        ours = np.array([r[2] * 1e6 for r in co2])  # Mt -> t
        theirs = yardstick.loc[[(r[0], r[1]) for r in co2], "co2_t"].to_numpy(float)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
        in_plan = [r for r in intensity if 2010 <= r[1] <= 2015]
        assert len(in_plan) >= 0.9 * 6 * units[0]
        ours = np.array([r[2] for r in in_plan])
        theirs = yardstick.loc[[(r[0], r[1]) for r in in_plan], "intensity"].to_numpy(float)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_one_bad_value_among_millions_of_rows_is_named_and_nothing_is_published(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """Every unit of GB/T 2260 for 40 years (1.8M raw rows, so validation runs inside DuckDB),
    one coal cell negative in the middle of the energy file: the run is refused (exit 2), the
    message names the file, row and column, the run log says rejected at validation, and no
    table is published."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from workdirs import nothing_published, run_log

    landing = tmp_path / "landing"
    gen.main([str(landing), "--size", "national", "--format", "parquet"])
    energy = landing / gen.file_name("energy_consumption", "parquet")
    table = pq.read_table(energy)
    coal = "煤炭消费量(万吨)"
    at = 100_000  # 0-based data row: the file's row 100,002 (row 1 is the header)
    values = table[coal].to_pylist()
    assert values[at] is not None and values[at] > 0
    values[at] = -5.0
    table = table.set_column(table.schema.get_field_index(coal), coal,
                             pc.cast(values, table.schema.field(coal).type))
    pq.write_table(table, energy)
    assert table.num_rows * (table.num_columns - 3) > 1_000_000  # activity cells

    warehouse = tmp_path / "w.duckdb"
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))
    capsys.readouterr()
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{warehouse}"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{energy.name} row {at + 2} column '{coal}'" in err
    assert "must be >= 0" in err
    assert nothing_published(warehouse)
    assert [(status, stage) for status, stage, _ in run_log(warehouse)] == [
        ("rejected", "validate")]
