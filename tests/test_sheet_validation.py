"""The sheet_<kind> Great Expectations suites on the assessment sheets (measures score sheet,
targets, annual targets, confirmed declines).

Ingest only parses a sheet (ingest/sheets.py); every rule on its values is an expectation run by
the validate stage on `<workdir>/sheets/<kind>.parquet`, reported like the raw NBS suites: file,
row, column (as written in the file's header), value, rule, severity. Most tests build the work
directory with the real ingest functions (`read_sheet` + `write_sheets`) and call
`validate_workdir`; the end-to-end ones run the CLI on a landing folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main
from carbon_assess.errors import InputError, ValidationFailed
from carbon_assess.ingest.sheets import read_sheet, write_sheets
from carbon_assess.validate import validate_workdir

from builders import write_csv, write_two_province_plan
from workdirs import nothing_published, run_log

RUN_ID = "20240101T000000Z-sheets"
MEASURES = ["plan", "year", "province", "indicator", "points", "note"]
TARGETS = ["plan", "province", "target_pct", "source"]
ANNUAL = ["plan", "year", "province", "annual_target_pct"]
CONFIRMED = ["plan", "year", "province", "confirmed_decline_pct"]
# 12th-FYP sub-indicators and maxima (reference/measures_indicators.csv)
FULL = {"industrial_structure": 5, "energy_conservation": 5, "energy_structure": 5,
        "forest_carbon_sink": 4, "low_carbon_pilots": 4, "non_energy_emissions": 3,
        "ghg_statistics": 5, "ghg_inventory": 4, "carbon_market": 3, "target_breakdown": 4,
        "organisation": 3, "funding": 3, "public_awareness": 2}


@pytest.fixture(autouse=True)
def _quarantine_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path))


def _table(header: list[str], rows: list[list]) -> list[tuple[int, list[str]]]:
    """Rows as the readers give them: (1-based line number, cell texts)."""
    lines = [header, *[[str(c) for c in row] for row in rows]]
    return [(n, cells) for n, cells in enumerate(lines, start=1)]


def _workdir(tmp_path: Path, files: dict[str, tuple[list[str], list[list]]]) -> Path:
    """A work directory holding only the sheets of `files` (name -> header, rows), written by
    the real ingest functions."""
    workdir = tmp_path / "runs" / RUN_ID
    workdir.mkdir(parents=True)
    (workdir / "run.json").write_text(json.dumps({"run_id": RUN_ID}), encoding="utf-8")
    found: dict[str, list[dict]] = {}
    for name, (header, rows) in files.items():
        parsed = read_sheet(_table(header, rows), name, None)
        assert parsed is not None, name
        kind, records = parsed
        found.setdefault(kind, []).extend(records)
    write_sheets(found, workdir)
    return workdir


def _results(workdir: Path) -> list[dict]:
    return json.loads((workdir / "validation" / "results.json").read_text(encoding="utf-8"))


def _report(exc: pytest.ExceptionInfo) -> dict:
    return json.loads(Path(exc.value.report_path).with_suffix(".json").read_text("utf-8"))


def _failed(report: dict, rule: str) -> dict:
    (row,) = [r for r in report["results"] if not r["success"] and rule in r["rule"]]
    return row


def _landing(tmp_path: Path, files: dict[str, tuple[list[str], list[list]]]) -> Path:
    landing = tmp_path / "landing"
    write_two_province_plan(landing)
    for name, (header, rows) in files.items():
        write_csv(landing / name, header, rows)
    return landing


# --- the rules ----------------------------------------------------------------------------------


def test_clean_sheets_pass(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {
        "measures.csv": (MEASURES, [["12th", 2015, "青海省", k, v, ""] for k, v in FULL.items()]),
        "targets.csv": (TARGETS, [["12th", "630000", 12, "what-if"]]),
        "annual.csv": (ANNUAL, [["12th", 2011, "Qinghai", 3.0]]),
        "confirmed.csv": (CONFIRMED, [["12th", 2010, "630000", 0], ["12th", 2012, "630000", 5]]),
    })
    summary = validate_workdir(workdir)
    assert summary["errors"] == 0 and summary["warnings"] == 0, summary["warnings_summary"]
    sources = {r["source"] for r in _results(workdir)}
    assert sources == {"sheet_measures", "sheet_targets", "sheet_annual_targets",
                       "sheet_confirmed_declines"}
    index = Path(summary["data_docs_path"]).read_text(encoding="utf-8")
    assert "sheet_measures" in index and "sheet_confirmed_declines" in index


def test_targets_out_of_range_are_errors(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {"targets.csv": (TARGETS, [
        ["12th", "630000", 0, ""], ["12th", "110000", 100, ""], ["12th", "440000", 120, ""],
        ["13th", "630000", 12.5, ""]])})
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    message = str(info.value)
    assert "\n" not in message and "1 error(s) in sheet_targets" in message
    assert "targets.csv row 2 column 'target_pct' value '0'" in message
    assert "strictly between 0 and 100" in message
    error = _failed(_report(info), "reduction target")
    assert error["severity"] == "error" and error["unexpected_count"] == 3
    assert [(o["row"], o["value"]) for o in error["offenders"]] == [(2, "0"), (3, "100"),
                                                                   (4, "120")]
    assert error["offenders"][0]["column"] == "target_pct" and error["column"] == "target_pct"
    md = Path(info.value.report_path).read_text(encoding="utf-8")
    assert "| targets.csv | 4 | target_pct | 120 | a reduction target is a percentage" in md
    quarantine = Path(info.value.report_path).parent
    assert (quarantine / "sheets" / "targets.parquet").exists()


def test_annual_targets_and_confirmed_declines_out_of_range(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {
        "annual.csv": (ANNUAL, [["12th", 2011, "630000", -1], ["12th", 2012, "630000", 2.5]]),
        "confirmed.csv": (CONFIRMED, [["12th", 2011, "630000", -100],
                                      ["12th", 2012, "630000", 100],
                                      ["12th", 2013, "630000", 100.5],
                                      ["12th", 2014, "630000", -150]]),
    })
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    assert "2 error(s) in sheet_annual_targets, sheet_confirmed_declines" in str(info.value)
    report = _report(info)
    annual = _failed(report, "annual reduction target")
    assert [(o["file"], o["row"], o["value"]) for o in annual["offenders"]] == [
        ("annual.csv", 2, "-1")]
    confirmed = _failed(report, "confirmed cumulative decline")
    # strictly between -100 and 100 (issue 18): the bounds themselves are refused too
    assert [(o["row"], o["value"]) for o in confirmed["offenders"]] == [
        (2, "-100"), (3, "100"), (4, "100.5"), (5, "-150")]


def test_year_outside_the_plan_is_an_error_but_the_base_year_of_a_confirmed_decline_is_not(
        tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {
        "measures.csv": (MEASURES, [["12th", 2016, "青海省", "funding", 1, ""]]),
        "annual.csv": (ANNUAL, [["12th", 2010, "630000", 3.0], ["13th", 2016, "630000", 3.0]]),
        "confirmed.csv": (CONFIRMED, [["12th", 2010, "630000", 0],
                                      ["12th", 2009, "630000", 1]]),
    })
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    message = str(info.value)
    assert "measures.csv row 2 column 'year' value '2016'" in message
    assert "year of a 12th FYP row must be between 2011 and 2015" in message
    report = _report(info)
    errors = [r for r in report["results"] if not r["success"] and r["severity"] == "error"]
    found = {(r["source"], o["file"], o["row"], o["column"], o["value"])
             for r in errors for o in r["offenders"]}
    assert found == {("sheet_measures", "measures.csv", 2, "year", "2016"),
                     ("sheet_annual_targets", "annual.csv", 2, "year", "2010"),
                     ("sheet_confirmed_declines", "confirmed.csv", 3, "year", "2009")}
    confirmed = _failed(report, "base year 2010")
    assert confirmed["source"] == "sheet_confirmed_declines"
    # a row outside its plan is not also reported as an incomplete sheet
    assert not [r for r in report["results"] if not r["success"] and r["severity"] == "warning"
                and r["source"].startswith("sheet_")]


def test_unknown_plan_is_one_error_not_also_a_year_error(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {
        "annual.csv": (ANNUAL, [["15th", 2031, "630000", 3.0]]),
        "measures.csv": (MEASURES, [["11th", 2008, "630000", "funding", 1, ""]]),
    })
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    report = _report(info)
    errors = [r for r in report["results"] if not r["success"] and r["severity"] == "error"]
    assert [(r["source"], r["column"], r["offenders"][0]["value"]) for r in errors] == [
        ("sheet_measures", "plan", "11th"), ("sheet_annual_targets", "plan", "15th")]
    assert "reference/measures_indicators.csv (12th, 13th)" in errors[0]["rule"]
    assert "reference/plans.csv (11th, 12th, 13th, 14th)" in errors[1]["rule"]


def test_negative_points_and_points_above_the_maximum(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {"measures.csv": (MEASURES, [
        ["12th", 2015, "630000", k, v, ""] for k, v in (FULL | {"funding": -0.5,
                                                             "public_awareness": 2.5}).items()
    ])})
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    report = _report(info)
    negative = _failed(report, "points must be >= 0")
    assert [(o["row"], o["value"]) for o in negative["offenders"]] == [(13, "-0.5")]
    above = _failed(report, "must not exceed the sub-indicator maximum")
    assert above["offenders"] == [{"file": "measures.csv", "sheet": None, "row": 14,
                                   "column": "points", "value": "2.5",
                                   "detail": "maximum 2 for 12th public_awareness"}]


def test_report_names_the_column_as_written_in_the_file(tmp_path: Path) -> None:
    header = ["规划", "年份", "省份", "指标", "得分", "说明"]
    rows = [["12th", 2015, "青海", "funding", 4, ""]]
    workdir = _workdir(tmp_path, {"评分表.csv": (header, rows)})
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    assert "评分表.csv row 2 column '得分' value '4' (maximum 3 for 12th funding)" in str(
        info.value)


def test_duplicate_key_within_one_file_names_both_rows(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {"targets.csv": (TARGETS, [
        ["12th", "青海省", 11, ""], ["12th", "Qinghai", 12, ""], ["12th", "北京", 18, ""]])})
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    duplicate = _failed(_report(info), "one row per plan, region")
    assert duplicate["unexpected_count"] == 2
    assert [(o["row"], o["column"], o["value"], o["detail"]) for o in duplicate["offenders"]] == [
        (2, "plan, province", "12th / 630000", "same key also at targets.csv row 3"),
        (3, "plan, province", "12th / 630000", "same key also at targets.csv row 2")]


# --- warnings -----------------------------------------------------------------------------------


def test_incomplete_measures_sheet_is_a_warning(tmp_path: Path) -> None:
    partial = {k: v for k, v in FULL.items() if k not in ("funding", "public_awareness")}
    workdir = _workdir(tmp_path, {"measures.csv": (MEASURES, [
        *[["12th", 2015, "青海省", k, v, ""] for k, v in partial.items()],
        *[["12th", 2014, "青海省", k, v, ""] for k, v in FULL.items()],  # complete
        ["12th", 2015, "北京", "funding", 2, ""],
    ])})
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings" and summary["errors"] == 0
    (line,) = [w for w in summary["warnings_summary"] if w.startswith("sheet_measures")]
    assert "incomplete sheet" in line and "2 row(s)" in line
    assert "measures.csv row 2 column 'plan, year, province' value '12th / 2015 / 630000'" in line
    assert ("青海省 (630000) 2015: no points for 2 of the 13 sub-indicators of the 12th FYP "
            "(funding, public_awareness); its measures total is understated") in line
    (row,) = [r for r in _results(workdir) if not r["success"]]
    assert row["severity"] == "warning" and row["source"] == "sheet_measures"
    assert row["unexpected_count"] == 2
    assert ("measures.csv row 26 column 'plan, year, province' value '12th / 2015 / 110000' "
            "(北京市 (110000) 2015: no points for 12 of the 13 sub-indicators of the 12th FYP "
            "(only funding given)") in row["examples"]
    assert Path(summary["report_path"]).exists()


def test_target_far_from_the_reference_is_a_warning(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path, {"targets.csv": (TARGETS, [
        ["12th", "630000", 16, "what-if"],  # reference 10: +6 points
        ["12th", "440000", 19.5, ""],  # as the reference
        ["14th", "630000", 30, ""],  # no reference target: nothing to compare
    ])})
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings" and summary["errors"] == 0
    (line,) = [w for w in summary["warnings_summary"] if w.startswith("sheet_targets")]
    assert "targets.csv row 2 column 'target_pct' value '16'" in line
    assert "reference/targets.csv has 10 % for 青海省 (630000) in the 12th FYP: +6 points" in line
    assert "more than 5 percentage points" in line


# --- end to end ---------------------------------------------------------------------------------


def test_duplicate_across_two_files_rejects_the_run(tmp_path: Path, capsys) -> None:
    landing = _landing(tmp_path, {
        "a/measures.csv": (MEASURES, [["12th", 2015, "青海省", k, v, ""] for k, v in FULL.items()]),
        "b/more_measures.csv": (MEASURES, [["12th", 2015, "Qinghai", "funding", 1, "late fix"]]),
    })
    db = tmp_path / "w.duckdb"
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{db}",
                 "--workdir", str(tmp_path / "work")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and nothing_published(db)
    assert run_log(db)[-1][:2] == ("rejected", "validate")
    assert err.startswith("error: validation failed") and len(err.splitlines()) == 1
    assert "a/measures.csv row 13 column 'plan, year, province, indicator' value " \
           "'12th / 2015 / 630000 / funding' (same key also at b/more_measures.csv row 2)" in err
    report = Path(err.rsplit("report: ", 1)[1])
    md = report.read_text(encoding="utf-8")
    assert "| a/measures.csv | 13 | plan, year, province, indicator |" in md
    assert "| b/more_measures.csv | 2 | plan, year, province, indicator |" in md
    assert "| error |" in md


def test_incomplete_sheet_warning_is_shown_and_the_run_publishes(tmp_path: Path, capsys) -> None:
    partial = {k: v for k, v in FULL.items() if k != "organisation"}
    landing = _landing(tmp_path, {"measures.csv": (
        MEASURES, [["12th", 2015, "青海省", k, v, ""] for k, v in partial.items()])})
    db = tmp_path / "w.duckdb"
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{db}",
                 "--workdir", str(tmp_path / "work")])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning: sheet_measures: a province-year has points for some but not all" in out
    assert "no points for 1 of the 13 sub-indicators of the 12th FYP (organisation)" in out
    with duckdb.connect(str(db), read_only=True) as con:
        score, = con.execute("select measures_score from carbon.fct_target_assessment where "
                             "plan_id = '12th' and province_code = '630000' and "
                             "assessment_year = 2015").fetchone()
        recorded = con.execute("select count(*) from carbon.meta_validation_result where "
                               "source = 'sheet_measures' and severity = 'warning' and "
                               "not success").fetchone()[0]
    assert score == 47 and recorded == 1


def test_xlsx_sheet_lineage_and_ingest_keeps_parse_errors(tmp_path: Path, capsys) -> None:
    from openpyxl import Workbook

    landing = _landing(tmp_path, {})
    wb = Workbook()
    ws = wb.active
    ws.title = "年度目标"
    ws.append(ANNUAL)
    ws.append(["12th", 2011, "青海省", 130])
    wb.save(landing / "annual.xlsx")
    code = main(["validate", "--landing", str(landing), "--workdir", str(tmp_path / "w1")])
    err = capsys.readouterr().err
    assert code == 2
    assert "annual.xlsx sheet '年度目标' row 2 column 'annual_target_pct' value '130'" in err

    # parsing stays at ingest: a value that is not a number, a blank required cell
    write_csv(landing / "bad.csv", TARGETS, [["12th", "630000", "ten", ""]])
    with pytest.raises(InputError, match="not a number"):
        read_sheet(_table(TARGETS, [["12th", "630000", "ten", ""]]), "bad.csv", None)
    with pytest.raises(InputError, match="a value is required") as info:
        read_sheet(_table(ANNUAL, [["", 2011, "630000", 3]]), "blank.csv", None)
    assert (info.value.row, info.value.column) == (2, "plan")
    code = main(["validate", "--landing", str(landing), "--workdir", str(tmp_path / "w2")])
    err = capsys.readouterr().err
    assert code == 2 and "bad.csv, row 2, column 'target_pct': not a number (value 'ten')" in err


def test_a_sheet_file_missing_a_column_fails_the_columns_expectation(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    workdir = _workdir(tmp_path, {"targets.csv": (TARGETS, [["12th", "630000", 12, ""]])})
    path = workdir / "sheets" / "targets.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["target_pct"]), path)
    with pytest.raises(ValidationFailed, match="required targets sheet columns present") as info:
        validate_workdir(workdir)
    assert _failed(_report(info), "columns present")["examples"] == (
        "missing columns: target_pct")
