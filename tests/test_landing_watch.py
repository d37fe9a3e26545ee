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


class _Polled(LandingChangeTrigger):
    """The watcher, polling without pause (poll_seconds=0) for at most `polls` polls: the tests
    count polls, never seconds. `before_poll(n)` runs before poll n (1, 2, ...) hashes the
    folder, so a test can change the folder between two polls."""

    def __init__(self, landing: Path, state: Path, polls: int, before_poll=None) -> None:
        super().__init__(str(landing), str(state), poll_seconds=0)
        self.budget, self.polls, self.before_poll = polls, 0, before_poll

    def _digest(self) -> tuple[str | None, int]:
        if self.polls == self.budget:
            raise _PollsSpent
        self.polls += 1
        if self.before_poll is not None:
            self.before_poll(self.polls)
        return super()._digest()


class _PollsSpent(Exception):
    pass


def _next_event(trigger: _Polled) -> dict | None:
    """The payload of the watcher's first event, or None when its polls ran out without one."""
    async def first() -> dict | None:
        try:
            async for event in trigger.run():
                return event.payload
        except _PollsSpent:
            return None
        raise AssertionError("the watcher's run() ended without an event")

    # a safety net only (a hang fails the test); no assertion depends on the clock
    return asyncio.run(asyncio.wait_for(first(), 60))


def test_the_watcher_announces_each_settled_release_once(tmp_path) -> None:
    landing, state = tmp_path / "landing", tmp_path / "watch"

    def trigger(polls: int) -> _Polled:  # a new instance, as after a triggerer restart
        return _Polled(landing, state, polls)

    assert _next_event(trigger(10)) is None  # no folder yet
    landing.mkdir()
    assert _next_event(trigger(10)) is None  # an empty folder is never announced
    _write(landing / "gdp.csv", "a,b\n1,2\n")
    watcher = trigger(10)
    event = _next_event(watcher)
    assert event == {"landing": str(landing), "landing_digest": landing_digest(landing).digest,
                     "files": 1}
    assert watcher.polls == 2  # the same content on two polls in a row: settled
    assert _next_event(trigger(10)) is None  # remembered: not announced again
    _write(landing / "energy.csv", "c\n3\n")
    second = _next_event(trigger(10))
    assert second is not None and second["files"] == 2
    assert second["landing_digest"] == landing_digest(landing).digest != event["landing_digest"]
    classpath, kwargs = LandingChangeTrigger(str(landing), str(state)).serialize()
    assert classpath == "carbon_assess.orchestration.triggers.LandingChangeTrigger"
    assert LandingChangeTrigger(**kwargs).state_file == trigger(1).state_file


def test_a_release_still_being_copied_is_not_announced_half_way(tmp_path) -> None:
    """A file lands between every two polls (polls 1-5); the watcher announces only when two
    polls in a row see the same content (polls 5 and 6), with all five files."""
    landing = tmp_path / "landing"
    landing.mkdir()

    def copy_one_more(poll: int) -> None:
        if poll <= 5:
            _write(landing / f"part{poll}.csv", f"{poll}\n")

    watcher = _Polled(landing, tmp_path / "watch", polls=20, before_poll=copy_one_more)
    event = _next_event(watcher)
    assert event is not None and event["files"] == 5, event
    assert event["landing_digest"] == landing_digest(landing).digest
    assert watcher.polls == 6


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_bad_poll_interval_is_refused_by_name(monkeypatch, value) -> None:
    from carbon_assess.errors import CarbonAssessError
    from carbon_assess.settings import landing_poll_seconds

    monkeypatch.setenv("CARBON_LANDING_POLL_SECONDS", value)
    with pytest.raises(CarbonAssessError, match="CARBON_LANDING_POLL_SECONDS"):
        landing_poll_seconds()
