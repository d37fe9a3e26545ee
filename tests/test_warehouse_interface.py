"""The Warehouse interface (issue 19 step 4) and a history that only appends (step 5).

Three releases of the demo run are published in turn: A (the demo run), B (the same rows under
another run id) and C (A thinned out: every third row of each table removed, other counts).
After each publish, `carbon_history.<table>` holds exactly the rows it held before plus the new
release's rows (the rows `carbon.<table>` now holds), and the earlier releases' rows are the
same physical rows: DuckDB keeps the history table (same table oid) and their row ids; on
PostgreSQL each release is a partition of its own whose file (relfilenode) and row addresses
(ctid) do not change when a later release is published. A publish therefore costs the same
whatever the number of earlier releases. The history is the only place a release's rows are
stored: `carbon.<table>` and `carbon_previous.<table>` are views of one release's rows, so a
rollback copies nothing. Rollback still restores the previous release.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon_assess.errors import WarehouseError
from carbon_assess.publish import (
    PUBLISHED_TABLES,
    Warehouse,
    open_warehouse,
    publish,
    rollback,
    table_checksums,
)
from carbon_assess.publish.catalog import META_TABLES
from carbon_assess.publish.pg_binary import SIGNATURE, TRAILER, binary_copy_chunks
from carbon_assess.publish.postgres_warehouse import history_partition

from workdirs import clone_run, compute_demo_run, execute_warehouse, query_warehouse, thin_out

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


def _stored(url: str) -> dict[tuple[str, str], int]:
    """Where rows are stored: every base table of the carbon schemas (on PostgreSQL each
    partition, not the partitioned parents, which hold no row) and its number of rows."""
    if url.startswith("duckdb"):
        tables = query_warehouse(url, "select schema_name, table_name from duckdb_tables() "
                                      "where schema_name like 'carbon%'")
    else:
        tables = query_warehouse(url, "select n.nspname::text, c.relname::text from pg_class c "
                                      "join pg_namespace n on n.oid = c.relnamespace where "
                                      "n.nspname like 'carbon%%' and c.relkind = 'r'")
    return {(schema, name): query_warehouse(url, f'select count(*) from {schema}."{name}"')[0][0]
            for schema, name in tables}


def _kinds(url: str, schema: str) -> dict[str, str]:
    return dict(query_warehouse(url, "select table_name, table_type from "
                                     f"information_schema.tables where table_schema = '{schema}'"))


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


def _published_views_only(url: str) -> None:
    """carbon.<table> and carbon_previous.<table> are views; carbon keeps the run log's tables."""
    carbon = _kinds(url, "carbon")
    assert {n for n, kind in carbon.items() if kind == "BASE TABLE"} == set(META_TABLES)
    assert all(carbon[n] == "VIEW" for n in PUBLISHED_TABLES)
    assert "BASE TABLE" not in _kinds(url, "carbon_previous").values()


def test_a_publish_writes_the_release_rows_once(releases, url) -> None:
    """The only rows a publish adds are the release's rows in carbon_history (and its
    dim_release and run-log rows): no staged copy, no second copy in carbon."""
    publish(releases[RUN_A], url)
    counts_a = _current_counts(url)
    _published_views_only(url)
    before = _stored(url)
    assert {schema for schema, _ in before} <= {"carbon", "carbon_history", "carbon_control"}

    publish(releases[RUN_C], url)
    _published_views_only(url)
    after = _stored(url)
    # thin_out removes every third row: a table of n rows keeps n - ceil(n / 3)
    expected = {n: c - (c + 2) // 3 for n, c in counts_a.items()}
    assert _current_counts(url) == expected
    grown = {key: rows - before.get(key, 0) for key, rows in after.items()
             if rows != before.get(key, 0)}
    history = sum(rows for (schema, name), rows in grown.items()
                  if schema == "carbon_history" and name != "dim_release")
    assert history == sum(expected.values())  # each of C's rows written once...
    assert grown.get(("carbon_history", "dim_release")) == 1
    assert {key for key in grown if key[0] != "carbon_history"} <= {  # ...and nowhere else
        ("carbon", "meta_pipeline_run"), ("carbon", "meta_validation_result")}
    assert grown[("carbon", "meta_pipeline_run")] == 1
    for name in PUBLISHED_TABLES:  # what carbon shows is C's rows of the history
        assert query_warehouse(url, f"select count(*) from carbon_history.{name} "
                                    f"where release_id = '{RUN_C}'")[0][0] == expected[name]
    assert table_checksums(url, schema="carbon_previous") != table_checksums(url)


def test_rollback_copies_nothing(releases, url) -> None:
    publish(releases[RUN_A], url)
    a = table_checksums(url)
    publish(releases[RUN_C], url)
    c = table_checksums(url)
    stored, physical = _stored(url), (_physical(url, RUN_A), _physical(url, RUN_C))
    rollback(url)
    assert table_checksums(url) == a and table_checksums(url, schema="carbon_previous") == c
    _published_views_only(url)
    log = ("carbon", "meta_pipeline_run")
    assert _stored(url) == stored | {log: stored[log] + 1}  # the rollback's run-log row only
    assert (_physical(url, RUN_A), _physical(url, RUN_C)) == physical
    rollback(url)
    assert table_checksums(url) == c and _stored(url) == stored | {log: stored[log] + 2}


def _duplicated_key(run: Path, target: Path, run_id: str) -> Path:
    return clone_run(run, target, run_id, (
        "insert into fct_target_assessment select * from fct_target_assessment limit 1",))


def test_a_duplicated_key_is_refused_and_changes_nothing(releases, url, tmp_path) -> None:
    publish(releases[RUN_A], url)
    publish(releases[RUN_B], url)
    state = (table_checksums(url), table_checksums(url, schema="carbon_previous"),
             _history_counts(url), _stored(url),
             query_warehouse(url, "select * from carbon.meta_pipeline_run order by run_id"))
    broken = _duplicated_key(releases[RUN_C], tmp_path / "broken", RUN_C)
    with pytest.raises(WarehouseError) as info:
        publish(broken, url)
    message = str(info.value)
    assert "\n" not in message
    assert "fct_target_assessment has a duplicated key (plan_id, region_code, " \
           "assessment_year)" in message
    assert (table_checksums(url), table_checksums(url, schema="carbon_previous"),
            _history_counts(url), _stored(url),
            query_warehouse(url, "select * from carbon.meta_pipeline_run order by run_id")
            ) == state


def _to_tables(url: str, schema: str) -> list[str]:
    """SQL turning the views of `schema` into tables holding the same rows, as the version
    before the views left its releases."""
    return [statement for name in PUBLISHED_TABLES for statement in (
        f"create table {schema}.{name}__old as select * from {schema}.{name}",
        f"drop view {schema}.{name}" + ("" if url.startswith("duckdb") else " cascade"),
        f"alter table {schema}.{name}__old rename to {name}")]


def _forget(url: str, release: str) -> list[str]:
    """SQL removing a release from the history (it was published before the history)."""
    if url.startswith("duckdb"):
        drop = [f"delete from carbon_history.{n} where release_id = '{release}'"
                for n in PUBLISHED_TABLES]
    else:
        drop = [f"drop table carbon_history.{history_partition(n, release)}"
                for n in PUBLISHED_TABLES]
    return [*drop, f"delete from carbon_history.dim_release where release_id = '{release}'"]


@pytest.mark.parametrize("then", ["publish", "rollback"])
def test_a_warehouse_of_the_table_layout_upgrades_without_losing_its_release(
        releases, url, then) -> None:
    """A warehouse whose releases are tables in carbon and carbon_previous, the current one
    (C) missing from the history: its next publish or rollback copies C into the history once
    and replaces the tables by views; no release is lost."""
    publish(releases[RUN_A], url)
    a = table_checksums(url)
    publish(releases[RUN_C], url)
    c, counts_c = table_checksums(url), _current_counts(url)
    execute_warehouse(url, *_to_tables(url, "carbon"), *_to_tables(url, "carbon_previous"),
                      *_forget(url, RUN_C))
    for schema in ("carbon", "carbon_previous"):
        assert {_kinds(url, schema)[n] for n in PUBLISHED_TABLES} == {"BASE TABLE"}
    assert all(set(per_release) <= {RUN_A} for per_release in _history_counts(url).values())
    if then == "publish":
        publish(releases[RUN_B], url)  # B holds A's rows
        assert table_checksums(url) == a and table_checksums(url, schema="carbon_previous") == c
    else:
        rollback(url)
        assert table_checksums(url) == a and table_checksums(url, schema="carbon_previous") == c
        rollback(url)
        assert table_checksums(url) == c
    _published_views_only(url)
    history = _history_counts(url)
    assert all(history[n].get(RUN_C, 0) == k for n, k in counts_c.items())
    assert RUN_C in [r["release_id"] for r in open_warehouse(url).history()]


def test_the_binary_encoder_holds_one_record_batch_at_a_time() -> None:
    """Publish memory is bounded by the batch, not the table: the encoder pulls the next record
    batch only when the previous one's bytes have been taken (COPY sends each chunk before
    asking for the next), and a batch of n rows of one INTEGER column is n x 10 bytes (field
    count 2, length 4, value 4)."""
    import pyarrow as pa

    pulled: list[int] = []

    def batches():
        for number in range(3):
            pulled.append(number)
            yield pa.record_batch({"i": pa.array(range(1000 * number, 1000 * (number + 1)),
                                                 pa.int32())})

    chunks = binary_copy_chunks(batches(), ["INTEGER"])
    assert next(chunks) == SIGNATURE and pulled == []
    for number in range(3):
        assert len(next(chunks)) == 1000 * 10
        assert pulled == list(range(number + 1))
    assert next(chunks) == TRAILER


def test_postgres_publish_streams_compute_rows_in_batches(releases, pg_url, monkeypatch
                                                          ) -> None:
    """A publish to PostgreSQL reads each table out of compute.duckdb as record batches of at
    most BATCH_ROWS rows and sends them one by one (never a whole table at once)."""
    from carbon_assess.publish import postgres_warehouse

    monkeypatch.setattr(postgres_warehouse, "BATCH_ROWS", 2048)
    sizes: dict[str, list[int]] = {}
    copy = postgres_warehouse.copy_binary

    def recording(conn, batches, schema, name, columns):
        seen = sizes.setdefault(name.split("__")[0], [])

        def each():
            for batch in batches:
                seen.append(batch.num_rows)
                yield batch
        return copy(conn, each(), schema, name, columns)

    monkeypatch.setattr(postgres_warehouse, "copy_binary", recording)
    counts = publish(releases[RUN_A], pg_url)["row_counts"]
    big = max(counts, key=counts.get)
    assert counts[big] > 2 * 2048
    for name, rows in counts.items():
        assert sum(sizes[name]) == rows and max(sizes[name], default=0) <= 2048, name
    assert len(sizes[big]) >= -(-counts[big] // 2048)
