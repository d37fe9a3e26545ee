"""The landing folder's content hash and the triggerer's watcher built on it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from carbon_assess.landing import landing_digest
from carbon_assess.orchestration.triggers import LandingChangeTrigger


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_digest_follows_names_and_contents_not_timestamps(tmp_path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    assert landing_digest(landing).empty
    _write(landing / "gdp.csv", "a,b\n1,2\n")
    first = landing_digest(landing)
    assert (first.files, len(first.digest)) == (1, 64)
    os.utime(landing / "gdp.csv", (0, 0))  # touched: same release
    assert landing_digest(landing) == first
    _write(landing / ".gdp.csv.swp", "editor noise")  # hidden files are not read by ingest
    _write(landing / "~$gdp.xlsx", "office lock")
    assert landing_digest(landing) == first
    (landing / "gdp.csv").rename(landing / "gdp2.csv")
    renamed = landing_digest(landing)
    assert renamed.digest != first.digest
    _write(landing / "gdp2.csv", "a,b\n1,3\n")
    assert landing_digest(landing).digest not in (first.digest, renamed.digest)


def _next_event(trigger: LandingChangeTrigger, timeout: float) -> dict | None:
    async def first():
        async for event in trigger.run():
            return event.payload
        return None

    async def bounded():
        try:
            return await asyncio.wait_for(first(), timeout)
        except TimeoutError:
            return None

    return asyncio.run(bounded())


def test_the_watcher_announces_each_settled_release_once(tmp_path) -> None:
    landing, state = tmp_path / "landing", tmp_path / "watch"

    def trigger() -> LandingChangeTrigger:  # a new instance, as after a triggerer restart
        return LandingChangeTrigger(str(landing), str(state), poll_seconds=0.05)

    assert _next_event(trigger(), 0.5) is None  # no folder yet
    landing.mkdir()
    assert _next_event(trigger(), 0.5) is None  # an empty folder is never announced
    _write(landing / "gdp.csv", "a,b\n1,2\n")
    event = _next_event(trigger(), 5)
    assert event == {"landing": str(landing), "landing_digest": landing_digest(landing).digest,
                     "files": 1}
    assert _next_event(trigger(), 0.5) is None  # remembered: not announced again
    _write(landing / "energy.csv", "c\n3\n")
    second = _next_event(trigger(), 5)
    assert second is not None and second["files"] == 2
    classpath, kwargs = trigger().serialize()
    assert classpath == "carbon_assess.orchestration.triggers.LandingChangeTrigger"
    assert LandingChangeTrigger(**kwargs).state_file == trigger().state_file


def test_a_release_still_being_copied_is_not_announced_half_way(tmp_path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    trigger = LandingChangeTrigger(str(landing), str(tmp_path / "watch"), poll_seconds=0.2)

    async def copy_slowly_then_watch():
        async def copy():
            for year in range(5):
                _write(landing / f"part{year}.csv", f"{year}\n")
                await asyncio.sleep(0.1)  # faster than two polls: never settled meanwhile

        copying = asyncio.create_task(copy())
        async for event in trigger.run():
            await copying
            return event.payload

    event = asyncio.run(asyncio.wait_for(copy_slowly_then_watch(), 10))
    assert event["files"] == 5


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_poll_interval_is_refused_by_name(monkeypatch, value) -> None:
    from carbon_assess.errors import CarbonAssessError
    from carbon_assess.settings import landing_poll_seconds

    monkeypatch.setenv("CARBON_LANDING_POLL_SECONDS", value)
    with pytest.raises(CarbonAssessError, match="CARBON_LANDING_POLL_SECONDS"):
        landing_poll_seconds()
