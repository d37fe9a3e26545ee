"""The command-line contract (DESIGN.md §9): commands, exit codes, one-line errors, and that a
rejected input leaves the warehouse and the landing files exactly as they were."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from carbon_assess.cli import main

from builders import write_economy, write_long_csv


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A demo landing folder and a warehouse published from it."""
    root = tmp_path_factory.mktemp("cli")
    landing = root / "landing"
    assert main(["demo-data", str(landing)]) == 0
    db = root / "w.duckdb"
    assert main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{db}"]) == 0
    return {"root": root, "landing": landing, "db": db}


def test_demo_data_files_are_labelled_synthetic(good) -> None:
    names = [p.name for p in good["landing"].iterdir()]
    assert names and all(n.startswith(("synthetic_", "README_SYNTHETIC")) for n in names)


def test_show_prints_the_12th_plan_table(good, capsys) -> None:
    assert main(["show", "--warehouse", f"duckdb://{good['db']}", "--plan", "12th"]) == 0
    out = capsys.readouterr().out
    for column in ("province", "target_pct", "decline_pct", "status", "grade"):
        assert column in out
    assert "Qinghai" in out and "Tibet" in out
    assert len([line for line in out.splitlines() if line.startswith("12th")]) == 31


def test_show_filters_by_province_name(good, capsys) -> None:
    assert main(["show", "--warehouse", f"duckdb://{good['db']}", "--plan", "12th",
                 "--province", "青海", "--all-years"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("12th")]
    assert len(lines) == 5 and all("630000" in ln for ln in lines)


def _bad_landing(good, tmp_path: Path, name: str, columns: list[str], rows: list[tuple],
                 raw: str | None = None) -> Path:
    landing = tmp_path / "landing"
    shutil.copytree(good["landing"], landing)
    if raw is None:
        write_long_csv(landing / name, columns, rows)
    else:
        (landing / name).write_text(raw, encoding="utf-8")
    return landing


@pytest.mark.parametrize(
    ("case", "columns", "rows", "raw", "expected"),
    [
        ("unknown_province.csv", ["煤炭消费量(万吨)"], [("Atlantis", 2010, 5)], None,
         ["unknown_province.csv", "row 2", "column '省份编码'", "unknown province", "'Atlantis'"]),
        ("unknown_unit.csv", ["煤炭消费量(桶)"], [("630000", 2010, 5)], None,
         ["unknown_unit.csv", "row 1", "煤炭消费量(桶)", "unknown unit '桶'"]),
        ("truncated.csv", [], [], "省份编码,省份,年份,煤炭消费量(万吨),焦炭消费量(万吨)\n"
         "630000,青海省,2010,1270.68,160.1\n630000,青海省,2009,1309.5",
         ["truncated.csv", "row 3", "truncated"]),
    ],
)
def test_bad_input_is_rejected_with_one_line_and_nothing_changes(
    good, tmp_path: Path, capsys, case, columns, rows, raw, expected
) -> None:
    landing = _bad_landing(good, tmp_path, case, columns, rows, raw)
    before_landing = _tree_hashes(landing)
    before_db = _sha(good["db"])
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{good['db']}"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in expected:
        assert fragment in lines[0]
    assert _sha(good["db"]) == before_db
    assert _tree_hashes(landing) == before_landing


def test_validation_failure_exits_2_and_names_the_report(good, tmp_path: Path, capsys) -> None:
    landing = tmp_path / "landing"
    write_long_csv(landing / "energy.csv", ["煤炭消费量(万吨)"], [("630000", 2010, -5)])
    write_economy(landing, gdp={"630000": {2010: 100}}, index={"630000": {2010: 107}})
    before = _sha(good["db"])
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{good['db']}"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "report" in err and "energy.csv" in err
    assert _sha(good["db"]) == before


def test_validate_command_publishes_nothing(good, tmp_path: Path, capsys) -> None:
    assert main(["validate", "--landing", str(good["landing"])]) == 0
    assert "validation: passed" in capsys.readouterr().out


def test_other_failures_exit_1(tmp_path: Path, capsys) -> None:
    code = main(["show", "--warehouse", f"duckdb://{tmp_path / 'missing.duckdb'}"])
    assert code == 1
    assert capsys.readouterr().err.startswith("error: warehouse")
    assert main(["run", "--landing", str(tmp_path), "--warehouse", "mysql://x"]) == 1


def test_debug_shows_the_traceback_only_when_asked(tmp_path: Path, capsys) -> None:
    missing = f"duckdb://{tmp_path / 'missing.duckdb'}"
    assert main(["show", "--warehouse", missing]) == 1
    assert "Traceback" not in capsys.readouterr().err
    from carbon_assess.errors import WarehouseError

    with pytest.raises(WarehouseError):
        main(["show", "--warehouse", missing, "--debug"])
    with pytest.raises(WarehouseError):
        main(["--debug", "show", "--warehouse", missing])
