"""Snapshots of fetched releases: `$CARBON_ASSESS_HOME/snapshots/<id>/`, written once, never
changed.

    <id>/manifest.json        source, URL, retrieved_at, indicators (name, code, unit), every
                              request (parameters, time, status, SHA-256 of the raw answer) and
                              the landing files it produced (name → SHA-256)
    <id>/responses/NNNN.json  the raw answers, byte for byte
    <id>/landing/<file>.csv   the landing files written from them
    <id>/SHA256SUMS           SHA-256 of every file above (`sha256sum -c` checks it)

The id, `nbs-<date>-<8 hex>` (date of retrieval, UTC; the hex from the manifest's SHA-256), is
the vintage of the landing content the snapshot produced: `vintage_for_landing` finds, for a
landing folder, the first snapshot that produced its content, so fetching the same content again
keeps the vintage (and the landing bytes) of the release already assessed.

Standard library only: the UI plugin reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from carbon_assess.workdir import assess_home

__all__ = ["MANIFEST", "create_snapshot", "latest_snapshot", "list_snapshots",
           "snapshot_vintage", "snapshots_root", "vintage_for_landing"]

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"


def snapshots_root(home: Path | str | None = None) -> Path:
    """`<home>/snapshots`; `home` defaults to `$CARBON_ASSESS_HOME`, else `./var`."""
    return (Path(home) if home is not None else assess_home("var")) / "snapshots"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def create_snapshot(root: Path, prefix: str, manifest: dict[str, Any],
                    responses: list[bytes], landing: dict[str, bytes]) -> tuple[str, Path]:
    """Write a new snapshot atomically (a hidden temporary folder renamed into place) and
    return its id and folder. Its files are made read-only."""
    landing_hashes = {name: _sha256(data) for name, data in sorted(landing.items())}
    manifest = {**manifest, "landing_files": landing_hashes,
                "content_sha256": _sha256(json.dumps(landing_hashes, sort_keys=True).encode())}
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    snapshot_id = f"{prefix}-{manifest['retrieved_at'][:10]}-{_sha256(body)[:8]}"
    manifest = {"id": snapshot_id, **manifest}
    root.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{snapshot_id}.", dir=root))
    try:
        files: dict[str, bytes] = {
            MANIFEST: (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
                       + "\n").encode("utf-8")}
        for number, data in enumerate(responses, start=1):
            files[f"responses/{number:04d}.json"] = data
        for name, data in landing.items():
            files[f"landing/{name}"] = data
        files[SUMS] = "".join(f"{_sha256(data)}  {name}\n"
                              for name, data in sorted(files.items())).encode("ascii")
        for name, data in files.items():
            target = temp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o444)
        os.rename(temp, root / snapshot_id)  # fails if the id exists: a snapshot never changes
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return snapshot_id, root / snapshot_id


def _verified(folder: Path) -> bool:
    """True when every file listed in SHA256SUMS is there with its hash, and nothing else."""
    try:
        listed = {}
        for line in (folder / SUMS).read_text(encoding="ascii").splitlines():
            digest, name = line.split("  ", 1)
            listed[name] = digest
        present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
        if present - {SUMS} != set(listed):
            return False
        return all(_file_sha256(folder / name) == digest for name, digest in listed.items())
    except (OSError, ValueError):
        return False


def list_snapshots(root: Path, verify: bool = False) -> list[dict[str, Any]]:
    """Every snapshot's manifest, oldest first, each with `vintage` (the first snapshot of the
    same content), `new_content` (its content differs from the one before) and, with `verify`,
    `intact` (its files match SHA256SUMS)."""
    found = []
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not (folder / MANIFEST).is_file():
                continue
            try:
                manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if verify:
                manifest["intact"] = _verified(folder)
            manifest["path"] = str(folder)
            found.append(manifest)
    found.sort(key=lambda m: (m.get("retrieved_at", ""), m.get("id", "")))
    first: dict[str, str] = {}
    previous = None
    for manifest in found:
        content = manifest.get("content_sha256", "")
        manifest["vintage"] = first.setdefault(content, manifest["id"])
        manifest["new_content"] = content != previous
        previous = content
    return found


def latest_snapshot(root: Path) -> dict[str, Any] | None:
    found = list_snapshots(root)
    return found[-1] if found else None


def vintage_for_landing(landing: Path | str, root: Path) -> str | None:
    """The vintage of the fetched content in a landing folder: among the snapshots whose landing
    files are all in the folder with the same bytes, the latest one's vintage (the first
    snapshot of that content). None when no snapshot produced what the folder holds."""
    landing = Path(landing)
    hashes: dict[str, str | None] = {}

    def matches(name: str, digest: str) -> bool:
        if name not in hashes:
            path = landing / name
            hashes[name] = _file_sha256(path) if path.is_file() and not path.is_symlink() else None
        return hashes[name] == digest

    for manifest in reversed(list_snapshots(root)):
        files = manifest.get("landing_files") or {}
        if files and all(matches(name, digest) for name, digest in files.items()):
            return str(manifest["vintage"])
    return None


def snapshot_vintage(landing: Path | str, vintage: str | None, home: Path | str | None = None,
                     default: str = "unlabelled") -> str:
    """The run's vintage: `vintage` when given (and not the default), else the vintage of the
    fetched content in the landing folder, else `default`."""
    if vintage and vintage != default:
        return vintage
    if not Path(landing).is_dir():
        return vintage or default
    return vintage_for_landing(landing, snapshots_root(home)) or vintage or default
