"""Shared by the derived checks and the output gate: reference lookups, how a number reads, and
the shape of a result row."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

from carbon_assess import reference
from carbon_assess.transform import current_factor_version


@cache
def plan_years() -> dict[int, str]:
    """Plan base and final years -> 'base year of the 12th FYP, final year of the 11th FYP'."""
    roles: dict[int, list[str]] = defaultdict(list)
    for row in reference.load("plans"):
        roles[int(row["base_year"])].append(f"base year of the {row['plan_id']} FYP")
        roles[int(row["end_year"])].append(f"final year of the {row['plan_id']} FYP")
    return {year: ", ".join(sorted(r)) for year, r in roles.items()}


@cache
def fossil_fuels() -> frozenset[str]:
    """Fuels with a combustion emission factor in the version a run uses (emission_factors.csv)."""
    version = current_factor_version()
    return frozenset(r["fuel"] for r in reference.load("emission_factors")
                     if r["factor_version"] == version)


@dataclass(frozen=True)
class PlausibilityBound:
    """One row of reference/plausibility_bounds.csv (the newest version)."""

    ratio: str  # coal_per_gdp, coal_per_capita, carbon_intensity, gdp_per_capita
    scope: str  # province_year (each province-year) | column_median (median of one column)
    unit: str
    minimum: float
    maximum: float
    observed_min: float  # the real NBS release, as the basis column explains
    observed_max: float


def newest_bounds(name: str) -> tuple[dict[str, str], ...]:
    """The rows of a versioned bounds table (reference/<name>.csv) of its newest
    `bounds_version`: a later release that leaves a range adds a version, older ones stay."""
    rows = reference.load(name)
    version = max(r["bounds_version"] for r in rows)
    return tuple(r for r in rows if r["bounds_version"] == version)


@cache
def plausibility_bounds() -> tuple[PlausibilityBound, ...]:
    return tuple(
        PlausibilityBound(r["ratio"], r["scope"], r["unit"], float(r["min"]), float(r["max"]),
                          float(r["observed_min"]), float(r["observed_max"]))
        for r in newest_bounds("plausibility_bounds")
    )


@cache
def peer_levels() -> dict[str, str]:
    """GB/T 2260 code -> level (province, prefecture, county): the units a value is compared
    with (a code not in the list is a declared unit, compared with declared units)."""
    return {row["code"]: row["level"] for row in reference.load("regions")}


def fmt(value: float) -> str:
    return f"{value:.6g}"


def passing_row(run_id: str, source: str, rule: Any) -> dict[str, Any]:
    """The result row of `rule` (a suites.Rule) as it reads when the rule holds; each engine
    (GX on pandas, DuckDB SQL, the output gate) fills in what it found."""
    return {
        "run_id": run_id,
        "source": source,
        "expectation": f"{rule.expectation_type}: {rule.description}",
        "column": rule.column,
        "severity": rule.severity,
        "success": True,
        "unexpected_count": 0,
        "examples": "",
        "rule": rule.description,
        "note": None,
        "offenders": [],
    }
