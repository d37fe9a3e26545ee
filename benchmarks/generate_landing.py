"""Deterministic synthetic county-level landing data, at the real national size and at stress sizes.

    .venv/bin/python benchmarks/generate_landing.py OUT_DIR [--size national | --small | --rows N]
                                                            [--format csv|parquet|both]

Writes, for every unit of include/carbon_assess/reference/regions.csv (31 provinces, 333
prefectures, 2,842 counties; GB/T 2260) and years 1981-2020, four files in the NBS long layout
with a region header (`地区编码,地区,年份,<indicator>(<unit>),...`, latest year first):

    synthetic_region_energy_consumption   one column per energy_consumption indicator of
                                          reference/indicators.csv: the 10 fuels of
                                          reference/emission_factors.csv and electricity
    synthetic_region_gdp                  地区生产总值(亿元), current prices
    synthetic_region_gdp_index            地区生产总值指数(上年=100)
    synthetic_region_population           年末常住人口(万人)

as CSV (UTF-8, no BOM) and/or Parquet (the same columns; blanks are nulls), plus `units.csv`
(`code,name,level,parent`: the declared extra units, if any), `manifest.json` (arguments, counts,
file sizes and SHA-256) and `README_SYNTHETIC.txt`. Same arguments -> byte-identical files.

Sizes. An *activity row* is one unit-year-column cell of the energy file (blanks and zeros
included): 40 years x 11 columns = 440 per unit.
  --size national  every unit of regions.csv: 3,206 units, 1,410,640 activity rows
                   (counties alone: 1,250,480).
  --rows N         national plus declared extra units (industrial parks / development zones,
                   codes 'Z' + the parent county's code + 4 digits, level `park`, outside
                   GB/T 2260) spread evenly over the counties, until at least N activity rows
                   (rounded up to whole units). Accepts 2.2M, 10M, 5e7, 10_000_000.
  --small          承德市 (130800, 11 counties), 三亚市 (460200), 儋州市 (460400, no counties),
                   五指山市 (469001, under its province), their provinces, and 3 parks: for tests.

The numbers are invented (see README_SYNTHETIC.txt), built backwards from a story per unit, as
carbon_assess.demo does for provinces (whose province profiles, national growth and deflator
series for 2005-2020 and cell format this module imports): GDP first (real growth index rounded
to 1 decimal, current prices = real x deflator), then CO2 = intensity x GDP at constant 2010
prices with the intensity falling 2-5 %/yr plus a random walk, then each fuel's consumption =
its share of CO2 / its factor (coal the remainder, at least 35 %). Zeros where a unit has no
refinery (crude oil, refinery gas), no airport-sized kerosene use, no fuel oil, and before gas
or LPG arrive; about 1 % of energy and population cells blank at random. GDP and GDP index are
complete.

Prefectures and provinces carry their own figures: the sum over their leaf units (counties, and
prefectures without counties) times (1 + d), |d| about 1..4 % (drawn once per unit and column,
+-0.2 % from year to year, so the parent's series stays smooth), so a roll-up check has
something to find; their GDP index is the children's constant-price growth +- noise. Parks are
parts of their county but are NOT included in any parent's figure.

Memory stays flat: one province's leaf series at a time, parks generated as they are written,
Parquet written in row groups of at most ROW_GROUP_ROWS rows, CSV row by row.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "include") not in sys.path:
    sys.path.insert(0, str(REPO / "include"))

from carbon_assess import reference  # noqa: E402
from carbon_assess.demo import (  # noqa: E402  (the demo's conventions, reused on purpose)
    DEFLATOR,
    PROFILES,
    REAL_GROWTH,
    SEED,
    format_cell,
)
from carbon_assess.transform import current_factor_version  # noqa: E402

GENERATOR_VERSION = 1
YEARS: tuple[int, ...] = tuple(range(1981, 2021))
N_YEARS = len(YEARS)
I2005, I2010 = YEARS.index(2005), YEARS.index(2010)
KEY_COLUMNS = ("地区编码", "地区", "年份")
CODE, NAME, YEAR = KEY_COLUMNS
PREFIX = "synthetic_region_"
KINDS = ("energy_consumption", "gdp", "gdp_index", "population")
UNITS_SHEET = "units.csv"
UNITS_SHEET_COLUMNS = ("code", "name", "level", "parent")
PARK_LEVEL = "park"
PARK_KINDS = ("经济技术开发区", "高新技术产业开发区", "工业园区", "物流园区", "综合保税区")
BLANK_RATE = 0.01
DISCREPANCY = (0.01, 0.04)  # |d| of a parent's own figure against the sum of its leaves
ROW_GROUP_ROWS = 131_072
ENERGY_DECIMALS, GDP_DECIMALS, INDEX_DECIMALS, POP_DECIMALS = 4, 4, 1, 2
SMALL_PREFECTURES = ("130800", "460200", "460400")
SMALL_COUNTIES = ("469001",)
SMALL_PARKS = 3
TIBET_I05 = 1.2  # demo.py gives Tibet no fuel data (intensity 0); its counties here get this

# National real growth (%) and GDP deflator (ratio to the previous year) before 2005, where
# demo.py's series start: approximately the published national figures, used only for shape.
_EARLY_GROWTH = {
    1981: 5.1, 1982: 9.0, 1983: 10.8, 1984: 15.2, 1985: 13.4, 1986: 8.9, 1987: 11.7, 1988: 11.2,
    1989: 4.2, 1990: 3.9, 1991: 9.3, 1992: 14.2, 1993: 13.9, 1994: 13.0, 1995: 11.0, 1996: 9.9,
    1997: 9.2, 1998: 7.8, 1999: 7.7, 2000: 8.5, 2001: 8.3, 2002: 9.1, 2003: 10.0, 2004: 10.1,
}  # fmt: skip
_EARLY_DEFLATOR = {
    1982: 0.99, 1983: 1.01, 1984: 1.05, 1985: 1.10, 1986: 1.047, 1987: 1.052, 1988: 1.121,
    1989: 1.085, 1990: 1.058, 1991: 1.069, 1992: 1.082, 1993: 1.152, 1994: 1.201, 1995: 1.133,
    1996: 1.064, 1997: 1.015, 1998: 0.991, 1999: 0.987, 2000: 1.021, 2001: 1.021, 2002: 1.006,
    2003: 1.026, 2004: 1.069, 2005: 1.039,
}  # fmt: skip
_GROWTH = np.array([{**_EARLY_GROWTH, **REAL_GROWTH}[y] for y in YEARS])
_PRICE_LEVEL = np.cumprod([1.0] + [{**_EARLY_DEFLATOR, **DEFLATOR}[y] for y in YEARS[1:]])
_T = np.arange(N_YEARS) / (N_YEARS - 1)  # 0 in 1981 .. 1 in 2020


@dataclass(frozen=True)
class EnergyColumn:
    header: str  # 煤炭消费量(万吨)
    fuel: str  # coal, ..., electricity


def _economy_header(variable: str) -> str:
    """`<indicator>(<unit>)` of the first indicators.csv row for `variable` (the NBS name)."""
    row = next(r for r in reference.load("indicators") if r["variable"] == variable)
    unit = row["nbs_unit"] or next(
        u["canonical_unit"] for u in reference.load("units") if u["dimension"] == row["dimension"]
    )
    return f"{row['indicator_zh']}({unit})"


ENERGY_COLUMNS: tuple[EnergyColumn, ...] = tuple(
    EnergyColumn(f"{r['indicator_zh']}({r['nbs_unit']})", r["fuel"])
    for r in reference.load("indicators")
    if r["source_kind"] == "energy_consumption"
)
GDP_HEADER = _economy_header("gdp_current")  # 地区生产总值(亿元)
INDEX_HEADER = _economy_header("gdp_index_prev_year")  # 地区生产总值指数(上年=100)
POP_HEADER = _economy_header("population")  # 年末常住人口(万人)
HEADERS = {
    "energy_consumption": (*KEY_COLUMNS, *(c.header for c in ENERGY_COLUMNS)),
    "gdp": (*KEY_COLUMNS, GDP_HEADER),
    "gdp_index": (*KEY_COLUMNS, INDEX_HEADER),
    "population": (*KEY_COLUMNS, POP_HEADER),
}
N_COLS = len(ENERGY_COLUMNS)
ACTIVITY_ROWS_PER_UNIT = N_YEARS * N_COLS


def _t_co2_per_unit() -> dict[str, float]:
    """t CO2 per 万吨 (kg fuels) or per 亿立方米 (natural gas), default factor version."""
    version = current_factor_version()
    out = {}
    for row in reference.load("emission_factors"):
        if row["factor_version"] == version:
            per_kg_or_m3 = float(row["ef_kgco2_per_unit"]) / 1e3
            out[row["fuel"]] = per_kg_or_m3 * {"kg": 1e7, "m3": 1e8}[row["activity_unit"]]
    return out


_T_CO2 = _t_co2_per_unit()
_missing = set(_T_CO2) - {c.fuel for c in ENERGY_COLUMNS}
assert not _missing, f"fuels with a factor but no consumption indicator: {_missing}"


def file_name(kind: str, fmt: str) -> str:
    return f"{PREFIX}{kind}.{fmt}"


def parse_rows(text: str) -> int:
    """'2.2M' -> 2_200_000; '10M', '5e7', '10_000_000', '500k' also accepted."""
    match = re.fullmatch(r"\s*([0-9_.eE+]+)\s*([kKmM]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r}")
    scale = {"": 1, "k": 1e3, "m": 1e6}[match.group(2).lower()]
    return int(round(float(match.group(1).replace("_", "")) * scale))


# ---------------------------------------------------------------------------------------------
# Units


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str  # province, prefecture, county, park
    parent: str
    province: str

    @property
    def district(self) -> bool:
        return self.level == "county" and self.name.endswith("区")


def _key(unit_code: str) -> tuple[int, int]:
    """Seed key of a unit: (0, GB code) or (1, digits of a park code)."""
    return (1, int(unit_code[1:])) if unit_code.startswith("Z") else (0, int(unit_code))


def _rng(purpose: int, unit_code: str) -> np.random.Generator:
    """One independent stream per (purpose, unit): a unit's data never depends on the size."""
    return np.random.default_rng([SEED, GENERATOR_VERSION, purpose, *_key(unit_code)])


def regions() -> list[Unit]:
    return [
        Unit(r["code"], r["name"], r["level"], r["parent_code"], r["province_code"])
        for r in reference.load("regions")
    ]


def park_counts(counties: list[Unit], n_parks: int) -> dict[str, int]:
    """Parks per county, spread evenly in code order (the first `rem` counties get one more)."""
    base, rem = divmod(n_parks, len(counties))
    return {c.code: base + (1 if i < rem else 0) for i, c in enumerate(counties)}


def park_unit(county: Unit, k: int) -> Unit:
    kind = PARK_KINDS[(int(county.code) + k) % len(PARK_KINDS)]
    return Unit(f"Z{county.code}{k:04d}", f"{county.name}{kind}{k}", PARK_LEVEL, county.code,
                county.province)


@dataclass(frozen=True)
class Plan:
    """What to write: the GB units (code order), parks per county, and the size label."""

    label: str
    units: tuple[Unit, ...]
    parks: dict[str, int]

    @property
    def n_parks(self) -> int:
        return sum(self.parks.values())

    @property
    def n_units(self) -> int:
        return len(self.units) + self.n_parks

    @property
    def activity_rows(self) -> int:
        return self.n_units * ACTIVITY_ROWS_PER_UNIT


def plan(size: str = "national", rows: int | None = None) -> Plan:
    units = regions()
    counties = [u for u in units if u.level == "county"]
    if size == "small":
        keep = set(SMALL_PREFECTURES) | set(SMALL_COUNTIES)
        chosen = [u for u in units if u.code in keep or u.parent in SMALL_PREFECTURES]
        provinces = {u.province for u in chosen}
        chosen += [u for u in units if u.code in provinces]
        chosen.sort(key=lambda u: u.code)
        small_counties = [u for u in chosen if u.level == "county"][:SMALL_PARKS]
        return Plan("small", tuple(chosen), {c.code: 1 for c in small_counties})
    if size != "national":
        raise ValueError(f"unknown size {size!r}")
    base = len(units) * ACTIVITY_ROWS_PER_UNIT
    if rows is None:
        return Plan("national", tuple(units), {})
    if rows < base:
        raise ValueError(f"--rows {rows:,} is below the national size ({base:,} activity rows); "
                         "use --size national or --small")
    n_parks = math.ceil(rows / ACTIVITY_ROWS_PER_UNIT) - len(units)
    return Plan(f"rows-{rows}", tuple(units), park_counts(counties, n_parks))


# ---------------------------------------------------------------------------------------------
# Series


@dataclass
class Series:
    """One unit's figures, 1981..2020 in year order. energy: (N_COLS, N_YEARS), not rounded."""

    gdp: np.ndarray
    index: np.ndarray
    gdp_const: np.ndarray  # constant 2010 prices from the rounded GDP and index (not written)
    population: np.ndarray
    energy: np.ndarray


def _leaf(rng: np.random.Generator, province: str, gdp05: float, pop05: float, *,
          district: bool = False, growth_extra: float = 0.0,
          intensity_scale: float = 1.0) -> Series:
    """Invent a leaf unit (county, prefecture without counties, park): GDP, then CO2, then fuels."""
    prof = PROFILES[int(province)]
    n = N_YEARS
    offset = prof.growth_offset + growth_extra + rng.normal(0.0, 1.0)
    index = np.round(np.clip(100 + _GROWTH + offset + rng.uniform(-1.5, 1.5, n), 92, 125),
                     INDEX_DECIMALS)
    real = np.concatenate([[1.0], np.cumprod(index[1:] / 100)])
    nominal = real * _PRICE_LEVEL * np.cumprod(rng.uniform(0.995, 1.005, n))
    gdp = np.maximum(np.round(nominal * gdp05 / nominal[I2005], GDP_DECIMALS), 10**-GDP_DECIMALS)
    gdp_const = gdp[I2010] * real / real[I2010]

    i05 = prof.i05 if prof.i05 > 0 else TIBET_I05
    level = i05 * 0.85 * intensity_scale * rng.lognormal(0.0, 0.35) * (0.75 if district else 1)
    walk = np.cumsum(rng.normal(0.0, 0.012, n))
    intensity = level * np.exp(-rng.uniform(0.02, 0.05) * (np.arange(n) - I2010)
                               + walk - walk[I2010])  # t CO2 per 10,000 yuan (2010 prices)
    co2 = intensity * gdp_const * 1e4  # t: 亿元 = 1e4 万元

    year = np.array(YEARS)
    # a refinery in about a third of the units, crude 15-40 % of their CO2: provinces then burn
    # about 0.1 t of crude per resident, inside the real provincial range (yearly medians
    # 0.147-0.466 t, reference/column_level_bounds.csv); with 6 % of units at 5-25 % they burned
    # 0.008 t, a column validation rightly calls 100x too small
    refinery = rng.random() < 0.35
    gas_start = rng.integers(1983, 2016)
    gas_end = min(0.35, max(prof.gas20, 0.01) * rng.lognormal(0.0, 0.5))
    gas_ramp = 0.005 + (gas_end - 0.005) * (year - gas_start) / max(1, 2020 - gas_start)
    lpg_start = rng.integers(1985, 2001)
    shares = {
        "coke": np.full(n, min(0.25, max(prof.coke_use, 0.01) * rng.lognormal(0.0, 0.5))),
        "crude_oil": np.full(n, rng.uniform(0.15, 0.4) if refinery else 0.0),
        "refinery_gas": np.full(n, rng.uniform(0.005, 0.015) if refinery else 0.0),
        "gasoline": rng.uniform(0.015, 0.03) * (1 + 1.2 * _T),
        "kerosene": np.full(n, rng.uniform(0.001, 0.008) if rng.random() < 0.6 else 0.0),
        "diesel": rng.uniform(0.04, 0.08) * (1 + 0.4 * _T),
        "fuel_oil": (rng.uniform(0.003, 0.015) if rng.random() < 0.7 else 0.0) * (1 - 0.5 * _T),
        "lpg": np.where(year >= lpg_start, rng.uniform(0.003, 0.01) * (1 + _T), 0.0),
        "natural_gas": np.where(year >= gas_start, gas_ramp, 0.0),
    }
    for key in shares:
        shares[key] = shares[key] * rng.uniform(0.95, 1.05, n)
    others = sum(shares.values())
    scale = np.minimum(1.0, 0.65 / others)  # coal keeps at least 35 %
    shares = {k: v * scale for k, v in shares.items()}
    shares["coal"] = 1.0 - others * scale

    energy = np.empty((N_COLS, n))
    elec_per_yuan = prof.elec05 * rng.lognormal(0.0, 0.3)
    for i, col in enumerate(ENERGY_COLUMNS):
        if col.fuel == "electricity":  # 亿kWh = 亿元 x kWh/yuan
            energy[i] = elec_per_yuan * gdp_const * 0.985 ** (year - 2005)
        else:
            energy[i] = shares[col.fuel] * co2 / _T_CO2[col.fuel]

    growth = (prof.pop_growth + rng.normal(0.0, 0.3) + rng.normal(0.0, 0.2, n)) / 100
    pop = np.cumprod(1 + growth)
    # at least the smallest written amount (0.01 万人): a zero population is an input error
    # (DESIGN.md §3), and a small park would otherwise round to it
    population = np.maximum(np.round(pop / pop[I2005] * pop05, POP_DECIMALS),
                            10.0 ** -POP_DECIMALS)
    return Series(gdp, index, gdp_const, population, energy)


def _parent(unit: Unit, leaves: list[Series]) -> Series:
    """A prefecture's or province's own figures: its leaves' sum, off by +-1..4 %."""
    rng = _rng(2, unit.code)
    lo, hi = DISCREPANCY

    def off(shape: tuple[int, ...]) -> np.ndarray:
        """1 + d: |d| drawn once per column in lo..hi with a random sign, +-0.2 % by year."""
        level = rng.choice([-1.0, 1.0], size=(*shape[:-1], 1)) * rng.uniform(lo, hi,
                                                                          (*shape[:-1], 1))
        return 1 + level + rng.normal(0.0, 0.002, shape)

    gdp_const = sum(s.gdp_const for s in leaves)
    growth = 100 * gdp_const[1:] / gdp_const[:-1]
    first = sum(s.index[0] * s.gdp_const[0] for s in leaves) / gdp_const[0]
    index = np.round(np.concatenate([[first], growth]) + rng.normal(0.0, 0.15, N_YEARS),
                     INDEX_DECIMALS)
    return Series(
        gdp=np.round(sum(s.gdp for s in leaves) * off((N_YEARS,)), GDP_DECIMALS),
        index=index,
        gdp_const=gdp_const,
        population=np.round(sum(s.population for s in leaves) * off((N_YEARS,)), POP_DECIMALS),
        energy=sum(s.energy for s in leaves) * off((N_COLS, N_YEARS)),
    )


def province_series(units: list[Unit], province: str) -> dict[str, Series]:
    """Series of every GB unit of one province (all of them, whatever is written)."""
    prof = PROFILES[int(province)]
    members = [u for u in units if u.province == province]
    has_children = {u.parent for u in members}
    leaves = [u for u in members
              if u.level == "county" or (u.level == "prefecture" and u.code not in has_children)]
    weights, pop_weights = {}, {}
    for u in leaves:
        rng = _rng(0, u.code)
        w = rng.lognormal(0.0, 0.8) * (1.6 if u.district else 1.0) * (
            3.0 if u.level == "prefecture" else 1.0)
        weights[u.code] = w
        pop_weights[u.code] = w**0.5 * rng.lognormal(0.0, 0.3)
    total_w, total_p = sum(weights.values()), sum(pop_weights.values())
    out = {
        u.code: _leaf(_rng(1, u.code), province, prof.gdp05 * weights[u.code] / total_w,
                      prof.pop05 * pop_weights[u.code] / total_p, district=u.district)
        for u in leaves
    }
    for u in members:
        if u.code in out:
            continue
        below = [out[v.code] for v in leaves
                 if u.level == "province" or v.parent == u.code]
        out[u.code] = _parent(u, below)
    return out


def park_series(park: Unit, county: Series, parks_in_county: int) -> Series:
    rng = _rng(1, park.code)
    share = rng.uniform(0.02, 0.5) / parks_in_county  # parks together: under half the county
    return _leaf(rng, park.province, county.gdp[I2005] * share,
                 county.population[I2005] * share * 0.3,
                 growth_extra=rng.uniform(0.0, 3.0), intensity_scale=rng.uniform(0.9, 2.5))


def iter_units(p: Plan) -> Iterator[tuple[Unit, Series]]:
    """(unit, its figures) in writing order: GB units by code, each county's parks after it."""
    units = regions()
    by_code = {u.code: u for u in units}
    for province in sorted({u.province for u in p.units}):
        series = province_series(units, province)
        for unit in (u for u in p.units if u.province == province):
            yield unit, series[unit.code]
            n = p.parks.get(unit.code, 0)
            for k in range(1, n + 1):
                park = park_unit(by_code[unit.code], k)
                yield park, park_series(park, series[unit.code], n)


# ---------------------------------------------------------------------------------------------
# Writing


def _written(unit: Unit, s: Series) -> dict[str, np.ndarray]:
    """The unit's cells as written: rounded, blanks as NaN, latest year first."""
    rng = _rng(3, unit.code)
    energy = np.round(s.energy, ENERGY_DECIMALS)
    coal = [i for i, c in enumerate(ENERGY_COLUMNS) if c.fuel == "coal"]
    energy[coal] = np.maximum(energy[coal], 10.0 ** -ENERGY_DECIMALS)  # zero coal: an error
    energy[rng.random(energy.shape) < BLANK_RATE] = np.nan
    pop = s.population.astype(float).copy()
    pop[rng.random(N_YEARS) < BLANK_RATE] = np.nan
    return {
        "energy": energy[:, ::-1],
        "gdp": s.gdp[::-1],
        "index": s.index[::-1],
        "population": pop[::-1],
    }


def _cell(value: float, decimals: int) -> str:
    return "" if math.isnan(value) else format_cell(value, decimals)


class _Writers:
    """Four outputs (one per kind), CSV and/or Parquet, written as units arrive."""

    YEARS_DESC = np.array(YEARS[::-1], dtype=np.int32)

    def __init__(self, out: Path, formats: tuple[str, ...]):
        self.out, self.formats = out, formats
        self.csv_files, self.csv = {}, {}
        if "csv" in formats:
            for kind in KINDS:
                handle = (out / file_name(kind, "csv")).open("w", encoding="utf-8", newline="")
                self.csv_files[kind] = handle
                self.csv[kind] = csv.writer(handle, lineterminator="\n")
                self.csv[kind].writerow(HEADERS[kind])
        self.parquet: dict[str, pq.ParquetWriter] = {}
        self.schemas = {
            kind: pa.schema([pa.field(CODE, pa.string()), pa.field(NAME, pa.string()),
                             pa.field(YEAR, pa.int32()),
                             *(pa.field(h, pa.float64()) for h in HEADERS[kind][3:])])
            for kind in KINDS
        }
        if "parquet" in formats:
            for kind in KINDS:
                self.parquet[kind] = pq.ParquetWriter(out / file_name(kind, "parquet"),
                                                      self.schemas[kind])
        self.buffer: list[tuple[Unit, dict[str, np.ndarray]]] = []
        self.buffered_rows = 0
        self.blank_cells = self.zero_cells = 0

    def add(self, unit: Unit, cells: dict[str, np.ndarray]) -> None:
        self.blank_cells += int(np.isnan(cells["energy"]).sum())
        self.zero_cells += int((cells["energy"] == 0).sum())
        if self.csv:
            self._write_csv(unit, cells)
        if self.parquet:
            self.buffer.append((unit, cells))
            self.buffered_rows += N_YEARS
            if self.buffered_rows >= ROW_GROUP_ROWS:
                self._flush()

    def _write_csv(self, unit: Unit, cells: dict[str, np.ndarray]) -> None:
        energy = cells["energy"].T.tolist()
        for i, year in enumerate(self.YEARS_DESC.tolist()):
            key = (unit.code, unit.name, str(year))
            self.csv["energy_consumption"].writerow(
                (*key, *(_cell(v, ENERGY_DECIMALS) for v in energy[i])))
            self.csv["gdp"].writerow((*key, _cell(float(cells["gdp"][i]), GDP_DECIMALS)))
            self.csv["gdp_index"].writerow((*key, _cell(float(cells["index"][i]), INDEX_DECIMALS)))
            self.csv["population"].writerow(
                (*key, _cell(float(cells["population"][i]), POP_DECIMALS)))

    def _flush(self) -> None:
        if not self.buffer:
            return
        codes = pa.array(np.repeat([u.code for u, _ in self.buffer], N_YEARS), pa.string())
        names = pa.array(np.repeat([u.name for u, _ in self.buffer], N_YEARS), pa.string())
        years = pa.array(np.tile(self.YEARS_DESC, len(self.buffer)), pa.int32())

        def values(matrix: np.ndarray) -> pa.Array:
            return pa.array(matrix, pa.float64(), mask=np.isnan(matrix))

        energy = np.concatenate([c["energy"] for _, c in self.buffer], axis=1)
        columns = {
            "energy_consumption": [values(row) for row in energy],
            "gdp": [values(np.concatenate([c["gdp"] for _, c in self.buffer]))],
            "gdp_index": [values(np.concatenate([c["index"] for _, c in self.buffer]))],
            "population": [values(np.concatenate([c["population"] for _, c in self.buffer]))],
        }
        for kind, writer in self.parquet.items():
            table = pa.Table.from_arrays([codes, names, years, *columns[kind]],
                                         schema=self.schemas[kind])
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS * 2)
        self.buffer, self.buffered_rows = [], 0

    def close(self) -> None:
        self._flush()
        for writer in self.parquet.values():
            writer.close()
        for handle in self.csv_files.values():
            handle.close()


README_TEXT = """\
SYNTHETIC BENCHMARK DATA - NOT OFFICIAL STATISTICS
==================================================

Every file in this folder was generated by benchmarks/generate_landing.py of carbon-assess from
a fixed random seed. The numbers are invented: they are NOT statistics of the National Bureau
of Statistics of China (NBS), nor of any province, prefecture or county, and must not be cited
or used for any real assessment. Units with codes starting with "Z" (units.csv) do not exist.
They imitate the NBS long layout with a region header, at county level, to measure the cost of
processing county-level data.

本目录中的文件均为程序生成的合成基准测试数据，数值为虚构，并非统计数据，不得引用或用于任何实际考核。
"""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def generate(out: Path, size: str = "national", rows: int | None = None,
             fmt: str = "both") -> dict:
    """Write the landing files for `size`/`rows` into `out`; return the manifest (also written)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = plan(size, rows)
    formats = ("csv", "parquet") if fmt == "both" else (fmt,)
    writers = _Writers(out, formats)
    declared: list[Unit] = []
    levels: dict[str, int] = {}
    try:
        for unit, series in iter_units(p):
            levels[unit.level] = levels.get(unit.level, 0) + 1
            if unit.level == PARK_LEVEL:
                declared.append(unit)
            writers.add(unit, _written(unit, series))
    finally:
        writers.close()
    with (out / UNITS_SHEET).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(UNITS_SHEET_COLUMNS)
        writer.writerows((u.code, u.name, u.level, u.parent) for u in declared)
    (out / "README_SYNTHETIC.txt").write_text(README_TEXT, encoding="utf-8")
    names = [file_name(kind, f) for f in formats for kind in KINDS]
    names += [UNITS_SHEET, "README_SYNTHETIC.txt"]
    manifest = {
        "generator": "benchmarks/generate_landing.py",
        "generator_version": GENERATOR_VERSION,
        "seed": SEED,
        "size": p.label,
        "requested_rows": rows,
        "format": fmt,
        "years": [YEARS[0], YEARS[-1]],
        "energy_columns": [c.header for c in ENERGY_COLUMNS],
        "units": dict(sorted(levels.items())),
        "unit_years": p.n_units * N_YEARS,
        "activity_rows": p.activity_rows,
        "blank_energy_cells": writers.blank_cells,
        "zero_energy_cells": writers.zero_cells,
        "files": {n: {"bytes": (out / n).stat().st_size, "sha256": _sha256(out / n)}
                  for n in names},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output folder (keep it outside the repository)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--size", choices=("national", "small"), default="national")
    group.add_argument("--small", action="store_const", dest="size", const="small")
    group.add_argument("--rows", type=parse_rows, help="activity rows, e.g. 2.2M, 10M, 50M")
    parser.add_argument("--format", choices=("csv", "parquet", "both"), default="both")
    args = parser.parse_args(argv)
    manifest = generate(args.out, "national" if args.rows else args.size, args.rows, args.format)
    print(f"{args.out}: {manifest['units']} units, {manifest['activity_rows']:,} activity rows, "
          f"{manifest['blank_energy_cells']:,} blank and {manifest['zero_energy_cells']:,} zero "
          "energy cells")
    for name, meta in manifest["files"].items():
        print(f"  {name:<48}{meta['bytes']:>14,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
