"""The two Assets of the data product.

- `carbon_landing`: a statistical release in the landing folder. Its watcher (a trigger run by
  the triggerer, see `triggers.LandingChangeTrigger`) emits an event when the folder's content
  changes; the assessment DAG runs on it, as well as yearly.
- `carbon_warehouse`: the assessment tables in the warehouse. The assessment DAG's `publish`
  task emits an event with the run id, vintage and row counts in its extra; the export DAG
  consumes it.
"""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import Asset, AssetWatcher

from carbon_assess import settings
from carbon_assess.orchestration.triggers import LandingChangeTrigger

LANDING_ASSET_NAME = "carbon_landing"
WAREHOUSE_ASSET_NAME = "carbon_warehouse"

WAREHOUSE_ASSET = Asset(name=WAREHOUSE_ASSET_NAME, uri=f"carbon://{WAREHOUSE_ASSET_NAME}",
                        group="carbon")


def landing_asset(project_root: Path) -> Asset:
    """The landing folder as an Asset, watched by the triggerer. The folder and the poll
    interval are read when the DAG is parsed (environment `CARBON_LANDING_DIR`,
    `CARBON_LANDING_POLL_SECONDS`; Airflow Variables are not read at parse time)."""
    landing = settings.resolve("landing_dir", None, project_root, variable=lambda name: None)
    trigger = LandingChangeTrigger(
        landing=str(Path(str(landing)).resolve()),
        state_dir=str(settings.watch_dir(project_root)),
        poll_seconds=settings.landing_poll_seconds(),
    )
    return Asset(name=LANDING_ASSET_NAME, uri=f"carbon://{LANDING_ASSET_NAME}", group="carbon",
                 watchers=[AssetWatcher(name="carbon_landing_watcher", trigger=trigger)])
