"""The assessment report for operators: read the published warehouse, render HTML and SVG.

Pure functions, no web framework and no Airflow here (the Airflow UI plugin in `plugins/` only
wires them to routes):

- `load_report(warehouse_url, plan=None, runs_dir=None)`: one plan's assessment (default the
  latest plan with data), the run log and the latest run's validation results, as a dict;
- `load_province(warehouse_url, code)`: one province's intensity series and assessments;
- `render_report_html(data)`, `render_province_html(data)`, `render_message_html(...)`: complete
  HTML pages (plain HTML, inline CSS and server-side SVG charts, no JavaScript; every value goes
  through `html.escape`; links are relative, so the pages work under any URL prefix or proxy);
- `to_jsonable(data)`: the same data for a JSON API;
- `data_docs_file(runs_dir, run_id, path)`: a file of a run's GX Data Docs, or None for anything
  outside `<runs_dir>/<run_id>/validation/data_docs/` (path traversal, symlinks out).

Access is read-only: DuckDB through `connect_warehouse(read_only=True)`, PostgreSQL in a
read-only transaction. A warehouse that does not exist yet (or has nothing published) gives
`state == "empty"`, an unreachable or locked one `state == "unavailable"`; neither raises.
Nothing heavy is imported at module level (DuckDB and psycopg load on first query).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from carbon_assess.errors import WarehouseError, mask_url, one_line_error
from carbon_assess.publish import SCHEMA, duckdb_warehouse, parse_warehouse_url, postgres_warehouse
from carbon_assess.settings import DAG_ID

DEFAULT_RUN_LIMIT = 10
MAX_ISSUES_SHOWN = 50
LOCK_WAIT_SECONDS = 2.0  # a DuckDB file being published is locked; wait this long, then give up


class ReportNotFound(LookupError):
    """The requested plan or province is not in the published warehouse (HTTP 404)."""


# ---------------------------------------------------------------------------------- reading


class _Reader:
    """One read-only session on the warehouse; `rows()` takes `?` placeholders, returns dicts."""

    def __init__(self, kind: str, con: Any):
        self.kind = kind
        self.con = con

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self.kind == "duckdb":
            cursor = self.con.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
        else:
            cursor = self.con.execute(sql.replace("?", "%s"), list(params))
            names = [d.name for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def tables(self) -> set[str]:
        found = self.rows(
            "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]
        )
        return {r["table_name"] for r in found}


class _Empty(Exception):
    """Nothing published yet (no file, no schema): the friendly empty state."""


@contextmanager
def _reader(warehouse_url: str) -> Iterator[_Reader]:
    """A read-only session; _Empty when there is no warehouse yet, WarehouseError otherwise."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        import duckdb

        path = Path(target.target)
        if not path.exists():
            raise _Empty(f"the warehouse file {path} does not exist yet")
        con = duckdb_warehouse.connect_warehouse(path, read_only=True, wait=LOCK_WAIT_SECONDS)
        try:
            yield _Reader("duckdb", con)
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
            yield _Reader("postgresql", conn)
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


def _guarded(data: dict[str, Any], load: Any) -> dict[str, Any]:
    """Run `load(reader, tables, data)`; the empty and error cases become the page's state."""
    try:
        with _reader(data["_url"]) as reader:
            tables = reader.tables()
            if "fct_target_assessment" not in tables or "dim_province" not in tables:
                raise _Empty("the warehouse has no published assessment yet")
            load(reader, tables, data)
    except _Empty as exc:
        data["state"], data["message"] = "empty", str(exc)
    except WarehouseError as exc:
        data["state"], data["message"] = "unavailable", str(exc)
    data.pop("_url", None)
    return data


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
           a.measures_score_max, a.total_score, a.grade, a.grade_is_provisional, a.veto, a.note
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

_RUNS_SQL = f"""
    select run_id, started_at, finished_at, status, code_version, vintage, method,
           factor_version, warnings
    from {SCHEMA}.meta_pipeline_run
    order by finished_at desc nulls last, started_at desc nulls last, run_id desc
    limit ?
"""

_VALIDATION_SQL = f"""
    select source, expectation, "column", severity, success, unexpected_count, examples
    from {SCHEMA}.meta_validation_result
    where run_id = ?
"""


def load_report(
    warehouse_url: str,
    plan: str | None = None,
    *,
    runs_dir: str | Path | None = None,
    run_limit: int = DEFAULT_RUN_LIMIT,
) -> dict[str, Any]:
    """The report of one plan (default: the latest plan with data), the last runs and the latest
    run's validation results. `runs_dir` (the runs' work directories) enables Data Docs links.
    Raises ReportNotFound for a plan the warehouse does not have."""
    data = _base(warehouse_url)
    data.update(_url=warehouse_url, plans=[], plan=None, plan_info=None, rows=[],
                status_counts={}, runs=[], validation=None)

    def load(reader: _Reader, tables: set[str], data: dict[str, Any]) -> None:
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
        if "meta_pipeline_run" in tables:
            runs = reader.rows(_RUNS_SQL, [int(run_limit)])
            for run in runs:
                run["data_docs"] = bool(
                    runs_dir and data_docs_file(runs_dir, str(run["run_id"]), "index.html")
                )
            data["runs"] = runs
            if runs and "meta_validation_result" in tables:
                data["validation"] = _validation(reader, runs[0])

    return _guarded(data, load)


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
    results = reader.rows(_VALIDATION_SQL, [run["run_id"]])
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
    return {"run_id": run["run_id"], "data_docs": run.get("data_docs", False),
            "counts": counts, "issues": failed}


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
           veto, note
    from {SCHEMA}.fct_target_assessment
    where province_code = ?
    order by plan_id, assessment_year
"""


def load_province(warehouse_url: str, code: str) -> dict[str, Any]:
    """One province (by GB/T 2260 code, English, full or short Chinese name): its carbon intensity
    and declines per plan and year, with the assessment of each year. ReportNotFound when the
    warehouse has no such province."""
    data = _base(warehouse_url)
    data.update(_url=warehouse_url, query=code, province=None, plans=[])

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
            out.append({"plan_id": plan_id, "plan_info": info.get(plan_id), "years": years})
        data["plans"] = out

    return _guarded(data, load)


# ---------------------------------------------------------------------------------- Data Docs


def data_docs_file(runs_dir: str | Path, run_id: str, path: str = "index.html") -> Path | None:
    """The file `path` of run `run_id`'s GX Data Docs, if it exists and lies inside
    `<runs_dir>/<run_id>/validation/data_docs/` once every symlink is resolved; else None."""
    if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\x00"):
        return None
    if "\x00" in path:
        return None
    try:
        runs = Path(runs_dir).resolve()
        root = (runs / run_id / "validation" / "data_docs").resolve()
        if not root.is_relative_to(runs) or not root.is_dir():
            return None
        target = (root / (path or "index.html")).resolve()
        if target.is_dir():
            target = (target / "index.html").resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target


# ---------------------------------------------------------------------------------- JSON


def to_jsonable(value: Any) -> Any:
    """Dates as ISO 8601, non-finite floats as null, tuples as lists; for json.dumps."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:  # Decimal and friends
        number = float(value)
        return number if math.isfinite(number) else None
    except (TypeError, ValueError):
        return str(value)


# ---------------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _fmt(value: Any, digits: int = 1, suffix: str = "") -> str:
    number = _num(value)
    if number is None:
        return "–"
    text = f"{number:,.{digits}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
    return text + suffix


def _pct(value: Any) -> str:
    return _fmt(value, 2, " %")


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "–" if value is None else str(value)


def _link_part(value: Any) -> str:
    """A path segment of a relative link, percent-encoded (then escaped by the caller)."""
    return quote(str(value), safe="")


_GOOD = {"met", "on schedule"}
_BAD = {"missed", "behind"}


def _status_class(status: Any) -> str:
    return "good" if status in _GOOD else "bad" if status in _BAD else "neutral"


def _grade_class(grade: Any) -> str:
    return {"excellent": "good", "good": "good", "pass": "warn", "fail": "bad"}.get(
        str(grade), "neutral"
    )


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",
sans-serif;margin:1rem 1.5rem;color:#1f2328;background:#fff;font-size:14px;line-height:1.4}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
a{color:#0b57d0}nav a{margin-right:1rem}
table{border-collapse:collapse;margin:.4rem 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #d8dee4;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n,th.n{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85em;
white-space:nowrap}
.good{background:#dafbe1;color:#116329}.bad{background:#ffebe9;color:#a40e26}
.warn{background:#fff8c5;color:#7d4e00}.neutral{background:#eaeef2;color:#424a53}
.muted{color:#59636e}.note{max-width:32rem}.empty{padding:1rem;border:1px dashed #afb8c1;
border-radius:.4rem;background:#f6f8fa;max-width:48rem}
.plans a,.plans strong{margin-right:.8rem}svg{max-width:100%;height:auto}
code{font-size:.9em}.legend span{margin-right:1rem}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}a{color:#6cb6ff}
th{background:#161b22}th,td{border-color:#30363d}.muted{color:#9198a1}
.empty{background:#161b22;border-color:#3d444d}svg text{fill:#e6edf3}
svg .axis{stroke:#6e7681}svg .grid{stroke:#30363d}}
"""


def _page(title: str, body: str, root: str, query: str = "") -> str:
    nav = (f'<nav><a href="{_e(root or "./")}">Assessment report</a>'
           f'<a href="{_e(root)}api/assessment.json{_e(query)}">JSON</a></nav>')
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{nav}\n{body}\n</body>\n</html>\n"
    )


def _empty_state(data: dict[str, Any]) -> str:
    if data.get("state") == "unavailable":
        head = "The warehouse cannot be read right now."
        hint = "Check the warehouse settings below, or retry when the running publish ends."
    else:
        head = "No assessment has been published yet."
        hint = (f"Trigger the DAG <code>{_e(DAG_ID)}</code> (or run "
                "<code>carbon-assess run</code>) to publish one; this page then shows it.")
    return (
        f'<div class="empty"><p><strong>{_e(head)}</strong></p>'
        f"<p>{hint}</p>"
        f'<p class="muted">{_e(data.get("message"))}</p>'
        f'<p class="muted">Warehouse: <code>{_e(data.get("warehouse"))}</code></p></div>'
    )


def _footer(data: dict[str, Any]) -> str:
    return (f'<p class="muted">Warehouse <code>{_e(data.get("warehouse"))}</code>; page built '
            f"{_e(_when(data.get('generated_at')))}.</p>")


# ---------------------------------------------------------------------------------- SVG charts


_PALETTE = ("#1565c0", "#2e7d32", "#ef6c00", "#7b1fa2", "#c62828", "#00838f", "#6d4c41")
_STATUS_FILL = {"good": "#2e7d32", "bad": "#c62828", "neutral": "#9e9e9e"}


def _nice_step(span: float, ticks: int = 6) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _domain(values: list[float], include_zero: bool = True) -> tuple[float, float, float]:
    lo, hi = min(values), max(values)
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    step = _nice_step(hi - lo)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def _tick_label(value: float, step: float) -> str:
    digits = 0 if step >= 1 else min(4, max(1, -math.floor(math.log10(step))))
    return _fmt(value, digits)


def _svg_open(width: int, height: float, title: str) -> list[str]:
    """The opening <svg> element and its accessible title, shared by both charts."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-size="11" font-family="system-ui,sans-serif">',
        f"<title>{_e(title)}</title>",
    ]


def _ticks(lo: float, hi: float, step: float) -> Iterator[float]:
    """Axis tick values lo, lo + step, ... up to hi (tolerating float drift)."""
    tick = lo
    while tick <= hi + step / 1000:
        yield tick
        tick += step


def svg_bar_chart(rows: list[dict[str, Any]], title: str = "") -> str:
    """Horizontal bars of cumulative decline per province, a black tick at the target and a
    grey tick at the decline expected by the assessment year; bar colour = status."""
    items = sorted(
        (r for r in rows if _num(r.get("cumulative_decline_pct")) is not None),
        key=lambda r: -(_num(r["cumulative_decline_pct"]) or 0.0),
    )
    missing = [r for r in rows if _num(r.get("cumulative_decline_pct")) is None]
    title = title or "Cumulative decline of carbon intensity vs target, per province"
    if not items:
        return f'<p class="muted">{_e(title)}: no province has data.</p>'
    values = []
    for r in items:
        values += [_num(r.get(k)) for k in ("cumulative_decline_pct", "target_pct",
                                            "expected_decline_pct")]
    lo, hi, step = _domain([v for v in values if v is not None])
    label_w, right, top, row_h, bottom = 150, 20, 34, 17, 44
    width = 760
    plot_w = width - label_w - right
    height = top + row_h * len(items) + bottom

    def x(v: float) -> float:
        return label_w + (v - lo) / (hi - lo) * plot_w

    out = [
        *_svg_open(width, height, title),
        f'<text x="{label_w}" y="14" font-weight="600">{_e(title)} (%)</text>',
    ]
    for tick in _ticks(lo, hi, step):
        tx = x(tick)
        out.append(f'<line class="grid" x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" '
                   f'y2="{top + row_h * len(items)}" stroke="#e1e4e8"/>')
        out.append(f'<text x="{tx:.1f}" y="{top - 9}" text-anchor="middle">'
                   f"{_e(_tick_label(tick, step))}</text>")
    for i, r in enumerate(items):
        y = top + i * row_h
        decline = _num(r["cumulative_decline_pct"]) or 0.0
        target, expected = _num(r.get("target_pct")), _num(r.get("expected_decline_pct"))
        x0, x1 = sorted((x(0.0), x(decline)))
        fill = _STATUS_FILL[_status_class(r.get("status"))]
        name = r.get("name_en") or r.get("province_code")
        tip = (f"{name}: decline {_pct(decline)}, target {_pct(target)}, expected "
               f"{_pct(expected)}, {r.get('status')}")
        out.append(f"<g><title>{_e(tip)}</title>")
        out.append(f'<text x="{label_w - 6}" y="{y + row_h - 5}" text-anchor="end">'
                   f"{_e(name)}</text>")
        out.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 0.5):.1f}" '
                   f'height="{row_h - 6}" fill="{fill}"/>')
        if expected is not None and target is not None and abs(expected - target) > 1e-6:
            ex = x(expected)
            out.append(f'<line x1="{ex:.1f}" y1="{y + 1}" x2="{ex:.1f}" y2="{y + row_h - 1}" '
                       'stroke="#8c959f" stroke-width="2" stroke-dasharray="2,1"/>')
        if target is not None:
            tx = x(target)
            out.append(f'<line x1="{tx:.1f}" y1="{y + 1}" x2="{tx:.1f}" y2="{y + row_h - 1}" '
                       'stroke="#1f2328" stroke-width="2"/>')
        out.append("</g>")
    zero = x(0.0)
    out.append(f'<line class="axis" x1="{zero:.1f}" y1="{top - 6}" x2="{zero:.1f}" '
               f'y2="{top + row_h * len(items)}" stroke="#57606a"/>')
    ly = top + row_h * len(items) + 22
    legend = [("rect", _STATUS_FILL["good"], "met / on schedule"),
              ("rect", _STATUS_FILL["bad"], "missed / behind"),
              ("rect", _STATUS_FILL["neutral"], "other"),
              ("line", "#1f2328", "target"), ("dash", "#8c959f", "expected by now")]
    lx = label_w
    for kind, color, text in legend:
        if kind == "rect":
            out.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{color}"/>')
        else:
            dash = ' stroke-dasharray="2,1"' if kind == "dash" else ""
            out.append(f'<line x1="{lx + 6}" y1="{ly - 11}" x2="{lx + 6}" y2="{ly + 2}" '
                       f'stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 16}" y="{ly}">{_e(text)}</text>')
        lx += 24 + 6.5 * len(text)
    out.append("</svg>")
    note = ""
    if missing:
        names = ", ".join(str(r.get("name_en") or r.get("province_code")) for r in missing)
        note = f'<p class="muted">No data for the chart: {_e(names)}.</p>'
    return "".join(out) + note


def svg_line_chart(
    series: list[dict[str, Any]], title: str, y_label: str, *, include_zero: bool = False
) -> str:
    """Lines over years. `series`: dicts with `label`, `points` [(year, value)], optional
    `color` and `dashed`."""
    pts = [(float(x), y) for s in series for x, y in s["points"] if _num(y) is not None]
    if not pts:
        return f'<p class="muted">{_e(title)}: no data.</p>'
    xs = [p[0] for p in pts]
    lo, hi, step = _domain([float(p[1]) for p in pts], include_zero=include_zero)
    x_lo, x_hi = min(xs), max(xs)
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    width, height = 760, 300
    left, right, top, bottom = 64, 20, 30, 58
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(v: float) -> float:
        return left + (v - x_lo) / (x_hi - x_lo) * plot_w

    def py(v: float) -> float:
        return top + (hi - v) / (hi - lo) * plot_h

    out = [
        *_svg_open(width, height, title),
        f'<text x="{left}" y="16" font-weight="600">{_e(title)}</text>',
        f'<text x="12" y="{top + plot_h / 2:.1f}" transform="rotate(-90 12 '
        f'{top + plot_h / 2:.1f})" text-anchor="middle">{_e(y_label)}</text>',
    ]
    for tick in _ticks(lo, hi, step):
        ty = py(tick)
        out.append(f'<line class="grid" x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" '
                   f'y2="{ty:.1f}" stroke="#e1e4e8"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">'
                   f"{_e(_tick_label(tick, step))}</text>")
    years = range(int(math.ceil(x_lo)), int(math.floor(x_hi)) + 1)
    every = max(1, math.ceil(len(years) / 16))
    for year in years:
        if (year - years[0]) % every:
            continue
        tx = px(year)
        out.append(f'<line class="axis" x1="{tx:.1f}" y1="{top + plot_h}" x2="{tx:.1f}" '
                   f'y2="{top + plot_h + 4}" stroke="#57606a"/>')
        out.append(f'<text x="{tx:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                   f"{year}</text>")
    out.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
               f'y2="{top + plot_h}" stroke="#57606a"/>')
    if lo < 0 < hi:
        out.append(f'<line class="axis" x1="{left}" y1="{py(0):.1f}" x2="{left + plot_w}" '
                   f'y2="{py(0):.1f}" stroke="#57606a" stroke-dasharray="3,3"/>')
    lx, ly = left, height - 12
    for i, s in enumerate(series):
        color = s.get("color") or _PALETTE[i % len(_PALETTE)]
        dash = ' stroke-dasharray="5,4"' if s.get("dashed") else ""
        points = [(float(x), float(y)) for x, y in s["points"] if _num(y) is not None]
        if not points:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        out.append(f"<g><title>{_e(s['label'])}</title>")
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} '
                   f'points="{path}"/>')
        if not s.get("dashed"):
            for x, y in points:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{color}">'
                           f"<title>{_e(s['label'])} {int(x)}: {_e(_fmt(y, 3))}</title>"
                           "</circle>")
        out.append("</g>")
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 22}" y="{ly}">{_e(s["label"])}</text>')
        lx += 34 + 6.2 * len(str(s["label"]))
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------- pages


def _plan_links(data: dict[str, Any], root: str) -> str:
    links = []
    for p in data.get("plans") or []:
        if not p.get("has_data"):
            continue
        label = f"{p['plan_id']} ({p.get('start_year')}–{p.get('end_year')})"
        if p["plan_id"] == data.get("plan"):
            links.append(f"<strong>{_e(label)}</strong>")
        else:
            href = f"{root or './'}?plan={_link_part(p['plan_id'])}"
            links.append(f'<a href="{_e(href)}">{_e(label)}</a>')
    return f'<p class="plans">Plans: {"".join(links)}</p>' if links else ""


def _assessment_table(rows: list[dict[str, Any]], root: str) -> str:
    head = (
        "<tr><th>Province</th><th class=\"n\">Year</th><th class=\"n\">Target</th>"
        "<th class=\"n\">Cumulative decline</th><th class=\"n\">Expected decline</th>"
        "<th>Status</th><th class=\"n\">Target score</th><th class=\"n\">Measures score</th>"
        "<th class=\"n\">Total score</th><th>Grade</th><th>Veto / note</th></tr>"
    )
    body = []
    for r in rows:
        href = f"{root}province/{_link_part(r['province_code'])}"
        name = f"{r.get('name_en') or ''} {r.get('name_zh') or ''}".strip()
        status, grade = r.get("status"), r.get("grade")
        provisional = ""
        if r.get("grade_is_provisional") and grade != "provisional":
            provisional = " (provisional)"
        target_score = _fmt(r.get("target_score"))
        if _num(r.get("target_score_max")) is not None:
            target_score += f" / {_fmt(r.get('target_score_max'), 0)}"
        measures = _fmt(r.get("measures_score"))
        if _num(r.get("measures_score_max")) is not None:
            measures += f" / {_fmt(r.get('measures_score_max'), 0)}"
        veto = '<span class="badge bad">veto</span> ' if r.get("veto") else ""
        end = " (end)" if r.get("end_of_plan") else ""
        body.append(
            f'<tr><td><a href="{_e(href)}">{_e(name)}</a> '
            f'<span class="muted">{_e(r.get("province_code"))}</span></td>'
            f'<td class="n">{_e(r.get("assessment_year"))}{_e(end)}</td>'
            f'<td class="n">{_e(_pct(r.get("target_pct")))}</td>'
            f'<td class="n">{_e(_pct(r.get("cumulative_decline_pct")))}</td>'
            f'<td class="n">{_e(_pct(r.get("expected_decline_pct")))}</td>'
            f'<td><span class="badge {_status_class(status)}">{_e(status)}</span></td>'
            f'<td class="n">{_e(target_score)}</td><td class="n">{_e(measures)}</td>'
            f'<td class="n">{_e(_fmt(r.get("total_score")))}</td>'
            f'<td><span class="badge {_grade_class(grade)}">{_e(grade)}</span>'
            f"{_e(provisional)}</td>"
            f'<td class="note">{veto}{_e(r.get("note"))}</td></tr>'
        )
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>"


def _data_docs_href(root: str, run_id: Any) -> str:
    return f"{root}data-docs/{_link_part(run_id)}/index.html"


def _runs_table(runs: list[dict[str, Any]], root: str) -> str:
    if not runs:
        return '<p class="muted">The run log (carbon.meta_pipeline_run) is empty.</p>'
    head = ("<tr><th>Run id</th><th>Finished</th><th>Vintage</th><th>Method</th>"
            "<th>Factor version</th><th>Status</th><th class=\"n\">Ingest warnings</th>"
            "<th>Code</th><th>Data Docs</th></tr>")
    body = []
    for run in runs:
        # Same window: the UI's iframe sandbox has no allow-popups, a new tab would not open.
        docs = '<span class="muted">not on this server</span>'
        if run.get("data_docs"):
            docs = f'<a href="{_e(_data_docs_href(root, run["run_id"]))}">Data Docs</a>'
        body.append(
            f'<tr><td><code>{_e(run.get("run_id"))}</code></td>'
            f'<td>{_e(_when(run.get("finished_at")))}</td><td>{_e(run.get("vintage"))}</td>'
            f'<td>{_e(run.get("method"))}</td><td>{_e(run.get("factor_version"))}</td>'
            f'<td>{_e(run.get("status"))}</td><td class="n">{_e(run.get("warnings"))}</td>'
            f'<td class="muted">{_e(run.get("code_version"))}</td><td>{docs}</td></tr>'
        )
    return f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>"


def _validation_section(validation: dict[str, Any] | None, root: str) -> str:
    if not validation:
        return ('<p class="muted">No validation results recorded '
                "(carbon.meta_validation_result).</p>")
    counts = validation["counts"]
    docs = ""
    if validation.get("data_docs"):
        docs = (f' <a href="{_e(_data_docs_href(root, validation["run_id"]))}">'
                "Open the GX Data Docs of this run</a>.")
    summary = (
        f"<p>Run <code>{_e(validation['run_id'])}</code>: {_e(counts['expectations'])} "
        f"expectations, {_e(counts['passed'])} passed, "
        f'<span class="badge {"bad" if counts["errors"] else "neutral"}">'
        f"{_e(counts['errors'])} errors</span> "
        f'<span class="badge {"warn" if counts["warnings"] else "neutral"}">'
        f"{_e(counts['warnings'])} warnings</span>.{docs}</p>"
    )
    issues = validation.get("issues") or []
    if not issues:
        return summary + "<p>Every expectation held.</p>"
    rows = []
    for issue in issues[:MAX_ISSUES_SHOWN]:
        severity = issue.get("severity")
        examples = str(issue.get("examples") or "")
        if len(examples) > 400:
            examples = examples[:400] + " …"
        rows.append(
            f'<tr><td><span class="badge {"bad" if severity == "error" else "warn"}">'
            f"{_e(severity)}</span></td><td>{_e(issue.get('source'))}</td>"
            f"<td>{_e(issue.get('expectation'))}</td><td>{_e(issue.get('column'))}</td>"
            f'<td class="n">{_e(issue.get("unexpected_count"))}</td>'
            f'<td class="note">{_e(examples)}</td></tr>'
        )
    more = ""
    if len(issues) > MAX_ISSUES_SHOWN:
        more = (f'<p class="muted">{len(issues) - MAX_ISSUES_SHOWN} more; see the Data Docs or '
                "carbon.meta_validation_result.</p>")
    head = ("<tr><th>Severity</th><th>Source</th><th>Expectation</th><th>Column</th>"
            "<th class=\"n\">Rows</th><th>Examples</th></tr>")
    return (summary + f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody></table>" + more)


def render_report_html(data: dict[str, Any], root: str = "") -> str:
    """The report page. `root` is the relative path from the page to the app root ("" when the
    page is the app root)."""
    title = "Carbon-intensity assessment"
    if data.get("state") != "ok":
        body = f"<h1>{_e(title)}</h1>" + _empty_state(data)
        return _page(title, body, root)
    parts = [f"<h1>{_e(title)}</h1>"]
    info = data.get("plan_info")
    if not info:
        parts.append('<div class="empty"><p>The warehouse has no assessed plan yet.</p></div>')
    else:
        base = f"base year {info.get('base_year')}" if info.get("base_year") else ""
        national = (f", national target −{_fmt(info.get('national_target_pct'), 1)} %"
                    if _num(info.get("national_target_pct")) is not None else "")
        parts.append(
            f"<p><strong>{_e(info['plan_id'])} Five-Year Plan</strong> "
            f"{_e(info.get('start_year'))}–{_e(info.get('end_year'))} ({_e(base)}{_e(national)})"
            f"; latest year with data {_e(info.get('latest_year'))}.</p>"
        )
        parts.append(_plan_links(data, root))
        counts = data.get("status_counts") or {}
        if counts:
            badges = " ".join(
                f'<span class="badge {_status_class(s)}">{_e(s)}: {_e(n)}</span>'
                for s, n in sorted(counts.items())
            )
            parts.append(f"<p>{badges}</p>")
        rows = data.get("rows") or []
        if rows:
            parts.append(svg_bar_chart(rows))
        else:
            parts.append('<div class="empty"><p>No province has an assessment for this plan.'
                         "</p></div>")
        parts.append(f"<h2>Provinces ({len(rows)})</h2>")
        parts.append(
            '<p class="muted">Per province the latest assessed year of the plan. Declines and '
            "targets are reductions of CO2 per unit of GDP against the plan's base year. A veto "
            "(annual or cumulative progress target missed) makes the grade fail.</p>"
        )
        parts.append(_assessment_table(rows, root))
    parts.append("<h2>Latest runs</h2>")
    parts.append(_runs_table(data.get("runs") or [], root))
    parts.append("<h2>Data quality of the latest run</h2>")
    parts.append(_validation_section(data.get("validation"), root))
    parts.append(_footer(data))
    query = f"?plan={_link_part(data['plan'])}" if data.get("plan") else ""
    return _page(title, "\n".join(parts), root, query)


def render_province_html(data: dict[str, Any], root: str = "../") -> str:
    """One province's page (served at `<root>province/<code>`)."""
    province = data.get("province")
    if data.get("state") != "ok" or not province:
        title = "Province"
        return _page(title, f"<h1>{_e(title)} {_e(data.get('query'))}</h1>" + _empty_state(data),
                     root)
    name = f"{province.get('name_en') or ''} {province.get('name_zh') or ''}".strip()
    title = f"{name} — carbon intensity"
    parts = [f"<h1>{_e(name)} <span class=\"muted\">{_e(province['province_code'])}</span></h1>"]
    extra = [f"region {province['region']}" if province.get("region") else "",
             f"power grid {province['grid_region']}" if province.get("grid_region") else ""]
    extra = [x for x in extra if x]
    if extra:
        parts.append(f'<p class="muted">{_e(", ".join(extra))}</p>')
    plans = data.get("plans") or []
    intensity, declines = [], []
    for i, plan in enumerate(plans):
        color = _PALETTE[i % len(_PALETTE)]
        years = plan["years"]
        intensity.append({"label": f"{plan['plan_id']} (prices of "
                                   f"{(plan.get('plan_info') or {}).get('base_year', 'base')})",
                          "color": color,
                          "points": [(r["year"], r.get("intensity_t_per_10k_yuan"))
                                     for r in years]})
        declines.append({"label": f"{plan['plan_id']} decline", "color": color,
                         "points": [(r["year"], r.get("cumulative_decline_pct")) for r in years]})
        if any(_num(r.get("expected_decline_pct")) is not None for r in years):
            declines.append({"label": f"{plan['plan_id']} expected", "color": color,
                             "dashed": True,
                             "points": [(r["year"], r.get("expected_decline_pct"))
                                        for r in years]})
    if not plans:
        parts.append('<div class="empty"><p>No intensity or assessment rows for this province.'
                     "</p></div>")
    else:
        parts.append(svg_line_chart(
            intensity, "Carbon intensity (constant prices of each plan's base year)",
            "t CO2 per 10,000 yuan", include_zero=True))
        parts.append(svg_line_chart(
            declines, "Cumulative decline since the plan's base year vs expected (dashed)",
            "%", include_zero=True))
    for plan in plans:
        info = plan.get("plan_info") or {}
        parts.append(f"<h2>{_e(plan['plan_id'])} Five-Year Plan "
                     f"{_e(info.get('start_year', ''))}–{_e(info.get('end_year', ''))}</h2>")
        head = ("<tr><th class=\"n\">Year</th><th class=\"n\">CO2 (Mt)</th>"
                "<th class=\"n\">GDP (100m yuan, const.)</th><th class=\"n\">Intensity</th>"
                "<th class=\"n\">Annual decline</th><th class=\"n\">Cumulative decline</th>"
                "<th class=\"n\">Expected</th><th class=\"n\">Target</th><th>Status</th>"
                "<th>Grade</th><th class=\"n\">Score</th><th>Note</th></tr>")
        rows = []
        for r in plan["years"]:
            a = r.get("assessment") or {}
            status, grade = a.get("status"), a.get("grade")
            veto = '<span class="badge bad">veto</span> ' if a.get("veto") else ""
            rows.append(
                f'<tr><td class="n">{_e(r.get("year"))}</td>'
                f'<td class="n">{_e(_fmt(r.get("co2_mt"), 2))}</td>'
                f'<td class="n">{_e(_fmt(r.get("gdp_const_100m_yuan"), 1))}</td>'
                f'<td class="n">{_e(_fmt(r.get("intensity_t_per_10k_yuan"), 3))}</td>'
                f'<td class="n">{_e(_pct(r.get("annual_decline_pct")))}</td>'
                f'<td class="n">{_e(_pct(r.get("cumulative_decline_pct")))}</td>'
                f'<td class="n">{_e(_pct(r.get("expected_decline_pct")))}</td>'
                f'<td class="n">{_e(_pct(r.get("target_pct")))}</td>'
                + (f'<td><span class="badge {_status_class(status)}">{_e(status)}</span></td>'
                   if status else "<td></td>")
                + (f'<td><span class="badge {_grade_class(grade)}">{_e(grade)}</span></td>'
                   if grade else "<td></td>")
                + f'<td class="n">{_e(_fmt(a.get("total_score")))}</td>'
                f'<td class="note">{veto}{_e(a.get("note"))}</td></tr>'
            )
        back = ""
        if any(r.get("assessment") for r in plan["years"]):
            href = f"{root or './'}?plan={_link_part(plan['plan_id'])}"
            back = f'<p><a href="{_e(href)}">All provinces, {_e(plan["plan_id"])} plan</a></p>'
        parts.append(f"<table>\n<thead>{head}</thead>\n<tbody>\n" + "\n".join(rows)
                     + "\n</tbody></table>" + back)
    parts.append(_footer(data))
    return _page(title, "\n".join(parts), root)


def render_message_html(title: str, message: str, root: str = "") -> str:
    """A small page for 404s and similar."""
    body = (f"<h1>{_e(title)}</h1><div class=\"empty\"><p>{_e(message)}</p>"
            f'<p><a href="{_e(root or "./")}">Back to the assessment report</a></p></div>')
    return _page(title, body, root)
