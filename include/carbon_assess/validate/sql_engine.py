"""Raw validation in DuckDB: the raw suites of `suites.rules_for`, evaluated in SQL over the raw
Parquet files: the one engine of input validation and of the output gate, at every size.

`validate_raw_in_duckdb(run, run_id, parameters)` returns, per source kind, one result row per
rule (`common.passing_row`, filled in: success, unexpected_count, examples, note and offenders:
file / sheet / row / column / value / detail of at most MAX_REPORT_ROWS offending rows, in the
batch's row order; examples from the first MAX_EXAMPLES).

How a batch is evaluated:

- each raw file is a view over `read_parquet` (row index `__idx` = the Parquet row number); `obs`
  unions the kinds whose columns the derived checks can read (year an integer column, value a
  float column, the text columns text);
- the derived check columns are `validate/sql/raw_*.sql`, one transformation per file (see each
  file's header): year-on-year factor, level shift, zeros, non-finite values, cross-series
  consistency, coverage findings and their placeholder rows, plausibility ratios and column
  medians, and, after compute (stage "post"), the blank-value notes from the models' own
  decisions (`int_energy_adjustments`) and CO2 (`int_emissions`). Thresholds and reference data
  come from the Python modules that define them (tables `chk_*`, variables `chk_*`); the notes'
  wording is SQL macros (`raw_macros.sql`);
- every rule compiles to a predicate "this row is unexpected" over the relation holding its column
  (the raw rows plus placeholders, or a derived table), with Great Expectations' semantics: a
  column-map expectation skips blank values (NULL, and NaN in a float column) except
  ExpectColumnValuesToNotBeNull / ToBeNull; a type is the column's DuckDB type. An expectation
  type, argument or column type this module does not know raises `UnsupportedRule`: a rule never
  passes by default;
- one aggregate query per relation counts the unexpected rows of all its rules and keeps the
  first MAX_REPORT_ROWS row indexes of each (`min(x, n)`); only those rows are fetched.

DuckDB runs in memory with the limit of `settings.duckdb_connect`, spilling to
`<workdir>/validation/duckdb_tmp`, removed afterwards.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carbon_assess import reference
from carbon_assess.ingest.schema import NATIONAL_CODE, RAW_SQL_TYPES, SOURCE_KINDS
from carbon_assess.quarantine import MAX_EXAMPLES, MAX_REPORT_ROWS, render_offender
from carbon_assess.reference import province_names, region_names
from carbon_assess.settings import duckdb_connect
from carbon_assess.settings import duckdb_table as _table
from carbon_assess.transform import (
    FLAGGED_CELLS_COLUMNS,
    NEGATIVE_NOISE,
)
from carbon_assess.validate.blanks import CONSEQUENCES
from carbon_assess.validate.checks import (
    COLUMN_MIN_PROVINCES,
    DEFAULT_COLUMNS,
    DERIVED_COLUMNS,
    KIND_LABELS,
    LEVEL_BOTH_WAYS,
    LEVEL_COLUMN,
    LEVEL_MIN_PROVINCES,
    LEVEL_MIN_SERIES,
    LEVEL_RULES,
    LEVEL_SHIFT_MAX,
    NEEDS_ENERGY_YEARS,
    NOTE_COLUMNS,
    POSITIVE_LABELS,
    POSITIVE_REQUIRED,
    RATIO_ROWS,
    RATIO_TERMS,
    YOY_COLUMN,
    YOY_RULES,
)
from carbon_assess.validate.common import (
    fossil_fuels,
    newest_bounds,
    passing_row,
    peer_levels,
    plan_years,
    plausibility_bounds,
)
from carbon_assess.validate.offenders import offender
from carbon_assess.validate.suites import POST_COMPUTE_RULES, WARNING, Rule, rules_for
from carbon_assess.workdir import Run

__all__ = ["UnsupportedRule", "raw_row_count", "validate_raw_in_duckdb"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

SQL_DIR = Path(__file__).resolve().parent / "sql"
TEMP_DIR = "duckdb_tmp"  # below <workdir>/validation/
INPUT, POST = "input", "post"  # the stages: input validation, the post-compute check
# the derived transformations, in order: validate/sql/raw_<name>.sql -> view or table chk_<name>
TRANSFORMS = (
    ("series", "table"),  # the series ids yoy and consistency sort by
    ("yoy", "table"),  # a table: four batches and the flagged cells read it
    ("level_shift", "table"),
    ("level_flagged", "table"),
    ("not_positive", "table"),
    ("not_finite", "table"),
    ("energy_cells", "view"),  # five read it: a table would hold every consumption cell
    ("fuel_years", "table"),
    ("with_fuel", "table"),
    ("no_fuel_data", "table"),
    ("not_covered", "table"),
    ("blank_runs", "table"),
    ("coverage_findings", "table"),
    ("placeholders", "table"),
    ("ratios", "table"),
    ("culprits", "table"),
    ("column_level", "table"),
    ("fuel_columns", "table"),
    ("implausible", "table"),
    ("consistency", "table"),
    ("notes", "table"),
)
# Transforms that no post-compute rule reads (directly or through another transform): after
# compute they are created empty, with their columns, so that chk_notes still binds.
INPUT_ONLY_TRANSFORMS = frozenset({"series", "yoy", "not_finite", "fuel_columns", "consistency"})
# value sets up to this size are SQL lists of literals, larger ones helper tables (value_set)
LITERAL_SET_MAX = 64
# the columns of `obs` (what the derived checks read) and their SQL types
OBS_COLUMNS = {
    "region_code": "varchar",
    "year": "bigint",
    "variable": "varchar",
    "fuel": "varchar",
    "value": "double",
    "unit": "varchar",
    "source_value": "varchar",
    "source_file": "varchar",
    "source_column": "varchar",
}
_NEEDED = ("region_code", "year", "variable", "fuel", "value", "unit", "source_file",
           "source_column")
_TEXT_NEEDED = ("region_code", "variable", "fuel", "unit", "source_file", "source_column")
LINEAGE = ("source_value", "value", "source_file", "source_sheet", "source_row", "source_column",
           "region_code", "year")
PLACEHOLDER_COLUMNS = ("region_code", "year", "variable", "fuel", "value", "unit",
                       "source_value", "source_unit", "source_file", "source_sha256",
                       "source_sheet", "source_row", "source_column", "run_id", "vintage")
# how a level-shift note names the units of a year's median (checks.add_level_shift)
PEER_WORDS = {"province": "provinces", "prefecture": "prefectures", "county": "counties"}
PEERS_DECLARED = "declared units"
# the ratios' inputs as checks.ratios reads them (coal and GDP are the rows RATIO_ROWS names)
RATIO_INPUTS = {
    "coal": RATIO_ROWS["coal_per_gdp"],
    "gdp": RATIO_ROWS["gdp_per_capita"],
    "population": ("population", "population", None),
}
_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
              "UINTEGER", "UBIGINT"}
_FLOAT_TYPES = {"FLOAT", "REAL", "DOUBLE"}
_MISSING = "no column {}"
_MIXED = "bounds on a text column"


class UnsupportedRule(NotImplementedError):
    """A rule this engine cannot evaluate exactly as Great Expectations would (an expectation
    type, argument or column type it does not know): raised, never passed over."""


# --- value families ----------------------------------------------------------------------------


def family(sql_type: str) -> str:
    """What the rules compare in a column of DuckDB type `sql_type`: numbers (`int`, `float`:
    only a float can be NaN, a blank as NULL is), `bool`, `str`; any other type by its name."""
    name = sql_type.upper()
    if name in _FLOAT_TYPES or name.startswith("DECIMAL"):
        return "float"
    if name in _INT_TYPES:
        return "int"
    return {"BOOLEAN": "bool", "VARCHAR": "str"}.get(name, name.lower())


def raw_row_count(paths: Any) -> int:
    """Rows of the raw Parquet files `paths`, from their metadata (nothing else is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in paths)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "'nan'::double"
        if math.isinf(value):
            return "'inf'::double" if value > 0 else "'-inf'::double"
        return repr(value) + "::double"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "null"
    raise UnsupportedRule(f"cannot write {value!r} ({type(value).__name__}) as SQL")


# --- the batch of one source kind ---------------------------------------------------------------


@dataclass
class _Batch:
    """One kind's batch: its raw file (if any), its columns' DuckDB types, and the placeholder
    rows coverage appends.

    Other batches (the output gate's tables) set `name` (their relation, with a row index
    `__idx`), `derived=()` (no raw check tables), `scratch` (the schema prefix of the helper
    tables the compiler creates), `lineage=None` (fetch every column of an offending row) and
    `locate` (record, rule -> offender, in place of `offenders.offender`)."""

    kind: str
    path: Path | None
    rows: int = 0
    types: dict[str, str] = field(default_factory=dict)  # column -> DuckDB type name
    usable: bool = False
    placeholders: int = 0
    name: str | None = None  # the relation, if not bat_<kind>
    derived: tuple[str, ...] = DERIVED_COLUMNS  # derived check columns in the chk_* tables
    scratch: str = ""  # prefix of the helper tables (large value sets)
    lineage: tuple[str, ...] | None = LINEAGE  # columns fetched for offenders (None: all)
    locate: Callable[[dict[str, Any], Rule], dict[str, Any]] | None = None

    @property
    def relation(self) -> str:
        return self.name or f"bat_{self.kind}"

    @property
    def columns(self) -> set[str]:
        """The batch's columns as GX sees them: the raw ones and the derived check columns."""
        return set(self.types) | set(self.derived)


def _describe(con: Any, batch: _Batch) -> None:
    """The view `src_<kind>` over the raw file, its row count and column types (Parquet
    metadata), and whether the derived checks can read it."""
    path = str(batch.path).replace("'", "''")
    con.execute(
        f"create or replace view src_{batch.kind} as select * exclude (file_row_number), "
        f"file_row_number::bigint as __idx from read_parquet('{path}', file_row_number = true)")
    batch.rows = con.execute(f"select count(*) from src_{batch.kind}").fetchall()[0][0]
    batch.types = {name: str(sql_type) for name, sql_type, *_ in
                   con.execute(f"describe src_{batch.kind}").fetchall() if name != "__idx"}
    text_ok = all(family(batch.types[c]) == "str" for c in _TEXT_NEEDED if c in batch.types)
    batch.usable = (set(_NEEDED) <= set(batch.types) and family(batch.types["year"]) == "int"
                    and family(batch.types["value"]) == "float" and text_ok)


def _obs_sql(batches: list[_Batch]) -> str:
    parts = []
    for b in batches:
        columns = ", ".join(
            (f"{_quote(c)}::{t} as {c}" if c in b.types else f"null::{t} as {c}")
            for c, t in OBS_COLUMNS.items())
        parts.append(f"select '{b.kind}' as kind, __idx, {columns} from src_{b.kind}")
    if not parts:
        columns = ", ".join(f"null::{t} as {c}" for c, t in OBS_COLUMNS.items())
        parts.append(f"select null::varchar as kind, null::bigint as __idx, {columns} where false")
    return "\nunion all\n".join(parts)


# --- reference data, thresholds and helpers in the connection -----------------------------------


def _load_parameters(con: Any, batches: dict[str, _Batch], run_id: str | None) -> None:
    """The `chk_*` tables and variables the raw_*.sql files read, from the Python definitions."""
    text, num, integer = "varchar", "double", "bigint"
    _table(con, "chk_kinds", {"kind": text, "label": text, "rows": integer},
           [(k, KIND_LABELS[k], batches[k].rows if k in batches else 0) for k in SOURCE_KINDS])
    _table(con, "chk_yoy_rules", {"kind": text, "floor": num},
           [(k, floor) for k, (_, floor) in YOY_RULES.items()])
    _table(con, "chk_level_rules", {"kind": text, "floor": num}, list(LEVEL_RULES.items()))
    _table(con, "chk_level_both", {"kind": text, "variable": text, "fuel": text},
           sorted(LEVEL_BOTH_WAYS))
    _table(con, "chk_positive", {"kind": text, "variable": text, "fuel": text, "label": text},
           [(k, v, f, POSITIVE_LABELS[f or v]) for k, pairs in POSITIVE_REQUIRED.items()
            for v, f in pairs])
    _table(con, "chk_provinces", {"code": text}, [(c,) for c in sorted(province_names())])
    _table(con, "chk_peers", {"code": text, "level": text, "plural": text},
           [(c, level, PEER_WORDS.get(level, PEERS_DECLARED))
            for c, level in sorted(peer_levels().items())])
    _table(con, "chk_fossil", {"fuel": text}, [(f,) for f in sorted(fossil_fuels())])
    _table(con, "chk_plan_years", {"year": integer, "role": text}, sorted(plan_years().items()))
    _table(con, "chk_default_columns",
           {"kind": text, "variable": text, "header": text, "unit": text},
           [(k, *DEFAULT_COLUMNS[k]) for k in NEEDS_ENERGY_YEARS])
    _table(con, "chk_bounds",
           {"ord": integer, "ratio": text, "scope": text, "unit": text, "minimum": num,
            "maximum": num, "observed_min": num, "observed_max": num},
           [(i, b.ratio, b.scope, b.unit, b.minimum, b.maximum, b.observed_min, b.observed_max)
            for i, b in enumerate(plausibility_bounds())])
    _table(con, "chk_column_bounds",
           {"kind": text, "variable": text, "fuel": text, "unit": text, "minimum": num,
            "maximum": num, "observed_min": num, "observed_max": num},
           [(r["kind"], r["variable"], r["fuel"], r["unit"], float(r["min"]), float(r["max"]),
             float(r["observed_min"]), float(r["observed_max"]))
            for r in newest_bounds("column_level_bounds")])
    _table(con, "chk_ratio_terms",
           {"ratio": text, "kind": text, "variable": text, "fuel": text, "made_of": text,
            "suspects": text},
           [(r, *RATIO_ROWS[r], *RATIO_TERMS[r]) for r in RATIO_ROWS])
    _table(con, "chk_ratio_inputs", {"name": text, "kind": text, "variable": text, "fuel": text},
           [(n, *row) for n, row in RATIO_INPUTS.items()])
    _table(con, "chk_region_names", {"code": text, "name": text}, sorted(region_names().items()))
    _table(con, "chk_consequences", {"ord": integer, "status": text, "text": text},
           [(i, s, t) for i, (s, t) in enumerate(CONSEQUENCES.items())])
    for name, value in (("chk_national", NATIONAL_CODE),
                        ("chk_negative_noise", float(NEGATIVE_NOISE)),
                        ("chk_level_shift_max", float(LEVEL_SHIFT_MAX)),
                        ("chk_level_min_series", LEVEL_MIN_SERIES),
                        ("chk_level_min_provinces", LEVEL_MIN_PROVINCES),
                        ("chk_column_min_provinces", COLUMN_MIN_PROVINCES),
                        ("chk_peers_declared", PEERS_DECLARED),
                        ("chk_run_id", run_id)):
        con.execute(f"set variable {name} = ?", [value])


def _create_macros(con: Any) -> None:
    """The SQL macros of raw_macros.sql (the notes' wording)."""
    con.execute((SQL_DIR / "raw_macros.sql").read_text(encoding="utf-8"))


def _load_flags(con: Any, run: Run, stage: str) -> bool:
    """What the SQL models made of the batch, read from the run's computed
    `int_energy_adjustments` and `int_emissions` (consumption method) after compute (stage
    "post"): `chk_status` (value_status other than 'reported' of each consumption cell),
    `chk_co2_year` (CO2 per unit and year, and its largest fuel) and `chk_co2` (CO2 per unit,
    year and fuel, of the series with a cell in chk_status only: the blank-run notes quote
    that fuel's share; every fuel of every unit-year would be the size of the activity table).
    Input validation (stage "input") runs no model: the tables stay empty and the rules that
    read them are the post-compute rules (suites.POST_COMPUTE_RULES)."""
    _table(con, "chk_status", {"region_code": "varchar", "year": "bigint", "fuel": "varchar",
                               "value_status": "varchar"}, [])
    _table(con, "chk_co2", {"region_code": "varchar", "year": "bigint", "fuel": "varchar",
                            "co2": "double"}, [])
    _table(con, "chk_co2_year", {"region_code": "varchar", "year": "bigint", "co2": "double",
                                 "largest_fuel": "varchar"}, [])
    if stage != POST or not run.compute_db.exists():
        return False
    computed = str(run.compute_db).replace("'", "''")
    con.execute(f"attach '{computed}' as computed (read_only)")
    # int_emissions is keyed by (region_code, year, fuel, method): one row per fuel here
    emissions = ("computed.int_emissions where method = 'consumption' and co2_mt is not null "
                 "and not isnan(co2_mt)")
    try:
        con.execute("""
            insert into chk_status
            select region_code, year, fuel, any_value(value_status)
            from computed.int_energy_adjustments
            where flow = 'consumption' and value_status <> 'reported' and region_code is not null
            group by region_code, year, fuel""")
        con.execute(f"""
            insert into chk_co2_year
            select region_code, year, sum(co2_mt),
                arg_max(fuel, co2_mt) filter (where co2_mt > 0)
            from {emissions}
            group by region_code, year""")
        con.execute(f"""
            insert into chk_co2
            select region_code, year, fuel, co2_mt
            from {emissions}
                and (region_code, fuel) in (select region_code, fuel from chk_status)""")
    finally:
        con.execute("detach computed")
    return True


# --- rules -> SQL ---------------------------------------------------------------------------------

_KWARGS = {  # the arguments each expectation type may have here
    "ExpectTableColumnsToMatchSet": {"column_set", "exact_match"},
    "ExpectColumnValuesToBeOfType": {"column", "type_"},
    "ExpectColumnValuesToNotBeNull": {"column", "row_condition"},
    "ExpectColumnValuesToBeNull": {"column", "row_condition"},
    "ExpectColumnValuesToBeInSet": {"column", "value_set", "row_condition"},
    "ExpectColumnValuesToNotBeInSet": {"column", "value_set", "row_condition"},
    "ExpectColumnValuesToBeBetween": {"column", "min_value", "max_value", "strict_min",
                                      "strict_max", "row_condition"},
    "ExpectColumnValuesToBeUnique": {"column", "row_condition"},
    "ExpectCompoundColumnsToBeUnique": {"column_list", "ignore_row_if", "row_condition"},
}


@dataclass
class _Check:
    """One rule, compiled: where its column lives, the predicate of an unexpected row, what the
    offenders need from that relation; or its outcome already known (table-level rules, errors)."""

    rule: Rule
    relation: str | None = None
    unexpected: str | None = None
    payload: tuple[str, ...] = ()  # derived columns fetched with the offending rows
    windowed: bool = False  # uniqueness: a grouped query of its own
    error: str | None = None  # "could not evaluate" (GX raised)
    done: dict[str, Any] | None = None  # fields of the result row already decided
    count: int = 0
    offending: list[dict[str, Any]] = field(default_factory=list)  # {__idx, payload...}


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and set(value) == {"$PARAMETER"}:
        name = value["$PARAMETER"]
        if name not in parameters:
            raise UnsupportedRule(f"no value for $PARAMETER {name}")
        return parameters[name]
    return value


class _Compiler:
    """Rule -> _Check for one kind's batch."""

    def __init__(self, con: Any, batch: _Batch, parameters: dict[str, Any]):
        self.con = con
        self.batch = batch
        self.parameters = parameters
        self.sets = 0

    # where a column lives: relation, SQL type family, payload columns
    def locate(self, column: str) -> tuple[str, str, tuple[str, ...]] | None:
        kind = self.batch.kind
        if column in NOTE_COLUMNS and column in self.batch.derived:
            return (f"(select __idx, note as {_quote(column)} from chk_notes "
                    f"where kind = '{kind}' and col = '{column}')", "str", (column,))
        if column == YOY_COLUMN and column in self.batch.derived:
            return (f"(select __idx, yoy_factor from chk_yoy where kind = '{kind}')", "float",
                    (YOY_COLUMN,))
        if column in (LEVEL_COLUMN, f"{LEVEL_COLUMN}_note") and column in self.batch.derived:
            return (f"(select __idx, level_shift, level_shift_note from chk_level_shift "
                    f"where kind = '{kind}')", "float" if column == LEVEL_COLUMN else "str",
                    (LEVEL_COLUMN, f"{LEVEL_COLUMN}_note"))
        if column in self.batch.types:
            return self.batch.relation, family(self.batch.types[column]), ()
        return None

    @staticmethod
    def blank(column: str, family: str) -> str:
        c = _quote(column)
        return f"({c} is null or isnan({c}))" if family == "float" else f"{c} is null"

    def value_set(self, values: Any, family: str) -> str:
        """The set as SQL: a list of literals when small (one aggregate holds dozens of these
        filters; a subquery is a join per filter, 7x slower on fct_target_assessment's 68),
        a subquery on a helper table when large (DuckDB tests a long literal list value by
        value: the 5,000 region codes cost 20 s at 2.2M rows)."""
        if family == "str":
            keep = [v for v in values if isinstance(v, str)]
            sql_type = "varchar"
        elif family in ("int", "float"):
            keep = [float(v) for v in values
                    if isinstance(v, int | float) and not isinstance(v, bool)]
            sql_type = "double"
        elif family == "bool" and all(isinstance(v, bool) for v in values):
            # a set of booleans only: True is not 1 here
            keep, sql_type = list(values), "boolean"
        else:
            raise UnsupportedRule(f"value sets on a {family} column")
        keep = list(dict.fromkeys(keep))
        if keep and len(keep) <= LITERAL_SET_MAX:
            return f"({', '.join(_literal(v) for v in keep)})"
        self.sets += 1
        name = f"{self.batch.scratch}chk_set_{self.batch.kind}_{self.sets}"
        _table(self.con, name, {"v": sql_type}, [(v,) for v in keep])
        return f"(select v from {name})"

    def condition(self, rule: Rule, relation: str) -> str:
        cond = rule.kwargs.get("row_condition")
        if cond is None:
            return "true"
        if (not isinstance(cond, dict) or cond.get("type") != "comparison"
                or cond.get("operator") != "==" or "condition_parser" in rule.kwargs):
            raise UnsupportedRule(f"{rule.key}: row_condition {cond!r}")
        column = cond["column"]["name"]
        where = self.locate(column)
        if where is None or where[0] != relation:
            raise UnsupportedRule(f"{rule.key}: row_condition on {column!r}")
        return f"{_quote(column)} = {_literal(_resolve(cond['parameter'], self.parameters))}"

    def compile(self, rule: Rule) -> _Check:
        kwargs = {k: _resolve(v, self.parameters) for k, v in rule.kwargs.items()}
        allowed = _KWARGS.get(rule.expectation)
        if allowed is None:
            raise UnsupportedRule(f"{rule.key}: expectation {rule.expectation} has no SQL form")
        if set(kwargs) - allowed:
            raise UnsupportedRule(f"{rule.key}: arguments {sorted(set(kwargs) - allowed)}")
        check = _Check(rule)
        if rule.expectation == "ExpectTableColumnsToMatchSet":
            expected = {str(c) for c in kwargs["column_set"]}
            missing = sorted(expected - self.batch.columns)
            extra = sorted(self.batch.columns - expected) if kwargs.get("exact_match") else []
            check.done = {"success": not missing and not extra}
            if missing or extra:
                check.done.update(unexpected_count=len(missing),
                                  examples="missing columns: " + ", ".join(missing))
                check.done["note"] = check.done["examples"]
            return check
        if rule.expectation == "ExpectColumnValuesToBeOfType":
            return self.of_type(check, kwargs)
        if rule.expectation == "ExpectCompoundColumnsToBeUnique":
            return self.unique(check, list(kwargs["column_list"]),
                               kwargs.get("ignore_row_if", "all_values_are_missing"))
        column = kwargs["column"]
        where = self.locate(column)
        if where is None:
            check.error = _MISSING.format(column)
            return check
        relation, family, payload = where
        if rule.expectation == "ExpectColumnValuesToBeUnique":
            return self.unique(check, [column], "any_value_is_missing")
        check.relation, check.payload = relation, payload
        blank = self.blank(column, family)
        c = _quote(column)
        if rule.expectation == "ExpectColumnValuesToNotBeNull":
            predicate = blank
        elif rule.expectation == "ExpectColumnValuesToBeNull":
            predicate = f"not {blank}"
        elif rule.expectation in ("ExpectColumnValuesToBeInSet",
                                  "ExpectColumnValuesToNotBeInSet"):
            values = self.value_set(kwargs["value_set"] or [], family)
            negate = "not " if rule.expectation == "ExpectColumnValuesToBeInSet" else ""
            predicate = f"not {blank} and {negate}({c} in {values})"
        else:  # ExpectColumnValuesToBeBetween
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            if low is None and high is None:
                check.error = "min_value and max_value cannot both be None"
                return check
            if low is not None and high is not None and low > high:
                check.error = "min_value cannot be greater than max_value"
                return check
            if family == "str":  # numeric bounds on text: an error once a value is present
                if any(isinstance(b, str) for b in (low, high)):
                    raise UnsupportedRule(f"{rule.key}: text bounds")
                present = self.con.execute(
                    f"select count(*) from {relation} where not {blank} "
                    f"and {self.condition(rule, relation)}").fetchall()[0][0]
                if present:
                    check.error = _MIXED
                else:
                    check.done = {"success": True}
                return check
            if family not in ("int", "float"):
                raise UnsupportedRule(f"{rule.key}: bounds on a {family} column")
            inside = []
            if low is not None:
                inside.append(f"{c} {'>' if kwargs.get('strict_min') else '>='} "
                              f"{_literal(low)}")
            if high is not None:
                inside.append(f"{c} {'<' if kwargs.get('strict_max') else '<='} "
                              f"{_literal(high)}")
            predicate = f"not {blank} and not ({' and '.join(inside)})"
        check.unexpected = f"({self.condition(rule, relation)}) and ({predicate})"
        return check

    def of_type(self, check: _Check, kwargs: dict[str, Any]) -> _Check:
        """The column's DuckDB type is `type_` (e.g. INTEGER, DOUBLE, VARCHAR)."""
        column, expected = kwargs["column"], kwargs["type_"]
        if column not in self.batch.types:
            check.error = _MISSING.format(column)
            return check
        observed = self.batch.types[column]
        check.done = {"success": observed == expected}
        if observed != expected:
            check.done["unexpected_count"] = self.batch.rows + self.batch.placeholders
            check.done["examples"] = f"column {column} is {observed}, expected {expected}"
            check.done["note"] = check.done["examples"]
        return check

    def unique(self, check: _Check, columns: list[str], ignore: str) -> _Check:
        for column in columns:
            where = self.locate(column)
            if where is None:
                check.error = _MISSING.format(column)
                return check
            if where[0] != self.batch.relation:
                raise UnsupportedRule(f"{check.rule.key}: uniqueness of derived columns")
        blanks = [self.blank(c, self.locate(c)[1]) for c in columns]
        keep = {"never": "true",
                "all_values_are_missing": f"not ({' and '.join(blanks)})",
                "any_value_is_missing": f"not ({' or '.join(blanks)})"}.get(ignore)
        if keep is None:
            raise UnsupportedRule(f"{check.rule.key}: ignore_row_if {ignore!r}")
        check.relation = self.batch.relation
        check.windowed = True
        keys = ", ".join(_quote(c) for c in columns)
        # the duplicated keys by a hash aggregate, then their rows (a window over every row
        # sorted the whole batch); blank keys are one key, as in a window's partition
        where = f"({keep}) and ({self.condition(check.rule, self.batch.relation)})"
        same = " and ".join(f"d.{_quote(c)} is not distinct from r.{_quote(c)}" for c in columns)
        rows = f"(select __idx, {keys} from {self.batch.relation} where {where})"
        check.unexpected = (
            f"(select r.__idx from {rows} as r semi join (select {keys} from {rows} "
            f"group by all having count(*) > 1) as d on {same})")
        return check


# --- evaluation ---------------------------------------------------------------------------------


def _evaluate(con: Any, checks: list[_Check]) -> None:
    """Count the unexpected rows of every check and keep the first MAX_REPORT_ROWS of each: one
    aggregate query per relation (a window query per uniqueness rule)."""
    by_relation: dict[str, list[_Check]] = {}
    for check in checks:
        if check.done is not None or check.error is not None:
            continue
        if check.windowed:
            count, first = con.execute(
                f"select count(*), min(__idx, {MAX_REPORT_ROWS}) "
                f"from {check.unexpected}").fetchall()[0]
            check.count = int(count or 0)
            check.offending = [{"__idx": i} for i in first or []]
            continue
        by_relation.setdefault(check.relation, []).append(check)
    for relation, group in by_relation.items():
        select = []
        for check in group:
            select.append(f"count(*) filter (where {check.unexpected})")
            if check.payload:
                fields = ", ".join(f"'{c}': {_quote(c)}" for c in check.payload)
                select.append(f"min_by({{'__idx': __idx, {fields}}}, __idx, "
                              f"{MAX_REPORT_ROWS}) filter (where {check.unexpected})")
            else:
                select.append(f"min(__idx, {MAX_REPORT_ROWS}) filter (where {check.unexpected})")
        values = con.execute(f"select {', '.join(select)} from {relation}").fetchall()[0]
        for i, check in enumerate(group):
            check.count = int(values[2 * i] or 0)
            found = values[2 * i + 1] or []
            check.offending = sorted(
                (dict(f) if isinstance(f, dict) else {"__idx": f} for f in found),
                key=lambda f: f["__idx"])


def _records(con: Any, batch: _Batch, checks: list[_Check]) -> dict[int, dict[str, Any]]:
    """The offending rows of a batch (raw or placeholder), only the columns the offenders use."""
    wanted = sorted({o["__idx"] for c in checks for o in c.offending})
    if not wanted:
        return {}
    columns = set(batch.types if batch.lineage is None else batch.lineage)
    for check in checks:
        if check.offending:
            columns |= set((check.rule.column or "").split(","))
    present = sorted(c for c in columns if c in batch.types)
    select = ", ".join(["__idx", *(_quote(c) for c in present)])
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 1000):
        chunk = ", ".join(str(i) for i in wanted[start:start + 1000])
        cursor = con.execute(f"select {select} from {batch.relation} where __idx in ({chunk})")
        names = [d[0] for d in cursor.description]
        for row in cursor.fetchall():
            record = dict(zip(names, row, strict=True))
            out[record.pop("__idx")] = record
    return out


def _result_row(run_id: str, kind: str, check: _Check, records: dict[int, dict[str, Any]],
                locate: Callable[[dict[str, Any], Rule], dict[str, Any]] | None = None,
                ) -> dict[str, Any]:
    """The result row of one rule, as `validate._result_row` writes it from a GX result;
    `locate` (record, rule) gives an offender (default: the raw row's lineage)."""
    rule = check.rule
    row = passing_row(run_id, kind, rule)
    if check.error is not None:
        row.update(success=False, note=f"could not evaluate: {check.error}",
                   examples=check.error)
        return row
    if check.done is not None:
        row.update(check.done)
        return row
    row["success"] = check.count == 0
    if row["success"]:
        return row
    row["unexpected_count"] = check.count
    located = []
    for found in check.offending[:MAX_REPORT_ROWS]:
        record = dict(records.get(found["__idx"], {}))
        record.update({k: v for k, v in found.items() if k != "__idx"})
        located.append(locate(record, rule) if locate else offender(record, rule.column))
    row["offenders"] = located
    row["examples"] = "; ".join(render_offender(o) for o in located[:MAX_EXAMPLES])
    return row


# --- the entry point ----------------------------------------------------------------------------


def _transform(con: Any, name: str, materialise: str, empty: bool = False) -> None:
    sql = (SQL_DIR / f"raw_{name}.sql").read_text(encoding="utf-8")
    if empty:  # DuckDB plans a LIMIT 0 as an empty result: the columns without the work
        sql = f"select * from (\n{sql}\n) limit 0"
    con.execute(f"create or replace {materialise} chk_{name} as {sql}")


def _batch_view(con: Any, batch: _Batch) -> None:
    """`bat_<kind>`: the raw rows and, after them, the kind's placeholder rows (only the columns
    the raw file has: a placeholder never adds a column to a batch)."""
    if batch.path is not None:
        shared = [c for c in PLACEHOLDER_COLUMNS if c in batch.types]
        # a placeholder's value is blank: NaN in a float column, NULL in any other
        select = ", ".join(["__idx", *(
            "null as value" if c == "value" and family(batch.types[c]) != "float"
            else _quote(c) for c in shared)])
        con.execute(
            f"create or replace view {batch.relation} as select * from src_{batch.kind} "
            f"union all by name select {select} from chk_placeholders "
            f"where kind = '{batch.kind}'")
        return
    select = ", ".join(["__idx", *(_quote(c) for c in PLACEHOLDER_COLUMNS)])
    con.execute(f"create or replace view {batch.relation} as select {select}, "
                f"null::timestamptz as ingested_at from chk_placeholders "
                f"where kind = '{batch.kind}'")


def validate_raw_in_duckdb(run: Run | str | Path, run_id: str, parameters: dict[str, Any],
                           memory_limit: str | None = None, stage: str = INPUT,
                           ) -> dict[str, list[dict[str, Any]]]:
    """The result rows of the raw suites (`rules_for(kind, run id of run.json)`) of every kind
    with a raw file or coverage placeholders, in SOURCE_KINDS order, evaluated in DuckDB over
    `<workdir>/raw/*.parquet`: at stage "input" every rule but the post-compute ones
    (suites.POST_COMPUTE_RULES; and the flagged cells written), at stage "post" (after compute)
    only those, with the models' blank-value statuses and CO2 (`_load_flags`). `parameters`
    are the suites' $PARAMETER values (`suites.suite_parameters`). DuckDB runs with
    `settings.duckdb_connect` (memory limit $CARBON_DUCKDB_MEMORY_LIMIT unless `memory_limit`
    is given) and spills to `<workdir>/validation/duckdb_tmp`, removed afterwards. Raises
    UnsupportedRule for a rule it cannot evaluate."""

    run = Run.of(run)
    info = run.info_or_none()
    pinned = info.run_id if info else None
    files = {kind: run.raw(kind) for kind in SOURCE_KINDS if run.raw(kind).exists()}
    if not files:
        return {}
    temp = run.validation_dir / TEMP_DIR
    temp.mkdir(parents=True, exist_ok=True)
    try:
        with duckdb_connect(None, temp,
                            memory_limit=memory_limit) as con:
            # a Parquet file written elsewhere may carry min/max statistics without its NaN
            # values, from which DuckDB would fold isnan() to false (ingest.schema)
            con.execute("set disabled_optimizers = 'statistics_propagation'")
            return _validate(con, run, run_id, files, pinned, parameters, stage)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _validate(con: Any, run: Run, run_id: str, files: dict[str, Path], pinned: str | None,
              parameters: dict[str, Any], stage: str) -> dict[str, list[dict[str, Any]]]:
    batches = {kind: _Batch(kind, path) for kind, path in files.items()}
    for batch in batches.values():
        _describe(con, batch)
    con.execute("create or replace view obs as "
                + _obs_sql([b for b in batches.values() if b.usable]))
    _load_parameters(con, batches, pinned)
    _create_macros(con)
    has_flags = _load_flags(con, run, stage)
    con.execute("set variable chk_has_flags = ?", [has_flags])
    # after compute, the level-shifted rows input validation found (its level shifts are the
    # post-compute check's most costly transform, and the raw files have not changed)
    reuse = stage == POST and run.level_flagged.exists()
    for name, materialise in TRANSFORMS:
        if reuse and name == "level_flagged":
            path = str(run.level_flagged).replace("'", "''")
            con.execute(f"create or replace table chk_level_flagged as "
                        f"select * from read_parquet('{path}')")
            continue
        _transform(con, name, materialise, empty=stage == POST and (
            name in INPUT_ONLY_TRANSFORMS or (reuse and name == "level_shift")))
    if stage == INPUT:
        target = str(run.level_flagged).replace("'", "''")
        con.execute(f"copy chk_level_flagged to '{target}' (format parquet)")
    for kind, count in con.execute(
            "select kind, count(*) from chk_placeholders group by kind").fetchall():
        batches.setdefault(kind, _Batch(kind, None, types=dict(RAW_SQL_TYPES)))
        batches[kind].placeholders = count
    results: dict[str, list[dict[str, Any]]] = {}
    flagged: list[str] = []
    for kind in [k for k in SOURCE_KINDS if k in batches]:
        batch = batches[kind]
        _batch_view(con, batch)
        compiler = _Compiler(con, batch, parameters)
        rules = [rule for rule in rules_for(kind, run_id=pinned)
                 if (rule.key in POST_COMPUTE_RULES) == (stage == POST)]
        if not rules:
            continue
        checks = [compiler.compile(rule) for rule in rules]
        _evaluate(con, checks)
        records = _records(con, batch, checks)
        results[kind] = [_result_row(run_id, kind, check, records) for check in checks]
        flagged += _flagged(con, batch, checks)
    if stage == INPUT:
        _write_flagged(run, con, flagged)
    return results


def _evidence_exempt() -> frozenset[str]:
    """The warning rules whose cells never make a verdict provisional
    (reference/verdict_evidence_rules.csv: the documented blank-value and rounding policies)."""
    return frozenset(r["rule"] for r in reference.load("verdict_evidence_rules")
                     if r["makes_provisional"].strip().lower() == "false")


def _flagged(con: Any, batch: _Batch, checks: list[_Check]) -> list[str]:
    """SELECTs of every raw row (not only the first MAX_REPORT_ROWS) that a failed warning of
    `batch` flags, with its lineage and the rule: the cells whose verdicts become provisional."""
    exempt = _evidence_exempt()
    selects = []
    for check in checks:
        rule = check.rule
        if (rule.severity != WARNING or rule.key in exempt or not check.count
                or check.unexpected is None or check.windowed or batch.path is None):
            continue
        given = {"kind": _literal(batch.kind), "rule": _literal(rule.key),
                 "description": _literal(rule.description)}  # the rest: the raw row's own
        columns = ", ".join(f"{given.get(c, 'b.' + _quote(c))}::{t} as {c}"
                            for c, t in FLAGGED_CELLS_COLUMNS)
        selects.append(
            f"select {columns} from src_{batch.kind} as b where b.__idx in "
            f"(select __idx from {check.relation} where {check.unexpected})")
    return selects


def _write_flagged(run: Run, con: Any, selects: list[str]) -> None:
    """`<workdir>/validation/flagged_cells.parquet` (empty when nothing is flagged)."""
    empty = ("select " + ", ".join(f"null::{t} as {c}" for c, t in FLAGGED_CELLS_COLUMNS)
             + " where false")
    sql = "\nunion all\n".join([empty, *selects])
    target = str(run.flagged_cells).replace("'", "''")
    con.execute(f"copy ({sql}) to '{target}' (format parquet)")
