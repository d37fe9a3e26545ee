"""The landing-folder watcher: a trigger the Airflow triggerer runs for the Asset
`carbon_landing` (event-driven scheduling).

Every `poll_seconds` it hashes the folder (`carbon_assess.landing.landing_digest`: file names
and contents). It fires when the content has settled (the same hash on two polls in a row, so
a release still being copied in is not announced half-way) and differs from the last content it
announced, which it remembers in `<state_dir>/<folder hash>.json` on the shared work area: a
restarted triggerer does not announce the same release again. An empty or missing folder is
never announced. The assessment itself still compares the content with the warehouse's current
release and skips an unchanged one, so a repeated event costs a skipped run, never a publish.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from carbon_assess.errors import InputError
from carbon_assess.landing import landing_digest

CLASSPATH = "carbon_assess.orchestration.triggers.LandingChangeTrigger"


class LandingChangeTrigger(BaseEventTrigger):
    def __init__(self, landing: str, state_dir: str, poll_seconds: float = 60.0) -> None:
        super().__init__()
        self.landing = landing
        self.state_dir = state_dir
        self.poll_seconds = float(poll_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {"landing": self.landing, "state_dir": self.state_dir,
                           "poll_seconds": self.poll_seconds}

    @property
    def state_file(self) -> Path:
        key = hashlib.sha256(self.landing.encode()).hexdigest()[:16]
        return Path(self.state_dir) / f"landing-{key}.json"

    def announced(self) -> str | None:
        """The content hash of the last release announced for this folder."""
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8")).get("digest")
        except (OSError, ValueError):
            return None

    def remember(self, digest: str, files: int) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temp = self.state_file.with_suffix(".tmp")
        temp.write_text(json.dumps({"landing": self.landing, "digest": digest, "files": files}),
                        encoding="utf-8")
        os.replace(temp, self.state_file)

    def _digest(self) -> tuple[str | None, int]:
        try:
            state = landing_digest(Path(self.landing))
        except InputError:  # the folder does not exist (yet)
            return None, 0
        return state.digest, state.files

    async def run(self) -> AsyncIterator[TriggerEvent]:
        previous: str | None = None
        while True:
            digest, files = await asyncio.to_thread(self._digest)
            if digest is not None and digest == previous and digest != self.announced():
                self.remember(digest, files)
                self.log.info("new content in landing folder %s: %d file(s), sha256 %s",
                              self.landing, files, digest)
                yield TriggerEvent({"landing": self.landing, "landing_digest": digest,
                                    "files": files})
                return
            previous = digest
            await asyncio.sleep(self.poll_seconds)
