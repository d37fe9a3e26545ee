"""The HTML pages of the report: data from `data` in, a complete page out.

Plain HTML, inline CSS and server-side SVG charts, no JavaScript; the markup lives in the
Jinja2 templates of `templates/` (autoescaped), this module only chooses what to show. Links are
relative, so the pages work under any URL prefix or proxy: `root` is the path from the page to
the app root ("" for the report page itself, "../" for a province page).
"""

from __future__ import annotations

from typing import Any

from carbon_assess.report.charts import PALETTE, svg_bar_chart, svg_line_chart
from carbon_assess.report.formatting import num
from carbon_assess.report.templating import render
from carbon_assess.settings import DAG_ID

MAX_ISSUES_SHOWN = 50


def render_report_html(data: dict[str, Any], root: str = "") -> str:
    """The report page of `load_report`'s data."""
    ok = data.get("state") == "ok"
    rows = (data.get("rows") or []) if ok else []
    return str(render(
        "report.html", data=data, root=root, dag_id=DAG_ID, max_issues=MAX_ISSUES_SHOWN,
        plan_links=[p for p in data.get("plans") or [] if p.get("has_data")],
        bar_chart=svg_bar_chart(rows) if rows and data.get("plan_info") else "",
    ))


def render_province_html(data: dict[str, Any], root: str = "../") -> str:
    """One province's page (served at `<root>province/<code>`), of `load_province`'s data."""
    province = data.get("province")
    plans = data.get("plans") or []
    if data.get("state") != "ok" or not province:
        return str(render("province.html", data=data, root=root, dag_id=DAG_ID, plans=[],
                          charts=[], extra_text=""))
    extra = [f"region {province['region']}" if province.get("region") else "",
             f"power grid {province['grid_region']}" if province.get("grid_region") else ""]
    return str(render(
        "province.html", data=data, root=root, dag_id=DAG_ID, plans=plans,
        charts=_province_charts(plans) if plans else [],
        extra_text=", ".join(x for x in extra if x),
    ))


def _province_charts(plans: list[dict[str, Any]]) -> list[Any]:
    """Intensity per plan, and cumulative decline vs expected (dashed), one colour per plan."""
    intensity, declines = [], []
    for i, plan in enumerate(plans):
        color = PALETTE[i % len(PALETTE)]
        years = plan["years"]
        base_year = (plan.get("plan_info") or {}).get("base_year", "base")
        intensity.append({"label": f"{plan['plan_id']} (prices of {base_year})", "color": color,
                          "points": [(r["year"], r.get("intensity_t_per_10k_yuan"))
                                     for r in years]})
        declines.append({"label": f"{plan['plan_id']} decline", "color": color,
                         "points": [(r["year"], r.get("cumulative_decline_pct")) for r in years]})
        if any(num(r.get("expected_decline_pct")) is not None for r in years):
            declines.append({"label": f"{plan['plan_id']} expected", "color": color,
                             "dashed": True,
                             "points": [(r["year"], r.get("expected_decline_pct"))
                                        for r in years]})
    return [
        svg_line_chart(intensity, "Carbon intensity (constant prices of each plan's base year)",
                       "t CO2 per 10,000 yuan", include_zero=True),
        svg_line_chart(declines,
                       "Cumulative decline since the plan's base year vs expected (dashed)",
                       "%", include_zero=True),
    ]


def render_validation_html(data: dict[str, Any], root: str = "../") -> str:
    """One run's data-quality page (served at `<root>validation/<run_id>`), of
    `load_validation`'s data: self-contained (inline CSS, no script, no external URL)."""
    return str(render("validation.html", data=data, root=root, dag_id=DAG_ID))


def render_quarantine_html(data: dict[str, Any], root: str = "../") -> str:
    """A rejected run's quarantine report (served at `<root>quarantine/<run_id>`), of
    `load_quarantine_report`'s data: each finding with its cells in a table; report.md as
    escaped text only for a report without its report.json. No server path is shown."""
    return str(render("quarantine.html", data=data, root=root, dag_id=DAG_ID))


def render_message_html(title: str, message: str, root: str = "") -> str:
    """A small page for 404s and similar."""
    return str(render("message.html", title=title, message=message, root=root))
