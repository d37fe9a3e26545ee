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
from carbon_assess.ingest.readers import decode, read_csv

from builders import write_long_csv

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
    text, found = decode(data, "f.csv")
    assert text.startswith("省份编码") and found == encoding


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
        decode(data, "f.csv")
    assert rule in info.value.rule and info.value.row == row and info.value.file == "f.csv"


def test_file_cut_inside_quotes_is_malformed() -> None:
    with pytest.raises(InputError, match="malformed CSV .*truncated"):
        read_csv((HEADER + '630000,青海省,2010,"12').encode(), "f.csv")


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
    assert any(w == "readme.txt: skipped, not a CSV or XLSX file" for w in report["warnings"])
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
