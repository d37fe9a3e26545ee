"""Expectation suites for the raw layer, as code: one suite per source kind.

A suite is first described as plain `Rule` records (cheap to import, no GX), then turned into a
Great Expectations 1.x `ExpectationSuite` by `build_suite` (which imports GX lazily). Every
expectation carries in its `meta` the rule key, a one-line human description and its severity:

- `error`   blocks the batch (it is quarantined, nothing is computed or published);
- `warning` is recorded in the validation results and shown to the user.

The native GX `severity` field is set too (`critical` / `warning`) so Data Docs agree.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from carbon_assess.ingest.schema import NATIONAL_CODE, RAW_SCHEMA, SOURCE_KINDS

ERROR = "error"
WARNING = "warning"

YEAR_MIN, YEAR_MAX = 1949, 2100
NEGATIVE_NOISE = 1e-6  # |x| < 1e-6 is rounding noise (e.g. Qinghai kerosene 2006 = -1e-12)
GDP_INDEX_MIN, GDP_INDEX_MAX = 80, 130  # previous year = 100; catches 1.07 written for 107

# Year-on-year jump warnings: the ratio max(v, prev) / min(v, prev) of two consecutive years of
# the same province, variable and fuel. `floor` ignores pairs where both values are tiny
# (canonical units: 万吨, 亿立方米, 亿千瓦小时, 亿元, 万人). Energy series do jump for real
# (plant closures, new pipelines), hence the wide factor; GDP and population never grow 50 %.
YOY_COLUMN = "yoy_factor"  # derived column added to the DataFrame before validation
YOY_RULES: dict[str, tuple[float, float]] = {  # kind -> (max factor, floor)
    "energy_consumption": (5.0, 10.0),
    "energy_production": (5.0, 10.0),
    "gdp": (1.5, 0.0),
    "population": (1.5, 0.0),
}

FUELS = (
    "coal",
    "coke",
    "crude_oil",
    "gasoline",
    "kerosene",
    "diesel",
    "fuel_oil",
    "lpg",
    "refinery_gas",
    "natural_gas",
    "electricity",
)
ENERGY_KINDS = ("energy_consumption", "energy_production")

VARIABLES = {
    "energy_consumption": ("consumption",),
    "energy_production": ("production",),
    "gdp": ("gdp_current",),
    "gdp_index": ("gdp_index_prev_year",),
    "population": ("population",),
}
CANONICAL_UNITS = {  # see reference/units.csv (canonical_unit)
    "energy_consumption": ("万吨", "亿立方米", "亿千瓦小时"),
    "energy_production": ("万吨", "亿立方米", "亿千瓦小时"),
    "gdp": ("亿元",),
    "gdp_index": ("上年=100",),
    "population": ("万人",),
}

REQUIRED_COLUMNS = tuple(RAW_SCHEMA.names)
KEY_COLUMNS = ("province_code", "year", "variable", "fuel")
PROVINCES_CSV = Path(__file__).resolve().parents[1] / "reference" / "provinces.csv"


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, GX-free."""

    key: str  # unique within the suite, used to match GX results back to rules
    expectation: str  # GX 1.x expectation class name, e.g. ExpectColumnValuesToBeBetween
    kwargs: dict[str, Any] = field(hash=False)
    severity: str  # error | warning
    description: str  # the rule as a user reads it

    @property
    def column(self) -> str | None:
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


@cache
def province_codes() -> tuple[str, ...]:
    """The GB/T 2260 provincial codes of reference/provinces.csv, plus 000000 (national)."""
    with PROVINCES_CSV.open(encoding="utf-8-sig", newline="") as fh:
        codes = {row["code"].strip() for row in csv.DictReader(fh) if row.get("code")}
    return tuple(sorted(codes | {NATIONAL_CODE}))


def rules_for(kind: str, run_id: str | None = None) -> list[Rule]:
    """The rules of the suite for one source kind (optionally pinning the run id)."""
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
    for col in ("province_code", "year", "variable", "unit"):
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
            "province_code_in_set",
            "ExpectColumnValuesToBeInSet",
            {"column": "province_code", "value_set": list(province_codes())},
            ERROR,
            "province code must be a GB/T 2260 provincial code (or 000000 national)",
        ),
        Rule(
            "year_range",
            "ExpectColumnValuesToBeBetween",
            {"column": "year", "min_value": YEAR_MIN, "max_value": YEAR_MAX},
            ERROR,
            f"year must be between {YEAR_MIN} and {YEAR_MAX}",
        ),
        Rule(
            "variable_in_set",
            "ExpectColumnValuesToBeInSet",
            {"column": "variable", "value_set": list(VARIABLES[kind])},
            ERROR,
            f"variable must be {' or '.join(VARIABLES[kind])}",
        ),
        Rule(
            "unit_canonical",
            "ExpectColumnValuesToBeInSet",
            {"column": "unit", "value_set": list(CANONICAL_UNITS[kind])},
            ERROR,
            f"unit must be canonical ({', '.join(CANONICAL_UNITS[kind])})",
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
                {"column": "fuel", "value_set": list(FUELS)},
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
            "value must be >= 0 (|x| < 1e-6 tolerated as rounding noise)",
        ),
        Rule(
            "value_negative_noise",
            "ExpectColumnValuesToBeBetween",
            {"column": "value", "min_value": 0},
            WARNING,
            "negative value (rounding noise below 1e-6 is taken as 0 in staging)",
        ),
    ]
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
    """The GX 1.x ExpectationSuite `raw_<kind>` built from `rules_for(kind)`."""
    import os

    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx

    rules = rules if rules is not None else rules_for(kind, run_id)
    expectations = []
    for rule in rules:
        cls = getattr(gx.expectations, rule.expectation)
        expectations.append(
            cls(
                **rule.kwargs,
                description=rule.description,
                severity="critical" if rule.severity == ERROR else "warning",
                meta={"rule": rule.key, "severity": rule.severity, "description": rule.description},
            )
        )
    return gx.ExpectationSuite(name=f"raw_{kind}", expectations=expectations)


def add_yoy_factor(df, kind: str):
    """Return `df` with the derived column `yoy_factor` (NaN where not comparable).

    The factor is max(v, prev) / min(v, prev) between consecutive years of one
    (province, variable, fuel) series, when both values are > 0 and one is >= the kind's floor.
    """
    import numpy as np

    out = df.copy()
    out[YOY_COLUMN] = np.nan
    need = {"province_code", "variable", "fuel", "year", "value"}
    if kind not in YOY_RULES or not need <= set(df.columns) or df.empty:
        return out
    _, floor = YOY_RULES[kind]
    keys = ["province_code", "variable", "fuel"]
    d = df[[*keys, "year", "value"]].copy()
    d["fuel"] = d["fuel"].astype(object).where(d["fuel"].notna(), "")
    d["value"] = d["value"].astype("float64")
    d = d.sort_values([*keys, "year"], kind="stable")
    grouped = d.groupby(keys, sort=False, dropna=False)
    prev_value = grouped["value"].shift(1)
    prev_year = grouped["year"].shift(1)
    value = d["value"]
    hi = np.fmax(value, prev_value)
    lo = np.fmin(value, prev_value)
    comparable = (prev_year == d["year"] - 1) & (value > 0) & (prev_value > 0) & (hi >= floor)
    factor = (hi / lo).where(comparable)
    out[YOY_COLUMN] = factor.reindex(df.index).astype("float64")
    return out


__all__ = [
    "ERROR",
    "WARNING",
    "Rule",
    "add_yoy_factor",
    "build_suite",
    "province_codes",
    "rules_for",
]
