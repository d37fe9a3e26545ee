"""The assessment report for operators: read the published warehouse, render HTML and SVG.

Pure functions, no web framework and no Airflow here (the Airflow UI plugin in `plugins/` only
wires them to routes). By job:

- `data`: read-only warehouse access, the one reader of the UI and the CLI: `load_report`,
  `load_province`, `load_validation` (one run's data quality), `load_quarantine_report` (a
  rejected run's report.md), `query_assessment` (`carbon-assess show`), `ReportNotFound`;
- `pages` (+ `templates/`, Jinja2, autoescaped): `render_report_html`, `render_province_html`,
  `render_validation_html`, `render_quarantine_html`, `render_message_html`;
- `charts`: `svg_bar_chart`, `svg_line_chart` (server-side SVG, no JavaScript);
- `formatting`: number and date display, `to_jsonable` for the JSON API;
- `data_docs`: `data_docs_file` and `quarantine_report_file`, the path guards for a run's GX
  Data Docs and a rejected run's quarantine report;
- `export`: `export_views`, every analyst view of schema carbon to Parquet and CSV files.

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
    load_quarantine_report,
    load_report,
    load_validation,
    query_assessment,
)
from carbon_assess.report.data import _reader as _reader  # the read-only session (tests use it)
from carbon_assess.report.data_docs import (
    RUN_ID_PATTERN,
    data_docs_file,
    quarantine_report_file,
)
from carbon_assess.report.export import export_views
from carbon_assess.report.formatting import to_jsonable
from carbon_assess.report.pages import (
    MAX_ISSUES_SHOWN,
    render_message_html,
    render_province_html,
    render_quarantine_html,
    render_report_html,
    render_validation_html,
)

__all__ = [
    "ASSESSMENT_QUERY", "DEFAULT_RUN_LIMIT", "LOCK_WAIT_SECONDS", "MAX_ISSUES_SHOWN",
    "RUN_ID_PATTERN", "ReportNotFound", "data_docs_file", "export_views", "load_province",
    "load_quarantine_report", "load_report", "load_validation", "quarantine_report_file",
    "query_assessment", "render_message_html", "render_province_html", "render_quarantine_html",
    "render_report_html", "render_validation_html", "svg_bar_chart", "svg_line_chart",
    "to_jsonable",
]
