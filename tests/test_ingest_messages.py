"""Three ingest messages that misled (issue 18), on files derived from the real NBS extracts:
a GDP header with its unit in brackets, a GB18030 file with one row pasted from a UTF-8 file,
and a province name holding an invisible character."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from carbon_assess.cli import main
from carbon_assess.errors import InputError
from carbon_assess.ingest import ingest_landing
from carbon_assess.workdir import HOME_ENV

GDP = "prov_gdp_current_prices_100m_yuan.csv"
POPULATION = "prov_population_yearend_10k.csv"
GDP_HEADER = "地区生产总值(亿元)"


def _copy(shared_nbs: Path, tmp_path: Path, name: str) -> tuple[Path, str]:
    landing = tmp_path / "landing"
    landing.mkdir()
    text = (shared_nbs / "provincial" / name).read_text(encoding="utf-8")
    return landing, text


def _qinghai_gdp(shared_nbs: Path) -> dict[int, float]:
    with (shared_nbs / "provincial" / GDP).open(encoding="utf-8") as handle:
        return {int(r["年份"]): float(r[GDP_HEADER]) for r in csv.DictReader(handle)
                if r["省份编码"] == "630000" and r[GDP_HEADER]}


@pytest.mark.parametrize("header", ["地区生产总值[亿元]", "地区生产总值［亿元］",
                                    "地区生产总值（亿元）", "地区生产总值【亿元】"])
def test_a_gdp_unit_in_brackets_reads_as_the_gdp_column(
        header: str, shared_nbs: Path, tmp_path: Path) -> None:
    landing, text = _copy(shared_nbs, tmp_path, GDP)
    assert text.count(GDP_HEADER) == 1
    (landing / GDP).write_text(text.replace(GDP_HEADER, header), encoding="utf-8")
    report = ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert report["row_counts"]["gdp"] == 31 * 20  # 31 provinces, 2000-2019
    rows = pq.read_table(tmp_path / "work" / "raw" / "gdp.parquet").to_pylist()
    qinghai = {r["year"]: r["value"] for r in rows if r["region_code"] == "630000"
               and r["value"] is not None}
    assert qinghai == _qinghai_gdp(shared_nbs)  # 亿元 is the canonical unit: as written
    # lineage names the column as written, full-width brackets read as ASCII (NFKC)
    assert {r["source_column"] for r in rows} == {unicodedata.normalize("NFKC", header)}


def test_a_gdp_unit_in_brackets_of_another_unit_is_converted(
        shared_nbs: Path, tmp_path: Path) -> None:
    landing, text = _copy(shared_nbs, tmp_path, GDP)
    # the same figures stated in 万元 (10,000 yuan): 1 亿元 = 10,000 万元
    lines = text.splitlines()
    header = lines[0].replace(GDP_HEADER, "地区生产总值[万元]")
    column = lines[0].split(",").index(GDP_HEADER)
    rows = [line.split(",") for line in lines[1:]]
    for cells in rows:
        if cells[column]:
            cells[column] = str(float(cells[column]) * 10_000)
    (landing / GDP).write_text("\n".join([header, *(",".join(c) for c in rows)]) + "\n",
                               encoding="utf-8")
    ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    raw = pq.read_table(tmp_path / "work" / "raw" / "gdp.parquet").to_pylist()
    qinghai = {r["year"]: r["value"] for r in raw if r["region_code"] == "630000"
               and r["value"] is not None}
    expected = _qinghai_gdp(shared_nbs)
    assert qinghai.keys() == expected.keys()
    assert all(qinghai[y] == pytest.approx(v) for y, v in expected.items())


def test_a_gb18030_file_with_one_utf8_row_names_that_row(
        shared_nbs: Path, tmp_path: Path) -> None:
    """The portal writes GB18030; row 41 (天津市 2000: the 40th data row) was pasted in from a
    UTF-8 file. UTF-8 fails at the header already; the row to fix is 41."""
    landing, text = _copy(shared_nbs, tmp_path, POPULATION)
    lines = text.splitlines(keepends=True)
    assert lines[40].startswith("120000,天津市,2000,")
    data = b"".join(line.encode("utf-8" if i == 40 else "gb18030")
                    for i, line in enumerate(lines))
    (landing / POPULATION).write_bytes(data)
    with pytest.raises(InputError) as info:
        ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert info.value.row == 41
    assert str(info.value).startswith(
        f"{POPULATION}, row 41: file is neither UTF-8 nor GB18030 text: its rows before this "
        "one are GB18030, this row is not (byte 0x")
    assert "pasted from a UTF-8 file?" in str(info.value)


def test_a_utf8_file_with_one_gb18030_row_names_that_row(
        shared_nbs: Path, tmp_path: Path) -> None:
    landing, text = _copy(shared_nbs, tmp_path, POPULATION)
    lines = text.splitlines(keepends=True)
    data = b"".join(line.encode("gb18030" if i == 100 else "utf-8")
                    for i, line in enumerate(lines))
    (landing / POPULATION).write_bytes(data)
    with pytest.raises(InputError) as info:
        ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert info.value.row == 101
    assert "rows before this one are UTF-8, this row is not" in str(info.value)


@pytest.mark.parametrize(("hidden", "escaped", "named"), [
    ("\u200b", "\\u200b", "U+200B zero width space"),
    ("\ufeff", "\\ufeff", "U+FEFF zero width no-break space"),
])
def test_an_invisible_character_in_a_province_name_is_shown_escaped(
        hidden: str, escaped: str, named: str, shared_nbs: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    landing, text = _copy(shared_nbs, tmp_path, POPULATION)
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("630000,青海省,")) + 1
    lines[row - 1] = lines[row - 1].replace("青海省", f"青海{hidden}省")
    (landing / POPULATION).write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert main(["validate", "--landing", str(landing)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"error: {POPULATION}, row {row}, column '省份': unknown province: the name holds an "
        f"invisible character ({named}, shown escaped); delete it (value '青海{escaped}省')")


def test_a_no_break_space_inside_a_name_reads_as_a_space(
        shared_nbs: Path, tmp_path: Path) -> None:
    """Whitespace of any kind inside a name is read as a space, as it always was (青海 省 is
    Qinghai): U+00A0 is no reason to refuse, and the row keeps its figures."""
    landing, text = _copy(shared_nbs, tmp_path, GDP)
    assert "630000,青海省," in text
    (landing / GDP).write_text(text.replace("630000,青海省,", "630000,青海\u00a0省,"),
                               encoding="utf-8")
    ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    raw = pq.read_table(tmp_path / "work" / "raw" / "gdp.parquet").to_pylist()
    qinghai = {r["year"]: r["value"] for r in raw if r["region_code"] == "630000"
               and r["value"] is not None}
    assert qinghai == _qinghai_gdp(shared_nbs)


def test_an_invisible_character_in_a_header_names_the_column(
        shared_nbs: Path, tmp_path: Path) -> None:
    """Without this, the GDP column is skipped as 'not used' and the run says it has no GDP."""
    landing, text = _copy(shared_nbs, tmp_path, GDP)
    (landing / GDP).write_text(text.replace(GDP_HEADER, "地区生产总值\u200b(亿元)"),
                               encoding="utf-8")
    with pytest.raises(InputError) as info:
        ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert str(info.value) == (
        f"{GDP}, row 1, column '地区生产总值\\u200b(亿元)': header holds an invisible character "
        "(U+200B zero width space, shown escaped); delete it")
