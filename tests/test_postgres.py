"""The PostgreSQL warehouse against a real server (no mocks): every test gets its own database.

Server: $CARBON_TEST_PG_URL (a superuser URL to an existing database, default
postgresql://postgres@127.0.0.1:5432/postgres). Unreachable → skipped locally, failed under CI.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from carbon_assess.errors import WarehouseError, mask_url
from carbon_assess.publish import (
    CONTROL_SCHEMA,
    PUBLISHED_TABLES,
    PUBLISHER_ROLE,
    READER_ROLE,
    init_warehouse,
    publish,
    rollback,
    table_checksums,
)
from carbon_assess.publish.catalog import PG_TYPES, TABLES, VIEWS, table
from carbon_assess.report import query_assessment
from carbon_assess.settings import warehouse_url_from_airflow_connection

from workdirs import clone_run, compute_demo_run, thin_out

pytestmark = pytest.mark.postgres

RUN_A = "20260101T000000Z-aaaaaa"


@pytest.fixture(scope="module")
def runs(server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One computed run of the demo data (A), a thinner release (B) and a much bigger one."""
    root = tmp_path_factory.mktemp("pg")
    a = compute_demo_run(root, RUN_A)
    b = clone_run(a, root / "b", "20260101T000100Z-bbbbbb", thin_out())
    a_again = clone_run(a, root / "a2", "20260101T000200Z-cccccc")
    big = clone_run(a, root / "big", "20260101T000300Z-dddddd", (
        "insert into fct_energy_activity "
        "select f.* replace (f.year + 10000 * t.k as year) "
        "from fct_energy_activity as f, range(1, 120) as t(k)",
    ))
    return {"a": a, "b": b, "a_again": a_again, "big": big}


def _connect(url: str):
    return psycopg.connect(url, autocommit=True)


def _counts(conn, schema: str = "carbon") -> tuple[int, ...]:
    """One statement over every table and view: a consistent snapshot of one release."""
    names = [*PUBLISHED_TABLES, *(v.name for v in VIEWS)]
    sql = "select " + ", ".join(f"(select count(*) from {schema}.{n})" for n in names)
    return conn.execute(sql).fetchone()


# --------------------------------------------------------------------------- publish & query


def test_publish_query_republish(runs, pg_url) -> None:
    assert init_warehouse(pg_url)["role"] == READER_ROLE
    assert init_warehouse(pg_url)["schemas"] == ["carbon", "carbon_previous"]  # idempotent
    result = publish(runs["a"], pg_url)
    assert result["row_counts"]["fct_energy_activity"] > 0
    first = table_checksums(pg_url)
    assert set(first) == set(PUBLISHED_TABLES)
    columns, rows = query_assessment(pg_url, plan="12th", province="630000")
    assert columns[:4] == ["plan", "code", "province", "year"] and rows
    assert {r[1] for r in rows} == {"630000"}
    _, every = query_assessment(pg_url)
    _, one_year = query_assessment(pg_url, year=2015)
    assert len(one_year) < len(every) and {r[3] for r in one_year} == {2015}
    # the same run again, then another run of the same inputs: identical rows
    publish(runs["a"], pg_url)
    assert table_checksums(pg_url) == first
    publish(runs["a_again"], pg_url)
    assert table_checksums(pg_url) == first
    assert table_checksums(pg_url, schema="carbon_previous") == first
    with _connect(pg_url) as conn:
        assert conn.execute("select count(*) from carbon.meta_pipeline_run").fetchone() == (2,)
        assert conn.execute(
            "select count(distinct run_id) from carbon.meta_validation_result").fetchone() == (2,)
        record = conn.execute(
            "select status, method, factor_version, row_counts from carbon.meta_pipeline_run "
            "where run_id = %s", [RUN_A]).fetchone()
        assert record[:2] == ("published", "reference") and record[2]
        assert json.loads(record[3]) == result["row_counts"]
        assert not conn.execute(
            "select nspname from pg_namespace where nspname like 'carbon_staging%%'").fetchall()


def test_duckdb_and_postgres_publish_the_same_rows_and_types(runs, pg_url, tmp_path) -> None:
    duck = tmp_path / "w.duckdb"
    publish(runs["a"], f"duckdb://{duck}")
    publish(runs["a"], pg_url)
    assert table_checksums(pg_url) == table_checksums(f"duckdb://{duck}")
    assert query_assessment(pg_url) == query_assessment(f"duckdb://{duck}")
    import duckdb

    with _connect(pg_url) as conn, duckdb.connect(str(duck), read_only=True) as dcon:
        for view in VIEWS:  # same SQL text, same rows
            pg_rows = conn.execute(f"select * from carbon.{view.name}").fetchall()
            duck_rows = dcon.execute(f"select * from carbon.{view.name}").fetchall()
            assert pg_rows == duck_rows, view.name
        types = {
            (r[0], r[1]): r[2]
            for r in conn.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = 'carbon'").fetchall()
        }
        documented = {(t.name, c.name): PG_TYPES[c.type] for t in TABLES + VIEWS
                      for c in t.columns}
        assert types == documented  # every column documented, no stale entry, same types
        keys = dict(conn.execute(
            "select c.conrelid::regclass::text, array_agg(a.attname::text order by k.ord) "
            "from pg_constraint c, unnest(c.conkey) with ordinality k(attnum, ord) "
            "join pg_attribute a on true "
            "where c.contype = 'p' and a.attrelid = c.conrelid and a.attnum = k.attnum "
            "and c.connamespace in ('carbon'::regnamespace, 'carbon_history'::regnamespace) "
            "group by 1").fetchall())
        # carbon.<table> is a view of the release's partition of carbon_history.<table>,
        # which is keyed by release_id and the table's key; the run log keeps its own key
        partitions = dict(conn.execute(
            "select p.relname, c.oid::regclass::text from pg_inherits i "
            "join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent "
            "where p.relnamespace = 'carbon_history'::regnamespace "
            "and pg_get_expr(c.relpartbound, c.oid) = %s", [f"FOR VALUES IN ('{RUN_A}')"]
        ).fetchall())
        assert set(partitions) == set(PUBLISHED_TABLES)
        for t in TABLES:
            if t.primary_key and t.name in PUBLISHED_TABLES:
                assert tuple(keys[partitions[t.name]]) == ("release_id", *t.primary_key), t.name
            elif t.primary_key:
                assert tuple(keys[f"carbon.{t.name}"]) == t.primary_key, t.name
        comments = dict(conn.execute(
            "select c.relname || '.' || a.attname, col_description(c.oid, a.attnum) "
            "from pg_class c join pg_attribute a on a.attrelid = c.oid "
            "where c.relnamespace = 'carbon'::regnamespace and a.attnum > 0 "
            "and not a.attisdropped and c.relkind in ('r', 'v')").fetchall())
        for t in TABLES + VIEWS:
            for c in t.columns:
                assert comments[f"{t.name}.{c.name}"] == c.comment()
        assert conn.execute("select obj_description('carbon.v_latest_assessment'::regclass)"
                            ).fetchone()[0] == table("v_latest_assessment").description


# --------------------------------------------------------------------------- atomicity


def test_readers_never_see_a_partial_release(runs, pg_url) -> None:
    """A reader polling the row counts of every table and view in one statement while five
    publishes alternate two releases sees one release or the other, never a mix. How many reads
    land during a swap depends on scheduling, so the test asserts no count of reads and not that
    both releases were seen: only that every read is a whole release (the subset check), that
    the reader read before the first publish, and that the last publish is what it sees after."""
    publish(runs["a"], pg_url)
    with _connect(pg_url) as conn:
        full = _counts(conn)
    publish(runs["b"], pg_url)
    with _connect(pg_url) as conn:
        thin = _counts(conn)
    assert full != thin
    seen: list[tuple[int, ...]] = []
    errors: list[BaseException] = []
    stop, reading = threading.Event(), threading.Event()

    def reader() -> None:
        try:
            with _connect(pg_url) as conn:
                while not stop.is_set():
                    seen.append(_counts(conn))
                    reading.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            reading.set()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert reading.wait(timeout=30), "the reader never read"
        for workdir in ("a", "b", "a", "b", "a"):
            publish(runs[workdir], pg_url)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    assert seen and seen[0] == thin  # read before the first of the five publishes
    assert set(seen) <= {full, thin}, [s for s in seen if s not in (full, thin)][:3]
    with _connect(pg_url) as conn:
        assert _counts(conn) == full  # the last publish (a) is the release readers get


def test_killed_publish_leaves_the_previous_release(runs, pg_url) -> None:
    publish(runs["a"], pg_url)
    before = table_checksums(pg_url)
    dbname = pg_url.rsplit("/", 1)[1]
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from carbon_assess.publish import publish; "
         "publish(Path(sys.argv[1]), sys.argv[2])", str(runs["big"]), pg_url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    copying = None
    with _connect(pg_url) as conn:
        try:
            deadline = time.monotonic() + 60
            while copying is None and time.monotonic() < deadline and child.poll() is None:
                copying = conn.execute(
                    "select pid from pg_stat_activity where datname = %s and state = 'active' "
                    "and query ilike 'copy %%fct_energy_activity%%'", [dbname]).fetchone()
                time.sleep(0.01)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        assert copying, f"the child never reached the bulk load: {child.stderr.read()!r}"
        assert child.returncode == -signal.SIGKILL
        deadline = time.monotonic() + 20  # the server notices the dead client
        while conn.execute("select 1 from pg_stat_activity where pid = %s",
                           copying).fetchone() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _counts(conn)[0] > 0
        assert conn.execute("select count(*) from carbon.meta_pipeline_run").fetchone() == (1,)
    assert table_checksums(pg_url) == before
    # the next publish takes over: the dead one's lock is gone, its staging schema dropped
    publish(runs["b"], pg_url, lock_timeout=20)
    with _connect(pg_url) as conn:
        assert not conn.execute(
            "select nspname from pg_namespace where nspname like 'carbon_staging%%'").fetchall()
    assert table_checksums(pg_url, schema="carbon_previous") == before


def _hold_publish_lock(url: str, application_name: str = "carbon-assess publish"):
    """Another publish in progress: a session holding the publish lock's row."""
    other = psycopg.connect(url, application_name=application_name)
    other.execute(f"select 1 from {CONTROL_SCHEMA}.publish_lock where id = 1 for update")
    return other


def test_concurrent_publish_waits_then_fails_clearly(runs, pg_url) -> None:
    publish(runs["a"], pg_url)
    with _hold_publish_lock(pg_url) as other:
        for call in (lambda: publish(runs["b"], pg_url, lock_timeout=1),
                     lambda: rollback(pg_url, lock_timeout=1)):
            started = time.monotonic()
            with pytest.raises(WarehouseError, match="another publish or rollback is in "
                               "progress") as info:
                call()
            assert time.monotonic() - started >= 1
            message = str(info.value)
            assert "\n" not in message
            assert f"held by pid {other.info.backend_pid}, carbon-assess publish" in message
            assert "gave up after waiting 1 s" in message
        # the second one waits: it goes through once the first has finished
        threading.Timer(0.5, other.rollback).start()
        publish(runs["b"], pg_url, lock_timeout=20)
    with _connect(pg_url) as conn:
        assert conn.execute("select count(*) from carbon.meta_pipeline_run").fetchone() == (2,)


def test_the_reader_role_cannot_take_or_block_the_publish_lock(runs, pg_url) -> None:
    publish(runs["a"], pg_url)
    old_advisory_key = int.from_bytes(b"carbonpb", "big") >> 1  # the lock of earlier versions
    with _connect(pg_url) as reader:
        reader.execute(f"set role {READER_ROLE}")
        assert reader.execute("select pg_advisory_lock(%s)", [old_advisory_key]).fetchone()
        for statement in (
            f"select 1 from {CONTROL_SCHEMA}.publish_lock for update",
            f"select 1 from {CONTROL_SCHEMA}.publish_lock for share",
            f"lock table {CONTROL_SCHEMA}.publish_lock in access share mode",
            f"select * from {CONTROL_SCHEMA}.release",
        ):
            assert _denied(reader, statement), statement
        reader.autocommit = False
        assert reader.execute("select count(*) from carbon.dim_plan").fetchone()[0] > 0
        reader.rollback()  # (a reader's open transaction delays the swap: tested below)
        publish(runs["b"], pg_url, lock_timeout=1)  # neither the old key nor anything else stops it
        rollback(pg_url, lock_timeout=1)


def test_reader_holding_a_transaction_makes_the_swap_fail_cleanly(runs, pg_url) -> None:
    publish(runs["a"], pg_url)
    before = table_checksums(pg_url)
    with _connect(pg_url) as analyst:
        analyst.autocommit = False
        analyst.execute("select count(*) from carbon.dim_plan")  # ...and goes to lunch
        pid = analyst.info.backend_pid
        with pytest.raises(WarehouseError, match=f"exclusive access .* held by pid {pid} "):
            publish(runs["b"], pg_url, lock_timeout=1)
        assert analyst.execute("select count(*) from carbon.fct_intensity").fetchone()[0] > 0
        analyst.rollback()
    assert table_checksums(pg_url) == before
    with _connect(pg_url) as conn:
        assert not conn.execute(
            "select nspname from pg_namespace where nspname like 'carbon_staging%%'").fetchall()
        assert conn.execute("select count(*) from carbon.meta_pipeline_run").fetchone() == (1,)
    publish(runs["b"], pg_url, lock_timeout=5)  # once the reader is gone, it goes through
    assert table_checksums(pg_url, schema="carbon_previous") == before


def test_rollback_restores_the_previous_release(runs, pg_url) -> None:
    with pytest.raises(WarehouseError, match="has no schema carbon: nothing to roll back"):
        rollback(pg_url)  # an empty database: nothing is created
    with _connect(pg_url) as conn:
        assert not conn.execute(
            "select nspname from pg_namespace where nspname like 'carbon%%'").fetchall()
    publish(runs["a"], pg_url)
    with pytest.raises(WarehouseError, match="no previous release"):
        rollback(pg_url)
    full = table_checksums(pg_url)
    publish(runs["b"], pg_url)
    thin = table_checksums(pg_url)
    assert thin != full
    assert len(rollback(pg_url)["restored_tables"]) == len(PUBLISHED_TABLES)
    assert table_checksums(pg_url) == full
    assert table_checksums(pg_url, schema="carbon_previous") == thin
    with _connect(pg_url) as conn:  # the run log stays in carbon; views read the restored rows
        assert conn.execute("select count(*) from carbon.meta_validation_result").fetchone()[0]
        a_counts = _counts(conn)
        log = _run_log(conn)  # the rollback is in it, naming the release it restored
        assert [(r["status"], r["restored_run_id"]) for r in log] == [
            ("published", None), ("published", None), ("rolled back", RUN_A)]
        a_row, _, back = log
        for column in ("vintage", "method", "factor_version", "landing", "input_files"):
            assert back[column] == a_row[column], column
        assert json.loads(back["row_counts"]) == json.loads(a_row["row_counts"])
    publish(runs["a"], pg_url)  # a publish after a rollback behaves normally
    with _connect(pg_url) as conn:
        assert _counts(conn) == a_counts
    rollback(pg_url)
    assert table_checksums(pg_url) == full  # the previous release was the rolled-back one
    with _connect(pg_url) as conn:
        assert _run_log(conn)[-1]["restored_run_id"] == RUN_A  # republished A, back to A
        assert dict(conn.execute(f"select slot, run_id from {CONTROL_SCHEMA}.release")
                    .fetchall()) == {"current": RUN_A, "previous": RUN_A}


def _run_log(conn) -> list[dict]:
    cursor = conn.execute("select * from carbon.meta_pipeline_run order by finished_at, run_id")
    names = [d.name for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --------------------------------------------------------------------------- analyst access


def _denied(conn, statement: str) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


def test_reader_role_can_select_and_nothing_else(runs, pg_url) -> None:
    init_warehouse(pg_url)
    publish(runs["a"], pg_url)
    publish(runs["b"], pg_url)  # grants must survive the schema swap...
    with _connect(pg_url) as conn:
        role = conn.execute("select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb "
                            "from pg_roles where rolname = %s", [READER_ROLE]).fetchone()
        assert role == (False, False, False, False)
        conn.execute(f"set role {PUBLISHER_ROLE}")
        conn.execute("create table carbon.added_later (a int)")  # default privileges
        conn.execute(f"set role {READER_ROLE}")
        assert conn.execute("select count(*) from carbon.added_later").fetchone() == (0,)
        assert _counts(conn)[0] > 0
        assert conn.execute("select count(*) from carbon.meta_pipeline_run").fetchone() == (2,)
        assert conn.execute("select count(*) from carbon.meta_validation_result").fetchone()[0]
        for statement in (
            "insert into carbon.dim_plan (plan_id) values ('15th')",
            "update carbon.dim_plan set source = 'x'",
            "delete from carbon.fct_intensity",
            "truncate carbon_history.fct_intensity",  # (carbon.fct_intensity is a view of it)
            "truncate carbon.meta_pipeline_run",
            "drop view carbon.dim_plan",
            "drop table carbon_history.dim_plan",
            "update carbon_history.fct_intensity set year = 0",
            "drop view carbon.v_latest_assessment",
            "alter table carbon.dim_plan add column x int",
            "create table carbon.mine (a int)",
            "create view carbon.mine as select 1 as a",
            "create table public.mine (a int)",
            "create schema mine",
            "select count(*) from carbon_previous.dim_plan",
            "insert into carbon.meta_pipeline_run (run_id) values ('x')",
            "delete from carbon_history.dim_release",
            "insert into carbon_history.fct_intensity (release_id) values ('x')",
            "create table carbon_history.mine (a int)",
        ):
            assert _denied(conn, statement), statement
        # the release history is readable: both releases
        assert conn.execute("select count(*) from carbon_history.dim_release").fetchone() == (2,)
        assert conn.execute("select count(distinct release_id) "
                            "from carbon_history.fct_target_assessment").fetchone() == (2,)
        conn.execute("reset role")
    rollback(pg_url)  # ...and the rollback swap
    with _connect(pg_url) as conn:
        conn.execute(f"set role {READER_ROLE}")
        assert _counts(conn)[0] > 0
        assert _denied(conn, "select count(*) from carbon_previous.dim_plan")


def _as_publisher(pg_url: str, password: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(pg_url)
    return (f"postgresql://{PUBLISHER_ROLE}:{password}@{info['host']}:{info['port']}/"
            f"{info['dbname']}")


def _owners(conn) -> set[str]:
    """Owners of the carbon schemas and of everything in them."""
    return {r[0] for r in conn.execute(
        "select pg_get_userbyid(nspowner) from pg_namespace where nspname like 'carbon%%' "
        "union select pg_get_userbyid(c.relowner) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname like 'carbon%%' and c.relkind in ('r', 'v')").fetchall()}


def test_publisher_role_has_rights_on_the_carbon_schemas_only(runs, pg_url, monkeypatch) -> None:
    password = "test-only-" + time.strftime("%H%M%S")
    monkeypatch.setenv("CARBON_PUBLISHER_PASSWORD", password)
    result = init_warehouse(pg_url)  # as the superuser: roles, rights, schemas
    assert result["publisher"] == PUBLISHER_ROLE and result["publisher_login"]
    assert not result["notes"]
    monkeypatch.delenv("CARBON_PUBLISHER_PASSWORD")
    with _connect(pg_url) as admin:
        role = admin.execute(
            "select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
            "rolpassword like 'SCRAM-SHA-256$%%' from pg_authid where rolname = %s",
            [PUBLISHER_ROLE]).fetchone()
        assert role == (True, False, False, False, False, True)  # a verifier, not the password
        admin.execute("create table public.payroll (salary int); insert into public.payroll "
                      "values (1); create schema other; create table other.data (a int)")
    url = _as_publisher(pg_url, password)
    first = publish(runs["a"], url)
    assert first["notes"] == []
    publish(runs["b"], url)
    assert rollback(url)["restored_run_id"] == RUN_A
    with _connect(pg_url) as admin:
        assert _owners(admin) == {PUBLISHER_ROLE}
    with _connect(url) as conn:
        assert conn.execute("select current_user").fetchone() == (PUBLISHER_ROLE,)
        for statement in (
            "select * from public.payroll",
            "update public.payroll set salary = 2",
            "select * from other.data",
            "create table other.mine (a int)",
            "create table public.mine (a int)",
            f"create role carbon_test_{secrets.token_hex(3)}",
            f"grant {PUBLISHER_ROLE} to {READER_ROLE}",
            "select pg_reload_conf()",
            "select pg_read_file('PG_VERSION')",
        ):
            assert _denied(conn, statement), statement


def test_a_warehouse_of_another_owner_is_handed_to_the_publisher(runs, pg_url,
                                                                  monkeypatch) -> None:
    """A warehouse published by an older version as the superuser: the publisher cannot take
    it over by itself (a clear message); `warehouse init` as the superuser hands it over."""
    password = "test-only-" + time.strftime("%H%M%S")
    monkeypatch.setenv("CARBON_PUBLISHER_PASSWORD", password)
    init_warehouse(pg_url)
    monkeypatch.delenv("CARBON_PUBLISHER_PASSWORD")
    publish(runs["a"], pg_url)
    admin_user = psycopg.conninfo.conninfo_to_dict(pg_url).get("user", "postgres")
    with _connect(pg_url) as admin:
        for schema, name, kind in admin.execute(
            "select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n "
            "on n.oid = c.relnamespace where n.nspname like 'carbon%%' "
            "and c.relkind in ('r', 'v')").fetchall():
            admin.execute(f'alter {"view" if kind == "v" else "table"} "{schema}"."{name}" '
                          f"owner to {admin_user}")
        for schema in ("carbon", "carbon_previous", "carbon_control"):
            admin.execute(f"alter schema {schema} owner to {admin_user}")
    url = _as_publisher(pg_url, password)
    with pytest.raises(WarehouseError, match="may not take the publish lock .* warehouse init"):
        publish(runs["b"], url)
    assert init_warehouse(pg_url)["notes"] == []
    with _connect(pg_url) as admin:
        assert _owners(admin) == {PUBLISHER_ROLE}
    publish(runs["b"], url)
    assert rollback(url)["restored_run_id"] == RUN_A


# --------------------------------------------------------------------------- errors & config


@pytest.mark.parametrize(
    "url, expected",
    [
        ("postgresql://carbon:s3cr3t-pw@127.0.0.1:1/nowhere", "cannot connect"),
        ("postgresql://carbon:s3cr3t-pw@127.0.0.1:notaport/db", "cannot connect"),
        ("postgresql://carbon:s3cr3t-pw@no-such-host.invalid:5432/db", "cannot connect"),
    ],
)
def test_unusable_server_is_one_clear_line(url, expected, runs, capsys) -> None:
    for call in (lambda: publish(runs["a"], url), lambda: query_assessment(url),
                 lambda: init_warehouse(url), lambda: rollback(url)):
        with pytest.raises(WarehouseError, match=expected) as info:
            call()
        message = str(info.value)
        assert "\n" not in message and "s3cr3t-pw" not in message
        assert "carbon:***@" in message
    from carbon_assess.cli import main

    assert main(["show", "--warehouse", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect") and err.count("\n") == 1
    assert "s3cr3t-pw" not in err and "Traceback" not in err


def test_unknown_database_and_empty_warehouse(pg_url, capsys) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/carbon_test_does_not_exist"
    with pytest.raises(WarehouseError, match="does not exist"):
        query_assessment(missing)
    with pytest.raises(WarehouseError, match="no published assessment"):
        query_assessment(pg_url)
    from carbon_assess.cli import main

    assert main(["warehouse", "init", "--warehouse", pg_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("warehouse ready: ")
    assert f"roles: {READER_ROLE} (read-only), {PUBLISHER_ROLE} (" in out
    assert main(["show", "--warehouse", pg_url]) == 1
    assert "no published assessment" in capsys.readouterr().err


def test_cli_show_reads_postgres(runs, pg_url, capsys) -> None:
    publish(runs["a"], pg_url)
    from carbon_assess.cli import main

    assert main(["show", "--warehouse", pg_url, "--plan", "12th", "--province", "630000"]) == 0
    out = capsys.readouterr().out
    assert "630000" in out and "Qinghai" in out


def test_warehouse_url_from_airflow_connection(pg_url, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_CARBON_WH_TEST", json.dumps({
        "conn_type": "postgres", "host": "db.example.org", "port": 6543, "login": "carbon",
        "password": "p@ss/wo:rd", "schema": "warehouse", "extra": {"sslmode": "require"},
    }))
    url = warehouse_url_from_airflow_connection("carbon_wh_test")
    parsed = psycopg.conninfo.conninfo_to_dict(url)
    assert parsed == {"host": "db.example.org", "port": "6543", "user": "carbon",
                      "password": "p@ss/wo:rd", "dbname": "warehouse", "sslmode": "require"}
    assert "p@ss" not in mask_url(url)
    monkeypatch.setenv("AIRFLOW_CONN_CARBON_WH_REAL", pg_url)
    real = warehouse_url_from_airflow_connection("carbon_wh_real")
    assert init_warehouse(real)["role"] == READER_ROLE
    with pytest.raises(WarehouseError, match="carbon_wh_missing"):
        warehouse_url_from_airflow_connection("carbon_wh_missing")
