"""Emission factors and the two accounting methods (DESIGN.md §5)."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from carbon_assess import reference
from carbon_assess.pipeline import run_pipeline

from builders import write_economy, write_long_csv


def test_factor_table_reproduces_ncv_carbon_oxidation_44_12() -> None:
    rows = reference.load("emission_factors")
    assert {r["fuel"] for r in rows} >= {
        "coal", "coke", "crude_oil", "fuel_oil", "gasoline", "kerosene", "diesel", "lpg",
        "refinery_gas", "natural_gas",
    }
    for row in rows:
        # kJ/unit × 1e-9 TJ/kJ × tC/TJ × oxidation × 44/12 × 1000 kg/t = kgCO2/unit
        computed = (float(row["ncv_kj_per_unit"]) * 1e-9 * float(row["carbon_content_tc_per_tj"])
                    * float(row["oxidation_rate"]) * 44 / 12 * 1000)
        assert computed == pytest.approx(float(row["ef_kgco2_per_unit"]), abs=6e-5), row["fuel"]
        assert row["source"], f"{row['fuel']} factor has no source"


def test_every_reference_table_cites_a_source() -> None:
    for name in ("emission_factors", "plans", "targets", "scoring_rules", "grade_thresholds"):
        with reference.path(name).open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and all(r["source"].strip() for r in rows), name


def _run(tmp_path: Path, method: str) -> dict[str, float]:
    """One province-year: coal 100, crude 20, coke consumed 50 / produced 80, gas 10 亿m³."""
    landing = tmp_path / method / "landing"
    write_long_csv(
        landing / "consumption.csv",
        ["煤炭消费量(万吨)", "原油消费量(万吨)", "焦炭消费量(万吨)", "天然气消费量(亿立方米)"],
        [("630000", 2010, 100, 20, 50, 10)],
    )
    write_long_csv(landing / "production.csv", ["焦炭生产量(万吨)", "原油生产量(万吨)"],
                   [("630000", 2010, 80, 200)])
    write_economy(landing, gdp={"630000": {2010: 100}}, index={"630000": {2010: 110}})
    db = tmp_path / method / "w.duckdb"
    run_pipeline(landing, f"duckdb://{db}", method=method, workdir=tmp_path / method / "work")
    with duckdb.connect(str(db), read_only=True) as con:
        by_fuel = dict(con.execute(
            "select fuel, co2_mt from carbon.fct_emissions where method = ? and year = 2010",
            [method]).fetchall())
        total = con.execute("select co2_mt from carbon.fct_province_year "
                            "where province_code = '630000' and year = 2010"
                            ).fetchone()[0]
    return by_fuel | {"total": total}


def test_reference_method_counts_secondary_fuels_by_net_supply(tmp_path: Path) -> None:
    co2 = _run(tmp_path, "reference")
    # coal 100 万吨 = 1e6 t × 1.9003 = 1.9003 Mt; crude 20 × 3.0202 / 100 = 0.60404 Mt
    # coke (50 − 80) × 2.8604 / 100 = −0.85812 Mt (a net exporter of coke)
    # gas 10 亿m³ = 1e9 m³ × 2.1622 kg = 2.1622 Mt; crude production does not enter
    assert co2["coal"] == pytest.approx(1.9003)
    assert co2["crude_oil"] == pytest.approx(0.60404)
    assert co2["coke"] == pytest.approx(-0.85812)
    assert co2["natural_gas"] == pytest.approx(2.1622)
    assert co2["total"] == pytest.approx(1.9003 + 0.60404 - 0.85812 + 2.1622)


def test_consumption_method_counts_every_fuel_in_full(tmp_path: Path) -> None:
    co2 = _run(tmp_path, "consumption")
    assert co2["coke"] == pytest.approx(50 * 2.8604 / 100)
    assert co2["total"] == pytest.approx(1.9003 + 0.60404 + 1.4302 + 2.1622)
