"""The yearly assessment DAG: parses cleanly and cheaply, wires the stages, runs end to end."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from import_probe import heavy_imports

pytestmark = pytest.mark.airflow

REPO_ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = REPO_ROOT / "dags" / "carbon_assessment.py"
DAG_ID = "carbon_intensity_assessment"
TASK_ORDER = ["ingest", "validate", "compute", "assess", "check_outputs", "publish"]
HEAVY_MODULES = ["pandas", "great_expectations", "duckdb", "pyarrow", "carbon_assess.pipeline"]


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FILE))


@pytest.fixture(scope="module")
def dag():
    bag = _dagbag()
    assert not bag.import_errors, bag.import_errors
    return bag.dags[DAG_ID]


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def test_dagbag_imports_the_dag_without_errors():
    started = time.perf_counter()
    bag = _dagbag()
    elapsed = time.perf_counter() - started
    parse_seconds = sum(stat.duration.total_seconds() for stat in bag.dagbag_stats)
    print(f"DagBag filled in {elapsed:.3f}s; DAG file parsed in {parse_seconds:.3f}s")

    assert bag.import_errors == {}
    assert bag.dag_ids == [DAG_ID]
    assert parse_seconds < 5, "the DAG file must stay cheap to parse"

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
        "electricity_trade",
    }
    assert dag.doc_md


def test_dag_module_imports_nothing_heavy_at_top_level():
    proc = heavy_imports(DAG_FILE, HEAVY_MODULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]


# --- wiring, with the library stages replaced by stubs (independent of the library's state) ----


@pytest.fixture
def stub_stages(monkeypatch):
    """Replace the six stages by recorders; returns the list of calls."""
    import carbon_assess.pipeline as pipeline

    calls: list[tuple] = []

    def ingest_stage(landing, workdir, run_id, vintage="unlabelled", method="reference",
                     electricity_trade=False):
        Path(workdir).mkdir(parents=True, exist_ok=True)
        (Path(workdir) / "run.json").write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
        calls.append(("ingest", str(landing), str(workdir), run_id, vintage, method))
        return {"workdir": str(workdir), "files": 1}

    def simple(name):
        def stage(workdir):
            calls.append((name, str(workdir)))
            return {"rows": 1}

        return stage

    def publish_stage(workdir, warehouse_url):
        calls.append(("publish", str(workdir), warehouse_url))
        return {"published": True}

    monkeypatch.setattr(pipeline, "ingest_stage", ingest_stage)
    for name in ("validate", "compute", "assess", "check_outputs"):
        monkeypatch.setattr(pipeline, f"{name}_stage", simple(name))
    monkeypatch.setattr(pipeline, "publish_stage", publish_stage)
    return calls


def test_dag_passes_params_variables_and_workdir_through_the_stages(
    dag, stub_stages, tmp_path, monkeypatch
):
    # warehouse_url is not in the run conf: it falls back to the Airflow Variable.
    monkeypatch.setenv("AIRFLOW_VAR_CARBON_WAREHOUSE_URL", "duckdb:///from-variable.duckdb")
    dag_run = dag.test(run_conf={"landing_dir": str(tmp_path), "method": "consumption"})

    assert dag_run.state == "success", _states(dag_run)
    assert [call[0] for call in stub_stages] == TASK_ORDER
    _, landing, workdir, run_id, vintage, method = stub_stages[0]
    assert (landing, vintage, method) == (str(tmp_path), "unlabelled", "consumption")
    assert run_id and not set(run_id) & set(":+/ ")
    assert run_id.startswith("manual__")  # derived from the Airflow run id
    assert Path(workdir) == Path(os.environ["CARBON_ASSESS_HOME"]).resolve() / "runs" / run_id
    assert all(call[1] == workdir for call in stub_stages[1:])
    assert stub_stages[-1][2] == "duckdb:///from-variable.duckdb"


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
    capfd.readouterr()
    dag_run = dag.test(
        run_conf={"landing_dir": str(tmp_path), "warehouse_url": "duckdb:///unused.duckdb"}
    )

    states = _states(dag_run)
    position = TASK_ORDER.index(gate)
    assert dag_run.state == "failed", states
    assert {states[t] for t in TASK_ORDER[:position]} == {"success"}
    assert states[gate] == "failed"
    assert {states[t] for t in TASK_ORDER[position + 1:]} == {"upstream_failed"}
    assert [call[0] for call in stub_stages] == TASK_ORDER[:position + 1]  # tried once
    assert f"{gate} failed: 2 error(s) in the batch" in capfd.readouterr().out


# --- end to end with the real library ------------------------------------------------------------


def test_dag_runs_end_to_end_on_demo_data(dag, tmp_path):
    import duckdb

    from carbon_assess.demo import write_demo_landing

    landing = tmp_path / "landing"
    write_demo_landing(landing)
    warehouse = tmp_path / "warehouse.duckdb"

    dag_run = dag.test(
        run_conf={
            "landing_dir": str(landing),
            "warehouse_url": f"duckdb:///{warehouse}",
            "vintage": "demo",
            "method": "reference",
        }
    )

    assert dag_run.state == "success", _states(dag_run)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows, provinces = con.execute(
            "SELECT count(*), count(DISTINCT province_code) "
            "FROM carbon.fct_target_assessment WHERE plan_id = '12th'"
        ).fetchone()
    finally:
        con.close()
    assert rows > 0
    assert provinces == 31


def test_bad_landing_file_fails_ingest_and_leaves_no_warehouse(dag, tmp_path, capfd):
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
    assert not warehouse.exists()
    # the task log carries the library's one-line message naming the file and the value
    log = capfd.readouterr().out
    assert "hand_edited.csv" in log and "Atlantis" in log


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
