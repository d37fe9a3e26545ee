"""Versioned reference tables: one CSV each, with a Markdown note citing its source (README.md).

The set of tables is the set of CSV files in this folder; nothing lists them again.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent


def path(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.csv"


@cache
def names() -> tuple[str, ...]:
    """Every reference table, by name (the CSV file's stem), sorted."""
    return tuple(sorted(p.stem for p in REFERENCE_DIR.glob("*.csv")))


@cache
def load(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one reference table as dicts of strings (cached; tables are small)."""
    with path(name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@cache
def province_names() -> dict[str, str]:
    """Chinese names of the 31 provinces by GB/T 2260 code (provinces.csv)."""
    return {row["code"]: row["name_zh"] for row in load("provinces")}


@cache
def region_names() -> dict[str, str]:
    """Chinese names of every GB/T 2260 unit, provinces as in provinces.csv."""
    return {**{row["code"]: row["name"] for row in load("regions")}, **province_names()}


def province_label(code: str) -> str:
    """'青海省 (630000)' for a province or any GB/T 2260 unit; the code alone otherwise."""
    name = region_names().get(code)
    return f"{name} ({code})" if name else code
