"""The bad-input corpus (tests/data/bad, manifest cases.json, generator make_cases.py).

Every case runs the real CLI in-process (`carbon_assess.cli.main`) with real Great Expectations
suites. A rejected case runs `carbon-assess run` against a warehouse published beforehand from a
good landing folder and must leave its bytes unchanged; a case that must work runs
`carbon-assess validate`. In both, the landing folder's files (hashed) must be left as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from carbon_assess.cli import main

from workdirs import release_state, run_log

CORPUS = Path(__file__).resolve().parent / "data" / "bad"
CASES = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
BAD_ROW = "630000,Atlantis,2010,1,1,1\n"


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> sha256 (symlinks by target text, never followed)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse published by a good run (the base files every case starts from)."""
    root = tmp_path_factory.mktemp("corpus")
    db = root / "warehouse.duckdb"
    landing = CORPUS / "encoding_gb18030_no_bom"  # the good files, energy in GB18030
    assert main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{db}"]) == 0
    return db


def test_manifest_has_at_least_25_cases_each_with_a_folder() -> None:
    assert len(CASES) >= 25
    names = [c["case"] for c in CASES]
    assert len(names) == len(set(names))
    for spec in CASES:
        assert (CORPUS / spec["case"]).is_dir(), spec["case"]
        assert spec["exit"] in (0, 2) and spec["message"], spec["case"]
        assert spec["command"] == ("run" if spec["exit"] == 2 else "validate")
        if spec["exit"] == 2:
            assert spec["file"], f"{spec['case']}: a rejection must name the file"


def test_committed_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    sys.path.insert(0, str(CORPUS))
    try:
        import make_cases
    finally:
        sys.path.remove(str(CORPUS))
    manifest = make_cases.write(tmp_path)
    assert manifest == CASES
    for spec in CASES:
        assert _tree(tmp_path / spec["case"]) == _tree(CORPUS / spec["case"]), spec["case"]


def _setup(spec: dict, landing: Path, tmp_path: Path) -> None:
    if spec["setup"] == "huge_file":
        # ~100 MB of repeated valid rows, written in chunks (never held in memory at once)
        header = "省份编码,省份,年份,煤炭消费量(万吨)\n".encode()
        block = "630000,青海省,2010,1200\n".encode() * 40_000
        with (landing / "huge.csv").open("wb") as handle:
            handle.write(header)
            while handle.tell() < 100 * 1024 * 1024:
                handle.write(block)
    elif spec["setup"] == "evil_name":
        (landing / "..\\..\\evil.csv").write_text(
            "省份编码,省份,年份,煤炭消费量(万吨)\n" + BAD_ROW, encoding="utf-8"
        )
    elif spec["setup"] == "symlink_outside":
        outside = tmp_path / "outside_target.csv"
        outside.write_text("省份编码,省份,年份,煤炭消费量(万吨)\n" + BAD_ROW, encoding="utf-8")
        (landing / "outside.csv").symlink_to(outside)


def _report_path(line: str) -> Path:
    match = re.search(r"report: (\S+?report\.md)", line)
    assert match, f"the message does not name the report: {line}"
    return Path(match.group(1))


@pytest.mark.parametrize("spec", CASES, ids=[c["case"] for c in CASES])
def test_case(spec: dict, warehouse: Path, tmp_path: Path, capsys) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(CORPUS / spec["case"], landing, symlinks=True)
    _setup(spec, landing, tmp_path)
    before_landing = _tree(landing)
    before_db = release_state(warehouse)
    capsys.readouterr()

    try:
        if spec["command"] == "run":
            code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb://{warehouse}"])
        else:
            code = main(["validate", "--landing", str(landing)])
        after_landing = _tree(landing)
    finally:
        if spec["setup"] == "huge_file":
            (landing / "huge.csv").unlink()  # do not leave 100 MB in pytest's temp folders
            before_landing.pop("huge.csv")
            after_landing.pop("huge.csv", None)
    out, err = capsys.readouterr()

    assert code == spec["exit"], f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert release_state(warehouse) == before_db, "the published release changed"
    if spec["command"] == "run":  # every run is on record: here rejected, naming the file
        status, _, reason = run_log(warehouse)[-1]
        assert status == "rejected" and spec["file"] in reason, (status, reason)
    assert after_landing == before_landing, "the landing folder changed"
    assert "Traceback" not in out + err

    if spec["exit"] == 0:
        assert err == "", err
        for fragment in spec["message"]:
            assert fragment in out, f"{fragment!r} not in:\n{out}"
        assert "data docs: " in out and Path(out.split("data docs: ")[1].split()[0]).exists()
        return

    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    line = lines[0]
    for fragment in spec["message"]:
        assert fragment in line, f"{fragment!r} not in: {line}"

    # the quarantine report names file, row, column and value, as Markdown and JSON
    report_md = _report_path(line)
    assert report_md.exists() and report_md.parent.parent.name == "quarantine"
    report = json.loads((report_md.parent / "report.json").read_text(encoding="utf-8"))
    assert report["status"] in ("failed", "rejected")
    errors = [r for r in report["results"] if r["severity"] == "error" and not r["success"]]
    assert errors
    offenders = [o for r in errors for o in r["offenders"]]
    assert any(spec["file"] in o["file"] for o in offenders), offenders
    if spec["row"] is not None:
        assert any(o["row"] == spec["row"] for o in offenders), offenders
    if spec["column"] is not None:
        assert any(spec["column"] in o["column"] for o in offenders), offenders
    markdown = report_md.read_text(encoding="utf-8")
    assert "| file | row | column | value | rule | severity |" in markdown
    assert "| error |" in markdown
    # a copy of the batch is quarantined, never the user's landing files
    assert not any(p.suffix in (".csv", ".xlsx") for p in report_md.parent.rglob("*"))
    results = report_md.parent / "validation" / "results.parquet"
    assert results.exists()
