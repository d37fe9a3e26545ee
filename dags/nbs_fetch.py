"""
### Fetch the provincial statistics from the NBS data portal (monthly)

Fetches every indicator the assessment reads (GDP, GDP index, population, energy consumption and
production by fuel, electricity included) for all provinces from the NBS data portal
(`<base_url>/easyquery.htm`, 分省年度数据), finding each by name in the portal's indicator tree,
and writes them into the **landing folder** in the NBS long layout.

**Every fetch is a snapshot** under `$CARBON_ASSESS_HOME/snapshots/<id>/` (raw answers, request
parameters, time, URL, SHA-256; never changed). A release whose content changed replaces the
files atomically; the landing watcher of the Asset `carbon_landing` then triggers the DAG
`carbon_intensity_assessment`, which takes the snapshot id (`nbs-YYYY-MM-DD-xxxxxxxx`) as the
run's vintage. The same content again writes nothing: no new assessment.

**Refused, never guessed**: an answer that is not the expected JSON (a firewall's page, a
changed shape, returncode != 200), an indicator not found by name (the error names the nearest
names) and a unit that differs from the previous snapshot fail the task with one line, leave the
landing folder as it was and alert like the assessment's tasks. Timeouts and 5xx are retried
with backoff inside the task; the task itself is retried once, an hour later.

**When it runs.** Monthly (1st, 06:00 UTC) unless `CARBON_NBS_FETCH_SCHEDULE` (a cron
expression, or `none`: on demand only) says otherwise when the DAG is parsed; never catches up.

**Configuration** (trigger form / run conf; empty falls back as in `carbon_assess.settings`):
`landing_dir` (Variable `carbon_landing_dir`, env `CARBON_LANDING_DIR`), `base_url` (Variable
`carbon_nbs_base_url`, env `CARBON_NBS_BASE_URL`, else https://data.stats.gov.cn), `years`
(A-B, default 2000 to this year), `indicators` (comma-separated keys, default all).

This file only wires the task: the fetch is `carbon_assess.fetch.nbs.fetch_release`.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

REPO_ROOT = Path(__file__).resolve().parent.parent

if importlib.util.find_spec("carbon_assess") is None:
    sys.path.insert(0, str(REPO_ROOT / "include"))

from carbon_assess import settings  # noqa: E402  (light)
from carbon_assess.orchestration.alerts import FailureAlert  # noqa: E402  (light)

_SCHEDULE = settings.nbs_fetch_schedule()


def _text(title: str, description: str) -> Param:
    return Param(None, type=["null", "string"], title=title, description=description)


@dag(
    dag_id=settings.FETCH_DAG_ID,
    schedule=CronTriggerTimetable(_SCHEDULE, timezone="UTC") if _SCHEDULE else None,
    catchup=False,
    max_active_runs=1,  # one writer of the landing folder and the snapshots
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(hours=1),
        "execution_timeout": timedelta(hours=1),
        "on_failure_callback": [FailureAlert(str(REPO_ROOT))],
    },
    params={
        "landing_dir": _text("Landing folder", settings.SETTINGS["landing_dir"].describe()),
        "base_url": _text("NBS portal site root", settings.SETTINGS["nbs_base_url"].describe()),
        "years": _text("Years", "A-B, e.g. 2000-2019. Empty: 2000 to the current year."),
        "indicators": _text("Indicators", "Comma-separated keys (gdp, gdp_index, population, "
                            "consumption_coal, ...). Empty: every indicator the assessment "
                            "reads."),
    },
    doc_md=__doc__,
    tags=["carbon", "fetch"],
)
def nbs_fetch():
    @task
    def fetch() -> dict[str, Any]:
        """Fetch the release, keep the snapshot, write the landing files if they changed."""
        from carbon_assess.fetch.nbs import fetch_release

        params = get_current_context()["params"]
        landing = str(settings.resolve("landing_dir", params, REPO_ROOT))
        base_url = str(params.get("base_url") or settings.resolve("nbs_base_url", None,
                                                                   REPO_ROOT))
        result = fetch_release(landing, base_url=base_url, years=params.get("years"),
                               indicators=params.get("indicators"),
                               home=settings.home(REPO_ROOT))
        print(f"snapshot {result['snapshot_id']} ({result['requests']} requests) in "
              f"{result['snapshot']}")
        if result["changed"]:
            print(f"new content written to {landing}: {', '.join(result['files'])}; vintage "
                  f"{result['vintage']}; the landing watcher triggers the assessment")
        else:
            print(f"unchanged: same content as snapshot {result['vintage']}; nothing written")
        return {k: result[k] for k in ("snapshot_id", "vintage", "changed", "files")}

    fetch()


nbs_fetch()
