"""The output gate: GX suites on the computed facts, after assess and before publish.

Clean runs (demo data, the real NBS files) pass; a compute.duckdb corrupted after assess (a NaN or
infinite figure, a decline beyond -100 %, a duplicated key, a flipped status, a missing
province-year, a vetoed row with a good grade, a number on an insufficient-data row) is stopped
like a failing input: ValidationFailed (exit code 2) with one line naming table, key, column,
value and rule, a quarantine report, the results recorded, nothing published.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from carbon_assess import pipeline
from carbon_assess.cli import main
from carbon_assess.errors import EXIT_REJECTED, ValidationFailed
from carbon_assess.publish import publish, table_checksums
from carbon_assess.transform import connect
from carbon_assess.validate.output_gate import check_outputs
from carbon_assess.validate.output_suites import (
    OUTPUT_TABLES,
    STATUSES,
    gate_sql,
    grades,
    output_rules,
)
from carbon_assess.workdir import Run

from workdirs import clone_run, compute_demo_run

KEY = "plan_id='12th' and region_code='630000'"  # Qinghai, 12th FYP (met on the demo data)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A computed (not published) demo run that has been through the gate once."""
    root = tmp_path_factory.mktemp("gate")
    workdir = compute_demo_run(root, "20260301T000000Z-aaaaaa")
    check_outputs(workdir, quarantine_root=root / "quarantine")
    return workdir


def _results(workdir: Path) -> list[dict]:
    return pq.read_table(Run(workdir).validation_results).to_pylist()


def _one_key(workdir: Path, where: str) -> tuple[str, str, int]:
    """The first (plan, province, year) of fct_target_assessment matching `where`."""
    with duckdb.connect(str(Run(workdir).compute_db), read_only=True) as con:
        row = con.execute(
            "select plan_id, region_code, assessment_year from fct_target_assessment "
            f"where {where} order by all limit 1").fetchone()
    assert row, where
    return row


# --- the suites -------------------------------------------------------------------------------


def test_every_rule_is_an_error_with_a_cell_and_a_unique_key() -> None:
    for table in OUTPUT_TABLES:
        rules = output_rules(table)
        assert len({r.key for r in rules}) == len(rules)
        # invariants of the models block; a decline out of range only where it decides no
        # verdict (no target for the unit in the plan) is a warning (issue 18 step 3)
        warnings = {r.key for r in rules if r.severity == "warning"}
        assert warnings == {"annual_decline_pct_range_no_verdict",
                            "cumulative_decline_pct_range_no_verdict"}
        assert {r.severity for r in rules if r.key not in warnings} == {"error"}
        assert all(r.column for r in rules)  # the report names a column for every finding
    assert "fail" in grades() and "provisional" in grades()
    assert {"met", "missed", "insufficient data"} <= set(STATUSES)


def test_derived_check_columns_are_never_blank(demo) -> None:
    """GX skips blanks: every derived True/False column must be a plain boolean on every row,
    else a rule could pass silently."""
    with connect(demo) as con:
        for table in OUTPUT_TABLES:
            df = con.sql(gate_sql(table)).df()
            for rule in output_rules(table):
                if rule.kwargs.get("value_set") == [True]:
                    column = df[rule.kwargs["column"]]
                    assert column.dtype == bool, (table, rule.key, column.dtype)
                    assert column.all(), (table, rule.key)  # and true on clean data
                for name in ("column", "column_A", "column_B"):
                    if name in rule.kwargs:
                        assert rule.kwargs[name] in df.columns, (table, rule.key)


# --- clean data passes --------------------------------------------------------------------------


def test_demo_run_passes_and_its_results_join_the_input_results(demo, tmp_path) -> None:
    rows = _results(demo)
    sources = {r["source"] for r in rows}
    assert set(OUTPUT_TABLES) <= sources and "energy_consumption" in sources  # appended
    gate = [r for r in rows if r["source"] in OUTPUT_TABLES]
    # sync check: one result per rule of the code's own list (tests/test_suite_rules.py names
    # the rules the gate must have)
    assert len(gate) == sum(len(output_rules(t)) for t in OUTPUT_TABLES)
    assert all(r["success"] for r in gate)

    again = check_outputs(demo, quarantine_root=tmp_path)  # a re-run replaces its own rows
    # passed but for the post-compute warnings on the demo's documented blank cells
    assert again["status"] == "passed_with_warnings" and again["errors"] == 0
    assert all(w.startswith("energy_consumption (after compute)")
               for w in again["warnings_summary"])
    assert again["tables"] == list(OUTPUT_TABLES) and again["expectations"] == len(gate)
    assert len(_results(demo)) == len(rows)


def test_sync_published_run_carries_one_gate_result_per_rule(demo, tmp_path) -> None:
    """Sync check: the published meta_validation_result holds one row per output-gate rule of
    the code's list (the count comes from the code: it fails when results are lost on the way
    to the warehouse, not when a rule is missing; tests/test_suite_rules.py names the rules)."""
    db = tmp_path / "w.duckdb"
    publish(demo, f"duckdb://{db}")
    with duckdb.connect(str(db), read_only=True) as con:
        recorded = dict(con.execute(
            "select source, count(*) from carbon.meta_validation_result "
            "where source in ('fct_intensity', 'fct_target_assessment') group by 1").fetchall())
    assert recorded == {t: len(output_rules(t)) for t in OUTPUT_TABLES}


def test_real_nbs_run_passes_the_gate(shared_nbs: Path, tmp_path) -> None:
    workdir = tmp_path / "nbs"
    pipeline.ingest_stage(shared_nbs / "provincial", workdir, "20260301T000100Z-nbsnbs",
                          vintage="nbs-portal-2021")
    pipeline.validate_stage(workdir)
    pipeline.compute_stage(workdir)
    pipeline.assess_stage(workdir)
    summary = pipeline.check_outputs_stage(workdir)
    assert summary["errors"] == 0, summary
    # its only warnings are the post-compute check's: the real blank cells (gap, assumed zero,
    # Tibet, 2018-2019) as the models treated them; every gate rule holds
    assert summary["warnings_summary"] and all(
        line.startswith("energy_consumption (after compute): ")
        for line in summary["warnings_summary"]), summary["warnings_summary"]


# --- corrupted facts are stopped ----------------------------------------------------------------

# (case, SQL on a copy of compute.duckdb after assess, table, key (None: looked up by `where`),
#  column, value as printed, rule key, a fragment of the explanation). Each rule reasoned by hand:
CASES = [
    # NaN passes `>=` in DuckDB (NaN is the largest double): a NaN decline was published 'met'
    # with full points (issue 10). `isfinite` in SQL flags it; the first failing rule of the
    # assessment suite is the finiteness one.
    ("nan_decline",
     [f"update fct_target_assessment set cumulative_decline_pct = 'NaN'::double "
      f"where {KEY} and assessment_year = 2015"],
     "fct_target_assessment", ("12th", "630000", 2015), "cumulative_decline_pct", "NaN",
     "cumulative_decline_pct_finite", None),
    # GDP 0 in the base year: intensity = CO2 / 0 = inf in DuckDB.
    ("infinite_intensity",
     [f"update fct_intensity set intensity_t_per_10k_yuan = 'Infinity'::double "
      f"where {KEY} and year = 2010"],
     "fct_intensity", ("12th", "630000", 2010), "intensity_t_per_10k_yuan", "inf",
     "intensity_t_per_10k_yuan_finite", None),
    # Coal 0 in 2010 gave -245 % (issue 10): below -100 % the intensity more than doubled. The
    # ratio rule fails too (the figure is not 1 − I(t)/I(B)), after the range rule.
    ("decline_out_of_bounds",
     [f"update fct_intensity set cumulative_decline_pct = -245 where {KEY} and year = 2015"],
     "fct_intensity", ("12th", "630000", 2015), "cumulative_decline_pct", "-245",
     "cumulative_decline_pct_range", None),
    # A key twice: pandas `duplicated` flags both rows.
    ("duplicate_key",
     [f"insert into fct_target_assessment select * from fct_target_assessment "
      f"where {KEY} and assessment_year = 2013"],
     "fct_target_assessment", ("12th", "630000", 2013),
     "plan_id, region_code, assessment_year", "12th / 630000 / 2013", "key_unique", None),
    # A 'missed' row (end year, decline below target) claimed as met: the re-derived status is
    # 'missed' (reaches(decline, target) is false).
    ("missed_flipped_to_met",
     ["update fct_target_assessment set status = 'met' where (plan_id, region_code, "
      "assessment_year) = (select (plan_id, region_code, assessment_year) "
      "from fct_target_assessment where status = 'missed' order by all limit 1)"],
     "fct_target_assessment", "status = 'missed'", "status", "met", "status_follows_decline",
     "expected 'missed'"),
    # A province-year deleted: the grid dim_plan × dim_province × years of data still has it, so
    # the batch holds a blank row for it whose status is blank.
    ("missing_province_year",
     ["delete from fct_target_assessment where plan_id = '13th' and region_code = '110000' "
      "and assessment_year = 2017"],
     "fct_target_assessment", ("13th", "110000", 2017), "status", None, "complete",
     "no row in fct_target_assessment"),
    # DESIGN §7: a veto makes the grade fail whatever the score. Veto itself still follows the
    # declines (veto_follows_declines passes); the first failing rule is veto_grade_fail.
    ("vetoed_but_good",
     ["update fct_target_assessment set grade = 'good' where (plan_id, region_code, "
      "assessment_year) = (select (plan_id, region_code, assessment_year) "
      "from fct_target_assessment where veto order by all limit 1)"],
     "fct_target_assessment", "veto", "grade", "good", "veto_grade_fail", None),
    # DESIGN §7: missing data gives insufficient data, never a number.
    ("number_without_data",
     ["update fct_target_assessment set total_score = 50 where (plan_id, region_code, "
      "assessment_year) = (select (plan_id, region_code, assessment_year) "
      "from fct_target_assessment where status = 'insufficient data' and plan_id = '12th' "
      "order by all limit 1)"],
     "fct_target_assessment", "status = 'insufficient data' and plan_id = '12th'", "status",
     "insufficient data", "insufficient_data_has_no_figures", None),
    # Issue 12: the margin has the status's sign (met / on schedule ≥ −1e-9 pp, missed / behind
    # < 0): a met row whose margin says short fails margin_follows_status, and only it.
    ("margin_against_the_status",
     ["update fct_target_assessment set margin_pp = -abs(margin_pp) - 1 where (plan_id, "
      "region_code, assessment_year) = (select (plan_id, region_code, assessment_year) "
      "from fct_target_assessment where status = 'met' order by all limit 1)"],
     "fct_target_assessment", "status = 'met'", "margin_pp", None, "margin_follows_status",
     "status 'met', margin -"),
    # A NaN margin (NaN >= -1e-9 holds in DuckDB, so the sign rule alone would let it through).
    ("nan_margin",
     ["update fct_target_assessment set margin_pp = 'NaN'::double where (plan_id, "
      "region_code, assessment_year) = (select (plan_id, region_code, assessment_year) "
      "from fct_target_assessment where status = 'met' order by all limit 1)"],
     "fct_target_assessment", "status = 'met'", "margin_pp", "NaN", "margin_pp_finite", None),
    # Every grade explains itself.
    ("reason_blank",
     [f"update fct_target_assessment set reason = null where {KEY} and assessment_year = 2015"],
     "fct_target_assessment", ("12th", "630000", 2015), "reason", None, "reason_present", None),
]


@pytest.mark.parametrize(
    ("case", "sql", "table", "key", "column", "value", "rule_key", "detail"),
    CASES, ids=[c[0] for c in CASES])
def test_corrupted_facts_fail_the_gate_like_a_failing_input(
    demo, tmp_path, case, sql, table, key, column, value, rule_key, detail
) -> None:
    if isinstance(key, str):
        key = _one_key(demo, key)
    run_id = f"20260301T000200Z-{case}"
    workdir = clone_run(demo, tmp_path / case, run_id, tuple(sql))
    quarantine = tmp_path / "quarantine"

    with pytest.raises(ValidationFailed) as caught:
        check_outputs(workdir, quarantine_root=quarantine)

    exc = caught.value
    message = str(exc)
    rule = next(r for r in output_rules(table) if r.key == rule_key)
    names = OUTPUT_TABLES[table]
    location = f"{table}[" + ", ".join(f"{n}={v}" for n, v in zip(names, key, strict=True)) + "]"
    assert exc.exit_code == EXIT_REJECTED == 2
    assert "\n" not in message and message.startswith("output gate failed: ")
    assert f"(e.g. {location} column '{column}'" in message, message
    if value is not None:
        assert f"value '{value}'" in message, message
    assert f": {rule.description}); report: " in message, message
    if detail:
        assert detail in message, message
    # the quarantine report, like a failing input's
    report = Path(exc.report_path)
    assert report == quarantine / run_id / "report.md" and report.exists()
    text = report.read_text(encoding="utf-8")
    assert location in text and rule.description in text
    assert json.loads((quarantine / run_id / "report.json").read_text())["status"] == "failed"
    assert exc.summary["status"] == "failed" and exc.summary["errors"] >= 1
    # the result rows record the failure next to the input results
    failed = [r for r in _results(workdir) if not r["success"] and r["source"] == table]
    assert rule.description in {r["expectation"].split(": ", 1)[1] for r in failed}


def test_failing_gate_publishes_nothing(demo, tmp_path, monkeypatch, capsys) -> None:
    """Through the CLI: the facts are corrupted right after assess; the run exits 2 with one
    line, the warehouse keeps its release, and the refused run joins the run log."""
    db = tmp_path / "w.duckdb"
    url = f"duckdb://{db}"
    publish(demo, url)
    before = table_checksums(url)
    with duckdb.connect(str(db), read_only=True) as con:
        runs_before = con.execute("select count(*) from carbon.meta_pipeline_run").fetchone()

    assess = pipeline.assess_stage

    def assess_then_corrupt(workdir):
        result = assess(workdir)
        with duckdb.connect(str(Run.of(workdir).compute_db)) as con:
            # met on the demo data (12.7 % against a 10 % target): claimed as missed
            con.execute("update fct_target_assessment set status = 'missed' "
                        f"where {KEY} and assessment_year = 2015")
        return result

    monkeypatch.setattr(pipeline, "assess_stage", assess_then_corrupt)
    landing = demo.parent / "landing"  # written by compute_demo_run
    code = main(["run", "--landing", str(landing), "--warehouse", url,
                 "--workdir", str(tmp_path / "work")])
    err = capsys.readouterr().err.strip()

    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: output gate failed: "), err
    assert ("fct_target_assessment[plan_id=12th, region_code=630000, assessment_year=2015] "
            "column 'status' value 'missed'") in err
    assert "report: " in err and "Traceback" not in err
    assert table_checksums(url) == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from carbon.meta_pipeline_run").fetchone() \
            == (runs_before[0] + 1,)
        last = con.execute("select status, failed_stage from carbon.meta_pipeline_run "
                           "order by finished_at desc limit 1").fetchone()
    assert last == ("rejected", "check_outputs")  # on record, the release as it was
