"""Generate the bad-input corpus: one landing folder per case + `cases.json` (the manifest).

    .venv/bin/python tests/data/bad/make_cases.py   # rewrites <case>/ folders + cases.json

All values are invented (round, synthetic numbers for three provinces, 2009-2011); nothing here
is copied from NBS releases. Output is deterministic (XLSX zip entries carry a fixed time), and
`tests/test_bad_input_corpus.py` checks that the committed files are what this script writes.

Three cases need the file system at test time and are only described here (`setup`): a ~100 MB
file (never committed), a file literally named `..\\..\\evil.csv`, and a symlink pointing out of
the landing folder.

Manifest fields per case:
- `case`: folder name; `what`: the situation; `command`: `run` (exit 2 cases, against a
  published warehouse that must not change) or `validate` (cases that must pass);
- `exit`: expected exit code; `message`: substrings of the one-line `error: ...` (exit 2) or of
  the printed summary (exit 0);
- `file` / `row` / `column`: where the report (report.json offenders) must point for exit 2;
- `setup`: extra files the test creates (`huge_file`, `evil_name`, `symlink_outside`).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2024, 1, 1)

NAMES = {"630000": "青海省", "110000": "北京市", "440000": "广东省", "540000": "西藏自治区"}
YEARS = (2009, 2010, 2011)
ENERGY_HEADER = ["煤炭消费量(万吨)", "焦炭消费量(万吨)", "天然气消费量(亿立方米)"]
ENERGY = {  # coal, coke, natural gas
    "630000": {2009: (1100, 150, 30), 2010: (1200, 160, 35), 2011: (1300, 170, 40)},
    "110000": {2009: (2700, 300, 70), 2010: (2600, 310, 75), 2011: (2400, 290, 80)},
    "440000": {2009: (15000, 700, 60), 2010: (16000, 720, 90), 2011: (17000, 750, 110)},
}
GDP = {
    "630000": {2009: 1000.0, 2010: 1100.0, 2011: 1250.0},
    "110000": {2009: 12000.0, 2010: 14000.0, 2011: 16000.0},
    "440000": {2009: 40000.0, 2010: 46000.0, 2011: 53000.0},
}
INDEX = {
    "630000": {2009: 110.0, 2010: 115.0, 2011: 113.0},
    "110000": {2009: 110.0, 2010: 110.0, 2011: 108.0},
    "440000": {2009: 109.0, 2010: 112.0, 2011: 110.0},
}
POPULATION = {
    "630000": {2009: 550.0, 2010: 560.0, 2011: 570.0},
    "110000": {2009: 1800.0, 2010: 1900.0, 2011: 2000.0},
    "440000": {2009: 10000.0, 2010: 10400.0, 2011: 10500.0},
}


def _num(value: float) -> str:
    return f"{value:g}"


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    text = out.getvalue()
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + text.encode("utf-8")
    return text.encode(encoding)


def energy_rows(edit=None) -> list[list[str]]:
    rows = [["省份编码", "省份", "年份", *ENERGY_HEADER]]
    for code, years in ENERGY.items():
        for year, values in years.items():
            rows.append([code, NAMES[code], str(year), *(_num(v) for v in values)])
    if edit:
        edit(rows)
    return rows


def series_rows(header: str, data: dict[str, dict[int, float]], edit=None) -> list[list[str]]:
    rows = [["省份编码", "省份", "年份", header]]
    for code, years in data.items():
        for year, value in years.items():
            rows.append([code, NAMES[code], str(year), _num(value)])
    if edit:
        edit(rows)
    return rows


def good_files(*, energy=True, gdp=True, index=True, population=True) -> dict[str, bytes]:
    files = {}
    if energy:
        files["energy.csv"] = _csv(energy_rows())
    if gdp:
        files["gdp.csv"] = _csv(series_rows("地区生产总值(亿元)", GDP))
    if index:
        files["gdp_index.csv"] = _csv(series_rows("地区生产总值指数(上年=100)", INDEX))
    if population:
        files["population.csv"] = _csv(series_rows("年末常住人口(万人)", POPULATION))
    return files


def _xlsx(build) -> bytes:
    """A workbook from `build(workbook)`, with fixed metadata and zip times (reproducible)."""
    from openpyxl import Workbook

    wb = Workbook()
    build(wb)
    wb.properties.creator = "tests/data/bad/make_cases.py (synthetic)"
    wb.properties.created = FIXED_TIME
    raw = io.BytesIO()
    wb.save(raw)
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)
    return out.getvalue()


def _set(rows: list[list[str]], code: str, year: int, column: int, value: str) -> None:
    for row in rows:
        if row[0] == code and row[2] == str(year):
            row[column] = value
            return
    raise KeyError((code, year))


def _drop(rows: list[list[str]], code: str, year: int) -> None:
    rows[:] = [r for r in rows if not (r[0] == code and r[2] == str(year))]


def _line(rows: list[list[str]], code: str, year: int) -> int:
    """1-based line of a province-year in a CSV written from rows (header = line 1)."""
    for number, row in enumerate(rows, start=1):
        if row[0] == code and row[2] == str(year):
            return number
    raise KeyError((code, year))


CASES: list[dict] = []


def case(name: str, what: str, files: dict[str, bytes], *, exit: int, message: list[str],
         command: str | None = None, file: str | None = None, row: int | None = None,
         column: str | None = None, setup: str | None = None) -> None:
    CASES.append({
        "case": name,
        "what": what,
        "command": command or ("run" if exit == 2 else "validate"),
        "exit": exit,
        "message": message,
        "file": file,
        "row": row,
        "column": column,
        "setup": setup,
        "files": files,
    })


def build_cases() -> None:
    CASES.clear()
    base = good_files

    # --- encodings ----------------------------------------------------------------------------
    case("encoding_utf16", "Excel 'Unicode text' export: UTF-16 with BOM",
         {**base(energy=False),
          "energy.csv": "\n".join(",".join(r) for r in energy_rows()).encode("utf-16")},
         exit=2, message=["energy.csv", "row 1", "UTF-16"], file="energy.csv", row=1)
    latin1 = "\n".join(",".join(r) for r in [
        ["province", "year", "coal", "note"], ["Qinghai", "2010", "1200", "révisé"],
        ["Beijing", "2010", "2600", "données provisoires é"]]) + "\n"
    case("encoding_latin1", "Latin-1 (Windows-1252) file: neither UTF-8 nor GB18030",
         {**base(), "notes_latin1.csv": latin1.encode("latin-1")},
         exit=2, message=["notes_latin1.csv", "neither UTF-8 nor GB18030", "row 2"],
         file="notes_latin1.csv", row=2)
    case("encoding_bom_but_gbk", "declares UTF-8 (BOM) but the bytes are GB18030",
         {**base(energy=False),
          "energy.csv": codecs.BOM_UTF8 + _csv(energy_rows(), "gb18030")},
         exit=2, message=["energy.csv", "declares UTF-8", "row 1"], file="energy.csv", row=1)
    case("encoding_gb18030_no_bom", "GB18030 without BOM, as the NBS portal writes (must work)",
         {**base(energy=False), "energy.csv": _csv(energy_rows(), "gb18030")},
         exit=0, message=["validation: passed", "energy_consumption 27"])

    # --- file shape ---------------------------------------------------------------------------
    case("empty_file", "a 0-byte CSV", {**base(), "energy_2012.csv": b""},
         exit=2, message=["energy_2012.csv", "file is empty"], file="energy_2012.csv")
    case("header_only", "a CSV with the header and no data rows",
         {**base(), "energy_2012.csv": _csv(energy_rows()[:1])},
         exit=2, message=["energy_2012.csv", "row 1", "header only"],
         file="energy_2012.csv", row=1)
    truncated = _csv(energy_rows())
    truncated = truncated[: truncated.rindex(b",")]  # cut inside the last row
    case("truncated_file", "download cut off in the middle of the last row",
         {**base(energy=False), "energy.csv": truncated},
         exit=2, message=["energy.csv", "row 10", "truncated"], file="energy.csv", row=10)
    cut_in_quote = _csv(energy_rows()) + b'630000,\xe9\x9d\x92\xe6\xb5\xb7\xe7\x9c\x81,2012,"14'
    case("truncated_in_quotes", "file cut off inside a quoted cell",
         {**base(energy=False), "energy.csv": cut_in_quote},
         exit=2, message=["energy.csv", "malformed CSV", "truncated"], file="energy.csv")
    case("xlsx_not_a_workbook", "CSV text saved with an .xlsx extension",
         {**base(), "energy_2012.xlsx": _csv(energy_rows())},
         exit=2, message=["energy_2012.xlsx", "not a readable XLSX workbook"],
         file="energy_2012.xlsx")
    case("huge_file", "~100 MB of repeated rows (generated at test time, never committed)",
         base(), exit=2, message=["huge.csv", "larger than the", "limit"], file="huge.csv",
         setup="huge_file")

    # --- paths --------------------------------------------------------------------------------
    case("path_traversal_name", "a file literally named ..\\..\\evil.csv (created at test time)",
         base(), exit=0, message=["evil.csv", "looks like a path", "validation: passed"],
         setup="evil_name")
    case("symlink_outside", "a symlink to a file outside the landing folder (test time)",
         base(), exit=0, message=["outside.csv", "symlink, not followed", "validation: passed"],
         setup="symlink_outside")

    # --- provinces ----------------------------------------------------------------------------
    rows = energy_rows(lambda r: r.append(["", "Atlantis", "2010", "1", "1", "1"]))
    no_code = [[c for i, c in enumerate(r) if i != 0] for r in rows]
    case("unknown_province", "a province that does not exist",
         {**base(energy=False), "energy.csv": _csv(no_code)},
         exit=2, message=["energy.csv", "row 11", "column '省份'", "unknown province",
                          "'Atlantis'"], file="energy.csv", row=11, column="省份")
    case("province_code_name_mismatch", "code 630000 (Qinghai) with the name 北京市",
         {**base(energy=False),
          "energy.csv": _csv(energy_rows(lambda r: r[2].__setitem__(1, "北京市")))},
         exit=2, message=["energy.csv", "row 3", "does not match the code", "'北京市'"],
         file="energy.csv", row=3, column="省份")

    def aliases(rows):
        for r in rows[1:]:
            if r[0] == "630000":
                r[0], r[1] = "150000", {"2009": "内蒙古", "2010": "内蒙古自治区",
                                        "2011": "Inner Mongolia"}[r[2]]
    names_only = [[c for i, c in enumerate(r) if i != 0] for r in energy_rows(aliases)]
    names_gdp = [[c for i, c in enumerate(r) if i != 0]
                 for r in series_rows("地区生产总值(亿元)", GDP, aliases)]
    names_index = [[c for i, c in enumerate(r) if i != 0]
                   for r in series_rows("地区生产总值指数(上年=100)", INDEX, aliases)]
    case("province_aliases", "内蒙古 / 内蒙古自治区 / Inner Mongolia name the same province",
         {"energy.csv": _csv(names_only), "gdp.csv": _csv(names_gdp),
          "gdp_index.csv": _csv(names_index)},
         exit=0, message=["validation: passed", "energy_consumption 27"])

    def spaces(rows):
        for r in rows[1:]:
            r[0] = ""
            r[1] = {"630000": " 青海省 ", "110000": "\u3000北京\u3000",
                    "440000": "Ｇｕａｎｇｄｏｎｇ"}[next(c for c, n in NAMES.items()
                                                      if n == r[1])]
    case("province_spaces_fullwidth", "names with spaces, ideographic spaces, full-width letters",
         {**base(energy=False),
          "energy.csv": _csv([[c for i, c in enumerate(r) if i != 0]
                              for r in energy_rows(spaces)])},
         exit=0, message=["validation: passed", "energy_consumption 27"])
    national = _csv([["年份", "国内生产总值(亿元)"], ["2009", "350000"], ["2010", "410000"],
                     ["2011", "480000"]])
    case("national_file_mixed_in", "a national GDP file (no province column) among provincial ones",
         {**base(), "national_gdp.csv": national},
         exit=0, message=["validation: passed", "gdp 12"])

    # --- cells --------------------------------------------------------------------------------
    case("text_in_number", "text in a number cell",
         {**base(energy=False),
          "energy.csv": _csv(energy_rows(lambda r: _set(r, "110000", 2010, 3, "约2600")))},
         exit=2, message=["energy.csv", "row 6", "煤炭消费量(万吨)", "not a number", "'约2600'"],
         file="energy.csv", row=6, column="煤炭消费量(万吨)")

    def formats(rows):
        _set(rows, "440000", 2010, 3, "16,000")  # thousands separator
        _set(rows, "440000", 2011, 3, "１７０００")  # full-width digits
        _set(rows, "630000", 2009, 4, "n/a")  # NBS blanks, leading: assumed zero
        _set(rows, "110000", 2010, 4, "—")  # between reported years: gap
        _set(rows, "440000", 2011, 5, "...")  # trailing: no longer reported
    case("number_formats", "1,234.5 parses; n/a, — and ... are NBS blanks (must work, warns)",
         {**base(energy=False), "energy.csv": _csv(energy_rows(formats))},
         # blank cells are explained after compute, from the models' own flags
         exit=0, message=["output gate: passed_with_warnings", "(after compute)",
                          "interpolated", "assumed_zero",
                          "of the province's fuel-combustion CO2 in 2010"])
    case("negative_coal", "a negative coal consumption",
         {**base(energy=False),
          "energy.csv": _csv(energy_rows(lambda r: _set(r, "630000", 2011, 3, "-5")))},
         exit=2, message=["energy.csv row 4", "煤炭消费量(万吨)", "'-5'", "must be >= 0"],
         file="energy.csv", row=4, column="煤炭消费量(万吨)")
    case("rounding_noise", "-1e-12 in a consumption cell is noise: warning only",
         {**base(energy=False),
          "energy.csv": _csv(energy_rows(lambda r: _set(r, "630000", 2011, 4, "-1e-12")))},
         exit=0, message=["validation: passed_with_warnings", "'-1e-12'", "rounding noise"])
    case("duplicate_province_year", "the same province-year twice",
         {**base(energy=False), "energy.csv": _csv(energy_rows(
             lambda r: r.append(["630000", "青海省", "2010", "1250", "165", "36"])))},
         exit=2, message=["energy.csv", "must be unique"], file="energy.csv", row=11)
    case("duplicated_column", "the same indicator column twice",
         {**base(energy=False), "energy.csv": _csv([
             [*r, r[3]] if i else [*r, "煤炭消费量(万吨)"] for i, r in enumerate(energy_rows())])},
         exit=2, message=["energy.csv", "row 1", "duplicate column", "煤炭消费量(万吨)"],
         file="energy.csv", row=1, column="煤炭消费量(万吨)")
    case("year_chinese_numerals", "a year written as 二〇一〇",
         {**base(energy=False), "energy.csv": _csv(energy_rows(
             lambda r: r[5].__setitem__(2, "二〇一〇")))},
         exit=2, message=["energy.csv", "row 6", "column '年份'", "二〇一〇", "digits (2010)"],
         file="energy.csv", row=6, column="年份")
    case("year_in_future", "a year after the current one (2091 typed for 2019)",
         {**base(gdp=False), "gdp.csv": _csv(series_rows("地区生产总值(亿元)", GDP,
                                                         lambda r: r[3].__setitem__(2, "2091")))},
         exit=2, message=["gdp.csv row 4", "year must be between 1949 and the current year"],
         file="gdp.csv", row=4)

    # --- units --------------------------------------------------------------------------------
    case("unknown_unit", "a unit the pipeline does not know",
         {**base(energy=False), "energy.csv": _csv(energy_rows(
             lambda r: r[0].__setitem__(3, "煤炭消费量(桶)")))},
         exit=2, message=["energy.csv", "row 1", "unknown unit '桶'"], file="energy.csv", row=1,
         column="煤炭消费量(桶)")
    tonnes = energy_rows()
    tonnes[0][3] = "煤炭消费量(吨)"
    for r in tonnes[1:]:
        r[3] = _num(float(r[3]) * 10000)
    case("unit_in_tonnes", "coal given in 吨 with a 吨 header is converted (must work)",
         {**base(energy=False), "energy.csv": _csv(tonnes)},
         exit=0, message=["validation: passed", "energy_consumption 27"])
    mixup = energy_rows(lambda r: _set(r, "630000", 2011, 3, "13000000"))
    case("unit_mixup", "Qinghai coal 2011 in 吨 pasted into the 万吨 column (10,000x)",
         {**base(energy=False), "energy.csv": _csv(mixup)},
         exit=2, message=["energy.csv row 4", "煤炭消费量(万吨)", "'13000000'", "unit mix-up"],
         file="energy.csv", row=4, column="煤炭消费量(万吨)")
    gdp_mixup = series_rows("地区生产总值(亿元)", GDP,
                            lambda r: _set(r, "110000", 2011, 3, "160000000"))
    case("unit_mixup_gdp", "Beijing GDP 2011 in 万元 in the 亿元 column",
         {**base(gdp=False), "gdp.csv": _csv(gdp_mixup)},
         exit=2, message=["gdp.csv row 7", "'160000000'", "unit mix-up"],
         file="gdp.csv", row=7, column="地区生产总值(亿元)")
    mixup_down = energy_rows(lambda r: _set(r, "630000", 2011, 3, "0.13"))
    case("unit_mixup_down", "Qinghai coal 2011 in 亿吨 typed into the 万吨 column (1/10,000)",
         {**base(energy=False), "energy.csv": _csv(mixup_down)},
         exit=2, message=["energy.csv row 4", "煤炭消费量(万吨)", "'0.13'", "1/8,462 of the median",
                          "unit mix-up"],
         file="energy.csv", row=4, column="煤炭消费量(万吨)")
    small = energy_rows()
    small[0][3] = "煤炭消费量(吨)"
    case("unit_header_too_small", "coal header says 吨, the figures are in 万吨 (converted "
         "silently before)",
         {**base(energy=False), "energy.csv": _csv(small)},
         exit=2, message=["energy.csv row 2", "煤炭消费量(吨)", "'1100'",
                          "coal consumption / population = 0.0002 t per person, below the "
                          "plausible minimum 0.004", "plausible bounds"],
         file="energy.csv", row=2, column="煤炭消费量(吨)")
    case("zero_gdp_base_year", "GDP 0 for Qinghai in 2010, the 12th FYP base year",
         {**base(gdp=False), "gdp.csv": _csv(series_rows(
             "地区生产总值(亿元)", GDP, lambda r: _set(r, "630000", 2010, 3, "0")))},
         exit=2, message=["gdp.csv row 3", "'0'", "青海省 (630000) GDP in 2010", "must be > 0"],
         file="gdp.csv", row=3, column="地区生产总值(亿元)")
    case("zero_coal", "coal 0 for Qinghai in 2011 beside its coke and gas figures",
         {**base(energy=False),
          "energy.csv": _csv(energy_rows(lambda r: _set(r, "630000", 2011, 3, "0")))},
         exit=2, message=["energy.csv row 4", "煤炭消费量(万吨)", "'0'", "must be > 0"],
         file="energy.csv", row=4, column="煤炭消费量(万吨)")
    case("gdp_index_as_ratio", "GDP index 1.07 instead of 107",
         {**base(index=False), "gdp_index.csv": _csv(series_rows(
             "地区生产总值指数(上年=100)", INDEX, lambda r: _set(r, "440000", 2010, 3, "1.07")))},
         exit=2, message=["gdp_index.csv row 9", "'1.07'", "between 80 and 130"],
         file="gdp_index.csv", row=9, column="地区生产总值指数(上年=100)")

    # --- coverage -----------------------------------------------------------------------------
    case("missing_base_year", "GDP lacks 2010 (base year of the 12th FYP) for Qinghai",
         {**base(gdp=False), "gdp.csv": _csv(series_rows(
             "地区生产总值(亿元)", GDP, lambda r: _drop(r, "630000", 2010)))},
         exit=2, message=["gdp.csv", "青海省 (630000)", "no GDP row for 2010",
                          "base year of the 12th FYP"],
         file="gdp.csv", column="地区生产总值(亿元)")
    case("missing_gdp_file", "energy data but no GDP file at all",
         base(gdp=False), exit=2,
         message=["no GDP file in the landing folder", "no GDP row for 2010"],
         file="(no GDP file in the landing folder)")
    case("missing_index_blank_base_year", "GDP index cell blank in 2010 for Guangdong",
         {**base(index=False), "gdp_index.csv": _csv(series_rows(
             "地区生产总值指数(上年=100)", INDEX, lambda r: _set(r, "440000", 2010, 3, "")))},
         exit=2, message=["gdp_index.csv row 9", "blank GDP index for 2010"],
         file="gdp_index.csv", row=9)
    case("missing_non_plan_year", "population lacks Beijing 2009: a warning, not an error",
         {**base(population=False), "population.csv": _csv(series_rows(
             "年末常住人口(万人)", POPULATION, lambda r: _drop(r, "110000", 2009)))},
         exit=0, message=["validation: passed_with_warnings", "北京市 (110000)",
                          "no population row for 2009"])

    def tibet(rows):
        for year in YEARS:
            rows.append(["540000", "西藏自治区", str(year), "", "", ""])
    tibet_gdp = {**GDP, "540000": {2009: 400.0, 2010: 500.0, 2011: 600.0}}
    case("blank_policy_warnings", "Tibet without fuel data; gas no longer reported (warnings)",
         {"energy.csv": _csv(energy_rows(lambda r: (tibet(r), _set(r, "110000", 2011, 5, "")))),
          "gdp.csv": _csv(series_rows("地区生产总值(亿元)", tibet_gdp)),
          "gdp_index.csv": _csv(series_rows("地区生产总值指数(上年=100)", INDEX))},
         exit=0, message=["output gate: passed_with_warnings", "(after compute)",
                          "西藏自治区 (540000)", "no longer reported after 2010", "assumed_zero"])

    # --- layout -------------------------------------------------------------------------------
    case("extra_unknown_columns", "columns the pipeline does not use: warning, not error",
         {**base(energy=False), "energy.csv": _csv([
             [*r, "备注" if i == 0 else "synthetic", "原煤产量(万吨)" if i == 0 else "1"]
             for i, r in enumerate(energy_rows())])},
         exit=0, message=["validation: passed", "not used by the pipeline", "备注"])
    case("name_says_one_thing_header_another",
         "population.csv holds the GDP index and gdp_index.csv the population (header wins)",
         {**base(index=False, population=False),
          "population.csv": _csv(series_rows("地区生产总值指数(上年=100)", INDEX)),
          "gdp_index.csv": _csv(series_rows("年末常住人口(万人)", POPULATION))},
         exit=0, message=["validation: passed", "gdp_index 9, population 9"])

    def portal(wb):
        ws = wb.active
        ws.title = "分省年度数据"
        ws.append(["数据库：分省年度数据"])
        ws.append(["指标：地区生产总值(亿元)"])
        ws.append(["时间：2009-2011"])
        ws.append(["地区", "2011年", "2010年", "2009年"])
        for code, years in GDP.items():
            ws.append([NAMES[code], *(years[y] for y in reversed(YEARS))])
        ws.append(["注：合成测试数据。"])
        ws.append(["数据来源：合成测试数据"])
        for r in (1, 2, 3, 8, 9):
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=4)
    case("xlsx_merged_header", "portal-style XLSX with merged title and footer cells (must work)",
         {**base(gdp=False), "gdp.xlsx": _xlsx(portal)},
         exit=0, message=["validation: passed", "gdp 9"])

    def formula(wb):
        ws = wb.active
        ws.title = "能源"
        for r in energy_rows():
            ws.append([int(c) if c.isdigit() else c for c in r])
        ws["D3"] = "=D2*1.1"
    case("xlsx_formula_cell", "a formula instead of a value in an XLSX cell",
         {**base(energy=False), "energy.xlsx": _xlsx(formula)},
         exit=2, message=["energy.xlsx [sheet 能源]", "row 3", "formula", "'=D2*1.1'"],
         file="energy.xlsx [sheet 能源]", row=3, column="煤炭消费量(万吨)")

    def portal_wide(rows_out):
        return [["数据库：分省年度数据"], ["指标：天然气消费量(亿立方米)"], ["时间：2009-2011"],
                ["地区", "2011年", "2010年", "2009年"],
                *([NAMES[c][:2], *(_num(ENERGY[c][y][2]) for y in reversed(YEARS))]
                  for c in ENERGY),
                ["注：合成测试数据。"], ["数据来源：合成测试数据"]]
    energy_no_gas = [r[:5] for r in energy_rows()]
    case("portal_wide_gb18030", "NBS portal export (wide, GB18030, metadata and footer lines)",
         {**base(energy=False), "energy.csv": _csv(energy_no_gas),
          "portal_gas.csv": _csv(portal_wide(None), "gb18030")},
         exit=0, message=["validation: passed", "energy_consumption 27"])


def write(target: Path = HERE) -> list[dict]:
    """Write every case folder and cases.json under `target`; returns the manifest."""
    build_cases()
    manifest = []
    for spec in CASES:
        folder = target / spec["case"]
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        for name, data in spec["files"].items():
            (folder / name).write_bytes(data)
        manifest.append({k: v for k, v in spec.items() if k != "files"})
    (target / "cases.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return manifest


if __name__ == "__main__":
    cases = write()
    print(f"wrote {len(cases)} cases to {HERE}")
