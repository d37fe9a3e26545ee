"""The run's work directory: one type owns its layout and `run.json` (like OWID etl's PathFinder).

Every stage reads and writes a run's files through a `Run`; nothing else builds these paths:

    <home>/runs/<run_id>/run.json              RunInfo: run id, vintage, method, landing, start
    <home>/runs/<run_id>/raw/<kind>.parquet    typed raw observations with lineage (ingest)
    <home>/runs/<run_id>/sheets/<kind>.parquet assessment sheets (ingest)
    <home>/runs/<run_id>/ingest_report.json    inputs, skipped files/columns, warnings (ingest)
    <home>/runs/<run_id>/validation/           GX results, report, Data Docs (validate)
    <home>/runs/<run_id>/compute.duckdb        stg_/int_/fct_ tables (compute + assess)
    <home>/quarantine/<run_id>/                a rejected batch, same layout, plus report.md

`<home>` is `$CARBON_ASSESS_HOME`, else `./var`. Under Airflow every task of a run may run on a
different worker: tasks pass only the run id, and each finds the run's files under its own
`$CARBON_ASSESS_HOME`, which must therefore be storage shared by all workers (`Run.require`
says so when a worker cannot see the run).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError

HOME_ENV = "CARBON_ASSESS_HOME"


def assess_home(default: Path | str = "var") -> Path:
    """`$CARBON_ASSESS_HOME`, else `default` (the CLI's `./var`; the DAG passes `<repo>/var`)."""
    return Path(os.environ.get(HOME_ENV) or default).resolve()


def runs_root(default_home: Path | str = "var") -> Path:
    return assess_home(default_home) / "runs"


# What a run id may hold: it names folders and SQL rows (new_run_id() gives e.g.
# 20260101T000000Z-a1b2c3; an Airflow run id is made to fit by `safe_run_id`).
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]+")


def safe_run_id(text: str) -> str:
    """`text` (e.g. an Airflow run id, with ':' and '+') as a run id: every run of other
    characters becomes '_', leading and trailing '._-' are dropped."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")


def new_run_id() -> str:
    """A sortable, unique run id (UTC timestamp + random suffix)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@dataclass(frozen=True)
class RunInfo:
    """What `run.json` records about a run (its parameters and where its input came from)."""

    run_id: str
    vintage: str
    method: str
    electricity_trade: bool
    landing: str
    started_at: str  # ISO 8601, UTC
    landing_digest: str = ""  # the landing folder's content hash (see ingest.landing_digest)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        return cls(
            run_id=str(data["run_id"]),
            vintage=str(data.get("vintage") or "unlabelled"),
            method=str(data.get("method") or "reference"),
            electricity_trade=bool(data.get("electricity_trade", False)),
            landing=str(data.get("landing") or ""),
            started_at=str(data.get("started_at") or ""),
            landing_digest=str(data.get("landing_digest") or ""),
        )


@dataclass(frozen=True)
class Run:
    """A run's work directory: the paths of its files and its `run.json`."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path).resolve())

    @classmethod
    def of(cls, run: Run | str | Path) -> Run:
        """Accept a Run or a work-directory path (stages are called with either)."""
        return run if isinstance(run, Run) else cls(Path(run))

    @classmethod
    def in_home(cls, run_id: str, default_home: Path | str = "var") -> Run:
        """The work directory of `run_id` under the assessment home."""
        return cls(runs_root(default_home) / run_id)

    @classmethod
    def require(cls, run_id: str, default_home: Path | str = "var") -> Run:
        """The started run `run_id` under the assessment home, or an error naming the setting
        that places it: a task on another worker cannot see a work area that is not shared."""
        run = cls.in_home(run_id, default_home)
        if not run.exists():
            home = os.environ.get(HOME_ENV) or f"(unset, so {assess_home(default_home)})"
            raise CarbonAssessError(
                f"run {run_id}: work directory {run.path} not found on this worker; "
                f"{HOME_ENV}={home} must name storage shared by every worker (the run was "
                "started by its ingest task, possibly on another worker)"
            )
        return run

    # --- layout -------------------------------------------------------------------------------
    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def raw_dir(self) -> Path:
        return self.path / "raw"

    def raw(self, kind: str) -> Path:
        return self.raw_dir / f"{kind}.parquet"

    @property
    def sheets_dir(self) -> Path:
        return self.path / "sheets"

    def sheet(self, kind: str) -> Path:
        return self.sheets_dir / f"{kind}.parquet"

    @property
    def ingest_report(self) -> Path:
        return self.path / "ingest_report.json"

    @property
    def validation_dir(self) -> Path:
        return self.path / "validation"

    @property
    def validation_results(self) -> Path:
        return self.validation_dir / "results.parquet"

    @property
    def flagged_cells(self) -> Path:
        """Every raw cell a warning flags (the evidence that makes a verdict provisional)."""
        return self.validation_dir / "flagged_cells.parquet"

    @property
    def level_flagged(self) -> Path:
        """The raw rows input validation found off their level (raw_level_flagged.sql), for the
        post-compute check, which leaves their province-years out of the ratios too."""
        return self.validation_dir / "level_flagged.parquet"

    @property
    def data_docs_dir(self) -> Path:
        return self.validation_dir / "data_docs"

    @property
    def spill_dir(self) -> Path:
        """Where DuckDB spills what exceeds its memory limit (settings.duckdb_connect)."""
        return self.path / "duckdb_tmp"

    @property
    def compute_db(self) -> Path:
        return self.path / "compute.duckdb"

    def quarantine(self, run_id: str, root: Path | None = None) -> Path:
        """Where this batch goes when rejected: `<root>/<run_id>`; the root is the explicit one,
        else `$CARBON_ASSESS_HOME/quarantine`, else `quarantine/` beside the `runs/` folder
        holding this work directory, else `./var/quarantine`."""
        if root is not None:
            base = Path(root).resolve()
        elif os.environ.get(HOME_ENV):
            base = assess_home() / "quarantine"
        elif self.path.parent.name == "runs":
            base = self.path.parent.parent / "quarantine"
        else:
            base = Path("var", "quarantine").resolve()
        return base / run_id

    # --- run.json -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.run_json.exists()

    def start(self, info: RunInfo) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.run_json.write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")

    @property
    def info(self) -> RunInfo:
        return RunInfo.from_json(json.loads(self.run_json.read_text(encoding="utf-8")))

    def info_or_none(self) -> RunInfo | None:
        return self.info if self.exists() else None

    @property
    def run_id(self) -> str:
        """The run id recorded in run.json, else the directory name."""
        info = self.info_or_none()
        return info.run_id if info else self.path.name

    def read_ingest_report(self) -> dict[str, Any]:
        if not self.ingest_report.exists():
            return {}
        return json.loads(self.ingest_report.read_text(encoding="utf-8"))

    def write_ingest_report(self, report: dict[str, Any]) -> None:
        self.ingest_report.write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
