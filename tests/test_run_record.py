"""Every run is on record: a rejected, failed or skipped run gets its run-log row (and its
validation results) in both warehouses, and the release analysts read stays exactly as it was."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import psycopg
import pytest

from carbon_assess.errors import ValidationFailed
from carbon_assess.pipeline import check_landing, record_failure, record_skip, run_stage
from carbon_assess.publish import current_release, publish, table_checksums
from carbon_assess.workdir import HOME_ENV, Run

from workdirs import compute_demo_run

RUN_A = "20260101T000000Z-aaaaaa"
RUN_REJECTED = "20260102T000000Z-bbbbbb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A computed demo run (published by the tests) and a copy of it that validation
    'rejects' (its results.parquet carries the findings)."""
    root = tmp_path_factory.mktemp("records")
    a = compute_demo_run(root, RUN_A)
    rejected = root / RUN_REJECTED
    shutil.copytree(a, rejected)
    info = (rejected / "run.json").read_text(encoding="utf-8").replace(RUN_A, RUN_REJECTED)
    (rejected / "run.json").write_text(info, encoding="utf-8")
    con = duckdb.connect()
    results = str(Run(rejected).validation_results)
    con.execute(f"copy (select * replace ('{RUN_REJECTED}' as run_id) from read_parquet("
                f"'{results}')) to '{results}.new' (format parquet)")
    Path(results + ".new").replace(results)
    return {"a": a, "rejected": rejected, "landing": root / "landing"}


def _rejection() -> ValidationFailed:
    return ValidationFailed("validate failed: 1 error(s) in gdp (e.g. gdp.csv row 7 column "
                            "'地区生产总值(亿元)': must be > 0); report: /q/report.md",
                            "/q/report.md")


def _record_and_compare(url: str, runs: dict[str, Path], fetch) -> None:
    publish(runs["a"], url)
    before = table_checksums(url)
    record_failure(Run(runs["rejected"]), url, "validate", _rejection())
    record_failure(Run(runs["rejected"]), url, "validate", _rejection())  # a retry: one row
    assert table_checksums(url) == before
    assert current_release(url)["run_id"] == RUN_A
    rows = fetch("select run_id, status, failed_stage, reason, report_path, landing_digest "
                 "from carbon.meta_pipeline_run order by finished_at")
    assert [r[:3] for r in rows] == [(RUN_A, "published", None),
                                     (RUN_REJECTED, "rejected", "validate")]
    assert rows[1][3].startswith("validate failed: 1 error(s) in gdp (e.g. gdp.csv row 7")
    assert rows[1][4] == "/q/report.md"
    assert rows[1][5] == rows[0][5] and len(rows[0][5]) == 64  # same landing, same digest
    expected = duckdb.connect().execute(
        "select count(*) from read_parquet(?)",
        [str(Run(runs["rejected"]).validation_results)]).fetchone()[0]
    assert fetch("select count(*) from carbon.meta_validation_result where run_id = "
                 f"'{RUN_REJECTED}'") == [(expected,)]


def test_duckdb_keeps_the_release_and_records_the_rejected_run(runs, tmp_path) -> None:
    warehouse = tmp_path / "w.duckdb"

    def fetch(sql: str) -> list[tuple]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    _record_and_compare(f"duckdb://{warehouse}", runs, fetch)


@pytest.mark.postgres
def test_postgres_keeps_the_release_and_records_the_rejected_run(runs, pg_url) -> None:
    def fetch(sql: str) -> list[tuple]:
        with psycopg.connect(pg_url) as conn:
            return conn.execute(sql).fetchall()

    _record_and_compare(pg_url, runs, fetch)


def test_a_failure_that_cannot_be_recorded_keeps_the_original_error(runs, caplog) -> None:
    """The warehouse itself may be what failed: recording never raises."""
    record_failure(Run(runs["rejected"]), "postgresql://nobody@127.0.0.1:1/none", "publish",
                   RuntimeError("boom"))
    assert "could not put the failed run on record" in caplog.text


def test_unchanged_landing_is_skipped_unless_forced_or_relabelled(runs, tmp_path) -> None:
    url = f"duckdb://{tmp_path / 'w.duckdb'}"
    landing = runs["landing"]
    assert check_landing(landing, url)["skip_reason"] is None  # nothing published yet
    publish(runs["a"], url)
    unchanged = check_landing(landing, url, vintage="test")
    assert unchanged["current_run_id"] == RUN_A
    assert f"unchanged since release {RUN_A}" in unchanged["skip_reason"]
    assert check_landing(landing, url, vintage="test", force=True)["skip_reason"] is None
    assert check_landing(landing, url, vintage="2024 yearbook")["skip_reason"] is None
    assert check_landing(landing, url, vintage="test", method="consumption")[
        "skip_reason"] is None
    record_skip("20260103T000000Z-cccccc", unchanged, url, vintage="test")
    assert current_release(url)["run_id"] == RUN_A  # a skipped run changes nothing


def test_a_worker_without_the_shared_work_area_is_told_which_setting(tmp_path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "not-shared"))
    with pytest.raises(Exception) as raised:
        run_stage("compute", RUN_A, f"duckdb://{tmp_path / 'w.duckdb'}")
    message = str(raised.value)
    assert f"run {RUN_A}: work directory" in message
    assert f"{HOME_ENV}={tmp_path / 'not-shared'} must name storage shared by every worker" \
        in message
    assert not (tmp_path / "w.duckdb").exists()
