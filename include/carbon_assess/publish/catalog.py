"""The catalog of schema `carbon`: the single source of truth for what is published.

For every published table, run-log table and analyst view: a description, the grain (primary
key), the indexes analysts' queries need, and for every column its type (DuckDB name; the
PostgreSQL type follows from `PG_TYPES`), unit and description. From this file come:

- `docs/data_dictionary.md` (`python -m carbon_assess.schema_docs`; a test keeps it up to date),
- `COMMENT ON` statements applied at every publish, in DuckDB and in PostgreSQL,
- the primary keys, indexes and row order of the published tables,
- the analyst views (`VIEWS`; one SQL text for both DuckDB and PostgreSQL).

The column *types* of the published tables are those the compute SQL produces; the types here
document them, and `tests/test_schema_docs.py` fails when the two disagree, when a published
column is not documented or when a documented column is no longer published.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# DuckDB type (as in information_schema.columns.data_type) → PostgreSQL type. Same semantics in
# both: VARCHAR ↔ text, DOUBLE ↔ double precision, INTEGER/BIGINT/BOOLEAN ↔ same names,
# TIMESTAMP WITH TIME ZONE ↔ timestamptz.
PG_TYPES = {
    "VARCHAR": "text",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type name, see PG_TYPES
    description: str
    unit: str = ""

    def comment(self) -> str:
        return f"{self.description} [{self.unit}]" if self.unit else self.description


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # "dimension" | "fact" | "run log" | "view"
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    # False for the fuel-level facts (tens of millions of rows at county scale): the key is the
    # grain and the row order, unique by construction (the raw suites refuse a duplicate
    # region-year-variable-fuel), but the embedded DuckDB warehouse does not index it: an ART
    # index of 100M keys must fit in memory. PostgreSQL keeps it (a B-tree on disk).
    key_indexed: bool = True
    indexes: tuple[tuple[str, ...], ...] = field(default=())
    sql: str = ""  # views only: a SELECT over `{schema}.<table>`, valid in DuckDB and PostgreSQL

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name}.{name}")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


V, D, INT, B, BOOL = "VARCHAR", "DOUBLE", "INTEGER", "BIGINT", "BOOLEAN"
TSTZ = "TIMESTAMP WITH TIME ZONE"
C = Column

PCT = "%"
MT = "Mt CO2"
GDP = "100 million yuan (亿元)"
TCE = "10,000 tce (万吨标准煤)"
INTENSITY = "t CO2 per 10,000 yuan (吨/万元)"

# Shared column descriptions (same meaning wherever the column appears).
_PROVINCE = C("province_code", V, "Province code (GB/T 2260, six digits, e.g. 630000 Qinghai)")
_UNIT_PROVINCE = C(
    "province_code", V, "Province code (GB/T 2260) of a province's row; null for a prefecture, "
    "county or declared unit (see region_code), so queries about provinces read as before")
_REGION = C("region_code", V, "The unit: GB/T 2260 code of a province, prefecture or county, or "
            "the code a units sheet declares for a park or zone (dim_region)")
_LEVEL = C("region_level", V, "Level of the unit: province, prefecture, county, park or "
           "development_zone (reference/region_levels.csv)")
_PLAN = C("plan_id", V, "Five-Year Plan: 11th, 12th, 13th or 14th")
_YEAR = C("year", INT, "Calendar year", "year")
_METHOD = C("method", V, "Emission accounting method: reference (primary fuels plus net "
            "secondary products, no double counting) or consumption (every fuel consumed)")
_NAME_ZH = C("name_zh", V, "Province name in Chinese (e.g. 青海省)")
_NAME_EN = C("name_en", V, "Province name in English (e.g. Qinghai)")

# Columns of int_intensity, published per province (fct_intensity) and for the nation
# (fct_national_intensity, target from dim_plan).
_INTENSITY_COLUMNS = (
    C("year", B, "Calendar year (base year to end year of the plan)", "year"),
    C("years_into_plan", B, "year - base_year", "years"),
    C("gdp_const_100m_yuan", D, "GDP at constant prices of the plan's base year "
      "(current-price GDP of the base year chained with the GDP index)", GDP),
    C("co2_mt", D, "CO2 emissions", MT),
    C("intensity_t_per_10k_yuan", D, "Carbon intensity: CO2 per unit of constant-price "
      "GDP", INTENSITY),
    C("energy_10k_tce", D, "Fossil energy on the same basis as co2_mt", TCE),
    C("energy_intensity_tce_per_10k_yuan", D, "Fossil energy per unit of constant-price "
      "GDP", "tce per 10,000 yuan"),
    C("carbon_per_energy_t_per_tce", D, "CO2 per unit of fossil energy",
      "t CO2 per tce"),
    C("annual_decline_pct", D, "Decline of intensity against the previous year", PCT),
    C("cumulative_decline_pct", D, "Decline of intensity against the base year", PCT),
    C("target_pct", D, "Reduction target for the plan (province: dim_target; nation: "
      "dim_plan)", PCT),
    C("expected_decline_pct", D, "Cumulative decline expected by this year at an even "
      "pace: 1 - (1 - target)^(years_into_plan / plan length), plan length = end_year - "
      "base_year (5 years)", PCT),
    C("completion_pct", D, "max(cumulative decline, 0) / target", PCT),
    C("on_schedule", BOOL, "True when the cumulative decline reaches the expected "
      "decline; null without data or target"),
)

TABLES: tuple[Table, ...] = (
    Table(
        "dim_province", "dimension",
        "The 31 provinces, autonomous regions and municipalities of mainland China, with their "
        "region and regional power grid (reference/provinces.csv).",
        (
            _PROVINCE,
            _NAME_ZH,
            C("short_zh", V, "Short Chinese name (e.g. 青海)"),
            _NAME_EN,
            C("region", V, "Economic region: east, central, west or northeast"),
            C("grid_region", V, "Regional power grid: north, northeast, east, central, "
              "northwest, south or tibet"),
        ),
        primary_key=("province_code",),
    ),
    Table(
        "dim_plan", "dimension",
        "Five-Year Plans with their base year and the national carbon-intensity target "
        "(reference/plans.csv).",
        (
            _PLAN,
            C("plan_name_zh", V, "Plan name in Chinese (e.g. 第十二个五年规划)"),
            C("start_year", INT, "First year of the plan", "year"),
            C("end_year", INT, "Last year of the plan (the year the target is assessed)", "year"),
            C("base_year", INT, "Base year of the intensity target (the year before start_year)",
              "year"),
            C("national_target_pct", D, "National reduction target for CO2 per unit of GDP over "
              "the plan, relative to the base year; null where the plan set none", PCT),
            C("source", V, "Document the plan and its target come from"),
        ),
        primary_key=("plan_id",),
    ),
    Table(
        "dim_target", "dimension",
        "Carbon-intensity reduction targets per plan and unit: the State Council annexes for the "
        "provinces (reference/targets.csv), overridden or completed by a user-supplied targets "
        "sheet (any unit).",
        (
            _PLAN,
            _UNIT_PROVINCE,
            C("target_pct", D, "Reduction target for CO2 per unit of GDP at the end of the plan, "
              "relative to the base year", PCT),
            C("source", V, "Where the target comes from (document, or user sheet file and row)"),
            _REGION,
            _LEVEL,
        ),
        primary_key=("plan_id", "region_code"),
    ),
    Table(
        "dim_emission_factor", "dimension",
        "CO2 emission factors per fuel, of the factor version the run used "
        "(reference/emission_factors.csv), with the conversion from the canonical activity unit.",
        (
            C("factor_version", V, "Version label of the factor set (the newest listed is used)"),
            C("fuel", V, "Fuel: coal, coke, crude_oil, gasoline, kerosene, diesel, fuel_oil, "
              "lpg, refinery_gas, natural_gas"),
            C("activity_unit", V, "Physical unit the factors refer to: kg or m3"),
            C("ncv_kj_per_unit", D, "Net calorific value", "kJ per activity_unit"),
            C("carbon_content_tc_per_tj", D, "Carbon content per energy", "t C per TJ"),
            C("oxidation_rate", D, "Share of the carbon oxidised in combustion", "fraction 0-1"),
            C("ef_kgco2_per_unit", D, "CO2 emission factor", "kg CO2 per activity_unit"),
            C("kgce_per_unit", D, "Standard-coal equivalent", "kgce per activity_unit"),
            C("canonical_unit", V, "Unit of activity data in the warehouse: 万吨 (10,000 t) for "
              "solids and liquids, 亿立方米 (100 million m3) for gas"),
            C("mt_co2_per_canonical_unit", D, "CO2 per canonical activity unit",
              "Mt CO2 per canonical_unit"),
            C("energy_10k_tce_per_canonical_unit", D, "Standard-coal equivalent per canonical "
              "activity unit", "10,000 tce per canonical_unit"),
            C("reference_basis", V, "What the reference method counts (DESIGN.md §5, IPCC 2006 "
              "reference approach): primary (in full: coal, crude oil, natural gas), "
              "net_of_production (secondary products: consumption - production) or excluded "
              "(refinery gases, already inside crude oil)"),
            C("source", V, "Sources of the calorific value, carbon content and oxidation rate"),
        ),
        primary_key=("factor_version", "fuel"),
    ),
    Table(
        "fct_energy_activity", "fact",
        "Energy consumption and production per unit, year, flow and fuel after the "
        "blank-value policy (DESIGN.md §3), with the lineage of every value back to its landing "
        "file, row and column.",
        (
            _UNIT_PROVINCE,
            _YEAR,
            C("flow", V, "consumption or production"),
            C("fuel", V, "Fuel or energy carrier (see dim_emission_factor.fuel; also electricity)"),
            C("quantity", D, "Quantity in the canonical unit; null only for a blank coal "
              "consumption (value_status missing)", "see unit"),
            C("unit", V, "Canonical unit of quantity: 万吨 (10,000 t), 亿立方米 (100 million m3) "
              "or 亿千瓦时 (100 million kWh)"),
            C("value_status", V, "reported, imputed (linear interpolation between reported "
              "years), assumed_zero, blank_is_zero (production blank) or missing (coal blank)"),
            C("imputed", BOOL, "True when quantity was interpolated"),
            C("noise_zeroed", BOOL, "True when a rounding-noise value (|x| < 1e-6) was set to 0"),
            C("source_file", V, "Landing file the value comes from, relative to the landing "
              "directory (lineage)"),
            C("source_sha256", V, "SHA-256 of the landing file (lineage)"),
            C("source_row", INT, "Row of the value in the landing file, 1-based with the header "
              "(lineage)"),
            C("source_column", V, "Header of the column the value comes from (lineage)"),
            C("source_value", V, "The cell as written in the landing file (lineage)"),
            _REGION,
            _LEVEL,
        ),
        primary_key=("region_code", "year", "flow", "fuel"),
        key_indexed=False,
    ),
    Table(
        "fct_emissions", "fact",
        "CO2 from fossil-fuel combustion per unit, year and fuel, for both accounting "
        "methods (DESIGN.md §5).",
        (
            _UNIT_PROVINCE,
            _YEAR,
            C("fuel", V, "Fuel (see dim_emission_factor.fuel)"),
            _METHOD,
            C("activity_basis", V, "consumption, or consumption - production (secondary "
              "products under the reference method)"),
            C("activity_quantity", D, "Activity the factor is applied to", "activity_unit"),
            C("activity_unit", V, "Canonical unit of activity_quantity (万吨 or 亿立方米)"),
            C("ef_kgco2_per_unit", D, "Emission factor applied", "kg CO2 per kg or m3"),
            C("factor_version", V, "Emission-factor version applied"),
            C("co2_mt", D, "CO2 emissions", MT),
            C("energy_10k_tce", D, "Fossil energy on the same basis as co2_mt", TCE),
            C("imputed", BOOL, "True when the consumption figure was interpolated"),
            C("assumed_zero", BOOL, "True when the consumption figure is a blank taken as 0"),
            _REGION,
            _LEVEL,
        ),
        primary_key=("region_code", "year", "fuel", "method"),
        key_indexed=False,
    ),
    Table(
        "fct_province_year", "fact",
        "One row per province and year: CO2 (the run's method), fossil energy, electricity "
        "trade, GDP, GDP index, population and data completeness.",
        (
            _PROVINCE,
            C("year", B, "Calendar year", "year"),
            _METHOD,
            C("co2_mt", D, "CO2 from fossil-fuel combustion; null when the province-year has "
              "insufficient data", MT),
            C("energy_10k_tce", D, "Fossil energy on the same basis as co2_mt", TCE),
            C("net_electricity_import_100m_kwh", D, "Net electricity import (consumption - "
              "generation)", "100 million kWh (亿千瓦时)"),
            C("co2_electricity_trade_mt", D, "CO2 of the net electricity import at the regional "
              "grid factor, when the run enables it; not part of the intensity", MT),
            C("gdp_current_100m_yuan", D, "Gross regional product at current prices", GDP),
            C("gdp_index_prev_year", D, "GDP index at constant prices, previous year = 100",
              "index, previous year = 100"),
            C("population_10k", D, "Year-end resident population", "10,000 persons (万人)"),
            C("imputed_share", D, "Share of |CO2| resting on interpolated activity data",
              "fraction 0-1"),
            C("assumed_zero_fuels", V, "Fuels whose blank consumption was taken as 0 "
              "(comma-separated)"),
            C("data_status", V, "complete or insufficient data"),
            C("data_gaps", V, "Why the province-year is insufficient (semicolon-separated), "
              "else null"),
        ),
        primary_key=("province_code", "year"),
        indexes=(("year",),),
    ),
    Table(
        "fct_intensity", "fact",
        "Carbon intensity per plan, unit and year from the plan's base year to its end year "
        "(GDP at constant base-year prices), with annual and cumulative decline against the "
        "target.",
        (
            _PLAN,
            _UNIT_PROVINCE,
            *_INTENSITY_COLUMNS,
            _REGION,
            _LEVEL,
        ),
        primary_key=("plan_id", "region_code", "year"),
        indexes=(("region_code", "year"), ("province_code", "year")),
    ),
    Table(
        "fct_intensity_decomposition", "fact",
        "Additive LMDI decomposition of the change in carbon intensity from the plan's base "
        "year to each later year into an energy-intensity effect and a carbon-content-of-energy "
        "effect (the two sum to the change; null where an input is not positive).",
        (
            _PLAN,
            _UNIT_PROVINCE,
            C("base_year", B, "Base year of the plan", "year"),
            C("year", B, "Calendar year (after the base year)", "year"),
            C("intensity_base_t_per_10k_yuan", D, "Carbon intensity in the base year",
              INTENSITY),
            C("intensity_t_per_10k_yuan", D, "Carbon intensity in year", INTENSITY),
            C("intensity_change_t_per_10k_yuan", D, "Change of carbon intensity since the base "
              "year", INTENSITY),
            C("energy_intensity_effect_t_per_10k_yuan", D, "Part of the change due to energy "
              "per unit of GDP", INTENSITY),
            C("carbon_content_effect_t_per_10k_yuan", D, "Part of the change due to CO2 per "
              "unit of energy (fuel mix)", INTENSITY),
            C("energy_intensity_share_pct", D, "Energy-intensity effect as a share of the "
              "change", PCT),
            C("carbon_content_share_pct", D, "Carbon-content effect as a share of the change",
              PCT),
            _REGION,
            _LEVEL,
        ),
        primary_key=("plan_id", "region_code", "year"),
    ),
    Table(
        "fct_measures_score", "fact",
        "The assessors' points for the tasks-and-measures part of the assessment, one row per "
        "sub-indicator (measures score sheet, with reference/measures_indicators.csv).",
        (
            _PLAN,
            _UNIT_PROVINCE,
            C("assessment_year", INT, "Year assessed", "year"),
            C("part", V, "Part of the measures score: tasks, basic_work or organisation"),
            C("indicator", V, "Sub-indicator code (e.g. energy_conservation)"),
            C("indicator_zh", V, "Sub-indicator name in Chinese"),
            C("points", D, "Points given by the assessors", "points"),
            C("max_points", D, "Maximum points of the sub-indicator", "points"),
            C("note", V, "Assessors' note, if any"),
            C("source_file", V, "Score sheet the row comes from, relative to the landing "
              "directory (lineage)"),
            C("source_row", INT, "Row in the score sheet (lineage)"),
            _REGION,
            _LEVEL,
        ),
        indexes=(("plan_id", "region_code", "assessment_year"),),
    ),
    Table(
        "fct_national_year", "fact",
        "The nation per year, computed from the national files (never as a sum of provinces): "
        "CO2, fossil energy, GDP, GDP index and population. Empty when no national file was "
        "supplied.",
        (
            C("year", B, "Calendar year", "year"),
            _METHOD,
            C("co2_mt", D, "National CO2 from fossil-fuel combustion", MT),
            C("energy_10k_tce", D, "National fossil energy on the same basis as co2_mt", TCE),
            C("gdp_current_100m_yuan", D, "GDP at current prices", GDP),
            C("gdp_index_prev_year", D, "GDP index at constant prices, previous year = 100",
              "index, previous year = 100"),
            C("population_10k", D, "Year-end population", "10,000 persons (万人)"),
            C("imputed_share", D, "Share of |CO2| resting on interpolated activity data",
              "fraction 0-1"),
            C("data_status", V, "complete or insufficient data"),
            C("data_gaps", V, "Why the year is insufficient (semicolon-separated), else null"),
        ),
        primary_key=("year",),
    ),
    Table(
        "fct_national_intensity", "fact",
        "National carbon intensity per plan and year against the national target of the plan, "
        "from national data.",
        (
            _PLAN,
            *_INTENSITY_COLUMNS,
        ),
        primary_key=("plan_id", "year"),
    ),
    Table(
        "fct_national_reconciliation", "fact",
        "Province sum against the national total per year (provincial inventories add up to a "
        "few percent more than the national one); only province-years with complete data are "
        "summed.",
        (
            C("year", B, "Calendar year", "year"),
            C("national_co2_mt", D, "National CO2 from the national files", MT),
            C("province_sum_co2_mt", D, "Sum of provincial CO2 (complete province-years)", MT),
            C("provinces_in_sum", B, "Number of provinces in the sum", "provinces"),
            C("co2_difference_pct", D, "province sum / national - 1", PCT),
            C("national_energy_10k_tce", D, "National fossil energy", TCE),
            C("province_sum_energy_10k_tce", D, "Sum of provincial fossil energy", TCE),
            C("national_gdp_100m_yuan", D, "National GDP at current prices", GDP),
            C("province_sum_gdp_100m_yuan", D, "Sum of provincial GDP at current prices "
              "(provinces in the CO2 sum)", GDP),
        ),
        primary_key=("year",),
    ),
    Table(
        "fct_target_assessment", "fact",
        "Each unit (province, prefecture, county, declared unit) against its plan target for "
        "every year of the plan: status, scores, grade and veto (DESIGN.md §7); a unit without "
        "a target has its declines and status no target.",
        (
            _PLAN,
            _UNIT_PROVINCE,
            C("assessment_year", B, "Year assessed", "year"),
            C("end_of_plan", BOOL, "True in the plan's end year (final assessment)"),
            C("target_pct", D, "The province's reduction target for the plan", PCT),
            C("annual_target_pct", D, "Annual decline target: the province's own figure, else "
              "the even pace 1 - (1 - target)^(1 / plan length)", PCT),
            C("annual_target_basis", V, "province figure or even pace"),
            C("annual_decline_pct", D, "Decline of intensity against the previous year", PCT),
            C("expected_decline_pct", D, "Cumulative decline expected by this year at an even "
              "pace", PCT),
            C("cumulative_decline_pct", D, "Official cumulative decline against the base year "
              "(chained on a confirmed figure where one exists, else direct)", PCT),
            C("cumulative_decline_direct_pct", D, "Cumulative decline recomputed directly from "
              "the data", PCT),
            C("cumulative_decline_chained_pct", D, "Cumulative decline chained on the previous "
              "year's confirmed figure; null without one", PCT),
            C("chaining_difference_pct", D, "Chained minus direct cumulative decline",
              "percentage points"),
            C("completion_pct", D, "max(cumulative decline, 0) / target", PCT),
            C("status", V, "met or missed (end year), on schedule or behind (earlier years), "
              "insufficient data, or no target (plan without provincial carbon targets: 11th)"),
            C("target_achieved", BOOL, "End year only: true when the target was met"),
            C("annual_target_score", D, "Points for the annual target", "points"),
            C("cumulative_target_score", D, "Points for cumulative progress", "points"),
            C("target_score", D, "Target part: annual + cumulative points", "points"),
            C("target_score_max", D, "Maximum points of the target part", "points"),
            C("measures_score", D, "Tasks-and-measures points from the assessors' sheet; null "
              "without one", "points"),
            C("measures_score_max", D, "Maximum points of the measures part", "points"),
            C("total_score", D, "target_score + measures_score", "points"),
            C("grade", V, "excellent, good, pass, fail, provisional (no measures sheet), "
              "insufficient data or not assessed (no target)"),
            C("grade_is_provisional", BOOL, "True when the grade waits for the measures sheet"),
            C("veto", BOOL, "True when the annual or cumulative progress target was missed "
              "(grade fail whatever the score)"),
            C("note", V, "Explanation of the status and grade in one sentence"),
            C("rules_version", V, "Version of the scoring rules and grade thresholds applied"),
            C("reason", V, "Short explanation of the grade, never blank: the veto (which target, "
              "missed by how many pp), provisional (no measures sheet), insufficient data (the "
              "gap), not assessed (no target), or the score breakdown"),
            C("margin_pp", D, "Cumulative decline minus the threshold of the status (the target "
              "in the plan's end year, the expected decline before): positive = ahead by that "
              "much, negative = short; null without a decline or a target",
              "percentage points"),
            C("margin_co2_mt", D, "The margin as CO2 of the assessed year: CO2 at the threshold "
              "intensity I_base x (1 - threshold) and the same constant-price GDP, minus actual "
              "CO2 (positive = room for that much more, negative = that much less needed)",
              "Mt CO2"),
            C("margin_gdp_pct", D, "The margin as GDP of the assessed year: (1 - GDP needed at "
              "the threshold intensity / actual constant-price GDP) x 100 (negative = that much "
              "more GDP needed, positive = GDP could be that much lower)", PCT),
            C("margin_text", V, "The margin in words, e.g. 'short by 0.46 pp: 0.25 Mt CO2 less "
              "or 0.51 % more GDP in 2015'"),
            _REGION,
            _LEVEL,
            C("verdict_is_provisional", BOOL, "True when a cell that decides the verdict (any "
              "fuel in the base or assessment year, base-year GDP, the GDP index chain) carries a "
              "validation warning (reference/verdict_evidence_rules.csv exempts the documented "
              "blank-value and rounding policies): the verdict stands until the cell is checked"),
            C("provisional_cells", V, "The flagged input cells behind a provisional verdict: "
              "file, row, column, year and rule; null when none"),
        ),
        primary_key=("plan_id", "region_code", "assessment_year"),
        indexes=(("region_code", "assessment_year"), ("province_code", "assessment_year"),
                 ("assessment_year", "status")),
    ),
    Table(
        "fct_official_comparison", "fact",
        "The computed verdicts beside the results the authorities published (by default the "
        "shipped reference table reference/official_assessment_results.csv: the NDRC 2016 "
        "grades of all 31 provinces, the national declines of the 12th and 13th FYP, each with "
        "its source; $CARBON_OFFICIAL_RESULTS names another file of the same columns, or none), "
        "one row per official result. The official "
        "verdicts used the statistics as first published; a disagreement is information (see "
        "margin_pp and within_margin), never a reason to tune the methods.",
        (
            _PLAN,
            C("province_code", V, "Province code (GB/T 2260); 000000 for the nation"),
            C("assessment_year", B, "Year assessed", "year"),
            C("name_en", V, "Province name in English; China for 000000"),
            C("official_grade", V, "Published grade: excellent, good, pass or fail; null where "
              "none was published (national rows)"),
            C("official_decline_pct", D, "Published cumulative decline of CO2 per unit of GDP "
              "from the plan's base year; null where none was published", PCT),
            C("official_source", V, "Publication the official figures come from"),
            C("computed_status", V, "Computed status (fct_target_assessment; the nation: met or "
              "missed against the national target, from fct_national_intensity); insufficient "
              "data when not computable (e.g. no national files supplied)"),
            C("computed_grade", V, "Computed grade (fct_target_assessment.grade); null for the "
              "nation"),
            C("computed_decline_pct", D, "Computed cumulative decline against the base year "
              "(provinces: fct_target_assessment; nation: fct_national_intensity)", PCT),
            C("official_pass", BOOL, "Official verdict: true for excellent, good or pass, false "
              "for fail; null without an official grade"),
            C("computed_pass", BOOL, "Computed verdict on the same scale: true for excellent, "
              "good, pass and provisional (a provisional grade is only given when no target "
              "part was missed, i.e. without a veto; the measures part, unknown without a "
              "measures sheet, is not compared), false for fail; null for insufficient data or "
              "not assessed"),
            C("grade_agrees", BOOL, "Computed grade equals the official grade; null when either "
              "side has no final grade (no official grade; computed grade provisional, "
              "insufficient data or not assessed)"),
            C("pass_fail_agrees", BOOL, "computed_pass = official_pass; null when either is "
              "null"),
            C("decline_difference_pp", D, "computed_decline_pct - official_decline_pct; null "
              "without an official decline", "percentage points"),
            C("margin_pp", D, "Percentage points of cumulative decline separating the computed "
              "result from the other verdict (fct_target_assessment.margin_pp; nation: decline "
              "minus the expected decline); positive = ahead, negative = short",
              "percentage points"),
            C("within_margin", BOOL, "True when |margin_pp| < within_margin_pp: the province "
              "sits so close to its threshold that ordinary statistical revisions (the official "
              "verdicts used the statistics as first published) could flip the verdict; null "
              "without a margin"),
            C("within_margin_pp", D, "The tolerance within_margin uses "
              "(reference/official_comparison_tolerance.csv, newest version: 1 pp, about the "
              "size of revisions to one year's intensity decline)", "percentage points"),
        ),
        primary_key=("plan_id", "province_code", "assessment_year"),
    ),
    Table(
        "meta_pipeline_run", "run log",
        "One row per pipeline run, whatever its outcome (published, rejected, failed, "
        "skipped), and per rollback (the run log; kept across releases; written without "
        "touching the published tables). The latest published or rolled-back row (by "
        "finished_at) describes the release in schema carbon: a rollback's row repeats the "
        "parameters of the run it restored.",
        (
            C("run_id", V, "Run id: UTC start time and a random suffix"),
            C("started_at", TSTZ, "When the run (or rollback) started", "UTC"),
            C("finished_at", TSTZ, "When the run published (or the rollback finished)", "UTC"),
            C("status", V, "published; rolled back (the release of restored_run_id is current "
              "again); rejected (input validation or the output gate refused the batch: nothing "
              "published); failed (an error in a stage: nothing published); skipped (the "
              "landing folder was empty or unchanged since the current release)"),
            C("code_version", V, "Package version and git commit of the code that ran"),
            C("vintage", V, "Data vintage label given to the run (e.g. 2024 yearbook)"),
            C("method", V, "Emission accounting method of the run"),
            C("factor_version", V, "Emission-factor version of the run"),
            C("landing", V, "Landing directory the inputs were read from"),
            C("input_files", V, "JSON list of the input files with sheet, sha256 and number of "
              "observations"),
            C("row_counts", V, "JSON object: rows published per table"),
            C("warnings", INT, "Number of warnings of the run: failed warning-severity "
              "results in meta_validation_result (ingest, input validation and output "
              "gate; the count the CLI prints and the plugin shows)"),
            C("restored_run_id", V, "Rollback only: the run whose release it restored (null "
              "when unknown, or for a publish)"),
            C("failed_stage", V, "Rejected or failed runs: the stage that stopped the run "
              "(ingest, validate, compute, assess, check_outputs, publish)"),
            C("reason", V, "Rejected, failed or skipped runs: one line saying why (the first "
              "error with its file, row, column and rule where it has them)"),
            C("report_path", V, "Rejected runs: the quarantine report (report.md) naming every "
              "finding"),
            C("landing_digest", V, "SHA-256 over the landing folder's files (relative path and "
              "content): equal digests are the same statistical release"),
        ),
        primary_key=("run_id",),
    ),
    Table(
        "meta_validation_result", "run log",
        "Outcome of every validation expectation of every run that published or was "
        "rejected (kept across releases).",
        (
            C("run_id", V, "Run id (meta_pipeline_run.run_id)"),
            C("source", V, "Raw data set validated (e.g. energy_consumption)"),
            C("expectation", V, "Expectation (Great Expectations type)"),
            C("column", V, "Column the expectation is about; null for table-level ones"),
            C("severity", V, "error (blocks publishing) or warning"),
            C("success", BOOL, "True when the expectation held"),
            C("unexpected_count", B, "Number of rows breaking it", "rows"),
            C("examples", V, "A few offending values (JSON)"),
        ),
        indexes=(("run_id",),),
    ),
)


def _unit_year() -> Table:
    """fct_region_year: the columns of fct_province_year, for every unit."""
    province_year = next(t for t in TABLES if t.name == "fct_province_year")
    return Table(
        "fct_region_year", "fact",
        "One row per unit and year, every unit the run has data for (provinces, prefectures, "
        "counties, declared parks and zones; the 31 provinces always): the columns of "
        "fct_province_year with the unit's level and parent.",
        (_REGION, _LEVEL, C("parent_code", V, "The unit's parent (dim_region)"),
         *province_year.columns[1:]),
        primary_key=("region_code", "year"),
        indexes=(("region_level", "year"),),
    )


def _gap(what: str, column: str, gap: str, unit: str) -> tuple[Column, ...]:
    return (
        C(f"own_{column}", D, f"The parent's own {what}", unit),
        C(f"children_sum_{column}", D, f"Sum of the children's {what} (children in the sum)",
          unit),
        C(f"{gap}_gap_pct", D, f"100 x (children's sum / own {what} - 1)", PCT),
    )


TABLES += (
    Table(
        "dim_region", "dimension",
        "Every unit a run can assess: the nation (000000), the GB/T 2260 provinces, "
        "prefectures and counties of reference/regions.csv, and the parks and zones the run's "
        "units sheet declares, with level, parent and the province each lies in.",
        (
            _REGION,
            C("name_zh", V, "Name in Chinese (e.g. 新余市)"),
            _LEVEL,
            C("parent_code", V, "The unit above it: a county's prefecture (or its province for "
              "municipal districts and province-administered counties), a declared unit's "
              "parent; null for provinces and the nation"),
            C("province_code", V, "The province the unit lies in (itself for a province)"),
            C("gb_2260", BOOL, "True for units of the GB/T 2260 list (they partition their "
              "parent and enter roll-up sums); false for the nation and declared units"),
            C("source", V, "Where the unit comes from: reference/regions.csv, or the units "
              "sheet file and row"),
        ),
        primary_key=("region_code",),
        indexes=(("parent_code",),),
    ),
    _unit_year(),
    Table(
        "fct_region_reconciliation", "fact",
        "Roll-up check: per parent unit and year, the sum of its GB/T 2260 children with "
        "complete data against the parent's own figures (CO2, fossil energy, GDP, population), "
        "with the gap; a warning when every child is in the sum and a gap exceeds the "
        "tolerance (reference/rollup_tolerance.csv). The parent keeps its own figures.",
        (
            _REGION,
            _LEVEL,
            C("year", B, "Calendar year", "year"),
            *_gap("CO2", "co2_mt", "co2", MT),
            *_gap("fossil energy", "energy_10k_tce", "energy", TCE),
            *_gap("GDP at current prices", "gdp_100m_yuan", "gdp", GDP),
            *_gap("population", "population_10k", "population", "10,000 persons (万人)"),
            C("children_in_sum", B, "Children with complete data in the sums", "units"),
            C("children_expected", B, "Children the parent has in GB/T 2260 (dim_region)",
              "units"),
            C("complete", BOOL, "Every child of the parent is in the sums"),
            C("exceeds_tolerance", BOOL, "Complete, and a gap is larger than warn_above_pct "
              "(a warning: the parent keeps its own figures)"),
            C("warn_above_pct", D, "The tolerance (reference/rollup_tolerance.csv)", PCT),
            C("tolerance_version", V, "Version of the tolerance row used"),
        ),
        primary_key=("region_code", "year"),
    ),
)

# Price basis of every figure in the views (issue 12: one truth per figure). The assessment
# compares carbon intensity at constant prices of the plan's base year (GDP chained with the
# GDP index); only v_province_timeseries shows intensity at current prices, and says so.
_CONST = "at constant prices of the plan's base year (price_base_year)"
_PRICE_BASE_YEAR = C("price_base_year", INT, "Price base year of every GDP and intensity figure "
                     "of the row: the plan's base year (dim_plan.base_year); GDP is at constant "
                     "prices of that year", "year")
_DECLINE = f"decline of CO2 per unit of GDP {_CONST}"

VIEWS: tuple[Table, ...] = (
    Table(
        "v_latest_assessment", "view",
        "Per plan and province, the assessment of the latest year with data; every province "
        "of the plan is listed (31 per plan): a province without data in any year of the plan "
        "has its latest row, with status and grade 'insufficient data'. Declines are of CO2 per "
        "unit of GDP at constant prices of the plan's base year (price_base_year), in %.",
        (
            _PLAN,
            _PROVINCE,
            _NAME_EN,
            _NAME_ZH,
            C("assessment_year", B, "Latest year with data (with none: the latest year "
              "assessed, status insufficient data)", "year"),
            C("end_of_plan", BOOL, "True when that year is the plan's end year"),
            C("target_pct", D, f"The province's reduction target for the plan: {_DECLINE} "
              "from the base year to the end year", PCT),
            C("expected_decline_pct", D, f"Cumulative {_DECLINE} expected by that year at an "
              "even pace", PCT),
            C("cumulative_decline_pct", D, f"Official cumulative {_DECLINE} against the base "
              "year (the figure the status and grade rest on); null with insufficient data",
              PCT),
            C("completion_pct", D, "max(cumulative decline, 0) / target (both at constant "
              "prices of the plan's base year)", PCT),
            C("status", V, "met, missed, on schedule, behind, insufficient data or no target"),
            C("target_score", D, "Target part: annual + cumulative points", "points"),
            C("total_score", D, "target_score + measures_score", "points"),
            C("grade", V, "Grade (see fct_target_assessment.grade)"),
            C("veto", BOOL, "True when the annual or cumulative progress target was missed"),
            C("note", V, "Explanation of the status and grade"),
            _PRICE_BASE_YEAR,
        ),
        sql="""
select
    a.plan_id,
    a.province_code,
    p.name_en,
    p.name_zh,
    a.assessment_year,
    a.end_of_plan,
    a.target_pct,
    a.expected_decline_pct,
    a.cumulative_decline_pct,
    a.completion_pct,
    a.status,
    a.target_score,
    a.total_score,
    a.grade,
    a.veto,
    a.note,
    pl.base_year as price_base_year
from {schema}.fct_target_assessment as a
join (
    select plan_id, province_code,
        coalesce(max(case when status <> 'insufficient data' then assessment_year end),
                 max(assessment_year)) as assessment_year
    from {schema}.fct_target_assessment
    group by plan_id, province_code
) as latest
    on latest.plan_id = a.plan_id
    and latest.province_code = a.province_code
    and latest.assessment_year = a.assessment_year
join {schema}.dim_province as p on p.province_code = a.province_code
join {schema}.dim_plan as pl on pl.plan_id = a.plan_id
order by a.plan_id, a.province_code
""",
    ),
    Table(
        "v_behind_schedule", "view",
        "Provinces behind schedule (or that missed the target) in the latest year with data of "
        "each plan. Declines are of CO2 per unit of GDP at constant prices of the plan's base "
        "year (price_base_year), in %. Provinces with insufficient data are not behind and not "
        "listed here: v_latest_assessment lists them with their status.",
        (
            _PLAN,
            C("assessment_year", B, "Latest year with data of the plan", "year"),
            _PROVINCE,
            _NAME_EN,
            _NAME_ZH,
            C("status", V, "behind or missed"),
            C("target_pct", D, f"The province's reduction target for the plan: {_DECLINE} "
              "from the base year to the end year", PCT),
            C("expected_decline_pct", D, f"Cumulative {_DECLINE} expected by that year at an "
              "even pace", PCT),
            C("cumulative_decline_pct", D, f"Official cumulative {_DECLINE} against the base "
              "year", PCT),
            C("shortfall_pct", D, "expected_decline_pct - cumulative_decline_pct",
              "percentage points"),
            C("grade", V, "Grade (see fct_target_assessment.grade)"),
            C("note", V, "Explanation of the status and grade"),
            _PRICE_BASE_YEAR,
        ),
        sql="""
select
    a.plan_id,
    a.assessment_year,
    a.province_code,
    p.name_en,
    p.name_zh,
    a.status,
    a.target_pct,
    a.expected_decline_pct,
    a.cumulative_decline_pct,
    a.expected_decline_pct - a.cumulative_decline_pct as shortfall_pct,
    a.grade,
    a.note,
    pl.base_year as price_base_year
from {schema}.fct_target_assessment as a
join (
    select plan_id, max(assessment_year) as assessment_year
    from {schema}.fct_target_assessment
    where status <> 'insufficient data'
    group by plan_id
) as latest
    on latest.plan_id = a.plan_id
    and latest.assessment_year = a.assessment_year
join {schema}.dim_province as p on p.province_code = a.province_code
join {schema}.dim_plan as pl on pl.plan_id = a.plan_id
where a.status in ('behind', 'missed')
order by a.plan_id, a.province_code
""",
    ),
    Table(
        "v_decline_ranking", "view",
        "Provinces ranked by cumulative decline of carbon intensity (CO2 per unit of GDP at "
        "constant prices of the plan's base year, in %), per plan and year (rank 1 = largest "
        "decline). Only provinces with a decline are ranked: base years and province-years with "
        "insufficient data are left out (provinces_ranked says how many were ranked; "
        "v_latest_assessment lists every province with its status).",
        (
            _PLAN,
            C("year", B, "Calendar year", "year"),
            C("decline_rank", B, "Rank by cumulative decline within plan and year (ties share a "
              "rank)", "rank"),
            C("provinces_ranked", B, "Number of provinces ranked in that plan and year (those "
              "with insufficient data are not)", "provinces"),
            _PROVINCE,
            _NAME_EN,
            _NAME_ZH,
            C("cumulative_decline_pct", D, f"Cumulative {_DECLINE} against the base year, "
              "recomputed directly from the data (fct_intensity)", PCT),
            C("expected_decline_pct", D, f"Cumulative {_DECLINE} expected by that year at an "
              "even pace", PCT),
            C("target_pct", D, f"The province's reduction target for the plan: {_DECLINE} "
              "from the base year to the end year", PCT),
            C("completion_pct", D, "max(cumulative decline, 0) / target (both at constant "
              "prices of the plan's base year)", PCT),
            C("on_schedule", BOOL, "True when the cumulative decline reaches the expected "
              "decline"),
            _PRICE_BASE_YEAR,
        ),
        sql="""
select
    i.plan_id,
    i.year,
    rank() over (
        partition by i.plan_id, i.year order by i.cumulative_decline_pct desc
    ) as decline_rank,
    count(*) over (partition by i.plan_id, i.year) as provinces_ranked,
    i.province_code,
    p.name_en,
    p.name_zh,
    i.cumulative_decline_pct,
    i.expected_decline_pct,
    i.target_pct,
    i.completion_pct,
    i.on_schedule,
    pl.base_year as price_base_year
from {schema}.fct_intensity as i
join {schema}.dim_province as p on p.province_code = i.province_code
join {schema}.dim_plan as pl on pl.plan_id = i.plan_id
where i.cumulative_decline_pct is not null and i.years_into_plan > 0
order by i.plan_id, i.year, decline_rank, i.province_code
""",
    ),
    Table(
        "v_province_timeseries", "view",
        "Per province and year: CO2, GDP, population and carbon intensity at CURRENT prices "
        "(nominal GDP of each year, for charts). Not the basis of the assessment: its declines "
        "mix price changes in, so they differ from the assessed ones. Intensity at constant "
        "prices of a plan's base year, as assessed: v_intensity_constant_prices.",
        (
            _PROVINCE,
            _NAME_EN,
            _NAME_ZH,
            C("year", B, "Calendar year", "year"),
            C("co2_mt", D, "CO2 from fossil-fuel combustion (run's method); null with "
              "insufficient data", MT),
            C("gdp_current_100m_yuan", D, "Gross regional product at current prices of the "
              "same year (nominal)", GDP),
            C("population_10k", D, "Year-end resident population", "10,000 persons (万人)"),
            C("intensity_current_t_per_10k_yuan", D, "CO2 per unit of GDP at current prices "
              "of the same year (nominal; not the assessed intensity, see "
              "v_intensity_constant_prices)", INTENSITY),
            C("co2_per_capita_t", D, "CO2 per resident", "t CO2 per person"),
            C("data_status", V, "complete or insufficient data"),
        ),
        sql="""
select
    y.province_code,
    p.name_en,
    p.name_zh,
    y.year,
    y.co2_mt,
    y.gdp_current_100m_yuan,
    y.population_10k,
    y.co2_mt * 100 / nullif(y.gdp_current_100m_yuan, 0) as intensity_current_t_per_10k_yuan,
    y.co2_mt * 100 / nullif(y.population_10k, 0) as co2_per_capita_t,
    y.data_status
from {schema}.fct_province_year as y
join {schema}.dim_province as p on p.province_code = y.province_code
order by y.province_code, y.year
""",
    ),
    Table(
        "v_intensity_constant_prices", "view",
        "Per plan, province and year from the plan's base year to its end year: GDP at constant "
        "prices of the plan's base year (price_base_year) and carbon intensity on that basis, "
        "as the assessment uses them (fct_intensity), with the data status of the "
        "province-year (rows with insufficient data are listed, with null figures).",
        (
            _PLAN,
            _PRICE_BASE_YEAR,
            _PROVINCE,
            _NAME_EN,
            _NAME_ZH,
            C("year", B, "Calendar year (base year to end year of the plan)", "year"),
            C("years_into_plan", B, "year - price_base_year", "years"),
            C("co2_mt", D, "CO2 from fossil-fuel combustion (run's method)", MT),
            C("gdp_const_base_year_100m_yuan", D, "GDP at constant prices of price_base_year "
              "(current-price GDP of the base year chained with the GDP index)", GDP),
            C("intensity_const_base_year_t_per_10k_yuan", D, "CO2 per unit of GDP at constant "
              "prices of price_base_year (the assessed intensity)", INTENSITY),
            C("annual_decline_pct", D, "Decline of that intensity against the previous year",
              PCT),
            C("cumulative_decline_pct", D, "Decline of that intensity against price_base_year, "
              "recomputed directly from the data (the assessment's official figure, chained on "
              "confirmed figures where a sheet gives them: v_latest_assessment)", PCT),
            C("target_pct", D, f"The province's reduction target for the plan: {_DECLINE} "
              "from the base year to the end year", PCT),
            C("data_status", V, "complete or insufficient data (of the province-year)"),
        ),
        sql="""
select
    i.plan_id,
    pl.base_year as price_base_year,
    i.province_code,
    p.name_en,
    p.name_zh,
    i.year,
    i.years_into_plan,
    i.co2_mt,
    i.gdp_const_100m_yuan as gdp_const_base_year_100m_yuan,
    i.intensity_t_per_10k_yuan as intensity_const_base_year_t_per_10k_yuan,
    i.annual_decline_pct,
    i.cumulative_decline_pct,
    i.target_pct,
    coalesce(y.data_status, 'insufficient data') as data_status
from {schema}.fct_intensity as i
join {schema}.dim_province as p on p.province_code = i.province_code
join {schema}.dim_plan as pl on pl.plan_id = i.plan_id
left join {schema}.fct_province_year as y
    on y.province_code = i.province_code
    and y.year = i.year
order by i.plan_id, i.province_code, i.year
""",
    ),
)

META_TABLES = tuple(t.name for t in TABLES if t.kind == "run log")
# What a publish swaps in: every dimension and fact the catalog documents, in catalog order.
PUBLISHED_TABLES = tuple(t.name for t in TABLES if t.kind in ("dimension", "fact"))

_BY_NAME = {t.name: t for t in TABLES + VIEWS}


def table(name: str) -> Table:
    return _BY_NAME[name]


def documented(name: str) -> Table | None:
    return _BY_NAME.get(name)


def row_order(name: str, columns: list[str] | tuple[str, ...]) -> list[str]:
    """The deterministic row order of a published table: its primary key (unique: indexed, or
    unique by construction), or, for a table without a key, every column. A sort on the key
    alone matters at county scale: sorting 50M rows on every column (lineage text included) costs
    several times more for the same order."""
    doc = documented(name)
    key = [c for c in (doc.primary_key if doc else ()) if c in columns]
    if key and doc and len(key) == len(doc.primary_key):
        return key
    return key + [c for c in columns if c not in key]


def sql_literal(text: str) -> str:
    """A standard SQL string literal (DuckDB and PostgreSQL with standard_conforming_strings)."""
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def comment_statements(
    schema: str,
    present: Mapping[str, Iterable[str]],
    views: Iterable[str] = (),
) -> list[str]:
    """`COMMENT ON` statements for the documented tables/views in `present` (name → its actual
    columns); columns that are not documented get no comment (the docs test reports them)."""
    view_names = set(views)
    statements = []
    for t in TABLES + VIEWS:
        if t.name not in present:
            continue
        kind = "view" if t.name in view_names or t.kind == "view" else "table"
        target = f"{quote_ident(schema)}.{quote_ident(t.name)}"
        statements.append(f"comment on {kind} {target} is {sql_literal(t.description)}")
        documented = {c.name: c for c in t.columns}
        for name in present[t.name]:
            if name in documented:
                statements.append(
                    f"comment on column {target}.{quote_ident(name)} "
                    f"is {sql_literal(documented[name].comment())}"
                )
    return statements


# ---------------------------------------------------------------------------------- history

# Schema `carbon_history`: every published release, kept across publishes and rollbacks.
HISTORY_SCHEMA = "carbon_history"
RELEASE_ID = C("release_id", V, "The release: run id of the publish (dim_release.release_id)")

RELEASE_DIMENSION = Table(
    "dim_release", "history",
    "One row per published release (a publish of a run; republishing a run replaces its row). "
    "The current release is the one in schema carbon (see carbon.meta_pipeline_run).",
    (
        RELEASE_ID,
        C("vintage", V, "Data release label of the inputs (e.g. nbs-2021)"),
        _METHOD,
        C("factor_version", V, "Emission factor set (dim_emission_factor.factor_version)"),
        C("landing", V, "Landing folder the inputs were read from"),
        C("published_at", TSTZ, "When the release was published (UTC)"),
        C("code_version", V, "carbon-assess version and git commit that computed it"),
        C("input_files", V, "JSON list of the input files: file, sheet, sha256, observations"),
        C("row_counts", V, "JSON object: published table -> rows"),
        C("warnings", INT, "Number of ingest warnings of the run"),
    ),
    primary_key=("release_id",),
)


def _history_table(t: Table) -> Table:
    return Table(
        t.name, "history",
        f"Every release's rows of {t.name} (same columns as carbon.{t.name}, keyed by "
        "release_id first).",
        (RELEASE_ID, *t.columns),
        primary_key=("release_id", *t.primary_key) if t.primary_key else (),
        indexes=() if t.primary_key else (("release_id",),),
        key_indexed=t.key_indexed,
    )


# The published tables as kept per release in `carbon_history` (same names as in `carbon`).
HISTORY_TABLES = tuple(_history_table(t) for t in TABLES if t.name in PUBLISHED_TABLES)
_HISTORY_BY_NAME = {t.name: t for t in (RELEASE_DIMENSION, *HISTORY_TABLES)}


def history_table(name: str) -> Table:
    """`dim_release` or the history form of a published table."""
    return _HISTORY_BY_NAME[name]


def history_comment_statements(present: Mapping[str, Iterable[str]]) -> list[str]:
    """`COMMENT ON` statements for the tables of schema carbon_history in `present`."""
    statements = []
    for t in (RELEASE_DIMENSION, *HISTORY_TABLES):
        if t.name not in present:
            continue
        target = f"{quote_ident(HISTORY_SCHEMA)}.{quote_ident(t.name)}"
        statements.append(f"comment on table {target} is {sql_literal(t.description)}")
        documented = {c.name: c for c in t.columns}
        for name in present[t.name]:
            if name in documented:
                statements.append(f"comment on column {target}.{quote_ident(name)} "
                                  f"is {sql_literal(documented[name].comment())}")
    return statements
