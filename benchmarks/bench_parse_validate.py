"""Benchmark: the DAG file's parse time and the validation of the real NBS files, each as a ratio
to a floor measured in the same run (these were wall-clock assertions in tests/test_dag.py and
tests/test_real_nbs_validation.py; speed belongs here, not in the tests).

    .venv/bin/python benchmarks/bench_parse_validate.py [--repeat N] [--landing DIR]

- **DAG parse**: `DagBag(dag_folder=dags/carbon_assessment.py)` in a fresh interpreter that has
  already imported Airflow (as the DAG processor has); seconds = the DagBag's own parse duration
  of the file (`dagbag_stats`). Floor: a fresh `python -c pass` (interpreter start-up, wall).
- **validation**: `validate_workdir` on the real NBS provincial files ingested into a temporary
  run (GX imported beforehand, so its first-import cost is not counted). Floor: a bare DuckDB
  read of the same raw Parquet files into Arrow (every column, every row), in the same process.

Times are the median of N repeats (default 3). The former test bounds (parse < 5 s, validation
< 60 s) are printed as budgets, `met` / `NOT MET`; the exit code is 0 either way (a benchmark
reports, it does not gate).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "include"))
DAG_FILE = REPO / "dags" / "carbon_assessment.py"
DEFAULT_LANDING = REPO.parent / "shared" / "data" / "nbs" / "provincial"
PARSE_BUDGET_S, VALIDATE_BUDGET_S = 5.0, 60.0

PARSE_CHILD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
print(json.dumps(sum(s.duration.total_seconds() for s in bag.dagbag_stats)))
"""


def _airflow_env(home: Path) -> dict[str, str]:
    return {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "include"),
                                                        os.environ.get("PYTHONPATH")]))}


def python_startup() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def dag_parse(env: dict[str, str]) -> float:
    proc = subprocess.run([sys.executable, "-c", PARSE_CHILD, str(DAG_FILE)], env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"DAG parse failed:\n{proc.stderr[-3000:]}")
    return float(proc.stdout.strip().splitlines()[-1])


def duckdb_read(raw: list[Path]) -> float:
    import duckdb

    started = time.perf_counter()
    with duckdb.connect() as con:
        for path in raw:  # one file at a time: the raw kinds have different columns
            con.execute("SELECT * FROM read_parquet(?)", [str(path)]).to_arrow_table()
    return time.perf_counter() - started


def validation(landing: Path, root: Path, repeat: int) -> tuple[list[float], list[float]]:
    from carbon_assess.pipeline import ingest_stage
    from carbon_assess.validate import validate_workdir

    floors, times = [], []
    for i in range(repeat):
        workdir = root / "runs" / f"bench-{i}"
        ingest_stage(landing, workdir, f"bench-{i}", vintage="bench")
        raw = sorted((workdir / "raw").glob("*.parquet"))
        floors.append(duckdb_read(raw))
        started = time.perf_counter()
        validate_workdir(workdir)
        times.append(time.perf_counter() - started)
    return floors, times


def _row(name: str, seconds: float, floor: float, budget: float | None = None) -> str:
    verdict = "" if budget is None else (
        f"  budget < {budget:g} s: {'met' if seconds < budget else 'NOT MET'}")
    return f"{name:<40}{seconds:>10.3f}{seconds / floor:>12.1f}x{verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--landing", type=Path, default=DEFAULT_LANDING,
                        help="landing folder to validate (default: the real NBS provincial files)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carbon-bench-pv-") as tmp:
        root = Path(tmp)
        (root / "airflow").mkdir()
        env = _airflow_env(root / "airflow")
        os.environ["CARBON_ASSESS_HOME"] = str(root / "home")
        startup = statistics.median(python_startup() for _ in range(max(args.repeat, 5)))
        parse = statistics.median(dag_parse(env) for _ in range(args.repeat))
        import great_expectations  # noqa: F401  (the first GX import is no validation cost)

        floors, times = validation(args.landing, root, args.repeat)
    read, validate = statistics.median(floors), statistics.median(times)
    print(f"repeats: {args.repeat} (median)   landing: {args.landing}")
    print(f"{'':<40}{'seconds':>10}{'ratio':>13}")
    print(_row("floor: python -c pass", startup, startup))
    print(_row("DAG parse (DagBag, carbon_assessment)", parse, startup, PARSE_BUDGET_S))
    print(_row("floor: DuckDB read of the raw Parquet", read, read))
    print(_row("validation (validate_workdir)", validate, read, VALIDATE_BUDGET_S))
    if args.json:
        args.json.write_text(json.dumps({
            "repeat": args.repeat, "landing": str(args.landing), "python_startup_s": startup,
            "dag_parse_s": parse, "dag_parse_ratio": parse / startup, "duckdb_read_s": read,
            "validation_s": validate, "validation_ratio": validate / read}, indent=2) + "\n",
            encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
