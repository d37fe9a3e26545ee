"""Bulk ingest (ingest/bulk.py): large long-layout CSV and Parquet files read by DuckDB give the
raw Parquet, the ingest report and the errors of the row-by-row reader, exactly.

Every comparison ingests the same landing folder twice: with CARBON_ASSESS_BULK_MIN_ROWS so
high that every file is read row by row, and with 0, so that every long-layout CSV and Parquet
file is read in bulk (a spy checks that it was).
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carbon_assess.demo import write_demo_landing
from carbon_assess.errors import InputError
from carbon_assess.ingest import bulk, ingest_landing
from carbon_assess.ingest.schema import RAW_SCHEMA, SOURCE_KINDS

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "bad"
ROW_BY_ROW = 10**12
SORT = [("source_file", "ascending"), ("source_row", "ascending"),
        ("source_column", "ascending")]
ENERGY = ("地区编码", "地区", "年份", "煤炭消费量(万吨)", "焦炭消费量(万吨)",
          "电力消费量(亿千瓦小时)")
UNITS = [("130802", "双桥区"), ("130803", "双滦区"), ("130821", "承德县"), ("460200", "三亚市"),
         ("469001", "五指山市"), ("110228", "密云县")]  # 110228: retired, now 110118


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read in bulk (to the end, or to the error it raised; not left to the
    row-by-row reader)."""
    seen: list[str] = []

    def counted(real: Any) -> Any:
        def read(handle: Any, name: str, *args: Any) -> Any:
            try:
                table = real(handle, name, *args)
            except InputError:
                seen.append(name)
                raise
            if table is not None:
                seen.append(name)
            return table
        return read

    monkeypatch.setattr(bulk, "ingest_csv", counted(bulk.ingest_csv))
    monkeypatch.setattr(bulk, "ingest_parquet", counted(bulk.ingest_parquet))
    return seen


def _outcome(landing: Path, work: Path, min_rows: int, monkeypatch: pytest.MonkeyPatch
             ) -> tuple[Any, dict[str, pa.Table]]:
    """(ingest report, or the error's text and every file's error), raw tables sorted."""
    monkeypatch.setenv(bulk.MIN_ROWS_ENV, str(min_rows))
    shutil.rmtree(work, ignore_errors=True)
    try:
        report: Any = ingest_landing(landing, work, "run-1", "v1")
    except InputError as exc:
        return ("error", str(exc), [str(e) for e in exc.all_errors]), {}
    tables = {}
    for kind in SOURCE_KINDS:
        path = work / "raw" / f"{kind}.parquet"
        if path.exists():
            assert pq.read_schema(path).equals(RAW_SCHEMA)
            tables[kind] = pq.read_table(path).drop(["ingested_at"]).sort_by(SORT)
    leftovers = [p.name for p in work.glob(".*")] if work.exists() else []
    assert not leftovers, leftovers  # staged rows and scratch folders are gone
    return report, tables


def _assert_same(landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 spy: list[str] | None = None) -> Any:
    slow = _outcome(landing, tmp_path / "row-by-row", ROW_BY_ROW, monkeypatch)
    if spy is not None:
        assert spy == [], "the row-by-row pass read a file in bulk"
    fast = _outcome(landing, tmp_path / "bulk", 0, monkeypatch)
    assert fast[0] == slow[0]
    assert sorted(fast[1]) == sorted(slow[1])
    for kind, table in slow[1].items():
        assert fast[1][kind].num_rows == table.num_rows, kind
        for column in table.column_names:
            assert fast[1][kind].column(column).equals(table.column(column)), (kind, column)
    return slow[0]


# --- what bulk ingest relies on ---------------------------------------------------------------

def test_whitespace_is_what_str_strip_removes() -> None:
    spaces = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert spaces == bulk.WHITESPACE


def test_sql_strips_as_python_does() -> None:
    texts = ["", " ", "  a  ", "\u3000x\u3000", "\xa0y\x85", "\x1cz\x1f", "\u2028w\u2029",
             "\ufeffv", "中文 ", " \t\v\f1", "a b", "\u200b", " \u200bx ", "\u180e", "-",
             "".join(bulk.WHITESPACE), f"{bulk.WHITESPACE}ok{bulk.WHITESPACE}"]
    con = duckdb.connect()
    con.register("t", pa.table({"t": texts}))
    got = con.execute(f"SELECT {bulk._strip('t')}, {bulk._has_text('t')}, "
                      f"{bulk._has_text('t', also=',')} FROM t").fetchall()
    assert got == [(t.strip(), bool(t.strip()), bool(t.replace(",", "").strip()))
                   for t in texts]


def test_duckdb_reads_plain_numbers_as_python_does() -> None:
    rng = random.Random(13)

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    texts = ["1.", ".5", "+.5", "-0", "0e0", "1e308", "1.7976931348623159e308", "2e-324",
             "3e-324", "1e400", "1e-400"]
    for _ in range(20_000):
        exponent = f"e{rng.choice(['', '+', '-'])}{digits(rng.randint(1, 3))}"
        texts.append(rng.choice(["", "+", "-"]) + digits(rng.randint(1, 30))
                     + rng.choice(["", ".", "." + digits(rng.randint(0, 30))])
                     + rng.choice(["", exponent]))
        texts.append(repr(10 ** rng.uniform(-320, 308)))
    con = duckdb.connect()
    con.register("t", pa.table({"t": texts}))
    pattern = bulk.PLAIN_NUMBER.replace("'", "''")
    rows = con.execute(f"SELECT t, regexp_full_match(t, '{pattern}'), TRY_CAST(t AS DOUBLE) "
                       "FROM t").fetchall()
    read = 0
    for text, plain, number in rows:
        assert plain, text
        if number is None or number in (float("inf"), float("-inf")):
            continue  # not read by DuckDB: bulk ingest asks parse_number
        expected = float(text)
        assert number == expected and str(number)[0] == str(expected)[0], text
        read += 1
    assert read > len(rows) * 0.9  # all but overflowing exponents


# --- same raw rows and report -----------------------------------------------------------------

@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The generated --small county set, CSV and Parquet in separate landing folders."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import generate_landing
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    out = tmp_path_factory.mktemp("county")
    generate_landing.main([str(out / "all"), "--small", "--format", "both"])
    folders = {}
    for fmt in ("csv", "parquet"):
        folder = out / fmt
        folder.mkdir()
        for path in (out / "all").glob(f"*.{fmt}"):
            shutil.copy(path, folder / path.name)
        shutil.copy(out / "all" / "units.csv", folder / "units.csv")
        folders[fmt] = folder
    return folders


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_county_set_is_ingested_identically(
        fmt: str, county: dict[str, Path], tmp_path: Path, spy: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    report = _assert_same(county[fmt], tmp_path, monkeypatch)
    assert sorted(spy) == sorted(p.name for p in county[fmt].glob(f"synthetic_*.{fmt}"))
    assert report["row_counts"]["energy_consumption"] > 10_000


def test_demo_data_is_ingested_identically(tmp_path: Path, spy: list[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    write_demo_landing(landing)
    report = _assert_same(landing, tmp_path, monkeypatch)
    # the long-layout CSVs (UTF-8 with BOM, UTF-8, GB18030): portal exports, the score sheet and
    # the workbook are read row by row
    assert sorted(spy) == ["synthetic_prov_energy_consumption.csv",
                           "synthetic_prov_energy_production.csv", "synthetic_prov_gdp.csv"]
    assert {i["encoding"] for i in report["inputs"] if i["file"] in spy} == {
        "utf-8-sig", "utf-8", "gb18030"}


def _messy_rows() -> list[list[str]]:
    header = ["地区编码", "地区", "年份", "煤炭消费量(吨)", "焦炭消费量", "",
              "第一产业增加值(亿元)", "第一产业增加值(亿元)", "电力消费量(亿千瓦小时)",
              "年末常住人口(人)"]
    values = ["12.5", " 7 ", "１２３", "-", "NaN", "n/a", "…", "1e3", "+.5", "-0", "0.1", "",
              "1e-12", "３.５", "N/A", "—", "1E+2", "0007"]
    rows = [header]
    for i in range(120):
        code, name = UNITS[i % len(UNITS)]
        if i % 7 == 0:
            code = f" {code}\u3000"
        if i % 11 == 0:
            code = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        rows.append([code, name if i % 5 else "", str(2020 - i // len(UNITS)),
                     values[i % len(values)], values[(i * 7) % len(values)],
                     "x" if i == 50 else "", "1", "2", values[(i * 3) % len(values)],
                     values[(i * 5) % len(values)]])
    return rows


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_messy_csv_is_ingested_identically(newline: str, tmp_path: Path, spy: list[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank markers, full-width digits, spaces, a unit-less and a tonnes column, an unnamed
    column with a value, duplicated unused headers, a retired code, blank and comma-only lines,
    a row with extra fields, lines before the header, no newline at the end; two source kinds
    (energy, population) in one file."""
    rows = [",,,", *[",".join(r) for r in _messy_rows()]]
    rows.insert(30, "")
    rows.insert(40, ",,,,,,,,")
    rows.insert(60, "   ")
    rows[70] += ",extra,fields"
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "energy.csv").write_bytes(newline.join(rows).encode())
    report = _assert_same(landing, tmp_path, monkeypatch)
    assert spy == ["energy.csv"]
    assert set(report["row_counts"]) == {"energy_consumption", "population"}
    notes = " | ".join(report["warnings"])
    assert "retired GB/T 2260 code" in notes and "no header" in notes and "without a unit" in notes


def test_messy_parquet_is_ingested_identically(tmp_path: Path, spy: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Typed columns: integer codes (one retired), a float64 year, float64 values with NaN,
    -0.0, huge and tiny numbers, string values with thousands separators, an integer column,
    an all-null column, dictionary-encoded names, an all-null row."""
    n = 150
    codes = [int(UNITS[i % len(UNITS)][0]) for i in range(n)]
    floats: list[float | None] = [None, float("nan"), -0.0, 1e20, 1e-7, 1270.68, 0.1 + 0.2, 5.0,
                                  123456789.125, 2.5e-300]
    texts = ["1,234.5", "１２３", "N/A", " 7 ", "", "0.5", "-", "12,345,678"]
    table = pa.table({
        "地区编码": pa.array(codes, pa.int64()),
        "地区": pa.array([f" {UNITS[i % len(UNITS)][1]}" for i in range(n)]).dictionary_encode(),
        "年份": pa.array([2020.0 - i // len(UNITS) for i in range(n)], pa.float64()),
        "煤炭消费量(万吨)": pa.array([floats[i % len(floats)] for i in range(n)], pa.float64()),
        "焦炭消费量(万吨)": pa.array([texts[i % len(texts)] for i in range(n)], pa.string()),
        "原油消费量(万吨)": pa.array([i * 1000 - 7 for i in range(n)], pa.int64()),
        "汽油消费量(万吨)": pa.nulls(n),
        "": pa.array([None] * 3 + ["x"] + [None] * (n - 4), pa.string()),
    })
    blank_row = pa.table({name: pa.nulls(1, col.type) for name, col in
                          zip(table.column_names, table.columns, strict=True)})
    table = pa.concat_tables([table.slice(0, 40), blank_row, table.slice(40)])
    landing = tmp_path / "landing"
    landing.mkdir()
    pq.write_table(table, landing / "energy.parquet")
    _assert_same(landing, tmp_path, monkeypatch)
    assert spy == ["energy.parquet"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_large_file_keeps_row_numbers_and_order(fmt: str, tmp_path: Path, spy: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Large enough for DuckDB to read it in several chunks (and threads): every raw row names
    its own line, and the raw rows are in file order."""
    n = 400_000
    landing = tmp_path / "landing"
    landing.mkdir()
    values = [f"{i}.5" for i in range(n)]
    if fmt == "csv":
        head = "地区编码,地区,年份,地区生产总值(亿元)\n"
        body = "".join(f"460200,三亚市,2020,{v}\n" for v in values)
        (landing / "gdp.csv").write_text(head + body, encoding="utf-8")
    else:
        table = pa.table({"地区编码": pa.array(["460200"] * n), "地区": pa.array(["三亚市"] * n),
                          "年份": pa.array([2020] * n, pa.int32()),
                          "地区生产总值(亿元)": pa.array(values)})
        pq.write_table(table, landing / "gdp.parquet", row_group_size=30_000)
    monkeypatch.setenv(bulk.MIN_ROWS_ENV, "1000")
    ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    assert spy == [f"gdp.{fmt}"]
    raw = pq.read_table(tmp_path / "work" / "raw" / "gdp.parquet",
                        columns=["source_row", "source_value"])
    assert raw.column("source_row").to_pylist() == list(range(2, n + 2))
    assert raw.column("source_value").to_pylist() == values


# --- same errors ------------------------------------------------------------------------------

CORPUS_CASES = sorted(spec["case"] for spec in json.loads(
    (CORPUS / "cases.json").read_text(encoding="utf-8")) if spec["setup"] is None)
# Files of the corpus that the bulk reader leaves to the row-by-row reader (it returns None),
# and why; every other .csv and .parquet file of a case must be read in bulk.
NOT_IN_BULK = {
    "encoding_utf16": {"energy.csv": "UTF-16: neither UTF-8 nor GB18030"},
    "encoding_bom_but_gbk": {"energy.csv": "a UTF-8 BOM over GB18030 bytes"},
    "encoding_latin1": {"notes_latin1.csv": "Latin-1: neither UTF-8 nor GB18030"},
    "empty_file": {"energy_2012.csv": "empty: not even opened twice"},
    "header_only": {"energy_2012.csv": "a header and no data row"},
    "truncated_in_quotes": {"energy.csv": "a quote character"},
    "number_formats": {"energy.csv": "a quote character (a quoted thousands separator)"},
    "portal_wide_gb18030": {"portal_gas.csv": "the portal's wide layout, not a long one"},
}


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_bad_input_corpus_gives_the_same_outcome(case: str, tmp_path: Path, spy: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Same outcome from both readers, and the bulk reader really read the case's long-layout
    CSV and Parquet files (all but those NOT_IN_BULK names): the row-by-row pass reads none in
    bulk, the bulk pass all of them, even where another file of the case is refused."""
    landing = CORPUS / case
    _assert_same(landing, tmp_path, monkeypatch, spy)
    left_to_row_by_row = NOT_IN_BULK.get(case, {})
    expected = sorted(p.name for p in landing.iterdir()
                      if p.suffix in (".csv", ".parquet") and p.name not in left_to_row_by_row)
    assert expected, case
    assert sorted(spy) == expected


def test_the_corpus_exceptions_name_real_files() -> None:
    for case, files in NOT_IN_BULK.items():
        assert case in CORPUS_CASES, case
        assert all((CORPUS / case / name).is_file() for name in files), case


ROWS = 3_000


def _large(landing: Path, fmt: str, changes: dict[tuple[int, int], str]) -> None:
    """A long-layout energy file of ROWS data rows, cells changed at (data row, column)."""
    rows = []
    for i in range(ROWS):
        code, name = UNITS[i % (len(UNITS) - 1)]
        rows.append([code, name, str(2020 - i % 40), f"{i % 977}.25", str(i % 13),
                     f"{(i * 31) % 1000 / 8}"])
    for (row, column), text in changes.items():
        rows[row][column] = text
    landing.mkdir()
    if fmt == "csv":
        lines = [",".join(ENERGY), *(",".join(r) for r in rows)]
        (landing / "energy.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        columns = list(zip(*rows, strict=True))
        pq.write_table(pa.table({h: pa.array(c, pa.string())
                                 for h, c in zip(ENERGY, columns, strict=True)}),
                       landing / "energy.parquet", row_group_size=700)


BAD = {
    "not a number": {(2_500, 4): "12x"},
    "formula": {(1_800, 3): "=A1"},
    "not finite": {(1_200, 5): "inf"},
    "unknown code first": {(2_100, 0): "999999", (2_600, 3): "12x"},
    "number before code": {(900, 4): "abc", (2_100, 0): "999999"},
    "code before number, same row": {(1_000, 3): "abc", (1_000, 0): "999999"},
    "bad year": {(1_500, 2): "二〇一〇"},
    "name mismatch": {(2_222, 1): "三亚市"},
    "unknown name": {(2_223, 1): "亚特兰蒂斯"},
    "declared unit code": {(2_999, 0): "Z1234"},
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_cell_deep_in_a_large_file(case: str, fmt: str, tmp_path: Path, spy: list[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    _large(landing, fmt, BAD[case])
    outcome = _assert_same(landing, tmp_path, monkeypatch)
    assert spy == [f"energy.{fmt}"]
    if case != "declared unit code":
        assert outcome[0] == "error"


def test_short_csv_row_deep_in_a_large_file(tmp_path: Path, spy: list[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    _large(landing, "csv", {})
    path = landing / "energy.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2_700] = lines[2_700].rsplit(",", 2)[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome = _assert_same(landing, tmp_path, monkeypatch)
    assert spy == ["energy.csv"]
    assert "row 2701" in outcome[1] and "truncated file?" in outcome[1]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("limit", [3 * 2_000 - 1, 3 * 2_000, 3 * 2_000 + 1])
def test_row_limit_crossed_deep_in_a_large_file(limit: int, fmt: str, tmp_path: Path,
                                                spy: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's row limit crossed at the last observation of row 2001, or the first or second
    of row 2002, whose second number cell is bad: which error comes first depends on where the
    limit falls."""
    monkeypatch.setenv("CARBON_ASSESS_MAX_ROWS", str(limit))
    landing = tmp_path / "landing"
    _large(landing, fmt, {(2_000, 4): "bad"})
    outcome = _assert_same(landing, tmp_path, monkeypatch)
    assert spy == [f"energy.{fmt}"]
    assert outcome[0] == "error"
    assert ("not a number" in outcome[1]) == (limit == 3 * 2_000 + 1)


def test_cell_limit_crossed_deep_in_a_large_csv(tmp_path: Path, spy: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", str(6 * 2_000 + 3))
    landing = tmp_path / "landing"
    _large(landing, "csv", {(2_500, 3): "bad"})
    outcome = _assert_same(landing, tmp_path, monkeypatch)
    assert spy == ["energy.csv"]
    assert outcome[0] == "error" and "cells" in outcome[1]


# --- staged with the other files, committed or discarded together -----------------------------

def test_a_kind_from_both_readers_is_one_raw_file(tmp_path: Path, spy: list[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    _large(landing, "parquet", {})
    rows = [",".join(ENERGY), "460200,三亚市,2021,1,2,3", "469001,五指山市,2021,4,,6"]
    (landing / "a_small.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (landing / "z_small.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    slow = _outcome(landing, tmp_path / "slow", ROW_BY_ROW, monkeypatch)
    fast = _outcome(landing, tmp_path / "fast", 100, monkeypatch)
    assert spy == ["energy.parquet"]
    assert fast[0] == slow[0]
    assert fast[1]["energy_consumption"].equals(slow[1]["energy_consumption"])
    assert [p.name for p in (tmp_path / "fast" / "raw").iterdir()] == [
        "energy_consumption.parquet"]
    # in landing order, as the row-by-row reader writes them
    files = pq.read_table(tmp_path / "fast" / "raw" / "energy_consumption.parquet",
                          columns=["source_file"]).column(0).to_pylist()
    assert files == sorted(files)


def test_a_rejected_batch_writes_nothing(tmp_path: Path, spy: list[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    landing = tmp_path / "landing"
    _large(landing, "parquet", {})
    (landing / "z_bad.csv").write_text(",".join(ENERGY) + "\n999999,x,2020,1,2,3\n",
                                       encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    previous = work / "raw" / "gdp.parquet"
    previous.parent.mkdir()
    previous.write_bytes(b"an earlier run's file")
    monkeypatch.setenv(bulk.MIN_ROWS_ENV, "100")
    with pytest.raises(InputError, match="z_bad.csv, row 2"):
        ingest_landing(landing, work, "run-1", "v1")
    assert spy == ["energy.parquet"]
    assert sorted(p.name for p in work.iterdir()) == ["raw"]  # no stage, no scratch left
    assert [p.name for p in (work / "raw").iterdir()] == ["gdp.parquet"]
    assert previous.read_bytes() == b"an earlier run's file"
