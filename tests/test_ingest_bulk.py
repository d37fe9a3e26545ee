"""The one long-layout reader (ingest/bulk.py): every long-layout CSV, Parquet file and XLSX
sheet, whatever its size, is typed and written by DuckDB, and its errors name the file, row,
column and rule of the first bad cell in file order.

The agreement of DuckDB's text handling with Python's rules (str.strip, float()) is checked
directly; the rest checks what a user sees: raw rows and values, the report's `reader`, and the
errors deep inside large files.
"""

from __future__ import annotations

import csv
import io
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
from carbon_assess.ingest.layouts import parse_indicator, parse_number
from carbon_assess.ingest.schema import RAW_SCHEMA, SOURCE_KINDS

REPO = Path(__file__).resolve().parent.parent
SORT = [("source_file", "ascending"), ("source_row", "ascending"),
        ("source_column", "ascending")]
ENERGY = ("地区编码", "地区", "年份", "煤炭消费量(万吨)", "焦炭消费量(万吨)",
          "电力消费量(亿千瓦小时)")
UNITS = [("130802", "双桥区"), ("130803", "双滦区"), ("130821", "承德县"), ("460200", "三亚市"),
         ("469001", "五指山市"), ("110228", "密云县")]  # 110228: retired, now 110118


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))


def _ingest(landing: Path, work: Path) -> tuple[Any, dict[str, pa.Table]]:
    """The ingest report and the raw tables (sorted), or ("error", text)."""
    shutil.rmtree(work, ignore_errors=True)
    try:
        report: Any = ingest_landing(landing, work, "run-1", "v1")
    except InputError as exc:
        return ("error", str(exc)), {}
    tables = {}
    for kind in SOURCE_KINDS:
        path = work / "raw" / f"{kind}.parquet"
        if path.exists():
            assert pq.read_schema(path).equals(RAW_SCHEMA)
            tables[kind] = pq.read_table(path).drop(["ingested_at"]).sort_by(SORT)
    leftovers = [p.name for p in work.glob(".*")] if work.exists() else []
    assert not leftovers, leftovers  # staged rows and scratch folders are gone
    return report, tables


def _expected_values(rows: list[list[str]], header_row: int = 1) -> dict[tuple[int, str], Any]:
    """(row, column) -> value of every used cell, by the rules themselves (parse_number and the
    header's unit factor) on the cells as the csv module reads them."""
    header = rows[0]
    used = {i: parse_indicator(h, "t", 1) for i, h in enumerate(header) if i > 2 and h}
    out = {}
    for n, cells in enumerate(rows[1:], start=header_row + 1):
        if not any(c.strip() for c in cells):
            continue
        for i, indicator in used.items():
            if indicator is None:
                continue
            value = parse_number(cells[i].strip(), "t", n, header[i])
            out[(n, header[i])] = None if value is None else value * indicator.factor
    return out


def _raw_values(tables: dict[str, pa.Table]) -> dict[tuple[int, str], Any]:
    return {(r["source_row"], r["source_column"]): r["value"]
            for table in tables.values() for r in table.to_pylist()}


# --- DuckDB reads text as Python's rules do ------------------------------------------------

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
            continue  # not read by DuckDB: the reader asks parse_number
        expected = float(text)
        assert number == expected and str(number)[0] == str(expected)[0], text
        read += 1
    assert read > len(rows) * 0.9  # all but overflowing exponents


# --- what a user sees ---------------------------------------------------------------------

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



@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generated_county_set_is_read_by_duckdb(fmt: str, county: dict[str, Path],
                                               tmp_path: Path) -> None:
    report, tables = _ingest(county[fmt], tmp_path / "work")
    readers = {i["file"]: i["reader"] for i in report["inputs"]}
    assert {readers[p.name] for p in county[fmt].glob(f"synthetic_*.{fmt}")} == {"duckdb"}
    assert report["row_counts"]["energy_consumption"] > 10_000
    assert {k: t.num_rows for k, t in tables.items()} == report["row_counts"]


def test_demo_data_readers_are_recorded(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_demo_landing(landing)
    report, _ = _ingest(landing, tmp_path / "work")
    readers = {i["file"]: (i["reader"], i["encoding"]) for i in report["inputs"]}
    # the long-layout CSVs (UTF-8 with BOM, UTF-8, GB18030) by DuckDB; the workbook's cells by
    # openpyxl (then DuckDB); portal exports and the score sheet in Python
    assert readers["synthetic_prov_energy_consumption.csv"][0] == "duckdb"
    assert {e for r, e in readers.values() if r == "duckdb"} == {"utf-8-sig", "utf-8",
                                                                  "gb18030"}
    assert readers["synthetic_prov_population.xlsx"] == ("openpyxl", None)
    assert readers["synthetic_portal_gdp_index.csv"][0] == "python (portal export)"
    assert readers["synthetic_measures_score_sheet.csv"][0] == "python (assessment sheet)"


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_messy_csv_values(newline: str, tmp_path: Path) -> None:
    """Blank markers, full-width digits, spaces, a unit-less and a tonnes column, an unnamed
    column with a value, duplicated unused headers, a retired code, blank and comma-only lines,
    a row with extra fields, lines before the header, no newline at the end; two source kinds
    (energy, population) in one file: every value is the rules' value of its cell."""
    rows = [",,,", *[",".join(r) for r in _messy_rows()]]
    rows.insert(30, "")
    rows.insert(40, ",,,,,,,,")
    rows.insert(60, "   ")
    rows[70] += ",extra,fields"
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "energy.csv").write_bytes(newline.join(rows).encode())
    report, tables = _ingest(landing, tmp_path / "work")
    assert [i["reader"] for i in report["inputs"]] == ["duckdb"]
    assert set(report["row_counts"]) == {"energy_consumption", "population"}
    notes = " | ".join(report["warnings"])
    assert "retired GB/T 2260 code" in notes and "no header" in notes and "without a unit" in notes
    cells = list(csv.reader(io.StringIO("\n".join(rows))))
    expected = _expected_values(cells[1:], header_row=2)
    assert _raw_values(tables) == expected


def test_quoted_csv_is_tokenized_by_python_and_said_so(tmp_path: Path) -> None:
    rows = _messy_rows()
    landing = tmp_path / "landing"
    landing.mkdir()
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL).writerows(rows)
    (landing / "energy.csv").write_text(buffer.getvalue(), encoding="utf-8")
    report, tables = _ingest(landing, tmp_path / "work")
    assert [i["reader"] for i in report["inputs"]] == [
        "python csv module (quoted fields, NUL or SOH bytes)"]
    assert _raw_values(tables) == _expected_values(rows)


def test_messy_parquet_values(tmp_path: Path) -> None:
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
    report, tables = _ingest(landing, tmp_path / "work")
    assert [i["reader"] for i in report["inputs"]] == ["duckdb"]
    rows = {(r["source_row"], r["source_column"]): r for r in
            tables["energy_consumption"].to_pylist()}
    assert len(rows) == 4 * n and 42 not in {r for r, _ in rows}  # the blank row is skipped
    coal, coke, oil = "煤炭消费量(万吨)", "焦炭消费量(万吨)", "原油消费量(万吨)"
    assert rows[(2, coal)]["value"] is None and rows[(3, coal)]["value"] is None  # null, NaN
    assert rows[(7, coal)]["value"] == 1270.68 and rows[(7, coal)]["source_value"] == "1270.68"
    assert rows[(8, coal)]["value"] == 0.1 + 0.2
    assert rows[(2, coke)]["value"] == 1234.5 and rows[(3, coke)]["value"] == 123.0
    assert rows[(5, coke)]["value"] == 7.0 and rows[(5, coke)]["source_value"] == "7"
    assert rows[(9, coke)]["value"] == 12_345_678.0
    assert rows[(2, oil)]["value"] == -7.0 and rows[(2, oil)]["source_value"] == "-7"
    codes_seen = {r["region_code"] for r in rows.values()}
    assert "110118" in codes_seen and "110228" not in codes_seen  # the retired code, mapped
    assert any("no header" in w for w in report["warnings"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_large_file_keeps_row_numbers_and_order(fmt: str, tmp_path: Path) -> None:
    """Large enough for DuckDB to read it in several chunks: every raw row names its own line,
    and the raw rows are in file order."""
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
    ingest_landing(landing, tmp_path / "work", "run-1", "v1")
    raw = pq.read_table(tmp_path / "work" / "raw" / "gdp.parquet",
                        columns=["source_row", "source_value"])
    assert raw.column("source_row").to_pylist() == list(range(2, n + 2))
    assert raw.column("source_value").to_pylist() == values


# --- errors deep in large files -------------------------------------------------------------

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


# case -> the cells changed at (data row, column), and the error (data row, column, rule)
BAD = {
    "not a number": ({(2_500, 4): "12x"}, (2_500, 4, "not a number")),
    "formula": ({(1_800, 3): "=A1"}, (1_800, 3, "formula cells are not accepted")),
    "not finite": ({(1_200, 5): "inf"}, (1_200, 5, "not a finite number")),
    "unknown code first": ({(2_100, 0): "999999", (2_600, 3): "12x"},
                           (2_100, 0, "unknown region")),
    "number before code": ({(900, 4): "abc", (2_100, 0): "999999"}, (900, 4, "not a number")),
    "code before number, same row": ({(1_000, 3): "abc", (1_000, 0): "999999"},
                                     (1_000, 0, "unknown region")),
    "bad year": ({(1_500, 2): "二〇一〇"}, (1_500, 2, "not a year")),
    "name mismatch": ({(2_222, 1): "三亚市"}, (2_222, 1, "region name does not match")),
    "unknown name": ({(2_223, 1): "亚特兰蒂斯"}, (2_223, 1, "unknown region")),
    "declared unit code": ({(2_999, 0): "Z1234"}, None),  # a unit's own code: no error
}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_cell_deep_in_a_large_file(case: str, fmt: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    changes, error = BAD[case]
    _large(landing, fmt, changes)
    outcome, _ = _ingest(landing, tmp_path / "work")
    if error is None:
        assert outcome["row_counts"] == {"energy_consumption": 3 * ROWS}
        return
    row, column, rule = error
    assert outcome[0] == "error", outcome
    assert outcome[1].startswith(f"energy.{fmt}, row {row + 2}, column '{ENERGY[column]}': "
                                 f"{rule}"), outcome[1]


def test_short_csv_row_deep_in_a_large_file(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _large(landing, "csv", {})
    path = landing / "energy.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2_700] = lines[2_700].rsplit(",", 2)[0]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    outcome, _ = _ingest(landing, tmp_path / "work")
    assert outcome[1] == ("energy.csv, row 2701: row has 4 fields but the header has 6 "
                          "(truncated file?)")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("limit", [3 * 2_000 - 1, 3 * 2_000, 3 * 2_000 + 1])
def test_row_limit_crossed_deep_in_a_large_file(limit: int, fmt: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The run's row limit crossed at the last observation of row 2001, or the first or second
    of row 2002, whose second number cell is bad: which error comes first depends on where the
    limit falls."""
    monkeypatch.setenv("CARBON_ASSESS_MAX_ROWS", str(limit))
    landing = tmp_path / "landing"
    _large(landing, fmt, {(2_000, 4): "bad"})
    outcome, _ = _ingest(landing, tmp_path / "work")
    assert outcome[0] == "error"
    if limit == 3 * 2_000 + 1:
        assert outcome[1].startswith(f"energy.{fmt}, row 2002, column '焦炭消费量(万吨)': "
                                     "not a number")
    else:
        row = 2001 if limit == 3 * 2_000 - 1 else 2002
        assert outcome[1].startswith(f"energy.{fmt}, row {row}: with this file the run has "
                                     f"more than {limit:,} rows")


def test_cell_limit_crossed_deep_in_a_large_csv(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", str(6 * 2_000 + 3))
    landing = tmp_path / "landing"
    _large(landing, "csv", {(2_500, 3): "bad"})
    outcome, _ = _ingest(landing, tmp_path / "work")
    assert outcome[1].startswith("energy.csv, row 2001: file has more than 12,003 cells")


# --- staged with the other files, committed or discarded together -----------------------------

def test_files_of_a_kind_are_one_raw_file_in_landing_order(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _large(landing, "parquet", {})
    rows = [",".join(ENERGY), "460200,三亚市,2021,1,2,3", "469001,五指山市,2021,4,,6"]
    (landing / "a_small.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (landing / "z_small.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    report, _ = _ingest(landing, tmp_path / "work")
    assert report["row_counts"] == {"energy_consumption": 3 * ROWS + 12}
    assert [p.name for p in (tmp_path / "work" / "raw").iterdir()] == [
        "energy_consumption.parquet"]
    files = pq.read_table(tmp_path / "work" / "raw" / "energy_consumption.parquet",
                          columns=["source_file"]).column(0).to_pylist()
    assert files == sorted(files)


def test_a_rejected_batch_writes_nothing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _large(landing, "parquet", {})
    (landing / "z_bad.csv").write_text(",".join(ENERGY) + "\n999999,x,2020,1,2,3\n",
                                       encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    previous = work / "raw" / "gdp.parquet"
    previous.parent.mkdir()
    previous.write_bytes(b"an earlier run's file")
    with pytest.raises(InputError, match="z_bad.csv, row 2"):
        ingest_landing(landing, work, "run-1", "v1")
    assert sorted(p.name for p in work.iterdir()) == ["raw"]  # no stage, no scratch left
    assert [p.name for p in (work / "raw").iterdir()] == ["gdp.parquet"]
    assert previous.read_bytes() == b"an earlier run's file"
