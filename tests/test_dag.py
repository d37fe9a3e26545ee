"""The yearly assessment DAG: parses cleanly, imports nothing heavy at top level (the structural
check that keeps it cheap to parse; its parse time is measured by
benchmarks/bench_parse_validate.py, not asserted here), wires the stages, runs end to end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from import_probe import heavy_imports

pytestmark = pytest.mark.airflow

REPO_ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = REPO_ROOT / "dags" / "carbon_assessment.py"
DAG_ID = "carbon_intensity_assessment"
TASK_ORDER = ["check_landing", "ingest", "validate", "compute", "assess", "check_outputs",
              "publish"]
STAGES = TASK_ORDER[1:]  # check_landing is no pipeline stage
HEAVY_MODULES = ["pandas", "great_expectations", "duckdb", "pyarrow", "carbon_assess.pipeline"]


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FILE))


def _dagbag_all():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FILE.parent))


@pytest.fixture(scope="module")
def dag():
    bag = _dagbag()
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


def _query(warehouse: Path, sql: str) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_dagbag_imports_the_dag_without_errors():
    bag = _dagbag()

    assert bag.import_errors == {}
    assert bag.dag_ids == [DAG_ID]

    dag = bag.dags[DAG_ID]
    assert sorted(dag.task_ids) == sorted(TASK_ORDER)
    for upstream, downstream in zip(TASK_ORDER, TASK_ORDER[1:], strict=False):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.get_task("publish").downstream_task_ids == set()
    assert dag.get_task("validate").retries == 0
    assert dag.get_task("check_outputs").retries == 0
    assert dag.catchup is False
    assert set(dag.params) == {
        "landing_dir", "warehouse_url", "warehouse_conn_id", "vintage", "method",
        "electricity_trade", "force",
    }
    assert dag.doc_md
    # every task is bounded in time and alerts on failure
    for task in dag.tasks:
        assert task.execution_timeout is not None, task.task_id
        assert task.on_failure_callback, task.task_id
    # runs on a new release in the landing folder (Asset) as well as yearly, never at unpause
    timetable = dag.timetable
    assert "carbon_landing" in repr(timetable.asset_condition)
    assert "run_immediately=False" in repr(timetable.timetable)
    assert [o.name for o in dag.get_task("publish").outlets] == ["carbon_warehouse"]


def test_the_export_dag_runs_on_the_warehouse_asset():
    bag = _dagbag_all()
    assert bag.import_errors == {}
    export = bag.dags["carbon_export"]
    assert "carbon_warehouse" in repr(export.timetable.asset_condition)
    assert export.task_ids == ["export_views"]


@pytest.mark.parametrize("dag_file", ["carbon_assessment.py", "carbon_export.py"])
def test_dag_module_imports_nothing_heavy_at_top_level(dag_file):
    proc = heavy_imports(DAG_FILE.parent / dag_file, HEAVY_MODULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


# --- wiring, with the library stages replaced by stubs (independent of the library's state) ----


@pytest.fixture
def stub_stages(monkeypatch):
    """Replace the six stages by recorders; returns the list of calls."""
    import carbon_assess.pipeline as pipeline
    from carbon_assess.workdir import Run

    calls: list[tuple] = []

    def ingest_stage(landing, workdir, run_id, vintage="unlabelled", method="reference",
                     electricity_trade=False):
        Path(workdir).mkdir(parents=True, exist_ok=True)
        (Path(workdir) / "run.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
        calls.append(("ingest", str(landing), str(Run.of(workdir).path), run_id, vintage, method))
        return {"workdir": str(workdir), "inputs": [], "row_counts": {}, "warnings": []}

    def simple(name):
        def stage(workdir):
            calls.append((name, str(Run.of(workdir).path)))
            return {"rows": 1}

        return stage

    def publish_stage(workdir, warehouse_url):
        calls.append(("publish", str(Run.of(workdir).path), warehouse_url))
        return {"row_counts": {"fct_intensity": 1}}

    monkeypatch.setattr(pipeline, "ingest_stage", ingest_stage)
    for name in ("validate", "compute", "assess", "check_outputs"):
        monkeypatch.setattr(pipeline, f"{name}_stage", simple(name))
    monkeypatch.setattr(pipeline, "publish_stage", publish_stage)
    return calls


def test_dag_passes_params_variables_and_workdir_through_the_stages(
    dag, stub_stages, tmp_path, monkeypatch
):
    # warehouse_url is not in the run conf: it falls back to the Airflow Variable.
    warehouse = tmp_path / "from-variable.duckdb"
    monkeypatch.setenv("AIRFLOW_VAR_CARBON_WAREHOUSE_URL", f"duckdb:///{warehouse}")
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "release.csv").write_text("a release\n", encoding="utf-8")
    dag_run = dag.test(run_conf={"landing_dir": str(landing), "method": "consumption"})

    assert dag_run.state == "success", _states(dag_run)
    assert [call[0] for call in stub_stages] == STAGES
    _, landing, workdir, run_id, vintage, method = stub_stages[0]
    assert (landing, vintage, method) == (str(tmp_path / "landing"), "unlabelled",
                                          "consumption")
    assert run_id and not set(run_id) & set(":+/ ")
    assert run_id.startswith("manual__")  # derived from the Airflow run id
    assert Path(workdir) == Path(os.environ["CARBON_ASSESS_HOME"]).resolve() / "runs" / run_id
    assert all(call[1] == workdir for call in stub_stages[1:])
    assert stub_stages[-1][2] == f"duckdb:///{warehouse}"


@pytest.mark.parametrize("gate", ["validate", "check_outputs"])
def test_failed_gate_fails_the_run_without_retry_and_publishes_nothing(
    dag, stub_stages, tmp_path, monkeypatch, capfd, gate
):
    """Input validation and the output gate: a rejected batch stops the run before publish."""
    import carbon_assess.pipeline as pipeline
    from carbon_assess.errors import ValidationFailed

    def rejecting(workdir):
        stub_stages.append((gate, str(workdir)))
        raise ValidationFailed(f"{gate} failed: 2 error(s) in the batch (report: x.md)")

    monkeypatch.setattr(pipeline, f"{gate}_stage", rejecting)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "release.csv").write_text("a release\n", encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    capfd.readouterr()
    dag_run = dag.test(
        run_conf={"landing_dir": str(landing), "warehouse_url": f"duckdb:///{warehouse}"}
    )

    states = _states(dag_run)
    position = TASK_ORDER.index(gate)
    assert dag_run.state == "failed", states
    assert {states[t] for t in TASK_ORDER[:position]} == {"success"}
    assert states[gate] == "failed"
    assert {states[t] for t in TASK_ORDER[position + 1:]} == {"upstream_failed"}
    assert [call[0] for call in stub_stages] == STAGES[:STAGES.index(gate) + 1]  # tried once
    assert f"{gate} failed: 2 error(s) in the batch" in capfd.readouterr().out
    # the rejected run is on record, nothing is published
    runs = _query(warehouse, "select status, failed_stage, reason from carbon.meta_pipeline_run")
    assert runs == [("rejected", gate, f"{gate} failed: 2 error(s) in the batch (report: x.md)")]
    assert _query(warehouse, "select count(*) from information_schema.tables where "
                  "table_schema = 'carbon' and table_name like 'fct_%'") == [(0,)]


# --- end to end with the real library ------------------------------------------------------------


def test_dag_runs_end_to_end_then_skips_the_unchanged_release(dag, tmp_path):
    """Demo data publishes once and announces the release; the same landing folder again is a
    skipped run (on record, with the reason) that leaves the release as it was."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from carbon_assess.demo import write_demo_landing
    from carbon_assess.publish import table_checksums

    landing = tmp_path / "landing"
    write_demo_landing(landing)
    warehouse = tmp_path / "warehouse.duckdb"
    conf = {"landing_dir": str(landing), "warehouse_url": f"duckdb:///{warehouse}",
            "vintage": "demo", "method": "reference"}

    first = dag.test(run_conf=conf)

    assert first.state == "success", _states(first)
    assert _query(warehouse, "SELECT count(*), count(DISTINCT province_code) "
                  "FROM carbon.fct_target_assessment WHERE plan_id = '12th'")[0][1] == 31
    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "carbon_warehouse")).all()
        extras = [dict(e.extra) for e in events]
    published = _query(warehouse, "select run_id, row_counts from carbon.meta_pipeline_run")
    assert len(published) == 1
    run_id, row_counts = published[0]
    mine = [e for e in extras if e.get("run_id") == run_id]
    assert len(mine) == 1, extras
    assert mine[0]["vintage"] == "demo"
    assert mine[0]["row_counts"] == json.loads(row_counts)
    before = table_checksums(f"duckdb:///{warehouse}")

    second = dag.test(run_conf=conf)

    states = _states(second)
    assert second.state == "success", states
    assert set(states.values()) == {"skipped"}, states
    runs = _query(warehouse, "select status, reason from carbon.meta_pipeline_run "
                  "order by finished_at")
    assert [r[0] for r in runs] == ["published", "skipped"]
    assert f"unchanged since release {run_id}" in runs[1][1]
    assert table_checksums(f"duckdb:///{warehouse}") == before

    # the export DAG, run by hand (no triggering event): the warehouse from the settings
    export_dag = _dagbag_all().dags["carbon_export"]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CARBON_WAREHOUSE_URL", f"duckdb:///{warehouse}")
        exported = export_dag.test()
    assert exported.state == "success", _states(exported)
    folder = Path(os.environ["CARBON_ASSESS_HOME"]) / "exports" / "latest"
    import pyarrow.parquet as pq

    rows = _query(warehouse, "select count(*) from carbon.v_latest_assessment")[0][0]
    assert pq.read_table(folder / "v_latest_assessment.parquet").num_rows == rows > 0
    with (folder / "v_latest_assessment.csv").open(encoding="utf-8") as handle:
        assert sum(1 for _ in handle) == rows + 1  # header + rows


def test_an_empty_landing_folder_never_publishes(dag, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    warehouse = tmp_path / "warehouse.duckdb"

    dag_run = dag.test(run_conf={"landing_dir": str(landing), "force": True,
                                 "warehouse_url": f"duckdb:///{warehouse}"})

    assert set(_states(dag_run).values()) == {"skipped"}
    assert _query(warehouse, "select status, reason from carbon.meta_pipeline_run") == [
        ("skipped", f"landing folder {landing} holds no file to read: nothing to assess")]
    assert _query(warehouse, "select count(*) from information_schema.tables where "
                  "table_schema = 'carbon' and table_name like 'fct_%'") == [(0,)]


def test_a_missing_landing_folder_fails_the_first_task_on_record(dag, tmp_path):
    landing = tmp_path / "no-such-folder"
    warehouse = tmp_path / "warehouse.duckdb"

    dag_run = dag.test(run_conf={"landing_dir": str(landing),
                                 "warehouse_url": f"duckdb:///{warehouse}"})

    states = _states(dag_run)
    assert (dag_run.state, states["check_landing"], states["publish"]) == (
        "failed", "failed", "upstream_failed")
    assert _query(warehouse, "select status, failed_stage, reason from "
                  "carbon.meta_pipeline_run") == [
        ("rejected", "check_landing",
         f"{landing}: landing folder does not exist or is not a folder")]


def test_bad_landing_file_is_rejected_on_record_and_publishes_nothing(dag, tmp_path, capfd):
    from carbon_assess.demo import write_demo_landing

    landing = tmp_path / "landing"
    write_demo_landing(landing)
    (landing / "hand_edited.csv").write_text(
        "省份,年份,煤炭消费量(万吨)\nAtlantis,2015,1234.5\n", encoding="utf-8"
    )
    warehouse = tmp_path / "warehouse.duckdb"

    dag_run = dag.test(
        run_conf={"landing_dir": str(landing), "warehouse_url": f"duckdb:///{warehouse}"}
    )

    states = _states(dag_run)
    assert dag_run.state == "failed", states
    assert states["ingest"] == "failed"
    assert states["publish"] == "upstream_failed"
    # the task log carries the library's one-line message naming the file and the value
    log = capfd.readouterr().out
    assert "hand_edited.csv" in log and "Atlantis" in log
    # on record as rejected at ingest, with the reason and the quarantine report; no release
    [(status, stage, reason, report)] = _query(
        warehouse, "select status, failed_stage, reason, report_path from carbon.meta_pipeline_run")
    assert (status, stage) == ("rejected", "ingest")
    assert "hand_edited.csv" in reason and "Atlantis" in reason
    assert Path(report).name == "report.md" and "hand_edited.csv" in Path(report).read_text(
        encoding="utf-8")
    assert _query(warehouse, "select count(*) from information_schema.tables where "
                  "table_schema = 'carbon' and table_name like 'fct_%'") == [(0,)]


@pytest.mark.postgres
def test_dag_publishes_to_postgres_through_an_airflow_connection(dag, tmp_path, pg_url,
                                                                  monkeypatch):
    """Production path: the warehouse is an Airflow Connection (credentials stay in Airflow)."""
    import psycopg

    from carbon_assess.demo import write_demo_landing

    landing = tmp_path / "landing"
    write_demo_landing(landing)
    monkeypatch.setenv("AIRFLOW_CONN_CARBON_WAREHOUSE_TEST", pg_url)
    dag_run = dag.test(
        run_conf={"landing_dir": str(landing), "warehouse_conn_id": "carbon_warehouse_test",
                  "vintage": "demo"}
    )
    assert dag_run.state == "success", _states(dag_run)
    with psycopg.connect(pg_url) as conn:
        provinces = conn.execute("select count(distinct province_code) from "
                                 "carbon.fct_target_assessment where plan_id = '12th'").fetchone()
        runs = conn.execute("select vintage from carbon.meta_pipeline_run").fetchall()
    assert provinces == (31,)
    assert runs == [("demo",)]
