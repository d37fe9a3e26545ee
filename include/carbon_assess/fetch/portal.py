"""The HTTP client of the NBS data portal's `easyquery.htm` (standard library only).

Every request is a form POST to `<base-url>/easyquery.htm`. The client waits at least
`$CARBON_NBS_REQUEST_INTERVAL` seconds (default 1) between requests, retries timeouts, dropped
connections, truncated bodies, 429 and 5xx answers with exponential backoff
(`$CARBON_NBS_RETRY_BACKOFF` seconds, doubled each time, `RETRIES` retries), and turns anything
else into one line naming the request and what came back: `FetchRejected` (exit code 2) for an
answer that is not the expected JSON (a firewall's HTML page, a changed shape, `returncode` ≠
200), `FetchFailed` (exit code 1) when no answer came at all. Every answer is recorded
(`Exchange`) for the snapshot.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from carbon_assess.errors import EXIT_FAILURE, EXIT_REJECTED, CarbonAssessError, mask_url, printable

DEFAULT_BASE_URL = "https://data.stats.gov.cn"
ENDPOINT = "easyquery.htm"
USER_AGENT = "carbon-assess (provincial carbon-intensity assessment; Python urllib)"
INTERVAL_ENV = "CARBON_NBS_REQUEST_INTERVAL"
BACKOFF_ENV = "CARBON_NBS_RETRY_BACKOFF"
TIMEOUT_ENV = "CARBON_NBS_TIMEOUT"
RETRIES = 3
SHOWN = 120  # characters of an unexpected answer quoted in an error


class FetchFailed(CarbonAssessError):
    """The portal could not be reached, or kept failing (timeouts, 5xx) after the retries."""

    exit_code = EXIT_FAILURE


class FetchRejected(CarbonAssessError):
    """The portal answered, but not what a fetch can use: HTML instead of JSON, a changed
    shape, returncode ≠ 200, an indicator not found, a unit changed."""

    exit_code = EXIT_REJECTED


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise FetchFailed(f"{name}={raw!r} is not a number of seconds") from None
    if value < 0:
        raise FetchFailed(f"{name}={raw!r} must not be negative")
    return value


def quote_answer(body: bytes) -> str:
    """The start of an unexpected answer, on one line."""
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return repr(printable(text[:SHOWN]) + ("…" if len(text) > SHOWN else ""))


@dataclass
class Exchange:
    """One request and its answer, as the snapshot keeps it."""

    params: dict[str, str]
    retrieved_at: str
    status: int
    content_type: str
    body: bytes
    attempts: int


@dataclass
class Portal:
    """A session with one portal: `call(params)` → the decoded JSON of a checked answer."""

    base_url: str = DEFAULT_BASE_URL
    interval: float | None = None
    backoff: float | None = None
    timeout: float | None = None
    retries: int = RETRIES
    sleep: Callable[[float], None] = time.sleep
    exchanges: list[Exchange] = field(default_factory=list)
    _last: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise FetchFailed(f"--base-url {mask_url(self.base_url)!r} is not an http(s) URL "
                              "of the portal's site root (e.g. https://data.stats.gov.cn)")
        self.interval = _env_seconds(INTERVAL_ENV, 1.0) if self.interval is None else self.interval
        self.backoff = _env_seconds(BACKOFF_ENV, 5.0) if self.backoff is None else self.backoff
        self.timeout = _env_seconds(TIMEOUT_ENV, 60.0) if self.timeout is None else self.timeout

    @property
    def url(self) -> str:
        return f"{self.base_url}/{ENDPOINT}"

    def describe(self, params: dict[str, str], what: str = "") -> str:
        """The request as an error names it: URL, method and the parameters that matter."""
        keys = ("m", "dbcode", "id", "dfwds")
        shown = " ".join(f"{k}={params[k]}" for k in keys if k in params)
        return f"{mask_url(self.url)} {shown}" + (f" ({what})" if what else "")

    def _wait_turn(self) -> None:
        wait = self._last + float(self.interval or 0) - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()

    def _once(self, params: dict[str, str]) -> tuple[int, str, bytes]:
        request = urllib.request.Request(
            self.url, data=urlencode(params).encode("ascii"), method="POST",
            headers={"User-Agent": USER_AGENT, "Accept": "application/json, */*",
                     "Content-Type": "application/x-www-form-urlencoded",
                     "X-Requested-With": "XMLHttpRequest",
                     "Referer": f"{self.base_url}/{ENDPOINT}?cn=E0103"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read() if exc.fp else b""
            return exc.code, exc.headers.get("Content-Type", "") if exc.headers else "", body

    def fetch(self, params: dict[str, str], what: str = "") -> bytes:
        """The body of a 200 answer (recorded), after retries; FetchFailed/FetchRejected."""
        last = ""
        for attempt in range(1, self.retries + 2):
            if attempt > 1:
                self.sleep(float(self.backoff or 0) * 2 ** (attempt - 2))
            self._wait_turn()
            stamp = datetime.now(UTC).isoformat(timespec="microseconds")
            try:
                status, content_type, body = self._once(params)
            except http.client.IncompleteRead as exc:
                last = (f"the body was cut off after {len(exc.partial)} byte(s)"
                        + (f" of {len(exc.partial) + exc.expected}" if exc.expected else ""))
                continue
            except TimeoutError:
                last = f"no answer within {self.timeout:g} s"
                continue
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError):
                    last = f"no answer within {self.timeout:g} s"
                else:
                    last = f"cannot connect: {printable(str(reason))}"
                continue
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                last = f"connection failed: {type(exc).__name__}: {printable(str(exc))}"
                continue
            if status == 429 or status >= 500:
                last = f"HTTP {status}"
                continue
            self.exchanges.append(Exchange(dict(params), stamp, status, content_type, body,
                                           attempt))
            if status != 200:
                raise FetchRejected(f"{self.describe(params, what)}: HTTP {status}, answer "
                                    f"{quote_answer(body)}")
            return body
        raise FetchFailed(f"{self.describe(params, what)}: {last} ({self.retries + 1} attempts, "
                          "with backoff); the landing folder is unchanged")

    def call(self, params: dict[str, str], what: str = "") -> Any:
        """The answer's JSON; FetchRejected naming the request when it is not JSON."""
        body = self.fetch(params, what)
        head = body.lstrip()[:1]
        if head == b"<":
            raise FetchRejected(f"{self.describe(params, what)}: answered with an HTML page, not "
                                f"JSON (a web application firewall or a changed site?): "
                                f"{quote_answer(body)}")
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise FetchRejected(f"{self.describe(params, what)}: the answer is not valid JSON "
                                f"({type(exc).__name__}: {printable(str(exc))[:80]}): "
                                f"{quote_answer(body)}") from None


def k1() -> str:
    """The portal's cache-busting parameter: the time in milliseconds."""
    return str(int(time.time() * 1000))


def tree_params(node: str, dbcode: str) -> dict[str, str]:
    return {"m": "getTree", "dbcode": dbcode, "wdcode": "zb", "id": node}


def query_params(code: str, years: str, dbcode: str) -> dict[str, str]:
    dfwds = [{"wdcode": "zb", "valuecode": code}, {"wdcode": "sj", "valuecode": years}]
    return {"m": "QueryData", "dbcode": dbcode, "rowcode": "reg", "colcode": "sj",
            "wds": "[]", "dfwds": json.dumps(dfwds, separators=(",", ":")), "k1": k1()}
