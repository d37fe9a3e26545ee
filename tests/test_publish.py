"""Publishing to the embedded DuckDB warehouse: atomic, idempotent, documented, reversible.

Also home of the work-directory helpers that test_postgres.py and test_schema_docs.py reuse:
computing a run (ingest → validate → compute → assess on the demo landing files) takes seconds,
so each module computes once and derives variants by editing a copy of compute.duckdb.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from carbon_assess.errors import WarehouseError
from carbon_assess.publish import (
    PUBLISHED_TABLES,
    publish,
    rollback,
    table_checksums,
)
from carbon_assess.publish.catalog import VIEWS, row_order, table
from carbon_assess.report import query_assessment

from workdirs import clone_run, compute_demo_run, thin_out

# --------------------------------------------------------------------------- helpers

FIRST, THIN = "20260101T000000Z-aaaaaa", "20260101T000200Z-cccccc"


def duckdb_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            t: con.execute(f"select count(*) from carbon.{t}").fetchall()[0][0]
            for t in (*PUBLISHED_TABLES, "meta_pipeline_run")
        }


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two independent pipeline runs of the same inputs, and a thinned-out variant."""
    root = tmp_path_factory.mktemp("publish")
    first = compute_demo_run(root, FIRST)
    second = compute_demo_run(root, "20260101T000100Z-bbbbbb")
    thin = clone_run(first, root / "thin", THIN, thin_out())
    return {"first": first, "second": second, "thin": thin}


def _url(path: Path) -> str:
    return f"duckdb://{path}"


# --------------------------------------------------------------------------- tests


def test_two_runs_of_the_same_inputs_publish_identical_rows(runs, tmp_path) -> None:
    url = _url(tmp_path / "w.duckdb")
    publish(runs["first"], url)
    first = table_checksums(url)
    publish(runs["second"], url)
    assert table_checksums(url) == first
    assert set(first) == set(PUBLISHED_TABLES)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute(
            "select run_id from carbon.meta_pipeline_run order by 1"
        ).fetchall() == [("20260101T000000Z-aaaaaa",), ("20260101T000100Z-bbbbbb",)]
        per_run = dict(con.execute(
            "select run_id, count(*) from carbon.meta_validation_result group by 1"
        ).fetchall())
        assert len(per_run) == 2 and len(set(per_run.values())) == 1
        # the previous release is the first run's: equal rows as well
    assert table_checksums(url, schema="carbon_previous") == first
    # republishing the same run changes nothing, not even the run log's length
    publish(runs["second"], url)
    assert table_checksums(url) == first
    assert duckdb_counts(tmp_path / "w.duckdb")["meta_pipeline_run"] == 2


def test_lineage_carries_no_run_id_or_time(runs, tmp_path) -> None:
    url = _url(tmp_path / "w.duckdb")
    publish(runs["first"], url)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for name in PUBLISHED_TABLES:
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'carbon' and table_name = ?", [name]).fetchall()]
            assert not {"run_id", "published_at", "loaded_at"} & set(columns), name
            text_columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'carbon' and table_name = ? and data_type = 'VARCHAR'", [name]).fetchall()]
            for column in text_columns:
                hits = con.execute(
                    f'select count(*) from carbon.{name} where "{column}" like ? '
                    f'or "{column}" like ?', ["%20260101T%", "%aaaaaa%"]).fetchall()[0][0]
                assert hits == 0, f"{name}.{column} contains the run id"


def test_rows_are_stored_in_key_order(runs, tmp_path) -> None:
    """Each release's rows are stored once, in carbon_history, in key order (what carbon.<table>
    shows is a view of them): row ids follow the key within every release, also the second
    one's, appended after the first."""
    path = tmp_path / "w.duckdb"
    publish(runs["first"], _url(path))
    publish(runs["thin"], _url(path))
    with duckdb.connect(str(path), read_only=True) as con:
        for name in PUBLISHED_TABLES:
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = "
                "'carbon' and table_name = ? order by ordinal_position", [name]).fetchall()]
            order = ", ".join(f'"{c}"' for c in row_order(name, columns))
            select = ", ".join(f'"{c}"' for c in columns)
            for release in (FIRST, THIN):
                stored = f"from carbon_history.{name} where release_id = '{release}'"
                assert con.execute(f"select {select} {stored} order by rowid").fetchall() \
                    == con.execute(f"select {select} {stored} order by {order}").fetchall(), name
            assert con.execute(f"select * from carbon.{name}").fetchall() == con.execute(
                f"select {select} from carbon_history.{name} where release_id = '{THIN}' "
                "order by rowid").fetchall(), name


def test_failed_publish_leaves_the_release_untouched(runs, tmp_path) -> None:
    """The last table breaks its primary key: the earlier tables were already replaced inside
    the transaction, and all of it is rolled back."""
    url = _url(tmp_path / "w.duckdb")
    publish(runs["first"], url)
    before = table_checksums(url)
    broken = clone_run(runs["first"], tmp_path / "broken", "20260101T000300Z-dddddd", (
        "delete from fct_energy_activity where rowid % 2 = 0",
        "insert into fct_target_assessment select * from fct_target_assessment limit 1",
    ))
    with pytest.raises(WarehouseError, match="publish to .* failed: .*(?i:constraint|key)"):
        publish(broken, url)
    assert table_checksums(url) == before
    assert duckdb_counts(tmp_path / "w.duckdb")["meta_pipeline_run"] == 1


def test_rollback_restores_the_previous_release(runs, tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    url = _url(path)
    publish(runs["first"], url)
    with pytest.raises(WarehouseError, match="no previous release"):
        rollback(url)
    full = table_checksums(url)
    publish(runs["thin"], url)
    thin = table_checksums(url)
    assert thin != full
    assert rollback(url)["restored_tables"]
    assert table_checksums(url) == full
    assert table_checksums(url, schema="carbon_previous") == thin
    with duckdb.connect(str(path), read_only=True) as con:  # views follow, comments survive
        for view in VIEWS:
            assert con.execute(f"select count(*) from carbon.{view.name}").fetchall()[0][0] > 0
        comment = con.execute(
            "select comment from duckdb_columns() where schema_name = 'carbon' "
            "and table_name = 'fct_intensity' and column_name = 'co2_mt'").fetchall()[0][0]
        assert comment == table("fct_intensity").column("co2_mt").comment()
    rollback(url)
    assert table_checksums(url) == thin
    assert duckdb_counts(path)["meta_pipeline_run"] == 4  # the run log is not rolled back...
    log = _run_log(path)  # ...each rollback adds its row, naming the release it restored
    assert [(r["status"], r["restored_run_id"]) for r in log] == [
        ("published", None), ("published", None),
        ("rolled back", FIRST), ("rolled back", THIN),
    ]
    first, thin_row, back, forth = log
    assert back["run_id"] not in (FIRST, THIN) and back["run_id"] != forth["run_id"]
    for column in ("vintage", "method", "factor_version", "landing", "input_files", "warnings"):
        assert back[column] == first[column] and forth[column] == thin_row[column], column
    assert json.loads(back["row_counts"]) == json.loads(first["row_counts"])
    assert json.loads(forth["row_counts"]) == json.loads(thin_row["row_counts"])
    assert back["finished_at"] >= back["started_at"] >= thin_row["finished_at"]


def _run_log(path: Path) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute("select * from carbon.meta_pipeline_run "
                             "order by finished_at, run_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_rollback_never_creates_a_warehouse(runs, tmp_path) -> None:
    typo = tmp_path / "wherehouse.duckdb"
    with pytest.raises(WarehouseError, match=f"warehouse {typo} does not exist") as info:
        rollback(_url(typo))
    assert "\n" not in str(info.value)
    assert not typo.exists() and list(tmp_path.iterdir()) == []
    duckdb.connect(str(typo)).close()  # a DuckDB file that holds no warehouse
    before = typo.read_bytes()
    with pytest.raises(WarehouseError, match="no previous release"):
        rollback(_url(typo))
    assert typo.read_bytes() == before


def test_rollback_of_a_warehouse_from_an_older_version(runs, tmp_path) -> None:
    """No release table, no restored_run_id column: the rollback adds the column and finds the
    restored run in the run log."""
    path = tmp_path / "w.duckdb"
    publish(runs["first"], _url(path))
    full = table_checksums(_url(path))
    publish(runs["thin"], _url(path))
    with duckdb.connect(str(path)) as con:
        con.execute("drop schema carbon_control cascade")
        con.execute("alter table carbon.meta_pipeline_run drop column restored_run_id")
    assert rollback(_url(path))["restored_run_id"] == FIRST
    assert table_checksums(_url(path)) == full
    assert [r["restored_run_id"] for r in _run_log(path)] == [None, None, FIRST]
    assert rollback(_url(path))["restored_run_id"] == THIN  # and records releases from now on
    with duckdb.connect(str(path), read_only=True) as con:
        assert dict(con.execute("select slot, run_id from carbon_control.release").fetchall()) \
            == {"current": THIN, "previous": FIRST}


def test_views_comments_and_query(runs, tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    publish(runs["first"], _url(path))
    with duckdb.connect(str(path), read_only=True) as con:
        for view in VIEWS:
            cursor = con.execute(f"select * from carbon.{view.name}")
            assert [d[0] for d in cursor.description] == list(view.column_names)
            assert cursor.fetchall(), view.name
        table_comment = con.execute(  # (a view of its release's rows in carbon_history)
            "select comment from duckdb_views() where schema_name = 'carbon' "
            "and view_name = 'fct_target_assessment'").fetchall()[0][0]
        assert table_comment == table("fct_target_assessment").description
        latest = con.execute(
            "select plan_id, province_code, assessment_year, status "
            "from carbon.v_latest_assessment where plan_id = '12th'").fetchall()
        provinces = con.execute(
            "select count(*) from carbon.dim_province").fetchall()[0][0]
        # every province, those without data listed with their status (issue 12)
        assert len(latest) == len({r[1] for r in latest}) == provinces == 31
        with_data = con.execute(
            "select count(distinct province_code) from carbon.fct_target_assessment "
            "where plan_id = '12th' and status <> 'insufficient data'").fetchall()[0][0]
        assert sum(r[3] != "insufficient data" for r in latest) == with_data > 0
        ranks = con.execute(
            "select decline_rank, cumulative_decline_pct from carbon.v_decline_ranking "
            "where plan_id = '12th' and year = 2015 order by decline_rank").fetchall()
        assert ranks[0][0] == 1
        assert [r[1] for r in ranks] == sorted((r[1] for r in ranks), reverse=True)
    columns, rows = query_assessment(_url(path), plan="12th", province="630000")
    assert columns[:4] == ["plan", "code", "province", "year"]
    assert {r[0] for r in rows} == {"12th"} and {r[1] for r in rows} == {"630000"}
    assert all(r[5] is None or r[5] == round(r[5], 2) for r in rows)


def test_second_writer_waits_then_fails_clearly(runs, tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    publish(runs["first"], _url(path))
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(30)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(WarehouseError, match="in use by another process") as info:
            publish(runs["first"], _url(path), lock_timeout=0.5)
        assert "\n" not in str(info.value)
    finally:
        holder.kill()
        holder.wait()
