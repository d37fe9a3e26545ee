"""Validation stage: real Great Expectations 1.x on small hand-written raw Parquet files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carbon_assess.errors import ValidationFailed
from carbon_assess.ingest.schema import RAW_SCHEMA
from carbon_assess.validate import validate_workdir
from carbon_assess.validate.suites import rules_for

RUN_ID = "20240101T000000Z-abc123"
UNITS = {"coal": "万吨", "natural_gas": "亿立方米", "electricity": "亿千瓦小时"}
HEADERS = {
    "coal": "煤炭消费量(万吨)",
    "natural_gas": "天然气消费量(亿立方米)",
    "electricity": "电力消费量(亿千瓦小时)",
}


def _row(province, year, variable, fuel, value, unit, file, line, column, **extra):
    row = {
        "province_code": province,
        "year": year,
        "variable": variable,
        "fuel": fuel,
        "value": value,
        "unit": unit,
        "source_value": None if value is None else repr(value),
        "source_unit": unit,
        "source_file": file,
        "source_sha256": "0" * 64,
        "source_sheet": None,
        "source_row": line,
        "source_column": column,
        "ingested_at": datetime(2024, 1, 1, tzinfo=UTC),
        "run_id": RUN_ID,
        "vintage": "test",
    }
    row.update(extra)
    return row


def energy_rows():
    rows, line = [], 1
    for province in ("110000", "630000"):
        for year in (2005, 2006, 2007):
            line += 1
            for i, fuel in enumerate(("coal", "natural_gas", "electricity")):
                value = 100.0 + 10 * i + year - 2005
                rows.append(
                    _row(
                        province,
                        year,
                        "consumption",
                        fuel,
                        value,
                        UNITS[fuel],
                        "prov.csv",
                        line,
                        HEADERS[fuel],
                    )
                )
    rows[-1]["value"] = None  # a blank cell is legal
    rows[-1]["source_value"] = None
    return rows


def gdp_index_rows():
    return [
        _row(
            p,
            y,
            "gdp_index_prev_year",
            None,
            108.5,
            "上年=100",
            "gdp_index.csv",
            n,
            "地区生产总值指数(上年=100)",
        )
        for n, (p, y) in enumerate(((p, y) for p in ("110000", "630000") for y in (2005, 2006)), 2)
    ]


def population_rows():
    return [
        _row(
            "000000",
            y,
            "population",
            None,
            130000.0 + y,
            "万人",
            "nat_pop.csv",
            n,
            "年末总人口(万人)",
        )
        for n, y in enumerate((2005, 2006, 2007), 2)
    ]


def make_workdir(tmp_path: Path, **kinds) -> Path:
    workdir = tmp_path / "runs" / RUN_ID
    (workdir / "raw").mkdir(parents=True)
    info = {
        "run_id": RUN_ID,
        "vintage": "test",
        "method": "reference",
        "landing": "/landing",
        "started_at": "2024-01-01T00:00:00+00:00",
    }
    (workdir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    for kind, rows in kinds.items():
        pq.write_table(
            pa.Table.from_pylist(rows, schema=RAW_SCHEMA), workdir / "raw" / f"{kind}.parquet"
        )
    return workdir


def read_results(workdir: Path) -> list[dict]:
    return json.loads((workdir / "validation" / "results.json").read_text(encoding="utf-8"))


def failed(workdir: Path, severity: str) -> list[dict]:
    return [r for r in read_results(workdir) if not r["success"] and r["severity"] == severity]


def test_clean_batch_passes(tmp_path):
    workdir = make_workdir(
        tmp_path,
        energy_consumption=energy_rows(),
        gdp_index=gdp_index_rows(),
        population=population_rows(),
    )
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed", read_results(workdir)
    assert summary["errors"] == 0 and summary["warnings"] == 0
    assert summary["report_path"] is None
    assert Path(summary["results_path"]) == workdir / "validation" / "results.parquet"
    results = read_results(workdir)
    expected = sum(
        len(rules_for(k, RUN_ID)) for k in ("energy_consumption", "gdp_index", "population")
    )
    assert len(results) == expected and all(r["success"] for r in results)
    assert not (tmp_path / "quarantine").exists()


def test_rounding_noise_only_warns(tmp_path):
    rows = energy_rows()
    rows[4].update(value=-1e-12, source_value="-1e-12")  # like Qinghai kerosene 2006
    workdir = make_workdir(tmp_path, energy_consumption=rows)
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings"
    assert summary["errors"] == 0 and summary["warnings"] == 1
    assert len(summary["warnings_summary"]) == 1
    assert "prov.csv row" in summary["warnings_summary"][0]
    assert "'-1e-12'" in summary["warnings_summary"][0]
    (warning,) = failed(workdir, "warning")
    assert warning["column"] == "value" and warning["unexpected_count"] == 1
    assert not (tmp_path / "quarantine").exists()


def test_negative_value_fails_and_quarantines(tmp_path):
    rows = energy_rows()
    rows[3].update(value=-5.0, source_value="-5", source_row=12)
    workdir = make_workdir(tmp_path, energy_consumption=rows, population=population_rows())
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("validation failed: 1 error(s) in energy_consumption")
    assert "prov.csv row 12 column '煤炭消费量(万吨)' value '-5': value must be >= 0" in message

    quarantine = tmp_path / "quarantine" / RUN_ID
    assert info.value.report_path == str(quarantine / "report.md")
    assert (quarantine / "run.json").exists()
    assert (quarantine / "raw" / "energy_consumption.parquet").exists()
    assert (quarantine / "raw" / "population.parquet").exists()
    report = (quarantine / "report.md").read_text(encoding="utf-8")
    assert "| prov.csv | 12 | 煤炭消费量(万吨) | -5 | value must be >= 0" in report
    assert "| error |" in report
    assert json.loads((quarantine / "report.json").read_text(encoding="utf-8"))["status"] == (
        "failed"
    )
    (error,) = failed(workdir, "error")
    assert error["examples"] == "prov.csv row 12 column '煤炭消费量(万吨)' value '-5'"
    # the work directory itself is left in place, results are written before raising
    assert (workdir / "raw" / "energy_consumption.parquet").exists()


def test_custom_quarantine_root(tmp_path):
    rows = energy_rows()
    rows[0]["value"] = -5.0
    workdir = make_workdir(tmp_path, energy_consumption=rows)
    with pytest.raises(ValidationFailed) as info:
        validate_workdir(workdir, quarantine_root=tmp_path / "q")
    assert info.value.report_path == str(tmp_path / "q" / RUN_ID / "report.md")
    assert info.value.summary["status"] == "failed"


def test_unknown_province_fails(tmp_path):
    rows = energy_rows()
    for row in rows[:3]:
        row["province_code"] = "999999"
    workdir = make_workdir(tmp_path, energy_consumption=rows)
    with pytest.raises(ValidationFailed, match="province_code '999999'"):
        validate_workdir(workdir)
    (error,) = failed(workdir, "error")
    assert error["column"] == "province_code" and error["unexpected_count"] == 3


def test_gdp_index_written_as_ratio_fails(tmp_path):
    rows = gdp_index_rows()
    rows[1].update(value=1.07, source_value="1.07")
    workdir = make_workdir(tmp_path, gdp_index=rows)
    with pytest.raises(ValidationFailed, match="value '1.07': GDP index"):
        validate_workdir(workdir)
    (error,) = failed(workdir, "error")
    assert error["source"] == "gdp_index" and error["unexpected_count"] == 1


@pytest.mark.parametrize("kind", ["energy_consumption", "population"])
def test_duplicate_key_fails(tmp_path, kind):
    rows = energy_rows() if kind == "energy_consumption" else population_rows()  # fuel null
    rows.append(dict(rows[0], source_row=99))
    workdir = make_workdir(tmp_path, **{kind: rows})
    with pytest.raises(ValidationFailed, match="must be unique"):
        validate_workdir(workdir)
    (error,) = failed(workdir, "error")
    assert error["column"] == "province_code,year,variable,fuel"
    assert error["unexpected_count"] == 2 and "row 99" in error["examples"]


def test_missing_column_fails(tmp_path):
    workdir = make_workdir(tmp_path)
    table = pa.Table.from_pylist(population_rows(), schema=RAW_SCHEMA).drop_columns(["unit"])
    pq.write_table(table, workdir / "raw" / "population.parquet")
    with pytest.raises(ValidationFailed, match="required raw columns"):
        validate_workdir(workdir)
    assert any(r["examples"] == "missing columns: unit" for r in failed(workdir, "error"))


def test_year_on_year_jump_warns(tmp_path):
    rows = population_rows()
    rows[2]["value"] = rows[1]["value"] * 10  # 人 read as 万人
    workdir = make_workdir(tmp_path, population=rows)
    summary = validate_workdir(workdir)
    assert summary["status"] == "passed_with_warnings"
    assert "year-on-year" in summary["warnings_summary"][0]
    assert Path(summary["report_path"]).exists()


def test_results_parquet_columns(tmp_path):
    workdir = make_workdir(tmp_path, energy_consumption=energy_rows())
    validate_workdir(workdir)
    table = pq.read_table(workdir / "validation" / "results.parquet")
    assert table.column_names == [
        "run_id",
        "source",
        "expectation",
        "column",
        "severity",
        "success",
        "unexpected_count",
        "examples",
    ]
    assert table.schema.field("success").type == pa.bool_()
    assert table.schema.field("unexpected_count").type == pa.int64()
    assert set(table.column("severity").to_pylist()) == {"error", "warning"}
    assert set(table.column("run_id").to_pylist()) == {RUN_ID}


def test_empty_workdir_passes_with_note(tmp_path):
    summary = validate_workdir(make_workdir(tmp_path))
    assert summary["status"] == "passed"
    assert summary["warnings_summary"] and "no raw Parquet" in summary["warnings_summary"][0]
