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

Assessment sheets (`prepare_sheet_batch`, suites `sheet_<kind>`) get the same treatment: the
lookups a rule needs become columns (`max_points` of the row's sub-indicator, the
`target_difference_pct` from the reference target), multi-row findings become note columns
(`missing_indicators`: a province-year lacking some of the plan's sub-indicators; `key_note`:
where else a duplicate key occurs), and `header_<column>` keeps the header text of each file so
the report prints the column as the user wrote it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

from carbon_assess import reference
from carbon_assess.ingest.schema import NATIONAL_CODE, RAW_SCHEMA
from carbon_assess.ingest.sheets import OPTIONAL, SHEETS, sheet_headers
from carbon_assess.transform import current_factor_version

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
ENERGY_NOTES = ("gap", "assumed_zero", "coal_missing", "no_fuel_data", "not_covered")
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
# Assessment sheets (see prepare_sheet_batch)
MAX_POINTS = "max_points"  # the sub-indicator's maximum (reference/measures_indicators.csv)
MAX_POINTS_NOTE = "max_points_note"
MISSING_INDICATORS = "missing_indicators"  # warning: incomplete measures sheet
TARGET_DIFFERENCE = "target_difference_pct"  # target_pct - reference target (percentage points)
TARGET_DIFFERENCE_NOTE = "target_difference_note"
TARGET_DIFFERENCE_MAX = 5.0  # a user target more than 5 points off the reference is a warning
KEY_NOTE = "key_note"  # the other rows with the same key
HEADER_PREFIX = "header_"  # header_<column>: the column's header text in the row's file
_NEEDED = {"province_code", "year", "variable", "fuel", "value", "unit", "source_file",
           "source_column"}


@cache
def plan_years() -> dict[int, str]:
    """Plan base and final years -> 'base year of the 12th FYP, final year of the 11th FYP'."""
    roles: dict[int, list[str]] = defaultdict(list)
    for row in reference.load("plans"):
        roles[int(row["base_year"])].append(f"base year of the {row['plan_id']} FYP")
        roles[int(row["end_year"])].append(f"final year of the {row['plan_id']} FYP")
    return {year: ", ".join(sorted(r)) for year, r in roles.items()}


@cache
def province_names() -> dict[str, str]:
    return {row["code"]: row["name_zh"] for row in reference.load("provinces")}


@cache
def fossil_fuels() -> frozenset[str]:
    """Fuels with a combustion emission factor in the version a run uses (emission_factors.csv)."""
    version = current_factor_version()
    return frozenset(r["fuel"] for r in reference.load("emission_factors")
                     if r["factor_version"] == version)


def _who(code: str) -> str:
    name = province_names().get(code)
    return f"{name} ({code})" if name else code


def _span(years: list[int]) -> str:
    years = sorted(years)
    return str(years[0]) if years[0] == years[-1] else f"{years[0]}-{years[-1]}"


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def usable(df) -> bool:
    """Derived checks need the raw columns with sane types; otherwise the type and column
    expectations fail and the derived columns stay blank."""
    import pandas as pd

    if not set(df.columns) >= _NEEDED:
        return False
    return pd.api.types.is_integer_dtype(df["year"]) and pd.api.types.is_float_dtype(df["value"])


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
            basis = (f"the median {_fmt(s_med[i])} {unit} of this province's series "
                     f"({int(s_n[i])} years)")
        else:
            basis = (f"the median {_fmt(y_med[i])} {unit} of {int(y_n[i])} provinces in "
                     f"{int(d.at[i, 'year'])}")
        out.at[i, f"{LEVEL_COLUMN}_note"] = (
            f"{ratio[i]:,.0f}x {basis}: unit mix-up? (吨 entered as 万吨 is 10,000x)"
        )
    return out


# --- energy consumption blank-value policy ----------------------------------------------------
# The policy itself (interpolate, assume zero, coal missing) is applied once, in SQL
# (transform/sql/int_energy_activity.sql); `BlankFlags` carries its verdicts and the CO2 per fuel
# the models compute, and the notes below only explain them to the user.

CONSEQUENCES = {  # value_status (int_energy_activity) -> what happens downstream
    "missing": "province-years without coal are insufficient data downstream",
    "imputed": "interpolated downstream (imputed)",
    "assumed_zero": "taken as 0 downstream (assumed_zero)",
}


@dataclass(frozen=True)
class BlankFlags:
    """What the SQL models make of energy consumption: value_status per (province, year, fuel)
    and CO2 per (province, year, fuel), consumption method, in Mt."""

    status: dict[tuple[str, int, str], str]
    co2_mt: dict[tuple[str, int, str], float]

    @classmethod
    def from_frames(cls, activity, emissions) -> BlankFlags:
        return cls(
            status={(c, int(y), f): v for c, y, f, v in zip(
                activity["province_code"], activity["year"], activity["fuel"],
                activity["value_status"], strict=True)},
            co2_mt={(c, int(y), f): float(v) for c, y, f, v in zip(
                emissions["province_code"], emissions["year"], emissions["fuel"],
                emissions["co2_mt"], strict=True) if v == v and v is not None},
        )

    def totals(self) -> dict[tuple[str, int], float]:
        out: dict[tuple[str, int], float] = defaultdict(float)
        for (code, year, _), value in self.co2_mt.items():
            out[(code, year)] += value
        return out


def energy_notes(df, flags: BlankFlags | None) -> dict[str, dict[Any, str]]:
    """column -> {row index: note} for the blank cells of energy consumption (DESIGN §3), as the
    SQL models flag them (`flags`; None when the batch could not be staged)."""
    notes: dict[str, dict[Any, str]] = {c: {} for c in ENERGY_NOTES}
    if flags is None or df.empty or not usable(df):
        return notes
    prov = df[(df["province_code"] != NATIONAL_CODE) & (df["variable"] == "consumption")]
    prov = prov[prov["fuel"].notna()]
    if prov.empty:
        return notes
    status = [flags.status.get((c, int(y), f), "reported") for c, y, f in
              zip(prov["province_code"], prov["year"], prov["fuel"], strict=True)]
    prov = prov.assign(value_status=status)
    fossil = fossil_fuels()
    totals = flags.totals()
    reported = prov["value_status"] == "reported"
    covered = {f: set(g["year"]) for f, g in prov[reported].groupby("fuel")}
    with_fuel = set(prov.loc[reported & prov["fuel"].isin(fossil), "province_code"])

    def share(code: str, fuel: str, year: int) -> str:
        return _share(flags.co2_mt.get((code, int(year), fuel)), totals.get((code, int(year))),
                      fuel, int(year))

    # provinces without any fossil-fuel figure (Tibet in the NBS tables)
    for code, g in prov.groupby("province_code"):
        if code not in with_fuel:
            first = g.sort_values(["year", "fuel"]).index[0]
            notes["no_fuel_data"][first] = (
                f"{_who(code)}: no fossil-fuel consumption reported in any year "
                f"({_span(list(g['year']))}); its province-years are insufficient data downstream"
            )

    # years of the release in which no province reports a fuel (NBS: fuels stop in 2017)
    uncovered: dict[int, list[str]] = defaultdict(list)
    for fuel, g in prov.groupby("fuel"):
        for year in sorted(set(g["year"]) - covered.get(fuel, set())):
            uncovered[year].append(fuel)
    runs: list[tuple[list[int], tuple[str, ...]]] = []
    for year in sorted(uncovered):
        fuels = tuple(sorted(uncovered[year]))
        if runs and runs[-1][1] == fuels and runs[-1][0][-1] == year - 1:
            runs[-1][0].append(year)
        else:
            runs.append(([year], fuels))
    for years, fuels in runs:
        rows = prov[prov["year"].isin(years) & prov["fuel"].isin(fuels)]
        first = rows[rows["year"] == years[0]].sort_values(["province_code", "fuel"]).index[0]
        by_span: dict[str, list[str]] = defaultdict(list)
        for f in fuels:
            by_span[_span(list(covered[f])) if covered.get(f) else ""].append(f)
        spans = "; ".join(
            (f"{'all' if len(fs) == len(fuels) else ', '.join(fs)} reported {span}" if span
             else f"{', '.join(fs)} never reported")
            for span, fs in by_span.items()
        )
        applied = set(rows.loc[rows["province_code"].isin(with_fuel), "value_status"])
        consequence = "; ".join(text for status, text in CONSEQUENCES.items()
                                if status in applied) or CONSEQUENCES["assumed_zero"]
        notes["not_covered"][first] = (
            f"{', '.join(fuels)}: blank for every province in {_span(years)} ({spans}); "
            f"{consequence}"
        )

    # per province and fuel: runs of blank cells within the years the release covers the fuel
    series: dict[tuple[str, str], list[tuple[int, float, str, Any]]] = defaultdict(list)
    for code, fuel, year, value, flag, i in zip(prov["province_code"], prov["fuel"],
                                                prov["year"], prov["value"],
                                                prov["value_status"], prov.index, strict=True):
        if code in with_fuel and year in covered.get(fuel, ()):
            series[(code, fuel)].append((int(year), value, flag, i))
    for (code, fuel), cells in sorted(series.items()):
        if all(flag == "reported" for _, _, flag, _ in cells):
            continue
        cells.sort(key=lambda c: c[0])
        years = [c[0] for c in cells]
        values = [c[1] for c in cells]
        blank = [c[2] != "reported" for c in cells]
        i = 0
        while i < len(years):
            if not blank[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(years) and blank[j + 1]:
                j += 1
            before = i - 1 if i > 0 else None
            after = j + 1 if j + 1 < len(years) else None
            span = _span(years[i : j + 1])
            who = f"{_who(code)} {fuel}"
            flag, index = cells[i][2], cells[i][3]
            if flag == "missing":
                notes["coal_missing"][index] = (
                    f"{who}: blank in {span}; coal is required, so these province-years are "
                    "insufficient data downstream"
                )
            elif flag == "imputed" and before is not None and after is not None:
                notes["gap"][index] = (
                    f"{who}: blank in {span} between reported {years[before]} "
                    f"({_fmt(values[before])}) and {years[after]} ({_fmt(values[after])}): "
                    f"{CONSEQUENCES['imputed']}; {share(code, fuel, years[before])}"
                )
            else:
                nearest = before if before is not None else after
                if nearest is None:
                    what = "never reported"
                    why = "share of emissions: none reported"
                else:
                    what = (("no longer reported after " if before is not None
                             else "first reported in ") + str(years[nearest]))
                    why = share(code, fuel, years[nearest])
                notes["assumed_zero"][index] = (
                    f"{who}: blank in {span}, {what}; {_as_applied(flag)}; {why}")
            i = j + 1
    return notes


def _as_applied(flag: str) -> str:
    """`taken as 0 (assumed_zero)`, or what the models did instead."""
    if flag == "assumed_zero":
        return "taken as 0 (assumed_zero)"
    return CONSEQUENCES.get(flag, f"value status {flag} downstream")


def _share(value: float | None, total: float | None, fuel: str, year: int) -> str:
    if value is None:
        return f"{fuel} has no combustion emission factor (share of emissions n/a)"
    if not total:
        return f"share of the province's fuel-combustion CO2 in {year}: n/a"
    return f"{_percent(value / total)} of the province's fuel-combustion CO2 in {year}"


def _percent(share: float) -> str:
    """12.3 %, 0.41 %, 0.0072 %: enough digits to tell a small share from none."""
    percent = 100 * share
    if percent == 0:
        return "0 %"
    return f"{percent:.1f} %" if percent >= 10 else f"{percent:.2g} %"


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
    text = f"{_who(code)}: {what} for {year} ({'; '.join(dict.fromkeys(reasons))})"
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


# --- assessment sheets ------------------------------------------------------------------------


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


def prepare_sheet_batch(kind: str, table: Any):
    """The DataFrame GX validates for one assessment sheet kind (a pyarrow Table read from
    `<workdir>/sheets/<kind>.parquet`): the sheet rows + derived check columns + headers."""
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
        for i, plan, year, province in zip(df.index, df["plan"], df["year"], df["province"],
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
                f"{_who(province)} {year}: no points for {len(missing)} of the {len(names)} "
                f"sub-indicators of the {plan} FYP ({which}); its measures total is understated"
            )

    if kind == "targets":
        targets = _reference_targets()
        pairs = list(zip(df["plan"], df["province"], strict=True)) if not df.empty else []
        reference_pct = [targets.get(p, float("nan")) for p in pairs]
        difference = pd.Series(
            [t - r for t, r in zip(df["target_pct"], reference_pct, strict=True)],
            index=df.index, dtype="float64")
        df[TARGET_DIFFERENCE] = difference
        df[TARGET_DIFFERENCE_NOTE] = pd.Series(
            [f"reference/targets.csv has {r:g} % for {_who(p[1])} in the {p[0]} FYP: "
             f"{d:+.3g} points" if r == r else None
             for p, r, d in zip(pairs, reference_pct, difference, strict=True)],
            index=df.index, dtype=object)
    return df
