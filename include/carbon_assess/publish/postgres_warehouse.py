"""The production warehouse on PostgreSQL (psycopg 3).

A publish, under a per-database advisory lock (a second publish waits, then fails clearly):

1. Stage: in one transaction, create schema `carbon_staging_<run>`, create each table with the
   types of compute.duckdb (VARCHAR→text, DOUBLE→double precision, ...), bulk-load it with
   `COPY ... FROM STDIN (FORMAT csv)` fed by Arrow record batches read out of compute.duckdb in
   key order (CSV written by Arrow in C: no per-row Python, no INSERT), add the primary key and
   indexes, the analyst views, the `COMMENT ON` documentation; check the row counts; ANALYZE.
   Nobody else can see the staging schema. A crash here leaves `carbon` untouched (and, the
   transaction being rolled back, no staging schema either).
2. Swap, in one short transaction: upsert the run log, take ACCESS EXCLUSIVE locks on the
   outgoing release (retried under a short lock_timeout, so a reader can never deadlock it),
   move the run-log tables (`meta_*`) into the staging schema, drop the old `carbon_previous`,
   rename `carbon` → `carbon_previous` and staging → `carbon`, re-grant `carbon_reader`.
   If the swap fails (e.g. a session kept a transaction open on `carbon` for longer than the
   lock timeout: the message names it) the staging schema is dropped and `carbon` is unchanged;
   a staging schema orphaned by a crash between the two steps is dropped by the next publish.

Readers in READ COMMITTED see, per statement, the old release or the new one, never a mix and
never an empty table: a statement that already holds the old tables finishes on them (the swap
waits for it), one that starts during the swap waits and then resolves the new tables. (A
REPEATABLE READ transaction whose snapshot predates a publish would see the new tables as empty,
as with any PostgreSQL DDL swap: analysts should not hold such transactions open across a
publish. Views that analysts create *outside* schema `carbon` on its tables bind to the tables,
not the names: they follow the release into `carbon_previous` and are dropped with it.)
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError, mask_url, one_line_error
from carbon_assess.publish.catalog import (
    META_TABLES,
    PG_TYPES,
    VIEWS,
    comment_statements,
    row_order,
    table,
)
from carbon_assess.publish.common import (
    PREVIOUS_SCHEMA,
    PUBLISHED_TABLES,
    READER_ROLE,
    SCHEMA,
    PublishResult,
    rows_digest,
    run_record,
)
from carbon_assess.workdir import Run

# pg_advisory_lock key of "a publish / rollback / init is running in this database".
LOCK_KEY = int.from_bytes(b"carbonpb", "big") >> 1
STAGING_PREFIX = "carbon_staging_"
SWAP_SCHEMA = "carbon_swap"
BATCH_ROWS = 100_000
SWAP_LOCK_TRY = "500ms"  # lock_timeout of one attempt to lock the outgoing release


# ---------------------------------------------------------------------------------- connection


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise WarehouseError("psycopg 3 is needed for PostgreSQL warehouses") from None
    return psycopg


def connect(url: str, connect_timeout: int = 10) -> Any:
    """An autocommit psycopg connection; any failure is a one-line WarehouseError."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=connect_timeout,
            application_name="carbon-assess",
        )
    except (psycopg.Error, ValueError) as exc:
        raise WarehouseError(
            f"cannot connect to PostgreSQL warehouse {mask_url(url)}: {one_line_error(exc, url)}"
        ) from None


@contextmanager
def _errors(url: str, action: str) -> Iterator[None]:
    psycopg = _psycopg()
    try:
        yield
    except WarehouseError:
        raise
    except psycopg.Error as exc:
        raise WarehouseError(
            f"{action} on {mask_url(url)} failed: {one_line_error(exc, url)}"
        ) from None


def _ident(*names: str) -> Any:
    from psycopg import sql

    return sql.Identifier(*names)


def _sql(text: str, *args: Any, **kwargs: Any) -> Any:
    from psycopg import sql

    return sql.SQL(text).format(*args, **kwargs)


def _raw(text: str) -> Any:
    from psycopg import sql

    return sql.SQL(text)


def _join(parts: list[Any]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(parts)


# ---------------------------------------------------------------------------------- locking


def _acquire_lock(conn: Any, url: str, timeout: float, action: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if conn.execute("select pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()[0]:
            return
        if time.monotonic() >= deadline:
            holder = conn.execute(
                """
                select a.pid, coalesce(nullif(a.application_name, ''), '?'),
                       to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ')
                from pg_locks as l
                join pg_stat_activity as a on a.pid = l.pid
                where l.locktype = 'advisory' and l.granted
                  and l.database = (select oid from pg_database
                                    where datname = current_database())
                  and l.classid::bigint = %s and l.objid::bigint = %s
                """,
                [LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF],
            ).fetchone()
            by = f" (held by pid {holder[0]}, {holder[1]}, since {holder[2]})" if holder else ""
            raise WarehouseError(
                f"{action} on {mask_url(url)}: another publish is in progress{by}; "
                f"gave up after waiting {timeout:g} s, retry when it has finished"
            )
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0.01)))


def _release_lock(conn: Any) -> None:
    if conn.closed:
        return
    with suppress(Exception):  # the session ends anyway; its locks go with it
        conn.execute("select pg_advisory_unlock(%s)", [LOCK_KEY])


@contextmanager
def _locked(conn: Any, url: str, timeout: float, action: str) -> Iterator[None]:
    _acquire_lock(conn, url, timeout, action)
    try:
        yield
    finally:
        _release_lock(conn)


def _lock_exclusive(conn: Any, relations: list[tuple[str, str]], what: str,
                    timeout: float) -> None:
    """ACCESS EXCLUSIVE locks on `relations`, in this transaction. Each attempt waits at most
    SWAP_LOCK_TRY (readers queue behind it meanwhile); a lock timeout or a deadlock with a
    reader rolls back to a savepoint and retries, for up to `timeout` seconds in all."""
    psycopg = _psycopg()
    if not relations:
        return
    statement = _sql(
        "lock table {} in access exclusive mode",
        _join([_ident(s, n) for s, n in relations]),
    )
    conn.execute(_sql("set local lock_timeout = {}", _literal(SWAP_LOCK_TRY)))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with conn.transaction():
                conn.execute(statement)
            break
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            if time.monotonic() >= deadline:
                raise WarehouseError(
                    f"could not get exclusive access to {what} within {timeout:g} s, "
                    f"{_lock_holders(conn, relations)}; nothing was changed"
                ) from None
            time.sleep(0.02)
    conn.execute("set local lock_timeout = '30s'")


def _lock_holders(conn: Any, relations: list[tuple[str, str]]) -> str:
    """Who holds locks on `relations` (for the error message)."""
    with conn.transaction():
        rows = conn.execute(
            """
            select distinct a.pid, coalesce(a.usename, '?'), coalesce(a.state, '?'),
                   coalesce(to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?')
            from pg_locks as l
            join pg_stat_activity as a on a.pid = l.pid
            where l.granted and l.pid <> pg_backend_pid()
              and l.relation = any(%s::regclass[])
            order by 1
            limit 5
            """,
            [[f'"{s}"."{n}"' for s, n in relations]],
        ).fetchall()
    if not rows:
        return "held by short queries"
    return "held by " + ", ".join(
        f"pid {pid} ({user}, {state}, transaction since {since})"
        for pid, user, state, since in rows
    )


def _literal(value: Any) -> Any:
    from psycopg import sql

    return sql.Literal(value)


# ---------------------------------------------------------------------------------- DDL


def pg_type(duck_type: str, where: str = "") -> str:
    """The PostgreSQL type of a DuckDB column type (same semantics)."""
    if duck_type in PG_TYPES:
        return PG_TYPES[duck_type]
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duck_type)
    if decimal:
        return f"numeric({decimal[1]}, {decimal[2]})"
    raise WarehouseError(
        f"{where}: DuckDB type {duck_type} has no PostgreSQL mapping; cast it in the compute SQL"
    )


def _create_table(conn: Any, schema: str, name: str, columns: list[tuple[str, str]],
                  if_not_exists: bool = False) -> None:
    parts = [
        _sql("{} " + pg_type(t, f"{name}.{c}"), _ident(c))  # type names are from PG_TYPES
        for c, t in columns
    ]
    conn.execute(
        _sql(
            "create table " + ("if not exists " if if_not_exists else "") + "{} ({})",
            _ident(schema, name),
            _join(parts),
        )
    )


def _add_keys(conn: Any, schema: str, name: str, names: list[str]) -> None:
    doc = table(name)
    key = [c for c in doc.primary_key if c in names]
    if key and len(key) == len(doc.primary_key):
        conn.execute(
            _sql(
                "alter table {} add constraint {} primary key ({})",
                _ident(schema, name),
                _ident(f"{name}_pkey"),
                _join([_ident(c) for c in key]),
            )
        )
    for columns in doc.indexes:
        if all(c in names for c in columns):
            conn.execute(
                _sql(
                    "create index if not exists {} on {} ({})",
                    _ident(f"{name}__{'_'.join(columns)}"[:63]),
                    _ident(schema, name),
                    _join([_ident(c) for c in columns]),
                )
            )


def _ensure_base(conn: Any, create_role: bool, strict: bool) -> list[str]:
    """Schemas, run-log tables and (optionally) the reader role; returns notes."""
    psycopg = _psycopg()
    notes = []
    with conn.transaction():
        conn.execute(_sql("create schema if not exists {}", _ident(SCHEMA)))
        conn.execute(_sql("create schema if not exists {}", _ident(PREVIOUS_SCHEMA)))
        present = {}
        for name in META_TABLES:
            doc = table(name)
            columns = [(c.name, c.type) for c in doc.columns]
            _create_table(conn, SCHEMA, name, columns, if_not_exists=True)
            exists_key = conn.execute(
                "select 1 from pg_constraint where conrelid = to_regclass(%s) and contype = 'p'",
                [f"{SCHEMA}.{name}"],
            ).fetchone()
            if not exists_key:
                _add_keys(conn, SCHEMA, name, [c for c, _ in columns])
            present[name] = [c for c, _ in columns]
        for statement in comment_statements(SCHEMA, present):
            conn.execute(statement)
    if create_role and not _role_exists(conn):
        try:
            with conn.transaction():
                conn.execute(
                    _sql(
                        """
                        do $$ begin
                            create role {} nologin;
                        exception when duplicate_object or unique_violation then null;
                        end $$
                        """,
                        _ident(READER_ROLE),
                    )
                )
        except psycopg.errors.InsufficientPrivilege as exc:
            message = (
                f"cannot create role {READER_ROLE} ({one_line_error(exc, '')}): run `carbon-assess "
                "warehouse init` as a role with CREATEROLE"
            )
            if strict:
                raise WarehouseError(message) from None
            notes.append(message)
    if _role_exists(conn):
        try:
            conn.execute(
                _sql("grant connect on database {} to {}",
                     _ident(conn.info.dbname), _ident(READER_ROLE))
            )
        except psycopg.errors.InsufficientPrivilege:
            notes.append(f"could not grant CONNECT on database {conn.info.dbname} to "
                         f"{READER_ROLE} (not the database owner)")
        with conn.transaction():
            _grant_reader(conn)
    return notes


def _role_exists(conn: Any) -> bool:
    return bool(conn.execute("select 1 from pg_roles where rolname = %s", [READER_ROLE])
                .fetchone())


def _grant_reader(conn: Any) -> bool:
    """`carbon_reader` may read schema `carbon` (now and after future swaps), nothing else."""
    if not _role_exists(conn):
        return False
    role = _ident(READER_ROLE)
    for statement in (
        "grant usage on schema {current} to {role}",
        "grant select on all tables in schema {current} to {role}",
        "alter default privileges in schema {current} grant select on tables to {role}",
        "revoke all on schema {previous} from {role}",
        "revoke all on all tables in schema {previous} from {role}",
        "alter default privileges in schema {previous} revoke all on tables from {role}",
    ):
        conn.execute(_sql(statement, current=_ident(SCHEMA), previous=_ident(PREVIOUS_SCHEMA),
                          role=role))
    return True


def _schemas_like(conn: Any, prefix: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select nspname from pg_namespace where starts_with(nspname, %s) order by 1",
            [prefix],
        ).fetchall()
    ]


def _drop_stale_staging(conn: Any) -> list[str]:
    """Staging schemas left by a publish that died (we hold the lock: none is in use)."""
    stale = _schemas_like(conn, STAGING_PREFIX)
    for schema in stale:
        conn.execute(_sql("drop schema {} cascade", _ident(schema)))
    return stale


def _tables_in(conn: Any, schema: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_type = 'BASE TABLE' order by 1",
            [schema],
        ).fetchall()
    ]


def staging_schema(run_id: str) -> str:
    return (STAGING_PREFIX + re.sub(r"[^a-z0-9_]", "_", run_id.lower()))[:63]


# ---------------------------------------------------------------------------------- load


def _duck_columns(duck: Any, name: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in duck.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'main' and table_name = ? order by ordinal_position",
            [name],
        ).fetchall()
    ]


def _quote_duck(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_arrow(conn: Any, reader: Any, schema: str, name: str, names: list[str]) -> int:
    """COPY the record batches of `reader` into schema.name as CSV (written by Arrow in C).
    NULL is an unquoted empty field, strings are always quoted (so '' stays '')."""
    import pyarrow.csv as pacsv

    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    statement = _sql(
        "copy {} ({}) from stdin (format csv)",
        _ident(schema, name),
        _join([_ident(c) for c in names]),
    )
    rows = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
            rows += batch.num_rows
    return rows


def _load_table(conn: Any, duck: Any, schema: str, name: str,
                columns: list[tuple[str, str]]) -> int:
    names = [c for c, _ in columns]
    _create_table(conn, schema, name, columns)
    select = ", ".join(_quote_duck(c) for c in names)
    order = ", ".join(_quote_duck(c) for c in row_order(name, names))
    with duck.cursor() as cursor:
        reader = cursor.sql(f"select {select} from main.{_quote_duck(name)} order by {order}")
        rows = _copy_arrow(conn, reader.to_arrow_reader(BATCH_ROWS), schema, name, names)
    _add_keys(conn, schema, name, names)
    return rows


def _validation_reader(duck: Any, path: Path) -> Any:
    doc = table("meta_validation_result")
    select = ", ".join(f"cast({_quote_duck(c.name)} as {c.type}) as {_quote_duck(c.name)}"
                       for c in doc.columns)
    with duck.cursor() as cursor:
        return cursor.sql(
            f"select {select} from read_parquet({_duck_literal(str(path))}) order by all"
        ).to_arrow_table().to_batches(BATCH_ROWS)


def _duck_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publish_postgres(run: Run, url: str, lock_timeout: float) -> PublishResult:
    import duckdb

    record = run_record(run, status="published")
    compute_db = run.compute_db
    if not compute_db.exists():
        raise WarehouseError(f"{compute_db} not found: run the compute and assess stages first")
    validation = run.validation_results
    started = time.monotonic()
    duck = duckdb.connect(str(compute_db), read_only=True)
    try:
        record["factor_version"] = duck.execute(
            "select factor_version from run_parameters"
        ).fetchall()[0][0]
        layouts = {t: _duck_columns(duck, t) for t in PUBLISHED_TABLES}
        missing = [t for t, cols in layouts.items() if not cols]
        if missing:
            raise WarehouseError(f"{compute_db} lacks table(s) {', '.join(missing)}")
        for name, columns in layouts.items():  # fail before touching the warehouse
            for column, duck_type in columns:
                pg_type(duck_type, f"{name}.{column}")
        counts = {
            t: duck.execute(f"select count(*) from main.{_quote_duck(t)}").fetchall()[0][0]
            for t in PUBLISHED_TABLES
        }
        record["row_counts"] = json.dumps(counts, sort_keys=True)
        staging = staging_schema(record["run_id"])
        with connect(url) as conn, _errors(url, "publish"), \
                _locked(conn, url, lock_timeout, "publish"):
            notes = _ensure_base(conn, create_role=True, strict=False)
            _drop_stale_staging(conn)
            load_started = time.monotonic()
            with conn.transaction():
                conn.execute(_sql("create schema {}", _ident(staging)))
                for name in PUBLISHED_TABLES:
                    loaded = _load_table(conn, duck, staging, name, layouts[name])
                    if loaded != counts[name]:
                        raise WarehouseError(
                            f"publish: {name} loaded {loaded} rows, compute has {counts[name]}"
                        )
                for view in VIEWS:
                    conn.execute(
                        _sql("create view {} as ", _ident(staging, view.name))
                        + _raw(view.sql.format(schema=_quoted_pg(staging)))
                    )
                present = {
                    name: [c for c, _ in layouts[name]] for name in PUBLISHED_TABLES
                } | {v.name: list(v.column_names) for v in VIEWS}
                for statement in comment_statements(staging, present,
                                                    views=[v.name for v in VIEWS]):
                    conn.execute(statement)
                for name in PUBLISHED_TABLES:
                    conn.execute(_sql("analyze {}", _ident(staging, name)))
            load_seconds = time.monotonic() - load_started
            swap_started = time.monotonic()
            try:
                _swap_in(conn, staging, record,
                         _validation_reader(duck, validation) if validation.exists() else None,
                         lock_timeout)
            except BaseException:
                if not conn.closed and conn.info.transaction_status == 0:  # idle: usable
                    with suppress(Exception):
                        conn.execute(_sql("drop schema if exists {} cascade", _ident(staging)))
                raise
            swap_seconds = time.monotonic() - swap_started
    finally:
        duck.close()
    return {
        "warehouse": mask_url(url),
        "run_id": record["run_id"],
        "row_counts": counts,
        "seconds": round(time.monotonic() - started, 3),
        "load_seconds": round(load_seconds, 3),
        "swap_seconds": round(swap_seconds, 3),
        "notes": notes,
    }


def _quoted_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _swap_in(conn: Any, staging: str, record: dict[str, Any], validation: Any,
             lock_timeout: float) -> None:
    columns = list(record)
    with conn.transaction():
        # The run log first (row locks only): it becomes visible with the release, at COMMIT.
        conn.execute(
            _sql(
                "insert into {} ({}) values ({}) on conflict (run_id) do update set {}",
                _ident(SCHEMA, "meta_pipeline_run"),
                _join([_ident(c) for c in columns]),
                _join([_sql("%s") for _ in columns]),
                _join([_sql("{} = excluded.{}", _ident(c), _ident(c))
                       for c in columns if c != "run_id"]),
            ),
            list(record.values()),
        )
        if validation is not None:
            conn.execute(
                _sql("delete from {} where run_id = %s", _ident(SCHEMA, "meta_validation_result")),
                [record["run_id"]],
            )
            _copy_arrow(conn, validation, SCHEMA, "meta_validation_result",
                        list(table("meta_validation_result").column_names))
        outgoing = [(SCHEMA, t) for t in _tables_in(conn, SCHEMA)]
        outgoing += [(PREVIOUS_SCHEMA, t) for t in _tables_in(conn, PREVIOUS_SCHEMA)]
        _lock_exclusive(conn, outgoing, f"schema {SCHEMA}", lock_timeout)
        for name in META_TABLES:
            conn.execute(_sql("alter table {} set schema {}",
                              _ident(SCHEMA, name), _ident(staging)))
        conn.execute(_sql("drop schema if exists {} cascade", _ident(PREVIOUS_SCHEMA)))
        conn.execute(_sql("alter schema {} rename to {}",
                          _ident(SCHEMA), _ident(PREVIOUS_SCHEMA)))
        conn.execute(_sql("alter schema {} rename to {}", _ident(staging), _ident(SCHEMA)))
        _grant_reader(conn)


# ---------------------------------------------------------------------------------- admin


def init_postgres(url: str, lock_timeout: float = 60.0) -> dict[str, Any]:
    with connect(url) as conn, _errors(url, "warehouse init"), \
            _locked(conn, url, lock_timeout, "warehouse init"):
        notes = _ensure_base(conn, create_role=True, strict=True)
        stale = _drop_stale_staging(conn)
    return {
        "warehouse": mask_url(url),
        "schemas": [SCHEMA, PREVIOUS_SCHEMA],
        "role": READER_ROLE,
        "dropped_staging": stale,
        "notes": notes,
    }


def rollback_postgres(url: str, lock_timeout: float) -> dict[str, Any]:
    with connect(url) as conn, _errors(url, "rollback"), \
            _locked(conn, url, lock_timeout, "rollback"):
        previous = [t for t in _tables_in(conn, PREVIOUS_SCHEMA) if t in PUBLISHED_TABLES]
        if not previous:
            raise WarehouseError(
                f"warehouse {mask_url(url)} has no previous release to roll back to"
            )
        with conn.transaction():
            outgoing = [(SCHEMA, t) for t in _tables_in(conn, SCHEMA)]
            outgoing += [(PREVIOUS_SCHEMA, t) for t in _tables_in(conn, PREVIOUS_SCHEMA)]
            _lock_exclusive(conn, outgoing, f"schema {SCHEMA}", lock_timeout)
            for name in META_TABLES:
                if name in _tables_in(conn, SCHEMA):
                    conn.execute(_sql("alter table {} set schema {}",
                                      _ident(SCHEMA, name), _ident(PREVIOUS_SCHEMA)))
            conn.execute(_sql("drop schema if exists {} cascade", _ident(SWAP_SCHEMA)))
            conn.execute(_sql("alter schema {} rename to {}",
                              _ident(SCHEMA), _ident(SWAP_SCHEMA)))
            conn.execute(_sql("alter schema {} rename to {}",
                              _ident(PREVIOUS_SCHEMA), _ident(SCHEMA)))
            conn.execute(_sql("alter schema {} rename to {}",
                              _ident(SWAP_SCHEMA), _ident(PREVIOUS_SCHEMA)))
            _grant_reader(conn)
    return {"warehouse": mask_url(url), "restored_tables": previous}


# ---------------------------------------------------------------------------------- reading


def postgres_checksums(url: str, schema: str, tables: tuple[str, ...]) -> dict[str, str]:
    with connect(url) as conn, _errors(url, "checksum"):
        sums = {}
        for name in tables:
            names = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position",
                    [schema, name],
                ).fetchall()
            ]
            if not names:
                continue
            cursor = conn.execute(
                _sql(
                    "select {} from {} order by {}",
                    _join([_ident(c) for c in names]),
                    _ident(schema, name),
                    _join([_ident(c) for c in row_order(name, names)]),
                )
            )
            sums[name] = rows_digest(names, cursor)
        return sums
