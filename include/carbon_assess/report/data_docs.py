"""The path guards for the files the UI plugin serves from disk: a run's GX Data Docs and a
rejected run's quarantine report."""

from __future__ import annotations

from pathlib import Path

from carbon_assess.workdir import RUN_ID_PATTERN, Run

QUARANTINE_REPORT = "report.md"
QUARANTINE_REPORT_DATA = "report.json"  # the same report as data, beside it


def data_docs_file(runs_dir: str | Path, run_id: str, path: str = "index.html") -> Path | None:
    """The file `path` of run `run_id`'s GX Data Docs, if it exists and lies inside
    the run's Data Docs folder (`Run.data_docs_dir`) once every symlink is resolved; else None."""
    if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\x00"):
        return None
    if "\x00" in path:
        return None
    try:
        runs = Path(runs_dir).resolve()
        root = Run(runs / run_id).data_docs_dir.resolve()
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


def quarantine_report_file(
    quarantine_dir: str | Path, run_id: str, report_path: str | Path | None
) -> Path | None:
    """The quarantine report `report_path` (as the run log records it) of run `run_id`, if the
    run id is a plain name (`RUN_ID_PATTERN`), the file is a `report.md` and, once every
    symlink is resolved, it lies inside `<quarantine_dir>/<run_id>/` (`Run.quarantine`'s
    layout) and exists; else None. A relative `report_path` is taken relative to the folder
    holding `quarantine_dir` (the assessment home)."""
    if not run_id or not RUN_ID_PATTERN.fullmatch(run_id) or run_id in (".", ".."):
        return None
    if not report_path or "\x00" in str(report_path):
        return None
    try:
        root = Path(quarantine_dir).resolve()
        folder = (root / run_id).resolve()
        if folder.parent != root or folder.name != run_id:
            return None
        recorded = Path(report_path)
        target = (recorded if recorded.is_absolute() else root.parent / recorded).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    if target.name != QUARANTINE_REPORT or not target.is_relative_to(folder):
        return None
    return target if target.is_file() else None


def quarantine_report_data_file(report_file: Path) -> Path | None:
    """The `report.json` beside a quarantine report found by `quarantine_report_file`, if it
    exists and, once every symlink is resolved, lies in the same folder; else None."""
    try:
        target = (report_file.parent / QUARANTINE_REPORT_DATA).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    if target.parent != report_file.parent or not target.is_file():
        return None
    return target
