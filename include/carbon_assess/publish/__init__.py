"""Publish: swap a run's computed tables into the warehouse atomically and log the run.

Warehouse URLs: `duckdb:///path/to/file.duckdb` (embedded, default) or
`postgresql://user@host:port/dbname` (production). The schema is `carbon`; the release before the
current one is kept in `carbon_previous` so that `rollback` can restore it.

Both engines get the same tables, types, primary keys, rows (in key order), analyst views and
`COMMENT ON` documentation, all driven by `carbon_assess.publish.catalog`:

- DuckDB (`duckdb_warehouse`): one DuckDB transaction rebuilds schema `carbon`.
- PostgreSQL (`postgres_warehouse`): COPY into a staging schema, then one short transaction
  renames schemas (carbon → carbon_previous, staging → carbon), moving the run log along.

`table_checksums(url)` gives one digest per published table, for proving idempotence and
engine equality.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from carbon_assess.errors import WarehouseError

SCHEMA = "carbon"
PREVIOUS_SCHEMA = "carbon_previous"
READER_ROLE = "carbon_reader"
LOCK_TIMEOUT_ENV = "CARBON_PUBLISH_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 120.0  # seconds a publish waits for another one to finish

PUBLISHED_TABLES = (
    "dim_province",
    "dim_plan",
    "dim_target",
    "dim_emission_factor",
    "fct_energy_activity",
    "fct_emissions",
    "fct_province_year",
    "fct_intensity",
    "fct_intensity_decomposition",
    "fct_measures_score",
    "fct_target_assessment",
    "fct_national_year",
    "fct_national_intensity",
    "fct_national_reconciliation",
)


@dataclass(frozen=True)
class WarehouseUrl:
    kind: str  # "duckdb" | "postgresql"
    target: str  # file path for duckdb, the libpq URL for postgresql


def parse_warehouse_url(url: str) -> WarehouseUrl:
    """`duckdb:///abs/path.duckdb` (as a file URL: the path after `duckdb://` is absolute),
    `duckdb:relative/path.duckdb`, or a PostgreSQL libpq URL."""
    if url.startswith("duckdb://"):
        path = "/" + url.removeprefix("duckdb://").lstrip("/")
        if path != "/":
            return WarehouseUrl("duckdb", path)
    elif url.startswith("duckdb:") and len(url) > len("duckdb:"):
        return WarehouseUrl("duckdb", url.removeprefix("duckdb:"))
    elif url.startswith(("postgresql://", "postgres://")):
        return WarehouseUrl("postgresql", url)
    raise WarehouseError(
        f"unsupported warehouse URL {url!r}: use duckdb:///path/to/file.duckdb "
        "or postgresql://user@host:port/dbname"
    )


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    import subprocess

    from carbon_assess import __version__

    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except OSError:
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def run_record(workdir: Path, status: str) -> dict[str, Any]:
    """The `meta_pipeline_run` row for this run, from the files in its work directory."""
    info = json.loads((workdir / "run.json").read_text(encoding="utf-8"))
    ingest = json.loads((workdir / "ingest_report.json").read_text(encoding="utf-8"))
    inputs = [
        {"file": i["file"], "sheet": i["sheet"], "sha256": i["sha256"],
         "observations": i["observations"]}
        for i in ingest["inputs"]
    ]
    return {
        "run_id": info["run_id"],
        "started_at": datetime.fromisoformat(info["started_at"]),
        "finished_at": datetime.now(UTC),
        "status": status,
        "code_version": code_version(),
        "vintage": info["vintage"],
        "method": info["method"],
        "factor_version": None,
        "landing": info["landing"],
        "input_files": json.dumps(inputs, ensure_ascii=False, sort_keys=True),
        "row_counts": None,
        "warnings": len(ingest["warnings"]),
    }


def mask_url(url: str) -> str:
    """The URL with its password (if any) replaced by ***, for messages and logs."""
    url = re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^/]*@", r"\1:***@", url, flags=re.I)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url, flags=re.I)


def _url_password(url: str) -> str:
    """The password of a libpq URL or conninfo string ('' if none or unparsable)."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        return str(conninfo_to_dict(url).get("password") or "")
    except Exception:  # psycopg missing or an unparsable URL: fall back to the URL syntax
        try:
            return unquote(urlsplit(url).password or "")
        except ValueError:
            return ""


def one_line_error(exc: BaseException, url: str = "") -> str:
    """A driver error as one line for the user: URLs masked, `url`'s password removed."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = mask_url(text or type(exc).__name__)
    password = _url_password(url) if url else ""
    if password:
        text = text.replace(password, "***")
    return text[:400]


def lock_timeout_seconds(value: float | None = None) -> float:
    """How long a publish waits for a concurrent one (on PostgreSQL also, at the swap, for
    readers' open transactions): the argument, else $CARBON_PUBLISH_LOCK_TIMEOUT, else 120 s."""
    if value is not None:
        return float(value)
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "")
    try:
        return float(raw) if raw else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        raise WarehouseError(f"{LOCK_TIMEOUT_ENV}={raw!r} is not a number of seconds") from None


def publish(
    workdir: Path, warehouse_url: str, *, lock_timeout: float | None = None
) -> dict[str, Any]:
    """Publish the run in `workdir` atomically; a concurrent publish to the same warehouse makes
    this one wait up to `lock_timeout` seconds, then fail with WarehouseError."""
    target = parse_warehouse_url(warehouse_url)
    timeout = lock_timeout_seconds(lock_timeout)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import publish_duckdb

        return publish_duckdb(Path(workdir), Path(target.target), lock_timeout=timeout)
    from carbon_assess.publish.postgres_warehouse import publish_postgres

    return publish_postgres(Path(workdir), target.target, lock_timeout=timeout)


def init_warehouse(warehouse_url: str) -> dict[str, Any]:
    """Create schemas, run-log tables (and, on PostgreSQL, the role `carbon_reader` and its
    grants); idempotent."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import init_duckdb

        init_duckdb(Path(target.target))
        return {"warehouse": target.target, "schemas": [SCHEMA, PREVIOUS_SCHEMA]}
    from carbon_assess.publish.postgres_warehouse import init_postgres

    return init_postgres(target.target)


def rollback(warehouse_url: str) -> dict[str, Any]:
    """Swap the previous release back in (the current one becomes the previous)."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import rollback_duckdb

        return rollback_duckdb(Path(target.target))
    from carbon_assess.publish.postgres_warehouse import rollback_postgres

    return rollback_postgres(target.target, lock_timeout=lock_timeout_seconds())


# One SQL text for both engines (`?` placeholders; psycopg gets `%s`). Rounding happens in Python
# (PostgreSQL has no round(double precision, int)), so both engines return the same values.
ASSESSMENT_QUERY = f"""
    select
        a.plan_id as plan,
        a.province_code as code,
        p.name_en as province,
        a.assessment_year as year,
        a.target_pct,
        a.cumulative_decline_pct as decline_pct,
        a.expected_decline_pct as expected_pct,
        a.status,
        a.target_score,
        a.measures_score,
        a.total_score,
        a.grade
    from {SCHEMA}.fct_target_assessment as a
    join {SCHEMA}.dim_province as p on p.province_code = a.province_code
    where (cast(? as varchar) is null or a.plan_id = ?)
      and (cast(? as varchar) is null or a.province_code = ?)
      and (cast(? as integer) is null or a.assessment_year = ?)
    order by a.plan_id, a.province_code, a.assessment_year
"""
_ROUNDED = ("decline_pct", "expected_pct")


def query_assessment(
    warehouse_url: str,
    plan: str | None = None,
    province: str | None = None,
    year: int | None = None,
) -> tuple[list[str], list[tuple]]:
    """Column names and rows of the published assessment, filtered."""
    target = parse_warehouse_url(warehouse_url)
    params = [plan, plan, province, province, year, year]
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import connect_warehouse

        with connect_warehouse(Path(target.target), read_only=True) as con:
            tables = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = 'fct_target_assessment'",
                [SCHEMA],
            ).fetchone()[0]
            if not tables:
                raise WarehouseError(f"warehouse {target.target} has no published assessment")
            cursor = con.execute(ASSESSMENT_QUERY, params)
            columns, rows = [d[0] for d in cursor.description], cursor.fetchall()
    else:
        from carbon_assess.publish.postgres_warehouse import query_postgres

        columns, rows = query_postgres(target.target, ASSESSMENT_QUERY, params)
    rounded = [i for i, c in enumerate(columns) if c in _ROUNDED]
    rows = [
        tuple(round(v, 2) if i in rounded and v is not None else v for i, v in enumerate(row))
        for row in rows
    ]
    return columns, rows


def rows_digest(columns: Iterable[str], rows: Iterable[tuple]) -> str:
    """SHA-256 of the column names and rows (in the given order), engine-independent: values are
    JSON-encoded (floats exactly, booleans as booleans, timestamps in ISO 8601)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(list(columns)).encode())
    for row in rows:
        digest.update(b"\n")
        digest.update(json.dumps(list(row), default=str, ensure_ascii=False).encode())
    return digest.hexdigest()


def table_checksums(
    warehouse_url: str, schema: str = SCHEMA, tables: Iterable[str] = PUBLISHED_TABLES
) -> dict[str, str]:
    """Per published table, the digest of its rows in key order (see `rows_digest`)."""
    target = parse_warehouse_url(warehouse_url)
    if target.kind == "duckdb":
        from carbon_assess.publish.duckdb_warehouse import duckdb_checksums

        return duckdb_checksums(Path(target.target), schema, tuple(tables))
    from carbon_assess.publish.postgres_warehouse import postgres_checksums

    return postgres_checksums(target.target, schema, tuple(tables))


def warehouse_url_from_airflow_connection(conn_id: str) -> str:
    """The `postgresql://` warehouse URL of an Airflow Connection, read through the Postgres
    provider's hook (login, password, host, port, schema = database, extras as query
    parameters). Credentials stay in Airflow's connection store; never log the result
    unmasked (`mask_url`)."""
    from urllib.parse import quote, urlencode

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
