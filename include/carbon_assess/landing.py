"""The landing folder's contract: which files in it count, and one hash of what it holds.

Cheap to import (standard library only): the Airflow triggerer hashes the folder on every poll
(`carbon_assess.orchestration.triggers`), ingest reads exactly the files listed here, and the
assessment DAG compares the hash with the current release's before doing any work.
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from carbon_assess.errors import InputError, printable

__all__ = ["LandingDigest", "display_name", "landing_digest", "landing_files", "name_problem",
           "scan_landing"]


def _suspicious_name(name: str) -> bool:
    """A name that reads as a path on some system (`..\\..\\evil.csv`, `C:\\x.csv`)."""
    parts = name.replace("\\", "/").split("/")
    return "\\" in name or ".." in parts or (len(name) > 1 and name[1] == ":")


# Kernel pseudo-file systems: their "files" are not data (sizes of 0, endless or blocking reads,
# entries that vanish while they are listed).
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")

# Unicode categories a file name must not hold: control characters (newline, tab, ESC...),
# format characters (zero-width space, bidirectional overrides), line and paragraph separators,
# and lone surrogates (bytes that are not UTF-8, as the file system decoding keeps them).
_BAD_NAME_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def name_problem(name: str) -> str | None:
    """Why ingest refuses a landing file's (relative) name, None when it does not: a name that
    is not UTF-8 or holds a control or invisible character would print as another name, or
    forge a line of output. (Messages print names escaped: `errors.printable`.)"""
    bad = [ch for ch in name if unicodedata.category(ch) in _BAD_NAME_CATEGORIES]
    if not bad:
        return None
    if any("\udc80" <= ch <= "\udcff" for ch in bad):
        return ("file name is not valid UTF-8 (shown with each such byte as \\xNN); rename "
                "the file")
    return (f"file name contains a control or invisible character ({printable(bad[0])}); "
            "rename the file")


def display_name(landing: Path, path: Path) -> str:
    """A landing entry's name as every message, report and record shows it: its path relative
    to the landing folder, escaped (`errors.printable`)."""
    return printable(path.relative_to(landing).as_posix())


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return what
    return "not a regular file"


def _system_folder(root: Path) -> str | None:
    for folder in SYSTEM_FOLDERS:
        if root == Path(folder) or root.is_relative_to(folder):
            return folder
    return None


def scan_landing(landing: Path) -> tuple[list[Path], list[dict[str, str]]]:
    """Regular files under the landing folder (recursively, stable order) and what was skipped.

    Symlinks (to files or folders) are never followed, hidden entries (`.` prefix) and Office
    lock files (`~$`) are ignored, a file name that looks like a path (`..\\..\\evil.csv`) is
    not read, nor are special files (named pipes, sockets, devices), entries that vanish while
    the folder is scanned or folders that cannot be listed: each such entry is reported as
    skipped with the reason (its name escaped: `display_name`). A file whose name ingest refuses
    (`name_problem`: not UTF-8, control characters) is listed, so that ingest rejects it. A
    landing folder inside /proc, /sys or /dev is an `InputError`.
    """
    if not landing.is_dir():
        raise InputError(str(landing), "landing folder does not exist or is not a folder")
    root = landing.resolve()
    system = _system_folder(root)
    if system is not None:
        raise InputError(str(landing), f"landing folder is inside {system}, a kernel file "
                         "system whose entries are not data files; give the folder the "
                         "statistics files are copied into")
    files: list[Path] = []
    skipped: list[dict[str, str]] = []

    def skip(path: Path, reason: str) -> None:
        skipped.append({"file": display_name(landing, path), "reason": reason})

    def unlisted(error: OSError) -> None:
        path = Path(error.filename) if error.filename else landing
        if path != landing:
            skip(path, f"folder cannot be listed ({error.strerror}), not read")

    for dirpath, dirnames, filenames in os.walk(landing, onerror=unlisted, followlinks=False):
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
            try:
                info = path.lstat()
            except OSError as exc:
                skip(path, f"vanished or unreadable while the folder was scanned "
                     f"({exc.strerror}), not read")
                continue
            if _suspicious_name(name):
                skip(path, "file name looks like a path ('..' or '\\'), not read")
            elif name.startswith(".") or name.startswith("~$"):
                skip(path, "hidden or lock file, not read")
            elif stat.S_ISLNK(info.st_mode):
                skip(path, "symlink, not followed (copy the file into the landing folder)")
            elif not stat.S_ISREG(info.st_mode):
                skip(path, f"{_kind(info.st_mode)}, not a regular file, not read")
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
        name = os.fsencode(path.relative_to(landing).as_posix())  # bytes: any name hashes
        digest.update(name + b"\0" + _content_digest(path).encode() + b"\n")
    return LandingDigest(digest.hexdigest() if files else None, len(files))


def _content_digest(path: Path) -> str:
    """SHA-256 of a file's content; a file that cannot be read (or was replaced by a pipe or a
    symlink since the scan: never followed, never waited on) hashes as the reason, and ingest
    then says why it cannot read it."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return f"unreadable: {exc.strerror}"
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return "not a regular file"
        try:
            return hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as exc:
            return f"unreadable: {exc.strerror}"
