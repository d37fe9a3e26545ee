"""benchmarks/reference_impls.pandas_full: the pipeline's compute + assess in pandas, the row the
scale benchmark compares compute + assess with (issue 19 step 6). Pinned to hand calculation on
a hand-made set, and to facts of the generator's --small set read straight from its files.

Fast (a second or two): no pipeline run; tests/test_scale_agreement.py and the benchmark
compare the pipeline itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate_landing as gen  # noqa: E402
import reference_impls as impls  # noqa: E402

COAL, GASOLINE, DIESEL, KEROSENE = ("煤炭消费量(万吨)", "汽油消费量(万吨)", "柴油消费量(万吨)",
                                    "煤油消费量(万吨)")
ELECTRICITY = "电力消费量(亿千瓦小时)"
# t CO2 per 万吨 = ef_kgco2_per_unit (reference/emission_factors.csv) x 1e7 kg / 1e3
T_COAL, T_GASOLINE, T_DIESEL, T_KEROSENE = 19_003.0, 29_251.0, 30_959.0, 30_179.0
PARK = "Z1101010001"
YEARS = list(range(2010, 2016))


def _write(folder: Path, energy: dict[str, dict[str, list]], gdp: dict[str, list],
           index: dict[str, list]) -> None:
    """One Parquet file per kind in the generator's layout (latest year first, as NBS)."""
    rows: dict[str, dict[str, list]] = {k: {"地区编码": [], "地区": [], "年份": []}
                                        for k in gen.KINDS}
    fuels = list(dict.fromkeys(c for columns in energy.values() for c in columns))
    for code in energy:
        for i in reversed(range(len(YEARS))):
            for kind in gen.KINDS:
                rows[kind]["地区编码"].append(code)
                rows[kind]["地区"].append(code)
                rows[kind]["年份"].append(YEARS[i])
            for column in fuels:  # a column a unit does not give is blank for it
                values = energy[code].get(column, [None] * len(YEARS))
                rows["energy_consumption"].setdefault(column, []).append(values[i])
            rows["gdp"].setdefault(gen.GDP_HEADER, []).append(gdp[code][i])
            rows["gdp_index"].setdefault(gen.INDEX_HEADER, []).append(index[code][i])
            rows["population"].setdefault(gen.POP_HEADER, []).append(100.0)
    for kind, columns in rows.items():
        pq.write_table(pa.table(columns), folder / gen.file_name(kind, "parquet"))


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> impls.FullResult:
    """2010-2015 (the 12th FYP: base 2010, end 2015). GDP index 100 and GDP(2010) 100 亿元
    for both provinces, so GDP_2010(t) = 100 亿元 and the intensity is coal x 19,003 t / 1e6
    (t per 万元): the declines are those of coal.
      110000 Beijing, target 18 %: coal 100, 97, 90, 88, 86, 82
      120000 Tianjin, target 19 %: coal 100, 95, 90, blank, 85, 85
      the park (no target): coal 10; diesel 1, blank, 3, blank, blank, 6; gasoline blank, 1,
        1, 1, 1, blank; electricity 5 (no CO2); GDP(2010) 200, index 110 in 2011 and 105 in
        2012 (current GDP of later years 999: only the base year's enters)."""
    folder = tmp_path_factory.mktemp("pandas-full-hand")
    flat = [100.0] * 6
    _write(folder,
           energy={
               "110000": {COAL: [100.0, 97.0, 90.0, 88.0, 86.0, 82.0]},
               "120000": {COAL: [100.0, 95.0, 90.0, None, 85.0, 85.0]},
               PARK: {COAL: [10.0] * 6,
                      DIESEL: [1.0, None, 3.0, None, None, 6.0],
                      GASOLINE: [None, 1.0, 1.0, 1.0, 1.0, None],
                      ELECTRICITY: [5.0] * 6},
           },
           gdp={"110000": flat, "120000": flat, PARK: [200.0] + [999.0] * 5},
           index={"110000": flat, "120000": flat,
                  PARK: [100.0, 110.0, 105.0, 100.0, 100.0, 100.0]})
    return impls.pandas_full(folder)


def _plan(full: impls.FullResult, code: str, plan: str = "12th") -> pd.DataFrame:
    rows = full.plan_years[(full.plan_years["code"] == code)
                           & (full.plan_years["plan_id"] == plan)]
    return rows.set_index("year")


def test_interpolation_assumed_zero_and_chain_by_hand(hand: impls.FullResult) -> None:
    park = hand.unit_years[hand.unit_years["code"] == PARK].set_index("year")
    # diesel 2011 = (1 + 3) / 2 = 2; 2013 = 3 + (6 - 3) x 1/3 = 4; 2014 = 3 + (6 - 3) x 2/3 = 5;
    # gasoline blank before its first and after its last report: 0 (assumed zero)
    expected = {
        2010: 10 * T_COAL + 1 * T_DIESEL + 0,  # 220,989
        2011: 10 * T_COAL + 2 * T_DIESEL + T_GASOLINE,  # 281,199
        2012: 10 * T_COAL + 3 * T_DIESEL + T_GASOLINE,  # 312,158
        2013: 10 * T_COAL + 4 * T_DIESEL + T_GASOLINE,  # 343,117
        2014: 10 * T_COAL + 5 * T_DIESEL + T_GASOLINE,  # 374,076
        2015: 10 * T_COAL + 6 * T_DIESEL + 0,  # 375,784
    }
    assert expected[2011] == 281_199 and expected[2015] == 375_784
    assert park["co2_t"].to_dict() == pytest.approx(expected, rel=1e-12)
    assert park["imputed"].to_dict() == {2010: False, 2011: True, 2012: False, 2013: True,
                                         2014: True, 2015: False}
    plan = _plan(hand, PARK)
    # GDP_2010: 200; x 1.10 = 220; x 1.05 = 231; then index 100
    assert plan["gdp_const_100m_yuan"].tolist() == pytest.approx([200, 220, 231, 231, 231, 231])
    assert plan.loc[2011, "intensity"] == pytest.approx(281_199 / (220 * 1e4), rel=1e-12)
    assert plan["status"].tolist()[1:] == ["no target"] * 5
    assert pd.isna(plan.loc[2010, "status"])  # the base year is not assessed


def test_declines_and_status_by_hand(hand: impls.FullResult) -> None:
    beijing = _plan(hand, "110000")
    assert beijing.loc[2010, "intensity"] == pytest.approx(1.9003, rel=1e-12)  # 1.9003e6 t/1e6
    assert beijing["cumulative_decline_pct"].tolist()[1:] == pytest.approx([3, 10, 12, 14, 18])
    # annual: 1 - 90/97 = 7.2165 %, 1 - 88/90 = 2.2222 %
    assert beijing.loc[2012, "annual_decline_pct"] == pytest.approx(7.21649, rel=1e-5)
    assert beijing.loc[2013, "annual_decline_pct"] == pytest.approx(2.22222, rel=1e-5)
    # even pace to 18 % in 5 years: 100 x (1 - 0.82^(k/5)) = 3.8913, 7.6311, 11.2255, 14.6800, 18
    assert beijing["expected_decline_pct"].tolist()[1:] == pytest.approx(
        [3.8913, 7.6311, 11.2255, 14.6800, 18.0], abs=1e-4)
    # 3 < 3.8913 behind; 10 >= 7.6311 and 12 >= 11.2255 on schedule; 14 < 14.68 behind;
    # 2015 (end year): 18 >= 18 met (within the 1e-9 pp tolerance of reaches())
    assert beijing["status"].tolist()[1:] == ["behind", "on schedule", "on schedule", "behind",
                                              "met"]
    tianjin = _plan(hand, "120000")
    # even pace to 19 %: 100 x (1 - 0.81^(1/5)) = 4.1268, 100 x (1 - 0.81^(2/5)) = 8.0834, so
    # 5 % and 10 % are on schedule. Coal blank in 2013: no CO2, so 2013 and (annual decline vs
    # 2013) 2014 are insufficient; 2015 has both declines again: 15 % < 19 % in the end year
    assert tianjin["expected_decline_pct"].tolist()[1:3] == pytest.approx([4.1268, 8.0834],
                                                                          abs=1e-4)
    assert pd.isna(tianjin.loc[2013, "co2_t"])
    assert tianjin["status"].tolist()[1:] == ["on schedule", "on schedule", "insufficient data",
                                              "insufficient data", "missed"]
    assert tianjin.loc[2015, "cumulative_decline_pct"] == pytest.approx(15)
    assert tianjin.loc[2015, "annual_decline_pct"] == pytest.approx(0, abs=1e-12)
    # the other 29 provinces are listed, as int_geo_year lists them, without data: 12th-plan
    # years 2011-2015 insufficient. 13th FYP (base 2015): base year only, nothing assessed.
    assert impls.status_counts(hand) == {"behind": 2, "insufficient data": 29 * 5 + 2, "met": 1,
                                         "missed": 1, "no target": 5, "on schedule": 4}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, impls.FullResult]:
    out = tmp_path_factory.mktemp("pandas-full-small")
    gen.main([str(out), "--small", "--format", "parquet"])
    return out, impls.pandas_full(out)


def test_small_set_facts(small: tuple[Path, impls.FullResult]) -> None:
    """Cells of the --small set, read from its file: 130803 (双滦区) has kerosene blank in 2006
    and 2007 between reported 2005 and 2008; 460000 (海南省) coal blank in 2011; 130804 (鹰手营子
    矿区) coal blank in 2010, the 12th FYP's base year, and fuel oil blank in 2020, its last."""
    folder, full = small
    energy = pd.read_parquet(folder / gen.file_name("energy_consumption", "parquet"))
    cells = energy.set_index([gen.CODE, gen.YEAR])
    assert cells.loc[("130803", 2006), KEROSENE] is None or pd.isna(
        cells.loc[("130803", 2006), KEROSENE])
    k05, k08 = cells.loc[("130803", 2005), KEROSENE], cells.loc[("130803", 2008), KEROSENE]
    assert pd.notna(k05) and pd.notna(k08)
    floor = impls.duckdb_floor(folder).set_index(["code", "year"])["co2_t"]  # blank = nothing
    co2 = full.unit_years.set_index(["code", "year"])
    for year, step in ((2006, 1 / 3), (2007, 2 / 3)):  # linear between 2005 and 2008
        kerosene = k05 + (k08 - k05) * step
        assert co2.loc[("130803", year), "co2_t"] == pytest.approx(
            floor[("130803", year)] + kerosene * T_KEROSENE, rel=1e-12)
        assert co2.loc[("130803", year), "imputed"]
    # a trailing blank is taken as 0: the same CO2 as the floor's, nothing imputed
    assert co2.loc[("130804", 2020), "co2_t"] == pytest.approx(floor[("130804", 2020)],
                                                               rel=1e-12)
    assert not co2.loc[("130804", 2020), "imputed"]
    # coal blank: no CO2; the assessments that need that year are insufficient data
    assert pd.isna(co2.loc[("460000", 2011), "co2_t"]) and pd.notna(floor[("460000", 2011)])
    hainan = _plan(full, "460000")["status"]
    assert hainan[2011] == hainan[2012] == "insufficient data"
    assert hainan[2013] != "insufficient data"
    assert set(_plan(full, "130804")["status"].dropna()) == {"insufficient data"}
    assert _plan(full, "130804", "11th").loc[2010, "status"] == "insufficient data"
    # every status is one of fct_target_assessment's; one row per unit, plan and assessed year
    assessed = full.plan_years.dropna(subset=["status"])
    assert set(assessed["status"]) <= set(impls.STATUSES)
    assert not assessed.duplicated(["plan_id", "code", "year"]).any()
