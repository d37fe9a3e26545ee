"""Transform: the SQL models (`transform/sql`, one SELECT per table) built in DuckDB.

Two stages share one database, `<workdir>/compute.duckdb`:

- `run_transforms` (compute): loads the sources (reference tables, raw Parquet, assessment
  sheets, run parameters) and builds every model except those only the assessment needs;
- `run_assessment` (assess): builds `fct_target_assessment` and the models only it reads.

The split and the order both follow from the models' references (`transform.models`). Run
parameters reach SQL through DuckDB variables (`getvariable('method')`, ...).
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any, TypedDict

from carbon_assess import reference
from carbon_assess.errors import CarbonAssessError, InputError
from carbon_assess.ingest.provinces import resolve_province
from carbon_assess.ingest.schema import NATIONAL_CODE, RAW_SQL_TYPES
from carbon_assess.ingest.sheets import SHEETS, sheet_column_types
from carbon_assess.settings import duckdb_connect
from carbon_assess.transform.models import create_macros, models, run_models, upstream
from carbon_assess.workdir import Run

ASSESSMENT_MODEL = "fct_target_assessment"
OFFICIAL_COMPARISON_MODEL = "fct_official_comparison"  # reads the assessment
# A negative quantity above -1e-6 is rounding noise (Qinghai kerosene 2006 = -1e-12): staged as 0
# (stg_energy, via the variable `negative_noise`) and a validation warning (validate.suites).
NEGATIVE_NOISE = 1e-6
# Results the authorities published: by default the shipped reference table
# (reference/official_assessment_results.csv: the NDRC 2016 grades, the national declines, each
# with its source); $CARBON_OFFICIAL_RESULTS names a file of the same columns to use instead, or
# `none` for no comparison (e.g. synthetic data).
OFFICIAL_RESULTS_ENV = "CARBON_OFFICIAL_RESULTS"
OFFICIAL_RESULTS_REFERENCE = "official_assessment_results"
OFFICIAL_RESULTS_NONE = "none"
OFFICIAL_RESULTS_COLUMNS = ("plan", "assessment_year", "province_code", "province",
                            "official_grade", "official_decline_pct", "source")


class ComputeResult(TypedDict):
    compute_db: str  # <workdir>/compute.duckdb
    method: str
    electricity_trade: bool
    factor_version: str
    row_counts: dict[str, int]  # model -> rows


class OfficialAgreement(TypedDict):
    plan_id: str
    assessment_year: int
    provinces: int  # provinces with an official grade
    pass_fail_compared: int  # of which both verdicts known (not insufficient data)
    pass_fail_agree: int
    grades_compared: int  # of which the computed grade is final (not provisional)
    grades_agree: int
    disagreeing: list[dict[str, Any]]  # name_en, computed/official pass|fail, margin_pp, ...


class AssessmentResult(TypedDict):
    row_counts: dict[str, int]  # model -> rows
    statuses: dict[str, int]  # fct_target_assessment status -> province-years
    # agreement with the official results (fct_official_comparison), per plan and year graded
    official_agreement: list[OfficialAgreement]


# raw_flagged_cells: every raw cell a validation warning flags (validate.sql_engine writes them to
# Run.flagged_cells), the evidence of provisional verdicts (int_verdict_evidence)
FLAGGED_CELLS_COLUMNS = (("kind", "varchar"), ("region_code", "varchar"), ("year", "bigint"),
                         ("variable", "varchar"), ("fuel", "varchar"), ("source_file", "varchar"),
                         ("source_row", "bigint"), ("source_column", "varchar"),
                         ("rule", "varchar"), ("description", "varchar"))
RAW_GROUPS = {  # source table -> raw source kinds (ingest.schema.SOURCE_KINDS) it unions
    "raw_energy": ("energy_consumption", "energy_production"),
    "raw_economy": ("gdp", "gdp_index", "population"),
}


def assessment_models() -> set[str]:
    """The assessment, the models nothing but the assessment reads, and the models that read
    the assessment (fct_official_comparison)."""
    downstream = {name for name in models() if ASSESSMENT_MODEL in upstream([name])}
    needed_elsewhere = upstream(set(models()) - upstream([ASSESSMENT_MODEL]) - downstream)
    return set(models()) - needed_elsewhere


def compute_models() -> set[str]:
    return set(models()) - assessment_models()


def current_factor_version() -> str:
    """The factor version a run uses: the newest listed in emission_factors.csv."""
    return max(row["factor_version"] for row in reference.load("emission_factors"))


def set_run_parameters(con: Any, method: str, electricity_trade: bool) -> None:
    """Record the run parameters in `run_parameters` and expose them as DuckDB variables."""
    con.execute("create or replace table run_parameters "
                "(method varchar, factor_version varchar, electricity_trade boolean)")
    con.execute("insert into run_parameters values (?, ?, ?)",
                [method, current_factor_version(), electricity_trade])
    _set_run_variables(con)


def set_variables(con: Any, method: str, factor_version: str, electricity_trade: bool) -> None:
    """The DuckDB variables the models read: run parameters and the rounding-noise bound."""
    con.execute("set variable method = ?", [method])
    con.execute("set variable factor_version = ?", [factor_version])
    con.execute("set variable electricity_trade = ?", [electricity_trade])
    con.execute("set variable negative_noise = ?", [NEGATIVE_NOISE])


def _set_run_variables(con: Any) -> None:
    set_variables(con, *con.execute(
        "select method, factor_version, electricity_trade from run_parameters").fetchall()[0])


def load_sources(con: Any, run: Run) -> None:
    """Every source the models read: reference tables as `ref_<name>`, the run's raw Parquet as
    views `raw_energy`/`raw_economy` (over the files, by path), its assessment sheets as
    `sheet_<kind>` (empty when absent), the official results, and the shared macros."""
    load_statistics(con, run)
    for kind in SHEETS:
        ddl = ", ".join(f"{c} {t}" for c, t in sheet_column_types(kind))
        con.execute(f"create or replace table sheet_{kind} ({ddl})")
        if run.sheet(kind).exists():
            con.execute(f"insert into sheet_{kind} by name select * from read_parquet(?)",
                        [str(run.sheet(kind))])
    load_official_results(con)


# an empty raw_* table when a run has no such file
RAW_COLUMNS_DDL = ", ".join(f"{name} {sql_type}" for name, sql_type in RAW_SQL_TYPES.items())


def reference_csv(name: str) -> str:
    """The SQL that reads reference table `name` as `reference.load` does: every column text,
    an empty field '' (never NULL). DuckDB reads the CSV itself: handing it Arrow data would
    import pandas into every task that computes."""
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in reference.load(name)[0])
    path = str(reference.path(name)).replace("'", "''")
    return (f"read_csv('{path}', header = true, auto_detect = false, delim = ',', quote = '\"', "
            f"escape = '\"', nullstr = '\\0none', columns = {{{columns}}})")


def load_statistics(con: Any, run: Run) -> None:
    """The reference tables, the run's raw Parquet, the cells validation flagged
    (`raw_flagged_cells`, the evidence of provisional verdicts) and the macros."""
    for name in reference.names():
        con.execute(f"create or replace table ref_{name} as select * from {reference_csv(name)}")
    for view, kinds in RAW_GROUPS.items():
        files = [str(run.raw(kind)) for kind in kinds if run.raw(kind).exists()]
        if files:
            # a view: DuckDB reads the run's raw Parquet where the models need it, streaming,
            # and never copies its 50M rows of lineage into the compute database
            paths = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(f"create or replace view {view} as select * from read_parquet([{paths}])")
            continue
        con.execute(f"create or replace table {view} ({RAW_COLUMNS_DDL})")
    flagged = str(run.flagged_cells).replace("'", "''")
    con.execute(
        f"create or replace view raw_flagged_cells as select * from read_parquet('{flagged}')"
        if run.flagged_cells.exists() else
        "create or replace table raw_flagged_cells ("
        + ", ".join(f"{c} {t}" for c, t in FLAGGED_CELLS_COLUMNS) + ")")
    create_macros(con)


def official_results_path() -> Path | None:
    """The official results a run compares with: the file named by $CARBON_OFFICIAL_RESULTS,
    else the shipped reference table; None when the variable says `none`."""
    value = os.environ.get(OFFICIAL_RESULTS_ENV, "").strip()
    if value.casefold() == OFFICIAL_RESULTS_NONE:
        return None
    return Path(value) if value else reference.path(OFFICIAL_RESULTS_REFERENCE)


def _official_label(path: Path) -> str:
    """How a message names the file: the reference table by its place in the package, a user's
    file as the variable gives it."""
    if path == reference.path(OFFICIAL_RESULTS_REFERENCE):
        return f"reference/{path.name}"
    return f"{OFFICIAL_RESULTS_ENV}={path}"


def read_official_results(path: Path) -> list[dict[str, str]]:
    """The rows of an official results file (UTF-8 CSV, columns OFFICIAL_RESULTS_COLUMNS, others
    ignored), each checked; InputError naming the file, row (the header is row 1), column and
    value of the first bad one:

    - `plan` a plan of plans.csv, `assessment_year` a year of that plan (start to end year);
    - `province_code` a province of provinces.csv or 000000 (the nation), `province` blank or a
      name of that province;
    - `official_grade` blank or a grade of grade_thresholds.csv, `official_decline_pct` blank or
      a number between -100 and 100, at least one of the two given;
    - `source` given (every fact names its publication);
    - one row per plan, assessment year and province."""
    label = _official_label(path)
    if not path.is_file():
        raise CarbonAssessError(f"{label}: no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise InputError(label, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    missing = [c for c in OFFICIAL_RESULTS_COLUMNS if c not in header]
    if missing:
        raise CarbonAssessError(
            f"{label}: official results need the columns {', '.join(OFFICIAL_RESULTS_COLUMNS)}; "
            f"missing {', '.join(missing)}")
    plans = {r["plan_id"]: (int(r["start_year"]), int(r["end_year"]))
             for r in reference.load("plans")}
    grades = [r["grade"] for r in reference.load("grade_thresholds")]
    provinces = {r["code"] for r in reference.load("provinces")}
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for number, raw in enumerate(rows, start=2):
        row = {c: (raw.get(c) or "").strip() for c in OFFICIAL_RESULTS_COLUMNS}

        def bad(column: str, rule: str, number: int = number, row: dict = row) -> InputError:
            return InputError(label, rule, row=number, column=column, value=row[column])

        plan, year, code = row["plan"], row["assessment_year"], row["province_code"]
        if plan not in plans:
            raise bad("plan", f"unknown plan (plans.csv has {', '.join(plans)})")
        start, end = plans[plan]
        if not year.isdigit() or not start <= int(year) <= end:
            raise bad("assessment_year", f"not a year of the {plan} FYP ({start}-{end})")
        if code != NATIONAL_CODE and code not in provinces:
            raise bad("province_code", "not a GB/T 2260 province code nor 000000 (the nation)")
        if code != NATIONAL_CODE and row["province"] and resolve_province(row["province"]) != code:
            raise bad("province", f"does not name the province of code {code}")
        if row["official_grade"] and row["official_grade"] not in grades:
            raise bad("official_grade", f"not a grade ({', '.join(grades)})")
        if row["official_decline_pct"]:
            try:
                decline = float(row["official_decline_pct"])
            except ValueError:
                decline = math.nan
            if not -100 < decline < 100:
                raise bad("official_decline_pct", "not a percentage between -100 and 100")
        if not row["official_grade"] and not row["official_decline_pct"]:
            raise bad("official_grade", "neither a grade nor a decline given")
        if not row["source"]:
            raise bad("source", "no source: name the publication of this result")
        key = (plan, year, code)
        if key in seen:
            raise bad("province_code", f"given in row {seen[key]} too ({plan} {year} {code})")
        seen[key] = number
        out.append(row)
    return out


def load_official_results(con: Any) -> None:
    """Table `official_results` (all VARCHAR, as a reference CSV): the checked rows of
    `official_results_path()` (the shipped reference table unless $CARBON_OFFICIAL_RESULTS
    names another file; empty for `none`)."""
    ddl = ", ".join(f"{c} varchar" for c in OFFICIAL_RESULTS_COLUMNS)
    con.execute(f"create or replace table official_results ({ddl})")
    path = official_results_path()
    if path is None:
        return
    rows = read_official_results(path)
    if rows:
        marks = ", ".join("?" for _ in OFFICIAL_RESULTS_COLUMNS)
        con.executemany(f"insert into official_results values ({marks})",
                        [[r[c] for c in OFFICIAL_RESULTS_COLUMNS] for r in rows])


def connect(run: Run | str) -> Any:
    """A connection to the run's compute database (built by `run_transforms`), with the run
    parameters set as variables and the macros defined."""
    run = Run.of(run)
    con = duckdb_connect(run.compute_db, run.spill_dir)
    _set_run_variables(con)
    create_macros(con)
    return con


def run_transforms(run: Run | str, method: str | None = None,
                   electricity_trade: bool | None = None) -> ComputeResult:
    """Build the compute models from the run's raw Parquet (a fresh database each time).
    Method and electricity trade default to those recorded in run.json."""
    run = Run.of(run)
    info = run.info
    method = method or info.method
    electricity_trade = info.electricity_trade if electricity_trade is None else electricity_trade
    run.compute_db.unlink(missing_ok=True)
    with duckdb_connect(run.compute_db, run.spill_dir) as con:
        set_run_parameters(con, method, electricity_trade)
        load_sources(con, run)
        counts = run_models(con, compute_models())
    return {
        "compute_db": str(run.compute_db),
        "method": method,
        "electricity_trade": electricity_trade,
        "factor_version": current_factor_version(),
        "row_counts": counts,
    }


def official_agreement(con: Any) -> list[OfficialAgreement]:
    """Agreement of the computed verdicts with the official grades, per plan and year that has
    official grades (from fct_official_comparison, whose flags define it); the disagreeing
    provinces with their margins, in province-code order."""
    relation = con.table(OFFICIAL_COMPARISON_MODEL).filter("official_grade is not null").select(
        "plan_id, assessment_year, province_code, name_en, pass_fail_agrees, grade_agrees, "
        "computed_pass, official_pass, computed_grade, official_grade, margin_pp, within_margin"
    ).order("plan_id, assessment_year, province_code")
    columns = relation.columns
    rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["plan_id"], int(row["assessment_year"])), []).append(row)
    result: list[OfficialAgreement] = []
    for (plan_id, year), members in groups.items():
        pass_fail = [r["pass_fail_agrees"] for r in members if r["pass_fail_agrees"] is not None]
        grades = [r["grade_agrees"] for r in members if r["grade_agrees"] is not None]
        result.append({
            "plan_id": plan_id,
            "assessment_year": year,
            "provinces": len(members),
            "pass_fail_compared": len(pass_fail),
            "pass_fail_agree": sum(pass_fail),
            "grades_compared": len(grades),
            "grades_agree": sum(grades),
            "disagreeing": [
                {
                    "province_code": r["province_code"],
                    "name_en": r["name_en"],
                    "computed": "pass" if r["computed_pass"] else "fail",
                    "official": "pass" if r["official_pass"] else "fail",
                    "computed_grade": r["computed_grade"],
                    "official_grade": r["official_grade"],
                    "margin_pp": r["margin_pp"],
                    "within_margin": r["within_margin"],
                }
                for r in members if r["pass_fail_agrees"] is False
            ],
        })
    return result


def run_assessment(run: Run | str) -> AssessmentResult:
    """Build the assessment models on the compute database; count statuses; compare with the
    official results."""
    with connect(run) as con:
        counts = run_models(con, assessment_models())
        statuses = dict(
            con.execute(
                f"select status, count(*) from {ASSESSMENT_MODEL} group by status order by 1"
            ).fetchall()
        )
        agreement = official_agreement(con)
    return {"row_counts": counts, "statuses": statuses, "official_agreement": agreement}
