"""The output gate in DuckDB (large facts): the same rules compiled to SQL over the gate relation
give the same result rows as Great Expectations on the pandas DataFrame, on the clean demo run
and on every corruption case of test_output_gate.py; a rule the engine does not know raises.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_output_gate import CASES

from carbon_assess.errors import ValidationFailed
from carbon_assess.quarantine import write_results
from carbon_assess.transform import connect
from carbon_assess.validate import output_gate
from carbon_assess.validate.output_gate import check_outputs
from carbon_assess.validate.output_suites import OUTPUT_TABLES, gate_sql, output_rules
from carbon_assess.validate.sql_engine import UnsupportedRule
from carbon_assess.validate.suites import ERROR, Rule
from carbon_assess.workdir import Run

from workdirs import clone_run, compute_demo_run

ENV = "CARBON_VALIDATION_SQL_MIN_ROWS"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compute_demo_run(tmp_path_factory.mktemp("gate_sql"), "20260301T000000Z-bbbbbb")


def _gate(workdir: Path, quarantine: Path, monkeypatch, path: str) -> tuple[str, list[dict]]:
    """Run the gate by `path` ("gx" or "sql"; the other path raises if taken): its outcome
    ("passed" / "failed") and its result rows in suite order, as handed to write_results."""
    monkeypatch.setenv(ENV, "0" if path == "sql" else "1000000000")
    other = "_gx_rows" if path == "sql" else "_sql_rows"
    written: list[dict] = []

    def wrong_path(*args, **kwargs):
        raise AssertionError(f"{other} taken")

    def record(rows, directory):
        written.extend(rows)
        return write_results(rows, directory)

    with monkeypatch.context() as m:
        m.setattr(output_gate, other, wrong_path)
        m.setattr(output_gate, "write_results", record)
        try:
            outcome = check_outputs(workdir, quarantine_root=quarantine)["status"]
        except ValidationFailed as exc:
            outcome = exc.summary["status"]
    return outcome, [r for r in written if r["source"] in OUTPUT_TABLES]


def _both(workdir: Path, tmp_path: Path, monkeypatch) -> tuple[str, list[dict]]:
    gx_outcome, gx_rows = _gate(workdir, tmp_path / "q_gx", monkeypatch, "gx")
    sql_outcome, sql_rows = _gate(workdir, tmp_path / "q_sql", monkeypatch, "sql")
    assert sql_outcome == gx_outcome
    expected = [(t, f"{r.expectation_type}: {r.description}")
                for t in OUTPUT_TABLES for r in output_rules(t)]
    assert [(r["source"], r["expectation"]) for r in gx_rows] == expected
    assert [(r["source"], r["expectation"]) for r in sql_rows] == expected
    for gx, sql in zip(gx_rows, sql_rows, strict=True):
        # every recorded field: success, unexpected_count, offenders, examples, note, ...
        assert set(sql) == set(gx) and {"offenders", "examples", "note"} <= set(gx)
        for name in gx:
            assert sql[name] == gx[name], (gx["source"], gx["expectation"], name, gx[name],
                                           sql[name])
    return gx_outcome, gx_rows


def test_clean_demo_run_passes_both_ways(demo, tmp_path, monkeypatch) -> None:
    workdir = clone_run(demo, tmp_path / "clean", "20260301T000100Z-clean")
    outcome, rows = _both(workdir, tmp_path, monkeypatch)
    assert outcome == "passed"
    assert all(r["success"] and r["unexpected_count"] == 0 and not r["offenders"] for r in rows)
    assert not (Run(workdir).validation_dir / "duckdb_tmp").exists()  # scratch removed


@pytest.mark.parametrize(("case", "sql", "table", "rule_key"),
                         [(c[0], c[1], c[2], c[6]) for c in CASES], ids=[c[0] for c in CASES])
def test_corrupted_facts_give_the_same_result_rows(demo, tmp_path, monkeypatch,
                                                   case, sql, table, rule_key) -> None:
    workdir = clone_run(demo, tmp_path / case, f"20260301T000200Z-{case}", tuple(sql))
    outcome, rows = _both(workdir, tmp_path, monkeypatch)
    assert outcome == "failed"
    rule = next(r for r in output_rules(table) if r.key == rule_key)
    failed = next(r for r in rows if r["source"] == table
                  and r["expectation"] == f"{rule.expectation_type}: {rule.description}")
    assert not failed["success"] and failed["unexpected_count"] >= 1
    assert failed["offenders"] and failed["offenders"][0]["file"].startswith(f"{table}[")
    if case == "duplicate_key":  # both rows of the key, located alike
        assert failed["unexpected_count"] == 2 and len(failed["offenders"]) == 2
        assert failed["offenders"][0] == failed["offenders"][1]


def test_engine_dtypes_are_those_of_the_dataframe(demo) -> None:
    """The compiler's column families come from `_dtypes` (one row per column): the same dtype
    names as the full DataFrame GX validates, all-blank columns included."""
    with connect(demo) as con:
        for table in OUTPUT_TABLES:
            relation = f"({gate_sql(table)}) as g"
            full = con.sql(gate_sql(table)).df()
            assert output_gate._dtypes(con, relation, list(full.columns)) == {
                c: d.type.__name__ for c, d in full.dtypes.items()}
    assert full.dtypes["status"].type.__name__ == "str"
    assert full.dtypes["coverage_note"].type.__name__ == "object_"  # blank on clean data


def test_an_unknown_expectation_raises_in_duckdb(demo, tmp_path, monkeypatch) -> None:
    workdir = clone_run(demo, tmp_path / "unknown", "20260301T000300Z-unknown")
    rule = Rule("mean", "ExpectColumnMeanToBeBetween",
                {"column": "intensity_t_per_10k_yuan", "min_value": 0}, ERROR, "a mean", cell="x")
    monkeypatch.setattr(output_gate, "output_rules", lambda table: [rule])
    monkeypatch.setenv(ENV, "0")
    with pytest.raises(UnsupportedRule, match="ExpectColumnMeanToBeBetween"):
        check_outputs(workdir, quarantine_root=tmp_path / "q")
    assert not (Run(workdir).validation_dir / "duckdb_tmp").exists()
