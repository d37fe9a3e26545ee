"""Run mutations through the CLI in-process and classify each outcome against a baseline run.

One baseline run of the unmutated files, then each mutation in a fresh temporary landing folder,
work directory and DuckDB warehouse, in the same Python process
(`carbon_assess.cli.main(["run", "--landing", ..., "--warehouse", "duckdb:///..."])`).

Outcomes:
- `rejected_naming_cell`: exit 2, and the one-line message names the mutated file and, for a
  cell, its row and column (a row-level mutation: the row; a column or header: the column; a
  province-level one: the province or one of its rows).
- `rejected_elsewhere`: exit 2, but the message does not point at the mutation (misleading).
- `flagged_provisional`: exit 0, and every verdict that differs from the baseline is marked
  provisional (`verdict_is_provisional`) with the mutated cell named in `provisional_cells`.
  Until those columns exist, a changed verdict is never counted as flagged.
- `no_effect`: exit 0, no status, grade, target_achieved or decline (beyond 0.05 pp) changed.
- `figure_changed`: exit 0, no verdict (status, grade, target_achieved) changed, but a decline
  moved by more than 0.05 pp and is not flagged: a plausible mistake no check can tell from a
  real revision (a transposed digit on a minor fuel). Counted and reported, not a failure: the
  promise is about verdicts.
- `silent_change`: exit 0 and a verdict changed without being flagged.
- `crash`: any other exit code, an `unexpected` error, or an exception out of `main`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .generate import SOURCE, Mutation, provinces, write_landing

OUTCOMES = ("rejected_naming_cell", "flagged_provisional", "no_effect", "figure_changed",
            "rejected_elsewhere", "silent_change", "crash")
FAILURES = ("silent_change", "rejected_elsewhere", "crash")
DECLINE_TOLERANCE_PP = 0.05
VERDICT_KEY = ("plan_id", "region_code", "assessment_year")
VERDICT_FIELDS = ("status", "grade", "target_achieved")
FLAG_COLUMNS = ("verdict_is_provisional", "provisional_cells")


@dataclass
class Result:
    mutation: Mutation
    outcome: str
    exit_code: int | None
    message: str  # the error line (exit != 0), else the changed verdicts
    seconds: float
    changed: list[str] = field(default_factory=list)
    warehouse: Path | None = None  # kept only by run(..., keep=True)
    warned: bool = False  # a `warning:` line of the run points at the mutation


    def as_dict(self) -> dict[str, Any]:
        return {"mutation": self.mutation.as_dict(), "outcome": self.outcome,
                "exit_code": self.exit_code, "message": self.message,
                "seconds": round(self.seconds, 2), "warned": self.warned,
                "changed": self.changed}


def _error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    return lines[-1] if lines else stderr.strip().splitlines()[-1] if stderr.strip() else ""


def _rows_named(message: str) -> set[int]:
    """Every row number the message names ('row 12', 'rows 12, 14 and 20', 'rows 12-14')."""
    out: set[int] = set()
    for match in re.finditer(r"\brows?\s+(\d+(?:\s*(?:,|and|-|–)\s*\d+)*)", message):
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        out.update(numbers)
        for a, b in re.findall(r"(\d+)\s*[-–]\s*(\d+)", match.group(1)):
            if int(b) - int(a) < 10_000:
                out.update(range(int(a), int(b) + 1))
    return out


def _province_named(m: Mutation, text: str) -> bool:
    names = provinces()
    for code in m.provinces or ((m.province,) if m.province else ()):
        ref = names.get(code, {})
        if any(v and v in text for v in (code, ref.get("name_zh"), ref.get("short_zh"),
                                          ref.get("name_en"))):
            return True
    return False


def points_at(m: Mutation, message: str) -> bool:
    """Does a rejection message point at the mutation (see the module docstring)?"""
    if m.file not in message:
        return False
    rows = _rows_named(message)
    column = any(c in message for c in m.columns) or (
        m.new is not None and m.level == "cell" and f"'{m.new}'" in message)
    if m.level == "cell":
        return bool(rows & set(m.rows)) and column
    if m.level == "row":
        return bool(rows & set(m.rows))
    if m.level == "column":
        return column
    if m.level == "province":
        return _province_named(m, message) or bool(rows & set(m.rows))
    return True  # file level: the file is named


def cells_named(m: Mutation, text: str) -> bool:
    """Does `provisional_cells` name the mutated cell? The file, row and column as in a message,
    or (whatever the format) its province, year and column."""
    if not text:
        return False
    if points_at(m, text):
        return True
    column = not m.columns or any(c in text for c in m.columns)
    year = m.year is None or str(m.year) in text
    return column and year and (_province_named(m, text) or m.file in text)


def read_verdicts(db: Path) -> dict[tuple, dict[str, Any]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'carbon' "
            "and table_name = 'fct_target_assessment'").fetchall()}
        wanted = [*VERDICT_KEY, *VERDICT_FIELDS, "cumulative_decline_pct",
                  *(c for c in FLAG_COLUMNS if c in columns)]
        cursor = con.execute(f"select {', '.join(wanted)} from carbon.fct_target_assessment")
        return {tuple(r[:3]): dict(zip(wanted, r, strict=True)) for r in cursor.fetchall()}
    finally:
        con.close()


def _decline_changed(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > DECLINE_TOLERANCE_PP


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def compare(baseline: dict[tuple, dict], after: dict[tuple, dict]
            ) -> list[tuple[tuple, dict | None, dict | None, str]]:
    """The verdicts that differ: (key, before, after, what changed)."""
    out = []
    for key in sorted(set(baseline) | set(after), key=str):
        before, now = baseline.get(key), after.get(key)
        if before is None or now is None:
            out.append((key, before, now, "verdict row added" if before is None else
                        "verdict row removed"))
            continue
        what = [f"{f} {_fmt(before[f])}->{_fmt(now[f])}" for f in VERDICT_FIELDS
                if before[f] != now[f]]
        if _decline_changed(before["cumulative_decline_pct"], now["cumulative_decline_pct"]):
            what.append(f"decline {_fmt(before['cumulative_decline_pct'])}->"
                        f"{_fmt(now['cumulative_decline_pct'])} %")
        if what:
            out.append((key, before, now, ", ".join(what)))
    return out


def _verdict_changed(before: dict | None, now: dict | None) -> bool:
    """A row added or removed, or its status, grade or target_achieved changed."""
    if before is None or now is None:
        return True
    return any(before[f] != now[f] for f in VERDICT_FIELDS)


def _flagged(m: Mutation, now: dict | None) -> bool:
    if now is None or not all(c in now for c in FLAG_COLUMNS):
        return False
    return bool(now["verdict_is_provisional"]) and cells_named(m, now["provisional_cells"] or "")


@contextlib.contextmanager
def _no_data_docs():
    from great_expectations.data_context.data_context.abstract_data_context import (
        AbstractDataContext,
    )

    saved = AbstractDataContext.build_data_docs
    AbstractDataContext.build_data_docs = lambda self, *a, **k: {}  # type: ignore[method-assign]
    try:
        yield
    finally:
        AbstractDataContext.build_data_docs = saved  # type: ignore[method-assign]


class Harness:
    """One baseline run, then `run(mutation)` per mutation (fresh landing, work dir and
    warehouse under a temporary root, removed by `close`). GX Data Docs are not rendered
    unless `data_docs`."""

    def __init__(self, root: Path | None = None, source: Path = SOURCE,
                 data_docs: bool = False) -> None:
        self.source = source
        self.data_docs = data_docs
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="carbon-mutations-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self._n = 0
        self.baseline_seconds = 0.0
        started = time.perf_counter()
        code, out, err, _ = self._cli(None, "baseline")
        self.baseline_seconds = time.perf_counter() - started
        if code != 0:
            raise RuntimeError(f"baseline run failed (exit {code}): {err.strip()[-2000:]}")
        self.baseline = read_verdicts(self.root / "baseline" / "w.duckdb")

    @contextlib.contextmanager
    def _env(self):
        saved = {k: os.environ.get(k) for k in ("CARBON_ASSESS_HOME", "GX_ANALYTICS_ENABLED")}
        os.environ["CARBON_ASSESS_HOME"] = str(self.root / "home")
        os.environ["GX_ANALYTICS_ENABLED"] = "False"
        # GX Data Docs are a view of results already complete (validate_workdir builds them
        # last, inside a try); rendering them is a quarter of a run and decides nothing here.
        patch = contextlib.nullcontext() if self.data_docs else _no_data_docs()
        try:
            with patch:
                yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _cli(self, m: Mutation | None, name: str) -> tuple[int | None, str, str, Path]:
        from carbon_assess.cli import main

        where = self.root / name
        shutil.rmtree(where, ignore_errors=True)
        landing = write_landing(m, where / "landing", self.source)
        out, err = io.StringIO(), io.StringIO()
        code: int | None
        with self._env(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["run", "--landing", str(landing),
                             "--warehouse", f"duckdb:///{where / 'w.duckdb'}",
                             "--workdir", str(where / "work")])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - a crash is an outcome
                code = None
                err.write(traceback.format_exc())
        return code, out.getvalue(), err.getvalue(), where

    def run(self, m: Mutation, keep: bool = False) -> Result:
        self._n += 1
        started = time.perf_counter()
        code, out, err, where = self._cli(m, f"m{self._n:04d}")
        message = _error_line(err)
        warned = any(points_at(m, line) for line in out.splitlines()
                     if line.startswith("warning:"))
        changed: list[str] = []
        if code is None or code not in (0, 2) or "unexpected" in message:
            outcome = "crash"
            message = message if code is not None else err.strip()[-1500:]
        elif code == 2:
            outcome = "rejected_naming_cell" if points_at(m, message) else "rejected_elsewhere"
        else:
            try:
                after = read_verdicts(where / "w.duckdb")
            except Exception as exc:  # noqa: BLE001
                outcome, message = "crash", f"exit 0 but no verdicts to read: {exc}"
            else:
                diffs = compare(self.baseline, after)
                changed = [f"{k[0]} {k[1]} {k[2]}: {what}" for k, _, _, what in diffs]
                verdicts = [d for d in diffs if _verdict_changed(*d[1:3])]
                if not diffs:
                    outcome = "no_effect"
                elif all(_flagged(m, now) for _, _, now, _ in verdicts or diffs):
                    outcome = "flagged_provisional"
                elif not verdicts:
                    outcome = "figure_changed"
                else:
                    outcome = "silent_change"
                message = "; ".join(changed[:6]) + (f"; ... ({len(changed)} in all)"
                                                    if len(changed) > 6 else "")
        if not keep:
            shutil.rmtree(where, ignore_errors=True)
        return Result(m, outcome, code, message, time.perf_counter() - started, changed,
                      where / "w.duckdb" if keep else None, warned)

    def close(self) -> None:
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
