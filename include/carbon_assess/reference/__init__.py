"""Versioned reference tables (CSV + a Markdown note citing the source for each)."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent

TABLES = (
    "provinces",
    "indicators",
    "units",
    "emission_factors",
    "plans",
    "targets",
    "scoring_rules",
    "grade_thresholds",
)


def path(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.csv"


@cache
def load(name: str) -> tuple[dict[str, str], ...]:
    """Rows of one reference table as dicts of strings (cached; tables are small)."""
    with path(name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))
