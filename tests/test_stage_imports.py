"""Each Airflow task is a fresh process that pays for every library its stage imports (GX alone
costs seconds). So a stage loads only what it needs: each stage of the library runs here in a
fresh interpreter, in pipeline order on the demo release, and reports which heavy modules it
loaded. Structural only: the time it costs is measured by benchmarks/bench_airflow.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
HEAVY = ["great_expectations", "pandas", "pyarrow", "duckdb", "numpy"]

# Runs one stage as an Airflow task does (import carbon_assess.pipeline, call the stage) and
# prints the heavy modules the process then holds.
CHILD = r"""
import json, sys
from carbon_assess import pipeline
stage, landing, home, url = sys.argv[1:5]
loaded_by_import = [m for m in HEAVY if m in sys.modules]
from carbon_assess.workdir import Run
if stage == "check_landing":
    pipeline.check_landing(landing, url, vintage="test")
elif stage == "ingest":
    pipeline.ingest_stage(landing, Run.in_home("r1", home).path, "r1", vintage="test")
else:
    pipeline.run_stage(stage, "r1", url, home)
print(json.dumps({"import": loaded_by_import, "stage": [m for m in HEAVY if m in sys.modules]}))
"""

# What each stage may not load. GX is for validate only (its Data Docs); every other stage is
# DuckDB over files, without pandas (which pyarrow imports as soon as it converts a Python value
# or opens a dataset: ingest builds its Arrow arrays with ingest.arrow_values; keep such calls
# out of these stages).
FORBIDDEN = {
    "check_landing": ["great_expectations", "pandas"],
    "ingest": ["great_expectations", "pandas"],
    "validate": [],
    "compute": ["great_expectations", "pandas"],
    "assess": ["great_expectations", "pandas"],
    "check_outputs": ["great_expectations", "pandas"],
    "publish": ["great_expectations", "pandas"],
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[str]]]:
    """{stage: {"import": heavy modules after importing the pipeline, "stage": after the stage}}
    for every stage, each run in its own interpreter, in order, on one run of the demo data."""
    from carbon_assess.demo import write_demo_landing

    root = tmp_path_factory.mktemp("stage-imports")
    landing, home = root / "landing", root / "home"
    write_demo_landing(landing)
    url = f"duckdb:///{root / 'warehouse.duckdb'}"
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "False", "CARBON_ASSESS_HOME": str(home),
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "include"),
                                          os.environ.get("PYTHONPATH", "")])}
    found = {}
    for stage in FORBIDDEN:
        proc = subprocess.run(
            [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{CHILD}", stage, str(landing),
             str(home), url], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, f"stage {stage} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
        found[stage] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_pipeline_loads_no_heavy_library(loaded) -> None:
    for stage, modules in loaded.items():
        assert modules["import"] == [], f"{stage}: import carbon_assess.pipeline loaded " \
                                        f"{modules['import']}"


@pytest.mark.parametrize("stage", list(FORBIDDEN))
def test_a_stage_loads_only_the_libraries_it_needs(loaded, stage: str) -> None:
    unwanted = [m for m in FORBIDDEN[stage] if m in loaded[stage]["stage"]]
    assert not unwanted, f"stage {stage} loaded {unwanted} (all loaded: {loaded[stage]['stage']})"


def test_validate_is_the_stage_that_loads_gx(loaded) -> None:
    """The check above would pass vacuously if the probe could not see GX at all."""
    assert "great_expectations" in loaded["validate"]["stage"]
