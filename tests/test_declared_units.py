"""Declared units (issue 18, step 5): a units sheet whose parents go round in a circle, a unit
that is its own parent, and a code that is neither GB/T 2260 nor of the one declared pattern are
refused at ingest, naming the file, row and column (and the cycle's codes); the CLI prints it
as one `error:` line with exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from carbon_assess.cli import main
from carbon_assess.errors import InputError
from carbon_assess.ingest import ingest_landing
from carbon_assess.workdir import HOME_ENV

PATTERN = ("a declared unit's code starts with a letter, then letters, digits, '-' or '_' "
           "(at most 32 characters), e.g. Z3605020001: 'Z', the county's GB/T 2260 code and a "
           "number")


def _landing(tmp_path: Path, shared_nbs: Path, units: str) -> Path:
    """A real NBS file (the GDP index) and a units sheet; 630104 is 城西区 of 西宁市 (Qinghai)."""
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(shared_nbs / "provincial" / "prov_gdp_index_prev_year_100.csv", landing)
    (landing / "units.csv").write_text(units, encoding="utf-8")
    return landing


def _refusal(tmp_path: Path, shared_nbs: Path, units: str) -> InputError:
    with pytest.raises(InputError) as info:
        ingest_landing(_landing(tmp_path, shared_nbs, units), tmp_path / "work", "run-1", "v1")
    return info.value


def test_two_parks_that_are_each_others_parent_are_refused(
        tmp_path: Path, shared_nbs: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    landing = _landing(tmp_path, shared_nbs, "code,name,level,parent\n"
                       "Z6301040001,甲园区,park,Z6301040002\n"
                       "Z6301040002,乙园区,park,Z6301040001\n")
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["validate", "--landing", str(landing)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        "error: units.csv, row 2, column 'parent': parent cycle Z6301040001 → Z6301040002 → "
        "Z6301040001: a unit cannot be below itself; give one of them a GB/T 2260 parent "
        "(value 'Z6301040002')")


def test_a_longer_cycle_is_named_once_with_every_code(tmp_path: Path, shared_nbs: Path) -> None:
    """Z1 hangs under 城西区 (fine); Z2 → Z3 → Z4 → Z2 never reaches GB/T 2260."""
    error = _refusal(tmp_path, shared_nbs, "code,name,level,parent\nZ1,甲,park,630104\n"
                     "Z2,乙,park,Z3\nZ3,丙,development_zone,Z4\nZ4,丁,park,Z2\n")
    assert error.all_errors == [error]
    assert (error.file, error.row, error.column, error.value) == ("units.csv", 3, "parent", "Z3")
    assert "parent cycle Z2 → Z3 → Z4 → Z2" in error.rule


def test_a_unit_that_is_its_own_parent_is_refused(tmp_path: Path, shared_nbs: Path) -> None:
    error = _refusal(tmp_path, shared_nbs, "编码,名称,级别,上级编码\nZ1,甲,park,630104\n"
                     "Z6301040009,乙园区,park,Z6301040009\n")
    assert str(error) == ("units.csv, row 3, column '上级编码': a unit cannot be its own parent "
                          "(Z6301040009) (value 'Z6301040009')")


def test_a_six_digit_code_outside_gb2260_is_refused_with_the_pattern(
        tmp_path: Path, shared_nbs: Path) -> None:
    """639999 is not a unit of GB/T 2260; a targets sheet naming it is refused as unknown, so
    the units sheet may not declare it either."""
    error = _refusal(tmp_path, shared_nbs, "code,name,level,parent\n639999,某园区,park,630104\n")
    assert str(error) == ("units.csv, row 2, column 'code': six-digit code not in GB/T 2260 "
                          f"(reference/regions.csv); {PATTERN} (value '639999')")


@pytest.mark.parametrize("code", ["园区1", "1Z", "Z 1", "Z" * 33])
def test_a_code_off_the_pattern_is_refused_with_the_pattern(
        code: str, tmp_path: Path, shared_nbs: Path) -> None:
    error = _refusal(tmp_path, shared_nbs, f"code,name,level,parent\n{code},园区,park,630104\n")
    assert str(error).startswith(f"units.csv, row 2, column 'code': not a declared unit's code: "
                                 f"{PATTERN}")


def test_a_chain_of_declared_units_under_a_county_is_read(
        tmp_path: Path, shared_nbs: Path) -> None:
    """A zone inside a park inside 城西区: a chain, not a cycle; the codes of the pattern."""
    landing = _landing(tmp_path, shared_nbs, "code,name,level,parent\n"
                       "Z6301040001,甲园区,park,630104\nZ6301040002,乙区,development_zone,"
                       "Z6301040001\nP-01_b,丙,park,630104\n")
    report = ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert report["sheet_counts"] == {"units": 3}
    rows = pq.read_table(tmp_path / "work" / "sheets" / "units.parquet").to_pylist()
    assert [(r["code"], r["parent"]) for r in rows] == [
        ("Z6301040001", "630104"), ("Z6301040002", "Z6301040001"), ("P-01_b", "630104")]
