"""The derived check columns of the raw suites: their definitions and thresholds. They are
computed in SQL (`validate/sql/raw_*.sql`, run by `sql_engine`, the one validation engine).

An expectation checks one batch at a time, column by column. Checks that need a series
(year-on-year change, level shifts), another province (coverage) or another source kind (GDP for
the years energy data covers) are therefore derived columns of the batch, and the
suites (`suites.py`) hold plain expectations on those columns: `yoy_factor <= 5`,
`level_shift <= 500`, `missing_required is null`, ... The offending cells keep their lineage, so
the report names the file, row and column of each finding, and each note column holds the
sentence a user reads.

Coverage findings are about rows that do *not* exist. For those, `raw_placeholders.sql` appends a
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

from carbon_assess.validate.blanks import ENERGY_NOTES

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
IMPLAUSIBLE_INTENSITY = "implausible_intensity"  # error, after compute: its carbon intensity
COLUMN_LEVEL = "column_level"  # error: a column's median outside its bounds
COLUMN_MIN_PROVINCES = 10  # provinces a column needs before its median is compared
LEVEL_MIN_SERIES = 3  # values needed for a series median
LEVEL_MIN_PROVINCES = 5  # values needed for a year median

# Consistency across series (DESIGN §3; validate/sql/raw_consistency.sql, bounds in
# reference/plausibility_bounds.csv): a cell 10^k times both its neighbours, an implied deflator
# out of its band or far from its year's peers (and whether the index looks cumulative).
EXCURSION = "excursion"  # error
EXCURSION_MINOR = "excursion_minor"  # warning: where a dip or a small value can be real
DEFLATOR = "implied_deflator"  # warning: the verdicts on the index cell become provisional

MISSING_REQUIRED = "missing_required"  # error: plan base or final year
MISSING_YEAR = "missing_year"  # warning: any other year
NOTE_COLUMNS = (MISSING_REQUIRED, MISSING_YEAR, *ENERGY_NOTES, NOT_POSITIVE, NOT_FINITE,
                EXCURSION, EXCURSION_MINOR, DEFLATOR,
                IMPLAUSIBLE, IMPLAUSIBLE_INTENSITY, COLUMN_LEVEL)
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

