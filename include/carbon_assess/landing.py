"""The landing folder's contract: which files in it count, and one hash of what it holds.

Cheap to import (standard library only): the Airflow triggerer hashes the folder on every poll
(`carbon_assess.orchestration.triggers`), ingest reads exactly the files listed here, and the
assessment DAG compares the hash with the current release's before doing any work.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from carbon_assess.errors import InputError

__all__ = ["LandingDigest", "landing_digest", "landing_files", "scan_landing"]


def _suspicious_name(name: str) -> bool:
    """A name that reads as a path on some system (`..\\..\\evil.csv`, `C:\\x.csv`)."""
    parts = name.replace("\\", "/").split("/")
    return "\\" in name or ".." in parts or (len(name) > 1 and name[1] == ":")


def scan_landing(landing: Path) -> tuple[list[Path], list[dict[str, str]]]:
    """Regular files under the landing folder (recursively, stable order) and what was skipped.

    Symlinks (to files or folders) are never followed, hidden entries (`.` prefix) and Office
    lock files (`~$`) are ignored, and a file name that looks like a path (`..\\..\\evil.csv`)
    is not read: each such entry is reported as skipped with the reason.
    """
    if not landing.is_dir():
        raise InputError(str(landing), "landing folder does not exist or is not a folder")
    root = landing.resolve()
    files: list[Path] = []
    skipped: list[dict[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        skipped.append({"file": path.relative_to(landing).as_posix(), "reason": reason})

    for dirpath, dirnames, filenames in os.walk(landing, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames):
            path = here / name
            if name.startswith("."):
                skip(path, "hidden folder, not read")
                dirnames.remove(name)
            elif path.is_symlink():
                skip(path, "symlink to a folder, not followed")
                dirnames.remove(name)
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            info = path.lstat()
            if _suspicious_name(name):
                skip(path, "file name looks like a path ('..' or '\\'), not read")
            elif name.startswith(".") or name.startswith("~$"):
                skip(path, "hidden or lock file, not read")
            elif stat.S_ISLNK(info.st_mode):
                skip(path, "symlink, not followed (copy the file into the landing folder)")
            elif not stat.S_ISREG(info.st_mode):
                skip(path, "not a regular file")
            elif not path.resolve().is_relative_to(root):  # pragma: no cover - defensive
                skip(path, "outside the landing folder, not read")
            else:
                files.append(path)
    files.sort()
    return files, skipped


def landing_files(landing: Path) -> list[Path]:
    """Every regular file under the landing folder that ingest reads (see `scan_landing`)."""
    return scan_landing(landing)[0]


@dataclass(frozen=True)
class LandingDigest:
    """What the landing folder holds, as one hash: a new statistical release changes it."""

    digest: str | None  # None: no file to read
    files: int

    @property
    def empty(self) -> bool:
        return self.digest is None


def landing_digest(landing: Path) -> LandingDigest:
    """SHA-256 over the files ingest would read (relative path and content hash, in order).
    Renaming, adding, removing or editing a file changes it; touching a file does not."""
    digest = hashlib.sha256()
    files = landing_files(Path(landing))
    for path in files:
        with path.open("rb") as handle:
            content = hashlib.file_digest(handle, "sha256").hexdigest()
        name = path.relative_to(landing).as_posix()
        digest.update(f"{name}\0{content}\n".encode())
    return LandingDigest(digest.hexdigest() if files else None, len(files))
