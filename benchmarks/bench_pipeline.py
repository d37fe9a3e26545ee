"""Benchmark: time each pipeline stage on one landing folder, in one process, and report ratios.

    .venv/bin/python benchmarks/bench_pipeline.py [--landing DIR] [--repeat N] [--postgres URL]

Default landing: the real NBS provincial files in ../shared/data/nbs/provincial. Times are the
median of N repeats; ratios (stage / whole run; PostgreSQL publish / DuckDB publish) come from the
same run, so they compare like with like on whatever machine runs it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "include"))

from carbon_assess import pipeline  # noqa: E402


def _timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def run_once(landing: Path, root: Path, postgres: str | None) -> dict[str, float]:
    run_id = pipeline.new_run_id()
    workdir = root / run_id
    times = {
        "ingest": _timed(pipeline.ingest_stage, landing, workdir, run_id, "bench"),
        "validate": _timed(pipeline.validate_stage, workdir),
        "compute": _timed(pipeline.compute_stage, workdir),
        "assess": _timed(pipeline.assess_stage, workdir),
        "publish_duckdb": _timed(pipeline.publish_stage, workdir,
                                 f"duckdb://{root / 'warehouse.duckdb'}"),
    }
    if postgres:
        times["publish_postgres"] = _timed(pipeline.publish_stage, workdir, postgres)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path,
                        default=REPO.parent / "shared" / "data" / "nbs" / "provincial")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="also publish to this PostgreSQL warehouse URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carbon-bench-") as tmp:
        start = time.perf_counter()
        import great_expectations  # noqa: F401  (first-import cost is not a stage cost)

        first_import = time.perf_counter() - start
        runs = [run_once(args.landing, Path(tmp), args.postgres) for _ in range(args.repeat)]
    stages = list(runs[0])
    median = {s: statistics.median(r[s] for r in runs) for s in stages}
    total = sum(v for k, v in median.items() if k != "publish_postgres")
    print(f"landing: {args.landing}  repeats: {args.repeat}  "
          f"(GX import once: {first_import:.2f} s)")
    print(f"{'stage':<18}{'median s':>10}{'share of run':>14}")
    for stage in stages:
        share = f"{median[stage] / total:>13.1%}" if stage != "publish_postgres" else " " * 13
        print(f"{stage:<18}{median[stage]:>10.3f} {share}")
    print(f"{'whole run':<18}{total:>10.3f}")
    if "publish_postgres" in median:
        ratio = median["publish_postgres"] / median["publish_duckdb"]
        print(f"ratio publish PostgreSQL / DuckDB: {ratio:.2f}")
    print(f"ratio validate / compute+assess: "
          f"{median['validate'] / (median['compute'] + median['assess']):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
