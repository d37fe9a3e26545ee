"""A real Airflow stack for system tests, started the way an operator starts it.

`AirflowStack` runs `scripts/airflow.sh --detach` (api-server, scheduler, dag-processor,
triggerer and, with celery=True, a Celery worker), talks to it through the public REST API v2
with a bearer token of the simple auth manager's admin, and always stops it with
`scripts/airflow.sh stop`, then kills whatever is left of the recorded process groups.

    with AirflowStack(tmp / "airflow", free_port(), db_url, env={...}) as stack:
        stack.wait_for_dag("carbon_intensity_assessment")
        stack.unpause("carbon_intensity_assessment")
        run_id = stack.trigger("carbon_intensity_assessment", {})
        state = stack.wait_for_run("carbon_intensity_assessment", run_id, timeout=240)

Also: `free_port()`, `create_database()` / `drop_database()` (a fresh PostgreSQL metadata
database `carbon_sys_<random>` on the test server) and `free_redis_url()`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from pg_server import ADMIN_URL, db_url

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "airflow.sh"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery-worker")
FINAL_RUN_STATES = {"success", "failed"}

# Settings of the caller's shell (or of tests/conftest.py) that must not reach the stack: the
# stack gets exactly the script's settings plus the `env` it is given.
_DROPPED_PREFIXES = ("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "CARBON_")
_DROPPED_NAMES = {"AIRFLOW_HOME", "AIRFLOW_CONFIG"}


class StackError(RuntimeError):
    """The stack did not start or the API did not answer as expected (with the log tails)."""


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL metadata database ----------------------------------------------------------------


def create_database(prefix: str = "carbon_sys_") -> tuple[str, str]:
    """Create a fresh database on the test server; returns (name, SQLAlchemy URL for Airflow)."""
    import psycopg

    name = f"{prefix}{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'create database "{name}"')
    return name, db_url(name).replace("postgresql://", "postgresql+psycopg2://", 1)


def drop_database(name: str) -> None:
    """Drop a database made by create_database (closing the connections left to it)."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


# --- Redis ---------------------------------------------------------------------------------------


def free_redis_url(host: str = "127.0.0.1", port: int = 6379,
                   indexes: range = range(5, 16)) -> str:
    """redis://host:port/<n> for a random empty database index n (5..15): no collision with a
    developer's broker on /0 nor, most likely, with another test run."""
    import random

    import redis

    choices = list(indexes)
    random.shuffle(choices)
    for index in choices:
        client = redis.Redis(host=host, port=port, db=index, socket_timeout=3)
        try:
            if client.dbsize() == 0:
                return f"redis://{host}:{port}/{index}"
        finally:
            client.close()
    raise StackError(f"no empty Redis database among {indexes} on {host}:{port}")


def flush_redis(url: str) -> None:
    """Empty the Redis database of `url` (the broker queues a test stack left)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3)
    try:
        client.flushdb()
    finally:
        client.close()


# --- the stack -----------------------------------------------------------------------------------


class AirflowStack:
    """Airflow started by `scripts/airflow.sh --detach`; use as a context manager."""

    def __init__(self, home: Path | str, port: int | None = None, db_url: str | None = None,
                 celery: bool = True, env: Mapping[str, str] | None = None,
                 start_timeout: float = 240, stop_timeout: float = 30) -> None:
        self.home = Path(home).resolve()
        self.port = port or free_port()
        self.db_url = db_url
        self.celery = celery
        self.extra_env = dict(env or {})
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.start_output = ""
        self._pgids: dict[str, int] = {}
        self._token: str | None = None
        self._client: httpx.Client | None = None

    # -- lifecycle --

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED_NAMES}
        env["CARBON_AIRFLOW_START_TIMEOUT"] = str(int(self.start_timeout))
        env["CARBON_AIRFLOW_STOP_TIMEOUT"] = str(int(self.stop_timeout))
        env.update(self.extra_env)
        return env

    def command(self, *args: str) -> list[str]:
        return ["bash", str(SCRIPT), *args, "--home", str(self.home)]

    def start(self) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        args = ["--detach", "--port", str(self.port)]
        if self.db_url:
            args += ["--db", self.db_url]
        if self.celery:
            args.append("--celery")
        try:
            proc = subprocess.run(self.command(*args), env=self.environment(), cwd=REPO_ROOT,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=self.start_timeout + 300)
        except subprocess.TimeoutExpired as exc:
            self._remember_pgids()
            raise StackError(f"scripts/airflow.sh did not return:\n{exc.stdout}\n{exc.stderr}\n"
                             f"{self.log_tail()}") from exc
        finally:
            self._remember_pgids()
        self.start_output = proc.stdout + proc.stderr
        if proc.returncode != 0:
            raise StackError(f"scripts/airflow.sh --detach failed (exit {proc.returncode}):\n"
                             f"{self.start_output[-6000:]}\n{self.log_tail()}")
        return self

    def stop(self) -> None:
        """`scripts/airflow.sh stop`, then KILL any process group it left (never raises)."""
        self._remember_pgids()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None
        with contextlib.suppress(Exception):
            subprocess.run(self.command("stop"), env=self.environment(), cwd=REPO_ROOT,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=self.stop_timeout + 60)
        for pgid in self._pgids.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_group_alive(g) for g in self._pgids.values()):
            time.sleep(0.2)

    def running_groups(self) -> dict[str, int]:
        """The components whose process group still has processes."""
        self._remember_pgids()
        return {name: pgid for name, pgid in self._pgids.items() if _group_alive(pgid)}

    def _remember_pgids(self) -> None:
        for pid_file in (self.home / "pids").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                self._pgids[pid_file.stem] = int(pid_file.read_text().strip())

    def __enter__(self) -> AirflowStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- logs --

    def log_path(self, component: str) -> Path:
        return self.home / "logs" / f"{component}.log"

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of every component log (for failure messages)."""
        parts = []
        for component in ("db-migrate", *COMPONENTS):
            path = self.log_path(component)
            if path.is_file():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"----- {path} (last {lines} lines)\n" + "\n".join(text))
        return "\n".join(parts) or f"(no component logs in {self.home / 'logs'})"

    # -- REST API --

    @property
    def password(self) -> str:
        path = self.home / "simple_auth_manager_passwords.json.generated"
        return json.loads(path.read_text())["admin"]

    def token(self) -> str:
        """A JWT for the admin user (POST /auth/token of the simple auth manager)."""
        response = httpx.post(f"{self.base_url}/auth/token",
                              json={"username": "admin", "password": self.password}, timeout=30)
        if response.status_code not in (200, 201):
            raise StackError(f"POST /auth/token: {response.status_code} {response.text[:500]}")
        self._token = response.json()["access_token"]
        return self._token

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url, timeout=60,
                headers={"Authorization": f"Bearer {self._token or self.token()}"})
        return self._client

    def api(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        """Call the REST API; returns the decoded JSON (raises StackError on other statuses)."""
        response = self.client.request(method, path, **kwargs)
        if response.status_code not in ok:
            raise StackError(f"{method} {path}: {response.status_code} {response.text[:1000]}")
        return response.json() if response.content else None

    def health(self) -> dict[str, Any]:
        return httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=30).json()

    def dag(self, dag_id: str) -> dict[str, Any]:
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait until the dag-processor has parsed `dag_id` and the API lists it."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.get(f"/api/v2/dags/{quote(dag_id, safe='')}")
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                errors = self.api("GET", "/api/v2/importErrors")
                raise StackError(f"DAG {dag_id} not listed after {timeout:.0f}s "
                                 f"(last answer {response.status_code}); import errors: "
                                 f"{json.dumps(errors)[:3000]}\n{self.log_tail()}")
            time.sleep(1)

    def unpause(self, dag_id: str) -> dict[str, Any]:
        return self.api("PATCH", f"/api/v2/dags/{quote(dag_id, safe='')}",
                        json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Trigger a run now; returns its run id."""
        run = self.api("POST", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns",
                       json={"logical_date": None, "conf": dict(conf or {})})
        return run["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/"
                               f"{quote(run_id, safe='')}")

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns",
                        params={"limit": 100})["dag_runs"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240,
                     poll: float = 2) -> str:
        """Wait until the run is success or failed; returns that state (StackError on timeout)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.dag_run(dag_id, run_id)["state"]
            if state in FINAL_RUN_STATES:
                return state
            dead = set(self._pgids) - set(self.running_groups())
            if dead:
                raise StackError(f"component(s) {sorted(dead)} died while run {run_id} was "
                                 f"{state}\n{self.log_tail()}")
            time.sleep(poll)
        raise StackError(f"run {run_id} of {dag_id} still {state} after {timeout:.0f}s; "
                         f"task instances: {self.summary(dag_id, run_id)}\n{self.log_tail()}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (state, duration, try_number, hostname, queue, ...)."""
        return self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/"
                               f"{quote(run_id, safe='')}/taskInstances",
                        params={"limit": 1000})["task_instances"]

    def summary(self, dag_id: str, run_id: str) -> str:
        """'task=state(duration s, try n)' for each task instance, for messages."""
        try:
            tis = self.task_instances(dag_id, run_id)
        except Exception as exc:  # a message helper must not hide the original failure
            return f"(task instances unavailable: {exc})"
        return ", ".join(f"{ti['task_id']}={ti['state']}({_seconds(ti['duration'])}, "
                         f"try {ti['try_number']})" for ti in tis)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1,
                 map_index: int = -1) -> str:
        """The task log as text."""
        data = self.api("GET", f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/"
                               f"{quote(run_id, safe='')}/taskInstances/"
                               f"{quote(task_id, safe='')}/logs/{try_number}",
                        params={"full_content": "true", "map_index": map_index},
                        headers={"Accept": "application/json"})
        lines = []
        for item in data.get("content") or []:
            if isinstance(item, dict):
                extra = {k: v for k, v in item.items() if k not in {"timestamp", "level", "event"}}
                line = " ".join(str(item.get(k, "")) for k in ("timestamp", "level", "event"))
                lines.append(f"{line} {extra}" if extra else line)
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def failed_task_logs(self, dag_id: str, run_id: str, tail: int = 40) -> str:
        """The last lines of the log of every task instance that did not succeed or skip."""
        parts = []
        with contextlib.suppress(Exception):
            for ti in self.task_instances(dag_id, run_id):
                if ti["state"] in ("success", "skipped") or not ti["try_number"]:
                    continue
                with contextlib.suppress(Exception):
                    text = self.task_log(dag_id, run_id, ti["task_id"], ti["try_number"],
                                         ti["map_index"])
                    body = "\n".join(text.splitlines()[-tail:])
                    parts.append(f"----- task {ti['task_id']} ({ti['state']}, try "
                                 f"{ti['try_number']})\n{body}")
        return "\n".join(parts)

    def assets(self, name: str | None = None, uri: str | None = None) -> list[dict[str, Any]]:
        """Assets whose name, or uri, is the one given (Airflow normalises `carbon://x` to
        `carbon://x/`: a trailing slash does not matter)."""
        params: dict[str, Any] = {"limit": 1000}
        if name:
            params["name_pattern"] = name
        if uri:
            params["uri_pattern"] = uri.rstrip("/")
        found = self.api("GET", "/api/v2/assets", params=params)["assets"]
        return [a for a in found if (not name or a["name"] == name)
                and (not uri or a["uri"].rstrip("/") == uri.rstrip("/"))]

    def asset_events(self, asset: str) -> list[dict[str, Any]]:
        """The events of the asset with this name or uri (oldest first)."""
        matches = self.assets(name=asset) or self.assets(uri=asset)
        events: list[dict[str, Any]] = []
        for found in matches:
            events += self.api("GET", "/api/v2/assets/events",
                               params={"asset_id": found["id"], "limit": 1000,
                                       "order_by": "timestamp"})["asset_events"]
        return events


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


@contextlib.contextmanager
def postgres_database(prefix: str = "carbon_sys_") -> Iterator[str]:
    """A fresh PostgreSQL database for the duration of the block; yields its SQLAlchemy URL."""
    name, url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(name)
