"""The production warehouse on PostgreSQL (psycopg 3): the `Dialect` of `warehouse.Warehouse`.

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

A release's rows are stored once: as its own partition of `carbon_history.<table>` (LIST on
release_id, `<table>__<release>`). `carbon.<table>` is a view of the current release's
partition (`select <columns> from carbon_history.<table>__<release> where release_id =
'<release>'`: the constant lets a query use the partition's key index), `carbon_previous.<table>`
the same view of the outgoing release; the run log (`meta_*`) are tables of `carbon`.

A publish, under the publish lock (a second publish waits, then fails clearly):

1. Load, in one transaction: create schema `carbon_staging_<run>` and in it each table's
   partition-to-be (`release_id` a constant default, checked, so that attaching it needs no
   scan), with the types of compute.duckdb (VARCHAR→text, DOUBLE→double precision, ...); bulk-load
   it with `COPY ... FROM STDIN (FORMAT binary)` fed by Arrow record batches of BATCH_ROWS rows
   streamed out of compute.duckdb in key order (encoded by numpy, `pg_binary`, one batch at a
   time: the memory held is a few batches, whatever the table's size), then add the primary key
   (release_id and the catalog's key: a duplicated key is refused here, naming table and key)
   and indexes (one bulk index build each); ANALYZE.
   Nobody else can see the staging schema. A crash here leaves `carbon` untouched (and, the
   transaction being rolled back, no staging schema either).
2. Swap, in one short transaction: take ACCESS EXCLUSIVE locks on the views of `carbon` and
   `carbon_previous` (retried under a short lock_timeout, so a reader can never deadlock it),
   move each staged table into `carbon_history` and attach it as the release's partition (no
   row is copied; a republished run's partition is dropped first), add the `dim_release` row,
   upsert the run log, point `carbon_previous` at the outgoing release and `carbon` at the new
   one, re-create the analyst views, comments and `carbon_reader`'s grants, record the releases
   in `carbon_control.release`, drop the (now empty) staging schema.
   If the swap fails (e.g. a session kept a transaction open on `carbon` for longer than the
   lock timeout: the message names it) the staging schema is dropped and `carbon` is unchanged;
   a staging schema orphaned by a crash between the two steps is dropped by the next publish.

A rollback re-points the views (no row is copied). A warehouse published by an older version
(releases as tables in `carbon` and `carbon_previous`, the history plain or partitioned) is
upgraded by the next publish or rollback: a release the history lacks is copied into it once.

Readers in READ COMMITTED see, per statement, the old release or the new one, never a mix: a
statement that already holds the old views finishes on them (the swap waits for it), one that
starts during the swap waits and then reads the new views. The views run with their owner's
rights: `carbon_reader` reads them with SELECT on schema `carbon` alone (it may also read
`carbon_history`, for `carbon-assess diff`). Views that analysts create on `carbon`'s views
survive a publish as long as the columns stay the same.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from carbon_assess.errors import WarehouseError, mask_url, one_line_error
from carbon_assess.publish.catalog import (
    META_TABLES,
    PG_TYPES,
    PUBLISHED_TABLES,
    VIEWS,
    Table,
    comment_statements,
    history_table,
    row_order,
    table,
)
from carbon_assess.publish.common import (
    CONTROL_SCHEMA,
    HISTORY_SCHEMA,
    PREVIOUS_SCHEMA,
    PUBLISHER_PASSWORD_ENV,
    PUBLISHER_ROLE,
    READER_ROLE,
    SCHEMA,
)
from carbon_assess.publish.pg_binary import binary_copy_chunks, encodable
from carbon_assess.settings import duckdb_connect
from carbon_assess.workdir import Run

LOCK_TABLE = "publish_lock"  # in CONTROL_SCHEMA: one row, row-locked by a running publish
RELEASE_TABLE = "release"  # in CONTROL_SCHEMA: slot 'current' / 'previous' -> run id
STAGING_PREFIX = "carbon_staging_"
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


def _add_keys(conn: Any, schema: str, name: str, names: list[str],
              doc: Table | None = None) -> None:
    """The catalog's primary key and indexes of `name` (`doc`: its history form), after the
    load: one bulk index build each."""
    doc = doc or table(name)
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
    names = [SCHEMA, PREVIOUS_SCHEMA, CONTROL_SCHEMA, HISTORY_SCHEMA]
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


def history_partition(name: str, release_id: str) -> str:
    """The table of one release of carbon_history.<name> (within PostgreSQL's 63 bytes)."""
    return f"{name}__{re.sub(r'[^a-z0-9_]', '_', release_id.lower())}"[:58]


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


def copy_binary(conn: Any, batches: Any, schema: str, name: str,
                columns: list[tuple[str, str]]) -> int:
    """COPY the record batches into schema.name in PostgreSQL's binary format (`pg_binary`);
    the number of rows sent."""
    statement = _sql("copy {} ({}) from stdin (format binary)", _ident(schema, name),
                     _join([_ident(c) for c, _ in columns]))
    rows = 0

    def counted() -> Iterator[Any]:
        nonlocal rows
        for batch in batches:
            rows += batch.num_rows
            yield batch

    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for chunk in binary_copy_chunks(counted(), [t for _, t in columns]):
                copy.write(chunk)
        if cur.rowcount != rows:
            raise WarehouseError(f"publish: {schema}.{name} loaded {cur.rowcount} rows, "
                                 f"{rows} were sent")
    return rows


def _partition_keys(conn: Any, schema: str, part: str, name: str, names: list[str],
                    failed: str = "publish failed") -> None:
    """A release's partition of carbon_history.<name> (`part`, in `schema`): the history's
    primary key (release_id and the catalog's key; a duplicated key is a WarehouseError naming
    the table and its key) or index, and the published table's indexes; one bulk build each.
    Named after the partition, so that they stay unique in carbon_history."""
    psycopg = _psycopg()
    doc = history_table(name)
    key = list(doc.primary_key)
    if key and set(key) <= set(names):
        try:
            with conn.transaction():
                conn.execute(_sql("alter table {} add constraint {} primary key ({})",
                                  _ident(schema, part), _ident(f"{part}_pkey"),
                                  _join([_ident(c) for c in key])))
        except (psycopg.errors.UniqueViolation, psycopg.errors.NotNullViolation) as exc:
            broken = ("a duplicated key" if isinstance(exc, psycopg.errors.UniqueViolation)
                      else "a null in its key")
            detail = exc.diag.message_detail or one_line_error(exc)
            raise WarehouseError(f"{failed}: {name} has {broken} ({', '.join(key[1:])}): "
                                 f"{' '.join(detail.split())[:300]}") from None
    indexes = [*doc.indexes, *table(name).indexes]
    for number, columns in enumerate(indexes, 1):
        if all(c in names for c in columns):
            conn.execute(_sql("create index {} on {} ({})", _ident(f"{part}__i{number}"),
                              _ident(schema, part), _join([_ident(c) for c in columns])))


def _load_partition(conn: Any, duck: Any, schema: str, name: str, release_id: str,
                    columns: list[tuple[str, str]], failed: str = "publish failed") -> int:
    """Create the release's partition-to-be of carbon_history.<name> in `schema` (release_id a
    checked constant default, the other columns as in compute.duckdb), bulk-load the compute
    table in key order, streamed in record batches of BATCH_ROWS rows, then add its keys."""
    part = history_partition(name, release_id)
    names = [c for c, _ in columns]
    value = _literal(release_id)
    conn.execute(_sql(
        "create table {} (release_id text not null default {} constraint release_only check "
        "(release_id = {}), {})", _ident(schema, part), value, value,
        _join([_sql("{} " + pg_type(t, f"{name}.{c}"), _ident(c)) for c, t in columns])))
    select = ", ".join(_quote_duck(c) for c in names)
    order = ", ".join(_quote_duck(c) for c in row_order(name, names))
    with duck.cursor() as cursor:
        reader = cursor.sql(f"select {select} from main.{_quote_duck(name)} order by {order}"
                            ).to_arrow_reader(BATCH_ROWS)
        if encodable(t for _, t in columns):
            rows = copy_binary(conn, reader, schema, part, columns)
        else:
            rows = _copy_arrow(conn, reader, schema, part, names)
    _partition_keys(conn, schema, part, name, ["release_id", *names], failed)
    conn.execute(_sql("analyze {}", _ident(schema, part)))
    return rows


def _column_types(conn: Any, schema: str, name: str) -> dict[str, str]:
    """Column -> PostgreSQL type (format_type) of a table or view, in order."""
    return dict(conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum", [schema, name]).fetchall())


def _relkinds(conn: Any, schema: str) -> dict[str, str]:
    return dict(conn.execute(
        "select c.relname, c.relkind from pg_class c join pg_namespace n "
        "on n.oid = c.relnamespace where n.nspname = %s and c.relkind in ('r', 'p', 'v')",
        [schema]).fetchall())


def _partitioned(conn: Any, name: str) -> bool:
    return bool(conn.execute("select 1 from pg_partitioned_table where partrelid = "
                             "to_regclass(%s)", [f"{_quoted_pg(HISTORY_SCHEMA)}."
                                                 f"{_quoted_pg(name)}"]).fetchone())


def _copy_into_history(conn: Any, name: str, release_id: str, columns: list[str],
                       source: Any, fill: dict[str, str] | None = None) -> None:
    """The rows of `source` (SQL) as release `release_id` of carbon_history.<name>, in key
    order: a partition of its own (replacing one of the same release), or, in a history table
    made before the partitions, rows replacing that release's. For the releases an older version
    left as tables, and for a staged partition whose column types no longer match the
    history's."""
    fill = fill or {}
    parent = _ident(HISTORY_SCHEMA, name)
    targets = _join([_ident(c) for c in ("release_id", *columns, *fill)])
    select = _join([_sql("%s"), *(_ident(c) for c in columns), *(_raw(v) for v in fill.values())])
    order = _join([_ident(c) for c in row_order(name, columns)])
    if not _partitioned(conn, name):
        conn.execute(_sql("delete from {} where release_id = %s", parent), [release_id])
        conn.execute(_sql("insert into {} ({}) select {} from ", parent, targets, select)
                     + source + _sql(" order by {}", order), [release_id])
        return
    part_name = history_partition(name, release_id)
    part = _ident(HISTORY_SCHEMA, part_name)
    conn.execute(_sql("drop table if exists {} cascade", part))
    conn.execute(_sql("create table {} (like {} including defaults)", part, parent))
    conn.execute(_sql("insert into {} ({}) select {} from ", part, targets, select) + source
                 + _sql(" order by {}", order), [release_id])
    _partition_keys(conn, HISTORY_SCHEMA, part_name, name, _column_names(conn, part_name))
    conn.execute(_sql("alter table {} attach partition {} for values in ({})",
                      parent, part, _literal(release_id)))


def _column_names(conn: Any, name: str) -> list[str]:
    return list(_column_types(conn, HISTORY_SCHEMA, name))


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


def _quoted_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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


# ---------------------------------------------------------------------------------- dialect

# per action: (create the roles and grant database rights, fail when that is not allowed)
_PREPARE = {"warehouse init": (True, True), "publish": (True, False)}


class PostgresDialect:
    """A PostgreSQL database as a warehouse (see the module docstring)."""

    kind = "postgresql"

    def __init__(self, url: str):
        self.url = url
        self.where = mask_url(url)
        self._notes: list[str] = []
        self._dropped: list[str] = []
        self._action = ""
        self._staging = ""
        self._counts: dict[str, int] = {}

    # ---------------------------------------------------------------- sessions

    @contextmanager
    def open(self, action: str, *, wait: float, create: bool) -> Iterator[Any]:
        """A session as the publisher (roles and rights first, per `_PREPARE`)."""
        self._action, self._notes, self._dropped = action, [], []
        with connect(self.url) as conn, _errors(self.url, action):
            if not create and not _schema_exists(conn, SCHEMA):
                raise WarehouseError(
                    f"warehouse {self.where} has no schema {SCHEMA}: nothing to roll back "
                    "(is it the right database? nothing has been published there)")
            roles, strict = _PREPARE.get(action, (False, False))
            password = (os.environ.get(PUBLISHER_PASSWORD_ENV) or None) if strict else None
            self._notes = _prepare(conn, wait, create_roles=roles, strict=strict,
                                   password=password)
            yield conn

    @contextmanager
    def open_read(self, wait: float = 0.0) -> Iterator[Any | None]:
        with connect(self.url) as conn, _errors(self.url, "read the warehouse"):
            yield conn

    @contextmanager
    def lock(self, con: Any, action: str, wait: float) -> Iterator[Any]:
        """The publish lock; staging schemas left by a publish that died are dropped under it."""
        with _publish_lock(self.url, wait, action) as lock:
            self._dropped = _drop_stale_staging(con)
            yield lock

    def check_lock(self, lock: Any, action: str) -> None:
        _check_lock(lock, self.url, action)

    def transaction(self, con: Any) -> Any:
        return con.transaction()

    # ---------------------------------------------------------------- SQL

    def _execute(self, con: Any, sql: str, params: Iterable[Any]) -> Any:
        values = list(params)
        if values:  # `?` placeholders; without parameters a `%` in a comment stays as it is
            return con.execute(sql.replace("?", "%s"), values)
        return con.execute(sql)

    def rows(self, con: Any, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        cursor = self._execute(con, sql, params)
        return cursor.fetchall() if cursor.description else []

    def dict_rows(self, con: Any, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        cursor = self._execute(con, sql, params)
        names = [d.name for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def quote(self, *names: str) -> str:
        return ".".join(_quoted_pg(n) for n in names)

    def type_name(self, duck_type: str, where: str) -> str:
        return pg_type(duck_type, where)

    def relations(self, con: Any, schema: str, views: bool = False) -> list[str]:
        kinds = ["BASE TABLE", "VIEW"] if views else ["BASE TABLE"]
        return [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = %s "
            "and table_type = any(%s) order by 1", [schema, kinds]).fetchall()]

    def columns(self, con: Any, schema: str, name: str) -> list[str]:
        return [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_schema = %s "
            "and table_name = %s order by ordinal_position", [schema, name]).fetchall()]

    def typed_columns(self, con: Any, schema: str, name: str) -> list[tuple[str, str]]:
        """The DuckDB type of each column (the inverse of PG_TYPES)."""
        duck = {pg: duck_type for duck_type, pg in PG_TYPES.items()}
        typed = []
        for column, pg in _column_types(con, schema, name).items():
            decimal = re.fullmatch(r"numeric\((\d+),(\d+)\)", pg)
            if pg not in duck and not decimal:
                raise WarehouseError(f"{schema}.{name}.{column}: type {pg} has no DuckDB "
                                     "counterpart")
            typed.append((column, duck.get(pg) or f"DECIMAL({decimal[1]},{decimal[2]})"))
        return typed

    def schema_exists(self, con: Any, schema: str) -> bool:
        return _schema_exists(con, schema)

    def upsert(self, con: Any, schema: str, name: str, row: dict[str, Any],
               key: tuple[str, ...]) -> None:
        columns = list(row)
        con.execute(_sql(
            "insert into {} ({}) values ({}) on conflict ({}) do update set {}",
            _ident(schema, name), _join([_ident(c) for c in columns]),
            _join([_sql("%s") for _ in columns]), _join([_ident(c) for c in key]),
            _join([_sql("{} = excluded.{}", _ident(c), _ident(c))
                   for c in columns if c not in key]),
        ), list(row.values()))

    def create_table(self, con: Any, schema: str, name: str, columns: list[tuple[str, str]],
                     doc: Table | None, if_not_exists: bool = False) -> None:
        _create_table(con, schema, name, columns, if_not_exists=if_not_exists)
        has_key = con.execute("select 1 from pg_constraint where conrelid = to_regclass(%s) "
                              "and contype = 'p'", [self.quote(schema, name)]).fetchone()
        if doc is not None and not has_key:
            _add_keys(con, schema, name, [c for c, _ in columns], doc)

    def after_base(self, con: Any) -> None:
        """The run-log tables' documentation and the reader's grants."""
        present = {name: self.columns(con, SCHEMA, name) for name in META_TABLES}
        for statement in comment_statements(SCHEMA, present):
            con.execute(statement)
        _grant_reader(con)

    def load_validation(self, con: Any, path: Path) -> None:
        import duckdb

        duck = duckdb.connect()
        try:
            _copy_arrow(con, _validation_reader(duck, path), SCHEMA, "meta_validation_result",
                        list(table("meta_validation_result").column_names))
        finally:
            duck.close()

    def create_history_table(self, con: Any, name: str, columns: list[tuple[str, str]],
                             doc: Table) -> None:
        """Partitioned by release (LIST on release_id): each release is a table of its own,
        loaded without an index and keyed by one bulk index build, then attached; no earlier
        release's rows or index pages are touched. The key is declared on the parent.
        `dim_release` (one row per release) is a plain table."""
        if name not in PUBLISHED_TABLES:
            self.create_table(con, HISTORY_SCHEMA, name, columns, doc)
            return
        con.execute(_sql("create table {} ({}) partition by list (release_id)",
                         _ident(HISTORY_SCHEMA, name),
                         _join([_sql("{} " + pg_type(t, f"{name}.{c}"), _ident(c))
                                for c, t in columns])))
        _add_keys(con, HISTORY_SCHEMA, name, [c for c, _ in columns], doc)

    def rekey(self, con: Any, name: str, key: list[str], have: list[str]) -> None:
        _rekey_history(con, name, have)

    def check_layouts(self, layouts: dict[str, list[tuple[str, str]]]) -> None:
        for name, columns in layouts.items():
            for column, duck_type in columns:
                pg_type(duck_type, f"{name}.{column}")

    # ---------------------------------------------------------------- publish and rollback

    @contextmanager
    def publishing(self, con: Any, lock: Any, run: Run, layouts: dict[str, list],
                   counts: dict[str, int]) -> Iterator[None]:
        """Load the release's partitions-to-be into the staging schema (committed: invisible to
        readers, who have no right on it), then open the swap transaction; a failed swap drops
        the staging schema."""
        staging = self._staging = staging_schema(run.info.run_id)
        self._counts = counts
        compute = run.compute_db
        # DuckDB sorts within its memory limit (spilling beside compute.duckdb beyond it)
        duck = duckdb_connect(compute, compute.parent / f"{compute.name}.tmp", keep_order=True,
                              read_only=True)
        try:
            with con.transaction():
                con.execute(_sql("create schema {}", _ident(staging)))
                for name in PUBLISHED_TABLES:
                    counts[name] = _load_partition(con, duck, staging, name, run.info.run_id,
                                                   layouts[name],
                                                   f"publish on {self.where} failed")
        finally:
            duck.close()
        try:
            _check_lock(lock, self.url, "publish")
            with con.transaction():
                yield
        except BaseException:
            if not con.closed and con.info.transaction_status == 0:  # idle: usable
                with suppress(Exception):
                    con.execute(_sql("drop schema if exists {} cascade", _ident(staging)))
            raise
        finally:
            self._staging = ""

    def lock_release(self, con: Any, wait: float) -> None:
        """ACCESS EXCLUSIVE on what readers of the release read (the views, or the tables of
        an older version, of `carbon` and `carbon_previous`; not the run log)."""
        relations = [(schema, name) for schema in (SCHEMA, PREVIOUS_SCHEMA)
                     for name in _relkinds(con, schema) if name not in META_TABLES]
        _lock_exclusive(con, relations, f"schema {SCHEMA}", wait)

    def write_release(self, con: Any, name: str, release_id: str, columns: list[str],
                      republished: bool) -> int:
        """The staged table becomes the release's partition: moved into carbon_history and
        attached (its CHECK on release_id spares the scan). A history table made before the
        partitions (a plain table) gets the rows by INSERT, as it always did."""
        part = history_partition(name, release_id)
        staged = _column_types(con, self._staging, part)
        history = _column_types(con, HISTORY_SCHEMA, name)
        if not _partitioned(con, name) or any(history.get(c) != t for c, t in staged.items()):
            _copy_into_history(con, name, release_id, columns,
                               _sql("{}", _ident(self._staging, part)))
            return self._counts[name]
        con.execute(_sql("drop table if exists {} cascade", _ident(HISTORY_SCHEMA, part)))
        for column, pg in history.items():  # columns only earlier releases had
            if column not in staged:
                con.execute(_sql("alter table {} add column {} " + pg,
                                 _ident(self._staging, part), _ident(column)))
        con.execute(_sql("alter table {} set schema {}", _ident(self._staging, part),
                         _ident(HISTORY_SCHEMA)))
        con.execute(_sql("alter table {} attach partition {} for values in ({})",
                         _ident(HISTORY_SCHEMA, name), _ident(HISTORY_SCHEMA, part),
                         _literal(release_id)))
        return self._counts[name]

    def copy_release(self, con: Any, name: str, release_id: str, columns: list[str],
                     source: str, fill: dict[str, str]) -> None:
        _copy_into_history(con, name, release_id, columns, _raw(source), fill)

    def point(self, con: Any, schema: str, release_id: str | None,
              tables: dict[str, list[str]]) -> None:
        """Views of the release's partition, with its release_id (so that the partition's key
        index serves queries by key); CREATE OR REPLACE where the columns stay the same (views
        built on them survive), else the old relation is dropped with what depends on it."""
        kinds = _relkinds(con, schema)
        for name, kind in kinds.items():
            if name in PUBLISHED_TABLES and (kind != "v" or (
                    schema == PREVIOUS_SCHEMA and (release_id is None or name not in tables))):
                con.execute(_sql("drop " + ("view" if kind == "v" else "table")
                                 + " if exists {} cascade", _ident(schema, name)))
                kinds[name] = ""
        if schema == PREVIOUS_SCHEMA:  # the analyst views an older version kept there
            for name, kind in kinds.items():
                if kind == "v" and name not in PUBLISHED_TABLES:
                    con.execute(_sql("drop view if exists {} cascade", _ident(schema, name)))
        if release_id is None:
            return
        for name, columns in tables.items():
            part = history_partition(name, release_id)
            source = _ident(HISTORY_SCHEMA, part if _partitioned(con, name) and
                            _column_types(con, HISTORY_SCHEMA, part) else name)
            history = _column_types(con, HISTORY_SCHEMA, name)
            replace = kinds.get(name) == "v" and list(_column_types(con, schema, name).items()) \
                == [(c, history.get(c)) for c in columns]
            if kinds.get(name) == "v" and not replace:
                con.execute(_sql("drop view if exists {} cascade", _ident(schema, name)))
            con.execute(_sql("create " + ("or replace " if replace else "")
                             + "view {} as select {} from {} where release_id = {}",
                             _ident(schema, name), _join([_ident(c) for c in columns]), source,
                             _literal(release_id)))

    def finish(self, con: Any) -> None:
        """The analyst views, the documentation of schema carbon, the reader's grants; the
        staging schema (emptied by the publish) goes."""
        psycopg = _psycopg()
        for view in VIEWS:
            statement = _sql("view {} as ", _ident(SCHEMA, view.name)) + _raw(
                view.sql.format(schema=_quoted_pg(SCHEMA)))
            try:
                with con.transaction():
                    con.execute(_sql("create or replace ") + statement)
            except psycopg.errors.InvalidTableDefinition:  # its columns changed
                con.execute(_sql("drop view {} cascade", _ident(SCHEMA, view.name)))
                con.execute(_sql("create ") + statement)
        present = {name: self.columns(con, SCHEMA, name)
                   for name in (*PUBLISHED_TABLES, *(v.name for v in VIEWS))}
        for statement in comment_statements(SCHEMA, {k: v for k, v in present.items() if v},
                                            views=[*PUBLISHED_TABLES, *(v.name for v in VIEWS)]):
            con.execute(statement)
        if self._staging:
            con.execute(_sql("drop schema if exists {} cascade", _ident(self._staging)))
        _grant_reader(con)

    def result_extras(self) -> dict[str, Any]:
        if self._action != "warehouse init":
            return {"notes": self._notes}
        with connect(self.url) as conn:
            login = conn.execute("select rolcanlogin from pg_roles where rolname = %s",
                                 [PUBLISHER_ROLE]).fetchone()
        return {"role": READER_ROLE, "publisher": PUBLISHER_ROLE,
                "publisher_login": bool(login and login[0]), "dropped_staging": self._dropped,
                "notes": self._notes}
