"""Read-only access to the published warehouse: the one reader of the UI pages and of the CLI.

- `load_report(warehouse_url, plan=None, runs_dir=None, quarantine_dir=None)`: one plan's
  assessment (default the latest plan with data), the run log (every run: published, rejected,
  failed, skipped, rollbacks) and the validation results of the current release, as a dict;
- `load_province(warehouse_url, code)`: one province's intensity series and assessments;
- `load_validation(warehouse_url, run_id, runs_dir=None, quarantine_dir=None)`: one run's data
  quality (the page `/validation/<run_id>`), from `meta_validation_result` and its
  `meta_pipeline_run` row (for a rejected, failed or skipped run also its reason);
- `load_quarantine_report(warehouse_url, run_id, quarantine_dir)`: a rejected run's quarantine
  report (`report.md`, the path its run-log row records, guarded by `quarantine_report_file`);
- `query_assessment(warehouse_url, plan, province, year)`: the assessment table (`carbon-assess
  show`), as column names and rows.

Every read goes through `_reader`: DuckDB through `connect_warehouse(read_only=True)` with a short
wait for a publish's lock, PostgreSQL in one read-only REPEATABLE READ transaction (one snapshot
for every query of a page). For the pages, a warehouse that does not exist yet (or has nothing
published) gives `state == "empty"`, an unreachable or locked one `state == "unavailable"`;
neither raises. `query_assessment` raises WarehouseError for both instead.

The run log holds every run, but only rows with status `published` or `rolled back`
(`RELEASE_STATUSES`) change the release in schema carbon: `current_release` finds the release's
row among those, never simply the latest row (a later rejected, failed or skipped run left the
published tables as they were).

Nothing heavy is imported at module level (DuckDB and psycopg load on first query).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError, mask_url, one_line_error
from carbon_assess.publish import (
    RELEASE_STATUSES,
    SCHEMA,
    duckdb_warehouse,
    parse_warehouse_url,
    postgres_warehouse,
)
from carbon_assess.quarantine import explanation, failed_first
from carbon_assess.report.data_docs import (
    data_docs_file,
    quarantine_report_data_file,
    quarantine_report_file,
)
from carbon_assess.report.formatting import quality_verdict

log = logging.getLogger(__name__)

DEFAULT_RUN_LIMIT = 10
# A DuckDB file being published (or rolled back) is locked, for readers too: `show` and the pages
# wait this long for the writer to finish (a publish of the real data takes a few seconds), then
# give up with a message naming the file and the writer's PID.
LOCK_WAIT_SECONDS = 10.0


class ReportNotFound(LookupError):
    """The requested plan or province is not in the published warehouse (HTTP 404)."""


class _Empty(Exception):
    """Nothing published yet (no file, no schema): the friendly empty state."""


# ---------------------------------------------------------------------------------- sessions


class _Reader:
    """One read-only session on the warehouse; queries take `?` placeholders. `where` names the
    warehouse for messages (the DuckDB path, the PostgreSQL URL without its password)."""

    def __init__(self, kind: str, con: Any, where: str):
        self.kind = kind
        self.con = con
        self.where = where

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """Column names and rows (tuples)."""
        if self.kind == "duckdb":
            cursor = self.con.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
        else:
            cursor = self.con.execute(sql.replace("?", "%s"), list(params))
            names = [d.name for d in cursor.description]
        return names, cursor.fetchall()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as dicts."""
        names, rows = self.query(sql, params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def tables(self) -> set[str]:
        """The tables and views of the published schema."""
        found = self.rows(
            "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]
        )
        return {r["table_name"] for r in found}


@contextmanager
def _reader(warehouse_url: str) -> Iterator[_Reader]:
    """A read-only session; _Empty when there is no warehouse file yet, WarehouseError (one line,
    no password) when the warehouse cannot be opened or a query fails."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        import duckdb

        path = Path(target.target)
        if not path.exists():
            raise _Empty(f"the warehouse file {path} does not exist yet")
        con = duckdb_warehouse.connect_warehouse(path, read_only=True, wait=LOCK_WAIT_SECONDS)
        try:
            yield _Reader("duckdb", con, str(path))
        except duckdb.Error as exc:
            raise WarehouseError(f"reading {path} failed: {one_line_error(exc)}") from None
        finally:
            con.close()
        return

    import psycopg

    conn = postgres_warehouse.connect(target.target)  # WarehouseError (masked) when unreachable
    try:
        # One snapshot for every query of the page, and no way to write by mistake.
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            yield _Reader("postgresql", conn, mask_url(target.target))
    except psycopg.Error as exc:
        raise WarehouseError(
            f"reading {mask_url(target.target)} failed: {one_line_error(exc, target.target)}"
        ) from None
    finally:
        conn.close()


def _base(warehouse_url: str) -> dict[str, Any]:
    try:
        shown = mask_url(warehouse_url)
    except Exception:  # pragma: no cover - mask_url is regex based
        shown = "(warehouse)"
    return {"state": "ok", "message": "", "warehouse": shown, "generated_at": datetime.now(UTC)}


Loader = Callable[[_Reader, set[str], dict[str, Any]], None]


_NOTHING_PUBLISHED = "the warehouse has no published assessment yet"


def _published(tables: set[str]) -> bool:
    return "fct_target_assessment" in tables and "dim_province" in tables


def _guarded(data: dict[str, Any], load: Loader, *, needs: str = "published") -> dict[str, Any]:
    """Run `load(reader, tables, data)`; the empty and error cases become the page's state.
    `needs`: what the warehouse must hold for `load` to run, else the state is `empty`:
    "published" (an assessment), "run log" (the run-log tables only: a warehouse whose runs
    were all rejected has them and nothing published) or "" (`load` checks itself)."""
    try:
        with _reader(data["_url"]) as reader:
            tables = reader.tables()
            if needs == "published" and not _published(tables):
                raise _Empty(_NOTHING_PUBLISHED)
            if needs == "run log" and not {"meta_pipeline_run", "meta_validation_result"} & tables:
                raise _Empty("the warehouse has no run log yet")
            load(reader, tables, data)
    except _Empty as exc:
        data["state"], data["message"] = "empty", str(exc)
    except WarehouseError as exc:
        data["state"], data["message"] = "unavailable", str(exc)
    data.pop("_url", None)
    return data


# ---------------------------------------------------------------------------------- the report


_PLANS_SQL = f"""
    select d.plan_id, d.plan_name_zh, d.start_year, d.end_year, d.base_year,
           d.national_target_pct,
           count(a.plan_id) as rows_with_data,
           sum(case when a.status <> 'no target' then 1 else 0 end) as rows_with_target,
           max(a.assessment_year) as latest_year
    from {SCHEMA}.dim_plan as d
    left join {SCHEMA}.fct_target_assessment as a
        on a.plan_id = d.plan_id and a.status <> 'insufficient data'
    group by d.plan_id, d.plan_name_zh, d.start_year, d.end_year, d.base_year,
             d.national_target_pct
    order by d.start_year, d.plan_id
"""

# Per province, the assessment of its latest year with data (else its latest year, which then
# says `insufficient data`), so that every province of the plan has one row.
_ASSESSMENT_SQL = f"""
    select a.province_code, p.name_en, p.name_zh, a.assessment_year, a.end_of_plan,
           a.target_pct, a.cumulative_decline_pct, a.expected_decline_pct, a.completion_pct,
           a.status, a.target_score, a.target_score_max, a.measures_score,
           a.measures_score_max, a.total_score, a.grade, a.grade_is_provisional, a.veto, a.note,
           a.reason, a.margin_pp, a.margin_co2_mt, a.margin_gdp_pct, a.margin_text
    from {SCHEMA}.fct_target_assessment as a
    join {SCHEMA}.dim_province as p on p.province_code = a.province_code
    join (
        select province_code,
               coalesce(max(case when status <> 'insufficient data' then assessment_year end),
                        max(assessment_year)) as assessment_year
        from {SCHEMA}.fct_target_assessment
        where plan_id = ?
        group by province_code
    ) as latest
        on latest.province_code = a.province_code
        and latest.assessment_year = a.assessment_year
    where a.plan_id = ?
    order by a.province_code
"""

_OFFICIAL_COMPARISON_SQL = f"""
    select province_code, assessment_year, name_en, official_grade, official_decline_pct,
           computed_status, computed_grade, computed_decline_pct, pass_fail_agrees,
           grade_agrees, decline_difference_pp, margin_pp, within_margin, within_margin_pp,
           official_source
    from {SCHEMA}.fct_official_comparison
    where plan_id = ?
    order by assessment_year, province_code
"""


def official_comparison(reader: _Reader, tables: set[str], plan_id: str) -> list[dict[str, Any]]:
    """The plan's rows of fct_official_comparison (official vs computed verdicts, agreement,
    margin); empty when the warehouse has no such table (published before it existed)."""
    if "fct_official_comparison" not in tables:
        return []
    return reader.rows(_OFFICIAL_COMPARISON_SQL, [plan_id])


# `select *`: restored_run_id, failed_stage, reason, report_path and landing_digest exist only in
# warehouses written by versions that record them; the pages read them with .get().
_RUN_ORDER = "order by finished_at desc nulls last, started_at desc nulls last, run_id desc"
_RUNS_SQL = f"""
    select * from {SCHEMA}.meta_pipeline_run
    {_RUN_ORDER}
    limit ?
"""
# The row of the release in schema carbon: the latest publish or rollback (rejected, failed and
# skipped runs never touch the published tables). A null status only in hand-made logs: counted
# as a release, as the publish engines do.
_RELEASE_RUN_SQL = f"""
    select * from {SCHEMA}.meta_pipeline_run
    where status in ({", ".join("?" for _ in RELEASE_STATUSES)}) or status is null
    {_RUN_ORDER}
    limit 1
"""

_VALIDATION_SQL = f"""
    select source, expectation, "column", severity, success, unexpected_count, examples
    from {SCHEMA}.meta_validation_result
    where run_id = ?
"""


def current_release(reader: _Reader, tables: set[str] | None = None) -> dict[str, Any] | None:
    """The run-log row of the release in schema carbon (the latest `published` or `rolled back`
    row; a rollback's row names the run it restored in `restored_run_id`); None without one."""
    if "meta_pipeline_run" not in (reader.tables() if tables is None else tables):
        return None
    found = reader.rows(_RELEASE_RUN_SQL, list(RELEASE_STATUSES))
    return found[0] if found else None


def _runs(reader: _Reader, run_limit: int, runs_dir: str | Path | None,
          quarantine_dir: str | Path | None) -> list[dict[str, Any]]:
    """The last runs of the log, newest first, whatever their status, with `data_docs` (their GX
    Data Docs are on this machine) and `quarantine_report` (their report.md can be served)."""
    runs = reader.rows(_RUNS_SQL, [int(run_limit)])
    for run in runs:
        run_id = str(run["run_id"])
        run["data_docs"] = bool(runs_dir and data_docs_file(runs_dir, run_id, "index.html"))
        run["quarantine_report"] = bool(
            quarantine_dir and quarantine_report_file(quarantine_dir, run_id,
                                                      run.get("report_path"))
        )
    return runs


def load_report(
    warehouse_url: str,
    plan: str | None = None,
    *,
    runs_dir: str | Path | None = None,
    quarantine_dir: str | Path | None = None,
    run_limit: int = DEFAULT_RUN_LIMIT,
) -> dict[str, Any]:
    """The report of one plan (default: the latest plan with data), the last runs of the log
    (every status) and the validation results of the current release (`release`: its run-log
    row). `runs_dir` (the runs' work directories) enables Data Docs links, `quarantine_dir` (the
    assessment home's `quarantine/`) links to rejected runs' reports. A warehouse with a run log
    but nothing published is `empty`, with its runs. Raises ReportNotFound for a plan the
    warehouse does not have."""
    data = _base(warehouse_url)
    data.update(_url=warehouse_url, plans=[], plan=None, plan_info=None, rows=[],
                status_counts={}, runs=[], release=None, validation=None)

    def load(reader: _Reader, tables: set[str], data: dict[str, Any]) -> None:
        if "meta_pipeline_run" in tables:
            data["runs"] = _runs(reader, run_limit, runs_dir, quarantine_dir)
        if not _published(tables):
            raise _Empty(_NOTHING_PUBLISHED)
        plans = [
            {**p, "has_data": bool(p["rows_with_data"]), "has_target": bool(p["rows_with_target"])}
            for p in reader.rows(_PLANS_SQL)
        ] if "dim_plan" in tables else []
        data["plans"] = plans
        chosen = _choose_plan(plans, plan)
        data["plan"] = chosen["plan_id"] if chosen else None
        data["plan_info"] = chosen
        if chosen:
            rows = reader.rows(_ASSESSMENT_SQL, [chosen["plan_id"], chosen["plan_id"]])
            data["rows"] = rows
            counts: dict[str, int] = {}
            for row in rows:
                counts[row["status"] or "unknown"] = counts.get(row["status"] or "unknown", 0) + 1
            data["status_counts"] = counts
            data["official_comparison"] = official_comparison(reader, tables, chosen["plan_id"])
        release = current_release(reader, tables)
        if release is not None:
            release_id = str(release.get("restored_run_id") or release["run_id"])
            release["data_docs"] = bool(
                runs_dir and data_docs_file(runs_dir, release_id, "index.html"))
            data["release"] = release
            if "meta_validation_result" in tables:
                data["validation"] = _validation(reader, release)

    return _guarded(data, load, needs="")


def _choose_plan(plans: list[dict[str, Any]], wanted: str | None) -> dict[str, Any] | None:
    if wanted:
        for p in plans:
            if p["plan_id"] == wanted:
                return p
        raise ReportNotFound(f"plan {wanted!r} is not in the warehouse")
    for pick in (lambda p: p["has_target"], lambda p: p["has_data"]):
        candidates = [p for p in plans if pick(p)]
        if candidates:
            return candidates[-1]  # plans are ordered by start year
    return None


def _validation(reader: _Reader, run: dict[str, Any]) -> dict[str, Any]:
    """The data quality of the release in place: after a rollback, that of the restored run."""
    run_id = run.get("restored_run_id") or run["run_id"]
    results = reader.rows(_VALIDATION_SQL, [run_id])
    order = {"error": 0, "warning": 1}
    failed = sorted(
        (r for r in results if not r["success"]),
        key=lambda r: (order.get(r["severity"], 2), r["source"] or "", r["expectation"] or ""),
    )
    counts = {
        "expectations": len(results),
        "passed": sum(1 for r in results if r["success"]),
        "errors": sum(1 for r in failed if r["severity"] == "error"),
        "warnings": sum(1 for r in failed if r["severity"] == "warning"),
    }
    return {"run_id": run_id, "data_docs": run.get("data_docs", False),
            "counts": counts, "issues": failed}


_RUN_SQL = f"""
    select * from {SCHEMA}.meta_pipeline_run where run_id = ?
"""

_VALIDATION_RUN_EXISTS_SQL = f"""
    select count(*) as n from {SCHEMA}.meta_validation_result where run_id = ?
"""


def load_validation(
    warehouse_url: str, run_id: str, *, runs_dir: str | Path | None = None,
    quarantine_dir: str | Path | None = None,
) -> dict[str, Any]:
    """The data-quality page of one run: its run-log row (`run`, with `reason`, `failed_stage`
    and `report_path` where the log records them, and `quarantine_report`: its report.md can be
    served from `quarantine_dir`) and the results of `meta_validation_result` as `_validation`
    computes them for the report page (`validation`: run_id, counts, issues; `results`: every
    expectation; `verdict`: a rejected run's errors read `blocked by errors`). For a rollback
    the results are those of the run it restored (as on the report page). Works on a warehouse
    with a run log and nothing published. ReportNotFound when the run is in neither table."""
    data = _base(warehouse_url)
    data.update(_url=warehouse_url, run_id=run_id, run=None, validation=None, results=[],
                verdict="not validated")

    def load(reader: _Reader, tables: set[str], data: dict[str, Any]) -> None:
        run = None
        if "meta_pipeline_run" in tables:
            found = reader.rows(_RUN_SQL, [run_id])
            run = found[0] if found else None
        has_results = "meta_validation_result" in tables
        if run is None:
            count = reader.rows(_VALIDATION_RUN_EXISTS_SQL, [run_id]) if has_results else []
            if not count or not count[0]["n"]:
                raise ReportNotFound(f"run {run_id!r} is not in the run log")
            run = {"run_id": run_id}
        run["data_docs"] = bool(
            runs_dir and data_docs_file(runs_dir, str(run["run_id"]), "index.html")
        )
        run["quarantine_report"] = bool(
            quarantine_dir and quarantine_report_file(quarantine_dir, str(run["run_id"]),
                                                      run.get("report_path"))
        )
        data["run"] = run
        if not has_results:
            return
        validation = _validation(reader, run)
        validated_id = validation["run_id"]
        validation["data_docs"] = bool(
            runs_dir and validated_id and data_docs_file(runs_dir, str(validated_id), "index.html")
        )
        data["validation"] = validation
        order = {"error": 0, "warning": 1}
        data["results"] = sorted(
            reader.rows(_VALIDATION_SQL, [validated_id]) if validated_id else [],
            key=lambda r: (bool(r["success"]), order.get(r["severity"], 2), r["source"] or "",
                           r["expectation"] or "", r["column"] or ""),
        )
        data["verdict"] = quality_verdict(validation["counts"])

    return _guarded(data, load, needs="run log")


def load_quarantine_report(
    warehouse_url: str, run_id: str, quarantine_dir: str | Path
) -> dict[str, Any]:
    """A rejected run's quarantine report for the page `/quarantine/<run_id>`: `run` (its
    run-log row), `path` and `text` of the report.md its row names in `report_path`, served only
    when `quarantine_report_file` finds it inside `<quarantine_dir>/<run_id>/`; `folder` its
    place in the assessment home (`quarantine/<run_id>/`, never the server's path) and, from the
    report.json beside it, `report` (the summary: status, stage, counts, `explanation`),
    `failed` (the result rows that did not hold, errors first, with their offenders) and
    `passed` (None without a report.json: the page shows the text). ReportNotFound for an
    unknown run, a run without a report, or a path outside that folder."""
    data = _base(warehouse_url)
    data.update(_url=warehouse_url, run_id=run_id, run=None, path=None, text="",
                folder=f"quarantine/{run_id}/", report=None, failed=[], passed=[])

    def load(reader: _Reader, tables: set[str], data: dict[str, Any]) -> None:
        found = reader.rows(_RUN_SQL, [run_id]) if "meta_pipeline_run" in tables else []
        if not found:
            raise ReportNotFound(f"run {run_id!r} is not in the run log")
        run = found[0]
        path = quarantine_report_file(quarantine_dir, run_id, run.get("report_path"))
        if path is None:
            raise ReportNotFound(f"run {run_id!r} has no quarantine report on this server")
        data["run"] = run
        data["path"] = path
        data["text"] = path.read_text(encoding="utf-8", errors="replace")
        _load_report_data(data, quarantine_report_data_file(path))

    return _guarded(data, load, needs="run log")


def _load_report_data(data: dict[str, Any], path: Path | None) -> None:
    """The report.json of a quarantine report (`quarantine.write_report`) as the page shows it;
    nothing when it is missing or unreadable (the page falls back to report.md's text)."""
    import json


    if path is None:
        return
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        results = [r for r in payload.get("results") or [] if isinstance(r, dict)]
        summary = {k: v for k, v in payload.items() if k != "results"}
        data["failed"] = failed_first([{**r, "offenders": r.get("offenders") or []}
                                       for r in results if "success" in r])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("quarantine report data %s unreadable: %s", path.name, exc)
        data["failed"] = []
        return
    data["passed"] = [r for r in results if r.get("success")]
    data["report"] = {**summary, "explanation": explanation(summary)}


# ---------------------------------------------------------------------------------- a province


_PROVINCE_SQL = f"""
    select * from {SCHEMA}.dim_province
    where province_code = ? or lower(name_en) = lower(?) or name_zh = ? or short_zh = ?
    order by province_code
"""

_INTENSITY_SQL = f"""
    select i.plan_id, i.year, i.years_into_plan, i.co2_mt, i.gdp_const_100m_yuan,
           i.intensity_t_per_10k_yuan, i.annual_decline_pct, i.cumulative_decline_pct,
           i.expected_decline_pct, i.target_pct, i.completion_pct, i.on_schedule
    from {SCHEMA}.fct_intensity as i
    where i.province_code = ?
    order by i.plan_id, i.year
"""

_PROVINCE_ASSESSMENT_SQL = f"""
    select plan_id, assessment_year, status, target_score, measures_score, total_score, grade,
           veto, note, reason, margin_pp, margin_text
    from {SCHEMA}.fct_target_assessment
    where province_code = ?
    order by plan_id, assessment_year
"""


def _base_year_only(plan: dict[str, Any]) -> bool:
    """A plan whose rows are all its base year (the 14th FYP while only 2020 is in): nothing of
    the plan itself has happened yet, so it is no plan to draw."""
    base = (plan.get("plan_info") or {}).get("base_year")
    return base is not None and all(
        r.get("assessment") is None and r["year"] <= int(base) for r in plan["years"])


def load_province(warehouse_url: str, code: str) -> dict[str, Any]:
    """One province (by GB/T 2260 code, English, full or short Chinese name): its carbon intensity
    and declines per plan and year, with the assessment of each year (`plans`); a plan with no
    year after its base year is not among them but in `base_year_only`. ReportNotFound when the
    warehouse has no such province."""
    data = _base(warehouse_url)
    data.update(_url=warehouse_url, query=code, province=None, plans=[], base_year_only=[])

    def load(reader: _Reader, tables: set[str], data: dict[str, Any]) -> None:
        found = reader.rows(_PROVINCE_SQL, [code, code, code, code])
        if not found:
            raise ReportNotFound(f"province {code!r} is not in the warehouse")
        province = found[0]
        data["province"] = province
        plans = reader.rows(_PLANS_SQL) if "dim_plan" in tables else []
        start = {p["plan_id"]: (p["start_year"], p["plan_id"]) for p in plans}
        info = {p["plan_id"]: p for p in plans}
        series: dict[str, list[dict[str, Any]]] = {}
        if "fct_intensity" in tables:
            for row in reader.rows(_INTENSITY_SQL, [province["province_code"]]):
                series.setdefault(row["plan_id"], []).append(row)
        assessed = {
            (r["plan_id"], r["assessment_year"]): r
            for r in reader.rows(_PROVINCE_ASSESSMENT_SQL, [province["province_code"]])
        }
        for plan_id, _year in assessed:
            series.setdefault(plan_id, [])
        out = []
        for plan_id in sorted(series, key=lambda p: start.get(p, (9999, p))):
            years = []
            seen = set()
            for row in series[plan_id]:
                seen.add(row["year"])
                years.append({**row, "assessment": assessed.get((plan_id, row["year"]))})
            for (p, year), a in sorted(assessed.items(), key=lambda kv: kv[0][1]):
                if p == plan_id and year not in seen:
                    years.append({"plan_id": p, "year": year, "assessment": a})
            years.sort(key=lambda r: r["year"])
            plan = {"plan_id": plan_id, "plan_info": info.get(plan_id), "years": years}
            if _base_year_only(plan):
                data["base_year_only"].append(plan)
            else:
                out.append(plan)
        data["plans"] = out

    return _guarded(data, load)


# ---------------------------------------------------------------------------------- the CLI table


# One SQL text for both engines (`?` placeholders; psycopg gets `%s`). Rounding happens in Python
# (PostgreSQL has no round(double precision, int)), so both engines return the same values.
ASSESSMENT_QUERY = f"""
    select
        a.plan_id as plan,
        a.province_code as code,
        p.name_en as province,
        a.assessment_year as year,
        a.target_pct,
        a.cumulative_decline_pct as decline_pct,
        a.expected_decline_pct as expected_pct,
        a.status,
        a.target_score,
        a.measures_score,
        a.total_score,
        a.grade,
        a.reason,
        a.veto,
        a.margin_pp,
        a.margin_co2_mt,
        a.margin_gdp_pct,
        a.margin_text,
        a.annual_target_score,
        a.cumulative_target_score,
        a.note,
        a.verdict_is_provisional,
        a.provisional_cells
    from {SCHEMA}.fct_target_assessment as a
    join {SCHEMA}.dim_province as p on p.province_code = a.province_code
    where (cast(? as varchar) is null or a.plan_id = ?)
      and (cast(? as varchar) is null or a.province_code = ?)
      and (cast(? as integer) is null or a.assessment_year = ?)
    order by a.plan_id, a.province_code, a.assessment_year
"""
# Any unit (`show --region`): the same columns, the unit's code and Chinese name (dim_region)
REGION_ASSESSMENT_QUERY = (
    ASSESSMENT_QUERY
    .replace("a.province_code as code,", "a.region_code as code,")
    .replace("p.name_en as province,", "coalesce(p.name_en, r.name_zh) as province,")
    .replace(f"join {SCHEMA}.dim_province as p on p.province_code = a.province_code",
             f"left join {SCHEMA}.dim_province as p on p.province_code = a.province_code\n"
             f"    join {SCHEMA}.dim_region as r on r.region_code = a.region_code")
    .replace("or a.province_code = ?)", "or a.region_code = ?)")
    .replace("order by a.plan_id, a.province_code,", "order by a.plan_id, a.region_code,")
)
_ROUNDED = {"decline_pct": 2, "expected_pct": 2, "margin_pp": 2, "margin_co2_mt": 3,
            "margin_gdp_pct": 2}


def query_assessment(
    warehouse_url: str,
    plan: str | None = None,
    province: str | None = None,
    year: int | None = None,
    region: str | None = None,
) -> tuple[list[str], list[tuple]]:
    """Column names and rows of the published assessment, filtered: the provinces, or with
    `region` that unit (any level). WarehouseError when the warehouse does not exist, cannot be
    read or has no published assessment."""
    target = parse_warehouse_url(warehouse_url)
    unit = region or province
    params = [plan, plan, unit, unit, year, year]
    try:
        with _reader(warehouse_url) as reader:
            if "fct_target_assessment" not in reader.tables():
                raise WarehouseError(f"warehouse {reader.where} has no published assessment")
            query = REGION_ASSESSMENT_QUERY if region else ASSESSMENT_QUERY
            columns, rows = reader.query(query, params)
    except _Empty:  # no DuckDB file
        raise WarehouseError(
            f"warehouse {target.target} does not exist; run `carbon-assess run` first"
        ) from None
    digits = [_ROUNDED.get(c) for c in columns]
    rows = [
        tuple(v if digits[i] is None or v is None else round(v, digits[i])
              for i, v in enumerate(row))
        for row in rows
    ]
    return columns, rows
