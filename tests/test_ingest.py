"""Ingest: encodings, cell parsing, province names, landing scan and ingest-time rejection reports.

No Great Expectations here: these are the contract checks that run before any Parquet exists.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from carbon_assess.errors import InputError
from carbon_assess.ingest import ingest_landing, scan_landing
from carbon_assess.ingest.layouts import parse_number, parse_year
from carbon_assess.ingest.provinces import resolve_province
from carbon_assess.ingest.readers import encoding_of, read_csv

from builders import write_csv, write_long_csv

HEADER = "省份编码,省份,年份,煤炭消费量(万吨)\n"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (HEADER.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + HEADER.encode("utf-8"), "utf-8-sig"),
        (HEADER.encode("gb18030"), "gb18030"),
    ],
)
def test_accepted_encodings(data: bytes, encoding: str) -> None:
    assert encoding_of(data, "f.csv") == encoding
    table = read_csv(data, "f.csv")
    assert table.encoding == encoding and next(iter(table.rows))[1][0] == "省份编码"


@pytest.mark.parametrize(
    ("data", "rule", "row"),
    [
        (HEADER.encode("utf-16"), "UTF-16", 1),
        (HEADER.encode("utf-16-le"), "UTF-16", 1),  # no BOM: NUL bytes give it away
        (codecs.BOM_UTF8 + HEADER.encode("gb18030"), "declares UTF-8 (byte-order mark)", 1),
        (b"province,year\nQinghai,2010\nC\xf4te,r\xe9vis\xe9\n", "neither UTF-8 nor GB18030", 3),
    ],
)
def test_rejected_encodings_name_the_line(data: bytes, rule: str, row: int) -> None:
    with pytest.raises(InputError) as info:
        encoding_of(data, "f.csv")
    assert rule in info.value.rule and info.value.row == row and info.value.file == "f.csv"


def test_file_cut_inside_quotes_is_malformed() -> None:
    rows = read_csv((HEADER + '630000,青海省,2010,"12').encode(), "f.csv").rows  # streamed
    with pytest.raises(InputError, match="malformed CSV .*truncated"):
        list(rows)


# --- cells ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.5", 1234.5),
        ("12,345,678", 12345678.0),
        (" 42 ", 42.0),
        ("１２３．５", 123.5),  # full-width digits
        ("-1e-12", -1e-12),
        ("1\u00a0234", 1234.0),
        ("", None),
        ("n/a", None),
        ("N/A", None),
        ("—", None),
        ("...", None),
        ("…", None),
        ("－", None),
    ],
)
def test_numbers_and_nbs_blanks(text: str, value: float | None) -> None:
    assert parse_number(text, "f.csv", 2, "c") == value


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("约2600", "not a number"),
        ("1_000", "not a number"),
        ("1.2.3", "not a number"),
        ("=D2*1.1", "formula cells are not accepted; paste values"),
        ("inf", "not a finite number"),
    ],
)
def test_bad_numbers(text: str, rule: str) -> None:
    with pytest.raises(InputError) as info:
        parse_number(text, "f.csv", 7, "煤炭消费量(万吨)")
    assert str(info.value) == f"f.csv, row 7, column '煤炭消费量(万吨)': {rule} (value {text!r})"


@pytest.mark.parametrize("text", ["2010", "2010年", "2010.0", "２０１０", " 2010 "])
def test_years(text: str) -> None:
    assert parse_year(text, "f.csv", 2, "年份") == 2010


def test_year_in_chinese_numerals_is_rejected_with_the_digits() -> None:
    with pytest.raises(InputError, match=r"write years in digits \(2010\)"):
        parse_year("二〇一〇", "f.csv", 2, "年份")
    with pytest.raises(InputError, match="not a year"):
        parse_year("20100", "f.csv", 2, "年份")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("150000", "150000"),
        ("内蒙古", "150000"),
        ("内蒙古自治区", "150000"),
        ("Inner Mongolia", "150000"),
        ("inner mongolia", "150000"),
        ("\u3000青海省\u3000", "630000"),
        (" 青海 ", "630000"),
        ("Ｑｉｎｇｈａｉ", "630000"),
        ("６３００００", "630000"),
        ("630000.0", "630000"),
        ("Atlantis", None),
        ("青海省x", None),
    ],
)
def test_province_names(text: str, code: str | None) -> None:
    assert resolve_province(text) == code


# --- landing folder ---------------------------------------------------------------------------


def test_scan_skips_what_it_must_not_read_and_says_so(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "2010" / "deep").mkdir(parents=True)
    (landing / "a.csv").write_text(HEADER)
    (landing / "2010" / "deep" / "b.csv").write_text(HEADER)
    (landing / ".hidden.csv").write_text(HEADER)
    (landing / "~$a.xlsx").write_bytes(b"lock")
    (landing / "..\\..\\evil.csv").write_text(HEADER)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text(HEADER)
    (landing / "link.csv").symlink_to(outside / "secret.csv")
    (landing / "linkdir").symlink_to(outside, target_is_directory=True)
    files, skipped = scan_landing(landing)
    assert [p.relative_to(landing).as_posix() for p in files] == ["2010/deep/b.csv", "a.csv"]
    reasons = {s["file"]: s["reason"] for s in skipped}
    assert "symlink, not followed" in reasons["link.csv"]
    assert "symlink to a folder" in reasons["linkdir"]
    assert "looks like a path" in reasons["..\\..\\evil.csv"]
    assert "hidden" in reasons[".hidden.csv"] and "lock" in reasons["~$a.xlsx"]


def _landing(tmp_path: Path, rows: list[tuple]) -> Path:
    landing = tmp_path / "landing"
    write_long_csv(landing / "energy.csv", ["煤炭消费量(万吨)", "城镇人口(万人)"], rows)
    return landing


def test_ingest_writes_typed_raw_rows_with_lineage(tmp_path: Path) -> None:
    landing = _landing(tmp_path, [("630000", 2010, "1,200.5", 1), ("630000", 2011, "—", 2)])
    (landing / "readme.txt").write_text("notes")
    report = ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert report["row_counts"] == {"energy_consumption": 2}
    assert "readme.txt: skipped, not a CSV, XLSX or Parquet file" in report["warnings"]
    assert any("not used by the pipeline, skipped: 城镇人口(万人)" in w for w in report["warnings"])
    rows = pq.read_table(tmp_path / "work" / "raw" / "energy_consumption.parquet").to_pylist()
    assert [(r["year"], r["value"], r["source_value"], r["source_row"]) for r in rows] == [
        (2010, 1200.5, "1,200.5", 2), (2011, None, "—", 3)]
    assert rows[0]["source_file"] == "energy.csv" and len(rows[0]["source_sha256"]) == 64
    assert rows[0]["run_id"] == "run-1" and rows[0]["vintage"] == "v1"


def test_size_limit_is_configurable_and_checked_before_reading(tmp_path, monkeypatch) -> None:
    landing = _landing(tmp_path, [("630000", 2010, 1, 1)])
    monkeypatch.setenv("CARBON_ASSESS_MAX_FILE_BYTES", "20")
    with pytest.raises(InputError, match=r"larger than the 20 bytes limit .*MAX_FILE_BYTES"):
        ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    monkeypatch.setenv("CARBON_ASSESS_MAX_FILE_BYTES", "1536")
    landing = _landing(tmp_path / "2", [("630000", 2000 + i, i, i) for i in range(60)])
    with pytest.raises(InputError) as info:
        ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert str(info.value).startswith(
        "energy.csv: file is 1.8 KiB, larger than the 1.5 KiB limit (split it, or set "
        "CARBON_ASSESS_MAX_FILE_BYTES to raise the limit)")


# --- limits: size, cells, unpacked bytes, rows (memory stays bounded) ------------------------

LIMIT_TAIL = "(split it, or set {env} to raise the limit)"


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _rewrite_part(path: Path, part: str, edit) -> None:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    parts[part] = edit(parts.get(part, b""))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def _rejected(landing: Path, tmp_path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        ingest_landing(landing, tmp_path / "work", "run-limits", "v1")
    assert info.value.report_path and Path(info.value.report_path).exists()
    assert not (tmp_path / "work").exists()  # nothing written, not even a staging folder
    return info.value


@pytest.mark.parametrize(
    ("count", "text"),
    [(20, "20 bytes"), (1000, "1,000 bytes"), (1536, "1.5 KiB"), (64 * 2**20, "64 MiB"),
     (int(609.3 * 2**20), "609.3 MiB"), (2 * 2**30, "2 GiB")],
)
def test_byte_counts_are_written_for_people(count: int, text: str) -> None:
    from carbon_assess.ingest.readers import human_bytes

    assert human_bytes(count) == text


def test_cell_limit_names_the_file_the_row_and_the_limit(tmp_path, monkeypatch) -> None:
    landing = _landing(tmp_path, [("630000", 2000 + i, i, i) for i in range(10)])
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "20")  # 5 columns a row: row 5 is the 25th
    error = _rejected(landing, tmp_path)
    assert str(error) == ("energy.csv, row 5: file has more than 20 cells, the limit for one "
                          "file " + LIMIT_TAIL.format(env="CARBON_ASSESS_MAX_CELLS"))


def test_row_limit_counts_the_observations_of_every_file(tmp_path, monkeypatch) -> None:
    landing = tmp_path / "landing"
    write_long_csv(landing / "a.csv", ["煤炭消费量(万吨)", "焦炭消费量(万吨)"],
                   [("630000", 2000 + i, i, i) for i in range(5)])  # 10 observations
    write_long_csv(landing / "b.csv", ["煤炭消费量(万吨)"],
                   [("110000", 2000 + i, i) for i in range(5)])  # 5 more
    monkeypatch.setenv("CARBON_ASSESS_MAX_ROWS", "15")
    assert ingest_landing(landing, tmp_path / "ok", "run-ok", "v1")["row_counts"] == {
        "energy_consumption": 15}
    monkeypatch.setenv("CARBON_ASSESS_MAX_ROWS", "12")
    error = _rejected(landing, tmp_path)
    assert str(error) == (
        "b.csv, row 4: with this file the run has more than 12 rows (observations and sheet "
        "rows), the limit for one run (split the landing folder, or set CARBON_ASSESS_MAX_ROWS "
        "to raise the limit)")
    # assessment-sheet rows count too
    write_csv(landing / "c_targets.csv", ["plan", "province", "target_pct"],
              [["12th", "青海省", 10], ["12th", "北京市", 17], ["12th", "广东省", 19.5]])
    monkeypatch.setenv("CARBON_ASSESS_MAX_ROWS", "17")
    error = _rejected(landing, tmp_path)
    assert (error.file, error.row) == ("c_targets.csv", 4) and "more than 17 rows" in error.rule


def test_one_enormous_row_is_refused_before_it_is_built(tmp_path, monkeypatch) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "wide.csv").write_text(HEADER + "630000,青海省,2010" + ",1" * 5000 + "\n")
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "1000")
    error = _rejected(landing, tmp_path)
    assert (error.file, error.row) == ("wide.csv", 2) and "more than 1,000 cells" in error.rule


def test_cell_limit_counts_every_sheet_of_a_workbook(tmp_path, monkeypatch) -> None:
    rows = [["省份编码", "省份", "年份", "煤炭消费量(万吨)"], [630000, "青海省", 2010, 1],
            [630000, "青海省", 2011, 2]]
    landing = tmp_path / "landing"
    _workbook(landing / "energy.xlsx", {"a": rows, "b": rows})
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "24")
    assert ingest_landing(landing, tmp_path / "ok", "run-ok", "v1")["row_counts"] == {
        "energy_consumption": 4}  # 2 x 12 cells: at the limit, accepted
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "23")
    error = _rejected(landing, tmp_path)
    assert (error.file, error.row) == ("energy.xlsx", 3) and "more than 23 cells" in error.rule


def test_a_sheet_declaring_a_huge_range_is_refused_quickly(tmp_path, monkeypatch) -> None:
    """openpyxl pads rows to the declared dimension: every padded cell counts."""
    landing = tmp_path / "landing"
    rows = [["省份编码", "省份", "年份", "煤炭消费量(万吨)"]]
    rows += [[630000, "青海省", 2000 + i, 1] for i in range(9)]
    book = _workbook(landing / "energy.xlsx", {"data": rows})
    _rewrite_part(book, "xl/worksheets/sheet1.xml",
                  lambda xml: xml.replace(b'<dimension ref="A1:D10" />',
                                          b'<dimension ref="A1:XFD1048576" />'))
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "100000")
    error = _rejected(landing, tmp_path)
    assert error.row == 7 and "more than 100,000 cells" in error.rule  # 16,384 cells a row


def test_unpacked_limit_is_checked_before_parsing(tmp_path, monkeypatch) -> None:
    landing = tmp_path / "landing"
    _workbook(landing / "energy.xlsx", {"data": [["省份编码", "省份", "年份", "煤炭消费量(万吨)"],
                                                 [630000, "青海省", 2010, 1]]})
    monkeypatch.setenv("CARBON_ASSESS_MAX_UNPACKED_BYTES", "1000")
    error = _rejected(landing, tmp_path)
    assert error.rule.startswith("workbook unpacks to ") and error.rule.endswith(
        " KiB, more than the 1,000 bytes limit "
        + LIMIT_TAIL.format(env="CARBON_ASSESS_MAX_UNPACKED_BYTES"))


def test_shared_strings_count_against_the_cell_limit(tmp_path, monkeypatch) -> None:
    """openpyxl reads the whole shared-string table into memory before the first cell."""
    landing = tmp_path / "landing"
    book = _workbook(landing / "names.xlsx", {"data": [["name"]]})
    _rewrite_part(book, "xl/sharedStrings.xml", lambda _: (
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + "".join(f"<si><t>name {i}</t></si>" for i in range(30)) + "</sst>").encode())
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "10")
    error = _rejected(landing, tmp_path)
    assert error.rule.startswith("workbook holds 30 shared strings, more than the 10 cells")


def test_a_part_read_whole_is_limited(tmp_path) -> None:
    landing = tmp_path / "landing"
    book = _workbook(landing / "energy.xlsx", {"data": [["省份编码"], [630000]]})
    _rewrite_part(book, "xl/styles.xml",
                  lambda xml: xml.replace(b"<fonts", b" " * (17 * 2**20) + b"<fonts", 1))
    error = _rejected(landing, tmp_path)
    assert error.rule.startswith("workbook part xl/styles.xml unpacks to 17 MiB, more than "
                                 "the 16 MiB allowed")


@pytest.mark.parametrize("env", ["CARBON_ASSESS_MAX_CELLS", "CARBON_ASSESS_MAX_UNPACKED_BYTES",
                                 "CARBON_ASSESS_MAX_ROWS"])
def test_a_limit_that_is_not_a_number_is_a_clear_error(env, tmp_path, monkeypatch) -> None:
    from carbon_assess.errors import CarbonAssessError

    monkeypatch.setenv(env, "lots")
    rows = [["省份编码", "省份", "年份", "煤炭消费量(万吨)"], [630000, "青海省", 2010, 1]]
    _workbook(tmp_path / "landing" / "e.xlsx", {"data": rows})
    with pytest.raises(CarbonAssessError, match=f"{env}='lots' is not a number of"):
        ingest_landing(tmp_path / "landing", tmp_path / "work", "run-env", "v1")


def test_limit_errors_are_one_line_on_the_command_line(tmp_path, monkeypatch, capsys) -> None:
    from carbon_assess.cli import main

    landing = _landing(tmp_path, [("630000", 2000 + i, i, i) for i in range(10)])
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "20")
    assert main(["validate", "--landing", str(landing)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "error: energy.csv, row 5: file has more than 20 cells, the limit for one file")


def test_observations_are_written_a_batch_at_a_time(tmp_path, monkeypatch) -> None:
    """Row groups of at most BATCH_ROWS rows, in file and row order, with their lineage."""
    from carbon_assess import ingest

    monkeypatch.setattr(ingest._RawWriter, "BATCH_ROWS", 3)
    landing = tmp_path / "landing"
    write_long_csv(landing / "a.csv", ["煤炭消费量(万吨)", "年末常住人口(万人)"],
                   [("630000", 2000 + i, i, 500 + i) for i in range(7)])
    write_long_csv(landing / "b.csv", ["煤炭消费量(万吨)"], [("110000", 2010, "—")])
    report = ingest_landing(landing, tmp_path / "work", "run-5", "v1")
    assert report["row_counts"] == {"energy_consumption": 8, "population": 7}
    energy = pq.ParquetFile(tmp_path / "work" / "raw" / "energy_consumption.parquet")
    groups = [energy.metadata.row_group(i).num_rows for i in range(energy.num_row_groups)]
    assert len(groups) >= 3 and max(groups) <= 3, groups
    rows = energy.read().to_pylist()
    assert [(r["source_file"], r["source_row"], r["value"]) for r in rows] == [
        *[("a.csv", i + 2, float(i)) for i in range(7)], ("b.csv", 2, None)]
    assert {r["run_id"] for r in rows} == {"run-5"}
    assert [p.name for p in (tmp_path / "work").iterdir() if p.name.startswith(".")] == []


def test_a_rejected_file_after_flushed_batches_leaves_nothing(tmp_path, monkeypatch) -> None:
    from carbon_assess import ingest

    monkeypatch.setattr(ingest._RawWriter, "BATCH_ROWS", 2)
    landing = _landing(tmp_path, [("630000", 2000 + i, i, i) for i in range(6)])
    (landing / "z_bad.csv").write_text(HEADER + "630000,Atlantis,2010,1\n")
    work = tmp_path / "work"
    (work / "raw").mkdir(parents=True)
    (work / "raw" / "energy_consumption.parquet").write_bytes(b"previous run")
    with pytest.raises(InputError, match="unknown province"):
        ingest_landing(landing, work, "run-6", "v1")
    assert sorted(p.name for p in work.rglob("*")) == ["energy_consumption.parquet", "raw"]
    assert (work / "raw" / "energy_consumption.parquet").read_bytes() == b"previous run"


def test_ingest_memory_does_not_grow_with_the_file(tmp_path, monkeypatch) -> None:
    """Python allocations stay near one record batch (about 1 MiB here) however long the file:
    the old readers held every row, cell and observation at once. tracemalloc sees Python
    objects only (Arrow buffers are bounded by the batch size too)."""
    import tracemalloc

    from carbon_assess import ingest

    monkeypatch.setattr(ingest._RawWriter, "BATCH_ROWS", 2000)
    columns = ["煤炭消费量(万吨)", "焦炭消费量(万吨)", "原油消费量(万吨)", "汽油消费量(万吨)"]
    write_long_csv(tmp_path / "warm" / "w.csv", columns, [("630000", 2010, 1, 1, 1, 1)])
    ingest_landing(tmp_path / "warm", tmp_path / "warm_work", "run-warm", "v1")  # imports done
    write_long_csv(tmp_path / "landing" / "big.csv", columns,
                   [("630000", 1990 + i % 30, i, i, i, i) for i in range(6000)])  # 42,007 cells
    tracemalloc.start()
    try:
        report = ingest_landing(tmp_path / "landing", tmp_path / "work", "run-7", "v1")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report["row_counts"] == {"energy_consumption": 4 * 6000}
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_duplicated_column_and_name_code_mismatch(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "dup.csv").write_text(
        "省份编码,省份,年份,煤炭消费量(万吨),煤炭消费量(吨)\n630000,青海省,2010,1,10000\n")
    (landing / "mismatch.csv").write_text(HEADER + "630000,北京市,2010,1\n")
    with pytest.raises(InputError) as info:
        ingest_landing(landing, tmp_path / "work", "run-2", "v1")
    assert str(info.value).startswith(
        "dup.csv, row 1, column '煤炭消费量(吨)': duplicate column: '煤炭消费量(万吨)' (column 4)")
    # every bad file is in the quarantine report, in the validation report format
    report_md = Path(info.value.report_path)
    assert report_md == tmp_path / "home" / "quarantine" / "run-2" / "report.md"
    payload = json.loads((report_md.parent / "report.json").read_text(encoding="utf-8"))
    assert payload["status"] == "rejected" and payload["stage"] == "ingest"
    assert payload["errors"] == 2
    offenders = [r["offenders"][0] for r in payload["results"] if r["severity"] == "error"]
    assert offenders[1] == {"file": "mismatch.csv", "sheet": None, "row": 2, "column": "省份",
                            "value": "北京市", "detail": None}
    markdown = report_md.read_text(encoding="utf-8")
    assert "| mismatch.csv | 2 | 省份 | 北京市 | province name does not match the code " in markdown
    assert (report_md.parent / "validation" / "results.parquet").exists()
    assert not (tmp_path / "work" / "raw").exists()  # nothing downstream was written


def test_column_with_values_but_no_header_warns(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "e.csv").write_text(HEADER.strip() + ",\n630000,青海省,2010,1,99\n")
    report = ingest_landing(landing, tmp_path / "work", "run-3", "v1")
    assert any("column 5 has values but no header" in w for w in report["warnings"])


def test_landing_without_any_recognised_file(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no recognised NBS file") as info:
        ingest_landing(landing, tmp_path / "work", "run-4", "v1")
    md = Path(info.value.report_path).read_text(encoding="utf-8")
    assert "x.csv" in md and "header is not an NBS layout" in md  # the warnings are listed too


@pytest.mark.parametrize(
    ("header", "kind", "fuel", "factor"),
    [
        ("煤炭消费量(万吨)", "energy_consumption", "coal", 1.0),
        ("煤炭消费量（吨）", "energy_consumption", "coal", 1e-4),  # full-width brackets
        ("焦炭产量(万吨)", "energy_production", "coke", 1.0),  # portal name of 焦炭生产量
        ("电力消费量(万千瓦时)", "energy_consumption", "electricity", 1e-4),
        ("地区生产总值指数(上年＝100)", "gdp_index", None, 1.0),
    ],
)
def test_headers(header: str, kind: str, fuel: str | None, factor: float) -> None:
    from carbon_assess.ingest.layouts import parse_indicator

    indicator = parse_indicator(header, "f.csv", 1)
    assert (indicator.source_kind, indicator.fuel, indicator.factor) == (kind, fuel, factor)
