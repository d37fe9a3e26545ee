"""The output gate's expectation suites as code: one per computed fact table, run on
`<workdir>/compute.duckdb` after the assess stage and before publish (see `output_gate`).

- `output_fct_intensity`: numbers finite, intensity positive, declines within (-100, 100) %,
  each decline the intensity ratio it stands for, one row per (plan, province, year);
- `output_fct_target_assessment`: every province-year of every plan the data covers present with
  a status, one row per key, known statuses and grades, numbers finite, declines within bounds,
  status, target achieved, veto and grade consistent with the declines, targets, scoring rules
  and thresholds (DESIGN.md §7), insufficient data without any figure, scores within 0..maximum,
  margin_pp with the sign of the status, a reason on every row.

Like the input suites (`suites.py`), the rules are plain `Rule` records turned into GX 1.x
suites by `suites.gx_suite`, and kept as GX JSON beside them in `validate/suites/output_*.json`
(regenerate with `python -m carbon_assess.validate.output_suites`; a test fails when code and
JSON differ). A rule needing more than one column, or NaN and infinity (which pandas reads as
blanks, and GX skips blanks), is an expectation on a derived column computed in SQL by
`validate/sql/gate_<table>.sql`: a boolean `True` when the row passes, with a `note` column
explaining a failure. Every rule is an invariant of the models: all are **error** severity (a
failure blocks the publish), none is a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon_assess import reference
from carbon_assess.validate.suites import (
    ERROR,
    SUITES_DIR,
    WARNING,
    Rule,
    gx_suite,
    stable_json,
    write_suite_json,
)

OUTPUT_SUITE_VERSION = "2026-12-07.1"  # bump when a rule, bound or severity changes
SQL_DIR = Path(__file__).resolve().parent / "sql"

# The published tables the gate checks and their keys (publish/catalog.py primary keys).
OUTPUT_TABLES: dict[str, tuple[str, ...]] = {
    "fct_intensity": ("plan_id", "region_code", "year"),
    "fct_target_assessment": ("plan_id", "region_code", "assessment_year"),
}
# The labels int_target_assessment.sql gives (status, and grades besides the threshold grades).
STATUSES = ("met", "missed", "on schedule", "behind", "insufficient data", "no target")
GRADE_LABELS = ("provisional", "insufficient data", "not assessed")
DECLINE_MIN, DECLINE_MAX = -100, 100  # percent, both excluded


def output_suite_name(table: str) -> str:
    if table not in OUTPUT_TABLES:
        raise ValueError(f"the output gate has no suite for {table!r}")
    return f"output_{table}"


def gate_sql(table: str) -> str:
    """The SELECT giving the gate's batch for `table` (published rows + derived columns)."""
    output_suite_name(table)
    return (SQL_DIR / f"gate_{table}.sql").read_text(encoding="utf-8")


def grades() -> tuple[str, ...]:
    """Threshold grades of reference/grade_thresholds.csv, then the labels without a score."""
    names = dict.fromkeys(row["grade"] for row in reference.load("grade_thresholds"))
    return (*names, *GRADE_LABELS)


def _true(key: str, flag: str, description: str, cell: str, note: str | None = None) -> Rule:
    """An error rule on a derived boolean column: every row must be True."""
    return Rule(key, "ExpectColumnValuesToBeInSet", {"column": flag, "value_set": [True]},
                ERROR, description, cell=cell, note=note)


def _finite(column: str) -> Rule:
    # SQL: `column is null or isfinite(column)`; NaN, inf and -inf give False, a blank True.
    return _true(f"{column}_finite", f"{column}_finite",
                 f"{column} must be a finite number (no NaN or infinity)", column)


def _decides(value: bool) -> dict[str, Any]:
    """GX 1.x row condition `decides_verdict == value` (the gate relations' flag: the unit has a
    target in the row's plan, dim_target)."""
    return {"type": "comparison", "column": {"name": "decides_verdict"}, "operator": "==",
            "parameter": value}


def _decline_range(column: str) -> list[Rule]:
    # A decline of 100 % or more would need an intensity of 0 or below; -100 % or less an
    # intensity at least doubled against the base (or previous) year. The real NBS declines lie
    # between -25 % and 48 %; zero GDP or coal gave 100 % and -245 % (issue 10). The severity
    # follows the verdict: an error in a row that decides one (the unit has a target in the
    # plan), a warning elsewhere (the 11th FYP has no carbon targets: Hainan 2007, consumption
    # method, -115 %, when its refinery opened and apparent consumption doubled).
    kwargs = {"column": column, "min_value": DECLINE_MIN, "max_value": DECLINE_MAX,
              "strict_min": True, "strict_max": True}
    text = f"{column} must be strictly between {DECLINE_MIN} and {DECLINE_MAX} %"
    return [
        Rule(f"{column}_range", "ExpectColumnValuesToBeBetween",
             {**kwargs, "row_condition": _decides(True)}, ERROR,
             f"{text} (a row that decides a verdict)", cell=column),
        Rule(f"{column}_range_no_verdict", "ExpectColumnValuesToBeBetween",
             {**kwargs, "row_condition": _decides(False)}, WARNING,
             f"{text} (a row that decides no verdict: a plan without a target for the unit)",
             cell=column),
    ]


def _key(table: str) -> Rule:
    key = list(OUTPUT_TABLES[table])
    # pandas `duplicated` over the key columns: both rows of a duplicated key are reported.
    return Rule("key_unique", "ExpectCompoundColumnsToBeUnique",
                {"column_list": key, "ignore_row_if": "never"},
                ERROR, f"one row per {', '.join(key)}", cell=",".join(key))


def _intensity_rules() -> list[Rule]:
    return [
        _key("fct_intensity"),
        *(_finite(c) for c in ("intensity_t_per_10k_yuan", "energy_intensity_tce_per_10k_yuan",
                               "annual_decline_pct", "cumulative_decline_pct",
                               "expected_decline_pct", "completion_pct")),
        # I = CO2 / constant-price GDP: both positive for a province with data, else blank.
        Rule("intensity_positive", "ExpectColumnValuesToBeBetween",
             {"column": "intensity_t_per_10k_yuan", "min_value": 0, "strict_min": True},
             ERROR, "carbon intensity must be above 0", cell="intensity_t_per_10k_yuan"),
        *_decline_range("annual_decline_pct"),
        *_decline_range("cumulative_decline_pct"),
        # d(t) = 1 − I(t)/I(B) (int_intensity.sql), recomputed from the published intensities.
        _true("cumulative_decline_is_ratio", "cumulative_ratio_ok",
              "cumulative decline must be 100 × (1 − intensity / base-year intensity) "
              "(within 1e-9 pp)", "cumulative_decline_pct", "cumulative_ratio_note"),
        # annual decline = 1 − I(t)/I(t−1) (int_intensity.sql), likewise.
        _true("annual_decline_is_ratio", "annual_ratio_ok",
              "annual decline must be 100 × (1 − intensity / previous-year intensity) "
              "(within 1e-9 pp)", "annual_decline_pct", "annual_ratio_note"),
    ]


def _score_range(column: str) -> Rule:
    # Points = max_points × completion rate in 0..1 (scoring_rules.csv); measures points are
    # 0..each sub-indicator's maximum; total = target points + measures. Maxima in SQL.
    return _true(f"{column}_range", f"{column}_in_range",
                 f"{column} must be between 0 and its maximum", column, f"{column}_range")


def _assessment_rules() -> list[Rule]:
    table = "fct_target_assessment"
    return [
        _key(table),
        # The batch adds a blank row per missing province-year (full outer join with the grid
        # dim_plan × dim_province × years of data), so a deleted row has a blank status.
        Rule("complete", "ExpectColumnValuesToNotBeNull", {"column": "status"}, ERROR,
             "every province (dim_province) in every year of every plan whose base year the "
             "data covers must be in the table with a status", cell="status",
             note="coverage_note"),
        _true("row_in_plan", "in_grid",
              "a row must be a year of its plan that the data covers, for a province of "
              "dim_province", ",".join(OUTPUT_TABLES[table])),
        Rule("status_known", "ExpectColumnValuesToBeInSet",
             {"column": "status", "value_set": list(STATUSES)}, ERROR,
             f"status must be one of: {', '.join(STATUSES)}", cell="status"),
        Rule("grade_known", "ExpectColumnValuesToBeInSet",
             {"column": "grade", "value_set": list(grades())}, ERROR,
             f"grade must be one of: {', '.join(grades())} (reference/grade_thresholds.csv)",
             cell="grade"),
        *(_finite(c) for c in ("annual_decline_pct", "cumulative_decline_pct",
                               "cumulative_decline_direct_pct", "expected_decline_pct",
                               "completion_pct", "total_score", "margin_pp",
                               "margin_co2_mt", "margin_gdp_pct")),
        *_decline_range("annual_decline_pct"),
        *_decline_range("cumulative_decline_pct"),
        _true("end_of_plan", "end_of_plan_ok",
              "end_of_plan must be true exactly in the plan's end year (dim_plan)", "end_of_plan"),
        # The assessment reads its declines from int_intensity, published as fct_intensity.
        _true("declines_from_intensity", "declines_match_intensity",
              "annual and direct cumulative declines must be those of fct_intensity "
              "(within 1e-9 pp)", "annual_decline_pct,cumulative_decline_direct_pct",
              "intensity_note"),
        # D(t) = chained figure where a confirmed decline was supplied, else the direct one.
        _true("official_decline", "official_decline_ok",
              "cumulative decline must be the chained figure where there is one, else the "
              "direct figure", "cumulative_decline_pct"),
        # status: blank decline → insufficient data; no target → no target; plan's end year →
        # met iff reaches(decline, target), else missed; before → on schedule iff
        # reaches(decline, expected decline), else behind; a non-finite figure → no verdict.
        _true("status_follows_decline", "status_ok",
              "status must follow the cumulative decline against the target (end year: met / "
              "missed) or the expected decline (earlier: on schedule / behind), tolerance "
              "1e-9 pp; insufficient data exactly when a decline is blank", "status",
              "status_note"),
        # target_achieved = reaches(decline, target) in the end year, blank before.
        _true("target_achieved", "target_achieved_ok",
              "target_achieved must be true for met, false for missed and blank otherwise",
              "target_achieved"),
        # DESIGN §7: missing data gives insufficient data, never a number.
        _true("insufficient_data_has_no_figures", "insufficient_data_has_no_figures",
              "an insufficient-data row must have no decline, completion, score, veto or "
              "target_achieved", "status"),
        # DESIGN §7: missing a part marked veto_if_missed (annual target, cumulative progress
        # target) is a veto; blank where there is no decline or no target.
        _true("veto_follows_declines", "veto_ok",
              "veto must be true exactly when the annual decline misses the annual target or "
              "the cumulative decline misses the expected decline (parts with "
              "veto_if_missed in reference/scoring_rules.csv)", "veto", "veto_note"),
        # DESIGN §7: "the grade is fail whatever the score". A province can be met and fail.
        _true("veto_grade_fail", "veto_grade_ok",
              "a vetoed row must be graded fail whatever its score", "grade"),
        # grade: insufficient data / not assessed (no target) / fail (veto) / provisional (no
        # measures score) / else the highest threshold the total reaches (grade_thresholds.csv).
        _true("grade_follows_score", "grade_ok",
              "grade must follow data, target, veto, measures score and the thresholds of "
              "reference/grade_thresholds.csv", "grade", "grade_note"),
        _true("provisional_flag", "provisional_flag_ok",
              "grade_is_provisional must be true exactly when the grade is provisional",
              "grade_is_provisional"),
        # issue 12: the margin has the status's sign; every grade has a reason.
        _true("margin_follows_status", "margin_sign_ok",
              "margin_pp must be present with a verdict and blank without one, >= -1e-9 pp for "
              "met or on schedule and < 0 for missed or behind", "margin_pp", "margin_note"),
        _true("reason_present", "reason_ok", "every published row must have a reason",
              "reason"),
        *(_score_range(c) for c in ("annual_target_score", "cumulative_target_score",
                                    "target_score", "measures_score", "total_score")),
    ]


def output_rules(table: str) -> list[Rule]:
    """The rules of the suite `output_<table>`."""
    output_suite_name(table)
    return _intensity_rules() if table == "fct_intensity" else _assessment_rules()


def build_output_suite(table: str, rules: list[Rule] | None = None):
    """The GX 1.x ExpectationSuite `output_<table>`."""
    rules = rules if rules is not None else output_rules(table)
    return gx_suite(output_suite_name(table), rules,
                    {"version": OUTPUT_SUITE_VERSION, "table": table})


def output_suite_json(table: str) -> dict[str, Any]:
    return stable_json(build_output_suite(table))


def export_output_suites(directory: Path = SUITES_DIR) -> list[Path]:
    """Write `output_<table>.json` for every checked table; returns the paths."""
    return [write_suite_json(output_suite_json(table), directory) for table in OUTPUT_TABLES]


__all__ = [
    "OUTPUT_SUITE_VERSION",
    "OUTPUT_TABLES",
    "STATUSES",
    "build_output_suite",
    "export_output_suites",
    "gate_sql",
    "grades",
    "output_rules",
    "output_suite_json",
    "output_suite_name",
]


if __name__ == "__main__":
    for written in export_output_suites():
        print(written)
