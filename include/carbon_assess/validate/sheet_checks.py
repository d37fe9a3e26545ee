"""Derived columns of the assessment-sheet batches (suites `sheet_<kind>`): the lookups a rule
needs (`max_points` of the row's sub-indicator, `target_difference_pct` from the reference
target), multi-row findings as note columns (`missing_indicators`, `key_note`) and
`header_<column>`, the header text of each file, so the report prints the column as the user
wrote it."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from typing import Any

from carbon_assess import reference
from carbon_assess.ingest.sheets import OPTIONAL, SHEETS, sheet_headers
from carbon_assess.reference import province_label

MAX_POINTS = "max_points"  # the sub-indicator's maximum (reference/measures_indicators.csv)
MAX_POINTS_NOTE = "max_points_note"
MISSING_INDICATORS = "missing_indicators"  # warning: incomplete measures sheet
TARGET_DIFFERENCE = "target_difference_pct"  # target_pct - reference target (percentage points)
TARGET_DIFFERENCE_NOTE = "target_difference_note"
TARGET_DIFFERENCE_MAX = 5.0  # a user target more than 5 points off the reference is a warning
KEY_NOTE = "key_note"  # the other rows with the same key
HEADER_PREFIX = "header_"  # header_<column>: the column's header text in the row's file
REGION_UNKNOWN = "region_unknown"  # the unit a row names is not known
PARENT_UNKNOWN = "parent_unknown"  # units sheet: the parent is not known
CODE_IN_GB = "code_in_gb"  # units sheet: a declared code GB/T 2260 already has
UNIT_NOTES = (REGION_UNKNOWN, PARENT_UNKNOWN, CODE_IN_GB)

@cache
def _measures_maxima() -> dict[tuple[str, str], float]:
    return {(r["plan_id"], r["indicator"]): float(r["max_points"])
            for r in reference.load("measures_indicators")}


@cache
def _plan_indicators() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in reference.load("measures_indicators"):
        out[r["plan_id"]].append(r["indicator"])
    return {plan: tuple(names) for plan, names in out.items()}


@cache
def _reference_targets() -> dict[tuple[str, str], float]:
    return {(r["plan_id"], r["province_code"]): float(r["target_pct"])
            for r in reference.load("targets") if r["target_pct"].strip()}


def _where(file: Any, row: Any) -> str:
    return f"{file} row {int(row)}" if row == row and row is not None else str(file)


def _unit_notes(df: Any, known: frozenset[str]) -> dict[str, list[str | None]]:
    """Which unit codes a sheet names that are not known: a region or a parent that is neither a
    GB/T 2260 unit nor declared, a declared code that GB/T 2260 already has. Set lookups here,
    not value sets in the expectations: Great Expectations copies an expectation's arguments
    thousands of times, and a national units sheet declares 100,000 parks."""
    gb = _gb_codes()
    unknown = "{} is neither a GB/T 2260 unit nor declared in a units sheet"
    notes: dict[str, list[str | None]] = {}
    if "region" in df.columns:
        notes[REGION_UNKNOWN] = [None if c in known else unknown.format(c) for c in df["region"]]
    if "parent" in df.columns:
        notes[PARENT_UNKNOWN] = [None if c in known else unknown.format(c) for c in df["parent"]]
    if "code" in df.columns:
        notes[CODE_IN_GB] = [f"{c} is a GB/T 2260 code" if c in gb else None for c in df["code"]]
    return notes


@cache
def _gb_codes() -> frozenset[str]:
    return frozenset(r["code"] for r in reference.load("regions"))


def prepare_sheet_batch(kind: str, table: Any, known: frozenset[str] = frozenset()):
    """The DataFrame GX validates for one assessment sheet kind (a pyarrow Table read from
    `<workdir>/sheets/<kind>.parquet`): the sheet rows + derived check columns + headers.
    `known`: every unit code a row may name (suites.region_codes with the declared units)."""
    import pandas as pd

    spec = SHEETS[kind]
    df = table.to_pandas().reset_index(drop=True)
    for column in ("source_file", "source_sheet", "source_row"):
        if column not in df.columns:
            df[column] = None
    files = df["source_file"].astype(object).where(df["source_file"].notna(), None)
    sheets = df["source_sheet"].astype(object).where(df["source_sheet"].notna(), None)
    headers = sheet_headers(table)
    for column in (*spec["required"], *OPTIONAL):
        df[HEADER_PREFIX + column] = pd.Series(
            [headers.get((f, s), {}).get(column, column) for f, s in zip(files, sheets,
                                                                          strict=True)],
            index=df.index, dtype=object)

    def note_column() -> Any:
        return pd.Series([None] * len(df), index=df.index, dtype=object)

    for column, values in _unit_notes(df, known).items():
        df[column] = pd.Series(values, index=df.index, dtype=object)
    for column in UNIT_NOTES:
        if column not in df.columns:
            df[column] = note_column()
    if not set(spec["required"]) <= set(df.columns):  # the `columns` expectation fails
        for column in (KEY_NOTE, MAX_POINTS_NOTE, MISSING_INDICATORS, TARGET_DIFFERENCE_NOTE):
            df[column] = note_column()
        for column in (MAX_POINTS, TARGET_DIFFERENCE):
            df[column] = float("nan")
        return df

    # duplicate keys: name the other occurrences (GX flags every row of a duplicated key)
    df[KEY_NOTE] = note_column()
    key = [c for c in spec["key"] if c in df.columns]
    if len(key) == len(spec["key"]) and not df.empty:
        where: dict[tuple, list[Any]] = defaultdict(list)
        for i, values in zip(df.index, zip(*(df[c] for c in key), strict=True), strict=True):
            where[values].append(i)
        for rows in where.values():
            if len(rows) < 2:
                continue
            for i in rows:
                others = [_where(df.at[j, "source_file"], df.at[j, "source_row"])
                          for j in rows if j != i]
                df.at[i, KEY_NOTE] = "same key also at " + ", ".join(others)

    if kind == "measures":
        maxima = _measures_maxima()
        pairs = list(zip(df["plan"], df["indicator"], strict=True)) if not df.empty else []
        df[MAX_POINTS] = pd.Series([maxima.get(p, float("nan")) for p in pairs],
                                   index=df.index, dtype="float64")
        df[MAX_POINTS_NOTE] = pd.Series(
            [f"maximum {maxima[p]:g} for {p[0]} {p[1]}" if p in maxima else None for p in pairs],
            index=df.index, dtype=object)
        df[MISSING_INDICATORS] = note_column()
        plan_indicators = _plan_indicators()
        plan_years = {r["plan_id"]: (int(r["start_year"]), int(r["end_year"]))
                      for r in reference.load("plans")}
        groups: dict[tuple, list[Any]] = defaultdict(list)
        for i, plan, year, province in zip(df.index, df["plan"], df["year"], df["region"],
                                           strict=True):
            groups[(plan, year, province)].append(i)
        for (plan, year, province), rows in groups.items():
            names = plan_indicators.get(plan)
            start, end = plan_years.get(plan, (0, -1))
            if not names or not start <= year <= end:
                continue  # unknown plan or year outside the plan: errors of their own
            present = set(df.loc[rows, "indicator"]) & set(names)
            missing = [n for n in names if n not in present]
            if not present or not missing:
                continue
            if len(missing) <= 6:
                which = ", ".join(missing)
            else:
                which = "only " + ", ".join(n for n in names if n in present) + " given"
            first = min(rows, key=lambda i: (str(df.at[i, "source_file"]), i))
            df.at[first, MISSING_INDICATORS] = (
                f"{province_label(province)} {year}: no points for {len(missing)} of the "
                f"{len(names)} "
                f"sub-indicators of the {plan} FYP ({which}); its measures total is understated"
            )

    if kind == "targets":
        targets = _reference_targets()
        pairs = list(zip(df["plan"], df["region"], strict=True)) if not df.empty else []
        reference_pct = [targets.get(p, float("nan")) for p in pairs]
        difference = pd.Series(
            [t - r for t, r in zip(df["target_pct"], reference_pct, strict=True)],
            index=df.index, dtype="float64")
        df[TARGET_DIFFERENCE] = difference
        df[TARGET_DIFFERENCE_NOTE] = pd.Series(
            [f"reference/targets.csv has {r:g} % for {province_label(p[1])} in the {p[0]} FYP: "
             f"{d:+.3g} points" if r == r else None
             for p, r, d in zip(pairs, reference_pct, difference, strict=True)],
            index=df.index, dtype=object)
    return df
