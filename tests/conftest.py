"""Test environment shared by the whole session.

The Airflow settings below are environment variables, so they are set here, at conftest import,
before any test module (or Airflow itself) is imported: Airflow reads its configuration once, at
import. The metadata DB is migrated lazily, only when a test marked `airflow` runs, so unit tests
stay fast.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from carbon_assess.errors import mask_url

from pg_server import ADMIN_URL, db_url

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_NBS = (REPO_ROOT / ".." / "shared" / "data" / "nbs").resolve()

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="carbon-assess-tests-"))
AIRFLOW_HOME = _SESSION_TMP / "airflow"
AIRFLOW_HOME.mkdir()

os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "GX_ANALYTICS_ENABLED": "False",
        "CARBON_ASSESS_HOME": str(_SESSION_TMP / "carbon_home"),
    }
)
# Settings of the developer's shell must not leak into the tests.
for _name in ("CARBON_LANDING_DIR", "CARBON_WAREHOUSE_URL"):
    os.environ.pop(_name, None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not os.environ.get("CARBON_KEEP_TEST_TMP"):
        shutil.rmtree(_SESSION_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the temp Airflow metadata DB once per session; returns AIRFLOW_HOME."""
    marker = AIRFLOW_HOME / ".migrated"
    if not marker.exists():
        proc = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            pytest.fail(f"airflow db migrate failed (exit {proc.returncode}):\n{tail}")
        marker.touch()
    return AIRFLOW_HOME


@pytest.fixture(autouse=True)
def _airflow_marked_tests_get_a_db(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("airflow") is not None:
        request.getfixturevalue("airflow_db")


@pytest.fixture(scope="session")
def shared_nbs() -> Path:
    """The real NBS extracts in ../shared/data/nbs (never copied into this repo)."""
    if not SHARED_NBS.is_dir():
        message = f"real NBS data not found at {SHARED_NBS}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_NBS


# --- PostgreSQL: a real server (tests/pg_server.py), a fresh database per test ---------------


@pytest.fixture(scope="session")
def server() -> None:
    """Fail (under CI) or skip (locally) when the PostgreSQL server is unreachable."""
    import psycopg

    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        message = (f"PostgreSQL is not reachable at {mask_url(ADMIN_URL)} "
                   f"(set CARBON_TEST_PG_URL): {str(exc).strip().splitlines()[0]}")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_url(server) -> Iterator[str]:
    """A fresh database for one test, dropped at the end (connections and all)."""
    import psycopg

    name = f"carbon_test_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        yield db_url(name)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh warehouse URL of each engine: an embedded DuckDB file, the test PostgreSQL."""
    if request.param == "duckdb":
        return f"duckdb://{tmp_path / 'w.duckdb'}"
    return request.getfixturevalue("pg_url")
