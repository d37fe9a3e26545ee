"""Expectation suites as code: one suite per source kind and per assessment sheet (GX 1.x).

Suites on the raw statistics (`<workdir>/raw/<kind>.parquet`): `raw_energy_consumption`,
`raw_energy_production`, `raw_gdp`, `raw_gdp_index`, `raw_population`.

Suites on the assessment sheets a user drops in the landing folder
(`<workdir>/sheets/<kind>.parquet`, see `carbon_assess.ingest.sheets`), including the reference
tables a user can override (targets, annual targets, confirmed declines):
`sheet_measures`, `sheet_targets`, `sheet_annual_targets`, `sheet_confirmed_declines`. Ingest
only parses a sheet (header, numbers, years, required values, province → code); every rule on the
values is here: plan known (reference/plans.csv), year inside the plan (base year allowed for
confirmed declines), sub-indicator known for the plan and points between 0 and its maximum
(reference/measures_indicators.csv), percentages in range, one row per key across all files of a
kind; warnings for an incomplete measures sheet and a target far from the reference target.

A suite is first described as plain `Rule` records (cheap to import, no GX), then turned into a
Great Expectations 1.x `ExpectationSuite` by `build_suite` (which imports GX lazily). Every
expectation carries in its `meta` the rule key, a one-line human description and its severity
(and, for sheets, the sheet `cell` the report prints and the `note` column explaining a finding):

- `error`   blocks the batch (it is quarantined, nothing is computed or published);
- `warning` is recorded in the validation results and shown to the user.

The native GX `severity` field is set too (`critical` / `warning`) so Data Docs agree.

Versioning: `SUITE_VERSION` is stored in each suite's meta, and the suites as GX JSON are kept
in `validate/suites/<suite>.json` (regenerate with `python -m carbon_assess.validate.suites`;
a test fails when code and JSON differ, so a change to a rule shows up in review). Checks that
need more than one row (year-on-year change, level shift, coverage, the blank-value policy, an
incomplete measures sheet) or a reference lookup (a sub-indicator's maximum, the reference
target) are expectations on derived columns computed in `checks.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon_assess import reference
from carbon_assess.ingest.schema import (
    NATIONAL_CODE,
    RAW_SCHEMA,
    RAW_SQL_TYPES,
    SOURCE_KINDS,
    canonical_units,
    fuels,
    source_units,
    variables,
)
from carbon_assess.ingest.sheets import SHEETS
from carbon_assess.transform import NEGATIVE_NOISE
from carbon_assess.validate.checks import (
    COLUMN_LEVEL,
    COLUMN_MIN_PROVINCES,
    DEFLATOR,
    EXCURSION,
    EXCURSION_MINOR,
    IMPLAUSIBLE,
    IMPLAUSIBLE_INTENSITY,
    LEVEL_COLUMN,
    LEVEL_RULES,
    LEVEL_SHIFT_MAX,
    MISSING_REQUIRED,
    MISSING_YEAR,
    NOT_FINITE,
    NOT_POSITIVE,
    POSITIVE_REQUIRED,
    RATIO_ROWS,
    YOY_COLUMN,
    YOY_RULES,
)
from carbon_assess.validate.sheet_checks import (
    CODE_IN_GB,
    KEY_NOTE,
    MAX_POINTS,
    MAX_POINTS_NOTE,
    MISSING_INDICATORS,
    PARENT_UNKNOWN,
    REGION_UNKNOWN,
    TARGET_DIFFERENCE,
    TARGET_DIFFERENCE_MAX,
    TARGET_DIFFERENCE_NOTE,
)

ERROR = "error"
WARNING = "warning"
SUITE_VERSION = "2026-12-08.1"  # bump when a rule, threshold or severity changes
SUITES_DIR = Path(__file__).resolve().parent / "suites"

YEAR_MIN = 1949
CURRENT_YEAR_PARAMETER = "current_year"  # $PARAMETER: the year of the validation run
# $PARAMETER: every unit code a row may name: GB/T 2260 units of reference/regions.csv, the
# nation (000000) and the units the batch's units sheet declares (`known_region_codes`)
KNOWN_REGIONS_PARAMETER = "known_region_codes"
_NOISE = f"{NEGATIVE_NOISE:.0e}".replace("e-0", "e-")  # 1e-6, as the descriptions say it
GDP_INDEX_MIN, GDP_INDEX_MAX = 80, 130  # previous year = 100; catches 1.07 written for 107

ENERGY_KINDS = ("energy_consumption", "energy_production")
# the columns whose type the raw suites check, as ingest writes them (VARCHAR, INTEGER, DOUBLE)
COLUMN_TYPES = {c: RAW_SQL_TYPES[c] for c in ("region_code", "year", "variable", "value")}

SHEET_KINDS = tuple(SHEETS)  # measures, targets, annual_targets, confirmed_declines
SHEET_LABELS = {
    "measures": "measures score sheet",
    "targets": "targets sheet",
    "annual_targets": "annual targets sheet",
    "confirmed_declines": "confirmed declines sheet",
    "units": "units sheet",
}
SHEET_RANGES = {  # value column -> (min, max, strict, description)
    "target_pct": (0, 100, True, "a reduction target is a percentage strictly between 0 and 100"),
    "annual_target_pct": (
        0, 100, True, "an annual reduction target is a percentage strictly between 0 and 100"),
    # strictly, as the output gate holds every decline (accepted_range in fct_*.yml): 100 %
    # would mean no emissions at all, and a chained decline built on it could never be checked
    "confirmed_decline_pct": (
        -100, 100, True,
        "a confirmed cumulative decline is a percentage strictly between -100 and 100"),
}

REQUIRED_COLUMNS = tuple(RAW_SCHEMA.names)
KEY_COLUMNS = ("region_code", "year", "variable", "fuel")


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, GX-free."""

    key: str  # unique within the suite, used to match GX results back to rules
    expectation: str  # GX 1.x expectation class name, e.g. ExpectColumnValuesToBeBetween
    kwargs: dict[str, Any] = field(hash=False)
    severity: str  # error | warning
    description: str  # the rule as a user reads it
    cell: str | None = None  # sheets: the column(s) whose cell the report prints (a,b for keys)
    note: str | None = None  # sheets: the batch column whose text explains a finding

    @property
    def column(self) -> str | None:
        if self.cell:
            return self.cell
        if "column" in self.kwargs:
            return self.kwargs["column"]
        if "column_list" in self.kwargs:
            return ",".join(self.kwargs["column_list"])
        return None

    @property
    def expectation_type(self) -> str:
        """ExpectColumnValuesToBeBetween -> expect_column_values_to_be_between."""
        name = self.expectation
        return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def region_codes(declared: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Every code a row may name: the GB/T 2260 units of reference/regions.csv (provinces,
    prefectures, counties), 000000 (national) and the `declared` units of a units sheet."""
    return tuple(sorted({r["code"] for r in reference.load("regions")} | {NATIONAL_CODE}
                        | set(declared)))


def declared_units(run: Any) -> tuple[str, ...]:
    """The codes a run's units sheet declares (`<workdir>/sheets/units.parquet`), if any."""
    path = run.sheet("units")
    if not path.exists():
        return ()
    import pyarrow.parquet as pq

    # ParquetFile.read: read_table goes through pyarrow.dataset, which imports pandas
    codes = pq.ParquetFile(path).read(columns=["code"])["code"].to_pylist()
    return tuple(str(c) for c in codes if c)


def for_batch(parameters: dict[str, Any], codes: set[str]) -> dict[str, Any]:
    """`parameters` with the code sets cut down to the codes the batch names: the same verdict
    for every row (a row's code is in the cut set exactly when it is in the whole set), and
    Great Expectations copies each expectation's arguments thousands of times per run, so a
    3,207-code set would cost seconds on a provincial batch."""
    return {name: sorted(set(value) & codes)
            if name == KNOWN_REGIONS_PARAMETER else value
            for name, value in parameters.items()}


def declarable_levels() -> tuple[str, ...]:
    """Levels a units sheet may give a declared unit (reference/region_levels.csv)."""
    return tuple(r["level"] for r in reference.load("region_levels") if r["declarable"] == "true")


def suite_parameters(year: int, declared: tuple[str, ...] = ()) -> dict[str, Any]:
    """The $PARAMETER values of every suite for a run in `year` whose units sheet declares
    `declared` (the sets are parameters so the suites' JSON stays readable)."""
    return {
        CURRENT_YEAR_PARAMETER: year,
        KNOWN_REGIONS_PARAMETER: list(region_codes(declared)),
    }


# Rules that read what the models made of the batch (blank-value statuses, CO2): evaluated after
# compute (validate.post_compute, in the check_outputs stage), never by input validation, which
# runs no model (issue 19: layers run forward). They stay in their kind's suite.
POST_COMPUTE_RULES = frozenset({"gap", "assumed_zero", "coal_missing", "no_fuel_data",
                                "not_covered", "plausible_intensity"})


def _null(key: str, column: str, severity: str, description: str) -> Rule:
    return Rule(key, "ExpectColumnValuesToBeNull", {"column": column}, severity, description)


def suite_name(kind: str) -> str:
    """`raw_<kind>` for a source kind, `sheet_<kind>` for an assessment sheet kind."""
    if kind in SHEET_KINDS:
        return f"sheet_{kind}"
    if kind in SOURCE_KINDS:
        return f"raw_{kind}"
    raise ValueError(f"unknown source or sheet kind {kind!r}")


SUITE_KINDS = (*SOURCE_KINDS, *SHEET_KINDS)  # every suite, in the order validation runs them


def _plan_condition(plan: str) -> dict[str, Any]:
    """GX 1.x row condition `plan == <plan>` (a serialised `Column("plan") == plan`)."""
    return {"type": "comparison", "column": {"name": "plan"}, "operator": "==",
            "parameter": plan}


def sheet_rules_for(kind: str) -> list[Rule]:
    """The rules of the `sheet_<kind>` suite (reference data read from reference/*.csv)."""
    if kind not in SHEET_KINDS:
        raise ValueError(f"unknown sheet kind {kind!r}")
    spec = SHEETS[kind]
    label = SHEET_LABELS[kind]
    plans = reference.load("plans")
    indicators: dict[str, list[str]] = {}
    for row in reference.load("measures_indicators"):
        indicators.setdefault(row["plan_id"], []).append(row["indicator"])
    rules = [
        Rule(
            "columns",
            "ExpectTableColumnsToMatchSet",
            {"column_set": [*spec["required"], "source_file", "source_row"],
             "exact_match": False},
            ERROR,
            f"required {label} columns present",
        ),
    ]
    if "plan" not in spec["required"]:
        pass  # units sheet: no plan
    elif kind == "measures":
        rules.append(Rule(
            "plan_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "plan", "value_set": list(indicators)},
            ERROR,
            "plan must have sub-indicators in reference/measures_indicators.csv "
            f"({', '.join(indicators)})",
            cell="plan",
        ))
    else:
        known = [p["plan_id"] for p in plans]
        rules.append(Rule(
            "plan_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "plan", "value_set": known},
            ERROR,
            f"plan must be one of reference/plans.csv ({', '.join(known)})",
            cell="plan",
        ))
    if "region" in spec["required"]:
        rules.append(Rule(
            "region_known",
            "ExpectColumnValuesToBeNull",
            {"column": REGION_UNKNOWN},
            ERROR,
            "region must be a GB/T 2260 unit (reference/regions.csv) or a unit declared in a "
            "units sheet",
            cell="region",
            note=REGION_UNKNOWN,
        ))
    if kind == "units":
        rules += [
            Rule(
                "code_not_gb",
                "ExpectColumnValuesToBeNull",
                {"column": CODE_IN_GB},
                ERROR,
                "a declared unit's code must not be a GB/T 2260 code (those units are known "
                "already: reference/regions.csv)",
                cell="code",
                note=CODE_IN_GB,
            ),
            Rule(
                "level_known",
                "ExpectColumnValuesToBeInSet",
                {"column": "level", "value_set": list(declarable_levels())},
                ERROR,
                "level must be one a units sheet may declare (reference/region_levels.csv: "
                f"{', '.join(declarable_levels())})",
                cell="level",
            ),
            Rule(
                "parent_known",
                "ExpectColumnValuesToBeNull",
                {"column": PARENT_UNKNOWN},
                ERROR,
                "parent must be a GB/T 2260 unit or another declared unit",
                cell="parent",
                note=PARENT_UNKNOWN,
            ),
        ]
    if "year" in spec["required"]:
        for plan in plans:
            plan_id = plan["plan_id"]
            if kind == "measures" and plan_id not in indicators:
                continue  # such rows already fail plan_known
            end = int(plan["end_year"])
            if kind == "confirmed_declines":
                low = int(plan["base_year"])
                text = f"the base year {low} and the final year {end}"
            else:
                low = int(plan["start_year"])
                text = f"{low} and {end}"
            rules.append(Rule(
                f"year_in_plan_{plan_id}",
                "ExpectColumnValuesToBeBetween",
                {"column": "year", "min_value": low, "max_value": end,
                 "row_condition": _plan_condition(plan_id)},
                ERROR,
                f"year of a {plan_id} FYP row must be between {text}",
                cell="year",
            ))
    if kind == "measures":
        for plan_id, names in indicators.items():
            rules.append(Rule(
                f"indicator_known_{plan_id}",
                "ExpectColumnValuesToBeInSet",
                {"column": "indicator", "value_set": names,
                 "row_condition": _plan_condition(plan_id)},
                ERROR,
                f"sub-indicator must be one of the {len(names)} of the {plan_id} FYP "
                "(reference/measures_indicators.csv)",
                cell="indicator",
            ))
        rules += [
            Rule(
                "points_not_negative",
                "ExpectColumnValuesToBeBetween",
                {"column": "points", "min_value": 0},
                ERROR,
                "points must be >= 0",
                cell="points",
            ),
            Rule(
                "points_within_maximum",
                "ExpectColumnPairValuesAToBeGreaterThanB",
                {"column_A": MAX_POINTS, "column_B": "points", "or_equal": True,
                 "ignore_row_if": "either_value_is_missing"},
                ERROR,
                "points must not exceed the sub-indicator maximum "
                "(reference/measures_indicators.csv max_points)",
                cell="points",
                note=MAX_POINTS_NOTE,
            ),
        ]
    for column, (low, high, strict, text) in SHEET_RANGES.items():
        if column in spec["required"]:
            rules.append(Rule(
                f"{column}_range",
                "ExpectColumnValuesToBeBetween",
                {"column": column, "min_value": low, "max_value": high,
                 "strict_min": strict, "strict_max": strict},
                ERROR,
                text,
                cell=column,
            ))
    rules.append(Rule(
        "key_unique",
        *(("ExpectCompoundColumnsToBeUnique",
           {"column_list": list(spec["key"]), "ignore_row_if": "never"})
          if len(spec["key"]) > 1 else
          ("ExpectColumnValuesToBeUnique", {"column": spec["key"][0]})),
        ERROR,
        f"one row per {', '.join(spec['key'])} across all {label} files",
        note=KEY_NOTE,
    ))
    if kind == "measures":
        rules.append(Rule(
            "sheet_complete",
            "ExpectColumnValuesToBeNull",
            {"column": MISSING_INDICATORS},
            WARNING,
            "a province-year has points for some but not all sub-indicators of the plan "
            "(incomplete sheet: its measures total is understated)",
            cell="plan,year,region",
            note=MISSING_INDICATORS,
        ))
    if kind == "targets":
        rules.append(Rule(
            "target_near_reference",
            "ExpectColumnValuesToBeBetween",
            {"column": TARGET_DIFFERENCE, "min_value": -TARGET_DIFFERENCE_MAX,
             "max_value": TARGET_DIFFERENCE_MAX},
            WARNING,
            f"target differs from the reference target by more than {TARGET_DIFFERENCE_MAX:g} "
            "percentage points (used as given)",
            cell="target_pct",
            note=TARGET_DIFFERENCE_NOTE,
        ))
    return rules


def rules_for(kind: str, run_id: str | None = None) -> list[Rule]:
    """The rules of the suite for one source kind (optionally pinning the run id) or sheet kind
    (`run_id` is not used: sheets carry no run id)."""
    if kind in SHEET_KINDS:
        return sheet_rules_for(kind)
    if kind not in SOURCE_KINDS:
        raise ValueError(f"unknown source kind {kind!r}")
    rules = [
        Rule(
            "columns",
            "ExpectTableColumnsToMatchSet",
            {"column_set": list(REQUIRED_COLUMNS), "exact_match": False},
            ERROR,
            "required raw columns present",
        ),
    ]
    for col, type_ in COLUMN_TYPES.items():
        rules.append(
            Rule(
                f"type_{col}",
                "ExpectColumnValuesToBeOfType",
                {"column": col, "type_": type_},
                ERROR,
                f"{col} must be of type {type_}",
            )
        )
    for col in ("region_code", "year", "variable", "unit", "source_file"):
        rules.append(
            Rule(
                f"not_null_{col}",
                "ExpectColumnValuesToNotBeNull",
                {"column": col},
                ERROR,
                f"{col} must not be blank",
            )
        )
    rules += [
        Rule(
            "region_code_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "region_code", "value_set": {"$PARAMETER": KNOWN_REGIONS_PARAMETER}},
            ERROR,
            "region code must be a GB/T 2260 unit (reference/regions.csv), 000000 national, or "
            "a unit declared in a units sheet",
        ),
        Rule(
            "year_range",
            "ExpectColumnValuesToBeBetween",
            {
                "column": "year",
                "min_value": YEAR_MIN,
                "max_value": {"$PARAMETER": CURRENT_YEAR_PARAMETER},
            },
            ERROR,
            f"year must be between {YEAR_MIN} and the current year",
        ),
        Rule(
            "variable_in_set",
            "ExpectColumnValuesToBeInSet",
            {"column": "variable", "value_set": list(variables(kind))},
            ERROR,
            f"variable must be {' or '.join(variables(kind))}",
        ),
        Rule(
            "unit_canonical",
            "ExpectColumnValuesToBeInSet",
            {"column": "unit", "value_set": list(canonical_units(kind))},
            ERROR,
            f"unit must be canonical ({', '.join(canonical_units(kind))})",
        ),
        Rule(
            "source_unit_known",
            "ExpectColumnValuesToBeInSet",
            {"column": "source_unit", "value_set": list(source_units(kind))},
            ERROR,
            "unit in the header must be one the pipeline converts (reference/units.csv)",
        ),
    ]
    if kind in ENERGY_KINDS:
        rules += [
            Rule(
                "fuel_not_null",
                "ExpectColumnValuesToNotBeNull",
                {"column": "fuel"},
                ERROR,
                "fuel must be set for energy rows",
            ),
            Rule(
                "fuel_in_set",
                "ExpectColumnValuesToBeInSet",
                {"column": "fuel", "value_set": list(fuels())},
                ERROR,
                "fuel must be a known fuel",
            ),
        ]
    else:
        rules.append(
            Rule(
                "fuel_null",
                "ExpectColumnValuesToBeNull",
                {"column": "fuel"},
                ERROR,
                "fuel must be empty for non-energy rows",
            )
        )
    rules += [
        Rule(
            "key_unique",
            # pandas `duplicated` treats null fuels as equal, so (p, y, v, NULL) twice is caught
            "ExpectCompoundColumnsToBeUnique",
            {"column_list": list(KEY_COLUMNS), "ignore_row_if": "never"},
            ERROR,
            "(province, year, variable, fuel) must be unique",
        ),
        Rule(
            "value_not_negative",
            "ExpectColumnValuesToBeBetween",
            {"column": "value", "min_value": -NEGATIVE_NOISE},
            ERROR,
            f"value must be >= 0 (|x| < {_NOISE} tolerated as rounding noise)",
        ),
        Rule(
            "value_negative_noise",
            "ExpectColumnValuesToBeBetween",
            {"column": "value", "min_value": 0},
            WARNING,
            f"negative value (rounding noise below {_NOISE} is taken as 0 in staging)",
        ),
    ]
    if kind in POSITIVE_REQUIRED:
        rules.append(_null(
            "value_positive",
            NOT_POSITIVE,
            ERROR,
            "GDP, GDP index, population and coal consumption must be > 0 (a zero is an input "
            "error, not a structural zero; leave a cell that is not reported blank)",
        ))
    rules.append(_null(
        "value_finite",
        NOT_FINITE,
        ERROR,
        "value must be a finite number (no NaN or infinity)",
    ))
    if kind == "gdp_index":
        rules.append(
            Rule(
                "gdp_index_range",
                "ExpectColumnValuesToBeBetween",
                {"column": "value", "min_value": GDP_INDEX_MIN, "max_value": GDP_INDEX_MAX},
                ERROR,
                f"GDP index (previous year = 100) must be between {GDP_INDEX_MIN} and "
                f"{GDP_INDEX_MAX}",
            )
        )
    if kind in YOY_RULES:
        factor, floor = YOY_RULES[kind]
        rules.append(
            Rule(
                "yoy_jump",
                "ExpectColumnValuesToBeBetween",
                {"column": YOY_COLUMN, "max_value": factor},
                WARNING,
                f"year-on-year change above {factor:g}x"
                + (f" (values >= {floor:g})" if floor else ""),
            )
        )
    if kind in LEVEL_RULES:
        rules.append(
            Rule(
                "level_shift",
                "ExpectColumnValuesToBeBetween",
                {"column": LEVEL_COLUMN, "max_value": LEVEL_SHIFT_MAX},
                ERROR,
                f"value more than {LEVEL_SHIFT_MAX:g}x above or below the usual level of its "
                "series or year (below: coal, GDP and population only) "
                "(unit mix-up, e.g. 吨 given as 万吨)",
            )
        )
    if kind in LEVEL_RULES:
        rules.append(_null(
            "excursion",
            EXCURSION,
            ERROR,
            "a single cell about 10^k times (k a non-zero integer) both its neighbours in its "
            "own series (reference/plausibility_bounds.csv excursion): a typo or a unit slip",
        ))
        rules.append(_null(
            "excursion_minor",
            EXCURSION_MINOR,
            WARNING,
            "a single cell about 10^k times both its neighbours where a dip or a small value "
            "can be real (a fuel other than coal falling, values below the level floor): a "
            "typo or a unit slip?; the verdicts that use the cell are provisional",
        ))
    if kind == "gdp_index":
        rules.append(_null(
            "implied_deflator",
            DEFLATOR,
            WARNING,
            "implied GDP deflator (nominal GDP growth over the index) outside its band or far "
            "from the same year's peers (reference/plausibility_bounds.csv implied_deflator): an "
            "index on another basis (cumulative?) or a GDP level off; the verdicts that use the "
            "cell are provisional",
        ))
    if kind in ("energy_consumption", "energy_production", "gdp", "population"):
        rules.append(_null(
            "column_level",
            COLUMN_LEVEL,
            ERROR,
            f"the median coal consumption per person of a column (>= {COLUMN_MIN_PROVINCES} "
            "provinces) outside the plausible bounds (reference/plausibility_bounds.csv): the "
            "unit in the header is off by a power of ten (the population column's when GDP per "
            "person is off alike; other fuels: reference/column_level_bounds.csv)",
        ))
    if kind in {k for k, _, _ in RATIO_ROWS.values()}:
        rules.append(_null(
            "plausible",
            IMPLAUSIBLE,
            ERROR,
            "a province-year outside the plausible bounds of coal per GDP, coal per person or "
            "GDP per person (reference/plausibility_bounds.csv): a unit mix-up",
        ))
        rules.append(_null(
            "plausible_intensity",
            IMPLAUSIBLE_INTENSITY,
            ERROR,
            "a province-year whose carbon intensity, as the models compute it, is outside the "
            "plausible bounds (reference/plausibility_bounds.csv): a fuel or GDP in the wrong "
            "unit (checked after compute)",
        ))
    rules += [
        _null(
            "coverage_required",
            MISSING_REQUIRED,
            ERROR,
            "a plan base or final year the release covers is missing for this province",
        ),
        _null(
            "coverage_year",
            MISSING_YEAR,
            WARNING,
            "a year the release covers is missing for this province (insufficient data)",
        ),
    ]
    if kind == "energy_consumption":
        rules += [
            _null("gap", "gap", WARNING,
                  "blank consumption between reported years (interpolated, imputed)"),
            _null("assumed_zero", "assumed_zero", WARNING,
                  "fuel not (or no longer) reported, taken as 0 (assumed_zero)"),
            _null("coal_missing", "coal_missing", WARNING,
                  "coal blank (or 0 in a year without any other fuel figure): province-year "
                  "is insufficient data"),
            _null("no_fuel_data", "no_fuel_data", WARNING,
                  "province without any fuel consumption data (insufficient data)"),
            _null("not_covered", "not_covered", WARNING,
                  "fuel reported by no province in some years of the release"),
        ]
    if run_id is not None:
        rules.append(
            Rule(
                "run_id",
                "ExpectColumnValuesToBeInSet",
                {"column": "run_id", "value_set": [run_id]},
                ERROR,
                f"run_id must be {run_id} (run.json); a stale raw file from another run?",
            )
        )
    return rules


def build_suite(kind: str, run_id: str | None = None, rules: list[Rule] | None = None):
    """The GX 1.x ExpectationSuite `raw_<kind>` / `sheet_<kind>` built from `rules_for(kind)`."""
    rules = rules if rules is not None else rules_for(kind, run_id)
    return gx_suite(suite_name(kind), rules, {"version": SUITE_VERSION, "source_kind": kind})


def gx_suite(name: str, rules: list[Rule], suite_meta: dict[str, Any]):
    """A GX 1.x ExpectationSuite `name` with one expectation per rule (rule key, severity and
    description in each expectation's meta) and `suite_meta`."""
    import os

    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx

    expectations = []
    for rule in rules:
        cls = getattr(gx.expectations, rule.expectation)
        meta = {"rule": rule.key, "severity": rule.severity, "description": rule.description}
        meta.update({k: v for k, v in (("cell", rule.cell), ("note", rule.note)) if v})
        expectations.append(
            cls(
                **rule.kwargs,
                description=rule.description,
                severity="critical" if rule.severity == ERROR else "warning",
                meta=meta,
            )
        )
    return gx.ExpectationSuite(name=name, expectations=expectations, meta=suite_meta)


def stable_json(suite) -> dict[str, Any]:
    """A GX suite as GX serialises it, minus volatile ids and the GX version."""
    data = suite.to_json_dict()
    data.pop("id", None)
    data.get("meta", {}).pop("great_expectations_version", None)
    for expectation in data.get("expectations", []):
        expectation.pop("id", None)
    return data


def suite_json(kind: str) -> dict[str, Any]:
    """The suite (without the per-run run_id rule) as GX serialises it, minus volatile ids."""
    return stable_json(build_suite(kind))


def write_suite_json(data: dict[str, Any], directory: Path = SUITES_DIR) -> Path:
    """`<directory>/<suite name>.json`, as committed (sorted keys, indented)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{data['name']}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def export_suites(directory: Path = SUITES_DIR) -> list[Path]:
    """Write `<suite>.json` (raw_<kind>, sheet_<kind>) for every suite; returns the paths."""
    return [write_suite_json(suite_json(kind), directory) for kind in SUITE_KINDS]


__all__ = [
    "ERROR",
    "POST_COMPUTE_RULES",
    "SHEET_KINDS",
    "SUITE_KINDS",
    "SUITE_VERSION",
    "WARNING",
    "Rule",
    "build_suite",
    "export_suites",
    "gx_suite",
    "region_codes",
    "rules_for",
    "sheet_rules_for",
    "suite_json",
    "suite_name",
    "write_suite_json",
]


if __name__ == "__main__":
    for written in export_suites():
        print(written)
