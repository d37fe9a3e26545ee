"""The path guard for a run's GX Data Docs, served by the UI plugin."""

from __future__ import annotations

from pathlib import Path

from carbon_assess.workdir import Run


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
