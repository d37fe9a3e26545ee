"""Benchmark: the yearly DAG under real Airflow 3 (LocalExecutor), trigger to success, against
the same stages called in one Python process (the floor), so the report says what Airflow costs.

    .venv/bin/python benchmarks/bench_airflow.py [--runs 3] [--db postgres|sqlite]
        [--landing DIR] [--env AIRFLOW__SCHEDULER__X=Y ...] [--library HEAD|DIR]
        [--out-dir benchmarks/results]

The stack is the one the system tests start (tests/airflow_stack.py -> scripts/airflow.sh:
api-server, scheduler, dag-processor, triggerer; LocalExecutor) under a temporary AIRFLOW_HOME,
metadata in a fresh PostgreSQL database on 127.0.0.1:5432 (dropped afterwards) or SQLite,
CARBON_ASSESS_HOME and the DuckDB warehouse in the same temporary folder. The landing folder is a
copy of the real NBS provincial files; runs are triggered with it in the run conf and `force`
(every run assesses and publishes). The watched landing folder is an empty one, so no
asset-triggered run competes. Nothing is downloaded.

Reported per run: trigger -> success (client clock, polled every 0.1 s) and the run's own
queued -> end; per task: the gap since its upstream ended (scheduling), queued -> start
(executor pickup, process fork), start -> end, and from the task's XCom the time the task spent
before its function body (DAG parse, runtime start-up), importing the library and in the stage.
The first run after start-up is cold (page cache, DuckDB extension cache); the table shows the
median of the runs after it when there are any.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the system tests' stack helper

from airflow_stack import (  # noqa: E402
    AirflowStack,
    StackError,
    create_database,
    drop_database,
    free_port,
)

DAG_ID = "carbon_intensity_assessment"
TASKS = ["check_landing", "ingest", "validate", "compute", "assess", "check_outputs", "publish"]
STAGES = TASKS[1:]
DEFAULT_LANDING = REPO.parent / "shared" / "data" / "nbs" / "provincial"
HEAVY = ["great_expectations", "pandas", "pyarrow", "duckdb", "numpy"]  # as the DAG reports

# The floor: the same stages in one fresh interpreter, no Airflow. Imports are timed apart.
FLOOR_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from carbon_assess import pipeline
imported = time.perf_counter() - t0
landing, home, url = sys.argv[1:4]
run_id = pipeline.new_run_id()
from carbon_assess.workdir import Run
run = Run.in_home(run_id, home)
out = {"import_pipeline": imported, "stages": {}, "imports_after": {}}
t = time.perf_counter()
pipeline.ingest_stage(landing, run.path, run_id, vintage="bench")
out["stages"]["ingest"] = time.perf_counter() - t
for stage in ("validate", "compute", "assess", "check_outputs", "publish"):
    before = set(sys.modules)
    t = time.perf_counter()
    pipeline.run_stage(stage, run_id, url, home)
    out["stages"][stage] = time.perf_counter() - t
    out["imports_after"][stage] = len(set(sys.modules) - before)
print(json.dumps(out))
"""


def _env_pairs(values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise SystemExit(f"--env {value!r}: expected KEY=VALUE")
        pairs[key] = val
    return pairs


def _library(spec: str | None, root: Path) -> Path | None:
    """The folder to import carbon_assess from: DIR as given, or a commit's include/ exported."""
    if not spec:
        return None
    if Path(spec).is_dir():
        return Path(spec).resolve()
    target = root / "library"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", spec, "include"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "include"


def measure_floor(landing: Path, root: Path, repeat: int,
                  library: Path | None = None) -> dict[str, Any]:
    """Each stage's seconds in one process without Airflow (median of `repeat` fresh runs, the
    first of them warming caches as the first Airflow run does)."""
    runs = []
    for i in range(repeat):
        home = root / f"floor-{i}"
        home.mkdir(parents=True)
        env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "CARBON_ASSESS_HOME": str(home),
               "PYTHONPATH": str(library or REPO / "include")}
        proc = subprocess.run([sys.executable, "-c", FLOOR_CHILD, str(landing), str(home),
                               f"duckdb:///{home / 'warehouse.duckdb'}"],
                              env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"floor run failed:\n{proc.stdout}\n{proc.stderr[-4000:]}")
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    measured = runs[1:] or runs
    stages = {s: statistics.median(r["stages"][s] for r in measured) for s in STAGES}
    return {"stages": stages, "total": sum(stages.values()),
            "import_pipeline": statistics.median(r["import_pipeline"] for r in measured),
            "runs": runs}


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def _xcom(stack: AirflowStack, run_id: str, task_id: str) -> dict[str, Any]:
    """The task's return value (the DAG returns its timing beside the run id), or {}."""
    from urllib.parse import quote

    with contextlib.suppress(StackError):
        entry = stack.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/"
                                 f"taskInstances/{task_id}/xcomEntries/return_value",
                          params={"deserialize": "true"})
        value = entry.get("value")
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        return value if isinstance(value, dict) else {}
    return {}


def one_run(stack: AirflowStack, landing: Path, timeout: float) -> dict[str, Any]:
    """Trigger, wait for a final state polling every 0.1 s, collect the run's timings."""
    started = time.monotonic()
    run_id = stack.trigger(DAG_ID, {"landing_dir": str(landing), "vintage": "bench",
                                    "force": True})
    state = stack.wait_for_run(DAG_ID, run_id, timeout=timeout, poll=0.1)
    elapsed = time.monotonic() - started
    run = stack.dag_run(DAG_ID, run_id)
    tis = {ti["task_id"]: ti for ti in stack.task_instances(DAG_ID, run_id)}
    if state != "success":
        raise SystemExit(f"run {run_id} ended {state}: {stack.summary(DAG_ID, run_id)}\n"
                         f"{stack.failed_task_logs(DAG_ID, run_id)}")
    tasks = {}
    previous_end = _ts(run["start_date"])
    for task_id in TASKS:
        ti = tis[task_id]
        queued, start, end = (_ts(ti["queued_when"]), _ts(ti["start_date"]),
                              _ts(ti["end_date"]))
        timing = _xcom(stack, run_id, task_id).get("timing") or {}
        entered = timing.get("entered")  # epoch seconds the task function began
        tasks[task_id] = {
            "scheduling": queued - previous_end if queued and previous_end else None,
            "queued_to_start": start - queued if start and queued else None,
            "start_to_end": end - start if end and start else None,
            "before_body": entered - start if entered and start else None,
            "parse": (timing["parsed"] - timing["parse_started"]
                      if timing.get("parsed") and timing.get("parse_started") else None),
            "import": timing.get("import"),
            "stage": timing.get("stage"),
            "after_body": end - timing["left"] if end and timing.get("left") else None,
            "heavy_modules": timing.get("heavy_modules"),
        }
        previous_end = end
    return {"run_id": run_id, "trigger_to_success": elapsed,
            "queued_to_end": _ts(run["end_date"]) - _ts(run["queued_at"]), "tasks": tasks}


def idle_cpu(stack: AirflowStack, seconds: float = 20) -> dict[str, float]:
    """CPU seconds per wall second each component's process group used while no run was active:
    what a shorter scheduler loop costs on a deployment that is idle most of the year."""
    import psutil

    def cpu(pgid: int) -> float:
        total = 0.0
        for proc in psutil.process_iter(["pid"]):
            with contextlib.suppress(psutil.Error):
                if os.getpgid(proc.pid) == pgid:
                    times = proc.cpu_times()
                    total += times.user + times.system
        return total

    groups = stack.running_groups()
    before = {name: cpu(pgid) for name, pgid in groups.items()}
    time.sleep(seconds)
    return {name: round((cpu(pgid) - before[name]) / seconds, 4)
            for name, pgid in groups.items()}


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(result: dict[str, Any]) -> str:
    """The Markdown report: the run's headline, one row per task, the floor and the overhead."""
    runs = result["runs"]
    measured = runs[1:] or runs
    floor = result["floor"]
    which = "the runs after the first (cold) one" if len(runs) > 1 else "one run"
    lines = [f"# Airflow LocalExecutor benchmark ({result['date']})", "",
             f"Yearly DAG `{DAG_ID}` on the real NBS provincial files ({result['landing']}), "
             f"Airflow {result['airflow']}, metadata DB {result['db']}, {os.cpu_count()} cores "
             f"(load average at start {result['load_average']}), library "
             f"{result.get('library') or 'include/ (work tree)'}. {len(runs)} run(s); the table "
             f"is the median of {which}.", ""]
    if result["env"]:
        lines += ["Environment given with --env: " + ", ".join(
            f"`{k}={v}`" for k, v in result["env"].items()), ""]
    trigger = _median([r["trigger_to_success"] for r in measured]) or 0.0
    each = ", ".join(_fmt(r["trigger_to_success"]) for r in runs)
    lines += [f"**Trigger -> success: {_fmt(trigger)} s** (each run: {each} s; the run's own "
              f"queued -> end: {_fmt(_median([r['queued_to_end'] for r in measured]))} s).", "",
              "| task | scheduling | queued -> start | start -> end | before body | of which "
              "DAG parse | import | stage | after body | floor stage | heavy modules loaded |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    keys = ("scheduling", "queued_to_start", "start_to_end", "before_body", "parse", "import",
            "stage", "after_body")
    sums = dict.fromkeys(keys, 0.0)
    for task_id in TASKS:
        row = {k: _median([r["tasks"][task_id].get(k) for r in measured]) for k in keys}
        for k, v in row.items():
            sums[k] += v or 0.0
        heavy = measured[-1]["tasks"][task_id]["heavy_modules"]
        shown = ", ".join(heavy) if heavy else ("none" if heavy == [] else "-")
        lines.append(f"| {task_id} | " + " | ".join(_fmt(row[k]) for k in keys) +
                     f" | {_fmt(floor['stages'].get(task_id))} | {shown} |")
    lines.append("| **sum** | " + " | ".join(_fmt(sums[k]) for k in keys) +
                 f" | {_fmt(floor['total'])} | |")
    stage_sum = sums["stage"] or floor["total"]
    idle = result.get("idle_cpu") or {}
    lines += ["", "Idle CPU before the first run (CPU seconds per second, each component's "
              "process group over 20 s): " + ", ".join(f"{k} {v:.3f}" for k, v in idle.items())
              + "."]
    lines += ["", "Seconds. Floor: the six stages in one Python process without Airflow, "
              f"{_fmt(floor['total'])} s (median of {len(floor['runs'][1:] or floor['runs'])} "
              f"runs), plus {_fmt(floor['import_pipeline'])} s importing "
              "`carbon_assess.pipeline`.",
              f"Airflow overhead: trigger -> success minus the stage seconds the tasks recorded: "
              f"{_fmt(trigger - stage_sum)} s; minus the floor: "
              f"{_fmt(trigger - floor['total'])} s.",
              "", "Columns: *scheduling*: queued_when minus the upstream task's end_date (for the "
              "first task, minus the run's start_date): the scheduler loop. *queued -> start*: "
              "executor pickup and the fork of the task process. *start -> end*: the task "
              "instance's duration, made of *before body* (start_date to the task function's "
              "first line: task runner start-up and *DAG parse*, the DAG module's own import), "
              "*import* (the library's stage code), *stage* (the stage call) and *after body* "
              "(the function's return to end_date: XCom push, state report). *heavy modules "
              "loaded*: which of " + ", ".join(HEAVY) + " the task process had loaded when its "
              "function returned."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, default=DEFAULT_LANDING)
    parser.add_argument("--runs", type=int, default=3, help="triggered runs (first is cold)")
    parser.add_argument("--floor-repeat", type=int, default=3)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment of every Airflow component (try a setting)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per run")
    parser.add_argument("--out-dir", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--library", metavar="HEAD|COMMIT|DIR",
                        help="import carbon_assess from DIR, or from that commit's include/ "
                        "(git archive), instead of the work tree: benchmark while include/ is "
                        "mid-edit. The DAG files stay those of dags/")
    args = parser.parse_args()
    if not args.landing.is_dir():
        raise SystemExit(f"no landing folder {args.landing} (the real NBS files: see "
                         "../shared/data/nbs/PROVENANCE.md)")
    extra = _env_pairs(args.env)
    root = Path(tempfile.mkdtemp(prefix="carbon-bench-airflow-"))
    db_name = None
    try:
        landing = root / "landing"
        shutil.copytree(args.landing, landing)
        library = _library(args.library, root)
        if library:
            extra.setdefault("PYTHONPATH", str(library))
        print(f"floor: the stages in one process ({args.floor_repeat} runs) ...", flush=True)
        floor = measure_floor(landing, root, args.floor_repeat, library)
        watched = root / "watched"
        watched.mkdir()
        env = {"CARBON_LANDING_DIR": str(watched),
               "CARBON_ASSESS_HOME": str(root / "carbon_home"),
               "CARBON_WAREHOUSE_URL": f"duckdb:///{root / 'warehouse.duckdb'}",
               "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
               "AIRFLOW__LOGGING__TRIGGERER_LOG_SERVER_PORT": str(free_port()),
               **extra}
        db_url = None
        if args.db == "postgres":
            db_name, db_url = create_database("carbon_bench_")
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"starting Airflow under {root / 'airflow'} ...", flush=True)
        with AirflowStack(root / "airflow", free_port(), db_url, celery=False, env=env) as stack:
            stack.wait_for_dag(DAG_ID, timeout=180)
            stack.unpause(DAG_ID)
            time.sleep(5)  # let start-up work (first parse, serialisation) settle
            idle = idle_cpu(stack)
            print(f"idle CPU (s per s): {idle}", flush=True)
            runs = []
            for i in range(args.runs):
                run = one_run(stack, landing, args.timeout)
                print(f"run {i + 1}: trigger -> success {run['trigger_to_success']:.2f} s",
                      flush=True)
                runs.append(run)
            airflow_version = subprocess.run(
                [str(REPO / ".venv" / "bin" / "python"), "-c",
                 "import airflow; print(airflow.__version__)"],
                capture_output=True, text=True).stdout.strip()
        result = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
                  "landing": str(args.landing), "db": args.db, "airflow": airflow_version,
                  "load_average": load, "env": extra, "library": args.library,
                  "floor": floor, "idle_cpu": idle, "runs": runs}
        text = report(result)
        print("\n" + text)
        args.out_dir.mkdir(parents=True, exist_ok=True)
        stem = args.out_dir / f"airflow-{date.today().isoformat()}"
        stem.with_suffix(".md").write_text(text, encoding="utf-8")
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n",
                                             encoding="utf-8")
        print(f"written: {stem}.md, {stem}.json")
        return 0
    finally:
        if db_name:
            with contextlib.suppress(Exception):
                drop_database(db_name)
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
