"""The Warehouse interface (issue 19 step 4) and a history that only appends (step 5).

Three releases of the demo run are published in turn: A (the demo run), B (the same rows under
another run id) and C (A thinned out: every third row of each table removed, other counts).
After each publish, `carbon_history.<table>` holds exactly the rows it held before plus the new
release's rows (the rows `carbon.<table>` now holds), and the earlier releases' rows are the
same physical rows: DuckDB keeps the history table (same table oid) and their row ids; on
PostgreSQL each release is a partition of its own whose file (relfilenode) and row addresses
(ctid) do not change when a later release is published. A publish therefore costs the same
whatever the number of earlier releases. Rollback still restores the previous release.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon_assess.publish import (
    PUBLISHED_TABLES,
    Warehouse,
    open_warehouse,
    publish,
    rollback,
    table_checksums,
)
from carbon_assess.publish.pg_binary import binary_copy_chunks

from workdirs import clone_run, compute_demo_run, query_warehouse, thin_out

RUN_A, RUN_B, RUN_C = ("20260101T000000Z-whia01", "20260101T000100Z-whib02",
                       "20260101T000200Z-whic03")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("warehouse-interface")
    a = compute_demo_run(root, RUN_A)
    return {RUN_A: a, RUN_B: clone_run(a, root / "b", RUN_B),
            RUN_C: clone_run(a, root / "c", RUN_C, thin_out())}


@pytest.fixture
def url(warehouse_url: str) -> str:
    return warehouse_url


def _history_counts(url: str) -> dict[str, dict[str, int]]:
    return {name: dict(query_warehouse(
                url, f"select release_id, count(*) from carbon_history.{name} group by 1"))
            for name in PUBLISHED_TABLES}


def _current_counts(url: str) -> dict[str, int]:
    return {name: query_warehouse(url, f"select count(*) from carbon.{name}")[0][0]
            for name in PUBLISHED_TABLES}


def _physical(url: str, release: str) -> dict[str, object]:
    """Where the release's history rows are stored: DuckDB: the history table's oid and the
    release's row ids; PostgreSQL: its partition's relfilenode and row addresses."""
    out: dict[str, object] = {}
    for name in PUBLISHED_TABLES:
        if url.startswith("duckdb"):
            oid = query_warehouse(url, "select table_oid from duckdb_tables() where schema_name = "
                              f"'carbon_history' and table_name = '{name}'")
            rows = query_warehouse(url, f"select min(rowid), max(rowid), count(*) from "
                               f"carbon_history.{name} where release_id = '{release}'")
        else:
            oid = query_warehouse(url, "select c.relfilenode from pg_inherits i join pg_class c on "
                              "c.oid = i.inhrelid where i.inhparent = "
                              f"'carbon_history.{name}'::regclass and "
                              f"pg_get_expr(c.relpartbound, c.oid) like '%{release}%'")
            rows = query_warehouse(url, f"select array_agg(ctid::text order by ctid) from "
                               f"carbon_history.{name} where release_id = '{release}'")
        out[name] = (oid, rows)
    return out


def test_the_engine_is_chosen_once_from_the_url(tmp_path: Path) -> None:
    duck = open_warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    pg = open_warehouse("postgresql://nobody@127.0.0.1:1/none")
    assert isinstance(duck, Warehouse) and isinstance(pg, Warehouse)
    assert (duck.kind, pg.kind) == ("duckdb", "postgresql")
    assert duck.history() == [] and duck.current_release() is None  # creates nothing
    assert not (tmp_path / "w.duckdb").exists()


def test_history_appends_only_the_new_release(releases, url) -> None:
    warehouse = open_warehouse(url)
    warehouse.publish(releases[RUN_A])
    first = table_checksums(url)
    counts_a = _current_counts(url)
    assert _history_counts(url) == {n: ({RUN_A: c} if c else {}) for n, c in counts_a.items()}
    stored_a = _physical(url, RUN_A)
    assert all(oid for oid, _ in stored_a.values())  # every table (a partition on PostgreSQL)

    warehouse.publish(releases[RUN_B])
    assert _current_counts(url) == counts_a  # B has A's rows under another run id
    history = _history_counts(url)
    assert history == {n: ({RUN_A: c, RUN_B: c} if c else {}) for n, c in counts_a.items()}
    assert _physical(url, RUN_A) == stored_a  # A's rows were not rewritten
    stored_b = _physical(url, RUN_B)

    warehouse.publish(releases[RUN_C])
    counts_c = _current_counts(url)
    # thin_out removes every third row: a table of n rows keeps n - ceil(n / 3)
    assert counts_c == {n: c - (c + 2) // 3 for n, c in counts_a.items()}
    history = _history_counts(url)
    for name, count in counts_a.items():
        expected = {RUN_A: count, RUN_B: count, RUN_C: counts_c[name]} if count else {}
        assert history[name] == expected, name
    assert _physical(url, RUN_A) == stored_a and _physical(url, RUN_B) == stored_b
    assert [r["release_id"] for r in warehouse.history()] == [RUN_A, RUN_B, RUN_C]

    # the previous release is B (A's rows): rollback restores it
    assert table_checksums(url, schema="carbon_previous") == first
    rollback(url)
    assert table_checksums(url) == first
    assert warehouse.current_release()["run_id"] == RUN_B
    assert _history_counts(url) == history  # a rollback leaves the history as it is

    # republishing a release already in the history replaces its own rows only
    warehouse.publish(releases[RUN_C])
    assert _history_counts(url) == history
    assert _current_counts(url) == counts_c
    assert _physical(url, RUN_A) == stored_a and _physical(url, RUN_B) == stored_b


def test_duckdb_keeps_the_previous_release_as_views_on_its_history(releases, tmp_path) -> None:
    """No second copy of the outgoing release: carbon_previous reads its history rows."""
    url = f"duckdb://{tmp_path / 'w.duckdb'}"
    publish(releases[RUN_A], url)
    first = table_checksums(url)
    publish(releases[RUN_C], url)
    kinds = set(query_warehouse(url, "select table_type from information_schema.tables "
                            "where table_schema = 'carbon_previous'"))
    assert kinds == {("VIEW",)}
    assert table_checksums(url, schema="carbon_previous") == first
    rollback(url)
    assert table_checksums(url) == first
    assert set(query_warehouse(url, "select table_type from information_schema.tables "
                           "where table_schema = 'carbon'")) == {("BASE TABLE",), ("VIEW",)}


def test_binary_copy_round_trips_every_published_type(pg_url) -> None:
    """NULLs, empty and non-ASCII text, extremes of each type, a batch that is a slice."""
    import psycopg
    import pyarrow as pa

    batch = pa.record_batch({
        "s": pa.array(["青海省", None, "", "a,\"b\"\n"]),
        "d": pa.array([1.5, None, -0.0, 1e-300]),
        "i": pa.array([2**31 - 1, None, -(2**31), 0], pa.int32()),
        "l": pa.array([2**62, None, -1, 7], pa.int64()),
        "b": pa.array([True, None, False, True]),
    })
    types = ["VARCHAR", "DOUBLE", "INTEGER", "BIGINT", "BOOLEAN"]
    with psycopg.connect(pg_url) as conn:
        conn.execute("create table t (s text, d float8, i int4, l int8, b bool)")
        with conn.cursor().copy("copy t from stdin (format binary)") as copy:
            for chunk in binary_copy_chunks([batch.slice(0, 1), batch.slice(1)], types):
                copy.write(chunk)
        assert conn.execute("select * from t").fetchall() == [
            ("青海省", 1.5, 2**31 - 1, 2**62, True),
            (None, None, None, None, None),
            ("", -0.0, -(2**31), -1, False),
            ("a,\"b\"\n", 1e-300, 0, 7, True),
        ]
