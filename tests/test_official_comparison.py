"""The official comparison (issue 12, item 3; issue 18, step 6): fct_official_comparison puts the
computed verdicts beside the published ones (shipped as reference/official_assessment_results.csv
and used by default; $CARBON_OFFICIAL_RESULTS names a replacement) with agreement flags and
the margin, and every run prints the agreement.

Agreement logic (tiny tables): pass = excellent/good/pass, fail = fail; a provisional computed
grade (no measures sheet, no veto) counts as pass; insufficient data gives no verdict (null
flags); grade_agrees only where the computed grade is final; within_margin when |margin_pp| is
below reference/official_comparison_tolerance.csv (1 pp)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main
from carbon_assess.errors import CarbonAssessError, InputError
from carbon_assess.transform import (
    OFFICIAL_RESULTS_ENV,
    load_official_results,
    run_assessment,
    run_transforms,
)

from model_harness import run_model

SOURCE = "NDRC announcement 2017 No. 25"


def _official(code: str, grade: str | None, decline: float | None = None,
              plan: str = "13th", year: int = 2016) -> dict:
    return {"plan_id": plan, "province_code": code, "assessment_year": year,
            "official_grade": grade, "official_decline_pct": decline, "source": SOURCE}


def _computed(code: str, status: str, grade: str, decline: float | None,
              margin: float | None) -> dict:
    return {"plan_id": "13th", "province_code": code, "assessment_year": 2016, "status": status,
            "grade": grade, "cumulative_decline_pct": decline, "margin_pp": margin}


def test_agreement_flags_on_tiny_tables() -> None:
    rows = run_model("fct_official_comparison", {
        "stg_official_assessment_results": [
            _official("110000", "excellent"),  # provisional → pass: agrees, grade not final
            _official("630000", "fail"),       # computed fail (veto): agrees, grade agrees
            _official("320000", "excellent"),  # computed fail 0.65 pp short: disagrees, within
            _official("230000", "excellent"),  # computed good: grade differs, pass/fail agrees
            _official("540000", "fail"),       # insufficient data: no verdict
            _official("000000", None, 20.0, "12th", 2015),  # nation, from national data
            _official("000000", None, 18.8, "13th", 2020),  # nation, no national data
        ],
        "fct_target_assessment": [
            _computed("110000", "on schedule", "provisional", 10.8, 6.3),
            _computed("630000", "behind", "fail", -2.5, -5.0),
            _computed("320000", "behind", "fail", 3.8, -0.65),
            _computed("230000", "on schedule", "good", 5.0, 1.5),
            _computed("540000", "insufficient data", "insufficient data", None, None),
        ],
        "fct_national_intensity": [
            {"plan_id": "12th", "year": 2015, "cumulative_decline_pct": 19.5,
             "expected_decline_pct": 17.0, "on_schedule": True},
        ],
    })
    by = {(r["plan_id"], r["province_code"]): r for r in rows}
    assert len(rows) == 7

    beijing = by["13th", "110000"]
    assert (beijing["official_pass"], beijing["computed_pass"]) == (True, True)
    assert (beijing["pass_fail_agrees"], beijing["grade_agrees"]) == (True, None)
    assert beijing["within_margin"] is False and beijing["name_en"] == "Beijing"

    qinghai = by["13th", "630000"]
    assert (qinghai["pass_fail_agrees"], qinghai["grade_agrees"]) == (True, True)

    jiangsu = by["13th", "320000"]
    assert (jiangsu["computed_pass"], jiangsu["official_pass"]) == (False, True)
    assert (jiangsu["pass_fail_agrees"], jiangsu["grade_agrees"]) == (False, False)
    assert jiangsu["within_margin"] is True and jiangsu["within_margin_pp"] == 1.0

    heilongjiang = by["13th", "230000"]
    assert (heilongjiang["pass_fail_agrees"], heilongjiang["grade_agrees"]) == (True, False)

    tibet = by["13th", "540000"]
    assert tibet["computed_status"] == "insufficient data"
    assert tibet["computed_pass"] is None
    assert (tibet["pass_fail_agrees"], tibet["grade_agrees"], tibet["within_margin"]) == (
        None, None, None)

    nation_12 = by["12th", "000000"]
    assert nation_12["name_en"] == "China" and nation_12["computed_status"] == "met"
    assert nation_12["computed_decline_pct"] == 19.5
    assert nation_12["decline_difference_pp"] == pytest.approx(-0.5)
    assert nation_12["margin_pp"] == pytest.approx(2.5)
    assert nation_12["pass_fail_agrees"] is None and nation_12["grade_agrees"] is None

    nation_13 = by["13th", "000000"]  # no national files: null figures, no verdict
    assert nation_13["computed_status"] == "insufficient data"
    assert nation_13["computed_decline_pct"] is None and nation_13["decline_difference_pp"] is None


# ------------------------------------------------------------------ the real NBS files


@pytest.fixture(scope="module")
def real_run(shared_nbs: Path, tmp_path_factory: pytest.TempPathFactory):
    """Provincial and national files (the landing folder is scanned recursively), a default run:
    no $CARBON_OFFICIAL_RESULTS, so the shipped official results are compared."""
    root = tmp_path_factory.mktemp("official")
    db = root / "w.duckdb"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as patch:
        patch.delenv(OFFICIAL_RESULTS_ENV, raising=False)
        code = main(["run", "--landing", str(shared_nbs), "--warehouse", f"duckdb://{db}",
                     "--vintage", "nbs-portal-2021", "--workdir", str(root / "work")])
    assert code == 0
    con = duckdb.connect(str(db), read_only=True)
    yield con, out.getvalue(), root / "work"
    con.close()


def _rows(con, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_2016_has_the_31_official_grades(real_run) -> None:
    con, *_ = real_run
    rows = _rows(con, "select * from carbon.fct_official_comparison "
                      "where plan_id = '13th' and assessment_year = 2016")
    assert len(rows) == 31
    assert all(r["official_grade"] for r in rows)
    grades = [r["official_grade"] for r in rows]
    assert (grades.count("excellent"), grades.count("good"), grades.count("fail")) == (14, 13, 4)
    # the four the NDRC announcement names as failing, each fact with its publication
    failing = {r["province_code"] for r in rows if r["official_grade"] == "fail"}
    assert failing == {"210000", "450000", "540000", "630000"}  # Liaoning Guangxi Tibet Qinghai
    assert all(r["official_source"].startswith(SOURCE) for r in rows)


def test_flags_equal_a_hand_comparison_for_named_provinces(real_run) -> None:
    con, *_ = real_run
    rows = {r["province_code"]: r for r in _rows(con, """
        select c.*, a.grade as assessed_grade, a.margin_pp as assessed_margin
        from carbon.fct_official_comparison as c
        join carbon.fct_target_assessment as a using (plan_id, province_code, assessment_year)
        where c.plan_id = '13th' and c.assessment_year = 2016""")}
    passing = {"excellent": True, "good": True, "pass": True, "provisional": True, "fail": False}
    for code, official in (("630000", "fail"), ("110000", "excellent"), ("210000", "fail"),
                           ("320000", "excellent"), ("650000", "good")):
        r = rows[code]
        assert r["official_grade"] == official
        assert r["computed_grade"] == r["assessed_grade"]
        assert r["pass_fail_agrees"] == (passing[r["assessed_grade"]] == passing[official]), code
        final = r["assessed_grade"] in ("excellent", "good", "pass", "fail")
        assert r["grade_agrees"] == (r["assessed_grade"] == official if final else None), code
        assert r["margin_pp"] == r["assessed_margin"]
        assert r["within_margin"] == (abs(r["assessed_margin"]) < 1.0), code
    assert rows["630000"]["computed_grade"] == "fail" and rows["630000"]["pass_fail_agrees"]
    assert rows["110000"]["pass_fail_agrees"] is True
    tibet = rows["540000"]
    assert tibet["computed_status"] == "insufficient data" and tibet["pass_fail_agrees"] is None


def test_national_declines_beside_the_official_ones(real_run) -> None:
    con, *_ = real_run
    twelfth = _rows(con, "select c.*, n.cumulative_decline_pct as national "
                         "from carbon.fct_official_comparison as c "
                         "join carbon.fct_national_intensity as n "
                         "on n.plan_id = c.plan_id and n.year = c.assessment_year "
                         "where c.province_code = '000000' and c.plan_id = '12th'")
    assert len(twelfth) == 1
    row = twelfth[0]
    assert row["official_decline_pct"] == 20.0
    assert row["computed_decline_pct"] == row["national"]
    assert row["decline_difference_pp"] == pytest.approx(row["national"] - 20.0)


def test_the_run_prints_the_agreement(real_run) -> None:
    con, printed, _ = real_run
    agree, total = con.execute(
        "select count_if(pass_fail_agrees), count(*) from carbon.fct_official_comparison "
        "where plan_id = '13th' and assessment_year = 2016").fetchone()
    line = next(x for x in printed.splitlines() if "agreement with the official results" in x)
    assert line.startswith(f"2016 pass/fail agreement with the official results: {agree}/31 (")
    assert total == 31
    disagreeing = [r[0] for r in con.execute(
        "select name_en from carbon.fct_official_comparison "
        "where not pass_fail_agrees order by province_code").fetchall()]
    for name in disagreeing:
        assert re.search(rf"{name} \((pass|fail) vs (pass|fail), margin [+-]\d+\.\d\d pp", line)


HEADER = "plan,assessment_year,province_code,province,official_grade,official_decline_pct,source\n"


def test_the_variable_replaces_the_shipped_results(real_run, tmp_path, monkeypatch) -> None:
    """A user's file replaces the shipped table whole: the run's comparison holds its two rows
    (a 2017 grade the package does not ship, Qinghai's 2016 grade changed to good) and none of
    the shipped ones; `none` leaves the comparison empty."""
    _, _, workdir = real_run
    mine = tmp_path / "mine.csv"
    mine.write_text(HEADER + '13th,2017,630000,青海,good,,"my source A"\n'
                             '13th,2016,630000,青海省,good,,"my source B"\n', encoding="utf-8")
    monkeypatch.setenv(OFFICIAL_RESULTS_ENV, str(mine))
    run_transforms(workdir)
    run_assessment(workdir)
    con = duckdb.connect(str(Path(workdir) / "compute.duckdb"), read_only=True)
    try:
        rows = _rows(con, "select assessment_year, province_code, official_grade, "
                          "official_source from fct_official_comparison order by 1")
    finally:
        con.close()
    assert rows == [
        {"assessment_year": 2016, "province_code": "630000", "official_grade": "good",
         "official_source": "my source B"},
        {"assessment_year": 2017, "province_code": "630000", "official_grade": "good",
         "official_source": "my source A"},
    ]
    monkeypatch.setenv(OFFICIAL_RESULTS_ENV, "none")
    memory = duckdb.connect()
    load_official_results(memory)
    assert memory.execute("select count(*) from official_results").fetchone() == (0,)


def test_the_shipped_results_are_the_default(monkeypatch) -> None:
    """Unset, the source holds the shipped table: 31 grades of 2016 and two national declines."""
    con = duckdb.connect()
    monkeypatch.delenv(OFFICIAL_RESULTS_ENV, raising=False)
    load_official_results(con)
    assert con.execute(
        "select count(*) filter (where assessment_year = '2016' and official_grade <> ''), "
        "count(*) filter (where province_code = '000000') from official_results"
    ).fetchone() == (31, 2)
    assert con.execute("select official_decline_pct from official_results "
                       "where plan = '13th' and province_code = '000000'").fetchone() == ("18.8",)


@pytest.mark.parametrize(("line", "column", "rule"), [
    ('13th,2016,630000,青海,gut,,"s"', "official_grade", "not a grade"),
    ('13th,2012,630000,青海,fail,,"s"', "assessment_year", "not a year of the 13th FYP"),
    ('15th,2026,630000,青海,fail,,"s"', "plan", "unknown plan"),
    ('13th,2016,630001,青海,fail,,"s"', "province_code", "not a GB/T 2260 province code"),
    ('13th,2016,630000,甘肃,fail,,"s"', "province", "does not name the province of code"),
    ('13th,2016,630000,青海,,,"s"', "official_grade", "neither a grade nor a decline"),
    ('13th,2020,000000,全国,,18.8%,"s"', "official_decline_pct", "not a percentage"),
    ("13th,2016,630000,青海,fail,,", "source", "no source"),
    ('13th,2016,110000,北京,excellent,,"s"', "province_code", "given in row 2 too"),
])
def test_a_bad_row_of_the_named_file_is_refused_naming_it(tmp_path, monkeypatch, line, column,
                                                         rule) -> None:
    """Row 3 (the header is row 1) is the bad one: the error names the file, that row, the
    column and the rule, and nothing is loaded."""
    path = tmp_path / "official.csv"
    path.write_text(HEADER + '13th,2016,110000,北京,excellent,,"s"\n' + line + "\n",
                    encoding="utf-8")
    monkeypatch.setenv(OFFICIAL_RESULTS_ENV, str(path))
    con = duckdb.connect()
    with pytest.raises(InputError) as info:
        load_official_results(con)
    assert (info.value.row, info.value.column) == (3, column)
    assert f"official.csv, row 3, column '{column}': {rule}" in str(info.value)
    assert con.execute("select count(*) from official_results").fetchone() == (0,)


def test_a_file_without_the_documented_columns_is_refused(tmp_path, monkeypatch) -> None:
    con = duckdb.connect()
    bad = tmp_path / "official.csv"
    bad.write_text("plan,province_code,official_grade\n13th,630000,fail\n", encoding="utf-8")
    monkeypatch.setenv(OFFICIAL_RESULTS_ENV, str(bad))
    with pytest.raises(CarbonAssessError, match="missing assessment_year, province, "
                                                "official_decline_pct, source"):
        load_official_results(con)
