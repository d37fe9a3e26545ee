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

Implausible numbers (DESIGN §3 "Levels and zeros"; no such number may reach a verdict):
- `not_positive`: GDP, GDP index, population or coal consumption 0 for a province-year is an
  error (not a structural zero; negatives are the `value_not_negative` error). One exception,
  seen in the real release: the portal writes coal `0.0` for a province-year it has no figures
  for at all (Hainan and Ningxia 2002: every other fuel blank that year, reported in others).
  Such a cell is explained like a blank coal cell (`coal_missing` warning); the SQL models make
  the province-year insufficient data ("coal consumption 0"), never a number.
- `not_finite`: infinity, or NaN where the cell held a number, is an error.
- `level_shift`: far above the usual level of the series or year, and for coal, GDP and
  population also far below (LEVEL_BOTH_WAYS; other fuels do fall to near zero for real).
- `implausible`: a province-year's coal per GDP, coal per person, carbon intensity or GDP per
  person outside the bounds of reference/plausibility_bounds.csv (derived from the real NBS
  release, basis in the table): a unit 10,000x off in any cell or whole column.
- `column_level`: the median coal per person of a whole column (>= 10 provinces) outside its
  bounds: the unit in the header is off by a power of ten (千吨 or 吨 over 万吨 data), which no
  comparison within the column can see, since every value moved together.

Blank cells inside energy consumption are explained in `blanks.py`, assessment sheets get their
derived columns in `sheet_checks.py`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from carbon_assess.ingest.schema import NATIONAL_CODE, RAW_SCHEMA
from carbon_assess.transform import NEGATIVE_NOISE
from carbon_assess.validate.blanks import ENERGY_NOTES, BlankFlags, energy_notes
from carbon_assess.validate.common import (
    PlausibilityBound,
    fmt,
    fossil_fuels,
    peer_levels,
    plan_years,
    plausibility_bounds,
    province_label,
    province_names,
    times,
    usable,
    year_span,
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

# Level shift (unit mix-up): a value far above the usual level of its series (same province,
# variable, fuel: median over the years) or of its year (median over >= 5 provinces). 吨 pasted
# into a 万吨 column is 10,000x, 万元 into 亿元 10,000x. Only shifts from a usual level of at least
# `floor` count. Upward everywhere; downward only where a near-zero value is implausible
# (LEVEL_BOTH_WAYS: coal consumption, GDP, population): other series do fall to near zero for
# real (Jiangxi gas 2003-2004 is 1e-5 亿m³, 380,000x below its median; Chongqing crude 2009 and
# Shanxi diesel output 2004 are 0.01 万吨, 85,000x and 30,000x below their year) and do start
# from near zero (Yunnan crude 2017, 10,000x its 2016 cell of 0.04 万吨, when a refinery opened).
# Real NBS maxima: upward 50x (series), 142x (year); downward for coal, GDP and population 5.4x
# (series; Beijing coal 2017) and 25x (year; Beijing coal 2017, Tibet GDP and population).
LEVEL_COLUMN = "level_shift"
LEVEL_SHIFT_MAX = 500.0
LEVEL_RULES: dict[str, float] = {  # kind -> floor of the usual level (canonical unit)
    "energy_consumption": 1.0,
    "energy_production": 1.0,
    "gdp": 1.0,
    "population": 1.0,
}
LEVEL_BOTH_WAYS = {  # (kind, variable, fuel or "") also checked for downward shifts
    ("energy_consumption", "consumption", "coal"),
    ("gdp", "gdp_current", ""),
    ("population", "population", ""),
}

# Zero and non-finite values (DESIGN §3 "Levels and zeros"): quantities a province-year cannot
# have at 0. Rounding noise (|x| < NEGATIVE_NOISE, staged as 0) counts as 0 here.
NOT_POSITIVE = "not_positive"  # error
NOT_FINITE = "not_finite"  # error
POSITIVE_REQUIRED: dict[str, tuple[tuple[str, str | None], ...]] = {  # kind -> (variable, fuel)
    "energy_consumption": (("consumption", "coal"),),
    "gdp": (("gdp_current", None),),
    "gdp_index": (("gdp_index_prev_year", None),),
    "population": (("population", None),),
}
POSITIVE_LABELS = {"coal": "coal consumption", "gdp_current": "GDP",
                   "gdp_index_prev_year": "GDP index", "population": "population"}

# Plausibility (reference/plausibility_bounds.csv): ratios of a province-year and the median of a
# whole column, against bounds derived from the real NBS release.
IMPLAUSIBLE = "implausible"  # error: a province-year's ratio outside its bounds
COLUMN_LEVEL = "column_level"  # error: a column's median outside its bounds
COLUMN_MIN_PROVINCES = 10  # provinces a column needs before its median is compared
LEVEL_MIN_SERIES = 3  # values needed for a series median
LEVEL_MIN_PROVINCES = 5  # values needed for a year median

MISSING_REQUIRED = "missing_required"  # error: plan base or final year
MISSING_YEAR = "missing_year"  # warning: any other year
NOTE_COLUMNS = (MISSING_REQUIRED, MISSING_YEAR, *ENERGY_NOTES, NOT_POSITIVE, NOT_FINITE,
                IMPLAUSIBLE, COLUMN_LEVEL)
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
    keys = ["region_code", "variable", "fuel"]
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
    """Return `df` with `level_shift` (how many times the value is off the usual level of its
    series or year, NaN when not comparable) and `level_shift_note` (what the usual level is)
    where the shift exceeds LEVEL_SHIFT_MAX. Upward: value / level; downward, for the series of
    LEVEL_BOTH_WAYS only: level / value."""
    import numpy as np

    out = df.copy()
    out[LEVEL_COLUMN] = np.nan
    out[f"{LEVEL_COLUMN}_note"] = None
    out[f"{LEVEL_COLUMN}_note"] = out[f"{LEVEL_COLUMN}_note"].astype(object)
    if kind not in LEVEL_RULES or df.empty or not usable(df):
        return out
    floor = LEVEL_RULES[kind]
    d = df[["region_code", "variable", "fuel", "year", "value", "unit"]].copy()
    d["fuel"] = d["fuel"].astype(object).where(d["fuel"].notna(), "")
    d = d[(d["value"] > 0) & np.isfinite(d["value"])]
    if d.empty:
        return out
    both = np.array([(kind, v, f) in LEVEL_BOTH_WAYS for v, f in zip(d["variable"], d["fuel"],
                                                                      strict=True)], dtype=bool)
    series = d.groupby(["region_code", "variable", "fuel"])["value"]
    s_med = series.transform("median")
    s_n = series.transform("count")
    s_ratio = (d["value"] / s_med).where((s_med >= floor) & (s_n >= LEVEL_MIN_SERIES))
    # the usual level of a year: the median of the units of the same GB/T 2260 level
    # (provinces against provinces, counties against counties); a declared unit (a park, a
    # zone: their sizes differ by nature) is compared with its own series only
    d["peers"] = d["region_code"].map(peer_levels()).fillna("declared")
    prov = (d["region_code"] != NATIONAL_CODE) & (d["peers"] != "declared")
    year = d[prov].groupby(["peers", "year", "variable", "fuel"])["value"]
    y_med = year.transform("median").reindex(d.index)
    y_n = year.transform("count").reindex(d.index)
    y_ratio = (d["value"] / y_med).where((y_med >= floor) & (y_n >= LEVEL_MIN_PROVINCES))
    s_fold = s_ratio.where(~both | (s_ratio >= 1), 1 / s_ratio)
    y_fold = y_ratio.where(~both | (y_ratio >= 1), 1 / y_ratio)
    ratio = np.fmax(s_fold, y_fold)
    out.loc[ratio.index, LEVEL_COLUMN] = ratio.astype("float64")
    for i in ratio[ratio > LEVEL_SHIFT_MAX].index:
        unit = d.at[i, "unit"]
        if s_fold.get(i, np.nan) >= y_fold.get(i, np.nan) or y_fold.get(i) != y_fold.get(i):
            shift = s_ratio[i]
            basis = (f"the median {fmt(s_med[i])} {unit} of this province's series "
                     f"({int(s_n[i])} years)")
        else:
            shift = y_ratio[i]
            peers = {"province": "provinces", "prefecture": "prefectures",
                     "county": "counties"}.get(d.at[i, "peers"], "declared units")
            basis = (f"the median {fmt(y_med[i])} {unit} of {int(y_n[i])} {peers} in "
                     f"{int(d.at[i, 'year'])}")
        if shift >= 1:
            text = f"{times(shift)}x {basis}: unit mix-up? (吨 entered as 万吨 is 10,000x)"
        else:
            text = (f"1/{times(1 / shift)} of {basis}: unit mix-up? "
                    "(亿吨 entered as 万吨 is 1/10,000)")
        out.at[i, f"{LEVEL_COLUMN}_note"] = text
    return out


# --- zero and non-finite values ----------------------------------------------------------------


def add_not_positive(df, kind: str):
    """Return `df` with `not_positive` notes on the cells of POSITIVE_REQUIRED that are 0 (within
    rounding noise), and `coal_missing` notes on coal 0 in a province-year the portal has no
    figures for (every other fossil fuel blank that year, reported in other years)."""
    import pandas as pd

    out = df.copy()
    if NOT_POSITIVE not in out.columns:
        out[NOT_POSITIVE] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if kind not in POSITIVE_REQUIRED or df.empty or not usable(df):
        return out
    fuel = df["fuel"].astype(object).where(df["fuel"].notna(), None)
    value = df["value"]
    zero = value.notna() & (value <= 0) & (value >= -NEGATIVE_NOISE)
    wanted = pd.Series(False, index=df.index)
    for variable, f in POSITIVE_REQUIRED[kind]:
        wanted |= (df["variable"] == variable) & ((fuel == f) if f else fuel.isna())
    flagged = df[zero & wanted]
    if flagged.empty:
        return out
    unreported = _unreported_years(df) if kind == "energy_consumption" else set()
    for i, row in flagged.iterrows():
        code, year = row["region_code"], int(row["year"])
        label = POSITIVE_LABELS[row["fuel"] if row["fuel"] == row["fuel"] and row["fuel"]
                                else row["variable"]]
        if (code, year) in unreported:
            if "coal_missing" in out.columns and not out.at[i, "coal_missing"]:
                out.at[i, "coal_missing"] = (
                    f"{province_label(code)} coal: 0 in {year}, when no other fuel is reported "
                    "for that year (the portal's 0 for a year without figures); coal is "
                    "required, so this province-year is insufficient data downstream"
                )
            continue
        out.at[i, NOT_POSITIVE] = f"{province_label(code)} {label} in {year}"
    return out


def _unreported_years(df) -> set[tuple[str, int]]:
    """(province, year) where no fossil fuel but coal has a value, for provinces that do report
    other fossil fuels in other years."""
    other = df[(df["variable"] == "consumption") & (df["fuel"] != "coal")
               & df["fuel"].isin(list(fossil_fuels())) & (df["value"] > 0)]
    reported = set(zip(other["region_code"], other["year"].astype(int), strict=True))
    provinces = {code for code, _ in reported}
    coal = df[(df["variable"] == "consumption") & (df["fuel"] == "coal")]
    return {(c, int(y)) for c, y in zip(coal["region_code"], coal["year"], strict=True)
            if c in provinces and (c, int(y)) not in reported}


def add_not_finite(df):
    """Return `df` with `not_finite` notes: an infinite value, or NaN where the cell held a
    number (a blank cell is NaN too, and is the blank-value policy's business)."""
    import math

    import numpy as np
    import pandas as pd

    out = df.copy()
    out[NOT_FINITE] = pd.Series([None] * len(out), index=out.index, dtype=object)
    if df.empty or not usable(df):
        return out
    value = df["value"]
    suspect = np.isinf(value) | value.isna()
    for i in df.index[suspect]:
        v = value[i]
        if v != v:
            text = df.at[i, "source_value"] if "source_value" in df.columns else None
            try:
                number = float(str(text).replace(",", "")) if text else math.nan
            except ValueError:
                continue
            if not math.isfinite(number):
                continue
            out.at[i, NOT_FINITE] = f"the cell holds {text!r}, the raw value is NaN"
        else:
            out.at[i, NOT_FINITE] = f"the raw value is {v} (after unit conversion)"
    return out


# --- plausibility -------------------------------------------------------------------------------


def _by_key(frames: dict[str, Any], kind: str, variable: str, fuel: str | None = None):
    """{(province, year): value} of one series, positive finite values only."""
    import numpy as np

    df = frames.get(kind)
    if df is None or df.empty or not usable(df):
        return {}
    sub = df[(df["variable"] == variable) & ((df["fuel"] == fuel) if fuel else df["fuel"].isna())
             & (df["value"] > 0) & np.isfinite(df["value"])]
    return dict(zip(zip(sub["region_code"], sub["year"].astype(int), strict=True),
                    sub["value"].astype(float), strict=True))


def ratios(frames: dict[str, Any], flags: BlankFlags | None) -> dict[str, dict[tuple, float]]:
    """ratio name (plausibility_bounds.csv) -> {(province, year): value} where computable.

    coal_per_gdp      coal 万吨 / GDP 亿元                          = t per 10,000 yuan
    coal_per_capita   coal 万吨 / population 万人                    = t per person
    carbon_intensity  fuel-combustion CO2 Mt × 100 / GDP 亿元       = t per 10,000 yuan
                      (CO2 as the SQL models compute it, consumption method: `flags`)
    gdp_per_capita    GDP 亿元 × 10,000 / population 万人           = yuan per person
    """
    coal = _by_key(frames, "energy_consumption", "consumption", "coal")
    gdp = _by_key(frames, "gdp", "gdp_current")
    population = _by_key(frames, "population", "population")
    co2 = flags.totals() if flags is not None else {}
    out: dict[str, dict[tuple, float]] = {
        "coal_per_gdp": {k: v / gdp[k] for k, v in coal.items() if k in gdp},
        "coal_per_capita": {k: v / population[k] for k, v in coal.items() if k in population},
        "carbon_intensity": {k: co2[k] * 100 / gdp[k] for k in coal
                             if k in gdp and co2.get(k, 0) > 0},
        "gdp_per_capita": {k: v * 1e4 / population[k] for k, v in gdp.items()
                           if k in population},
    }
    return out


RATIO_TERMS = {  # ratio -> (what the note says it is made of, the kinds whose unit may be off)
    "coal_per_gdp": ("coal consumption / GDP", "coal or GDP"),
    "coal_per_capita": ("coal consumption / population", "coal or population"),
    "carbon_intensity": ("fuel-combustion CO2 / GDP", "a fuel or GDP"),
    "gdp_per_capita": ("GDP / population", "GDP or population"),
}
RATIO_ROWS = {  # ratio -> (kind, variable, fuel) of the row a finding is reported at
    "coal_per_gdp": ("energy_consumption", "consumption", "coal"),
    "coal_per_capita": ("energy_consumption", "consumption", "coal"),
    "carbon_intensity": ("energy_consumption", "consumption", "coal"),
    "gdp_per_capita": ("gdp", "gdp_current", None),
}


def _row_index(df, variable: str, fuel: str | None) -> dict[tuple[str, int], Any]:
    sub = df[(df["variable"] == variable) & ((df["fuel"] == fuel) if fuel else df["fuel"].isna())]
    return {(c, int(y)): i for c, y, i in zip(sub["region_code"], sub["year"], sub.index,
                                              strict=True)}


def _largest_fuel(flags: BlankFlags | None, key: tuple[str, int]) -> str | None:
    if flags is None:
        return None
    fuels = {f: v for (c, y, f), v in flags.co2_mt.items() if (c, y) == key and v > 0}
    return max(fuels, key=fuels.get) if fuels else None


def _bound_text(bound: PlausibilityBound) -> str:
    return (f"reference/plausibility_bounds.csv {bound.ratio}; "
            f"real NBS {fmt(bound.observed_min)}-{fmt(bound.observed_max)}")


def _shifted(frames: dict[str, Any]) -> set[tuple[str, int]]:
    """Province-years with a cell already flagged as a level shift: its ratios are not checked
    again (the report names the cell itself, not the ratios it throws off)."""
    out: set[tuple[str, int]] = set()
    for df in frames.values():
        if LEVEL_COLUMN in df.columns and not df.empty:
            hit = df[df[LEVEL_COLUMN] > LEVEL_SHIFT_MAX]
            out |= set(zip(hit["region_code"], hit["year"].astype(int), strict=True))
    return out


def add_plausibility(frames: dict[str, Any], flags: BlankFlags | None) -> dict[str, Any]:
    """Frames with `implausible` notes (a province-year outside a ratio's bounds) and
    `column_level` notes (every coal row of a column whose median is outside its bounds)."""
    import math

    import pandas as pd

    out = dict(frames)
    for kind, df in out.items():
        df = df.copy()
        for column in (IMPLAUSIBLE, COLUMN_LEVEL):
            if column not in df.columns:
                df[column] = pd.Series([None] * len(df), index=df.index, dtype=object)
        out[kind] = df
    shifted = _shifted(frames)
    # the bounds are calibrated on provinces (plausibility_bounds.csv): prefectures, counties
    # and parks are more extreme by nature (a coal-mining county), so only provinces are judged
    provinces = set(province_names())
    values = {name: {k: v for k, v in found.items() if k not in shifted and k[0] in provinces}
              for name, found in ratios(frames, flags).items()}
    notes: dict[str, dict[Any, list[str]]] = defaultdict(lambda: defaultdict(list))
    for bound in plausibility_bounds():
        found = values.get(bound.ratio, {})
        kind, variable, fuel = RATIO_ROWS[bound.ratio]
        df = out.get(kind)
        if df is None or df.empty or not usable(df) or not found:
            continue
        made_of, suspects = RATIO_TERMS[bound.ratio]
        if bound.scope == "province_year":
            rows = _row_index(df, variable, fuel)
            for key, ratio in sorted(found.items()):
                if bound.minimum <= ratio <= bound.maximum:
                    continue
                where = "below the plausible minimum" if ratio < bound.minimum else (
                    "above the plausible maximum")
                limit = bound.minimum if ratio < bound.minimum else bound.maximum
                at = rows.get(key)
                if bound.ratio == "carbon_intensity" and ratio > bound.maximum:
                    largest = _largest_fuel(flags, key)
                    at = _row_index(df, variable, largest).get(key, at) if largest else at
                if at is None:
                    continue
                notes[kind][at].append(
                    f"{province_label(key[0])} {key[1]}: {made_of} = {ratio:.3g} {bound.unit}, "
                    f"{where} {fmt(limit)} ({_bound_text(bound)}): {suspects} in the wrong unit?"
                )
            continue
        # column_median: one source column (file, header) of the numerator at a time
        sub = df[df["region_code"].isin(provinces) & (df["variable"] == variable)
                 & ((df["fuel"] == fuel) if fuel else df["fuel"].isna())]
        for _column, g in sub.groupby(["source_file", "source_column"], sort=True):
            keys = [(c, int(y)) for c, y in zip(g["region_code"], g["year"], strict=True)]
            present = [found[k] for k in keys if k in found]
            codes = {k[0] for k in keys if k in found}
            years = [k[1] for k in keys if k in found]
            if len(codes) < COLUMN_MIN_PROVINCES:
                continue
            median = float(pd.Series(present).median())
            if bound.minimum <= median <= bound.maximum:
                continue
            typical = math.sqrt(bound.observed_min * bound.observed_max)
            power = round(math.log10(median / typical))
            off = (f"about {10 ** abs(power):,}x too {'large' if power > 0 else 'small'}"
                   if power else "off")
            text = (f"median {made_of} of this column: {median:.3g} {bound.unit} over "
                    f"{len(codes)} provinces, {year_span(years)}; plausible "
                    f"{fmt(bound.minimum)}-{fmt(bound.maximum)} ({_bound_text(bound)}): the "
                    f"values look {off}; is the unit in the header right?")
            for i, key in zip(g.index, keys, strict=True):
                if key in found:
                    out[kind].at[i, COLUMN_LEVEL] = text
    for kind, by_row in notes.items():
        for i, texts in by_row.items():
            out[kind].at[i, IMPLAUSIBLE] = "; ".join(texts)
    return out


# --- coverage ---------------------------------------------------------------------------------


def _findings(frames: dict[str, Any]) -> dict[str, dict[tuple, list[str]]]:
    """kind -> {(province, year, variable, fuel): [reasons]} for missing or blank cells."""
    found: dict[str, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    known = set(province_names())  # an unknown code is an error of its own, not a coverage gap
    for kind, df in frames.items():
        if df.empty or not usable(df):
            continue
        prov = df[df["region_code"].isin(known)]
        fuels = prov["fuel"].astype(object).where(prov["fuel"].notna(), None)
        for (variable, fuel), g in prov.groupby([prov["variable"], fuels], dropna=False):
            fuel = None if fuel is None or fuel != fuel else fuel
            years = sorted(set(g["year"]))
            present = set(zip(g["region_code"], g["year"], strict=True))
            for code in sorted(set(g["region_code"])):
                for year in years:
                    if (code, year) not in present:
                        found[kind][(code, int(year), variable, fuel)].append(
                            f"other provinces have {year}"
                        )
    energy = frames.get("energy_consumption")
    if energy is not None and not energy.empty and usable(energy):
        fossil = energy[
            energy["region_code"].isin(known)
            & (energy["variable"] == "consumption")
            & energy["fuel"].isin(list(fossil_fuels()))
            & energy["value"].notna()
        ]
        needed = sorted(set(zip(fossil["region_code"], fossil["year"], strict=True)))
        for kind in NEEDS_ENERGY_YEARS:
            df = frames.get(kind)
            variable = DEFAULT_COLUMNS[kind][0]
            values: dict[tuple, float] = {}
            if df is not None and not df.empty and usable(df):
                sub = df[df["variable"] == variable]
                values = dict(zip(zip(sub["region_code"], sub["year"], strict=True),
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
            for i, key in zip(df.index, zip(df["region_code"], df["year"].astype(int),
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
        own = series[series["region_code"] == code]
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
        "region_code": code,
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
        df = add_not_positive(df, kind)
        df = add_not_finite(df)
        prepared[kind] = df
    prepared = add_coverage(prepared, run_id)
    prepared = add_plausibility(prepared, flags)
    for df in prepared.values():
        for column in DERIVED_COLUMNS:
            if column not in df.columns:
                if column in (YOY_COLUMN, LEVEL_COLUMN):
                    df[column] = float("nan")
                else:
                    df[column] = pd.Series([None] * len(df), index=df.index, dtype=object)
    return prepared


