"""The export of the analyst views (carbon_assess.report.export): every view of the catalog to
Parquet and CSV, row counts and values as the warehouse has them, written atomically.

The warehouse is the demo run published by the shared test helpers (tests/workdirs.py); every
expected number is read from the warehouse by SQL, never from the export's own result.
"""

from __future__ import annotations

import csv
import filecmp
import shutil
from pathlib import Path

import duckdb
import pytest

from carbon_assess.errors import WarehouseError
from carbon_assess.publish import publish
from carbon_assess.publish.catalog import VIEWS
from carbon_assess.report import export
from carbon_assess.report.export import export_views

from workdirs import compute_demo_run

RUN_ID = "20260301T000000Z-export"
VIEW_NAMES = [v.name for v in VIEWS]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compute_demo_run(tmp_path_factory.mktemp("export"), RUN_ID)


@pytest.fixture(scope="module")
def warehouse(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export-warehouse") / "w.duckdb"
    publish(workdir, f"duckdb:///{path}")
    return path


def _sql(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _leftovers(parent: Path, dest: Path) -> list[str]:
    """Entries of `parent` other than `dest` (temporary or set-aside folders)."""
    return sorted(p.name for p in parent.iterdir() if p != dest)


def test_every_view_is_exported_with_its_rows(warehouse: Path, tmp_path: Path):
    import pyarrow.parquet as pq

    dest = tmp_path / "out" / "views"
    result = export_views(f"duckdb:///{warehouse}", dest)

    assert sorted(result) == sorted(VIEW_NAMES)
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        f"{name}.{ext}" for name in VIEW_NAMES for ext in ("parquet", "csv"))
    for name in VIEW_NAMES:
        [(count,)] = _sql(warehouse, f"select count(*) from carbon.{name}")
        entry = result[name]
        assert entry["rows"] == count, name
        assert Path(entry["parquet"]) == dest / f"{name}.parquet"
        assert Path(entry["csv"]) == dest / f"{name}.csv"
        assert pq.read_table(entry["parquet"]).num_rows == count, name
        assert len(_csv_rows(Path(entry["csv"]))) == count, name
        columns = [r[0] for r in _sql(
            warehouse, "select column_name from information_schema.columns where "
            "table_schema = 'carbon' and table_name = ? order by ordinal_position", [name])]
        assert pq.read_table(entry["parquet"]).column_names == columns, name
        with Path(entry["csv"]).open(encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == columns, name
    assert _leftovers(dest.parent, dest) == []
    # a view with rows, so the counts above are not all zero
    assert result["v_latest_assessment"]["rows"] > 0


def test_a_known_value_round_trips(warehouse: Path, tmp_path: Path):
    import pyarrow.parquet as pq

    dest = tmp_path / "views"
    export_views(f"duckdb:///{warehouse}", dest)
    [(plan, code, name_zh, decline, veto, year)] = _sql(
        warehouse,
        "select plan_id, province_code, name_zh, cumulative_decline_pct, veto, assessment_year "
        "from carbon.v_latest_assessment where cumulative_decline_pct is not null "
        "and veto is not null "
        "order by plan_id, province_code limit 1")

    table = pq.read_table(dest / "v_latest_assessment.parquet")
    rows = [r for r in table.to_pylist()
            if r["plan_id"] == plan and r["province_code"] == code]
    assert len(rows) == 1
    assert rows[0]["cumulative_decline_pct"] == decline  # exactly, not rounded
    assert (rows[0]["name_zh"], rows[0]["veto"], rows[0]["assessment_year"]) == (
        name_zh, veto, year)
    assert str(table.schema.field("cumulative_decline_pct").type) == "double"
    assert str(table.schema.field("veto").type) == "bool"

    [line] = [r for r in _csv_rows(dest / "v_latest_assessment.csv")
              if r["plan_id"] == plan and r["province_code"] == code]
    assert float(line["cumulative_decline_pct"]) == decline
    assert line["name_zh"] == name_zh  # UTF-8
    assert int(line["assessment_year"]) == year
    assert line["veto"] == str(veto).lower()

    # a null stays null in Parquet and an empty field in CSV
    nulls = _sql(warehouse, "select count(*) from carbon.v_intensity_constant_prices "
                            "where cumulative_decline_pct is null")[0][0]
    parquet = pq.read_table(dest / "v_intensity_constant_prices.parquet")
    assert parquet.column("cumulative_decline_pct").null_count == nulls
    assert sum(1 for r in _csv_rows(dest / "v_intensity_constant_prices.csv")
               if r["cumulative_decline_pct"] == "") == nulls


def test_a_second_export_replaces_the_first(warehouse: Path, tmp_path: Path):
    dest = tmp_path / "views"
    export_views(f"duckdb:///{warehouse}", dest)
    (dest / "stale.csv").write_text("from an older export", encoding="utf-8")
    export_views(f"duckdb:///{warehouse}", dest)
    assert not (dest / "stale.csv").exists()
    assert len(list(dest.iterdir())) == 2 * len(VIEW_NAMES)
    assert _leftovers(tmp_path, dest) == []


def test_a_failing_export_leaves_no_partial_directory(warehouse: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch):
    url = f"duckdb:///{warehouse}"
    parent = tmp_path / "exports"
    dest = parent / "views"

    # fails after some views were written: neither dest nor a temporary folder remains
    real_write, calls = export._write, []

    def write_then_fail(table, folder, name):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_write(table, folder, name)

    monkeypatch.setattr(export, "_write", write_then_fail)
    with pytest.raises(OSError, match="disk full"):
        export_views(url, dest)
    assert len(calls) == 3
    assert not dest.exists() and _leftovers(parent, dest) == []

    # with an earlier export in place, a failure leaves it exactly as it was
    monkeypatch.setattr(export, "_write", real_write)
    export_views(url, dest)
    kept = tmp_path / "kept"
    shutil.copytree(dest, kept)
    calls.clear()
    monkeypatch.setattr(export, "_write", write_then_fail)
    with pytest.raises(OSError):
        export_views(url, dest)
    names = sorted(p.name for p in kept.iterdir())
    assert sorted(p.name for p in dest.iterdir()) == names
    assert filecmp.cmpfiles(kept, dest, names, shallow=False)[0] == names
    assert _leftovers(parent, dest) == []

    # a warehouse lacking a view of the catalog: one clear error, nothing written
    monkeypatch.setattr(export, "_write", real_write)
    broken = tmp_path / "broken.duckdb"
    shutil.copy(warehouse, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute(f"drop view carbon.{VIEW_NAMES[-1]}")
    other = parent / "other"
    with pytest.raises(WarehouseError, match=VIEW_NAMES[-1]):
        export_views(f"duckdb:///{broken}", other)
    assert not other.exists() and _leftovers(parent, dest) == []

    # no warehouse at all
    with pytest.raises(WarehouseError, match="does not exist"):
        export_views(f"duckdb:///{tmp_path / 'none.duckdb'}", other)
    assert not other.exists() and not (tmp_path / "none.duckdb").exists()
    assert _leftovers(parent, dest) == []


@pytest.mark.postgres
def test_postgres_export_matches_duckdb(workdir: Path, warehouse: Path, pg_url: str,
                                        tmp_path: Path):
    import psycopg
    import pyarrow.parquet as pq

    publish(workdir, pg_url)
    from_pg = export_views(pg_url, tmp_path / "pg")
    from_duck = export_views(f"duckdb:///{warehouse}", tmp_path / "duck")
    with psycopg.connect(pg_url) as conn:
        for name in VIEW_NAMES:
            [(count,)] = conn.execute(f"select count(*) from carbon.{name}").fetchall()
            assert from_pg[name]["rows"] == count, name
            assert len(_csv_rows(Path(from_pg[name]["csv"]))) == count, name
    for name in VIEW_NAMES:
        pg_table = pq.read_table(from_pg[name]["parquet"])
        duck_table = pq.read_table(from_duck[name]["parquet"])
        assert pg_table.schema == duck_table.schema, name  # types from the catalog
        key = [(c, "ascending") for c in pg_table.column_names]
        pg_rows = pg_table.sort_by(key).to_pylist()
        duck_rows = duck_table.sort_by(key).to_pylist()
        assert len(pg_rows) == len(duck_rows), name
        for a, b in zip(pg_rows, duck_rows, strict=True):
            assert _close(a, b), (name, a, b)


def _close(a: dict, b: dict) -> bool:
    """Rows equal, floats to 12 significant digits (the engines may differ in the last bit)."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, float) and isinstance(y, float):
            if x != pytest.approx(y, rel=1e-12, abs=1e-12):
                return False
        elif x != y:
            return False
    return True
