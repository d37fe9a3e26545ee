"""Ingest of Parquet landing files: same layouts, same rows, same errors as CSV, streamed.

A Parquet file's column names are its header (row 1); its first data row is row 2, as in the
same table saved as CSV. Typed cells (int, float, string, null) go through the same layout
parsing as CSV text, so the raw Parquet the pipeline writes does not depend on the input format.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from carbon_assess.demo import write_demo_landing
from carbon_assess.errors import InputError
from carbon_assess.ingest import ingest_landing
from carbon_assess.ingest import readers as readers_module
from carbon_assess.ingest.readers import read_parquet
from carbon_assess.ingest.schema import SOURCE_KINDS

COAL = "煤炭消费量(万吨)"
COKE = "焦炭消费量(万吨)"
OIL = "原油消费量(万吨)"
# the demo CSVs converted here, with the encoding each is written in
DEMO_CSVS = {"synthetic_prov_energy_consumption.csv": "utf-8-sig",
             "synthetic_prov_gdp.csv": "gb18030"}
COMPARED = ("region_code", "year", "variable", "fuel", "value", "unit", "source_unit",
            "source_sheet", "source_row", "source_column")  # all but file, sha and run stamps


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARBON_ASSESS_HOME", str(tmp_path / "home"))


def _read_demo_csv(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding=encoding, newline="") as handle:
        header, *rows = csv.reader(handle)
    return header, rows


def _typed_table(header: list[str], rows: list[list[str]]) -> pa.Table:
    """A long-layout CSV as a typed table: codes and years int64, province names string,
    indicator columns float64 (a blank cell is null)."""
    columns = {}
    for i, name in enumerate(header):
        cells = [row[i] for row in rows]
        if name in ("省份编码", "年份"):
            columns[name] = pa.array([int(c) for c in cells], pa.int64())
        elif name == "省份":
            columns[name] = pa.array(cells, pa.string())
        else:
            columns[name] = pa.array([float(c) if c.strip() else None for c in cells],
                                     pa.float64())
    return pa.table(columns)


def _text_table(header: list[str], rows: list[list[str]]) -> pa.Table:
    """A CSV as a table of its cell text, every column a string column."""
    return pa.table({name: pa.array([row[i] for row in rows], pa.string())
                     for i, name in enumerate(header)})


def _raw(work: Path) -> dict[str, list[dict]]:
    """Every raw kind's rows, only the compared columns, in a stable order."""
    found = {}
    for kind in SOURCE_KINDS:
        path = work / "raw" / f"{kind}.parquet"
        if path.exists():
            rows = [{c: r[c] for c in COMPARED}
                    for r in pq.read_table(path, columns=list(COMPARED)).to_pylist()]
            found[kind] = sorted(rows, key=lambda r: (r["region_code"], r["year"],
                                                      r["variable"], r["fuel"] or ""))
    return found


def _write(path: Path, columns: dict[str, pa.Array], **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, **options)
    return path


def _rejected(landing: Path, work: Path) -> InputError:
    with pytest.raises(InputError) as info:
        ingest_landing(landing, work, "run-pq", "v1")
    error = info.value
    assert "\n" not in str(error)
    assert error.report_path and Path(error.report_path).exists()
    assert not (work / "raw").exists()  # the batch is rejected: nothing published
    return error


# --- the demo data as Parquet gives the same raw rows as the demo CSVs ------------------------


def test_parquet_inputs_give_the_same_raw_rows_as_the_csvs(tmp_path: Path) -> None:
    csv_landing, pq_landing = tmp_path / "csv_landing", tmp_path / "pq_landing"
    write_demo_landing(csv_landing)
    write_demo_landing(pq_landing)
    for name, encoding in DEMO_CSVS.items():
        header, rows = _read_demo_csv(pq_landing / name, encoding)
        (pq_landing / name).unlink()
        target = pq_landing / name.replace(".csv", ".parquet")
        if encoding == "utf-8-sig":  # typed columns, written in several row groups
            pq.write_table(_typed_table(header, rows), target, row_group_size=100)
        else:  # the cell text as strings
            pq.write_table(_text_table(header, rows), target)

    csv_report = ingest_landing(csv_landing, tmp_path / "csv_work", "run-csv", "v1")
    pq_report = ingest_landing(pq_landing, tmp_path / "pq_work", "run-pq", "v1")

    assert pq_report["row_counts"] == csv_report["row_counts"]
    csv_raw, pq_raw = _raw(tmp_path / "csv_work"), _raw(tmp_path / "pq_work")
    assert csv_raw.keys() == pq_raw.keys() and {"energy_consumption", "gdp"} <= csv_raw.keys()
    for kind in csv_raw:
        assert pq_raw[kind] == csv_raw[kind], kind

    # the text table keeps the cell text itself; the typed one the same numbers
    gdp = pq.read_table(tmp_path / "pq_work" / "raw" / "gdp.parquet").to_pylist()
    gdp_csv = pq.read_table(tmp_path / "csv_work" / "raw" / "gdp.parquet").to_pylist()
    key = ("source_row", "source_column")
    by_cell = {tuple(r[k] for k in key): r["source_value"] for r in gdp_csv}
    pq_gdp = [r for r in gdp if r["source_file"] == "synthetic_prov_gdp.parquet"]
    assert pq_gdp and all(by_cell[tuple(r[k] for k in key)] == r["source_value"]
                          for r in pq_gdp)
    energy = pq.read_table(tmp_path / "pq_work" / "raw" / "energy_consumption.parquet")
    files = set(energy.column("source_file").to_pylist())
    assert "synthetic_prov_energy_consumption.parquet" in files

    inputs = {i["file"]: i for i in pq_report["inputs"]}
    for name in DEMO_CSVS:
        record = inputs[name.replace(".csv", ".parquet")]
        assert record["format"] == "parquet" and record["encoding"] is None
        assert record["sheet"] is None and record["layout"] == "nbs_long"
        data = (pq_landing / record["file"]).read_bytes()
        assert record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["bytes"] == len(data)
        csv_record = {i["file"]: i for i in csv_report["inputs"]}[name]
        assert csv_record["format"] == "csv" and csv_record["encoding"] == DEMO_CSVS[name]
        assert record["observations"] == csv_record["observations"]
        assert record["columns_used"] == csv_record["columns_used"]
    assert inputs["synthetic_prov_population.xlsx"]["format"] == "xlsx"
    # the same warnings, file names apart
    assert [w.replace(".parquet", ".csv") for w in pq_report["warnings"]] == \
        csv_report["warnings"]
    assert "README_SYNTHETIC.txt: skipped, not a CSV, XLSX or Parquet file" in \
        pq_report["warnings"]


# --- typed cells ------------------------------------------------------------------------------


def test_typed_cells_give_exact_values_and_row_numbers(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(readers_module, "PARQUET_BATCH_CELLS", 10)  # 2 rows a record batch
    landing = tmp_path / "landing"
    _write(landing / "energy.parquet", {
        "省份编码": pa.array([630000, 630000, 110000, 110000, 440000], pa.int64()),
        "省份": pa.array(["青海省", " 青海省 ", "北京市", "北京市", None]).dictionary_encode(),
        "年份": pa.array([2010, 2011, 2012, 2013, 2014], pa.int64()),
        COAL: pa.array([1270.68, None, 0.1 + 0.2, 3.0, -0.0], pa.float64()),
        COKE: pa.array([12, None, 7, 0, 1], pa.int32()),
        OIL: pa.array([1270.68, 1.5, None, 2.0, 1e-7], pa.float32()),
    }, row_group_size=2)
    report = ingest_landing(landing, tmp_path / "work", "run-pq", "v1")
    assert report["inputs"][0]["format"] == "parquet"
    rows = pq.read_table(tmp_path / "work" / "raw" / "energy_consumption.parquet").to_pylist()
    cells = {(r["source_row"], r["source_column"]): r for r in rows}
    assert {r["source_row"] for r in rows} == {2, 3, 4, 5, 6}  # row 1 is the header
    assert cells[(2, COAL)]["value"] == 1270.68 and cells[(2, COAL)]["source_value"] == "1270.68"
    assert cells[(2, COAL)]["region_code"] == "630000" and cells[(2, COAL)]["year"] == 2010
    assert cells[(3, COAL)]["value"] is None and cells[(3, COAL)]["source_value"] == ""
    assert cells[(4, COAL)]["value"] == 0.1 + 0.2  # shortest round-trip digits, exactly
    assert cells[(4, COAL)]["region_code"] == "110000"
    assert cells[(5, COAL)]["source_value"] == "3" and cells[(5, COAL)]["value"] == 3.0
    assert cells[(6, COAL)]["region_code"] == "440000"  # a null name: blank, not checked
    assert cells[(6, COAL)]["value"] == 0.0
    assert [cells[(n, COKE)]["value"] for n in range(2, 7)] == [12.0, None, 7.0, 0.0, 1.0]
    # float32 cells read as the digits they were written with, not their float64 expansion
    assert cells[(2, OIL)]["source_value"] == "1270.68" and cells[(2, OIL)]["value"] == 1270.68
    assert cells[(4, OIL)]["value"] is None and cells[(6, OIL)]["value"] == 1e-7


def test_float_cells_round_trip_exactly() -> None:
    rng = random.Random(7)
    values = [rng.uniform(-1e6, 1e6) for _ in range(2000)]
    values += [round(v, 2) for v in values[:500]] + [1e16, 1e-300, 123456789.123, 5e-324]
    buffer = io.BytesIO()
    pq.write_table(pa.table({"年份": pa.array(values, pa.float64())}), buffer)
    rows = list(read_parquet(buffer.getvalue(), "f.parquet").rows)
    assert rows[0] == (1, ["年份"]) and rows[1][0] == 2 and len(rows) == len(values) + 1
    assert [float(cells[0]) for _, cells in rows[1:]] == values


def test_parquet_assessment_sheet_is_read_like_csv(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_demo_landing(landing)
    name = "synthetic_measures_score_sheet.csv"
    header, rows = _read_demo_csv(landing / name, "utf-8")
    (landing / name).unlink()
    pq.write_table(_text_table(header, rows), landing / "measures.parquet")
    report = ingest_landing(landing, tmp_path / "work", "run-pq", "v1")
    record = {i["file"]: i for i in report["inputs"]}["measures.parquet"]
    assert record["layout"] == "assessment_sheet:measures" and record["format"] == "parquet"
    assert record["observations"] == len(rows)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "bad", "message"),
    [
        (COAL, pa.array(["1", "2", "3", "12 吨", "5"]),
         f"energy.parquet, row 5, column '{COAL}': not a number (value '12 吨')"),
        (COAL, pa.array([1.0, 2.0, 3.0, float("inf"), 5.0]),
         f"energy.parquet, row 5, column '{COAL}': not a finite number (value 'inf')"),
        ("年份", pa.array([2010, 2011, 2012, 1850, 2014]),
         "energy.parquet, row 5, column '年份': not a year (value '1850')"),
    ],
)
def test_bad_cell_names_file_row_and_column(tmp_path: Path, column, bad, message) -> None:
    landing = tmp_path / "landing"
    write_demo_landing(landing)  # good files beside it: the whole batch is still rejected
    columns = {"省份编码": pa.array(["630000"] * 5), "年份": pa.array([2010, 2011, 2012, 2013,
                                                                      2014]),
               COAL: pa.array([1.0, 2.0, 3.0, 4.0, 5.0])}
    columns[column] = bad
    _write(landing / "energy.parquet", columns)
    error = _rejected(landing, tmp_path / "work")
    assert str(error) == message
    assert error.row == 5 and error.column == column


def _good_parquet() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"省份编码": ["630000"] * 50, "年份": list(range(1971, 2021)),
                             COAL: [float(i) for i in range(50)]}), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (_good_parquet()[:700], "no PAR1 magic bytes at its end (truncated file?)"),
        (_good_parquet()[:700] + _good_parquet()[-8:], "smaller than the size reported by"),
        ("省份编码,年份\n630000,2010\n".encode(), "no PAR1 magic bytes at its start"),
        (b"PAR1" + b"\x00" * 64 + b"PAR1", "Parquet"),
    ],
    ids=["truncated", "truncated-keeping-footer-tail", "csv-named-parquet", "garbage"],
)
def test_unreadable_parquet_is_one_line_naming_file_and_rule(tmp_path, data, rule) -> None:
    landing = tmp_path / "landing"
    write_demo_landing(landing)
    (landing / "energy.parquet").write_bytes(data)
    error = _rejected(landing, tmp_path / "work")
    assert str(error).startswith("energy.parquet: not a readable Parquet file: ")
    assert rule in str(error) and error.row is None
    assert len(error.all_errors) == 1  # the demo files themselves are fine


def test_binary_cells_must_be_utf8_text(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    _write(landing / "energy.parquet", {
        "省份编码": pa.array([b"630000", b"630000", "青海".encode("gb18030")], pa.binary()),
        "年份": pa.array([2010, 2011, 2012]), COAL: pa.array([1.0, 2.0, 3.0])})
    error = _rejected(landing, tmp_path / "work")
    assert str(error) == ("energy.parquet, row 4, column '省份编码': binary cell is not UTF-8 "
                          "text")


def test_cell_and_unpacked_limits_apply_to_parquet(tmp_path: Path, monkeypatch) -> None:
    landing = tmp_path / "landing"
    _write(landing / "energy.parquet", {
        "省份编码": ["630000"] * 10, "省份": ["青海省"] * 10, "年份": list(range(2000, 2010)),
        COAL: [float(i) for i in range(10)], COKE: [1.0] * 10})
    monkeypatch.setenv("CARBON_ASSESS_MAX_CELLS", "20")  # 5 columns a row: row 5 is the 25th
    error = _rejected(landing, tmp_path / "work")
    assert str(error) == ("energy.parquet, row 5: file has more than 20 cells, the limit for one "
                          "file (split it, or set CARBON_ASSESS_MAX_CELLS to raise the limit)")
    monkeypatch.delenv("CARBON_ASSESS_MAX_CELLS")
    monkeypatch.setenv("CARBON_ASSESS_MAX_UNPACKED_BYTES", "100")
    error = _rejected(landing, tmp_path / "work")
    assert "energy.parquet: Parquet file unpacks to" in str(error)
    assert "more than the 100 bytes limit" in str(error)
    monkeypatch.delenv("CARBON_ASSESS_MAX_UNPACKED_BYTES")
    monkeypatch.setenv("CARBON_ASSESS_MAX_FILE_BYTES", "100")
    error = _rejected(landing, tmp_path / "work")
    assert "larger than the 100 bytes limit" in str(error)


def test_other_suffixes_are_skipped_naming_parquet(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write_demo_landing(landing)
    (landing / "energy.parq").write_bytes(_good_parquet())
    report = ingest_landing(landing, tmp_path / "work", "run-pq", "v1")
    assert {"file": "energy.parq", "reason": "not a CSV, XLSX or Parquet file"} in \
        report["skipped_files"]
    assert "energy.parq: skipped, not a CSV, XLSX or Parquet file" in report["warnings"]


# --- memory: streamed, never all cells at once ------------------------------------------------

WIDTH = 400  # columns: code, year, coal, and unused columns the reader still reads


def _wide_parquet(path: Path, rows: int) -> int:
    """A Parquet file of `rows` x WIDTH cells of distinct numbers, one row group; its cells."""
    rng = random.Random(rows)
    columns = {"省份编码": pa.array(["630000"] * rows), "年份": pa.array([2010] * rows),
               COAL: pa.array([rng.random() for _ in range(rows)])}
    for i in range(WIDTH - len(columns)):
        columns[f"备注{i}"] = pa.array([rng.random() * 1000 for _ in range(rows)])
    _write(path, columns, row_group_size=rows)
    return (rows + 1) * WIDTH


def _peak(landing: Path, work: Path) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        ingest_landing(landing, work, "run-mem", "v1")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_parquet_is_streamed_not_held_whole(tmp_path: Path) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    small_cells = _wide_parquet(small / "wide.parquet", 500)
    large_cells = _wide_parquet(large / "wide.parquet", 4_990)
    assert small_cells == 200_400 and large_cells == 1_996_400  # under the cell limit
    ingest_landing(small, tmp_path / "warm", "run-warm", "v1")  # imports and caches
    small_peak = _peak(small, tmp_path / "work-small")
    large_peak = _peak(large, tmp_path / "work-large")
    # 10x the cells. Measured: 9.5 vs 10.8 MiB; all cells as text at once: 14 vs 143 MiB;
    # pyarrow's default pre-buffering (the row group read whole, ~the file): 11 vs 29 MiB
    assert large_peak < 1.75 * small_peak, (small_peak, large_peak)
    assert large_peak < 24 * 2**20, large_peak
    rows = pq.read_table(tmp_path / "work-large" / "raw" / "energy_consumption.parquet")
    assert rows.num_rows == 4_990 and max(rows.column("source_row").to_pylist()) == 4_991
