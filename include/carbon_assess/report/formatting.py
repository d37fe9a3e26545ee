"""How values look: numbers, percentages and times for the pages, and JSON-ready data.

Plain functions, registered as Jinja filters in `templating`; nothing here builds markup.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from carbon_assess.quarantine import unit_year as label

_GOOD = {"met", "on schedule"}
_BAD = {"missed", "behind"}


def num(value: Any) -> float | None:
    """A finite float, or None for anything else (None, bool, text, NaN, inf)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt(value: Any, digits: int = 1, suffix: str = "") -> str:
    """A number with thousands separators and a real minus sign; "–" when there is none."""
    number = num(value)
    if number is None:
        return "–"
    text = f"{number:,.{digits}f}"
    if text.startswith("-"):
        text = "−" + text[1:]
    return text + suffix


def pct(value: Any) -> str:
    return fmt(value, 2, " %")


def when(value: Any) -> str:
    """A timestamp in UTC to the minute."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "–" if value is None else str(value)


def link_part(value: Any) -> str:
    """A path segment or query value of a relative link, percent-encoded (the template then
    escapes it for the attribute)."""
    return quote(str(value), safe="")


# An absolute path in a message (`/srv/carbon/quarantine/<run>/report.md`, `/tmp/x/landing/a.csv`):
# starts at a slash that follows no word, dot, colon or slash (so URLs stay as they are).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~\\-])/(?:[^\s/'\"()<>,;|]+/)+[^\s/'\"()<>,;|]*")
# Folders of the assessment home whose inner paths mean something to a user.
_HOME_FOLDERS = ("quarantine", "runs")


def _short_path(match: re.Match[str]) -> str:
    parts = match.group(0).split("/")
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] in _HOME_FOLDERS:
            return "/".join(parts[i:])
    return parts[-1] or parts[-2]


def no_server_paths(value: Any) -> str:
    """A message without the server's absolute paths: a path inside the assessment home as
    `quarantine/<run_id>/report.md` or `runs/...`, any other by its last part (a landing file's
    name)."""
    return _ABSOLUTE_PATH.sub(_short_path, "" if value is None else str(value))


def unit_year(offender: dict[str, Any]) -> str:
    """Whose figure an offending cell is (`青海省 (630000) 2015`), always, even where the
    finding's detail names it too; '' for an offender without a unit."""
    return label({**offender, "detail": None})


def status_class(status: Any) -> str:
    """The badge colour of an assessment status."""
    return "good" if status in _GOOD else "bad" if status in _BAD else "neutral"


def grade_class(grade: Any) -> str:
    """The badge colour of a grade."""
    return {"excellent": "good", "good": "good", "pass": "warn", "fail": "bad"}.get(
        str(grade), "neutral"
    )


def verdict_class(status: Any, grade: Any) -> str:
    """The colour of a province's verdict: by the grade, the status only where the grade does
    not decide (provisional). A met but vetoed province (grade fail) is bad, never good."""
    if grade == "provisional":
        return status_class(status)
    return grade_class(grade)


def quality_verdict(counts: dict[str, Any] | None) -> str:
    """The verdict of a run's validation counts: `passed`, `passed with warnings` (warnings
    never block publishing, so such a run never reads as failed) or `blocked by errors`;
    `not validated` without any expectation."""
    if not counts or not counts.get("expectations"):
        return "not validated"
    if counts.get("errors"):
        return "blocked by errors"
    return "passed with warnings" if counts.get("warnings") else "passed"


_VERDICT_CLASS = {"passed": "good", "passed with warnings": "warn", "blocked by errors": "bad"}


def verdict_badge(verdict: Any) -> str:
    """The badge colour of a data-quality verdict (`quality_verdict`)."""
    return _VERDICT_CLASS.get(str(verdict), "neutral")


_RUN_STATUS_CLASS = {"published": "good", "rolled back": "warn", "rejected": "bad",
                     "failed": "bad", "skipped": "neutral"}


def run_status_class(status: Any) -> str:
    """The badge colour of a run-log status: published green, rolled back amber, rejected and
    failed red, skipped (and anything else) grey."""
    return _RUN_STATUS_CLASS.get(str(status), "neutral")


def severity_class(severity: Any) -> str:
    """The badge colour of an expectation's severity: error red, warning amber."""
    return {"error": "bad", "warning": "warn"}.get(str(severity), "neutral")


def to_jsonable(value: Any) -> Any:
    """Dates as ISO 8601, non-finite floats as null, tuples as lists; for json.dumps. Keys
    starting with `_` are internal and left out."""
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
