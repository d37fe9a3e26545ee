"""Energy intensity, LMDI decomposition and the electricity-trade term, worked by hand.

Qinghai 630000, 2010 → 2011 (12th FYP, base 2010), GDP 1000 亿元 in 2010, index 110 in 2011:
  2010: coal 100 万吨, gas 0        → CO2 = 1.9003 Mt;  E = 100 × 0.7143 = 71.43 万tce
  2011: coal 100 万吨, gas 10 亿m³  → CO2 = 1.9003 + 2.1622 = 4.0625 Mt;
        E = 71.43 + 10 × 1e8 m³ × 1.33 kgce / 1e7 = 71.43 + 133 = 204.43 万tce
  GDP_2010(2011) = 1100
  EI (tce per 10,000 yuan) = E[万tce] / GDP[亿元]: 0.07143 → 0.185845…
  I  (t per 10,000 yuan)   = CO2[Mt] × 100 / GDP:  0.19003 → 0.369318…
  ΔI = 0.369318… − 0.19003;  effects via L(I1, I0) × ln ratios, summing exactly to ΔI.
Electricity: consumption 300 亿kWh, generation 200 → net import 100 亿kWh × 0.6671 kgCO2/kWh
  (north-west grid) = 100e8 kWh × 0.6671 kg = 6.671 Mt.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from carbon_assess.pipeline import run_pipeline

from builders import write_economy, write_long_csv


def _run(tmp_path: Path, electricity_trade: bool) -> duckdb.DuckDBPyConnection:
    landing = tmp_path / "landing"
    write_long_csv(landing / "consumption.csv",
                   ["煤炭消费量(万吨)", "天然气消费量(亿立方米)", "电力消费量(亿千瓦小时)"],
                   [("630000", 2010, 100, 0, 300), ("630000", 2011, 100, 10, 300)])
    write_long_csv(landing / "production.csv", ["发电量(亿千瓦小时)"],
                   [("630000", 2010, 200), ("630000", 2011, 200)])
    write_economy(landing, gdp={"630000": {2010: 1000, 2011: 1200}},
                  index={"630000": {2010: 108, 2011: 110}})
    db = tmp_path / "w.duckdb"
    run_pipeline(landing, f"duckdb://{db}", workdir=tmp_path / "work",
                 electricity_trade=electricity_trade)
    return duckdb.connect(str(db), read_only=True)


def test_energy_intensity_and_lmdi_terms(tmp_path: Path) -> None:
    with _run(tmp_path, electricity_trade=False) as con:
        intensity = dict(con.execute(
            "select year, energy_intensity_tce_per_10k_yuan from carbon.fct_intensity "
            "where plan_id = '12th' and province_code = '630000'").fetchall())
        row = con.execute(
            "select intensity_change_t_per_10k_yuan, energy_intensity_effect_t_per_10k_yuan, "
            "carbon_content_effect_t_per_10k_yuan from carbon.fct_intensity_decomposition "
            "where plan_id = '12th' and province_code = '630000' and year = 2011").fetchone()
        trade = con.execute("select co2_electricity_trade_mt, net_electricity_import_100m_kwh "
                            "from carbon.fct_province_year where province_code = '630000' "
                            "and year = 2011").fetchone()
    assert intensity[2010] == pytest.approx(0.07143)
    assert intensity[2011] == pytest.approx(204.43 / 1100)
    i0, i1 = 0.19003, 4.0625 * 100 / 1100
    ei0, ei1 = 71.43 / 1000, 204.43 / 1100
    cf0, cf1 = 1.9003 / 0.7143, 4.0625 * 100 / 204.43  # t CO2 per tce
    weight = (i1 - i0) / (math.log(i1) - math.log(i0))
    change, energy_effect, carbon_effect = row
    assert change == pytest.approx(i1 - i0)
    assert energy_effect == pytest.approx(weight * math.log(ei1 / ei0))
    assert carbon_effect == pytest.approx(weight * math.log(cf1 / cf0))
    assert energy_effect + carbon_effect == pytest.approx(change, abs=1e-12)
    # off by default: net import reported, its CO2 not
    assert trade == (None, pytest.approx(100.0))


def test_electricity_trade_term_when_enabled(tmp_path: Path) -> None:
    with _run(tmp_path, electricity_trade=True) as con:
        co2_trade, co2 = con.execute(
            "select co2_electricity_trade_mt, co2_mt from carbon.fct_province_year "
            "where province_code = '630000' and year = 2011").fetchone()
    assert co2_trade == pytest.approx(6.671)
    assert co2 == pytest.approx(4.0625)  # the trade term stays out of the combustion total
