"""Benchmark at county scale: the DuckDB floor and the pandas version on the same generated files.

    .venv/bin/python benchmarks/bench_scale.py --rows national|2.2M|10M|50M [--data DIR]
        [--skip-pandas] [--repeat N] [--threads N] [--out benchmarks/results]

1. Generates the Parquet landing files (benchmarks/generate_landing.py) into DIR (default
   /tmp/carbon-scale-<size>) unless DIR already holds a manifest of the same size; generation
   runs in its own subprocess and is reported for information only.
2. Runs each implementation of benchmarks/reference_impls.py (the DuckDB floor, the pandas
   version) in a fresh subprocess, N times (default 3), one at a time, on the same files.
   seconds = median of the time the child measures around the computation (read Parquet ->
   result DataFrame; interpreter start and imports excluded, reported separately as process
   seconds). Peak RSS = the largest ru_maxrss of those children, taken per child with
   os.wait4 (resource.getrusage(RUSAGE_CHILDREN) would give the maximum over *all* children
   so far, so a later, smaller implementation would inherit the earlier one's peak). It
   includes the interpreter and imports (baseline column: RSS after imports).
3. Prints a table (implementation, seconds, peak RSS MiB, rows out, ratio to floor) and writes
   it to OUT/scale-<YYYY-MM-DD>-<size>.md and .json, with the machine, versions and the data
   manifest. Both implementations' checksums (sum of CO2, sum of intensity) must agree to
   1e-9 relative, or the run says so.
4. Pipeline stages (ingest, validate, compute, assess, publish): a slot, not measured yet (the
   pipeline reads provincial rows only; see PIPELINE_STAGES below). No number is invented.

`--rows national` is every unit of reference/regions.csv (1,410,640 activity rows); a number
(2.2M, 10M, 50M) adds declared extra units (parks) up to that many activity rows (see
generate_landing.py). Keep heavy runs one at a time on a shared machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
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
    file_name,
    parse_rows,
    plan,
)

IMPLS = ("duckdb", "pandas")
IMPL_TITLES = {"duckdb": "DuckDB floor (one SQL query)", "pandas": "pandas (melt/merge/groupby)"}
FLOOR = "duckdb"
REL_TOL = 1e-9

# --- SLOT: pipeline stages -------------------------------------------------------------------
# When the pipeline ingests prefecture/county rows, measure each stage here on the same DATA
# (one fresh subprocess per stage, peak RSS by os.wait4, as for the reference implementations;
# benchmarks/bench_pipeline.py shows how to call the stages) and return
# {stage: {"seconds": ..., "peak_rss_mib": ...}}. Until then: None, and the report says so.
PIPELINE_STAGES = ("ingest", "validate", "compute", "assess", "publish")
NOT_MEASURED = "not measured: the pipeline does not ingest prefecture/county rows yet"


def measure_pipeline_stages(data_dir: Path) -> dict[str, dict] | None:
    """Hook for the pipeline's stages at county scale; not implemented (see NOT_MEASURED)."""
    return None
# --- end of slot -----------------------------------------------------------------------------


def size_label(text: str) -> tuple[str, int | None]:
    """'national' -> ('national', None); '2.2M' -> ('2.2M', 2_200_000)."""
    if text.strip().lower() == "national":
        return "national", None
    return text.strip(), parse_rows(text)


def run_child(cmd: list[str]) -> tuple[str, float, float]:
    """Run `cmd`; return (stdout, wall seconds, peak RSS MiB of that child alone)."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = proc.stdout.read()  # to EOF before reaping; stderr goes to a file, never blocks
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read()}")
    return out, wall, usage.ru_maxrss / 1024  # Linux: KiB


def ensure_data(data: Path, label: str, rows: int | None) -> tuple[dict, dict | None]:
    """The manifest of DATA, generating the Parquet files first if they are missing."""
    manifest_path = data / "manifest.json"
    expected = plan("national", rows).label
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        have_parquet = all((data / file_name(k, "parquet")).exists() for k in KINDS)
        if manifest.get("size") == expected and have_parquet:
            return manifest, None
        if manifest.get("size") != expected:
            raise SystemExit(f"{data} holds size {manifest.get('size')!r}, not {expected!r}: "
                             "pass another --data or remove it")
    cmd = [sys.executable, str(HERE / "generate_landing.py"), str(data), "--format", "parquet"]
    cmd += ["--rows", str(rows)] if rows else ["--size", "national"]
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
        "co2_t_sum": runs[0]["co2_t_sum"],
        "intensity_sum": runs[0]["intensity_sum"],
        "intensity_null": runs[0]["intensity_null"],
    }


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
    except (OSError, subprocess.CalledProcessError):
        commit = None
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
    }


def _agree(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1e-300)


def render(report: dict) -> str:
    m, d = report["machine"], report["data"]
    lines = [
        f"# Scale benchmark {report['date']}: {report['size']}",
        "",
        f"Data: {d['activity_rows']:,} activity rows (unit-year-column cells of the energy "
        f"file), {d['unit_years']:,} unit-years, units {d['units']}, "
        f"{d['blank_energy_cells']:,} blank and {d['zero_energy_cells']:,} zero energy cells; "
        f"generator v{d['generator_version']}, seed {d['seed']}; Parquet "
        f"{sum(v['bytes'] for k, v in d['files'].items() if k.endswith('.parquet')):,} bytes.",
        f"Machine: {m['platform']}, {m['cpus_usable']}/{m['cpus']} CPUs, "
        f"{m['mem_total_mib']:,} MiB, load average at start {m['load_average_at_start']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']} (threads: {report['duckdb_threads']}), "
        f"pandas {m['pandas']}, pyarrow {m['pyarrow']}, numpy {m['numpy']}; "
        f"commit {m['commit']}.",
        f"Each implementation: {report['repeat']} fresh subprocess(es), one at a time; seconds "
        "= median of the in-process time from reading Parquet to the result DataFrame; peak "
        "RSS = max ru_maxrss (os.wait4) over the runs, interpreter and imports included.",
        "",
        "| implementation | seconds | process s | peak RSS MiB | RSS after imports MiB "
        "| rows out | ratio to floor (time) | ratio to floor (RSS) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor = report["results"].get(FLOOR)
    for r in report["results"].values():
        t_ratio = f"{r['seconds'] / floor['seconds']:.2f}" if floor else "-"
        m_ratio = f"{r['peak_rss_mib'] / floor['peak_rss_mib']:.2f}" if floor else "-"
        lines.append(
            f"| {r['title']} | {r['seconds']:.3f} | {r['process_seconds']:.2f} "
            f"| {r['peak_rss_mib']:.0f} | {r['rss_baseline_mib']:.0f} | {r['rows_out']:,} "
            f"| {t_ratio} | {m_ratio} |")
    for stage in PIPELINE_STAGES:
        value = report["pipeline_stages"][stage]
        if isinstance(value, dict):
            lines.append(f"| pipeline: {stage} | {value['seconds']:.3f} | - "
                         f"| {value['peak_rss_mib']:.0f} | - | - | - | - |")
        else:
            lines.append(f"| pipeline: {stage} | {value} | | | | | | |")
    lines.append("")
    if report["generation"]:
        g = report["generation"]
        lines.append(f"Generation (Parquet, information only): {g['seconds']:.1f} s, "
                     f"peak RSS {g['peak_rss_mib']:.0f} MiB.")
    if report["agreement"] is not None:
        lines.append("Checksums (sum of co2_t, sum of intensity, null intensities): "
                     + ("agree" if report["agreement"] else "**DISAGREE**")
                     + f" to {REL_TOL:g} relative.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", required=True,
                        help="national, or activity rows: 2.2M, 10M, 50M, ...")
    parser.add_argument("--data", type=Path, help="data folder (default /tmp/carbon-scale-SIZE)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs per implementation (median)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    label, rows = size_label(args.rows)
    data = args.data or Path(f"/tmp/carbon-scale-{label}")
    manifest, generation = ensure_data(data, label, rows)
    report = {
        "date": dt.date.today().isoformat(),
        "size": label,
        "data_dir": str(data),
        "repeat": args.repeat,
        "duckdb_threads": args.threads or "default (all cores)",
        "machine": machine(),
        "data": {k: v for k, v in manifest.items() if k != "energy_columns"},
        "generation": generation,
        "results": {},
    }
    for impl in IMPLS:
        if impl == "pandas" and args.skip_pandas:
            continue
        print(f"measuring {impl} ...", flush=True)
        report["results"][impl] = measure(impl, data, args.repeat, args.threads)
    stages = measure_pipeline_stages(data)
    report["pipeline_stages"] = {s: (stages or {}).get(s, NOT_MEASURED) for s in PIPELINE_STAGES}
    results = list(report["results"].values())
    report["agreement"] = None if len(results) < 2 else all(
        _agree(results[0][key], r[key]) for r in results[1:]
        for key in ("co2_t_sum", "intensity_sum", "intensity_null"))
    text = render(report)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"scale-{report['date']}-{label}"  # not Path.with_suffix: '2.2M' has a dot
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                                         encoding="utf-8")
    print(f"written: {args.out / stem}.md, .json")
    return 0 if report["agreement"] in (None, True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
