"""
### Export of the analyst views (runs when the assessment publishes)

Scheduled on the Asset `carbon_warehouse`, which the assessment DAG's `publish` task emits with
the run id, vintage, method and row counts in its extra. Writes every analyst view of schema
`carbon` (`v_latest_assessment`, `v_behind_schedule`, ...) as Parquet and as CSV (UTF-8, with a
header) to `$CARBON_ASSESS_HOME/exports/<run_id>/` for BI tools; the folder appears complete or
not at all.

The warehouse is the one the release was published to: the Airflow connection named in the
event when there is one, else the DuckDB file named in it, else the same settings as the
assessment DAG (Variable, environment, default).
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import dag, get_current_context, task

REPO_ROOT = Path(__file__).resolve().parent.parent

if importlib.util.find_spec("carbon_assess") is None:
    sys.path.insert(0, str(REPO_ROOT / "include"))

from carbon_assess import settings  # noqa: E402  (light)
from carbon_assess.orchestration.assets import WAREHOUSE_ASSET  # noqa: E402  (light)


@dag(
    dag_id=settings.EXPORT_DAG_ID,
    schedule=[WAREHOUSE_ASSET],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "data-engineering", "retries": 1,
                  "retry_delay": timedelta(minutes=2),
                  "execution_timeout": timedelta(minutes=30)},
    doc_md=__doc__,
    tags=["carbon", "export"],
)
def carbon_export():
    @task
    def export_views() -> dict[str, Any]:
        """Write the analyst views of the published release as Parquet and CSV."""
        from carbon_assess.report.export import export_views as export

        events = [e for batch in get_current_context()["triggering_asset_events"].values()
                  for e in batch]
        extra = dict(events[-1].extra) if events else {}
        run_id = str(extra.get("run_id") or "latest")
        if extra.get("warehouse_conn_id"):
            url = settings.warehouse_url_from_airflow_connection(extra["warehouse_conn_id"])
        elif str(extra.get("warehouse", "")).startswith("duckdb:"):
            url = extra["warehouse"]
        else:
            url = settings.warehouse_url(None, REPO_ROOT)
        dest = settings.exports_dir(REPO_ROOT) / run_id
        print(f"exporting release {run_id} from {settings.display_url(url)} to {dest}")
        result = export(url, dest)
        for view, files in result.items():
            print(f"{view}: {files}")
        return {"run_id": run_id, "dest": str(dest),
                "rows": {view: files.get("rows") for view, files in result.items()}}

    export_views()


carbon_export()
