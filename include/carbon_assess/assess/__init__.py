"""Assess: score each province against its plan target (SQL in transform/sql)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carbon_assess.transform import ASSESS_MODELS, connect, run_models


def run_assessment(workdir: Path) -> dict[str, Any]:
    with connect(workdir) as con:
        counts = run_models(con, ASSESS_MODELS)
        statuses = dict(
            con.execute(
                "select status, count(*) from fct_target_assessment group by status order by 1"
            ).fetchall()
        )
    return {"row_counts": counts, "statuses": statuses}
