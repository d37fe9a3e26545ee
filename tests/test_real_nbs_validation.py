"""The real NBS provincial files (../shared/data/nbs, PROVENANCE.md) pass validation with warnings
only, and the warnings are the real oddities PROVENANCE.md documents: those of the input
suites, and after compute those about blank cells as the models treated them (the post-compute
check; input validation runs no model). (The validation time is
measured by benchmarks/bench_parse_validate.py against a bare DuckDB read, not asserted here.)"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from carbon_assess import reference
from carbon_assess.pipeline import compute_stage, ingest_stage
from carbon_assess.validate import validate_workdir
from carbon_assess.validate.output_gate import post_compute_rows
from carbon_assess.workdir import Run

CONSUMPTION = "prov_energy_consumption_by_fuel_physical.csv"
AFTER = "energy_consumption (after compute)"  # the post-compute check's rows


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def validated(shared_nbs: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    provincial = shared_nbs / "provincial"
    before = _hashes(provincial)
    workdir = tmp_path_factory.mktemp("nbs") / "runs" / "nbs-validation"
    ingest_stage(provincial, workdir, "nbs-validation", vintage="nbs-portal-2021")
    summary = validate_workdir(workdir)
    results = json.loads((workdir / "validation" / "results.json").read_text(encoding="utf-8"))
    report = json.loads((workdir / "validation" / "report.json").read_text(encoding="utf-8"))
    compute_stage(workdir)
    post = post_compute_rows(Run(workdir), datetime.now(UTC))
    return {"summary": summary, "results": results + post, "report": report,
            "checked": report["results"] + post,
            "workdir": workdir, "unchanged": _hashes(provincial) == before}


def _offenders(validated: dict, column: str) -> list[dict]:
    (row,) = [r for r in validated["checked"] if r["column"] == column and not r["success"]]
    assert row["severity"] == "warning"
    return row["offenders"]


def test_passes_with_warnings_only_and_leaves_the_files_alone(validated) -> None:
    summary = validated["summary"]
    assert summary["status"] == "passed_with_warnings"
    assert summary["errors"] == 0
    assert validated["unchanged"]
    assert Path(summary["data_docs_path"]).exists()


def test_the_warnings_are_the_documented_oddities(validated) -> None:
    failed = {(r["source"], r["column"]) for r in validated["results"]
              if not r["success"] and r["source"] != "ingest"}
    assert failed == {
        ("energy_consumption", "value"),  # Qinghai kerosene 2006 = -1e-12
        ("energy_consumption", "yoy_factor"),  # real jumps (new pipelines, refineries)
        ("energy_production", "yoy_factor"),
        # after compute, as the models treated the blank cells:
        (AFTER, "gap"),  # blanks between reported years, Qinghai kerosene
        (AFTER, "assumed_zero"),  # fuels not / no longer reported
        (AFTER, "coal_missing"),  # Hainan and Ningxia coal 2001 are blank
        (AFTER, "no_fuel_data"),  # Tibet
        (AFTER, "not_covered"),  # fuels stop in 2017, electricity goes on
    }
    # unused columns (sector value added, energy intensity) are skipped with a warning
    skipped = [r["examples"] for r in validated["results"] if r["source"] == "ingest"]
    assert any("prov_energy_intensity_indicators.csv" in s for s in skipped)


def test_rounding_noise_in_qinghai_kerosene_2006_is_a_warning(validated) -> None:
    (noise,) = _offenders(validated, "value")
    assert noise["file"] == CONSUMPTION and noise["column"] == "煤油消费量(万吨)"
    assert noise["value"] == "-1e-12"


def test_qinghai_kerosene_gap_is_reported(validated) -> None:
    details = [o["detail"] for o in _offenders(validated, "gap")]
    assert any(d.startswith("青海省 (630000) kerosene: blank in 2012-2014 between reported 2011")
               and "interpolated downstream (imputed)" in d for d in details), details


def _chongqing_crude_share_2009(shared_nbs: Path) -> float:
    factors = {r["fuel"]: float(r["ef_kgco2_per_unit"]) for r in reference.load("emission_factors")}
    columns = {"煤炭消费量(万吨)": "coal", "焦炭消费量(万吨)": "coke",
               "原油消费量(万吨)": "crude_oil", "汽油消费量(万吨)": "gasoline",
               "煤油消费量(万吨)": "kerosene",
               "柴油消费量(万吨)": "diesel", "燃料油消费量(万吨)": "fuel_oil",
               "天然气消费量(亿立方米)": "natural_gas"}
    with (shared_nbs / "provincial" / CONSUMPTION).open(encoding="utf-8-sig") as handle:
        row = next(r for r in csv.DictReader(handle) if r["省份编码"] == "500000"
                   and r["年份"] == "2009")
    kg = {fuel: float(row[col] or 0) * (1e8 if fuel == "natural_gas" else 1e7) * factors[fuel]
          for col, fuel in columns.items()}
    return kg["crude_oil"] / sum(kg.values())


def test_fuels_no_longer_reported_name_province_years_and_share(validated, shared_nbs) -> None:
    details = [o["detail"] for o in _offenders(validated, "assumed_zero")]
    (chongqing,) = [d for d in details if d.startswith("重庆市 (500000) crude_oil: blank in 2010")]
    share = _chongqing_crude_share_2009(shared_nbs)
    assert "2010-2017, no longer reported after 2009; taken as 0 (assumed_zero)" in chongqing
    assert f"{100 * share:.2g} % of the province's fuel-combustion CO2 in 2009" in chongqing


def test_tibet_and_the_years_without_fuel_data_are_warnings(validated) -> None:
    (tibet,) = _offenders(validated, "no_fuel_data")
    assert tibet["detail"].startswith("西藏自治区 (540000): no fossil-fuel consumption reported")
    (years,) = _offenders(validated, "not_covered")
    assert "blank for every province in 2018-2019 (all reported 2000-2017)" in years["detail"]
    assert "electricity" not in years["detail"]


def test_no_coverage_finding_on_the_real_release(validated) -> None:
    checks = ("missing_required", "missing_year", "level_shift")
    rows = [r for r in validated["results"] if r["column"] in checks]
    assert {r["column"] for r in rows} == set(checks)  # the checks ran (no vacuous pass)
    for row in rows:
        assert row["success"], row
