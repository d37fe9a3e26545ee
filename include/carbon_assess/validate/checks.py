"""Derived check columns, computed with pandas on the raw frames before GX validates them.

Great Expectations checks one batch at a time, column by column. Checks that need a series
(year-on-year change, level shifts), another province (coverage) or another source kind (GDP for
the years energy data covers) are therefore computed here, as extra columns of the batch, and the
suites (`suites.py`) hold plain expectations on those columns: `yoy_factor <= 5`,
`level_shift <= 500`, `missing_required is null`, ... The offending cells keep their lineage, so
the report names the file, row and column of each finding, and each note column holds the
sentence a user reads.

Coverage findings are about rows that do *not* exist. For those, `prepare_batches` appends a
placeholder row to the batch (value blank, `source_row` blank, the file and column the series
comes from, `missing_required` or `missing_year` set). Placeholders satisfy every other
expectation; only the coverage expectation flags them. A source kind without any file but needed
by another one (GDP when energy data is present) gets a batch of placeholders only.

Coverage is defined relative to what the release itself covers, never against a fixed calendar:
- within a source kind and series (variable, fuel): a year that some provinces have and another
  province with data in that series lacks;
- across kinds: GDP and GDP index for every province-year with fossil-fuel consumption data.
A missing plan base or final year (reference/plans.csv) is an error, any other year a warning
(that province-year is reported as insufficient data downstream). Blank cells *inside* energy
consumption follow the blank-value policy of DESIGN §3 and only warn: `gap` (interpolated),
`assumed_zero` (with the fuel's share of the province's emissions in the nearest reported year,
consumption method, reference/emission_factors.csv), `coal_missing`, `no_fuel_data` (Tibet) and
`not_covered` (a fuel no province reports in some years of the release, e.g. 2018-2019).

Blank cells inside energy consumption are explained in `blanks.py`, assessment sheets get their
derived columns in `sheet_checks.py`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from carbon_assess.ingest.schema import NATIONAL_CODE, RAW_SCHEMA
from carbon_assess.validate.blanks import ENERGY_NOTES, BlankFlags, energy_notes
from carbon_assess.validate.common import (
    fmt,
    fossil_fuels,
    plan_years,
    province_label,
    province_names,
    usable,
)

# Year-on-year jump warnings: the ratio max(v, prev) / min(v, prev) of two consecutive years of
# the same province, variable and fuel. `floor` ignores pairs where both values are tiny
# (canonical units: 万吨, 亿立方米, 亿千瓦小时, 亿元, 万人). Energy series do jump for real
# (plant closures, new pipelines), hence the wide factor; GDP and population never grow 50 %.
YOY_COLUMN = "yoy_factor"
YOY_RULES: dict[str, tuple[float, float]] = {  # kind -> (max factor, floor)
    "energy_consumption": (5.0, 10.0),
    "energy_production": (5.0, 10.0),
    "gdp": (1.5, 0.0),
    "population": (1.5, 0.0),
}

# Level shift (unit mix-up): a value far *above* the usual level of its series (same province,
# variable, fuel: median over the years) or of its year (median over >= 5 provinces). 吨 pasted
# into a 万吨 column is 10,000x, 万元 into 亿元 10,000x. Only upward shifts from a usual level of
# at least `floor` count: real series do fall to near zero (Jiangxi gas 2003-2004 is 1e-5 亿m³,
# 380,000x below its median) and do start from near zero (Yunnan crude 2017, 10,000x its 2016
# cell of 0.04 万吨, when a refinery opened). Real NBS maxima: 50x (series), 142x (year).
LEVEL_COLUMN = "level_shift"
LEVEL_SHIFT_MAX = 500.0
LEVEL_RULES: dict[str, float] = {  # kind -> floor of the usual level (canonical unit)
    "energy_consumption": 1.0,
    "energy_production": 1.0,
    "gdp": 1.0,
    "population": 1.0,
}
LEVEL_MIN_SERIES = 3  # values needed for a series median
LEVEL_MIN_PROVINCES = 5  # values needed for a year median

MISSING_REQUIRED = "missing_required"  # error: plan base or final year
MISSING_YEAR = "missing_year"  # warning: any other year
NOTE_COLUMNS = (MISSING_REQUIRED, MISSING_YEAR, *ENERGY_NOTES)
DERIVED_COLUMNS = (YOY_COLUMN, LEVEL_COLUMN, f"{LEVEL_COLUMN}_note", *NOTE_COLUMNS)

KIND_LABELS = {
    "energy_consumption": "energy consumption",
    "energy_production": "energy production",
    "gdp": "GDP",
    "gdp_index": "GDP index",
    "population": "population",
}
DEFAULT_COLUMNS = {  # header of a series with no file at all
    "gdp": ("gdp_current", "地区生产总值(亿元)", "亿元"),
    "gdp_index": ("gdp_index_prev_year", "地区生产总值指数(上年=100)", "上年=100"),
}
NEEDS_ENERGY_YEARS = ("gdp", "gdp_index")  # kinds required for every energy province-year
# --- per-series checks ------------------------------------------------------------------------


def add_yoy_factor(df, kind: str):
    """Return `df` with the derived column `yoy_factor` (NaN where not comparable).

    The factor is max(v, prev) / min(v, prev) between consecutive years of one
    (province, variable, fuel) series, when both values are > 0 and one is >= the kind's floor.
    """
    import numpy as np

    out = df.copy()
    out[YOY_COLUMN] = np.nan
    if kind not in YOY_RULES or df.empty or not usable(df):
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


def add_level_shift(df, kind: str):
    """Return `df` with `level_shift` (value / usual level, NaN when not comparable) and
    `level_shift_note` (what the usual level is) where the shift exceeds LEVEL_SHIFT_MAX."""
    import numpy as np

    out = df.copy()
    out[LEVEL_COLUMN] = np.nan
    out[f"{LEVEL_COLUMN}_note"] = None
    out[f"{LEVEL_COLUMN}_note"] = out[f"{LEVEL_COLUMN}_note"].astype(object)
    if kind not in LEVEL_RULES or df.empty or not usable(df):
        return out
    floor = LEVEL_RULES[kind]
    d = df[["province_code", "variable", "fuel", "year", "value", "unit"]].copy()
    d["fuel"] = d["fuel"].astype(object).where(d["fuel"].notna(), "")
    d = d[d["value"] > 0]
    if d.empty:
        return out
    series = d.groupby(["province_code", "variable", "fuel"])["value"]
    s_med = series.transform("median")
    s_n = series.transform("count")
    s_ratio = (d["value"] / s_med).where((s_med >= floor) & (s_n >= LEVEL_MIN_SERIES))
    prov = d["province_code"] != NATIONAL_CODE
    year = d[prov].groupby(["year", "variable", "fuel"])["value"]
    y_med = year.transform("median").reindex(d.index)
    y_n = year.transform("count").reindex(d.index)
    y_ratio = (d["value"] / y_med).where((y_med >= floor) & (y_n >= LEVEL_MIN_PROVINCES))
    ratio = np.fmax(s_ratio, y_ratio)
    out.loc[ratio.index, LEVEL_COLUMN] = ratio.astype("float64")
    flagged = ratio[ratio > LEVEL_SHIFT_MAX].index
    for i in flagged:
        unit = d.at[i, "unit"]
        if s_ratio.get(i, np.nan) >= y_ratio.get(i, np.nan) or y_ratio.get(i) != y_ratio.get(i):
            basis = (f"the median {fmt(s_med[i])} {unit} of this province's series "
                     f"({int(s_n[i])} years)")
        else:
            basis = (f"the median {fmt(y_med[i])} {unit} of {int(y_n[i])} provinces in "
                     f"{int(d.at[i, 'year'])}")
        out.at[i, f"{LEVEL_COLUMN}_note"] = (
            f"{ratio[i]:,.0f}x {basis}: unit mix-up? (吨 entered as 万吨 is 10,000x)"
        )
    return out


# --- coverage ---------------------------------------------------------------------------------


def _findings(frames: dict[str, Any]) -> dict[str, dict[tuple, list[str]]]:
    """kind -> {(province, year, variable, fuel): [reasons]} for missing or blank cells."""
    found: dict[str, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    known = set(province_names())  # an unknown code is an error of its own, not a coverage gap
    for kind, df in frames.items():
        if df.empty or not usable(df):
            continue
        prov = df[df["province_code"].isin(known)]
        fuels = prov["fuel"].astype(object).where(prov["fuel"].notna(), None)
        for (variable, fuel), g in prov.groupby([prov["variable"], fuels], dropna=False):
            fuel = None if fuel is None or fuel != fuel else fuel
            years = sorted(set(g["year"]))
            present = set(zip(g["province_code"], g["year"], strict=True))
            for code in sorted(set(g["province_code"])):
                for year in years:
                    if (code, year) not in present:
                        found[kind][(code, int(year), variable, fuel)].append(
                            f"other provinces have {year}"
                        )
    energy = frames.get("energy_consumption")
    if energy is not None and not energy.empty and usable(energy):
        fossil = energy[
            energy["province_code"].isin(known)
            & (energy["variable"] == "consumption")
            & energy["fuel"].isin(list(fossil_fuels()))
            & energy["value"].notna()
        ]
        needed = sorted(set(zip(fossil["province_code"], fossil["year"], strict=True)))
        for kind in NEEDS_ENERGY_YEARS:
            df = frames.get(kind)
            variable = DEFAULT_COLUMNS[kind][0]
            values: dict[tuple, float] = {}
            if df is not None and not df.empty and usable(df):
                sub = df[df["variable"] == variable]
                values = dict(zip(zip(sub["province_code"], sub["year"], strict=True),
                                  sub["value"], strict=True))
            for code, year in needed:
                key = (code, int(year))
                if key not in values:
                    found[kind][(code, int(year), variable, None)].append(
                        "energy consumption data covers this year"
                    )
                elif values[key] != values[key]:
                    found[kind][(code, int(year), variable, None)].append(
                        "blank, but energy consumption data covers this year"
                    )
    return found


def _note(kind: str, key: tuple, reasons: list[str], exists: bool) -> tuple[str, str]:
    code, year, variable, fuel = key
    label = KIND_LABELS[kind] + (f" {fuel}" if fuel else "")
    what = f"blank {label}" if exists else f"no {label} row"
    role = plan_years().get(year)
    text = f"{province_label(code)}: {what} for {year} ({'; '.join(dict.fromkeys(reasons))})"
    if role:
        return MISSING_REQUIRED, f"{text}; {year} is the {role}"
    return MISSING_YEAR, f"{text}; that province-year is insufficient data downstream"


def add_coverage(frames: dict[str, Any], run_id: str | None) -> dict[str, Any]:
    """Frames with the coverage columns set and placeholder rows appended for missing cells."""
    import numpy as np
    import pandas as pd

    found = _findings(frames)
    out: dict[str, Any] = {}
    for kind in list(frames) + [k for k in found if k not in frames]:
        df = frames.get(kind)
        if df is None:
            df = _empty_frame()
        df = df.copy()
        for column in (MISSING_REQUIRED, MISSING_YEAR):
            if column not in df.columns:
                df[column] = pd.Series([None] * len(df), index=df.index, dtype=object)
        findings = found.get(kind, {})
        if not findings:
            out[kind] = df
            continue
        index: dict[tuple, Any] = {}
        if usable(df) and not df.empty:
            fuels = df["fuel"].astype(object).where(df["fuel"].notna(), None)
            for i, key in zip(df.index, zip(df["province_code"], df["year"].astype(int),
                                            df["variable"], fuels, strict=True), strict=True):
                index.setdefault(key, i)
        placeholders: list[dict[str, Any]] = []
        for key, reasons in sorted(findings.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                     kv[0][2], kv[0][3] or "")):
            column, note = _note(kind, key, reasons, exists=key in index)
            if key in index:
                df.at[index[key], column] = note
                continue
            placeholders.append(_placeholder(df, kind, key, column, note, run_id))
        if placeholders:
            extra = pd.DataFrame(placeholders)
            for column in df.columns:
                if column not in extra.columns:
                    extra[column] = np.nan if column in (YOY_COLUMN, LEVEL_COLUMN) else None
            extra = extra[list(df.columns)]
            for column in ("year", "source_row"):
                if column in df.columns:
                    extra[column] = extra[column].astype("Int64")
            if "source_row" in df.columns:
                df["source_row"] = df["source_row"].astype("Int64")
            for column in df.columns:
                if pd.api.types.is_string_dtype(df[column].dtype) and df[column].dtype != object:
                    extra[column] = extra[column].astype(df[column].dtype)
            df = pd.concat([df, extra], ignore_index=True)
            if "year" in df.columns:
                df["year"] = df["year"].astype("int32")
        out[kind] = df
    return out


def _empty_frame():
    import pyarrow as pa

    return pa.Table.from_pylist([], schema=RAW_SCHEMA).to_pandas()


def _placeholder(df, kind, key, column, note, run_id) -> dict[str, Any]:
    code, year, variable, fuel = key
    header, unit, files = None, None, None
    if usable(df) and not df.empty:
        series = df[(df["variable"] == variable)
                    & ((df["fuel"] == fuel) if fuel else df["fuel"].isna())]
        own = series[series["province_code"] == code]
        pick = own if not own.empty else series
        if not pick.empty:
            header = str(pick["source_column"].mode().iloc[0]).split(" / ")[0]
            unit = str(pick["unit"].mode().iloc[0])
            files = ", ".join(sorted(set(pick["source_file"])))
    default = DEFAULT_COLUMNS.get(kind)
    if header is None and default:
        header, unit = default[1], default[2]
    files = files or f"(no {KIND_LABELS[kind]} file in the landing folder)"
    return {
        "province_code": code,
        "year": year,
        "variable": variable,
        "fuel": fuel,
        "value": float("nan"),
        "unit": unit,
        "source_value": None,
        "source_unit": unit,
        "source_file": files,
        "source_sha256": "",
        "source_sheet": None,
        "source_row": None,
        "source_column": header or variable,
        "run_id": run_id,
        "vintage": None,
        column: note,
    }


# --- everything -------------------------------------------------------------------------------


def prepare_batches(frames: dict[str, Any], run_id: str | None,
                    flags: BlankFlags | None = None) -> dict[str, Any]:
    """The DataFrame GX validates for each source kind: raw rows + derived check columns
    (+ coverage placeholders, + batches of placeholders for required kinds without a file)."""
    import pandas as pd

    prepared: dict[str, Any] = {}
    for kind, df in frames.items():
        df = df.reset_index(drop=True)
        df = add_yoy_factor(df, kind)
        df = add_level_shift(df, kind)
        notes = energy_notes(df, flags) if kind == "energy_consumption" else {}
        for column in ENERGY_NOTES:
            values = pd.Series([None] * len(df), index=df.index, dtype=object)
            for i, text in notes.get(column, {}).items():
                values.at[i] = text
            df[column] = values
        prepared[kind] = df
    prepared = add_coverage(prepared, run_id)
    for df in prepared.values():
        for column in DERIVED_COLUMNS:
            if column not in df.columns:
                if column in (YOY_COLUMN, LEVEL_COLUMN):
                    df[column] = float("nan")
                else:
                    df[column] = pd.Series([None] * len(df), index=df.index, dtype=object)
    return prepared


