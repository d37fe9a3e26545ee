"""System test: the real Airflow stack, as an operator starts it (`scripts/airflow.sh`).

api-server, scheduler, dag-processor, triggerer and a Celery worker (CeleryExecutor, Redis
broker on a random empty database index), metadata in a fresh PostgreSQL database, this
project's dags/ and plugins/, a DuckDB warehouse and a real SMTP server (aiosmtpd) on
127.0.0.1. In order, as an operator would see it:

1. a run triggered through REST API v2 on the demo release publishes on the Celery worker,
   emits the `carbon_warehouse` Asset event, and the export DAG runs on it;
2. the same release again: the run is skipped and on record, nothing republished;
3. a bad release dropped into the watched landing folder: the triggerer's watcher emits the
   `carbon_landing` event, the asset-triggered run is rejected at validate (tried once), on
   record with its reason and report, the release unchanged, the alert e-mail received, and
   the UI plugin lists the rejected run.

Every failure message carries the component log tails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from airflow_stack import (
    AirflowStack,
    StackError,
    create_database,
    drop_database,
    flush_redis,
    free_port,
    free_redis_url,
)

pytestmark = pytest.mark.system

REPO_ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "carbon_intensity_assessment"
EXPORT_DAG_ID = "carbon_export"
RUN_TIMEOUT = 240
ALERT_TO = "ops@example.org"


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo release (a folder triggered runs are pointed at), the watched landing folder
    (empty at start: the watcher announces nothing until a release is dropped there),
    CARBON_ASSESS_HOME and the warehouse file."""
    root = tmp_path_factory.mktemp("system")
    demo = root / "demo"
    proc = subprocess.run([str(Path(sys.executable).parent / "carbon-assess"), "demo-data",
                           str(demo)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"carbon-assess demo-data failed:\n{proc.stdout}{proc.stderr}"
    watched = root / "landing"
    watched.mkdir()
    return {"root": root, "demo": demo, "landing": watched,
            "carbon_home": root / "carbon_home", "warehouse": root / "warehouse.duckdb"}


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[int, list]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd): (port, received messages)."""
    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def stack(work: dict[str, Path], inbox) -> Iterator[AirflowStack]:
    """CeleryExecutor stack, metadata in a fresh PostgreSQL database; always stopped."""
    try:
        broker = free_redis_url()
    except Exception as exc:
        _skip_or_fail(f"Redis on 127.0.0.1:6379 unusable: {exc}")
    try:
        db_name, db_url = create_database()
    except Exception as exc:
        _skip_or_fail(f"PostgreSQL on 127.0.0.1:5432 unusable: {exc}")
    env = {
        "CARBON_CELERY_BROKER": broker,
        "CARBON_LANDING_DIR": str(work["landing"]),
        "CARBON_LANDING_POLL_SECONDS": "2",
        "CARBON_ASSESS_HOME": str(work["carbon_home"]),
        "CARBON_WAREHOUSE_URL": f"duckdb:///{work['warehouse']}",
        "CARBON_ALERT_CONN_ID": "carbon_smtp",
        "CARBON_ALERT_TO": ALERT_TO,
        "AIRFLOW_CONN_CARBON_SMTP": f"smtp://127.0.0.1:{inbox[0]}?disable_tls=true&"
                                    "disable_ssl=true&from_email=airflow%40example.org",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGERER_LOG_SERVER_PORT": str(free_port()),
    }
    airflow = AirflowStack(work["root"] / "airflow", free_port(), db_url, celery=True, env=env)
    try:
        airflow.start()
        airflow.wait_for_dag(DAG_ID, timeout=120)
        airflow.wait_for_dag(EXPORT_DAG_ID, timeout=120)
        airflow.unpause(DAG_ID)
        airflow.unpause(EXPORT_DAG_ID)
        yield airflow
    finally:
        airflow.stop()
        left = airflow.running_groups()
        drop_database(db_name)
        flush_redis(broker)
        assert not left, f"process groups left running after stop: {left}"


def _context(stack: AirflowStack, run_id: str) -> str:
    return (f"\ntask instances: {stack.summary(DAG_ID, run_id)}\n"
            f"{stack.failed_task_logs(DAG_ID, run_id)}\n{stack.log_tail()}")


def _run(stack: AirflowStack, conf: dict) -> tuple[str, str, float, list[dict]]:
    run_id = "(not triggered)"
    try:
        started = time.monotonic()
        run_id = stack.trigger(DAG_ID, conf)
        state = stack.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
        return run_id, state, time.monotonic() - started, stack.task_instances(DAG_ID, run_id)
    except StackError as exc:
        pytest.fail(f"{exc}{_context(stack, run_id)}")


def _warehouse(work: dict[str, Path], sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(work["warehouse"]), read_only=True) as con:
        return con.execute(sql).fetchall()


def _release(work: dict[str, Path]) -> dict:
    from carbon_assess.publish import current_release, table_checksums

    url = f"duckdb:///{work['warehouse']}"
    return {"tables": table_checksums(url), "current": current_release(url)["run_id"]}


def _wait(condition, timeout: float, what: str, stack: AirflowStack):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"{what} not seen within {timeout:.0f}s\n{stack.log_tail()}")


def _sanitised(run_id: str) -> str:
    """The DAG's run id in the warehouse: the Airflow run id, file-system friendly."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._-")


def test_a_triggered_run_publishes_on_celery_and_announces_the_release(
        stack: AirflowStack, work: dict[str, Path]) -> None:
    run_id, state, elapsed, tis = _run(stack, {"landing_dir": str(work["demo"]),
                                               "vintage": "demo"})
    context = _context(stack, run_id)
    assert state == "success", f"run {run_id} ended {state}{context}"
    print(f"\n{DAG_ID} run {run_id}: trigger to success {elapsed:.1f}s under CeleryExecutor")
    for ti in sorted(tis, key=lambda t: t["start_date"] or ""):
        print(f"  {ti['task_id']:<16} {ti['state']:<8} {ti['duration'] or 0:6.1f}s "
              f"try {ti['try_number']} queue={ti['queue']} host={ti['hostname']}")
    states = {ti["task_id"]: ti["state"] for ti in tis}
    assert set(states.values()) == {"success"}, f"{states}{context}"

    # Ran on the Celery worker: the worker logged receiving each task instance ...
    worker_log = stack.log_path("celery-worker").read_text(errors="replace")
    not_on_worker = [ti["task_id"] for ti in tis
                     if "Executing workload in Celery" not in worker_log
                     or str(ti["id"]) not in worker_log]
    assert not not_on_worker, f"not received by the Celery worker: {not_on_worker}{context}"
    # ... and Celery stored one successful result per task in its result backend (the metadata
    # database). The task reports its state before the worker stores the result: wait a little.
    import psycopg

    def celery_successes() -> int:
        with psycopg.connect(stack.db_url.replace("+psycopg2", "", 1)) as con:
            return dict(con.execute("select status, count(*) from celery_taskmeta "
                                    "group by status").fetchall()).get("SUCCESS", 0)

    _wait(lambda: celery_successes() >= len(tis), 30, "a Celery result per task", stack)

    # The warehouse holds the release, on record under the Airflow run id.
    published = _sanitised(run_id)
    assert _warehouse(work, "select run_id, status, vintage from carbon.meta_pipeline_run") == [
        (published, "published", "demo")]
    assert _warehouse(work, "select count(distinct province_code) from "
                      "carbon.fct_target_assessment where plan_id = '12th'") == [(31,)]
    # publish announced it: one carbon_warehouse event whose extra matches the run log ...
    [counts] = _warehouse(work, "select row_counts from carbon.meta_pipeline_run")[0]
    events = [e for e in stack.asset_events("carbon_warehouse")
              if (e.get("extra") or {}).get("run_id") == published]
    assert len(events) == 1, stack.asset_events("carbon_warehouse")
    assert events[0]["extra"]["vintage"] == "demo"
    assert events[0]["extra"]["row_counts"] == json.loads(counts)
    # ... and the export DAG ran on it and wrote the analyst views.
    export_run = _wait(lambda: next((r for r in stack.dag_runs(EXPORT_DAG_ID)
                                     if r["state"] in ("success", "failed")), None),
                       120, "a finished carbon_export run", stack)
    assert export_run["state"] == "success", stack.summary(EXPORT_DAG_ID, export_run["dag_run_id"])
    exported = work["carbon_home"] / "exports" / published
    rows = _warehouse(work, "select count(*) from carbon.v_latest_assessment")[0][0]
    import pyarrow.parquet as pq

    assert pq.read_table(exported / "v_latest_assessment.parquet").num_rows == rows > 0
    assert (exported / "v_latest_assessment.csv").exists()


def test_the_same_release_again_is_skipped_not_republished(
        stack: AirflowStack, work: dict[str, Path]) -> None:
    before = _release(work)
    run_id, state, _, tis = _run(stack, {"landing_dir": str(work["demo"]), "vintage": "demo"})
    assert state == "success", f"run {run_id} ended {state}{_context(stack, run_id)}"
    assert {ti["state"] for ti in tis} == {"skipped"}, _context(stack, run_id)
    status, reason = _warehouse(work, "select status, reason from carbon.meta_pipeline_run "
                                "order by finished_at desc limit 1")[0]
    assert status == "skipped" and f"unchanged since release {before['current']}" in reason
    assert _release(work) == before


def test_a_bad_release_dropped_in_is_rejected_on_record_and_mailed(
        stack: AirflowStack, work: dict[str, Path], inbox) -> None:
    """The watcher sees the release land, the asset-triggered run rejects it at validate
    (tried once), the run is on record, the release stays, the operator gets an e-mail."""
    before = _release(work)
    known_runs = {r["dag_run_id"] for r in stack.dag_runs(DAG_ID)}
    staging = work["root"] / "bad_release"
    shutil.copytree(work["demo"], staging)
    gdp = staging / "synthetic_prov_gdp.csv"
    lines = gdp.read_text(encoding="gb18030").splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("630000,") and ",2015," in line)
    cells = lines[row].split(",")
    cells[3] = "-5"  # Qinghai's 2015 GDP: zero or negative GDP is an error
    lines[row] = ",".join(cells)
    gdp.write_text("\n".join(lines) + "\n", encoding="gb18030")
    for path in sorted(staging.iterdir()):  # drop the release into the watched folder
        shutil.copy2(path, work["landing"] / path.name)

    run = _wait(lambda: next((r for r in stack.dag_runs(DAG_ID)
                              if r["dag_run_id"] not in known_runs), None),
                90, "an assessment run triggered by the carbon_landing asset", stack)
    run_id = run["dag_run_id"]
    assert run["run_type"] == "asset_triggered", run
    try:
        state = stack.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT)
    except StackError as exc:
        pytest.fail(f"{exc}{_context(stack, run_id)}")
    tis = {ti["task_id"]: ti for ti in stack.task_instances(DAG_ID, run_id)}
    assert state == "failed", _context(stack, run_id)
    assert (tis["validate"]["state"], tis["validate"]["try_number"]) == ("failed", 1)
    assert tis["publish"]["state"] == "upstream_failed"

    status, stage, reason, report = _warehouse(
        work, "select status, failed_stage, reason, report_path from carbon.meta_pipeline_run "
        "where run_id = ?".replace("?", f"'{_sanitised(run_id)}'"))[0]
    assert (status, stage) == ("rejected", "validate")
    assert "synthetic_prov_gdp.csv" in reason and "-5" in reason
    assert Path(report).is_file()
    assert _release(work) == before

    [(recipients, message)] = _wait(lambda: list(inbox[1]), 60, "the alert e-mail", stack)
    assert recipients == [ALERT_TO]
    assert message["Subject"] == f"[carbon-assess] run {run_id} rejected at validate"
    body = next(p for p in message.walk() if p.get_content_type() == "text/html")
    text = body.get_payload(decode=True).decode(body.get_content_charset() or "utf-8")
    assert "synthetic_prov_gdp.csv" in text and f"Report: {report}" in text
    print(f"\nalert e-mail: {message['Subject']}\n{text}")

    # the UI plugin lists the rejected run with its reason and a link to the report
    page = stack.client.get("/carbon-assess/")
    assert page.status_code == 200, page.text[:500]
    assert _sanitised(run_id) in page.text and "rejected" in page.text
    assert f"quarantine/{_sanitised(run_id)}" in page.text
    row = next(r for r in page.text.split("<tr") if _sanitised(run_id) in r)
    print("plugin runs list:", " | ".join(
        " ".join(cell.split()) for cell in re.sub(r"<[^>]+>", "\t", row).split("\t")
        if cell.strip() and not cell.strip().startswith(("class=", ">"))))
