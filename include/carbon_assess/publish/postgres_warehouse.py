"""The production warehouse on PostgreSQL (psycopg 3).

Roles (created by `carbon-assess warehouse init`, run once as a superuser or the database owner
with CREATEROLE): `carbon_reader` (NOLOGIN; SELECT on schema `carbon`, nothing else) and
`carbon_publisher` (NOLOGIN, or LOGIN with the password in $CARBON_PUBLISHER_PASSWORD at init:
owns the schemas `carbon`, `carbon_previous`, `carbon_control` and the staging schemas, has
CONNECT and CREATE on the database, because PostgreSQL requires CREATE there to create and
rename schemas, and nothing else: no superuser, no CREATEROLE/CREATEDB, no rights on other
schemas' tables). A publish or rollback runs as `carbon_publisher`: logged in as it, or `SET
ROLE carbon_publisher` by a member of it (or a superuser), so that everything it creates belongs
to that role; objects an older version created as another role are handed over to it when the
session may do so.

The publish lock: a row lock (`SELECT ... FOR UPDATE` under `lock_timeout`) on the one row of
`carbon_control.publish_lock`, held on a second connection for the whole publish, rollback or
init. Only the publisher (and superusers) may lock that row: the reader role has no USAGE on
`carbon_control`, and locking a row FOR UPDATE needs the UPDATE right. A second publish queues
behind it up to the lock timeout, then fails naming the holder; a killed publisher's lock goes
with its connection. `carbon_control.release` records which run's release is in `carbon` and in
`carbon_previous`.

A publish, under the publish lock (a second publish waits, then fails clearly):

1. Stage: in one transaction, create schema `carbon_staging_<run>`, create each table with the
   types of compute.duckdb (VARCHAR→text, DOUBLE→double precision, ...), bulk-load it with
   `COPY ... FROM STDIN (FORMAT csv)` fed by Arrow record batches read out of compute.duckdb in
   key order (CSV written by Arrow in C: no per-row Python, no INSERT), add the primary key and
   indexes, the analyst views, the `COMMENT ON` documentation; check the row counts; ANALYZE.
   Nobody else can see the staging schema. A crash here leaves `carbon` untouched (and, the
   transaction being rolled back, no staging schema either).
2. Swap, in one short transaction: append the release to schema `carbon_history` (INSERT ...
   SELECT from staging, before any lock on `carbon`), upsert the run log, take ACCESS EXCLUSIVE
   locks on the outgoing release (retried under a short lock_timeout, so a reader can never
   deadlock it), move the run-log tables (`meta_*`) into the staging schema, drop the old
   `carbon_previous`, rename `carbon` → `carbon_previous` and staging → `carbon`, re-grant
   `carbon_reader`, record the releases in `carbon_control.release`.
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
import os
import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError, mask_url, one_line_error
from carbon_assess.publish.catalog import (
    META_TABLES,
    PG_TYPES,
    RELEASE_DIMENSION,
    VIEWS,
    comment_statements,
    history_comment_statements,
    history_table,
    row_order,
    table,
)
from carbon_assess.publish.common import (
    CONTROL_SCHEMA,
    HISTORY_SCHEMA,
    PREVIOUS_SCHEMA,
    PUBLISHED_TABLES,
    PUBLISHER_PASSWORD_ENV,
    PUBLISHER_ROLE,
    READER_ROLE,
    RELEASE_STATUSES,
    SCHEMA,
    PublishResult,
    history_backfill,
    release_from_log,
    release_row,
    rollback_record,
    rows_digest,
    run_record,
)
from carbon_assess.workdir import Run

LOCK_TABLE = "publish_lock"  # in CONTROL_SCHEMA: one row, row-locked by a running publish
RELEASE_TABLE = "release"  # in CONTROL_SCHEMA: slot 'current' / 'previous' -> run id
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


def connect(url: str, connect_timeout: int = 10, application_name: str = "carbon-assess",
            autocommit: bool = True) -> Any:
    """A psycopg connection (autocommit unless asked); any failure is a one-line
    WarehouseError."""
    psycopg = _psycopg()
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            connect_timeout=connect_timeout,
            application_name=application_name,
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


@contextmanager
def _publish_lock(url: str, timeout: float, action: str) -> Iterator[Any]:
    """Hold the publish lock (the row of carbon_control.publish_lock, FOR UPDATE) on a connection
    of its own for the duration of the block; wait for it at most `timeout` seconds, then fail
    naming the holder. Yields the lock's connection (see `_check_lock`)."""
    psycopg = _psycopg()
    lock = connect(url, application_name=f"carbon-assess {action}", autocommit=False)
    try:
        # an idle-in-transaction limit of the server must not end the lock mid-publish
        lock.execute("set idle_in_transaction_session_timeout = 0")
        lock.execute("set statement_timeout = 0")
        wait = f"set local lock_timeout = '{max(int(timeout * 1000), 1)}ms'"
        lock.execute(wait)
        try:
            lock.execute(
                _sql("select 1 from {} where id = 1 for update" + (" nowait" if timeout <= 0
                                                                    else ""),
                     _ident(CONTROL_SCHEMA, LOCK_TABLE))
            )
        except psycopg.errors.LockNotAvailable:
            lock.rollback()
            raise WarehouseError(
                f"{action} on {mask_url(url)}: another publish or rollback is in progress"
                f"{_lock_holder(lock)}; gave up after waiting {timeout:g} s, retry when it has "
                "finished"
            ) from None
        except psycopg.errors.InsufficientPrivilege:
            lock.rollback()
            user = lock.execute("select session_user").fetchone()[0]
            raise WarehouseError(
                f"{action} on {mask_url(url)}: role {user} may not take the publish lock "
                f"({CONTROL_SCHEMA}.{LOCK_TABLE}): publish as {PUBLISHER_ROLE} or a member of "
                "it, once `carbon-assess warehouse init` (run as a superuser) has given that "
                "role the carbon schemas"
            ) from None
        yield lock
    finally:
        with suppress(Exception):  # closing ends the transaction, and the lock with it
            lock.close()


def _lock_holder(conn: Any) -> str:
    """` (held by pid 123, carbon-assess publish, user carbon_publisher)` or ''."""
    with suppress(Exception):
        row = conn.execute(
            _sql(
                """
                select a.pid, coalesce(nullif(a.application_name, ''), '?'),
                       coalesce(a.usename::text, '?'),
                       to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ')
                from {} as t
                join pg_locks as l on l.locktype = 'transactionid' and l.granted
                  and l.mode = 'ExclusiveLock' and l.transactionid = t.xmax
                join pg_stat_activity as a on a.pid = l.pid
                where t.id = 1
                """,
                _ident(CONTROL_SCHEMA, LOCK_TABLE),
            )
        ).fetchone()
        conn.rollback()
        if row:
            since = f", since {row[3]}" if row[3] else ""
            return f" (held by pid {row[0]}, {row[1]}, user {row[2]}{since})"
    return ""


def _check_lock(lock: Any, url: str, action: str) -> None:
    """Before changing `carbon`: the lock's connection must still be there (else another publish
    may be running, and nothing is changed)."""
    try:
        lock.execute("select 1")
    except Exception:  # noqa: BLE001 - any failure means the lock may be gone
        raise WarehouseError(
            f"{action} on {mask_url(url)}: lost the publish lock (its connection was closed); "
            "nothing was changed, retry"
        ) from None


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


# ---------------------------------------------------------------------------------- roles


def _role_exists(conn: Any, role: str = READER_ROLE) -> bool:
    return bool(conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone())


def _ensure_roles(conn: Any, strict: bool, password: str | None = None) -> list[str]:
    """`carbon_reader` and `carbon_publisher` (NOLOGIN); with `password`, the publisher may log
    in with it (sent as a SCRAM verifier: the password itself never reaches the server's log).
    Needs CREATEROLE: a WarehouseError when `strict`, else a note."""
    psycopg = _psycopg()
    notes = []
    for role in (READER_ROLE, PUBLISHER_ROLE):
        if _role_exists(conn, role):
            continue
        try:
            with conn.transaction():
                conn.execute(_sql(
                    """
                    do $$ begin
                        create role {} nologin;
                    exception when duplicate_object or unique_violation then null;
                    end $$
                    """,
                    _ident(role),
                ))
        except psycopg.errors.InsufficientPrivilege as exc:
            message = (
                f"cannot create role {role} ({one_line_error(exc, '')}): run `carbon-assess "
                "warehouse init` as a superuser or a role with CREATEROLE"
            )
            if strict:
                raise WarehouseError(message) from None
            notes.append(message)
    if password:
        verifier = conn.pgconn.encrypt_password(
            password.encode(), PUBLISHER_ROLE.encode(), b"scram-sha-256"
        ).decode()
        try:
            with conn.transaction():
                conn.execute(_sql("alter role {} login password {}", _ident(PUBLISHER_ROLE),
                                  _literal(verifier)))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise WarehouseError(
                f"cannot set the login password of {PUBLISHER_ROLE} from "
                f"${PUBLISHER_PASSWORD_ENV} ({one_line_error(exc, '')}): run `carbon-assess "
                "warehouse init` as a superuser or a role with CREATEROLE"
            ) from None
    return notes


def _grant_database(conn: Any) -> list[str]:
    """CONNECT for both roles, CREATE (to create and rename its schemas) for the publisher; a note
    when this session may not grant them and they are missing."""
    psycopg = _psycopg()
    notes = []
    for role, rights in ((READER_ROLE, ("connect",)), (PUBLISHER_ROLE, ("connect", "create"))):
        if not _role_exists(conn, role):
            continue
        try:
            with conn.transaction():
                conn.execute(_sql("grant " + ", ".join(rights) + " on database {} to {}",
                                  _ident(conn.info.dbname), _ident(role)))
        except psycopg.errors.InsufficientPrivilege:
            missing = [r for r in rights if not conn.execute(
                "select has_database_privilege(%s, current_database(), %s)", [role, r]
            ).fetchone()[0]]
            if missing:
                notes.append(f"could not grant {', '.join(missing).upper()} on database "
                             f"{conn.info.dbname} to {role} (not the database owner)")
    return notes


def _can_act_as_publisher(conn: Any) -> bool:
    """Whether this session may `SET ROLE carbon_publisher` (a member, or a superuser) and is
    not that role already."""
    row = conn.execute(
        "select r.oid is not null and current_user <> r.rolname "
        "and pg_has_role(current_user, r.oid, 'MEMBER') "
        "from (select 1) as one left join pg_roles as r on r.rolname = %s",
        [PUBLISHER_ROLE],
    ).fetchone()
    return bool(row[0])


def _hand_over(conn: Any, timeout: float) -> list[str]:
    """Make `carbon_publisher` the owner of the carbon schemas and what is in them, where another
    role owns them (a warehouse published by an older version, or by the superuser before the
    role existed). A note when this session may not."""
    psycopg = _psycopg()
    if not _can_act_as_publisher(conn):
        return []
    names = [SCHEMA, PREVIOUS_SCHEMA, CONTROL_SCHEMA, SWAP_SCHEMA, HISTORY_SCHEMA]
    mine = "(select oid from pg_roles where rolname = %s)"
    schemas = conn.execute(
        "select nspname, pg_get_userbyid(nspowner) from pg_namespace "
        f"where (nspname = any(%s) or starts_with(nspname, %s)) and nspowner <> {mine} "
        "order by 1",
        [names, STAGING_PREFIX, PUBLISHER_ROLE],
    ).fetchall()
    relations = conn.execute(
        "select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner) "
        "from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
        "where (n.nspname = any(%s) or starts_with(n.nspname, %s)) "
        f"and c.relkind in ('r', 'p', 'v', 'm', 'f') and c.relowner <> {mine} order by 1, 2",
        [names, STAGING_PREFIX, PUBLISHER_ROLE],
    ).fetchall()
    if not schemas and not relations:
        return []
    kinds = {"v": "view", "m": "materialized view", "f": "foreign table"}
    role = _ident(PUBLISHER_ROLE)
    try:
        with conn.transaction():
            conn.execute(_sql("set local lock_timeout = {}",
                              _literal(f"{max(int(timeout * 1000), 1)}ms")))
            for schema, _owner in schemas:
                conn.execute(_sql("alter schema {} owner to {}", _ident(schema), role))
            for schema, name, kind, _owner in relations:
                conn.execute(_sql("alter " + kinds.get(kind, "table") + " {} owner to {}",
                                  _ident(schema, name), role))
    except psycopg.errors.InsufficientPrivilege:
        owners = sorted({o for *_, o in schemas} | {o for *_, o in relations})
        return [f"objects in the carbon schemas belong to {', '.join(owners)}: run `carbon-assess "
                f"warehouse init` as a superuser to hand them to {PUBLISHER_ROLE}"]
    return []


def _prepare(conn: Any, timeout: float, *, create_roles: bool, strict: bool,
             password: str | None = None) -> list[str]:
    """What a publish, rollback or init does before taking the publish lock: (as the session
    user) roles, database rights and ownership, then `SET ROLE carbon_publisher` where the
    session may, and the control tables (the lock). Returns notes."""
    notes = []
    if create_roles:
        notes += _ensure_roles(conn, strict, password)
        notes += _grant_database(conn)
    notes += _hand_over(conn, timeout)
    if _can_act_as_publisher(conn):
        conn.execute(_sql("set role {}", _ident(PUBLISHER_ROLE)))
    _ensure_control(conn)
    return notes


def _schema_exists(conn: Any, schema: str) -> bool:
    return bool(conn.execute("select 1 from pg_namespace where nspname = %s",
                             [schema]).fetchone())


def _ensure_control(conn: Any) -> None:
    """Schema carbon_control: the lock row and the release table (nobody but the owner, i.e.
    the publisher, may read or lock them)."""
    psycopg = _psycopg()
    if conn.execute(  # (to_regclass would need USAGE on the schema)
        "select count(*) = 2 from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname in (%s, %s)",
        [CONTROL_SCHEMA, LOCK_TABLE, RELEASE_TABLE],
    ).fetchone()[0]:
        return
    for attempt in range(3):  # two first publishes at once: one creates, the other retries
        try:
            with conn.transaction():
                if not _schema_exists(conn, CONTROL_SCHEMA):
                    conn.execute(_sql("create schema {}", _ident(CONTROL_SCHEMA)))
                lock, release = _ident(CONTROL_SCHEMA, LOCK_TABLE), _ident(CONTROL_SCHEMA,
                                                                             RELEASE_TABLE)
                conn.execute(_sql(
                    "create table if not exists {} (id integer primary key check (id = 1))",
                    lock))
                conn.execute(_sql("insert into {} values (1) on conflict do nothing", lock))
                conn.execute(_sql(
                    "comment on table {} is 'Row-locked (FOR UPDATE) by a running publish, "
                    "rollback or warehouse init: the publish lock'", lock))
                conn.execute(_sql(
                    "create table if not exists {} (slot text primary key, run_id text, "
                    "since timestamptz)", release))
                conn.execute(_sql(
                    "comment on table {} is 'Which run''s release is in schema carbon (slot "
                    "current) and in carbon_previous (slot previous)'", release))
            return
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject,
                psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateTable):
            if attempt == 2:
                raise
            time.sleep(0.1)


def _release(conn: Any, slot: str) -> str | None:
    """The run whose release is in `carbon` ('current') or `carbon_previous` ('previous');
    from the run log when the warehouse predates the release table."""
    row = conn.execute(
        _sql("select run_id from {} where slot = %s", _ident(CONTROL_SCHEMA, RELEASE_TABLE)),
        [slot],
    ).fetchone()
    if row:
        return row[0]
    return _release_from_log(conn, 0 if slot == "current" else 1)


def _release_from_log(conn: Any, back: int) -> str | None:
    """The run whose release was current `back` publishes or rollbacks ago, from the run log
    (rejected, failed and skipped runs never changed the release)."""
    if "meta_pipeline_run" not in _tables_in(conn, SCHEMA):
        return None
    entries = conn.execute(_sql(
        "select run_id, restored_run_id from {} where status = any(%s) or status is null "
        "order by finished_at desc nulls last, started_at desc nulls last, run_id desc",
        _ident(SCHEMA, "meta_pipeline_run"),
    ), [list(RELEASE_STATUSES)]).fetchall()
    return release_from_log(entries, back=back)


def _set_releases(conn: Any, current: str | None, previous: str | None) -> None:
    for slot, run_id in (("current", current), ("previous", previous)):
        conn.execute(
            _sql("insert into {} (slot, run_id, since) values (%s, %s, now()) "
                 "on conflict (slot) do update set run_id = excluded.run_id, since = now()",
                 _ident(CONTROL_SCHEMA, RELEASE_TABLE)),
            [slot, run_id],
        )


def _insert_run(conn: Any, record: dict[str, Any]) -> None:
    """Upsert a meta_pipeline_run row (a republished run replaces its row)."""
    columns = list(record)
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


def _run_row(conn: Any, run_id: str | None) -> dict[str, Any] | None:
    if run_id is None:
        return None
    cursor = conn.execute(
        _sql("select * from {} where run_id = %s", _ident(SCHEMA, "meta_pipeline_run")), [run_id])
    row = cursor.fetchone()
    return dict(zip([d.name for d in cursor.description], row, strict=True)) if row else None


# ---------------------------------------------------------------------------------- base


def _ensure_base(conn: Any) -> None:
    """Schemas `carbon` and `carbon_previous`, the run-log tables (with the catalog's columns:
    an older warehouse gets the new ones), their documentation, the reader's grants."""
    with conn.transaction():
        for schema in (SCHEMA, PREVIOUS_SCHEMA, HISTORY_SCHEMA):
            if not _schema_exists(conn, schema):
                conn.execute(_sql("create schema {}", _ident(schema)))
        present = {}
        for name in META_TABLES:
            doc = table(name)
            columns = [(c.name, c.type) for c in doc.columns]
            _create_table(conn, SCHEMA, name, columns, if_not_exists=True)
            have = {r[0] for r in conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s", [SCHEMA, name]).fetchall()}
            for column, duck_type in columns:
                if column not in have:
                    conn.execute(_sql("alter table {} add column {} "
                                      + pg_type(duck_type, f"{name}.{column}"),
                                      _ident(SCHEMA, name), _ident(column)))
            exists_key = conn.execute(
                "select 1 from pg_constraint where conrelid = to_regclass(%s) and contype = 'p'",
                [f"{SCHEMA}.{name}"],
            ).fetchone()
            if not exists_key:
                _add_keys(conn, SCHEMA, name, [c for c, _ in columns])
            present[name] = [c for c, _ in columns]
        for statement in comment_statements(SCHEMA, present):
            conn.execute(statement)
        _grant_reader(conn)


def _grant_reader(conn: Any) -> bool:
    """`carbon_reader` may read schemas `carbon` (now and after future swaps) and
    `carbon_history`, nothing else."""
    if not _role_exists(conn):
        return False
    role = _ident(READER_ROLE)
    for statement in (
        "grant usage on schema {current} to {role}",
        "grant select on all tables in schema {current} to {role}",
        "alter default privileges in schema {current} grant select on tables to {role}",
        "grant usage on schema {history} to {role}",
        "grant select on all tables in schema {history} to {role}",
        "alter default privileges in schema {history} grant select on tables to {role}",
        "revoke all on schema {previous} from {role}",
        "revoke all on all tables in schema {previous} from {role}",
        "alter default privileges in schema {previous} revoke all on tables from {role}",
    ):
        if "{history}" in statement and not _schema_exists(conn, HISTORY_SCHEMA):
            continue
        conn.execute(_sql(statement, current=_ident(SCHEMA), previous=_ident(PREVIOUS_SCHEMA),
                          history=_ident(HISTORY_SCHEMA), role=role))
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
    stack = ExitStack()  # the publish lock: released after the work connection has closed
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
        with connect(url) as conn, _errors(url, "publish"):
            notes = _prepare(conn, lock_timeout, create_roles=True, strict=False)
            lock = stack.enter_context(_publish_lock(url, lock_timeout, "publish"))
            _ensure_base(conn)
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
                _check_lock(lock, url, "publish")
                _swap_in(conn, staging, record,
                         _validation_reader(duck, validation) if validation.exists() else None,
                         lock_timeout, layouts)
            except BaseException:
                if not conn.closed and conn.info.transaction_status == 0:  # idle: usable
                    with suppress(Exception):
                        conn.execute(_sql("drop schema if exists {} cascade", _ident(staging)))
                raise
            swap_seconds = time.monotonic() - swap_started
    finally:
        stack.close()
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


def record_run_postgres(url: str, record: dict[str, Any], validation: Path | None,
                        lock_timeout: float) -> None:
    """A run that did not publish (rejected, failed, skipped) joins the run log with its
    validation results, as the publisher, in one transaction of row writes only: the published
    tables and the release stay exactly as they were (no publish lock needed; a concurrent
    swap moves the run-log tables, and these rows with them)."""
    import duckdb

    with connect(url) as conn, _errors(url, "record the run"):
        _prepare(conn, lock_timeout, create_roles=False, strict=False)
        _ensure_base(conn)
        with conn.transaction():
            _insert_run(conn, record)
            if validation is not None and validation.exists():
                conn.execute(_sql("delete from {} where run_id = %s",
                                  _ident(SCHEMA, "meta_validation_result")), [record["run_id"]])
                duck = duckdb.connect()
                try:
                    _copy_arrow(conn, _validation_reader(duck, validation), SCHEMA,
                                "meta_validation_result",
                                list(table("meta_validation_result").column_names))
                finally:
                    duck.close()


def current_release_postgres(url: str) -> dict[str, Any] | None:
    """The run-log row of the release in `carbon`; None when nothing was ever published
    (read-only: creates nothing)."""
    with connect(url) as conn, _errors(url, "read the current release"):
        tables = set(_tables_in(conn, SCHEMA)) if _schema_exists(conn, SCHEMA) else set()
        if "meta_pipeline_run" not in tables or not tables & set(PUBLISHED_TABLES):
            return None
        if _schema_exists(conn, CONTROL_SCHEMA):
            return _run_row(conn, _release(conn, "current"))
        return _run_row(conn, _release_from_log(conn, 0))


def _quoted_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _history_table(conn: Any, name: str, columns: list[tuple[str, str]]) -> list[str]:
    """carbon_history.<name> with `release_id` first and `columns` (DuckDB types); a table
    created by an older release gets the new columns (dropped ones stay, null from then on)."""
    have = [r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = %s "
        "and table_name = %s order by ordinal_position", [HISTORY_SCHEMA, name]).fetchall()]
    if not have:
        _create_table(conn, HISTORY_SCHEMA, name, [("release_id", "VARCHAR"), *columns])
        names = ["release_id", *(c for c, _ in columns)]
        doc = history_table(name)
        if doc.primary_key and set(doc.primary_key) <= set(names):
            conn.execute(_sql("alter table {} add constraint {} primary key ({})",
                              _ident(HISTORY_SCHEMA, name), _ident(f"{name}_pkey"),
                              _join([_ident(c) for c in doc.primary_key])))
        else:
            conn.execute(_sql("create index {} on {} (release_id)",
                              _ident(f"{name}__release_id"), _ident(HISTORY_SCHEMA, name)))
        return names
    added = []
    for column, duck_type in columns:
        if column not in have:
            conn.execute(_sql("alter table {} add column {} "
                              + pg_type(duck_type, f"{name}.{column}"),
                              _ident(HISTORY_SCHEMA, name), _ident(column)))
            have.append(column)
            added.append(column)
    for statement in history_backfill(_ident(HISTORY_SCHEMA, name).as_string(conn), added, have):
        conn.execute(statement)
    _rekey_history(conn, name, have)
    return have


def _rekey_history(conn: Any, name: str, have: list[str]) -> None:
    """Give a history table made by an older release the catalog's key when the key changed
    (issue 13: province_code -> region_code): the old key's columns may be null now."""
    key = list(history_table(name).primary_key)
    old = [r[0] for r in conn.execute(
        "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
        "and a.attnum = any(i.indkey) where i.indrelid = %s::regclass and i.indisprimary "
        "order by array_position(i.indkey, a.attnum)",
        [f"{HISTORY_SCHEMA}.{name}"]).fetchall()]
    if not old or old == key or not set(key) <= set(have):
        return
    conn.execute(_sql("alter table {} drop constraint {}", _ident(HISTORY_SCHEMA, name),
                      _ident(f"{name}_pkey")))
    for column in set(old) - set(key):
        conn.execute(_sql("alter table {} alter column {} drop not null",
                          _ident(HISTORY_SCHEMA, name), _ident(column)))
    conn.execute(_sql("alter table {} add constraint {} primary key ({})",
                      _ident(HISTORY_SCHEMA, name), _ident(f"{name}_pkey"),
                      _join([_ident(c) for c in key])))


def _append_history(conn: Any, staging: str, record: dict[str, Any],
                    layouts: dict[str, list[tuple[str, str]]]) -> None:
    """Keep this release in schema carbon_history, in the swap transaction (visible with the
    release, at COMMIT; nothing if the swap fails): its dim_release row and its rows of every
    published table, copied from the staging schema; a republished run replaces its rows."""
    release_id = record["run_id"]
    if not _schema_exists(conn, HISTORY_SCHEMA):
        conn.execute(_sql("create schema {}", _ident(HISTORY_SCHEMA)))
    present = {"dim_release": _history_table(
        conn, "dim_release",
        [(c.name, c.type) for c in RELEASE_DIMENSION.columns if c.name != "release_id"])}
    release = release_row(record)
    conn.execute(_sql("delete from {} where release_id = %s",
                      _ident(HISTORY_SCHEMA, "dim_release")), [release_id])
    conn.execute(_sql("insert into {} ({}) values ({})", _ident(HISTORY_SCHEMA, "dim_release"),
                      _join([_ident(c) for c in release]), _join([_sql("%s") for _ in release])),
                 list(release.values()))
    for name in PUBLISHED_TABLES:
        present[name] = _history_table(conn, name, layouts[name])
        names = [c for c, _ in layouts[name]]
        conn.execute(_sql("delete from {} where release_id = %s",
                          _ident(HISTORY_SCHEMA, name)), [release_id])
        conn.execute(
            _sql("insert into {} (release_id, {}) select %s, {} from {} order by {}",
                 _ident(HISTORY_SCHEMA, name), _join([_ident(c) for c in names]),
                 _join([_ident(c) for c in names]), _ident(staging, name),
                 _join([_ident(c) for c in row_order(name, names)])),
            [release_id],
        )
    for statement in history_comment_statements(present):
        conn.execute(statement)


def _swap_in(conn: Any, staging: str, record: dict[str, Any], validation: Any,
             lock_timeout: float, layouts: dict[str, list[tuple[str, str]]]) -> None:
    with conn.transaction():
        # The release's history first (no lock on `carbon` yet: readers are not held up).
        _append_history(conn, staging, record, layouts)
        # Which run's release goes out (read before this run's row joins the log).
        replaced = (_release(conn, "current")
                    if set(_tables_in(conn, SCHEMA)) & set(PUBLISHED_TABLES) else None)
        # The run log first (row locks only): it becomes visible with the release, at COMMIT.
        _insert_run(conn, record)
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
        _set_releases(conn, record["run_id"], replaced)
        _grant_reader(conn)


# ---------------------------------------------------------------------------------- admin


def init_postgres(url: str, lock_timeout: float = 60.0) -> dict[str, Any]:
    """Roles, rights, schemas, run-log and control tables (idempotent). The publisher may log
    in with $CARBON_PUBLISHER_PASSWORD when that is set."""
    password = os.environ.get(PUBLISHER_PASSWORD_ENV) or None
    with connect(url) as conn, _errors(url, "warehouse init"):
        notes = _prepare(conn, lock_timeout, create_roles=True, strict=True, password=password)
        with _publish_lock(url, lock_timeout, "warehouse init"):
            _ensure_base(conn)
            stale = _drop_stale_staging(conn)
        login = conn.execute("select rolcanlogin from pg_roles where rolname = %s",
                             [PUBLISHER_ROLE]).fetchone()
    return {
        "warehouse": mask_url(url),
        "schemas": [SCHEMA, PREVIOUS_SCHEMA],
        "role": READER_ROLE,
        "publisher": PUBLISHER_ROLE,
        "publisher_login": bool(login and login[0]),
        "dropped_staging": stale,
        "notes": notes,
    }


def rollback_postgres(url: str, lock_timeout: float) -> dict[str, Any]:
    """Swap `carbon_previous` and `carbon` back and log a 'rolled back' run, in one transaction.
    Creates no warehouse: no schema `carbon` is an error."""
    started_at = datetime.now(UTC)
    with connect(url) as conn, _errors(url, "rollback"):
        if not _schema_exists(conn, SCHEMA):
            raise WarehouseError(
                f"warehouse {mask_url(url)} has no schema {SCHEMA}: nothing to roll back "
                "(is it the right database? nothing has been published there)"
            )
        notes = _prepare(conn, lock_timeout, create_roles=False, strict=False)
        with _publish_lock(url, lock_timeout, "rollback") as lock:
            previous = [t for t in _tables_in(conn, PREVIOUS_SCHEMA) if t in PUBLISHED_TABLES]
            if not previous:
                raise WarehouseError(
                    f"warehouse {mask_url(url)} has no previous release to roll back to"
                )
            _ensure_base(conn)
            _check_lock(lock, url, "rollback")
            with conn.transaction():
                restored, replaced = _release(conn, "previous"), _release(conn, "current")
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
                counts = {
                    t: conn.execute(_sql("select count(*) from {}", _ident(SCHEMA, t)))
                    .fetchone()[0]
                    for t in previous
                }
                record = rollback_record(started_at, _run_row(conn, restored), restored, counts)
                _insert_run(conn, record)
                _set_releases(conn, restored, replaced)
                _grant_reader(conn)
    return {"warehouse": mask_url(url), "restored_tables": previous, "run_id": record["run_id"],
            "restored_run_id": restored, "notes": notes}


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
