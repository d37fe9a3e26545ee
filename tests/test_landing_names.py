"""The landing folder's odd entries (issue 18, step 4): a file name that is not UTF-8 or holds a
control character is refused in one `error:` line that shows the name escaped; special files
(named pipes, sockets) and symlinks are skipped and the skip is recorded; a kernel folder like
/proc/self is refused; and every such run is on record in the warehouse run log."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import duckdb
import pytest

from carbon_assess.cli import main
from carbon_assess.workdir import HOME_ENV

GDP_INDEX = "prov_gdp_index_prev_year_100.csv"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def _landing(tmp_path: Path, shared_nbs: Path) -> Path:
    """One real NBS file (the GDP index), as a landing folder would hold it."""
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(shared_nbs / "provincial" / GDP_INDEX, landing / GDP_INDEX)
    return landing


def _run(landing: Path | str, tmp_path: Path, capsys: pytest.CaptureFixture
         ) -> tuple[int, list[str], str]:
    """Exit code, the `error:` lines of stdout and stderr, and the warehouse file."""
    warehouse = tmp_path / "w.duckdb"
    code = main(["run", "--landing", str(landing), "--warehouse", f"duckdb:///{warehouse}"])
    out = capsys.readouterr()
    lines = (out.out + out.err).splitlines()
    return code, [line for line in lines if line.startswith("error:")], str(warehouse)


def _run_log(warehouse: str) -> list[tuple]:
    with duckdb.connect(warehouse, read_only=True) as con:
        return con.execute("select status, failed_stage, reason from carbon.meta_pipeline_run"
                           ).fetchall()


def test_a_file_name_that_is_not_utf8_is_refused_escaped_and_on_record(
        tmp_path: Path, shared_nbs: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    landing = _landing(tmp_path, shared_nbs)
    # a GBK-encoded name, as unzipping a Windows archive gives: 数据 is b"\xca\xfd\xbe\xdd"
    shutil.copy(landing / GDP_INDEX, os.fsencode(landing) + b"/\xca\xfd\xbe\xdd.csv")
    code, errors, warehouse = _run(landing, tmp_path, capsys)
    assert code == 2
    assert len(errors) == 1
    assert errors[0].startswith("error: \\xca\\xfd\\xbe\\xdd.csv: file name is not valid UTF-8")
    assert "rename the file" in errors[0]
    [(status, stage, reason)] = _run_log(warehouse)
    assert (status, stage) == ("rejected", "ingest")
    assert reason.startswith("\\xca\\xfd\\xbe\\xdd.csv: file name is not valid UTF-8")


def test_a_newline_in_a_file_name_cannot_forge_an_error_line(
        tmp_path: Path, shared_nbs: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    landing = _landing(tmp_path, shared_nbs)
    shutil.copy(landing / GDP_INDEX, landing / "gdp\nerror: all good.csv")
    shutil.copy(landing / GDP_INDEX, landing / "gdp\x1b[2J\t.csv")
    code, errors, warehouse = _run(landing, tmp_path, capsys)
    assert code == 2
    assert len(errors) == 1  # the forged line is part of the one real error line
    assert errors[0].startswith("error: gdp\\nerror: all good.csv: file name contains a "
                                "control or invisible character (\\n); rename the file")
    report = next((home / "quarantine").glob("*/report.json"))
    files = {o["file"] for r in json.loads(report.read_text(encoding="utf-8"))["results"]
             for o in r.get("offenders", [])}
    assert {"gdp\\nerror: all good.csv", "gdp\\x1b[2J\\t.csv"} <= files  # both, escaped
    [(status, stage, reason)] = _run_log(warehouse)
    assert (status, stage) == ("rejected", "ingest") and "\n" not in reason


def test_special_files_and_symlinks_are_skipped_and_the_skip_is_recorded(
        tmp_path: Path, shared_nbs: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    """Only a pipe, a socket and a symlink: nothing to read. Opening the pipe would wait for
    ever; the run is refused at once, and the report lists each skipped entry and why."""
    landing = tmp_path / "landing"
    landing.mkdir()
    os.mkfifo(landing / "gdp.csv")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(landing / "sock.csv"))
    except OSError:  # a path too long for a Unix socket: the pipe and the link still tell
        server.close()
        server = None
    (landing / "index.csv").symlink_to(shared_nbs / "provincial" / GDP_INDEX)
    try:
        code, errors, warehouse = _run(landing, tmp_path, capsys)
    finally:
        if server is not None:
            server.close()
    assert code == 2
    assert len(errors) == 1
    skipped = 3 if server is not None else 2
    assert errors[0].startswith(f"error: {landing}: no recognised NBS file in the landing "
                                f"folder ({skipped} entries skipped: see the report)")
    [(status, stage, _)] = _run_log(warehouse)
    assert (status, stage) == ("rejected", "ingest")
    report = json.loads(next((home / "quarantine").glob("*/report.json")).read_text("utf-8"))
    text = json.dumps(report, ensure_ascii=False)
    assert "gdp.csv: skipped, a named pipe (FIFO), not a regular file, not read" in text
    assert "index.csv: skipped, symlink, not followed" in text
    if server is not None:
        assert "sock.csv: skipped, a socket, not a regular file, not read" in text


def test_skipped_entries_are_in_the_ingest_report_of_a_run_that_goes_on(
        tmp_path: Path, shared_nbs: Path, home: Path) -> None:
    from carbon_assess.pipeline import ingest_stage

    landing = _landing(tmp_path, shared_nbs)
    os.mkfifo(landing / "pipe\u200b.csv")  # hidden character: shown escaped, and skipped
    (landing / "link.csv").symlink_to(landing / GDP_INDEX)
    result = ingest_stage(landing, tmp_path / "work", "20260101T000000Z-aaaaaa")
    assert [i["file"] for i in result["inputs"]] == [GDP_INDEX]
    on_disk = json.loads((tmp_path / "work" / "ingest_report.json").read_text("utf-8"))
    assert on_disk["skipped_files"] == [
        {"file": "link.csv",
         "reason": "symlink, not followed (copy the file into the landing folder)"},
        {"file": "pipe\\u200b.csv", "reason": "a named pipe (FIFO), not a regular file, not read"},
    ]


def test_proc_self_as_landing_folder_is_one_clear_error_on_record(
        tmp_path: Path, home: Path, capsys: pytest.CaptureFixture) -> None:
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc on this system")
    code, errors, warehouse = _run("/proc/self", tmp_path, capsys)
    assert code == 2
    assert errors == ["error: /proc/self: landing folder is inside /proc, a kernel file system "
                      "whose entries are not data files; give the folder the statistics files "
                      "are copied into"]
    [(status, stage, reason)] = _run_log(warehouse)
    assert (status, stage) == ("rejected", "ingest") and reason.startswith("/proc/self: ")
