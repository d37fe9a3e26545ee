"""The DAG `nbs_fetch`: parses cleanly without heavy imports, runs monthly by default (or on the
schedule of CARBON_NBS_FETCH_SCHEDULE), alerts on failure, and its task fetches from a replay
of the portal into the landing folder the assessment reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from import_probe import heavy_imports
from nbs_replay import replay_server

pytestmark = pytest.mark.airflow

DAG_FILE = Path(__file__).resolve().parent.parent / "dags" / "nbs_fetch.py"
HEAVY_MODULES = ["pandas", "great_expectations", "duckdb", "pyarrow", "carbon_assess.pipeline",
                 "carbon_assess.fetch.nbs"]


def _dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    assert bag.dag_ids == ["nbs_fetch"]
    return bag.dags["nbs_fetch"]


def test_dagbag_imports_the_fetch_dag_monthly_with_alerts():
    dag = _dag()
    assert dag.task_ids == ["fetch"]
    assert dag.catchup is False
    assert dag.timetable.expression == "0 6 1 * *"  # the 1st of every month
    assert set(dag.params) == {"landing_dir", "base_url", "years", "indicators"}
    task = dag.get_task("fetch")
    assert task.execution_timeout is not None
    assert any(type(cb).__name__ == "FailureAlert" for cb in task.on_failure_callback)


def test_the_schedule_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("CARBON_NBS_FETCH_SCHEDULE", "30 2 15 * *")
    assert _dag().timetable.expression == "30 2 15 * *"
    monkeypatch.setenv("CARBON_NBS_FETCH_SCHEDULE", "none")
    assert not hasattr(_dag().timetable, "expression")  # on demand only


def test_fetch_dag_imports_nothing_heavy_at_top_level():
    proc = heavy_imports(DAG_FILE, HEAVY_MODULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


def test_the_task_fetches_into_the_landing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CARBON_NBS_REQUEST_INTERVAL", "0")
    landing = tmp_path / "landing"
    with replay_server() as (url, _):
        run = _dag().test(run_conf={"landing_dir": str(landing), "base_url": url,
                                    "indicators": "gdp,gdp_index"})
    assert {ti.task_id: str(ti.state) for ti in run.get_task_instances()} == {
        "fetch": "success"}
    assert sorted(p.name for p in landing.iterdir()) == ["nbs_fsnd_gdp.csv",
                                                         "nbs_fsnd_gdp_index.csv"]
    assert len(list((tmp_path / "home" / "snapshots").glob("nbs-*"))) == 1
