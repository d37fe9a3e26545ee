"""Benchmark at county scale: the DuckDB floor, pandas and every pipeline stage on the same files.

    .venv/bin/python benchmarks/bench_scale.py --rows national|2.2M|10M|50M [--data DIR]
        [--skip-pandas] [--skip-pipeline] [--repeat N] [--threads N] [--out benchmarks/results]
        [--method consumption] [--publish-postgres URL] [--profile STAGE] [--lift-limits]
    .venv/bin/python benchmarks/bench_scale.py --landing DIR [...]   (pipeline stages only)

1. Generates the Parquet landing files (benchmarks/generate_landing.py) into DIR (default
   /tmp/carbon-scale-<size>) unless DIR already holds a manifest of the same size; generation
   runs in its own subprocess and is reported for information only.
2. Runs each implementation of benchmarks/reference_impls.py (the DuckDB floor; pandas
   floor-like: the floor's CO2 + intensity only; pandas full: the pipeline's compute + assess,
   i.e. blank policy with interpolation, declines per plan and status) in a fresh subprocess,
   N times (default 3), one at a time, on the same files; then pandas full once more with
   --check against the floor (CO2 and intensity on unit-years without an imputed cell).
   seconds = median of the time the child measures around the computation (read Parquet ->
   result DataFrame; interpreter start and imports excluded, reported separately as process
   seconds). Peak RSS = the largest ru_maxrss of those children, taken per child with
   os.wait4 (resource.getrusage(RUSAGE_CHILDREN) would give the maximum over *all* children
   so far, so a later, smaller implementation would inherit the earlier one's peak). It
   includes the interpreter and imports (baseline column: RSS after imports).
3. Runs the real pipeline once on the same files (a landing folder of hard links to the four
   Parquet files and units.csv), each stage (ingest, validate, compute, assess, check_outputs,
   publish to a DuckDB warehouse file; optionally publish again to PostgreSQL) in its own fresh
   subprocess (benchmarks/stage_child.py), so that each peak RSS is that stage's own. The stages
   meet in the run's work directory under a temporary $CARBON_ASSESS_HOME, as under Airflow.
   A stage that fails is reported as `failed: <one line>`, the later ones as not run. After a
   successful publish, the publish floors (stage_child.py publish_floor): a bare `CREATE TABLE
   AS` copy of the same published tables into a fresh DuckDB file and, with --publish-postgres,
   a bare binary COPY of the same rows into fresh logged tables without indexes; the targets
   publish (DuckDB) <= 2x the first and publish (PostgreSQL) <= 2x the second.
4. Checks the pipeline's unit-year CO2 and intensity (compute.duckdb: int_geo_year,
   int_intensity of the plan based on 2010) against the floor's on the same unit-years.
5. Prints a table, the targets (compute+assess <= 2x floor, pandas full >= 10x compute+assess,
   validate <= 4x floor, check_outputs <= 2x floor, whole run <= 15x floor, whole-run peak RSS
   < 4 GiB; issue 19) with a verdict each, and writes it to
   OUT/scale-<YYYY-MM-DD>-<size>.md and .json, with the machine, versions and the data
   manifest. The floor's and pandas' checksums (sum of CO2, sum of intensity) must agree to
   1e-9 relative, pandas full's CO2 and intensity the floor's, and its status counts the
   assess stage's, or the run says so. Exit 1 on any disagreement, 2 if a stage failed.

`--rows national` is every unit of reference/regions.csv (1,410,640 activity rows); a number
(2.2M, 10M, 50M) adds declared extra units (parks) up to that many activity rows (see
generate_landing.py). `--landing DIR` benchmarks the stages on any landing folder (e.g. the demo
data of `carbon-assess demo-data DIR`, or ../shared/data/nbs/provincial); the floor, pandas and
the correctness check are then n/a. Keep heavy runs one at a time on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate_landing import (  # noqa: E402
    KINDS,
    REPO,
    UNITS_SHEET,
    file_name,
    parse_rows,
    plan,
)
from proc_status import rss_mib  # noqa: E402

IMPLS = ("duckdb", "pandas", "pandas_full")
PANDAS_IMPLS = ("pandas", "pandas_full")  # --skip-pandas skips both
FULL = "pandas_full"  # the like-for-like pandas row: what compute + assess does
IMPL_TITLES = {"duckdb": "DuckDB floor (one SQL query)",
               "pandas": "pandas floor-like: CO2 + intensity only (melt/merge/groupby)",
               FULL: "pandas full compute + assess (interpolation, declines, status)"}
FLOOR = "duckdb"
REL_TOL = 1e-9
GIB = 1024.0  # MiB

# --- pipeline stages ---------------------------------------------------------------------------
# The order of carbon_assess.pipeline.STAGES (not imported here: the parent stays light).
PIPELINE_STAGES = ("ingest", "validate", "compute", "assess", "check_outputs", "publish")
POSTGRES_STAGE = "publish_postgres"  # optional: publish the same run again, to PostgreSQL
# What publish is compared with (stage_child.publish_floor): a bare CREATE TABLE AS copy of the
# published tables into a fresh DuckDB file; with --publish-postgres, a bare binary COPY of the
# same rows into fresh logged tables without keys or indexes.
PUBLISH_FLOOR = "publish_floor"
POSTGRES_FLOOR = "publish_floor_postgres"
STAGE_TITLES = {POSTGRES_STAGE: "pipeline: publish (PostgreSQL)",
                PUBLISH_FLOOR: "publish floor: bare DuckDB copy (CREATE TABLE AS)",
                POSTGRES_FLOOR: "publish floor: bare binary COPY to PostgreSQL"}
STAGE_CHILD = HERE / "stage_child.py"
# The library's input limits (ingest/readers.py), kept unless --lift-limits (stress sizes beyond
# what the library accepts by design, e.g. 50M). The report says which were used, and the
# DuckDB settings the library reads from the environment.
LIMIT_ENVS = ("CARBON_ASSESS_MAX_FILE_BYTES", "CARBON_ASSESS_MAX_CELLS",
              "CARBON_ASSESS_MAX_UNPACKED_BYTES", "CARBON_ASSESS_MAX_ROWS")
LIFTED_LIMIT = str(10**12)
DUCKDB_ENVS = ("CARBON_DUCKDB_MEMORY_LIMIT",)  # reported when set
TARGETS = {  # name -> (description, comparison, bound)
    "compute_assess_vs_floor": ("pipeline compute+assess / DuckDB floor (time)", "<=", 2.0),
    "pandas_vs_compute_assess": ("pandas (full compute + assess) / pipeline compute+assess "
                                 "(time)", ">=", 10.0),
    "validate_vs_floor": ("pipeline validate / DuckDB floor (time)", "<=", 4.0),
    "check_outputs_vs_floor": ("pipeline check_outputs (output gate + post-compute check) / "
                               "DuckDB floor (time)", "<=", 2.0),
    "whole_run_vs_floor": ("pipeline whole run / DuckDB floor (time)", "<=", 15.0),
    "whole_run_peak_rss": ("pipeline whole-run peak RSS (GiB)", "<", 4.0),
    "publish_duckdb_vs_copy": ("pipeline publish (DuckDB) / bare DuckDB copy (time)", "<=", 2.0),
    "publish_postgres_vs_copy": ("pipeline publish (PostgreSQL) / bare binary COPY (time)",
                                 "<=", 2.0),
}


def size_label(text: str) -> tuple[str, int | None]:
    """'national' -> ('national', None); 'small' -> ('small', None) (generate_landing.py
    --small: a few prefectures, for checking the harness); '2.2M' -> ('2.2M', 2_200_000)."""
    if text.strip().lower() in ("national", "small"):
        return text.strip().lower(), None
    return text.strip(), parse_rows(text)


def run_monitored(cmd: list[str], env: dict[str, str] | None = None,
                  timeout: float | None = None, max_rss_mib: float | None = None) -> dict:
    """Run `cmd` to its end; its stdout, stderr, wall seconds and peak RSS (MiB, this child
    alone, by os.wait4). Killed (and said so) past `timeout` seconds or `max_rss_mib` of RSS
    (polled from /proc): a runaway stage must not take a shared machine down."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        killed = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if killed is None:
                if timeout and time.perf_counter() - start > timeout:
                    killed = f"killed after {timeout:.0f} s (--stage-timeout)"
                else:
                    rss = rss_mib("VmRSS", proc.pid)
                    if max_rss_mib and rss and rss > max_rss_mib:
                        killed = (f"killed at {rss:,.0f} MiB RSS (--max-rss-gib "
                                  f"{max_rss_mib / GIB:g})")
                if killed:
                    proc.kill()
            time.sleep(0.05)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"returncode": proc.returncode, "stdout": out.read(), "stderr": err.read(),
                "wall": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "killed": killed}


def run_child(cmd: list[str]) -> tuple[str, float, float]:
    """Run `cmd`; return (stdout, wall seconds, peak RSS MiB of that child alone)."""
    done = run_monitored(cmd)
    if done["returncode"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done['returncode']}):\n{done['stderr']}")
    return done["stdout"], done["wall"], done["peak_rss_mib"]


def ensure_data(data: Path, label: str, rows: int | None) -> tuple[dict, dict | None]:
    """The manifest of DATA, generating the Parquet files first if they are missing."""
    manifest_path = data / "manifest.json"
    expected = plan("small" if label == "small" else "national", rows).label
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        have_parquet = all((data / file_name(k, "parquet")).exists() for k in KINDS)
        if manifest.get("size") == expected and have_parquet:
            return manifest, None
        if manifest.get("size") != expected:
            raise SystemExit(f"{data} holds size {manifest.get('size')!r}, not {expected!r}: "
                             "pass another --data or remove it")
    cmd = [sys.executable, str(HERE / "generate_landing.py"), str(data), "--format", "parquet"]
    cmd += ["--rows", str(rows)] if rows else ["--size", label]
    print(f"generating {label} into {data} ...", flush=True)
    _, wall, rss = run_child(cmd)
    generation = {"seconds": wall, "peak_rss_mib": rss}
    print(f"  generated in {wall:.1f} s, peak RSS {rss:.0f} MiB", flush=True)
    return json.loads(manifest_path.read_text(encoding="utf-8")), generation


def measure(impl: str, data: Path, repeat: int, threads: int | None) -> dict:
    cmd = [sys.executable, str(HERE / "reference_impls.py"), impl, str(data), "--json"]
    if threads and impl == "duckdb":
        cmd += ["--threads", str(threads)]
    runs = []
    for i in range(repeat):
        out, wall, rss = run_child(cmd)
        run = json.loads(out.strip().splitlines()[-1])
        run.update(process_seconds=wall, peak_rss_mib=rss)
        runs.append(run)
        print(f"  {impl} run {i + 1}/{repeat}: {run['seconds']:.2f} s, "
              f"peak RSS {rss:.0f} MiB", flush=True)
    return {
        "impl": impl,
        "title": IMPL_TITLES[impl],
        "seconds": statistics.median(r["seconds"] for r in runs),
        "seconds_runs": [r["seconds"] for r in runs],
        "process_seconds": statistics.median(r["process_seconds"] for r in runs),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
        "rss_baseline_mib": statistics.median(r["rss_baseline_mib"] or 0 for r in runs),
        "rows_out": runs[0]["rows_out"],
        **{k: runs[0][k] for k in ("co2_t_sum", "intensity_sum", "intensity_null",
                                   "unit_years", "status_counts") if k in runs[0]},
        **({"check": check_full(data)} if impl == FULL else {}),
    }


def check_full(data: Path) -> dict:
    """pandas full against the floor, in a process of its own (not timed, not in peak RSS)."""
    print(f"  checking {FULL} against the floor ...", flush=True)
    done = run_monitored([sys.executable, str(HERE / "reference_impls.py"), FULL, str(data),
                          "--check", "--json"])
    try:
        return json.loads(done["stdout"].strip().splitlines()[-1])["check"]
    except (IndexError, KeyError, json.JSONDecodeError):
        return {"error": done["killed"] or _last_line(done["stderr"])}


# --- the pipeline, stage by stage --------------------------------------------------------------
def link_landing(data: Path, landing: Path) -> list[str]:
    """A landing folder holding exactly the files the floor reads (the four Parquet files) and
    units.csv, as hard links (copies across file systems): ingest follows no symlink."""
    landing.mkdir(parents=True)
    names = [file_name(k, "parquet") for k in KINDS]
    names += [UNITS_SHEET] if (data / UNITS_SHEET).exists() else []
    for name in names:
        try:
            os.link(data / name, landing / name)
        except OSError:
            shutil.copy2(data / name, landing / name)
    return names


def child_env(home: Path, lift_limits: bool, library: Path | None = None
              ) -> tuple[dict[str, str], dict[str, str]]:
    """The stage children's environment and the input limits it sets."""
    env = dict(os.environ, CARBON_ASSESS_HOME=str(home), GX_ANALYTICS_ENABLED="False")
    if library:
        env["CARBON_BENCH_LIBRARY"] = str(library)
    limits = {}
    for name in DUCKDB_ENVS:
        if name in os.environ:
            limits[name] = os.environ[name] + " (from the environment)"
    for name in LIMIT_ENVS:
        if name in os.environ:
            limits[name] = os.environ[name] + " (from the environment)"
        elif lift_limits:
            env[name] = limits[name] = LIFTED_LIMIT
        else:
            limits[name] = "library default"
    return env, limits


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:400] if lines else "(no output)"


def run_stage_child(stage: str, run_id: str, warehouse: str, env: dict[str, str],
                    opts: argparse.Namespace, landing: Path | None = None,
                    profile: Path | None = None) -> dict:
    """One stage in a fresh subprocess; its record for the report (never invented: a stage
    that did not report its own numbers is 'failed' with the reason)."""
    name = {POSTGRES_STAGE: "publish", POSTGRES_FLOOR: PUBLISH_FLOOR}.get(stage, stage)
    cmd = [sys.executable, str(STAGE_CHILD), name, run_id, "--warehouse", warehouse]
    if name == "ingest":
        cmd += ["--landing", str(landing), "--method", opts.method]
    if profile:
        cmd += ["--profile", str(profile)]
    load_before = os.getloadavg()[0]
    done = run_monitored(cmd, env, opts.stage_timeout, opts.max_rss_gib * GIB)
    payload = None
    for line in reversed(done["stdout"].splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                payload = json.loads(line)
            break
    record = {"stage": stage, "load_average_before": load_before,
              "process_seconds": done["wall"],
              "peak_rss_mib": done["peak_rss_mib"], "returncode": done["returncode"]}
    if payload is None:  # crashed, killed or failed before it could report
        reason = done["killed"] or f"exit {done['returncode']}: {_last_line(done['stderr'])}"
        record.update(status="failed", error=reason)
    else:
        record.update(
            status="ok" if payload["ok"] else "failed",
            error=payload["error"],
            seconds=payload["seconds"],
            import_seconds=payload["import_seconds"],
            rss_baseline_mib=payload["rss_baseline_mib"],
            imported_during_stage=payload.get("imported_during_stage"),
            result=payload["result"],
        )
        if done["killed"]:
            record.update(status="failed", error=done["killed"])
    return record


def _rows_out(stage: str, result: dict | None) -> int | None:
    """A stage's output row count for the table: raw observations (ingest), unit-years of
    int_geo_year (compute), fct_target_assessment rows (assess), rows published (publish)."""
    counts = (result or {}).get("row_counts")
    if not isinstance(counts, dict):
        return None
    if stage == "compute":
        return counts.get("int_geo_year")
    if stage == "assess":
        return counts.get("fct_target_assessment")
    if stage in ("ingest", "publish", POSTGRES_STAGE, PUBLISH_FLOOR, POSTGRES_FLOOR):
        return sum(v for v in counts.values() if isinstance(v, int))
    return None


def measure_pipeline_stages(landing: Path | None, data: Path | None,
                            opts: argparse.Namespace) -> dict:
    """Every stage once, each in a fresh subprocess, on one run; then the correctness check
    against the floor (generated data only) and the optional profile of one stage."""
    from carbon_assess.workdir import new_run_id

    tmp = Path(tempfile.mkdtemp(prefix="carbon-scale-pipeline-"))
    out: dict = {"tmp": str(tmp), "method": opts.method, "stages": {}}
    try:
        if landing is None:
            landing = tmp / "landing"
            out["landing_files"] = link_landing(data, landing)
        out["landing"] = str(landing)
        env, out["input_limits"] = child_env(tmp / "home", opts.lift_limits, opts.library)
        out["library"] = str(opts.library or REPO / "include")
        warehouse = f"duckdb:///{tmp / 'warehouse.duckdb'}"
        run_id = new_run_id()
        out["run_id"] = run_id
        stages = [*PIPELINE_STAGES, *([POSTGRES_STAGE] if opts.publish_postgres else [])]
        failed = None
        for stage in stages:
            if failed:
                out["stages"][stage] = {"stage": stage, "status": "not run",
                                        "error": f"{failed} failed"}
                continue
            url = opts.publish_postgres if stage == POSTGRES_STAGE else warehouse
            print(f"pipeline stage {stage} ...", flush=True)
            rec = run_stage_child(stage, run_id, url, env, opts, landing)
            rec["rows_out"] = _rows_out(stage, rec.get("result"))
            out["stages"][stage] = rec
            if rec["status"] == "ok":
                print(f"  {stage}: {rec['seconds']:.2f} s (process {rec['process_seconds']:.2f}"
                      f" s), peak RSS {rec['peak_rss_mib']:.0f} MiB", flush=True)
            else:
                print(f"  {stage}: FAILED: {rec['error']}", flush=True)
                if stage != POSTGRES_STAGE:
                    failed = stage
        if out["stages"]["publish"]["status"] == "ok":  # the floors publish is compared with
            floors = [(PUBLISH_FLOOR, f"duckdb:///{tmp / 'publish-floor.duckdb'}")]
            if opts.publish_postgres:
                floors.append((POSTGRES_FLOOR, opts.publish_postgres))
            for stage, url in floors:
                print(f"{stage} ...", flush=True)
                rec = run_stage_child(stage, run_id, url, env, opts)
                rec["rows_out"] = _rows_out(stage, rec.get("result"))
                out["stages"][stage] = rec
                print(f"  {stage}: " + (f"{rec['seconds']:.2f} s" if rec["status"] == "ok"
                                        else f"FAILED: {rec['error']}"), flush=True)
        computed = out["stages"]["compute"]["status"] == "ok"
        if data is not None and computed:
            print("checking the pipeline against the floor ...", flush=True)
            done = run_monitored([sys.executable, str(STAGE_CHILD), "check", run_id,
                                  "--data", str(data)], env, opts.stage_timeout,
                                 opts.max_rss_gib * GIB)
            try:
                out["check"] = json.loads(done["stdout"].strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                out["check"] = {"error": done["killed"] or _last_line(done["stderr"])}
        elif data is not None:
            out["check"] = {"error": "not run: the compute stage did not succeed"}
        if opts.profile:
            # publish is profiled into a fresh warehouse file, like the measured first publish
            # (a second publish to the same file also moves the release to carbon_previous)
            fresh = f"duckdb:///{tmp / 'warehouse-profile.duckdb'}"
            out["profile"] = profile_stage(opts.profile, run_id,
                                           fresh if opts.profile == "publish" else warehouse,
                                           env, opts, landing, out["stages"])
    finally:
        if opts.keep_workdir:
            print(f"work directory kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def profile_stage(stage: str, run_id: str, warehouse: str, env: dict[str, str],
                  opts: argparse.Namespace, landing: Path, stages: dict) -> dict:
    """Run `stage` once more under cProfile (after the measured run, so no measured number
    carries the profiler's overhead) and write the report to the results folder. Ingest goes
    to a fresh run; a later stage reruns on the measured run, whose earlier stages it needs."""
    before = PIPELINE_STAGES[:PIPELINE_STAGES.index(stage)]
    broken = [s for s in before if stages[s]["status"] != "ok"]
    if broken:
        return {"stage": stage, "error": f"not profiled: {broken[0]} failed"}
    path = (opts.out / f"profile-{opts.date}-{opts.label}-{stage}.txt").resolve()
    opts.out.mkdir(parents=True, exist_ok=True)
    if stage == "ingest":
        from carbon_assess.workdir import new_run_id

        run_id = new_run_id()
    print(f"profiling stage {stage} ...", flush=True)
    rec = run_stage_child(stage, run_id, warehouse, env, opts, landing, profile=path)
    if not path.exists():
        print(f"  no profile written: {rec.get('error')}", flush=True)
        return {"stage": stage, "error": f"no profile written: {rec.get('error')}"}
    print(f"  profile written: {path}", flush=True)
    return {"stage": stage, "path": str(path), "seconds_under_profile": rec.get("seconds"),
            "status": rec["status"], "error": rec.get("error")}


# --- report ------------------------------------------------------------------------------------
def machine() -> dict:
    import duckdb
    import numpy
    import pandas
    import pyarrow

    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text()
                .splitlines() if line.startswith("MemTotal:")), None)
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],  # read-only
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "include"], capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, ""
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg(),
        "mem_total_mib": mem,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "commit": commit,
        "include_modified_files": len(dirty.splitlines()),
    }


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1e-300)


def combined_rows(stages: dict) -> dict:
    """'compute + assess' and 'whole run' (ingest..publish to DuckDB): seconds summed, peak RSS
    the largest stage's; only when every stage in them succeeded, else why not."""
    rows = {}
    for key, members in (("compute + assess", ("compute", "assess")),
                         ("whole run", PIPELINE_STAGES)):
        recs = [stages.get(s) for s in members]
        bad = next((s for s, r in zip(members, recs, strict=True)
                    if not r or r.get("status") != "ok"), None)
        if bad:
            status = (stages.get(bad) or {}).get("status", "not run")
            rows[key] = {"status": "n/a", "error": f"{bad} {status}"}
        else:
            rows[key] = {"status": "ok",
                         "seconds": sum(r["seconds"] for r in recs),
                         "process_seconds": sum(r["process_seconds"] for r in recs),
                         "peak_rss_mib": max(r["peak_rss_mib"] for r in recs),
                         "stages": list(members)}
    return rows


def evaluate_targets(report: dict) -> dict:
    """Each target: the measured value, the numbers behind it, and met / not met / n/a."""
    results = report["results"]
    stages = report.get("pipeline_stages") or {}
    combined = report.get("pipeline_combined", {})
    ca = combined.get("compute + assess", {})
    whole = combined.get("whole run", {})

    def ok(rec: dict | None) -> bool:
        return bool(rec) and rec.get("status") == "ok"

    floor, pandas = results.get(FLOOR), results.get(FULL)  # like for like: the full pandas
    values: dict[str, tuple[float | None, str]] = {}
    if ok(ca) and floor:
        values["compute_assess_vs_floor"] = (
            ca["seconds"] / floor["seconds"],
            f"{ca['seconds']:.3f} s / {floor['seconds']:.3f} s")
    if ok(ca) and pandas:
        values["pandas_vs_compute_assess"] = (
            pandas["seconds"] / ca["seconds"],
            f"{pandas['seconds']:.3f} s / {ca['seconds']:.3f} s")
    for key, rec in (("validate_vs_floor", stages.get("validate")),
                     ("check_outputs_vs_floor", stages.get("check_outputs")),
                     ("whole_run_vs_floor", whole)):
        if ok(rec) and floor:
            values[key] = (rec["seconds"] / floor["seconds"],
                           f"{rec['seconds']:.3f} s / {floor['seconds']:.3f} s")
    for key, publish, floor_stage in (("publish_duckdb_vs_copy", "publish", PUBLISH_FLOOR),
                                      ("publish_postgres_vs_copy", POSTGRES_STAGE,
                                       POSTGRES_FLOOR)):
        if ok(stages.get(publish)) and ok(stages.get(floor_stage)):
            p, f = stages[publish]["seconds"], stages[floor_stage]["seconds"]
            values[key] = (p / f, f"{p:.3f} s / {f:.3f} s")
    if ok(whole):
        values["whole_run_peak_rss"] = (whole["peak_rss_mib"] / GIB,
                                        f"{whole['peak_rss_mib']:,.0f} MiB")
    out = {}
    for key, (title, op, bound) in TARGETS.items():
        if key not in values:
            why = ("the floor/pandas full were not measured" if key.endswith(("floor", "assess"))
                   and not (floor and pandas) else "a stage it needs did not succeed")
            if report.get("landing_mode") and key.endswith(("floor", "assess")):
                why = "no floor/pandas on a --landing folder"
            out[key] = {"title": title, "target": f"{op} {bound:g}", "verdict": "n/a",
                        "why": why}
            continue
        value, numbers = values[key]
        met = {"<=": value <= bound, ">=": value >= bound, "<": value < bound}[op]
        out[key] = {"title": title, "target": f"{op} {bound:g}", "value": value,
                    "numbers": numbers, "verdict": "met" if met else "NOT MET"}
    return out


def full_agreement(report: dict) -> dict:
    """pandas full against the floor (CO2, intensity: its --check) and against the assess
    stage's fct_target_assessment status counts: True / False / None (not compared) each, and
    every count that differs (pandas full, pipeline)."""
    full = report["results"].get(FULL)
    out: dict = {"check": None, "statuses": None, "status_diff": {}, "pipeline_statuses": None}
    if not full:
        return out
    check = full.get("check") or {}
    if check and "error" not in check:
        out["check"] = (all(check[k]["agree"] for k in ("co2", "intensity"))
                        and check["units"]["floor_only"] == 0)
    assess = (report.get("pipeline_stages") or {}).get("assess") or {}
    piped = (assess.get("result") or {}).get("statuses") if assess.get("status") == "ok" else None
    if isinstance(piped, dict):
        ours = full.get("status_counts") or {}
        out["pipeline_statuses"] = piped
        out["status_diff"] = {k: (ours.get(k, 0), piped.get(k, 0))
                              for k in sorted({*ours, *piped}) if ours.get(k, 0) != piped.get(k, 0)}
        out["statuses"] = not out["status_diff"]
    return out


def _full_lines(report: dict) -> list[str]:
    """The pandas-full checks, and the floor-like pandas ratio (information, not a target)."""
    full, agreement = report["results"].get(FULL), report.get("full_agreement") or {}
    lines = []
    if full:
        check = full.get("check") or {"error": "not run"}
        if "error" in check:
            lines.append(f"Correctness, pandas full vs floor: **not checked**: {check['error']}.")
        else:
            u = check["units"]
            lines.append(
                f"Correctness, pandas full compute + assess vs floor (same unit-years; intensity "
                f"of plan(s) {', '.join(check['intensity_plans']) or '-'} based on 2010): "
                f"**{u['floor_only']:,} unit-years of the floor missing**, {u['full_only']:,} "
                "only in pandas full (provinces without data, listed as the pipeline lists "
                "them).")
            for key, what in (("co2", "CO2 (t)"), ("intensity", "intensity")):
                c = check[key]
                lines.append(
                    f"- {what}: {'agree' if c['agree'] else '**DISAGREE**'} on "
                    f"{c['strict_rows']:,} unit-years without an imputed cell: sum floor "
                    f"{_fmt(c['floor_sum'], '.10g')}, pandas full {_fmt(c['pipeline_sum'], '.10g')}"
                    f", {c['differing']:,} row(s) off by > {REL_TOL:g} relative; "
                    f"{c['other_rows']:,} with an interpolated cell counted apart "
                    f"({c['other_differing']:,} differ, as expected); null in pandas full only "
                    f"(its energy gaps, e.g. coal blank): {c['pipeline_null']:,}.")
        ours = full.get("status_counts") or {}
        text = ", ".join(f"{k} {v:,}" for k, v in ours.items())
        if agreement.get("statuses") is None:
            lines.append(f"Status counts, pandas full: {text} (pipeline assess not available: "
                         "not compared).")
        elif agreement["statuses"]:
            lines.append(f"Status counts, pandas full vs pipeline fct_target_assessment: agree "
                         f"({text}).")
        else:
            lines.append("Status counts, pandas full vs pipeline fct_target_assessment: "
                         "**DISAGREE**: " + ", ".join(
                             f"{k} {a:,} vs {b:,}" for k, (a, b)
                             in agreement["status_diff"].items()) + f" (pandas full: {text}).")
    plain = report["results"].get("pandas")
    ca = report.get("pipeline_combined", {}).get("compute + assess", {})
    if plain and ca.get("status") == "ok":
        lines.append(
            f"For information, not a target: pandas floor-like (CO2 + intensity only, no blank "
            f"policy, declines or status) / pipeline compute+assess = "
            f"{plain['seconds'] / ca['seconds']:.2f} ({plain['seconds']:.3f} s / "
            f"{ca['seconds']:.3f} s). The target above uses pandas full compute + assess.")
    return lines


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _check_lines(check: dict | None) -> list[str]:
    if check is None:
        return []
    if "error" in check:
        return [f"Correctness (pipeline vs floor): **not checked**: {check['error']}."]
    u = check["units"]
    lines = [
        f"Correctness, pipeline vs floor on the same unit-years (compute.duckdb: "
        f"`{check['geo_table']}`, `{check['intensity_table']}` of plan(s) "
        f"{', '.join(check.get('intensity_plans', [])) or '-'} based on 2010; method "
        f"consumption, as the floor): floor {u['floor_unit_years']:,} unit-years, pipeline "
        f"{u['pipeline_unit_years']:,}; **{u['floor_only']:,} unit-years of the floor missing "
        f"from the pipeline**" + (f" (e.g. {', '.join(check['floor_only_examples'])})"
                                  if check["floor_only_examples"] else "")
        + f", {u['pipeline_only']:,} only in the pipeline.",
    ]
    for key, what in (("co2", "CO2 (t)"), ("intensity", "intensity (t/万元, 2010 prices)")):
        c = check.get(key)
        if not c:
            lines.append(f"- {what}: not compared (no table).")
            continue
        verdict = "agree" if c["agree"] else "**DISAGREE**"
        lines.append(
            f"- {what}: {verdict} on {c['strict_rows']:,} unit-years without an imputed cell: "
            f"sum floor {_fmt(c['floor_sum'], '.10g')}, pipeline {_fmt(c['pipeline_sum'], '.10g')}"
            f", {c['differing']:,} row(s) off by > {REL_TOL:g} relative (max "
            f"{_fmt(c['max_rel_diff'], '.2e')}). {c['other_rows']:,} more unit-years have a "
            f"blank the pipeline interpolates (the floor counts it as nothing): sums "
            f"{_fmt(c['other_floor_sum'], '.10g')} vs {_fmt(c['other_pipeline_sum'], '.10g')}, "
            f"{c['other_differing']:,} differ, as expected. Null in the pipeline only: "
            f"{c['pipeline_null']:,}; in the floor only: {c['floor_null']:,}.")
        if key == "co2" and c.get("pipeline_null_reasons"):
            lines.append("  Pipeline-null reasons (data_gaps): " + "; ".join(
                f"{r} ({n:,})" for r, n in c["pipeline_null_reasons"]))
    return lines


def render(report: dict) -> str:
    m, d = report["machine"], report.get("data")
    pipe = report.get("pipeline") or {}
    lines = [f"# Scale benchmark {report['date']}: {report['size']}", ""]
    if d:
        lines.append(
            f"Data: {d['activity_rows']:,} activity rows (unit-year-column cells of the energy "
            f"file), {d['unit_years']:,} unit-years, units {d['units']}, "
            f"{d['blank_energy_cells']:,} blank and {d['zero_energy_cells']:,} zero energy "
            f"cells; generator v{d['generator_version']}, seed {d['seed']}; Parquet "
            f"{sum(v['bytes'] for k, v in d['files'].items() if k.endswith('.parquet')):,} "
            "bytes.")
    else:
        lines.append(f"Landing: `{report['landing']}` ({report['landing_files']} file(s), "
                     f"{report['landing_bytes']:,} bytes), an existing landing folder: the "
                     "DuckDB floor, pandas and the correctness check are n/a (they read the "
                     "generator's Parquet layout).")
    lines += [
        f"Machine: {m['platform']}, {m['cpus_usable']}/{m['cpus']} CPUs, "
        f"{m['mem_total_mib']:,} MiB, load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['load_average_at_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in report['load_average_at_end'])} (1, 5, 15 min; "
        f"{m['cpus_usable']} CPUs: above that, other work shared the machine); "
        f"Python {m['python']}, DuckDB {m['duckdb']} (floor threads: "
        f"{report['duckdb_threads']}), pandas {m['pandas']}, pyarrow {m['pyarrow']}, numpy "
        f"{m['numpy']}; commit {m['commit']}"
        + (f" with {m['include_modified_files']} uncommitted file(s) under include/"
           if m.get("include_modified_files") else "") + ".",
    ]
    if report["results"]:
        lines.append(
            f"Floor and pandas: {report['repeat']} fresh subprocess(es) each, one at a time; "
            "seconds = median of the in-process time from reading Parquet to the result "
            "DataFrame; peak RSS = max ru_maxrss (os.wait4) over the runs, interpreter and "
            "imports included.")
    if pipe:
        limits = pipe.get("input_limits", {})
        lifted = [k for k, v in limits.items() if v == LIFTED_LIMIT]
        lines.append(
            "Pipeline: each stage ran **once**"
            + (f" (the floor and pandas: median of {report['repeat']})" if report["results"]
               else "") + ", in its own fresh subprocess, in order, on run "
            f"`{pipe.get('run_id')}` (method `{pipe['method']}`, library `{pipe.get('library')}`"
            ", publish to a DuckDB file in a temp dir); seconds = the stage call alone, "
            "after importing the library and the stage's heavy dependencies (GX, pandas, "
            "DuckDB, pyarrow; process s includes them and the interpreter start); peak RSS = "
            "that stage's ru_maxrss, interpreter and imports included. "
            + (f"Input limits lifted (--lift-limits: {', '.join(lifted)} = {LIFTED_LIMIT})."
               if lifted else "Input limits and DuckDB settings: " + ", ".join(
                   f"{k} {v}" for k, v in limits.items()) + "."))
    lines += [
        "",
        "| implementation | seconds | process s | peak RSS MiB | RSS after imports MiB "
        "| rows out | ratio to floor (time) | ratio to floor (RSS) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = report["results"].get(FLOOR)

    def ratios(seconds: float, rss: float) -> str:
        if not floor:
            return "| n/a | n/a |"
        return f"| {seconds / floor['seconds']:.2f} | {rss / floor['peak_rss_mib']:.2f} |"

    for impl in IMPLS:
        r = report["results"].get(impl)
        if r is None:
            why = report["skipped"].get(impl, "not measured")
            lines.append(f"| {IMPL_TITLES[impl]} | {_cell(why)} | | | | | | |")
            continue
        lines.append(
            f"| {r['title']} | {r['seconds']:.3f} | {r['process_seconds']:.2f} "
            f"| {r['peak_rss_mib']:.0f} | {r['rss_baseline_mib']:.0f} | {r['rows_out']:,} "
            + ratios(r["seconds"], r["peak_rss_mib"]))
    stage_rows = report["pipeline_stages"]
    for stage, rec in stage_rows.items():
        title = STAGE_TITLES.get(stage, f"pipeline: {stage}")
        if rec.get("status") == "ok":
            rows = rec.get("rows_out")
            lines.append(
                f"| {title} | {rec['seconds']:.3f} | {rec['process_seconds']:.2f} "
                f"| {rec['peak_rss_mib']:.0f} | {_fmt(rec.get('rss_baseline_mib'), '.0f')} "
                f"| {'-' if rows is None else format(rows, ',')} "
                + ratios(rec["seconds"], rec["peak_rss_mib"]))
        else:
            text = {"failed": "failed", "not run": "not run"}.get(rec.get("status"),
                                                                  rec.get("status"))
            lines.append(f"| {title} | {text}: {_cell(rec.get('error'))} | | | | | | |")
    for key, rec in report.get("pipeline_combined", {}).items():
        if rec["status"] == "ok":
            lines.append(f"| pipeline: {key} | {rec['seconds']:.3f} "
                         f"| {rec['process_seconds']:.2f} | {rec['peak_rss_mib']:.0f} | - | - "
                         + ratios(rec["seconds"], rec["peak_rss_mib"]))
        else:
            lines.append(f"| pipeline: {key} | n/a: {_cell(rec['error'])} | | | | | | |")
    lines.append("")
    if pipe:
        lines.append("Rows out: ingest = raw observations written, compute = unit-years of "
                     "int_geo_year, assess = rows of fct_target_assessment (pandas full: its "
                     "rows of the same), publish = rows "
                     "published (all tables). compute + assess and whole run (ingest .. "
                     "publish to DuckDB; not the PostgreSQL publish) = sum of the stages' "
                     "seconds, max of their peak RSS.")
        lines.append("")
    if report.get("targets"):
        lines += ["| target | bound | measured | verdict |", "|---|---:|---|---|"]
        for t in report["targets"].values():
            if t["verdict"] == "n/a":
                lines.append(f"| {t['title']} | {t['target']} | - | n/a: {t['why']} |")
            else:
                verdict = "met" if t["verdict"] == "met" else "**NOT MET**"
                lines.append(f"| {t['title']} | {t['target']} | {t['value']:.2f} "
                             f"({t['numbers']}) | {verdict} |")
        lines.append("")
    if report["generation"]:
        g = report["generation"]
        lines.append(f"Generation (Parquet, information only): {g['seconds']:.1f} s, "
                     f"peak RSS {g['peak_rss_mib']:.0f} MiB.")
    if report["agreement"] is not None:
        lines.append("Checksums floor vs pandas floor-like (sum of co2_t, sum of intensity, null "
                     "intensities): " + ("agree" if report["agreement"] else "**DISAGREE**")
                     + f" to {REL_TOL:g} relative.")
    lines += _full_lines(report)
    lines += _check_lines(pipe.get("check"))
    details = []
    for stage, rec in report["pipeline_stages"].items():
        res = rec.get("result")
        if rec.get("status") != "ok" or not isinstance(res, dict):
            continue
        keep = {k: v for k, v in res.items()
                if k in ("row_counts", "status", "errors", "warnings", "statuses",
                         "expectations") and (k != "row_counts" or stage != "compute")}
        late = rec.get("imported_during_stage")
        details.append(f"- {stage}: load average {rec['load_average_before']:.2f} at its start; "
                       f"imports {rec['import_seconds']:.2f} s"
                       + (f" (imported on the clock: {', '.join(late)})" if late else "")
                       + "; " + json.dumps(keep, ensure_ascii=False))
    if details:
        lines += ["", "Stage results:", *details]
    prof = pipe.get("profile")
    if prof:
        lines.append("")
        lines.append(f"Profile of {prof['stage']}: "
                     + (f"`{Path(prof['path']).name}` ({_fmt(prof['seconds_under_profile'], '.2f')}"
                        " s under cProfile)" if prof.get("path") else "")
                     + (f" {prof['error']}" if prof.get("error") else ""))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", help="national, or activity rows: 2.2M, 10M, 50M, ...; "
                        "small: generate_landing.py --small, to check the harness")
    parser.add_argument("--data", type=Path, help="data folder (default /tmp/carbon-scale-SIZE)")
    parser.add_argument("--landing", type=Path,
                        help="benchmark the pipeline stages on this existing landing folder "
                        "instead (no floor, pandas or correctness check)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per implementation (median); pipeline stages run once")
    parser.add_argument("--threads", type=int, help="DuckDB threads of the floor (default: all)")
    parser.add_argument("--method",
                        help="the run's emissions method (default: consumption, the method the "
                        "floor mirrors and the correctness check assumes; with --landing the "
                        "library's default)")
    parser.add_argument("--publish-postgres", metavar="URL",
                        help="also publish the run to this PostgreSQL warehouse (own row)")
    parser.add_argument("--profile", choices=PIPELINE_STAGES, metavar="STAGE",
                        help="rerun STAGE under cProfile after the measured run; top 25 "
                        "entries to OUT/profile-<date>-<size>-<stage>.txt")
    parser.add_argument("--lift-limits", action="store_true",
                        help="lift the library's input limits (rows, cells, bytes) for stress "
                        "sizes it rejects by design; default: the library's limits")
    parser.add_argument("--stage-timeout", type=float, default=3 * 3600,
                        help="kill a stage after this many seconds (default 3 h)")
    parser.add_argument("--max-rss-gib", type=float, default=12.0,
                        help="kill a stage whose RSS exceeds this (default 12 GiB; the target "
                        "is 4)")
    parser.add_argument("--library", type=Path,
                        help="import carbon_assess from this folder in the stages (default: "
                        "include/ of this checkout), e.g. `git archive HEAD include | tar -x "
                        "-C /tmp/head` then /tmp/head/include")
    parser.add_argument("--keep-workdir", action="store_true",
                        help="keep the temporary $CARBON_ASSESS_HOME and warehouse")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if bool(args.rows) == bool(args.landing):
        parser.error("give --rows (generated data) or --landing DIR, not both")
    if args.landing and args.skip_pipeline:
        parser.error("--landing measures the pipeline only; --skip-pipeline leaves nothing")
    if args.profile and args.skip_pipeline:
        parser.error("--profile needs the pipeline")
    if args.library:
        args.library = args.library.resolve()
        if not (args.library / "carbon_assess" / "pipeline.py").is_file():
            parser.error(f"--library {args.library}: no carbon_assess/pipeline.py in it")
    args.date = dt.date.today().isoformat()
    report: dict = {"date": args.date, "repeat": args.repeat,
                    "duckdb_threads": args.threads or "default (all cores)",
                    "results": {}, "skipped": {}, "generation": None}
    data = None
    if args.landing:
        landing = args.landing.resolve()
        if not landing.is_dir():
            parser.error(f"--landing {landing}: not a folder")
        files = [p for p in landing.rglob("*") if p.is_file()]
        label = f"landing-{landing.name}"
        report.update(size=label, landing=str(landing), landing_mode=True,
                      landing_files=len(files),
                      landing_bytes=sum(p.stat().st_size for p in files))
        report["skipped"] = {impl: "n/a (--landing)" for impl in IMPLS}
    else:
        label, rows = size_label(args.rows)
        data = (args.data or Path(f"/tmp/carbon-scale-{label}")).resolve()
        manifest, report["generation"] = ensure_data(data, label, rows)
        report.update(size=label, data_dir=str(data),
                      data={k: v for k, v in manifest.items() if k != "energy_columns"})
    args.label = label
    if not args.method:
        if args.landing:
            from carbon_assess.settings import DEFAULT_METHOD

            args.method = DEFAULT_METHOD
        else:
            args.method = "consumption"
    report["machine"] = machine()
    if not args.landing:
        for impl in IMPLS:
            if impl in PANDAS_IMPLS and args.skip_pandas:
                report["skipped"][impl] = "skipped (--skip-pandas)"
                continue
            print(f"measuring {impl} ...", flush=True)
            report["results"][impl] = measure(impl, data, args.repeat, args.threads)
    if args.skip_pipeline:
        report["pipeline"] = None
        report["pipeline_stages"] = {s: {"status": "skipped (--skip-pipeline)", "error": ""}
                                     for s in PIPELINE_STAGES}
    else:
        pipe = measure_pipeline_stages(args.landing and args.landing.resolve(), data, args)
        report["pipeline"] = {k: v for k, v in pipe.items() if k != "stages"}
        report["pipeline_stages"] = pipe["stages"]
        report["pipeline_combined"] = combined_rows(pipe["stages"])
    report["load_average_at_end"] = os.getloadavg()
    report["targets"] = evaluate_targets(report)
    results = [report["results"][i] for i in (FLOOR, "pandas") if i in report["results"]]
    report["agreement"] = None if len(results) < 2 else all(
        _agree(results[0][key], r[key]) for r in results[1:]
        for key in ("co2_t_sum", "intensity_sum", "intensity_null"))
    report["full_agreement"] = full_agreement(report)
    check = (report["pipeline"] or {}).get("check") or {}
    report["pipeline_agreement"] = (None if not check or "error" in check else all(
        check[k]["agree"] for k in ("co2", "intensity") if k in check)
        and check["units"]["floor_only"] == 0)
    text = render(report)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"scale-{report['date']}-{label}"  # not Path.with_suffix: '2.2M' has a dot
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2,
                                                      default=str) + "\n", encoding="utf-8")
    print(f"written: {args.out / stem}.md, .json")
    if report["agreement"] is False or report["pipeline_agreement"] is False or False in (
            report["full_agreement"]["check"], report["full_agreement"]["statuses"]):
        return 1
    failed = any(r.get("status") == "failed" for r in report["pipeline_stages"].values())
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
