"""The assessment report for operators: read the published warehouse, render HTML and SVG.

Pure functions, no web framework and no Airflow here (the Airflow UI plugin in `plugins/` only
wires them to routes). By job:

- `data`: read-only warehouse access, the one reader of the UI and the CLI: `load_report`,
  `load_province`, `load_validation` (one run's data quality), `query_assessment`
  (`carbon-assess show`), `ReportNotFound`;
- `pages` (+ `templates/`, Jinja2, autoescaped): `render_report_html`, `render_province_html`,
  `render_validation_html`, `render_message_html`;
- `charts`: `svg_bar_chart`, `svg_line_chart` (server-side SVG, no JavaScript);
- `formatting`: number and date display, `to_jsonable` for the JSON API;
- `data_docs`: `data_docs_file`, the path guard for a run's GX Data Docs.

Nothing heavy is imported at module level (DuckDB and psycopg load on first query).
"""

from __future__ import annotations

from carbon_assess.report.charts import svg_bar_chart, svg_line_chart
from carbon_assess.report.data import (
    ASSESSMENT_QUERY,
    DEFAULT_RUN_LIMIT,
    LOCK_WAIT_SECONDS,
    ReportNotFound,
    load_province,
    load_report,
    load_validation,
    query_assessment,
)
from carbon_assess.report.data import _reader as _reader  # the read-only session (tests use it)
from carbon_assess.report.data_docs import data_docs_file
from carbon_assess.report.formatting import to_jsonable
from carbon_assess.report.pages import (
    MAX_ISSUES_SHOWN,
    render_message_html,
    render_province_html,
    render_report_html,
    render_validation_html,
)

__all__ = [
    "ASSESSMENT_QUERY", "DEFAULT_RUN_LIMIT", "LOCK_WAIT_SECONDS", "MAX_ISSUES_SHOWN",
    "ReportNotFound", "data_docs_file", "load_province", "load_report", "load_validation",
    "query_assessment", "render_message_html", "render_province_html", "render_report_html",
    "render_validation_html", "svg_bar_chart", "svg_line_chart", "to_jsonable",
]
