"""Validation stage: real Great Expectations 1.x on small hand-written raw Parquet files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carbon_assess.errors import ValidationFailed
from carbon_assess.ingest.schema import RAW_SCHEMA, SOURCE_KINDS
from carbon_assess.pipeline import compute_stage
from carbon_assess.validate import validate_workdir, warnings_count
from carbon_assess.validate.output_gate import post_compute_rows
from carbon_assess.validate.output_suites import (
    OUTPUT_TABLES,
    output_suite_json,
    output_suite_name,
)
from carbon_assess.validate.suites import (
    POST_COMPUTE_RULES,
    SHEET_KINDS,
    SUITE_KINDS,
    SUITES_DIR,
    build_suite,
    rules_for,
    suite_json,
    suite_name,
)
from carbon_assess.workdir import Run

RUN_ID = "20240101T000000Z-abc123"
YEARS = (2009, 2010, 2011)
PROVINCES = ("110000", "630000")
FUELS = {  # fuel -> (unit, header, base value)
    "coal": ("万吨", "煤炭消费量(万吨)", 100.0),
    "natural_gas": ("亿立方米", "天然气消费量(亿立方米)", 10.0),
    "electricity": ("亿千瓦小时", "电力消费量(亿千瓦小时)", 50.0),
}
SERIES = {  # kind -> (variable, unit, header, file, base value)
    "gdp": ("gdp_current", "亿元", "地区生产总值(亿元)", "gdp.csv", 1000.0),
    "gdp_index": ("gdp_index_prev_year", "上年=100", "地区生产总值指数(上年=100)",
                  "gdp_index.csv", 108.5),
    "population": ("population", "万人", "年末常住人口(万人)", "population.csv", 500.0),
}


def _row(province, year, variable, fuel, value, unit, file, line, column, **extra):
    row = {
        "region_code": province,
        "year": year,
        "variable": variable,
        "fuel": fuel,
        "value": value,
        "unit": unit,
        "source_value": None if value is None else repr(value),
        "source_unit": unit,
        "source_file": file,
        "source_sha256": "0" * 64,
        "source_sheet": None,
        "source_row": line,
        "source_column": column,
        "ingested_at": datetime(2024, 1, 1, tzinfo=UTC),
        "run_id": RUN_ID,
        "vintage": "test",
    }
    row.update(extra)
    return row


def energy_rows(provinces=PROVINCES, years=YEARS):
    rows, line = [], 1
    for province in provinces:
        for year in years:
            line += 1
            for fuel, (unit, header, base) in FUELS.items():
                value = base * (1 + 0.05 * (year - years[0]))
                rows.append(_row(province, year, "consumption", fuel, value, unit, "prov.csv",
                                 line, header))
    return rows


def series_rows(kind, provinces=PROVINCES, years=YEARS):
    variable, unit, header, file, base = SERIES[kind]
    rows, line = [], 1
    for province in provinces:
        for year in years:
            line += 1
            value = base if kind == "gdp_index" else base * (1 + 0.1 * (year - years[0]))
            rows.append(_row(province, year, variable, None, value, unit, file, line, header))
    return rows


def clean_batch() -> dict[str, list[dict]]:
    return {
        "energy_consumption": energy_rows(),
        "gdp": series_rows("gdp"),
        "gdp_index": series_rows("gdp_index"),
        "population": series_rows("population"),
    }


def find(rows, province, year, fuel=None):
    return next(r for r in rows if r["region_code"] == province and r["year"] == year
                and (fuel is None or r["fuel"] == fuel))


def make_workdir(tmp_path: Path, **kinds) -> Path:
    workdir = tmp_path / "runs" / RUN_ID
    (workdir / "raw").mkdir(parents=True)
    info = {
        "run_id": RUN_ID,
        "vintage": "test",
        "method": "reference",
        "landing": "/landing",
        "started_at": "2024-01-01T00:00:00+00:00",
    }
    (workdir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    for kind, rows in kinds.items():
        pq.write_table(
            pa.Table.from_pylist(rows, schema=RAW_SCHEMA), workdir / "raw" / f"{kind}.parquet"
        )
    return workdir


@pytest.fixture(autouse=True)
def _quarantine_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path))


def read_results(workdir: Path) -> list[dict]:
    return json.loads((workdir / "validation" / "results.json").read_text(encoding="utf-8"))


def failed(workdir: Path, severity: str) -> list[dict]:
    return [r for r in read_results(workdir) if not r["success"] and r["severity"] == severity]


def after_compute(workdir: Path) -> list[dict]:
    """The post-compute check's rows (blank cells as the models treated them, carbon intensity):
    the batch computed, then the rules of suites.POST_COMPUTE_RULES; input validation runs no
    model (issue 19)."""
    compute_stage(workdir)
    return post_compute_rows(Run(workdir), datetime.now(UTC))


def post_rule(rows: list[dict], text: str) -> dict:
    (row,) = [r for r in rows if not r["success"] and text in r["expectation"]]
    return row


def failed_rule(workdir: Path, text: str, source: str | None = None) -> dict:
    (row,) = [r for r in read_results(workdir) if not r["success"] and text in r["expectation"]
              and source in (None, r["source"])]
    return row


# --- suites -----------------------------------------------------------------------------------


def test_one_versioned_suite_per_source_kind_with_severities() -> None:
    for kind in SOURCE_KINDS:
        suite = build_suite(kind)
        assert suite.name == f"raw_{kind}"
        assert suite.meta["version"]
        assert len(suite.expectations) >= 20
        for expectation in suite.expectations:
            assert expectation.meta["severity"] in ("error", "warning")
            assert expectation.severity == (
                "critical" if expectation.meta["severity"] == "error" else "warning")
        keys = [r.key for r in rules_for(kind)]
        assert len(keys) == len(set(keys))
        assert {"columns", "type_year", "region_code_known", "year_range", "key_unique",
                "value_not_negative", "coverage_required"} <= set(keys)


def test_one_versioned_suite_per_assessment_sheet_with_severities() -> None:
    names = {build_suite(kind).name for kind in SHEET_KINDS}
    assert names == {"sheet_measures", "sheet_targets", "sheet_annual_targets",
                     "sheet_confirmed_declines", "sheet_units"}
    for kind in SHEET_KINDS:
        suite = build_suite(kind)
        assert suite.meta["version"]
        for expectation in suite.expectations:
            assert expectation.meta["severity"] in ("error", "warning")
            assert expectation.severity == (
                "critical" if expectation.meta["severity"] == "error" else "warning")
        rules = rules_for(kind)
        keys = [r.key for r in rules]
        assert len(keys) == len(set(keys))
        if kind == "units":  # declared units: no plan, a code, level and parent of their own
            assert {"columns", "code_not_gb", "level_known", "parent_known",
                    "key_unique"} <= set(keys)
        else:
            assert {"columns", "plan_known", "region_known", "key_unique"} <= set(keys)
        # every row-level rule names the sheet column whose value the report prints
        assert all(r.column for r in rules if r.expectation != "ExpectTableColumnsToMatchSet")
    measures = {r.key: r for r in rules_for("measures")}
    assert {"year_in_plan_12th", "indicator_known_12th", "points_within_maximum",
            "sheet_complete"} <= set(measures)
    assert measures["sheet_complete"].severity == "warning"
    targets = {r.key: r for r in rules_for("targets")}
    assert targets["target_near_reference"].severity == "warning"
    confirmed = {r.key: r for r in rules_for("confirmed_declines")}
    assert confirmed["year_in_plan_12th"].kwargs["min_value"] == 2010  # the base year


def test_sync_committed_suite_json_matches_the_code() -> None:
    """Sync check: the committed suite JSON equals what the code regenerates (it fails when a
    rule was changed in one and not the other, never when a rule is wrong; the named rules and
    severities are stated in tests/test_suite_rules.py). Regenerate with
    `python -m carbon_assess.validate.suites` (input suites) or
    `python -m carbon_assess.validate.output_suites` (output gate) after changing a rule."""
    committed_files = {p.name for p in SUITES_DIR.glob("*.json")}
    assert committed_files == {f"{suite_name(kind)}.json" for kind in SUITE_KINDS} | {
        f"{output_suite_name(table)}.json" for table in OUTPUT_TABLES}
    for kind in SUITE_KINDS:
        path = SUITES_DIR / f"{suite_name(kind)}.json"
        committed = json.loads(path.read_text(encoding="utf-8"))
        assert committed == json.loads(json.dumps(suite_json(kind))), kind
    for table in OUTPUT_TABLES:
        path = SUITES_DIR / f"{output_suite_name(table)}.json"
        committed = json.loads(path.read_text(encoding="utf-8"))
        assert committed == json.loads(json.dumps(output_suite_json(table))), table


# --- passing batches --------------------------------------------------------------------------


def test_clean_batch_passes_with_results_and_data_docs(tmp_path):
    workdir = make_workdir(tmp_path, **clean_batch())
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed", [r for r in read_results(workdir) if not r["success"]]
    assert summary["errors"] == 0 and summary["warnings"] == 0
    assert summary["report_path"] is None
    assert Path(summary["results_path"]) == workdir / "validation" / "results.parquet"
    assert summary["data_docs_path"] == str(workdir / "validation" / "data_docs" / "index.html")
    index = Path(summary["data_docs_path"]).read_text(encoding="utf-8")
    for kind in clean_batch():
        assert f"raw_{kind}" in index
    results = read_results(workdir)
    # sync check: one result per rule of the code's own list (a count taken from the code, so
    # it cannot tell a missing rule; tests/test_suite_rules.py names the rules)
    expected = sum(len([r for r in rules_for(k, RUN_ID) if r.key not in POST_COMPUTE_RULES])
                   for k in clean_batch())
    assert len(results) == expected and all(r["success"] for r in results)
    assert not (tmp_path / "quarantine").exists()

    table = pq.read_table(workdir / "validation" / "results.parquet")
    assert table.column_names == ["run_id", "source", "expectation", "column", "severity",
                                  "success", "unexpected_count", "examples"]
    assert table.schema.field("success").type == pa.bool_()
    assert table.schema.field("unexpected_count").type == pa.int64()
    assert set(table.column("severity").to_pylist()) == {"error", "warning"}
    assert set(table.column("run_id").to_pylist()) == {RUN_ID}


def test_rounding_noise_and_year_on_year_jumps_only_warn(tmp_path):
    batch = clean_batch()
    find(batch["energy_consumption"], "630000", 2010, "natural_gas").update(
        value=-1e-12, source_value="-1e-12")  # like Qinghai kerosene 2006
    find(batch["population"], "110000", 2011)["value"] *= 10  # 人 read as 万人: a 10x jump
    workdir = make_workdir(tmp_path, **batch)
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings"
    assert summary["errors"] == 0 and summary["warnings"] == 2
    noise, jump = summary["warnings_summary"]
    assert "prov.csv row 6" in noise and "'-1e-12'" in noise
    assert "year-on-year" in jump and "population.csv row 4" in jump
    assert Path(summary["report_path"]).exists()
    assert not (tmp_path / "quarantine").exists()


def _data_docs_pages(docs: Path) -> dict[str, str]:
    return {str(p.relative_to(docs)): p.read_text(encoding="utf-8") for p in docs.rglob("*.html")}


def test_data_docs_of_a_batch_with_only_warnings_do_not_read_failed(tmp_path):
    """GX renders a suite "Failed" when any expectation fails, whatever its severity: ours say
    "Passed with warnings" (issue 12), on the suite's page and in the index."""
    batch = clean_batch()
    find(batch["population"], "110000", 2011)["value"] *= 10  # a warning, nothing else
    workdir = make_workdir(tmp_path, **batch)
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings" and summary["warnings"] == 1
    assert warnings_count(summary["results_path"]) == summary["warnings"]
    pages = _data_docs_pages(workdir / "validation" / "data_docs")
    assert "index.html" in pages and len(pages) > len(batch)
    assert not [name for name, html in pages.items() if "Failed" in html]
    (population,) = [html for name, html in pages.items()
                     if name.startswith("validations/raw_population/")]
    assert "Passed with warnings" in population and "text-warning" in population
    assert "'_validation_success_text': 'Passed with warnings'" in pages["index.html"]
    assert "'_validation_success_text': 'Success'" in pages["index.html"]  # the other suites


def test_data_docs_of_a_batch_with_an_error_still_read_failed(tmp_path):
    batch = clean_batch()
    find(batch["energy_consumption"], "110000", 2011, "coal").update(value=-5.0,
                                                                     source_value="-5")
    find(batch["population"], "110000", 2011)["value"] *= 10  # and a warning elsewhere
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed):
        validate_workdir(workdir)
    pages = _data_docs_pages(workdir / "validation" / "data_docs")
    (energy,) = [html for name, html in pages.items()
                 if name.startswith("validations/raw_energy_consumption/")]
    assert "Status:</span> <i class=\"fas fa-times text-danger\"" in energy and "Failed" in energy
    (population,) = [html for name, html in pages.items()
                     if name.startswith("validations/raw_population/")]
    assert "Passed with warnings" in population and "Failed" not in population
    assert "'_validation_success_text': 'Failed'" in pages["index.html"]


def test_warnings_count_is_the_failed_warning_results(tmp_path):
    assert warnings_count(tmp_path / "missing.parquet") is None
    workdir = make_workdir(tmp_path, **clean_batch())
    summary = validate_workdir(workdir)
    assert warnings_count(summary["results_path"]) == summary["warnings"] == 0


def test_empty_workdir_passes_with_note(tmp_path):
    summary = validate_workdir(make_workdir(tmp_path))
    assert summary["status"] == "passed"
    assert summary["warnings_summary"] and "no raw Parquet" in summary["warnings_summary"][0]


# --- errors and quarantine --------------------------------------------------------------------


def test_negative_value_fails_and_quarantines_a_copy(tmp_path):
    batch = clean_batch()
    find(batch["energy_consumption"], "110000", 2011, "coal").update(value=-5.0,
                                                                     source_value="-5")
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("validation failed: 1 error(s) in energy_consumption")
    # where the cell is and whose figure it is (Beijing's coal of 2011, the cell set above)
    assert ("prov.csv row 4 column '煤炭消费量(万吨)' (北京市 (110000) 2011) value '-5': "
            "value must be >= 0") in message

    quarantine = tmp_path / "quarantine" / RUN_ID
    assert info.value.report_path == str(quarantine / "report.md")
    assert message.endswith(f"report: {quarantine / 'report.md'}")
    assert (quarantine / "run.json").exists()
    for kind in batch:
        assert (quarantine / "raw" / f"{kind}.parquet").exists()
    assert (quarantine / "validation" / "results.parquet").exists()
    assert (quarantine / "validation" / "data_docs" / "index.html").exists()
    report = (quarantine / "report.md").read_text(encoding="utf-8")
    assert "| prov.csv | 4 | 煤炭消费量(万吨) | -5 | value must be >= 0" in report
    assert "| error |" in report
    payload = json.loads((quarantine / "report.json").read_text(encoding="utf-8"))
    assert payload["status"] == "failed"
    (error,) = [r for r in payload["results"] if not r["success"] and r["severity"] == "error"]
    assert error["offenders"][0] == {"file": "prov.csv", "sheet": None, "row": 4,
                                     "column": "煤炭消费量(万吨)", "value": "-5", "detail": None,
                                     "region_code": "110000", "year": 2011}
    (error,) = failed(workdir, "error")
    assert error["examples"] == (
        "prov.csv row 4 column '煤炭消费量(万吨)' (北京市 (110000) 2011) value '-5'")
    # the rejected cell is the error only, not also a "rounding noise" warning (-5 is no noise)
    assert not [r for r in failed(workdir, "warning") if "rounding noise" in r["rule"]]
    assert "negative value (rounding noise" not in report.split("## Passed")[0]
    # the work directory stays as it was, results are written before raising
    assert (workdir / "raw" / "energy_consumption.parquet").exists()


def test_a_rejected_cell_is_not_also_warned_as_rounding_noise(tmp_path):
    """Beijing's 2011 coal at -5 is an error; Qinghai's 2010 natural gas at -1e-12 is rounding
    noise. The noise warning counts the one noise cell and names it, not the rejected one."""
    batch = clean_batch()
    find(batch["energy_consumption"], "110000", 2011, "coal").update(value=-5.0,
                                                                     source_value="-5")
    find(batch["energy_consumption"], "630000", 2010, "natural_gas").update(
        value=-1e-12, source_value="-1e-12")
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed):
        validate_workdir(workdir)
    error = failed_rule(workdir, "value must be >= 0", "energy_consumption")
    assert error["unexpected_count"] == 1 and "北京市 (110000) 2011" in error["examples"]
    noise = failed_rule(workdir, "rounding noise below", "energy_consumption")
    assert noise["unexpected_count"] == 1
    assert "青海省 (630000) 2010" in noise["examples"] and "'-1e-12'" in noise["examples"]
    assert "北京市" not in noise["examples"]


def test_custom_quarantine_root(tmp_path):
    batch = clean_batch()
    batch["gdp"][0]["value"] = -5.0
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir, quarantine_root=tmp_path / "q")
    assert info.value.report_path == str(tmp_path / "q" / RUN_ID / "report.md")
    assert info.value.summary["status"] == "failed"


def test_row_level_errors_are_each_reported(tmp_path):
    """Unknown province code, GDP index as a ratio, duplicate key, year in the future."""
    batch = clean_batch()
    energy = batch["energy_consumption"]
    for row in energy[:3]:  # one line of prov.csv, three fuels
        row["region_code"] = "999999"
    find(batch["gdp_index"], "630000", 2010).update(value=1.07, source_value="1.07")
    batch["population"].append(dict(batch["population"][0], source_row=99))
    batch["gdp"].append(dict(batch["gdp"][0], year=2091, source_row=42))
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="region_code '999999'") as info:
        validate_workdir(workdir)
    assert "\n" not in str(info.value)
    province = failed_rule(workdir, "GB/T 2260", "energy_consumption")
    assert province["column"] == "region_code" and province["unexpected_count"] == 3
    index = failed_rule(workdir, "GDP index")
    assert index["source"] == "gdp_index" and "value '1.07'" in index["examples"]
    duplicate = failed_rule(workdir, "must be unique", "population")
    assert duplicate["column"] == "region_code,year,variable,fuel"
    assert duplicate["unexpected_count"] == 2 and "row 99" in duplicate["examples"]
    future = failed_rule(workdir, "current year")
    assert future["source"] == "gdp" and "gdp.csv row 42" in future["examples"]


def test_missing_column_and_wrong_type_fail(tmp_path):
    workdir = make_workdir(tmp_path)
    table = pa.Table.from_pylist(series_rows("population"), schema=RAW_SCHEMA)
    pq.write_table(table.drop_columns(["unit"]), workdir / "raw" / "population.parquet")
    gdp = pa.Table.from_pylist(series_rows("gdp"), schema=RAW_SCHEMA)
    gdp = gdp.set_column(1, "year", pa.array([str(y) for y in gdp.column("year").to_pylist()]))
    pq.write_table(gdp, workdir / "raw" / "gdp.parquet")
    with pytest.raises(ValidationFailed, match="year must be of type INTEGER"):
        validate_workdir(workdir)
    assert any(r["examples"] == "missing columns: unit" for r in failed(workdir, "error"))
    assert "expected INTEGER" in failed_rule(workdir, "year must be of type")["examples"]


def test_unit_mix_up_is_an_error_but_a_fuel_starting_from_nothing_is_not(tmp_path):
    batch = clean_batch()
    coal = find(batch["energy_consumption"], "630000", 2010, "coal")
    coal.update(value=coal["value"] * 10_000, source_value="1050000")  # 吨 in a 万吨 column
    for year, value in zip(YEARS, (0.04, 0.05, 400.0), strict=True):  # a refinery opens
        find(batch["energy_consumption"], "110000", year, "natural_gas")["value"] = value
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="unit mix-up") as info:
        validate_workdir(workdir)
    assert ("prov.csv row 6 column '煤炭消费量(万吨)' (青海省 (630000) 2010) value '1050000'"
            in str(info.value))
    (error,) = failed(workdir, "error")
    assert error["unexpected_count"] == 1 and "9,545x the median 110 万吨" in error["examples"]
    jumps = failed_rule(workdir, "year-on-year")
    assert jumps["severity"] == "warning" and "row 4" in jumps["examples"]  # gas 0.05 → 400


# --- implausible numbers: zeros, non-finite values, unit mix-ups both ways (issue 10) ----------


def test_zero_gdp_population_and_coal_are_errors_but_a_zero_fuel_is_not(tmp_path):
    """DESIGN §3 "Levels and zeros": a province-year has no zero GDP, GDP index, population or
    coal; a fuel it does not use (natural gas 0) is a structural zero."""
    batch = clean_batch()
    find(batch["gdp"], "630000", 2010).update(value=0.0, source_value="0")
    find(batch["population"], "110000", 2011).update(value=0.0, source_value="0")
    find(batch["energy_consumption"], "630000", 2011, "coal").update(value=0.0, source_value="0")
    find(batch["energy_consumption"], "110000", 2010, "natural_gas").update(value=0.0,
                                                                            source_value="0")
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    assert str(info.value).startswith(
        "validation failed: 3 error(s) in energy_consumption, gdp, population (e.g. prov.csv "
        "row 7 column '煤炭消费量(万吨)' value '0' (青海省 (630000) coal consumption in 2011): "
        "GDP, GDP index, population and coal consumption must be > 0")
    errors = {r["source"]: r for r in failed(workdir, "error")}
    assert set(errors) == {"energy_consumption", "gdp", "population"}
    assert all(r["column"] == "not_positive" and r["unexpected_count"] == 1
               for r in errors.values())
    assert "(青海省 (630000) GDP in 2010)" in errors["gdp"]["examples"]
    assert "(北京市 (110000) population in 2011)" in errors["population"]["examples"]


def test_coal_zero_in_a_year_without_any_other_fuel_figure_is_a_blank_coal_warning(tmp_path):
    """The real release writes coal 0.0 for Hainan and Ningxia 2002, every other fuel blank that
    year: the portal's 0 for a year without figures. A warning; the models make the
    province-year insufficient data (int_geo_year: 'coal consumption 0')."""
    batch = clean_batch()
    find(batch["energy_consumption"], "630000", 2010, "coal").update(value=0.0, source_value="0")
    find(batch["energy_consumption"], "630000", 2010, "natural_gas").update(value=None,
                                                                            source_value=None)
    workdir = make_workdir(tmp_path, **batch)
    assert validate_workdir(workdir)["errors"] == 0
    coal = post_rule(after_compute(workdir), "coal blank")
    assert coal["severity"] == "warning" and coal["unexpected_count"] == 1
    assert ("prov.csv row 6 column '煤炭消费量(万吨)' value '0' (青海省 (630000) coal: 0 in 2010, "
            "when no other fuel is reported for that year") in coal["examples"]


def test_infinite_and_nan_values_are_errors(tmp_path):
    batch = clean_batch()
    find(batch["gdp"], "630000", 2011).update(value=float("inf"), source_value="1e305")
    find(batch["population"], "630000", 2011).update(value=float("nan"), source_value="512")
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="value must be a finite number"):
        validate_workdir(workdir)
    errors = {r["source"]: r for r in failed(workdir, "error")}
    assert set(errors) == {"gdp", "population"}
    assert "value '1e305' (the raw value is inf (after unit conversion))" in (
        errors["gdp"]["examples"])
    assert "value '512' (the cell holds '512', the raw value is NaN)" in (
        errors["population"]["examples"])


def test_a_level_shift_down_is_an_error_for_coal_but_not_for_other_fuels(tmp_path):
    """Coal 1/10,000 of its level (亿吨 in a 万吨 column) is an error; natural gas falling to
    1e-5 亿m³ is not (Jiangxi 2003-2004 in the real release)."""
    batch = clean_batch()
    find(batch["energy_consumption"], "630000", 2010, "coal").update(value=0.0105,
                                                                     source_value="0.0105")
    find(batch["energy_consumption"], "110000", 2010, "natural_gas")["value"] = 1e-5
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="above or below the usual level"):
        validate_workdir(workdir)
    (error,) = failed(workdir, "error")  # the ratios of that province-year are not flagged too
    # series 100, 0.0105, 110: median 100; 100 / 0.0105 = 9,524
    assert error["unexpected_count"] == 1 and (
        "value '0.0105' (1/9,524 of the median 100 万吨 of this province's series (3 years)"
        in error["examples"])


def test_a_gdp_column_in_wan_yuan_is_implausible(tmp_path):
    """GDP in 万元 under a 亿元 header (every value 10,000x): the series and peers move together;
    coal per GDP (100 万吨 / 10,000,000 亿元 = 1e-5 t per 10,000 yuan < 0.0003) and GDP per
    person (1e7 × 1e4 / 500 = 2e8 yuan > 2e6) are out of bounds."""
    batch = clean_batch()
    for row in batch["gdp"]:
        row["value"] *= 10_000
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="plausible bounds"):
        validate_workdir(workdir)
    errors = {r["source"]: r for r in failed(workdir, "error")}
    assert set(errors) == {"energy_consumption", "gdp"}
    assert errors["gdp"]["unexpected_count"] == 6
    assert ("(北京市 (110000) 2009: GDP / population = 2e+08 yuan per person, above the plausible "
            "maximum 2e+06 (reference/plausibility_bounds.csv gdp_per_capita; real NBS "
            "2742-164563): GDP or population in the wrong unit?)") in errors["gdp"]["examples"]
    assert "coal consumption / GDP = 1e-05 t per 10,000 yuan, below the plausible minimum " in (
        errors["energy_consumption"]["examples"])


TEN = ("110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000",
       "310000", "320000")


@pytest.mark.parametrize(("coal", "status"), [(100.0, "failed"), (1000.0, "passed")])
def test_a_column_median_of_coal_per_person_off_by_ten_is_an_error(tmp_path, coal, status):
    """Ten provinces with 500 万人: coal 100 万吨 is 0.2 t per person, below the 0.3-10 t a
    column's median may have (the real NBS medians are 1.05-2.73), 1000 万吨 is 2 t: fine."""
    energy = energy_rows(provinces=TEN)
    for row in energy:
        if row["fuel"] == "coal":
            row["value"] = coal
    batch = {"energy_consumption": energy, "gdp": series_rows("gdp", provinces=TEN),
             "gdp_index": series_rows("gdp_index", provinces=TEN),
             "population": [dict(r, value=500.0) for r in series_rows("population", TEN)]}
    workdir = make_workdir(tmp_path, **batch)
    if status == "passed":
        assert validate_workdir(workdir)["status"] == "passed"
        return
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    (error,) = failed(workdir, "error")
    assert error["column"] == "column_level" and error["unexpected_count"] == 30
    assert ("value '100.0' (median coal consumption / population of this column: 0.2 t per "
            "person over 10 provinces, 2009-2011; plausible 0.3-10 (reference/"
            "plausibility_bounds.csv coal_per_capita; real NBS 1.05-2.73): the values look about "
            "10x too small; is the unit in the header right?)") in str(info.value)


# --- coverage ---------------------------------------------------------------------------------


def _without(rows, province, year):
    return [r for r in rows if not (r["region_code"] == province and r["year"] == year)]


def test_gdp_lacking_a_base_year_the_energy_data_covers_is_an_error(tmp_path):
    batch = clean_batch()
    batch["gdp"] = _without(batch["gdp"], "630000", 2010)
    batch["population"] = _without(batch["population"], "110000", 2009)  # not a plan year
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    message = str(info.value)
    assert "1 error(s) in gdp" in message
    assert "青海省 (630000): no GDP row for 2010" in message
    assert "base year of the 12th FYP" in message
    error = failed_rule(workdir, "plan base or final year")
    assert error["source"] == "gdp" and error["unexpected_count"] == 1
    assert "other provinces have 2010; energy consumption data covers this year" in (
        error["examples"])
    warning = failed_rule(workdir, "a year the release covers", "population")
    assert warning["severity"] == "warning" and "no population row for 2009" in (
        warning["examples"])


def test_gdp_index_blank_in_a_base_year_is_an_error_at_its_cell(tmp_path):
    batch = clean_batch()
    find(batch["gdp_index"], "110000", 2010).update(value=None, source_value=None)
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="gdp_index.csv row 3") as info:
        validate_workdir(workdir)
    assert "blank GDP index for 2010" in str(info.value)


def test_years_the_release_does_not_cover_are_not_errors(tmp_path):
    """Like the NBS files: fuels stop after 2017 (electricity goes on), Tibet has no fuel."""
    years = (*YEARS, 2012)
    energy = energy_rows(provinces=(*PROVINCES, "540000"), years=years)
    for row in energy:
        if row["region_code"] == "540000" or (row["year"] == 2012
                                                 and row["fuel"] != "electricity"):
            row.update(value=None, source_value=None)
    batch = {"energy_consumption": energy, "gdp": series_rows("gdp"),
             "gdp_index": series_rows("gdp_index")}
    workdir = make_workdir(tmp_path, **batch)
    summary = validate_workdir(workdir)
    assert summary["errors"] == 0
    text = "\n".join([*summary["warnings_summary"],
                      *(r["examples"] for r in after_compute(workdir) if not r["success"])])
    assert "coal, natural_gas: blank for every province in 2012 (all reported 2009-2011)" in text
    assert "西藏自治区 (540000): no fossil-fuel consumption reported in any year" in text
    assert "GDP" not in text  # no fossil fuel in 2012, so GDP 2012 is not needed


def test_a_fuel_blank_for_every_province_between_reported_years_says_imputed(tmp_path):
    """The warning explains what the SQL models do, not a second copy of the rule: natural gas
    blank for every province in 2010 only, reported in 2009 and 2011, is interpolated downstream
    (int_energy_activity: 'imputed'), so the note must not say it is taken as 0."""
    energy = energy_rows()
    for row in energy:
        if row["year"] == 2010 and row["fuel"] == "natural_gas":
            row.update(value=None, source_value=None)
    workdir = make_workdir(tmp_path, energy_consumption=energy, gdp=series_rows("gdp"),
                           gdp_index=series_rows("gdp_index"))
    assert validate_workdir(workdir)["errors"] == 0
    (note,) = [r["examples"] for r in after_compute(workdir)
               if not r["success"] and "blank for every province" in r["examples"]]
    assert ("natural_gas: blank for every province in 2010 (all reported 2009-2011); "
            "interpolated downstream (imputed)") in note
    assert "assumed_zero" not in note


def test_blank_cells_warn_with_the_fuel_share_of_emissions(tmp_path):
    batch = clean_batch()
    energy = batch["energy_consumption"]
    find(energy, "630000", 2010, "natural_gas").update(value=None, source_value=None)  # gap
    find(energy, "110000", 2011, "natural_gas").update(value=None, source_value=None)  # stops
    find(energy, "110000", 2009, "coal").update(value=None, source_value=None)  # coal blank
    workdir = make_workdir(tmp_path, **batch)
    assert validate_workdir(workdir)["errors"] == 0
    post = after_compute(workdir)
    gap = post_rule(post, "between reported years")["examples"]
    assert "青海省 (630000) natural_gas: blank in 2010 between reported 2009 (10) and 2011 " in gap
    assumed = post_rule(post, "assumed_zero")["examples"]
    assert "北京市 (110000) natural_gas: blank in 2011, no longer reported after 2010" in assumed
    # 2010: coal 105 万吨 x 1.9003 kg/kg = 1.9953e9 kg; gas 10.5 亿m³ x 2.1622 = 2.2703e9 kg
    share = 10.5e8 * 2.1622 / (105e7 * 1.9003 + 10.5e8 * 2.1622)
    assert f"{100 * share:.1f} % of the province's fuel-combustion CO2 in 2010" in assumed
    coal = post_rule(post, "coal blank")["examples"]
    assert "北京市 (110000) coal: blank in 2009" in coal and "insufficient data" in coal


def test_missing_gdp_file_is_reported_as_such(tmp_path):
    batch = clean_batch()
    del batch["gdp"]
    workdir = make_workdir(tmp_path, **batch)
    with pytest.raises(ValidationFailed, match="no GDP file in the landing folder"):
        validate_workdir(workdir)
    error = failed_rule(workdir, "plan base or final year")
    assert error["source"] == "gdp" and error["unexpected_count"] == 2  # 2 provinces x 2010


def test_ingest_warnings_are_part_of_the_results(tmp_path):
    workdir = make_workdir(tmp_path, **clean_batch())
    report = {"warnings": ["notes.txt: skipped, not a CSV or XLSX file"],
              "warning_details": [{"file": "notes.txt", "sheet": None,
                                   "message": "skipped, not a CSV or XLSX file"}]}
    (workdir / "ingest_report.json").write_text(json.dumps(report), encoding="utf-8")
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings" and summary["warnings"] == 1
    (row,) = failed(workdir, "warning")
    assert row["source"] == "ingest"
    assert row["examples"] == "notes.txt: skipped, not a CSV or XLSX file"
