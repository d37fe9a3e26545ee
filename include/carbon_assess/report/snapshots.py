"""The NBS portal snapshots behind each release (the UI plugin's `/snapshots` page).

A release's vintage is the id of the snapshot its landing content was first fetched in
(`carbon_assess.fetch.snapshots`); later fetches of the same content are listed beside it.
Snapshots whose content no release was assessed on yet are listed apart. No server path is
shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError
from carbon_assess.fetch.snapshots import list_snapshots
from carbon_assess.report.history import list_releases
from carbon_assess.report.templating import render

_SHOWN = ("id", "retrieved_at", "years", "content_sha256", "intact", "vintage", "new_content")


def _public(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {**{k: snapshot.get(k) for k in _SHOWN},
            "requests": len(snapshot.get("requests") or []),
            "indicators": len(snapshot.get("indicators") or [])}


def load_snapshots(warehouse_url: str, root: Path) -> dict[str, Any]:
    """{releases: newest first, each with its `snapshots`; unassessed: snapshots of content no
    release has; note: why releases are missing, if they are}."""
    snapshots = [_public(s) for s in list_snapshots(root, verify=True)]
    note = None
    try:
        releases = list_releases(warehouse_url)
    except CarbonAssessError as exc:
        releases, note = [], str(exc)
    vintages = {r["vintage"] for r in releases}
    rows = [{**r, "snapshots": [s for s in snapshots if s["vintage"] == r["vintage"]]}
            for r in reversed(releases)]
    return {"state": "ok", "releases": rows, "note": note,
            "unassessed": [s for s in snapshots if s["vintage"] not in vintages]}


def render_snapshots_html(data: dict[str, Any], root: str = "") -> str:
    return str(render("snapshots.html", data=data, root=root))
