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
