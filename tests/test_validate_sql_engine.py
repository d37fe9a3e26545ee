"""Raw validation (validate/sql_engine.py: the raw suites compiled to SQL, the one engine at every
size) on hand-made faults touching every derived check (zeros, non-finite values, level shifts,
year-on-year jumps, blank cells, coverage placeholders, plausibility, column medians, unusable
columns, county and declared units): each fault fails the rules it must; the demo landing and the
real NBS release pass with only their documented warnings; a raw batch of more than a million rows
names its one bad cell; a rule the engine cannot evaluate raises, never passes.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carbon_assess.demo import write_demo_landing
from carbon_assess.errors import ValidationFailed
from carbon_assess.ingest.schema import RAW_SCHEMA
from carbon_assess.pipeline import compute_stage, ingest_stage
from carbon_assess.validate import validate_workdir
from carbon_assess.validate.sql_engine import (
    INPUT,
    POST,
    UnsupportedRule,
    _Batch,
    _Compiler,
    validate_raw_in_duckdb,
)
from carbon_assess.validate.suites import ERROR, Rule, declared_units, suite_parameters
from carbon_assess.workdir import Run

LOCATION = ("file", "row", "column", "value")


# --- the two engines on one work directory -----------------------------------------------------


def _parameters(run: Run) -> dict:
    return suite_parameters(datetime.now(UTC).year, declared_units(run))


def sql_results(workdir: Path, stage: str = INPUT) -> dict[str, list[dict]]:
    run = Run(workdir)
    return validate_raw_in_duckdb(run, run.run_id, _parameters(run), stage=stage)


def failed(rows: dict[str, list[dict]]) -> dict[tuple[str, str], dict]:
    return {(kind, r["column"] or r["expectation"]): r for kind, rs in rows.items() for r in rs
            if not r["success"]}


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo landing ingested (no assessment sheets: these tests are about the raw suites)."""
    root = tmp_path_factory.mktemp("sqlengine")
    write_demo_landing(root / "landing")
    workdir = root / "runs" / "demo-sql"
    ingest_stage(root / "landing", workdir, "demo-sql", vintage="test")
    shutil.rmtree(workdir / "sheets", ignore_errors=True)
    return workdir


def _frames(workdir: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted((workdir / "raw").glob("*.parquet"))}


def _write(workdir: Path, frames: dict[str, pd.DataFrame], typed: bool = True) -> None:
    for path in (workdir / "raw").glob("*.parquet"):
        path.unlink()
    for kind, df in frames.items():
        schema = RAW_SCHEMA if typed else None
        table = pa.Table.from_pandas(df.reset_index(drop=True), schema=schema,
                                     preserve_index=False)
        pq.write_table(table, workdir / "raw" / f"{kind}.parquet")


def _at(df: pd.DataFrame, code: str, year: int, fuel: str | None = None) -> int:
    hit = (df["region_code"] == code) & (df["year"] == year)
    if fuel is not None:
        hit &= df["fuel"] == fuel
    return int(df.index[hit][0])


def _set(df: pd.DataFrame, i: int, value: float | None, text: str | None = None) -> None:
    df.loc[i, "value"] = np.nan if value is None else value
    df.loc[i, "source_value"] = text if text is not None else (
        "" if value is None or value != value else repr(value))


# --- hand-made faults --------------------------------------------------------------------------


def _values(frames: dict[str, pd.DataFrame]) -> None:
    """Bad values and codes in every raw column a rule reads."""
    e, g, gi, p = (frames[k] for k in ("energy_consumption", "gdp", "gdp_index", "population"))
    _set(e, _at(e, "110000", 2010, "coal"), -5.0, "-5")
    _set(e, _at(e, "120000", 2011, "kerosene"), -1e-12, "-1e-12")
    _set(g, _at(g, "130000", 2012), None, "1,234.5")  # NaN where the cell held a number
    _set(g, _at(g, "130000", 2013), None, "n/a")
    _set(e, _at(e, "140000", 2009, "diesel"), np.inf, "1e999")
    _set(e, _at(e, "140000", 2010, "gasoline"), -np.inf, "-1e999")
    _set(p, _at(p, "150000", 2015), 0.0, "0")
    _set(gi, _at(gi, "210000", 2011), 1.07, "1.07")
    i = _at(e, "220000", 2012, "coal")
    _set(e, i, e.loc[i, "value"] * 10000)
    i = _at(g, "230000", 2013)
    _set(g, i, g.loc[i, "value"] / 10000)
    i = _at(p, "310000", 2014)
    _set(p, i, p.loc[i, "value"] * 1.6)
    e.loc[_at(e, "320000", 2008, "coke"), "region_code"] = "999999"
    e.loc[_at(e, "330000", 2008, "coke"), "variable"] = "bogus"
    e.loc[_at(e, "340000", 2008, "coke"), "unit"] = "kg"
    e.loc[_at(e, "350000", 2008, "coke"), "source_unit"] = "x"
    e.loc[_at(e, "360000", 2008, "coke"), "fuel"] = "unobtainium"
    e.loc[_at(e, "370000", 2008, "coke"), "fuel"] = None
    g.loc[_at(g, "410000", 2008), "fuel"] = "coal"
    g.loc[_at(g, "420000", 2008), "run_id"] = "other-run"
    p.loc[_at(p, "430000", 2009), "year"] = 2100
    p.loc[_at(p, "440000", 2009), "year"] = 1900
    frames["gdp"] = pd.concat([g, g.loc[[_at(g, "450000", 2016)]]], ignore_index=True)
    frames["energy_consumption"] = pd.concat(
        [e, e.loc[[_at(e, "460000", 2016, "coal")]]], ignore_index=True)


def _coverage(frames: dict[str, pd.DataFrame]) -> None:
    """Missing rows and files (placeholders, > MAX_REPORT_ROWS of them) and blank cells."""
    e, g, p = frames["energy_consumption"], frames["gdp"], frames["population"]
    _set(g, _at(g, "210000", 2007), None)  # a blank GDP cell: noted on its raw row
    gone = g["region_code"].isin(["110000", "120000", "130000", "140000", "150000"])
    frames["gdp"] = g[~(gone & (g["year"] % 2 == 0))]
    del frames["gdp_index"]
    for year in (2008, 2009, 2010):
        _set(e, _at(e, "210000", year, "coal"), None)
    for year in (2011, 2012):
        _set(e, _at(e, "220000", year, "natural_gas"), None)
    for year in (2019, 2020):
        _set(e, _at(e, "230000", year, "diesel"), None)
    others = (e["region_code"] == "320000") & (e["year"] == 2014) & (e["fuel"] != "coal")
    e.loc[others, "value"] = np.nan
    e.loc[others, "source_value"] = ""
    _set(e, _at(e, "320000", 2014, "coal"), 0.0, "0")  # the portal's 0 for a year without data
    frames["energy_consumption"] = e[~((e["region_code"] == "330000") & (e["fuel"] == "coke")
                                       & (e["year"] > 2015))]
    frames["population"] = p[~((p["region_code"] == "340000") & (p["year"] == 2010))]


def _column(frames: dict[str, pd.DataFrame]) -> None:
    """A whole coal column 1,000x off (column median, implausible ratios) and a GDP jump."""
    e, g = frames["energy_consumption"], frames["gdp"]
    e.loc[e["fuel"] == "coal", "value"] *= 1000
    i = _at(g, "110000", 2015)
    _set(g, i, g.loc[i, "value"] * 30)


def _types(frames: dict[str, pd.DataFrame]) -> None:
    """Columns the derived checks cannot read: a blank year, text values, missing columns."""
    p = frames["population"]
    p["year"] = p["year"].astype("float64")
    p.loc[p.index[3], "year"] = np.nan
    frames["gdp_index"]["value"] = frames["gdp_index"]["value"].astype(str)
    frames["gdp"] = frames["gdp"].drop(columns=["source_sheet", "unit"]).assign(extra=1)


def _regions(frames: dict[str, pd.DataFrame]) -> None:
    """A county (its own peers for the year medians, no plausibility bounds) and a park."""
    e, g = frames["energy_consumption"], frames["gdp"]
    county = e[e["region_code"] == "130000"].copy()
    county["region_code"] = "130821"
    county["value"] /= 50
    county.loc[county.index[:3], "value"] *= 20000
    park = e[(e["region_code"] == "130000") & (e["fuel"] == "coal")].copy()
    park["region_code"] = "Z1308210001"
    frames["energy_consumption"] = pd.concat([e, county, park], ignore_index=True)
    county_gdp = g[g["region_code"] == "130000"].copy()
    county_gdp["region_code"] = "130821"
    county_gdp["value"] /= 1e6
    frames["gdp"] = pd.concat([g, county_gdp], ignore_index=True)


FAULTS = {  # fault -> (edit, (kind, column) of rules that must fail: the edit took)
    "values": (_values, [("energy_consumption", "value"), ("energy_consumption", "not_finite"),
                         ("energy_consumption", "level_shift"), ("gdp", "not_finite"),
                         ("gdp", "level_shift"), ("population", "not_positive"),
                         ("population", "yoy_factor"),
                         ("gdp", "region_code,year,variable,fuel"), ("gdp", "run_id")]),
    "coverage": (_coverage, [("gdp", "missing_required"), ("gdp_index", "missing_year"),
                             ("population", "missing_required")]),
    # the coal column's finding explains its coal ratios; the GDP jump's GDP per person stays
    "column": (_column, [("energy_consumption", "column_level"), ("gdp", "implausible")]),
    "types": (_types, [("population", "year"), ("gdp_index", "value"), ("gdp", "unit")]),
    "regions": (_regions, [("energy_consumption", "region_code"),
                           ("energy_consumption", "level_shift")]),
}


# the post-compute rules (blank cells as the models treated them): evaluated after compute
POST_FAULTS = {"coverage": [("energy_consumption", "gap"), ("energy_consumption", "coal_missing"),
                            ("energy_consumption", "assumed_zero")]}


def _faulty(fault: str, demo_run: Path, tmp_path: Path) -> Path:
    """A copy of the demo run whose raw Parquet has the edit of FAULTS[fault]."""
    edit, _ = FAULTS[fault]
    workdir = tmp_path / "runs" / fault
    shutil.copytree(demo_run, workdir, ignore=shutil.ignore_patterns("validation"))
    frames = _frames(workdir)
    edit(frames)
    _write(workdir, frames, typed=fault != "types")
    return workdir


@pytest.mark.parametrize("fault", sorted(POST_FAULTS))
def test_hand_made_blank_cells_fail_their_rules_after_compute(fault: str, demo_run: Path,
                                                              tmp_path: Path) -> None:
    workdir = _faulty(fault, demo_run, tmp_path)
    assert not failed(sql_results(workdir)).keys() & set(POST_FAULTS[fault])  # input: never
    compute_stage(workdir)
    found = failed(sql_results(workdir, POST))
    missing = [k for k in POST_FAULTS[fault] if k not in found]
    assert not missing, f"{fault}: after compute the edit should fail {missing}"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_hand_made_faults_fail_their_rules(fault: str, demo_run: Path,
                                               tmp_path: Path) -> None:
    _, expected = FAULTS[fault]
    workdir = _faulty(fault, demo_run, tmp_path)
    rows = sql_results(workdir)
    found = failed(rows)
    missing = [k for k in expected if k not in found]
    assert not missing, f"{fault}: the edit should fail {missing}"


def test_coverage_offenders_are_capped_and_placeholders_follow_raw_rows(demo_run: Path,
                                                                         tmp_path: Path) -> None:
    workdir = tmp_path / "runs" / "coverage"
    shutil.copytree(demo_run, workdir, ignore=shutil.ignore_patterns("validation"))
    frames = _frames(workdir)
    _coverage(frames)
    _write(workdir, frames)
    rows = failed(sql_results(workdir))
    index = rows[("gdp_index", "missing_year")]  # no GDP index file: placeholders only
    assert index["unexpected_count"] > 50 and len(index["offenders"]) == 50
    assert {o["file"] for o in index["offenders"]} == {
        "(no GDP index file in the landing folder)"}
    gdp = rows[("gdp", "missing_year")]
    assert gdp["offenders"][0]["row"] is not None  # a blank raw cell comes before placeholders
    assert gdp["offenders"][-1]["row"] is None


# --- the demo landing, the real release, the bad-input corpus ----------------------------------


def test_demo_landing_has_only_its_documented_warnings(demo_run: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "runs" / "demo"
    shutil.copytree(demo_run, workdir)
    assert not [r for r in failed(sql_results(workdir)).values() if r["severity"] == ERROR]
    compute_stage(workdir)
    found = failed(sql_results(workdir, POST))  # the blank cells, as the models treated them
    assert ("energy_consumption", "gap") in found  # the demo's documented oddities
    assert ("energy_consumption", "no_fuel_data") in found
    assert all(r["severity"] != ERROR for r in found.values())


def test_real_nbs_release_passes_with_warnings_only(shared_nbs: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "runs" / "nbs-sql"
    ingest_stage(shared_nbs / "provincial", workdir, "nbs-sql", vintage="nbs-portal-2021")
    assert not [r for r in failed(sql_results(workdir)).values() if r["severity"] == ERROR]
    compute_stage(workdir)
    found = failed(sql_results(workdir, POST))
    assert ("energy_consumption", "not_covered") in found
    assert all(r["severity"] != ERROR for r in found.values())


# --- a large batch goes through DuckDB ---------------------------------------------------------


def _large_energy(path: Path) -> tuple[int, dict]:
    """~1M clean energy-consumption rows (every county of regions.csv, 1981-2020, 9 fuels: no
    coverage, plausibility or blank-cell finding applies to counties), written with pyarrow, with
    one negative coal value in the middle. Returns the bad row's index and lineage."""
    from carbon_assess import reference

    counties = [r["code"] for r in reference.load("regions") if r["level"] == "county"]
    fuels = {  # fuel -> (canonical unit, header, base value): as the demo files have them
        "coal": ("万吨", "煤炭消费量(万吨)", 300.0),
        "coke": ("万吨", "焦炭消费量(万吨)", 40.0),
        "crude_oil": ("万吨", "原油消费量(万吨)", 60.0),
        "gasoline": ("万吨", "汽油消费量(万吨)", 20.0),
        "kerosene": ("万吨", "煤油消费量(万吨)", 5.0),
        "diesel": ("万吨", "柴油消费量(万吨)", 25.0),
        "fuel_oil": ("万吨", "燃料油消费量(万吨)", 8.0),
        "natural_gas": ("亿立方米", "天然气消费量(亿立方米)", 3.0),
        "electricity": ("亿千瓦小时", "电力消费量(亿千瓦小时)", 40.0),
    }
    years = np.arange(1981, 2021, dtype=np.int32)
    n_c, n_y, n_f = len(counties), len(years), len(fuels)
    n = n_c * n_y * n_f
    code = np.repeat(np.arange(n_c), n_y * n_f)
    year = np.tile(np.repeat(years, n_f), n_c)
    fuel = np.tile(np.arange(n_f), n_c * n_y)
    base = np.array([b for _, _, b in fuels.values()])[fuel]
    size = 0.5 + (code % 7) / 4  # counties differ by up to 2.5x
    value = np.round(base * size * 1.04 ** (year - 1981), 4)
    text = np.char.mod("%.4f", value).astype(object)
    bad = n // 2 - (n // 2) % n_f  # the coal cell of one county-year in the middle
    value[bad], text[bad] = -5.0, "-5"
    units = [u for u, _, _ in fuels.values()]
    headers = [h for _, h, _ in fuels.values()]
    source_row = (code * n_y + (year - 1981) + 2).astype(np.int32)

    def dictionary(values: list[str], indexes) -> pa.Array:
        return pa.DictionaryArray.from_arrays(pa.array(indexes, pa.int32()),
                                              pa.array(values)).cast(pa.string())

    table = pa.table({
        "region_code": dictionary(counties, code),
        "year": pa.array(year),
        "variable": pa.array(np.full(n, "consumption", dtype=object), pa.string()),
        "fuel": dictionary(list(fuels), fuel),
        "value": pa.array(value),
        "unit": dictionary(units, fuel),
        "source_value": pa.array(text, pa.string()),
        "source_unit": dictionary(units, fuel),
        "source_file": pa.array(np.full(n, "counties.csv", dtype=object), pa.string()),
        "source_sha256": pa.array(np.full(n, "0" * 64, dtype=object), pa.string()),
        "source_sheet": pa.nulls(n, pa.string()),
        "source_row": pa.array(source_row),
        "source_column": dictionary(headers, fuel),
        "ingested_at": pa.array(np.full(n, np.datetime64("2026-01-01T00:00:00", "us")),
                                pa.timestamp("us", tz="UTC")),
        "run_id": pa.array(np.full(n, "big-run", dtype=object), pa.string()),
        "vintage": pa.array(np.full(n, "test", dtype=object), pa.string()),
    }, schema=RAW_SCHEMA)
    pq.write_table(table, path, row_group_size=131_072)
    lineage = {"file": "counties.csv", "row": int(source_row[bad]), "column": headers[0],
               "value": "-5"}
    assert list(fuels)[fuel[bad]] == "coal"
    return n, lineage


def test_a_million_rows_go_through_duckdb_and_name_the_one_bad_cell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "runs" / "big-run"
    (workdir / "raw").mkdir(parents=True)
    (workdir / "run.json").write_text(json.dumps({
        "run_id": "big-run", "vintage": "test", "method": "reference", "landing": "/landing",
        "started_at": "2026-01-01T00:00:00+00:00"}), encoding="utf-8")
    rows, lineage = _large_energy(workdir / "raw" / "energy_consumption.parquet")
    assert rows >= 1_000_000
    with pytest.raises(ValidationFailed) as caught:
        validate_workdir(workdir, quarantine_root=tmp_path / "quarantine")
    message = str(caught.value)
    assert f"counties.csv row {lineage['row']} column '煤炭消费量(万吨)' (" in message
    assert "value '-5'" in message
    summary = caught.value.summary
    assert summary["errors"] == 1
    report = json.loads((tmp_path / "quarantine" / "big-run" / "report.json")
                        .read_text(encoding="utf-8"))
    failing = [r for r in report["results"] if not r["success"]]
    # the error about the one cell, and nothing else (the rejected cell is not counted again as
    # a rounding-noise warning)
    assert sorted(r["severity"] for r in failing) == ["error"]
    for r in failing:
        assert r["column"] == "value" and r["unexpected_count"] == 1
        assert [{k: o[k] for k in LOCATION} for o in r["offenders"]] == [lineage]
    assert not (workdir / "validation" / "duckdb_tmp").exists()


# --- wiring, settings, unknown rules -----------------------------------------------------------


def test_a_rule_without_a_sql_form_raises(demo_run: Path) -> None:
    import duckdb

    batch = _Batch("gdp", demo_run / "raw" / "gdp.parquet")
    with duckdb.connect() as con:
        compiler = _Compiler(con, batch, {})
        batch.types = {"value": "DOUBLE", "source_row": "INTEGER"}
        unknown = Rule("pair", "ExpectColumnPairValuesAToBeGreaterThanB",
                       {"column_A": "value", "column_B": "source_row"}, ERROR, "a > b")
        mostly = Rule("mostly", "ExpectColumnValuesToNotBeNull",
                      {"column": "value", "mostly": 0.9}, ERROR, "mostly set")
        parameter = Rule("param", "ExpectColumnValuesToBeBetween",
                         {"column": "value", "max_value": {"$PARAMETER": "nowhere"}}, ERROR,
                         "unknown parameter")
        for rule in (unknown, mostly, parameter):
            with pytest.raises(UnsupportedRule):
                compiler.compile(rule)
