"""The user sheets of the assessment (measures score sheet, targets, annual targets, confirmed
declines) on the hand-worked two-province case of test_arithmetic.py.

Qinghai (T = 10 %): 2012 on schedule but annual target missed (veto); 2015 met, target part
50/50 points. Grades come from reference/grade_thresholds.csv: excellent ≥ 90, good ≥ 80,
pass ≥ 60, fail below.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main

from builders import write_csv, write_two_province_plan
from workdirs import nothing_published, run_log

MEASURES = ["plan", "year", "province", "indicator", "points", "note"]


def _measures(points: dict[str, float], year: int, province: str = "青海省") -> list[list]:
    return [["12th", year, province, k, v, "assessor note"] for k, v in points.items()]


# 12th-FYP sub-indicator maxima (reference/measures_indicators.csv) sum to 50
FULL = {"industrial_structure": 5, "energy_conservation": 5, "energy_structure": 5,
        "forest_carbon_sink": 4, "low_carbon_pilots": 4, "non_energy_emissions": 3,
        "ghg_statistics": 5, "ghg_inventory": 4, "carbon_market": 3, "target_breakdown": 4,
        "organisation": 3, "funding": 3, "public_awareness": 2}


def _run(tmp_path: Path, sheets: dict[str, tuple[list[str], list[list]]]) -> tuple[int, Path]:
    landing = tmp_path / "landing"
    write_two_province_plan(landing)
    for name, (header, rows) in sheets.items():
        write_csv(landing / name, header, rows)
    db = tmp_path / "w.duckdb"
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{db}",
                 "--workdir", str(tmp_path / "work")])
    return code, db


def _assessment(db: Path, year: int, province: str = "630000") -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute("select * from carbon.fct_target_assessment where plan_id = '12th' "
                             "and province_code = ? and assessment_year = ?", [province, year])
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone(), strict=True))


def test_score_89_5_is_good_and_90_is_excellent(tmp_path: Path) -> None:
    # every sub-indicator at its maximum (sum 50) except forest carbon sinks 0 of 4,
    # industrial structure 0 of 5, funding 1.5 of 3: 50 − 4 − 5 − 1.5 = 39.5
    measures_39_5 = FULL | {"forest_carbon_sink": 0, "industrial_structure": 0, "funding": 1.5}
    assert sum(measures_39_5.values()) == 39.5
    code, db = _run(tmp_path / "a", {"measures.csv": (MEASURES, _measures(measures_39_5, 2015))})
    assert code == 0
    row = _assessment(db, 2015)
    assert row["target_score"] == 50
    assert row["measures_score"] == 39.5
    assert row["total_score"] == 89.5
    assert (row["grade"], row["grade_is_provisional"]) == ("good", False)

    measures_40 = measures_39_5 | {"funding": 2}  # +0.5 → total 90
    code, db = _run(tmp_path / "b", {"measures.csv": (MEASURES, _measures(measures_40, 2015))})
    assert code == 0
    assert _assessment(db, 2015)["grade"] == "excellent"


def test_veto_fails_whatever_the_score(tmp_path: Path) -> None:
    code, db = _run(tmp_path, {"measures.csv": (MEASURES, _measures(FULL, 2012))})
    assert code == 0
    row = _assessment(db, 2012)
    assert row["total_score"] == pytest.approx(49.59 + 50, abs=0.01)
    assert (row["veto"], row["grade"]) == (True, "fail")


def test_province_without_measures_rows_stays_provisional(tmp_path: Path) -> None:
    code, db = _run(tmp_path, {"measures.csv": (MEASURES, _measures(FULL, 2015))})
    assert code == 0
    guangdong_2011 = _assessment(db, 2011, "440000")
    assert guangdong_2011["grade"] == "fail"  # behind and annual target missed: veto
    qinghai_2011 = _assessment(db, 2011)
    assert qinghai_2011["grade"] == "provisional"
    assert "no measures score sheet" in qinghai_2011["note"]


def test_measures_sheet_in_chinese_headers(tmp_path: Path) -> None:
    header = ["规划", "年份", "省份", "指标", "得分", "说明"]
    code, db = _run(tmp_path, {"评分表.csv": (header, _measures(FULL, 2015, "青海"))})
    assert code == 0
    assert _assessment(db, 2015)["measures_score"] == 50


@pytest.mark.parametrize(
    ("rows", "fragments"),
    [
        # value rules: the sheet_measures suite at validation (file, row, column, value, rule)
        ([["12th", 2015, "青海省", "organisation", 4, ""]],
         ["validation failed", "sheet_measures", "measures.csv row 2", "column 'points'",
          "value '4'", "maximum 3 for 12th organisation", "must not exceed the sub-indicator"]),
        ([["12th", 2015, "青海省", "tree_planting", 1, ""]],
         ["validation failed", "measures.csv row 2", "column 'indicator'",
          "value 'tree_planting'", "sub-indicator must be one of the 13 of the 12th FYP"]),
        ([["12th", 2015, "青海省", "funding", 1, ""], ["12th", 2015, "Qinghai", "funding", 2, ""]],
         ["validation failed", "measures.csv row 2", "column 'plan, year, province, indicator'",
          "value '12th / 2015 / 630000 / funding'", "same key also at measures.csv row 3",
          "one row per plan, year, region, indicator"]),
        # parsing: an unknown province is still rejected at ingest, as in an NBS file
        ([["12th", 2015, "Atlantis", "funding", 1, ""]],
         ["measures.csv", "row 2", "column 'province'", "unknown province", "'Atlantis'"]),
    ],
)
def test_bad_measures_sheet_is_rejected(tmp_path: Path, capsys, rows, fragments) -> None:
    code, db = _run(tmp_path, {"measures.csv": (MEASURES, rows)})
    err = capsys.readouterr().err.strip()
    assert code == 2 and nothing_published(db)
    assert run_log(db)[-1][0] == "rejected"
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    for fragment in fragments:
        assert fragment in err, err
    assert re.search(r"report: \S+report\.md", err), err  # ingest or validation quarantine


def test_chaining_on_a_confirmed_decline(tmp_path: Path) -> None:
    """Confirmed 2012 decline 5 %; annual 2013 = 1 − 0.935/0.955 = 2.09424 %:
    D(2013) = 1 − 0.95 × (1 − 0.0209424) = 6.98953 %; direct 6.5 %; difference 0.48953."""
    header = ["plan", "year", "province", "confirmed_decline_pct", "source"]
    code, db = _run(tmp_path, {"confirmed.csv": (header, [["12th", 2012, "630000", 5.0,
                                                            "2012 assessment"]])})
    assert code == 0
    row = _assessment(db, 2013)
    assert row["cumulative_decline_chained_pct"] == pytest.approx(6.98953, abs=1e-5)
    assert row["cumulative_decline_direct_pct"] == pytest.approx(6.5, abs=1e-9)
    assert row["chaining_difference_pct"] == pytest.approx(0.48953, abs=1e-5)
    assert row["cumulative_decline_pct"] == pytest.approx(6.98953, abs=1e-5)
    assert "chained" in row["note"]
    assert _assessment(db, 2014)["cumulative_decline_chained_pct"] is None


def test_province_annual_target_replaces_even_pace(tmp_path: Path) -> None:
    """2011 annual decline 2.5 %: a province figure of 3 % makes it a veto; 2.4 % does not."""
    header = ["plan", "year", "province", "annual_target_pct"]
    code, db = _run(tmp_path / "a", {"annual.csv": (header, [["12th", 2011, "630000", 3.0]])})
    assert code == 0
    row = _assessment(db, 2011)
    assert (row["annual_target_pct"], row["annual_target_basis"]) == (3.0, "province figure")
    assert row["veto"] is True
    code, db = _run(tmp_path / "b", {"annual.csv": (header, [["12th", 2011, "630000", 2.4]])})
    assert _assessment(db, 2011)["veto"] is False


def test_user_target_overrides_the_reference(tmp_path: Path) -> None:
    """Qinghai's target raised to 12 %: the 11 % decline of 2015 now misses it."""
    header = ["plan", "province", "target_pct", "source"]
    code, db = _run(tmp_path, {"targets.csv": (header, [["12th", "630000", 12, "what-if"]])})
    assert code == 0
    row = _assessment(db, 2015)
    assert (row["target_pct"], row["status"], row["target_achieved"]) == (12, "missed", False)
    with duckdb.connect(str(db), read_only=True) as con:
        source = con.execute("select source from carbon.dim_target where plan_id = '12th' "
                             "and province_code = '630000'").fetchone()[0]
    assert "what-if" in source and "targets.csv row 2" in source


def test_a_confirmed_decline_of_100_percent_is_refused_at_the_sheet_row(
        tmp_path: Path, capsys) -> None:
    """100 % would mean no emissions at all: refused by the sheet's own check, naming the
    sheet, row and cell, before anything is computed (it used to pass and fail at the output
    gate, which named a computed fact)."""
    header = ["plan", "year", "province", "confirmed_decline_pct", "source"]
    code, db = _run(tmp_path, {"confirmed.csv": (header, [["12th", 2012, "630000", 100,
                                                             "NDRC"]])})
    assert code == 2
    err = capsys.readouterr().err
    assert "validation failed" in err and "confirmed.csv row 2" in err
    assert "strictly between -100 and 100" in err
