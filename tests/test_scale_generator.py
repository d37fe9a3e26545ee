"""benchmarks/generate_landing.py and benchmarks/reference_impls.py: the county-scale yardsticks.

Fast (a few seconds): only the --small data set and a hand-made Parquet set are written.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carbon_assess import reference

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate_landing as gen  # noqa: E402
import reference_impls as impls  # noqa: E402

ENERGY_HEADER = (
    "地区编码,地区,年份,煤炭消费量(万吨),焦炭消费量(万吨),原油消费量(万吨),汽油消费量(万吨),"
    "煤油消费量(万吨),柴油消费量(万吨),燃料油消费量(万吨),液化石油气消费量(万吨),"
    "炼厂干气消费量(万吨),天然气消费量(亿立方米),电力消费量(亿千瓦小时)"
)
ECONOMY_HEADERS = {
    "gdp": "地区编码,地区,年份,地区生产总值(亿元)",
    "gdp_index": "地区编码,地区,年份,地区生产总值指数(上年=100)",
    "population": "地区编码,地区,年份,年末常住人口(万人)",
}


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scale-small")
    gen.main([str(out), "--small", "--format", "both"])
    return out


def test_generator_is_deterministic(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    gen.generate(again, "small", fmt="both")
    first, second = _hashes(small), _hashes(again)
    assert set(first) == {*(gen.file_name(k, f) for k in gen.KINDS for f in ("csv", "parquet")),
                          "units.csv", "manifest.json", "README_SYNTHETIC.txt"}
    assert first == second


def test_headers_codes_and_units_sheet(small: Path) -> None:
    regions = {r["code"]: r for r in reference.load("regions")}
    with (small / "units.csv").open(encoding="utf-8", newline="") as handle:
        declared = list(csv.DictReader(handle))
    assert declared and list(declared[0]) == ["code", "name", "level", "parent"]
    for unit in declared:  # extra units: outside GB/T 2260, each under a county of regions.csv
        assert unit["code"].startswith("Z") and unit["code"] not in regions
        assert unit["level"] == "park" and regions[unit["parent"]]["level"] == "county"
    known = set(regions) | {u["code"] for u in declared}

    lines = (small / gen.file_name("energy_consumption", "csv")).read_text("utf-8").splitlines()
    assert lines[0] == ENERGY_HEADER
    for kind, header in ECONOMY_HEADERS.items():
        assert (small / gen.file_name(kind, "csv")).read_text("utf-8").splitlines()[0] == header
    for kind in gen.KINDS:
        frame = pd.read_csv(small / gen.file_name(kind, "csv"), dtype={"地区编码": str})
        assert set(frame["地区编码"]) <= known
        assert sorted(frame["年份"].unique()) == list(range(1981, 2021))
        assert len(frame) == 24 * 40  # 2 provinces, 3 prefectures, 16 counties, 3 parks
        # Parquet: the same header and the same numbers (blank = null)
        table = pd.read_parquet(small / gen.file_name(kind, "parquet"))
        assert ",".join(table.columns) == ",".join(frame.columns)
        assert table["地区编码"].tolist() == frame["地区编码"].tolist()
        for column in frame.columns[3:]:
            np.testing.assert_array_equal(table[column].to_numpy(float),
                                          frame[column].to_numpy(float))
        names = dict(zip(frame["地区编码"], frame["地区"], strict=False))
        assert all(names[c] == regions[c]["name"] for c in names if c in regions)

    energy = pd.read_csv(small / gen.file_name("energy_consumption", "csv"),
                         dtype={"地区编码": str})
    cells = energy.iloc[:, 3:]
    assert 0.002 < cells.isna().to_numpy().mean() < 0.03  # about 1 % blank
    assert (cells == 0).to_numpy().any()
    coal, total = cells.iloc[:, 0], cells.iloc[:, :-1].sum(axis=1)
    assert (coal / total).median() > 0.5  # coal dominant (in tonnes)


def test_parents_are_not_exact_sums(small: Path) -> None:
    regions = {r["code"]: r for r in reference.load("regions")}
    energy = pd.read_parquet(small / gen.file_name("energy_consumption", "parquet"))
    coal = energy.set_index(["地区编码", "年份"])["煤炭消费量(万吨)"]
    counties = energy[energy["地区编码"].map(lambda c: regions.get(c, {}).get("level"))
                      == "county"]
    parent = counties["地区编码"].map(lambda c: regions[c]["parent_code"])
    sums = counties.assign(parent=parent).groupby(["parent", "年份"])["煤炭消费量(万吨)"].sum()
    own = coal.loc[[k for k in sums.index if k[0] == "130800"]]
    gap = (own.to_numpy() / sums.loc["130800"].to_numpy() - 1)
    assert 0.005 < np.nanmedian(np.abs(gap)) < 0.05  # off by a few %, never exactly the sum


def test_sizes() -> None:
    assert gen.plan("national").activity_rows == 3206 * 40 * 11 == 1_410_640
    big = gen.plan("national", gen.parse_rows("2.2M"))
    assert 2_200_000 <= big.activity_rows < 2_200_000 + 440
    assert big.n_parks == big.n_units - 3206
    with pytest.raises(ValueError):
        gen.plan("national", 1_000_000)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) == list(impls.OUTPUT_COLUMNS)
    assert a["code"].astype(str).tolist() == b["code"].astype(str).tolist()
    assert a["year"].astype(int).tolist() == b["year"].astype(int).tolist()
    for column in ("co2_t", "gdp_const_2010", "intensity"):
        np.testing.assert_allclose(a[column].to_numpy(float), b[column].to_numpy(float),
                                   rtol=1e-9, atol=0)
        assert a[column].isna().tolist() == b[column].isna().tolist()


def test_duckdb_floor_and_pandas_agree_on_small(small: Path) -> None:
    floor, plain = impls.duckdb_floor(small), impls.pandas_version(small)
    assert len(floor) == 24 * 40
    _same(floor, plain)
    intensity = floor.set_index(["code", "year"])["intensity"]
    assert intensity.notna().all() and (intensity > 0).all()
    by_unit = intensity.unstack()  # falls over the 40 years for every unit
    assert (by_unit[2020] < by_unit[1981]).all()


def test_hand_worked_case(tmp_path: Path) -> None:
    """One unit, two years, two fuels (and an electricity cell that carries no CO2)."""
    factors = {r["fuel"]: r for r in reference.load("emission_factors")
               if r["factor_version"] == "ndrc2011-gbt2589-v1"}
    coal, gas = factors["coal"], factors["natural_gas"]
    # The tabulated factor is NCV x carbon content x oxidation x 44/12, rounded to 4 decimals:
    #   coal: 20908 kJ/kg = 20908e-9 TJ/kg; x 26.37 tC/TJ x 0.94 x 44/12 = 0.00190029 tCO2/kg
    #         = 1.90029 kg/kg -> 1.9003
    #   gas:  38931 kJ/m3 x 15.3 tC/TJ x 0.99 x 44/12 = 2.16227 kg/m3 -> 2.1622
    for row in (coal, gas):
        derived = (float(row["ncv_kj_per_unit"]) * 1e-9 * float(row["carbon_content_tc_per_tj"])
                   * float(row["oxidation_rate"]) * 44 / 12 * 1e3)
        assert abs(derived - float(row["ef_kgco2_per_unit"])) < 5e-5
    assert (coal["ef_kgco2_per_unit"], gas["ef_kgco2_per_unit"]) == ("1.9003", "2.1622")

    # Data: coal 10 / 12 万吨, natural gas 1 / 0.5 亿立方米 in 2010 / 2011; GDP 100 / 115 亿元
    # current, index 2011 = 108.0 (2010's index, 110.0, only enters the running product).
    # CO2 (t), as the project (dim_emission_factor.sql x int_emissions.sql, consumption method):
    #   2010: coal 10 万吨 = 1e8 kg x 1.9003 / 1e3 = 190,030 t
    #         gas  1 亿m3  = 1e8 m3 x 2.1622 / 1e3 = 216,220 t             -> 406,250 t
    #   2011: coal 12 x 1e7 x 1.9003 / 1e3 = 228,036 t
    #         gas  0.5 x 1e8 x 2.1622 / 1e3 = 108,110 t                    -> 336,146 t
    # GDP at constant 2010 prices: 2010 = 100 亿元; 2011 = 100 x 108.0 / 100 = 108 亿元
    # Intensity, t per 10,000 yuan (1 亿元 = 1e4 万元):
    #   2010: 406,250 / (100 x 1e4) = 0.40625
    #   2011: 336,146 / (108 x 1e4) = 0.311246296...
    code, name = "Z9999990001", "手算园区"
    keys = {"地区编码": [code, code], "地区": [name, name], "年份": [2011, 2010]}
    tables = {
        "energy_consumption": {
            "煤炭消费量(万吨)": [12.0, 10.0],
            "天然气消费量(亿立方米)": [0.5, 1.0],
            "电力消费量(亿千瓦小时)": [3.0, 2.5],
        },
        "gdp": {"地区生产总值(亿元)": [115.0, 100.0]},
        "gdp_index": {"地区生产总值指数(上年=100)": [108.0, 110.0]},
    }
    for kind, columns in tables.items():
        pq.write_table(pa.table({**keys, **columns}), tmp_path / gen.file_name(kind, "parquet"))

    expected = pd.DataFrame({
        "code": [code, code],
        "year": [2010, 2011],
        "co2_t": [190_030.0 + 216_220.0, 228_036.0 + 108_110.0],
        "gdp_const_2010": [100.0, 108.0],
        "intensity": [0.40625, 336_146 / 1_080_000],
    })
    assert expected["intensity"][1] == pytest.approx(0.3112462963, rel=1e-9)
    for result in (impls.duckdb_floor(tmp_path), impls.pandas_version(tmp_path)):
        _same(result.reset_index(drop=True), expected)
