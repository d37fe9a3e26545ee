"""Release history (issue 12, item 4): every publish keeps its release in schema carbon_history
(dim_release + the published tables keyed by release_id), schema carbon shows the current one,
`carbon-assess diff` lists what changed between two releases, rollback still works.

Two vintages of the two-province landing set (tests/builders.py): in the second one Qinghai's
2015 GDP index is revised from 110 to 108, so its constant-price GDP of 2015 is 108/110 of the
first vintage's, its 2015 intensity 110/108 of it: the cumulative decline 2010→2015 goes from
11.0 % to 1 - 0.89 × 110/108 = 9.35 %, below the 10 % target: status met → missed. Guangdong
and every other Qinghai year are unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main
from carbon_assess.errors import WarehouseError
from carbon_assess.pipeline import assess_stage, compute_stage, ingest_stage, validate_stage
from carbon_assess.publish import PUBLISHED_TABLES, publish, rollback, table_checksums
from carbon_assess.report.history import diff_releases, list_releases

from builders import PLAN_YEARS, write_economy, write_two_province_plan
from workdirs import execute_warehouse, query_warehouse

FIRST, SECOND = "20260101T000000Z-hist01", "20260102T000000Z-hist02"


def _landing(landing: Path, qinghai_2015_index: float) -> Path:
    write_two_province_plan(landing)
    write_economy(
        landing,
        gdp={"630000": {y: 1000 + y for y in PLAN_YEARS} | {2010: 1000},
             "440000": {y: 5000 + y for y in PLAN_YEARS} | {2010: 2000}},
        index={"630000": dict.fromkeys(PLAN_YEARS, 110) | {2015: qinghai_2015_index},
               "440000": dict.fromkeys(PLAN_YEARS, 108)},
    )
    return landing


@pytest.fixture(scope="module")
def vintages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("history")
    runs = {}
    for run_id, vintage, index in ((FIRST, "v1", 110), (SECOND, "v2-revised", 108)):
        landing = _landing(root / f"landing-{vintage}", index)
        workdir = root / run_id
        ingest_stage(landing, workdir, run_id, vintage=vintage)
        validate_stage(workdir)
        compute_stage(workdir)
        assess_stage(workdir)
        runs[run_id] = workdir
    return runs


@pytest.fixture
def warehouse(warehouse_url: str) -> str:
    return warehouse_url


def _log_runs_that_did_not_publish(url: str, tag: str) -> list[str]:
    """A rejected, a failed and a skipped run, logged after every row of the run log (as the
    pipeline records them: run-log rows only, no published table touched); their run ids."""
    run_ids = [f"{tag}-rejected", f"{tag}-failed", f"{tag}-skipped"]
    rows = [(run_ids[0], "rejected", "'validate'", "'gdp.csv row 2: negative GDP'"),
            (run_ids[1], "failed", "'compute'", "'out of memory'"),
            (run_ids[2], "skipped", "null", "'landing folder unchanged'")]
    execute_warehouse(url, *(
        f"alter table carbon.meta_pipeline_run add column if not exists {column} varchar"
        for column in ("restored_run_id", "failed_stage", "reason", "report_path")
    ), *(
        "insert into carbon.meta_pipeline_run (run_id, started_at, finished_at, status, "
        f"failed_stage, reason) select '{run_id}', max(finished_at) + interval '1 hour', "
        f"max(finished_at) + interval '1 hour', '{status}', {stage}, {reason} "
        "from carbon.meta_pipeline_run"
        for run_id, status, stage, reason in rows
    ))
    return run_ids


def _verdict(url: str, schema: str, release: str | None = None) -> tuple:
    where = f" and release_id = '{release}'" if release else ""
    return query_warehouse(url, f"select status, grade, round(cumulative_decline_pct::numeric, 2) "
                       f"from {schema}.fct_target_assessment where plan_id = '12th' "
                       f"and province_code = '630000' and assessment_year = 2015{where}")[0]


def test_history_keeps_every_release_and_diff_lists_the_flip(vintages, warehouse, capsys):
    publish(vintages[FIRST], warehouse)
    first_checksums = table_checksums(warehouse)
    publish(vintages[SECOND], warehouse)

    releases = query_warehouse(warehouse, "select release_id, vintage, method, factor_version, "
                                 "input_files from carbon_history.dim_release order by 1")
    assert [(r[0], r[1]) for r in releases] == [(FIRST, "v1"), (SECOND, "v2-revised")]
    assert all(r[2] and r[3] for r in releases)
    inputs = {r[0]: {i["file"]: i["sha256"] for i in json.loads(r[4])} for r in releases}
    assert inputs[FIRST]["energy.csv"] == inputs[SECOND]["energy.csv"]
    assert inputs[FIRST]["gdp_index.csv"] != inputs[SECOND]["gdp_index.csv"]
    # every published table, both releases, same rows as published
    for name in PUBLISHED_TABLES:
        per_release = dict(query_warehouse(warehouse, f"select release_id, count(*) from "
                                              f"carbon_history.{name} group by 1"))
        published = query_warehouse(warehouse, f"select count(*) from carbon.{name}")[0][0]
        assert per_release.get(SECOND, 0) == published, name
        assert set(per_release) <= {FIRST, SECOND}, name
    # carbon shows the latest release; the history has both verdicts
    assert _verdict(warehouse, "carbon")[:2] == ("missed", "fail")
    assert _verdict(warehouse, "carbon_history", FIRST)[0] == "met"
    assert _verdict(warehouse, "carbon_history", SECOND)[0] == "missed"
    assert [r["current"] for r in list_releases(warehouse)] == [False, True]

    diff = diff_releases(warehouse)
    assert (diff["from"], diff["to"]) == (FIRST, SECOND)
    assert {r[2] for r in diff["rows"]} == {"630000"}
    assert [r[:8] for r in diff["rows"]] == [
        ("12th", 2015, "630000", "Qinghai", "met", "missed", *_grades(warehouse))]
    decline_from, decline_to, change = diff["rows"][0][8:]
    assert decline_from == pytest.approx(11.0, abs=0.01)
    assert decline_to == pytest.approx(9.35, abs=0.01)
    assert change == pytest.approx(decline_to - decline_from, abs=0.011)
    # the other way round, explicitly
    back = diff_releases(warehouse, SECOND, FIRST)
    assert [r[4:6] for r in back["rows"]] == [("missed", "met")]
    # a bigger tolerance does not hide a status change
    assert len(diff_releases(warehouse, tolerance_pp=5)["rows"]) == 1

    assert main(["diff", "--warehouse", warehouse]) == 0
    out = capsys.readouterr().out
    assert f"release {FIRST} → {SECOND}: 1 change(s)" in out
    assert "630000 Qinghai" in out and "met → missed" in out and "440000" not in out
    assert main(["diff", "--warehouse", warehouse, "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert [(c["province"], c["status_from"], c["status_to"]) for c in changes] == [
        ("630000", "met", "missed")]
    assert main(["diff", "--warehouse", warehouse, "--format", "csv", "--from", FIRST,
                 "--to", SECOND]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("plan,year,province,name,status_from,status_to")
    assert len(lines) == 2 and lines[1].startswith("12th,2015,630000,Qinghai,met,missed")

    # an unknown release: one line naming the ones there are
    assert main(["diff", "--warehouse", warehouse, "--from", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "release nope" in err and FIRST in err and SECOND in err

    # rollback restores the first release; the history keeps both; diff follows `carbon`
    rollback(warehouse)
    assert table_checksums(warehouse) == first_checksums
    assert _verdict(warehouse, "carbon")[0] == "met"
    assert len(query_warehouse(warehouse, "select * from carbon_history.dim_release")) == 2
    assert _verdict(warehouse, "carbon_history", SECOND)[0] == "missed"
    assert [r["current"] for r in list_releases(warehouse)] == [True, False]
    assert main(["diff", "--warehouse", warehouse]) == 1  # nothing before the current one
    assert "give --from" in capsys.readouterr().err
    assert diff_releases(warehouse, SECOND)["to"] == FIRST

    # republishing a run replaces its history rows (idempotent), never duplicates them
    before = query_warehouse(warehouse, "select count(*) from carbon_history.fct_intensity")
    publish(vintages[SECOND], warehouse)
    assert query_warehouse(warehouse, "select count(*) from carbon_history.fct_intensity") == before
    assert len(query_warehouse(warehouse, "select * from carbon_history.dim_release")) == 2
    assert diff_releases(warehouse)["to"] == SECOND


def test_runs_that_did_not_publish_never_become_the_current_release(vintages, warehouse):
    """Rejected, failed and skipped runs are on the run log, later than the release, but the
    release in schema carbon (list_releases' current, diff's default `to`) stays the publish's
    and, after a rollback, the restored one's."""
    from carbon_assess.report import load_report

    publish(vintages[FIRST], warehouse)
    publish(vintages[SECOND], warehouse)
    later = _log_runs_that_did_not_publish(warehouse, "after-second")
    latest = query_warehouse(warehouse, "select run_id, status from carbon.meta_pipeline_run "
                               "order by finished_at desc limit 1")
    assert latest == [(later[-1], "skipped")]  # the latest row is not a release
    assert [(r["release_id"], r["current"]) for r in list_releases(warehouse)] == [
        (FIRST, False), (SECOND, True)]
    diff = diff_releases(warehouse)
    assert (diff["from"], diff["to"]) == (FIRST, SECOND)
    assert [r[4:6] for r in diff["rows"]] == [("met", "missed")]  # the revision, as published
    data = load_report(warehouse, plan="12th")
    assert data["release"]["run_id"] == SECOND and data["validation"]["run_id"] == SECOND
    assert [r["run_id"] for r in data["runs"][:3]] == later[::-1]  # the runs list shows them
    assert {r["run_id"]: r["status"] for r in data["runs"]}[later[0]] == "rejected"
    qinghai = next(r for r in data["rows"] if r["province_code"] == "630000")
    assert qinghai["status"] == _verdict(warehouse, "carbon")[0] == "missed"

    rollback(warehouse)
    _log_runs_that_did_not_publish(warehouse, "after-rollback")
    assert [r["current"] for r in list_releases(warehouse)] == [True, False]
    assert diff_releases(warehouse, SECOND)["to"] == FIRST
    data = load_report(warehouse, plan="12th")
    assert data["release"]["status"] == "rolled back"
    assert data["validation"]["run_id"] == FIRST
    qinghai = next(r for r in data["rows"] if r["province_code"] == "630000")
    assert qinghai["status"] == _verdict(warehouse, "carbon")[0] == "met"


def _grades(url: str) -> tuple[str, str]:
    first = _verdict(url, "carbon_history", FIRST)[1]
    second = _verdict(url, "carbon_history", SECOND)[1]
    return first, second


def test_diff_without_history_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="does not exist"):
        diff_releases(f"duckdb://{tmp_path / 'none.duckdb'}")


def test_a_failed_publish_appends_no_history(vintages, tmp_path: Path) -> None:
    url = f"duckdb://{tmp_path / 'w.duckdb'}"
    publish(vintages[FIRST], url)
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(vintages[SECOND], broken)
    with duckdb.connect(str(broken / "compute.duckdb")) as con:  # duplicate key: publish fails
        con.execute("insert into fct_target_assessment select * from fct_target_assessment "
                    "limit 1")
    with pytest.raises(WarehouseError):
        publish(broken, url)
    assert query_warehouse(url, "select release_id from carbon_history.dim_release") == [(FIRST,)]
    assert {r[0] for r in query_warehouse(url, "select distinct release_id from "
                                      "carbon_history.fct_target_assessment")} == {FIRST}
