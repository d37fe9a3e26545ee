"""The Jinja2 environment of the report's pages and charts (templates in `templates/`).

Autoescaping is on for every template, so each value is escaped for HTML text and attributes;
`None` renders as an empty string. Chart markup is handed to the pages as `Markup`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from carbon_assess.report import formatting

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _coord(value: float) -> str:
    """An SVG coordinate to one decimal."""
    return f"{value:.1f}"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html", "svg"), default=True),
    undefined=StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
ENV.filters.update(
    num=formatting.num,
    fmt=formatting.fmt,
    pct=formatting.pct,
    when=formatting.when,
    link_part=formatting.link_part,
    status_class=formatting.status_class,
    grade_class=formatting.grade_class,
    verdict_class=formatting.verdict_class,
    quality_verdict=formatting.quality_verdict,
    verdict_badge=formatting.verdict_badge,
    severity_class=formatting.severity_class,
    run_status_class=formatting.run_status_class,
    coord=_coord,
    no_server_paths=formatting.no_server_paths,
    unit_year=formatting.unit_year,
)


def render(name: str, **context: Any) -> Markup:
    """The template `name` rendered with `context`, as markup safe to embed in another page."""
    return Markup(ENV.get_template(name).render(**context))
