"""Named rules of every expectation suite, with their severities, as DESIGN.md states them.

The expected names and severities are written here, from DESIGN.md (§3 blank and odd values,
levels and zeros; §4 validation: "required columns present; province codes in the GB/T 2260
provincial set; year in range; (province, year) unique; quantities non-negative; GDP index
within 80-130; year-on-year jumps over a threshold flagged as warnings; coverage of the years
each assessment needs"; §6 intensity; §7 assessment and grades) and issue 21, never read from
the code. They are checked against the committed suite files (include/carbon_assess/validate/
suites/*.json, what the validation runs); tests/test_validate.py::
test_sync_committed_suite_json_matches_the_code keeps those files equal to the code.

A suite file without an entry here fails (every raw_*, sheet_* and output_* suite has at least
one named rule checked), and so does a rule that is missing, renamed or of another severity.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SUITES_DIR = (Path(__file__).resolve().parent.parent
              / "include" / "carbon_assess" / "validate" / "suites")
E, W = "error", "warning"

# §4 and §3, for every raw source kind
RAW_COMMON = {
    "columns": E,  # required columns present
    "region_code_known": E,  # codes in the GB/T 2260 set
    "year_range": E,  # year in range
    "key_unique": E,  # (province, year) unique
    "value_not_negative": E,  # quantities non-negative ...
    "value_negative_noise": W,  # ... a negative within rounding noise is 0 with a warning
    "coverage_required": E,  # coverage of the years each assessment needs
}
RULES: dict[str, dict[str, str]] = {
    "raw_energy_consumption": {
        **RAW_COMMON,
        "yoy_jump": W,  # year-on-year jumps: warnings
        "value_positive": E,  # zero coal consumption is an input error (§3)
        "gap": W,  # a blank between reported years: interpolated, flagged (§3)
        "assumed_zero": W,  # a fuel never / no longer reported: 0 with a warning (§3)
        "no_fuel_data": W,  # Tibet: no fuel data at all (§3)
    },
    "raw_energy_production": {**RAW_COMMON, "yoy_jump": W},
    "raw_gdp": {**RAW_COMMON, "yoy_jump": W, "value_positive": E},
    "raw_gdp_index": {**RAW_COMMON, "gdp_index_range": E, "value_positive": E},
    "raw_population": {**RAW_COMMON, "yoy_jump": W, "value_positive": E},
    # §7: the measures sheet's points are checked against each sub-indicator's maximum; an
    # incomplete sheet understates the total (a warning)
    "sheet_measures": {"columns": E, "points_within_maximum": E, "key_unique": E,
                       "sheet_complete": W},
    # §6: targets are reference data; a supplied target far from the reference is used as given
    "sheet_targets": {"columns": E, "target_pct_range": E, "key_unique": E,
                      "target_near_reference": W},
    "sheet_annual_targets": {"columns": E, "annual_target_pct_range": E, "key_unique": E},
    "sheet_confirmed_declines": {"columns": E, "year_in_plan_12th": E,
                                 "confirmed_decline_pct_range": E, "key_unique": E},
    # §3 levels: a declared unit is no GB/T 2260 code, has a known level and parent
    "sheet_units": {"columns": E, "code_not_gb": E, "level_known": E, "parent_known": E},
    # the output gate: invariants of the model, all blocking (§3: a non-finite intermediate
    # never reaches a comparison; §6: d(t) = 1 - I(t)/I(B))
    "output_fct_intensity": {"key_unique": E, "intensity_positive": E,
                             "cumulative_decline_pct_finite": E,
                             "cumulative_decline_is_ratio": E},
    # §7: a veto makes the grade fail whatever the score; grades follow the thresholds
    "output_fct_target_assessment": {"key_unique": E, "veto_grade_fail": E,
                                     "grade_follows_score": E, "status_follows_decline": E,
                                     "margin_follows_status": E},
}
# bounds DESIGN.md states, (rule of suite) -> kwargs
BOUNDS = {
    ("raw_gdp_index", "gdp_index_range"): {"column": "value", "min_value": 80, "max_value": 130},
    ("raw_energy_consumption", "value_not_negative"): {"column": "value", "min_value": -1e-6},
    # 12th FYP: base year 2010 is a confirmed figure's earliest year (§7 chaining)
    ("sheet_confirmed_declines", "year_in_plan_12th"): {"min_value": 2010, "max_value": 2015},
}


def _committed() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(SUITES_DIR.glob("*.json"))}


def _rules(suite: dict) -> dict[str, dict]:
    return {e["meta"]["rule"]: e for e in suite["expectations"]}


def test_every_suite_file_has_named_rules_here() -> None:
    assert sorted(_committed()) == sorted(RULES)


@pytest.mark.parametrize("suite", sorted(RULES))
def test_suite_has_its_named_rules_with_their_severities(suite: str) -> None:
    rules = _rules(_committed()[suite])
    for rule, severity in RULES[suite].items():
        assert rule in rules, f"{suite}: no rule {rule!r} (rules: {sorted(rules)})"
        expectation = rules[rule]
        assert expectation["meta"]["severity"] == severity, (suite, rule)
        # GX's own severity: an error blocks the batch (critical), a warning is recorded
        assert expectation["severity"] == {E: "critical", W: "warning"}[severity], (suite, rule)


@pytest.mark.parametrize(("suite", "rule"), sorted(BOUNDS))
def test_rule_bounds_stated_in_the_design(suite: str, rule: str) -> None:
    kwargs = _rules(_committed()[suite])[rule]["kwargs"]
    for name, value in BOUNDS[(suite, rule)].items():
        assert kwargs.get(name) == value, (suite, rule, name, kwargs.get(name))
