"""Release history: what changed between two published releases (`carbon-assess diff`).

Reads schema `carbon_history` (kept by every publish, see `carbon_assess.publish.catalog`):
`dim_release` lists the releases, `carbon_history.fct_target_assessment` their verdicts. The
current release is the one in schema `carbon`: the latest `published` or `rolled back` row of
`carbon.meta_pipeline_run` (`data.current_release`; a rollback's row names the run it restored;
rejected, failed and skipped runs are on the log too but never change the release); by default
the release published before it is compared with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from carbon_assess.errors import WarehouseError
from carbon_assess.publish import parse_warehouse_url
from carbon_assess.publish.catalog import HISTORY_SCHEMA
from carbon_assess.report.data import _Empty, _Reader, _reader, current_release

DEFAULT_TOLERANCE_PP = 0.01  # a cumulative decline moving by less is not a change

DIFF_COLUMNS = [
    "plan", "year", "province", "name", "status_from", "status_to", "grade_from", "grade_to",
    "decline_from_pct", "decline_to_pct", "change_pp",
]

_RELEASES_SQL = f"""
    select release_id, vintage, method, factor_version, published_at, code_version
    from {HISTORY_SCHEMA}.dim_release
    order by published_at, release_id
"""
_ASSESSMENT_SQL = f"""
    select plan_id, assessment_year, province_code, status, grade, cumulative_decline_pct
    from {HISTORY_SCHEMA}.fct_target_assessment
    where release_id = ?
"""
_NAMES_SQL = f"""
    select province_code, name_en from {HISTORY_SCHEMA}.dim_province where release_id = ?
"""


def _history_tables(reader: _Reader) -> set[str]:
    found = reader.rows(
        "select table_name from information_schema.tables where table_schema = ?",
        [HISTORY_SCHEMA],
    )
    return {r["table_name"] for r in found}


def _releases(reader: _Reader) -> list[dict[str, Any]]:
    if not {"dim_release", "fct_target_assessment"} <= _history_tables(reader):
        raise WarehouseError(
            f"warehouse {reader.where} has no release history ({HISTORY_SCHEMA}): publish a run "
            "with this version first"
        )
    return reader.rows(_RELEASES_SQL)


def _current(reader: _Reader, known: list[str]) -> str | None:
    """The release in schema carbon (the latest publish or rollback of the run log), else the
    latest one published."""
    row = current_release(reader)
    if row is not None:
        release_id = row.get("restored_run_id") or row["run_id"]
        if release_id in known:
            return release_id
    return known[-1] if known else None


def _pick(wanted: str | None, known: list[str], where: str) -> str | None:
    if wanted is None or wanted in known:
        return wanted
    shown = ", ".join(known) if known else "none"
    raise WarehouseError(f"release {wanted} is not in {where} (releases: {shown})")


def list_releases(warehouse_url: str) -> list[dict[str, Any]]:
    """The releases of `carbon_history.dim_release`, oldest first, `current` marking the one
    in schema carbon."""
    with _open(warehouse_url) as reader:
        releases = _releases(reader)
        current = _current(reader, [r["release_id"] for r in releases])
    return [r | {"current": r["release_id"] == current} for r in releases]


@contextmanager
def _open(warehouse_url: str) -> Iterator[_Reader]:
    try:
        with _reader(warehouse_url) as reader:
            yield reader
    except _Empty:
        raise WarehouseError(f"warehouse {parse_warehouse_url(warehouse_url).target} does not "
                             "exist; run `carbon-assess run` first") from None


def _changed(a: dict[str, Any] | None, b: dict[str, Any] | None, tolerance: float) -> bool:
    if a is None or b is None:
        return True
    if a["status"] != b["status"] or a["grade"] != b["grade"]:
        return True
    x, y = a["cumulative_decline_pct"], b["cumulative_decline_pct"]
    if x is None or y is None:
        return (x is None) != (y is None)
    return abs(x - y) > tolerance


def diff_releases(
    warehouse_url: str,
    from_release: str | None = None,
    to_release: str | None = None,
    tolerance_pp: float = DEFAULT_TOLERANCE_PP,
) -> dict[str, Any]:
    """Per plan, assessment year and province, the rows of fct_target_assessment whose status,
    grade or cumulative decline (by more than `tolerance_pp` percentage points) differ between
    two releases; default: the release before the current one → the current one.

    Returns {"from", "to", "tolerance_pp", "columns": DIFF_COLUMNS, "rows": [tuples]}.
    WarehouseError (one line, listing the releases) for an unknown release id."""
    with _open(warehouse_url) as reader:
        releases = _releases(reader)
        known = [r["release_id"] for r in releases]
        where = f"{HISTORY_SCHEMA}.dim_release of {reader.where}"
        to_id = _pick(to_release, known, where) or _current(reader, known)
        from_id = _pick(from_release, known, where)
        if from_id is None:
            before = known[: known.index(to_id)] if to_id in known else []
            if not before:
                raise WarehouseError(
                    f"no release before {to_id} to compare with in {where} (releases: "
                    f"{', '.join(known) or 'none'}); give --from"
                )
            from_id = before[-1]
        old = {(r["plan_id"], r["assessment_year"], r["province_code"]): r
               for r in reader.rows(_ASSESSMENT_SQL, [from_id])}
        new = {(r["plan_id"], r["assessment_year"], r["province_code"]): r
               for r in reader.rows(_ASSESSMENT_SQL, [to_id])}
        names = {r["province_code"]: r["name_en"] for r in reader.rows(_NAMES_SQL, [to_id])}
    rows = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if not _changed(a, b, tolerance_pp):
            continue
        x = a["cumulative_decline_pct"] if a else None
        y = b["cumulative_decline_pct"] if b else None
        rows.append((
            key[0], key[1], key[2], names.get(key[2]),
            a["status"] if a else None, b["status"] if b else None,
            a["grade"] if a else None, b["grade"] if b else None,
            None if x is None else round(x, 2), None if y is None else round(y, 2),
            None if x is None or y is None else round(y - x, 2),
        ))
    return {"from": from_id, "to": to_id, "tolerance_pp": tolerance_pp,
            "columns": list(DIFF_COLUMNS), "rows": rows}
