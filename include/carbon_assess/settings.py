"""Settings of the Airflow DAG and the UI plugin: one lookup order, one set of defaults.

Each setting is looked up in this order, the first non-empty value winning:

    run conf / DAG param  ->  Airflow Variable  ->  environment variable  ->  default

`warehouse_conn_id` (an Airflow Postgres connection) wins over `warehouse_url`. Defaults that are
paths live under the project's `var/` folder (`project_root` is the folder holding `dags/`, passed
by the DAG and the plugin), or under `$CARBON_ASSESS_HOME` for the work area.

Cheap to import (no pandas, GX, DuckDB): the DAG file reads `SETTINGS` and `METHODS` at parse
time. Airflow itself is imported only inside the functions that need it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from carbon_assess import reference
from carbon_assess.errors import CarbonAssessError, WarehouseError, mask_url, url_password
from carbon_assess.workdir import HOME_ENV, assess_home

log = logging.getLogger(__name__)

DAG_ID = "carbon_intensity_assessment"
EXPORT_DAG_ID = "carbon_export"
FETCH_DAG_ID = "nbs_fetch"
METHODS = tuple(row["method"] for row in reference.load("methods"))
DEFAULT_METHOD = next(r["method"] for r in reference.load("methods") if r["default"] == "true")


@dataclass(frozen=True)
class Setting:
    """A run setting: its Airflow Variable, environment variable and default."""

    name: str
    title: str
    variable: str | None
    env: str | None
    default: Callable[[Path], str | None]
    default_text: str  # the default as the docs and the trigger form say it
    run_param: bool = True  # offered in the trigger form (False: deployment-wide only)

    def describe(self) -> str:
        """'Empty: Variable x, env Y, <default>.' for the trigger form."""
        steps = [f"Variable {self.variable}"] if self.variable else []
        steps += [f"env {self.env}"] if self.env else []
        return "Empty: " + ", ".join([*steps, self.default_text]) + "."


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("landing_dir", "Landing folder", "carbon_landing_dir", "CARBON_LANDING_DIR",
            lambda root: str(root / "var" / "landing"), "<repo>/var/landing"),
    Setting("warehouse_url", "Warehouse URL", "carbon_warehouse_url", "CARBON_WAREHOUSE_URL",
            lambda root: f"duckdb:///{root / 'var' / 'warehouse.duckdb'}",
            "duckdb:///<repo>/var/warehouse.duckdb"),
    Setting("warehouse_conn_id", "Warehouse Airflow connection", "carbon_warehouse_conn_id",
            "CARBON_WAREHOUSE_CONN_ID", lambda root: None, "none"),
    Setting("vintage", "Vintage", "carbon_vintage", None, lambda root: "unlabelled",
            "'unlabelled'"),
    Setting("nbs_base_url", "NBS data portal site root", "carbon_nbs_base_url",
            "CARBON_NBS_BASE_URL", lambda root: "https://data.stats.gov.cn",
            "https://data.stats.gov.cn", run_param=False),
    Setting("alert_conn_id", "Alert SMTP connection", "carbon_alert_conn_id",
            "CARBON_ALERT_CONN_ID", lambda root: None, "none: alerts off", run_param=False),
    Setting("alert_to", "Alert recipients", "carbon_alert_to", "CARBON_ALERT_TO",
            lambda root: None, "none: alerts off", run_param=False),
)}
RUN_PARAMS = tuple(name for name, setting in SETTINGS.items() if setting.run_param)

POLL_ENV = "CARBON_LANDING_POLL_SECONDS"
DEFAULT_POLL_SECONDS = 60.0


def landing_poll_seconds() -> float:
    """How often the triggerer hashes the landing folder: $CARBON_LANDING_POLL_SECONDS, else
    60 s. A release is announced once two polls in a row see the same content."""
    raw = os.environ.get(POLL_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_POLL_SECONDS
    except ValueError:
        raise CarbonAssessError(f"{POLL_ENV}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise CarbonAssessError(f"{POLL_ENV}={raw!r} must be a positive number of seconds")
    return value


FETCH_SCHEDULE_ENV = "CARBON_NBS_FETCH_SCHEDULE"
DEFAULT_FETCH_SCHEDULE = "0 6 1 * *"  # monthly: the 1st, 06:00 UTC


def nbs_fetch_schedule() -> str | None:
    """The cron schedule of the DAG `nbs_fetch`: $CARBON_NBS_FETCH_SCHEDULE (read when the DAG
    is parsed, like the landing watcher's settings), else monthly; `none` or `off`: on demand
    only."""
    raw = os.environ.get(FETCH_SCHEDULE_ENV, "").strip()
    if raw.lower() in ("none", "off"):
        return None
    return raw or DEFAULT_FETCH_SCHEDULE


DUCKDB_MEMORY_ENV = "CARBON_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY = "2GB"


def duckdb_connect(database: Path | str | None, temp_directory: Path, *,
                   keep_order: bool = False, read_only: bool = False,
                   memory_limit: str | None = None) -> Any:
    """A DuckDB connection for large batches (ingest, validation, compute, assess, the
    warehouse): a memory limit (`memory_limit`, else $CARBON_DUCKDB_MEMORY_LIMIT, else 2GB;
    DuckDB spills to `temp_directory` beyond it, so a 50M-row batch runs in bounded memory), no
    progress bar and, unless `keep_order` (the warehouse stores tables in key order,
    catalog.row_order; ingest keeps file order), no insertion-order preservation. Set
    with SET after connecting, not as connect-time config: DuckDB refuses a second connection
    to a file that another connection of the process opened with other config."""
    import duckdb

    limit = memory_limit or os.environ.get(DUCKDB_MEMORY_ENV, "").strip() or DEFAULT_DUCKDB_MEMORY
    con = duckdb.connect(":memory:" if database is None else str(database), read_only=read_only)
    try:
        con.execute("set memory_limit = ?", [limit])
        con.execute("set temp_directory = ?", [str(temp_directory)])
        con.execute(f"set preserve_insertion_order = {'true' if keep_order else 'false'}")
        con.execute("set enable_progress_bar = false")
    except Exception:
        con.close()
        raise
    return con


def duckdb_table(con: Any, name: str, columns: dict[str, str], rows: list[tuple]) -> None:
    """A table `name` (column -> DuckDB type) holding `rows` (tuples in `columns` order), passed
    as one list parameter per column: Arrow built from Python objects would import pandas
    into a task that needs none."""
    ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
    con.execute(f"create or replace table {name} ({ddl})")
    if rows:
        lists = ", ".join(f"unnest(?::{t}[])" for t in columns.values())
        con.execute(f"insert into {name} select {lists}",
                    [[r[i] for r in rows] for i in range(len(columns))])


def home(project_root: Path) -> Path:
    """The assessment home of the DAGs and the plugin: `$CARBON_ASSESS_HOME`, else
    `<repo>/var` (never the worker's current directory). Runs, quarantine, exports and the
    landing watcher's memory live below it."""
    return assess_home(project_root / "var")


def watch_dir(project_root: Path) -> Path:
    """Where the landing watcher remembers the last content it announced (beside runs/)."""
    return home(project_root) / "watch"


def _in_task() -> bool:
    """True inside a task (the Task SDK talks to the API server), False in the API server."""
    return hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS")


def airflow_variable(name: str) -> str | None:
    """An Airflow Variable, None when unset or unreadable. Tasks read it through the Task SDK,
    the API server (plugin) from the metadata database."""
    try:
        if _in_task():
            from airflow.sdk import Variable

            value = Variable.get(name, default=None)
        else:
            from airflow.models import Variable

            value = Variable.get(name, default_var=None)
    except Exception as exc:  # a Variable must never take a task or a page down
        log.warning("cannot read Airflow Variable %s: %s", name, exc)
        return None
    return None if value in (None, "") else str(value)


def resolve(name: str, params: Mapping[str, Any] | None, project_root: Path,
            variable: Callable[[str], str | None] = airflow_variable) -> str | None:
    """The value of setting `name`: param, Variable, environment, default (first non-empty)."""
    setting = SETTINGS[name]
    value = (params or {}).get(name)
    if value not in (None, ""):
        return str(value)
    if setting.variable and (value := variable(setting.variable)):
        return value
    if setting.env and (value := os.environ.get(setting.env)):
        return value
    return setting.default(project_root)


def warehouse_url(params: Mapping[str, Any] | None, project_root: Path) -> str:
    """The warehouse to publish to or read from: the Airflow connection when one is set, else
    the URL setting."""
    conn_id = resolve("warehouse_conn_id", params, project_root)
    if conn_id:
        return warehouse_url_from_airflow_connection(conn_id)
    return str(resolve("warehouse_url", params, project_root))


def runs_dir(project_root: Path) -> Path:
    """Where each run's work directory lives: `$CARBON_ASSESS_HOME/runs`, else
    `<repo>/var/runs` (never the worker's current directory)."""
    return home(project_root) / "runs"


def quarantine_dir(project_root: Path) -> Path:
    """Where rejected batches and their report.md are kept (as `Run.quarantine` places them)."""
    return home(project_root) / "quarantine"


def snapshots_dir(project_root: Path) -> Path:
    """Where `carbon-assess fetch` and the DAG `nbs_fetch` keep every fetch's snapshot."""
    return home(project_root) / "snapshots"


def exports_dir(project_root: Path) -> Path:
    """Where the export DAG writes the analyst views of each release (Parquet and CSV)."""
    return home(project_root) / "exports"


def display_url(url: str) -> str:
    """The URL for a log line: its password masked wherever it is (`user:pw@`, `?password=`),
    and registered with Airflow's secrets masker so that it never reaches a task log."""
    password = url_password(url)
    if password:
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(password)
        except ImportError:  # pragma: no cover - outside Airflow
            pass
    return mask_url(url)


def warehouse_url_from_airflow_connection(conn_id: str) -> str:
    """The `postgresql://` warehouse URL of an Airflow Connection, read through the Postgres
    provider's hook (login, password, host, port, schema = database, extras as query
    parameters). Credentials stay in Airflow's connection store; log it with `display_url`."""
    try:
        from airflow.providers.postgres.hooks.postgres import PostgresHook
    except ImportError:
        raise WarehouseError(
            "apache-airflow-providers-postgres is not installed; cannot read Airflow connection "
            f"{conn_id!r}"
        ) from None
    hook = PostgresHook(postgres_conn_id=conn_id)
    try:
        conn = hook.connection
    except Exception as exc:  # AirflowNotFoundException and friends
        raise WarehouseError(f"Airflow connection {conn_id!r}: {exc}") from None
    database = hook.database or conn.schema
    if not conn.host or not database:
        raise WarehouseError(
            f"Airflow connection {conn_id!r} needs a host and a database (the 'schema' field)"
        )
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    host = f"[{conn.host}]" if ":" in conn.host else conn.host
    port = f":{int(conn.port)}" if conn.port else ""
    extras = {
        k: v
        for k, v in sorted(conn.extra_dejson.items())
        if k not in hook.ignored_extra_options and isinstance(v, str | int | float)
    }
    query = f"?{urlencode(extras)}" if extras else ""
    return f"postgresql://{auth}{host}{port}/{quote(database, safe='')}{query}"


__all__ = ["DAG_ID", "DEFAULT_FETCH_SCHEDULE", "DEFAULT_METHOD", "EXPORT_DAG_ID",
           "FETCH_DAG_ID", "FETCH_SCHEDULE_ENV", "HOME_ENV", "METHODS", "POLL_ENV",
           "RUN_PARAMS", "SETTINGS", "Setting", "airflow_variable", "display_url",
           "exports_dir", "home", "landing_poll_seconds", "nbs_fetch_schedule",
           "quarantine_dir", "resolve", "runs_dir", "snapshots_dir", "warehouse_url",
           "warehouse_url_from_airflow_connection", "watch_dir"]
