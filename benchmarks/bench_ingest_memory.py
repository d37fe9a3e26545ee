"""Benchmark: peak memory (RSS) and time of ingesting large files near the input limits.

    .venv/bin/python benchmarks/bench_ingest_memory.py [--cases a,b] [--command ingest|validate]
                                                       [--include DIR]

Generates, in a temporary folder, one landing folder per case (long-layout NBS rows: code,
province, year and 8 value columns, 11 cells a row; XLSX written part by part, never held in
memory) and reads each in a child process, reporting the child's peak RSS (`ru_maxrss` from
`wait4`), wall time and outcome (accepted rows, or the one-line rejection):

- csv_max_accepted     a CSV at both limits: CARBON_ASSESS_MAX_CELLS cells, one used column of
                       8, so just under CARBON_ASSESS_MAX_ROWS observations (accepted)
- xlsx_max_accepted    the same rows as an XLSX (accepted)
- csv_at_size_limit    a CSV of just under CARBON_ASSESS_MAX_FILE_BYTES (refused: cells)
- csv_over_rows        8 used columns, 1.6x CARBON_ASSESS_MAX_ROWS observations (refused: rows)
- xlsx_over_cells      an XLSX under the unpacked limit with 3x the cell limit (refused: cells)
- xlsx_many_strings    a small sheet with as many unique shared strings as the cell limit
                       allows (openpyxl holds them all: the worst accepted XLSX) (accepted)
- xlsx_issue_10        ~57 MiB XLSX unpacking to ~610 MiB, like issue 10's (refused: unpacked)

`--command ingest` (default) runs the ingest stage alone; `--command validate` runs the CLI
`carbon-assess validate` (ingest and Great Expectations). `--include DIR` puts another source
tree first on the child's path, to compare with an older version of the readers (e.g. one
extracted with `git archive <commit> include | tar -x -C /tmp/old`).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INCLUDE = REPO / "include"

PROVINCES = [("110000", "北京市"), ("120000", "天津市"), ("130000", "河北省"),
             ("140000", "山西省"), ("150000", "内蒙古自治区"), ("630000", "青海省")]
USED = ["煤炭消费量(万吨)", "焦炭消费量(万吨)", "原油消费量(万吨)", "汽油消费量(万吨)",
        "煤油消费量(万吨)", "柴油消费量(万吨)", "燃料油消费量(万吨)", "天然气消费量(亿立方米)"]
UNUSED = ["第一产业增加值(亿元)", "第二产业增加值(亿元)", "第三产业增加值(亿元)",
          "工业增加值(亿元)", "建筑业增加值(亿元)", "金融业增加值(亿元)", "房地产业增加值(亿元)"]
HEADER = ["省份编码", "省份", "年份", *USED]  # 8 observations a row
MIXED = ["省份编码", "省份", "年份", USED[0], *UNUSED]  # 1 observation a row
CELLS_PER_ROW = len(HEADER)
DEFAULT_MAX_CELLS = 2_000_000
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
CASES = ("csv_max_accepted", "xlsx_max_accepted", "csv_at_size_limit", "csv_over_rows",
         "xlsx_over_cells", "xlsx_many_strings", "xlsx_issue_10")

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from carbon_assess.errors import InputError
from carbon_assess.ingest import ingest_landing
start = time.perf_counter()
try:
    report = ingest_landing(sys.argv[2], sys.argv[3], "bench", "bench")
    outcome = "accepted, " + ", ".join(f"{k} {v:,}" for k, v in report["row_counts"].items())
except InputError as exc:
    outcome = "refused: " + str(exc)
except MemoryError:
    outcome = "error: unexpected MemoryError"
print(f"{time.perf_counter() - start:.2f}\\t{outcome}")
"""


def _limit(env: str, default: int) -> int:
    raw = os.environ.get(env, "").strip()
    return int(float(raw)) if raw else default


def _rows(rng: random.Random):
    """Endless long-layout rows (cell texts)."""
    while True:
        for code, name in PROVINCES:
            for year in range(1990, 2020):
                yield [code, name, str(year), *(f"{rng.randint(1, 99999) / 10:.1f}"
                                                 for _ in USED)]


def write_csv(path: Path, rows: int | None = None, max_bytes: int | None = None,
              header: list[str] = HEADER) -> int:
    """A CSV of `rows` data rows, or as many as fit in `max_bytes`; returns the cell count."""
    rng = random.Random(10)
    source = _rows(rng)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(header) + "\n")
        size = len((",".join(header) + "\n").encode())
        while rows is None or written < rows:
            block = []
            for _ in range(1000 if rows is None else min(1000, rows - written)):
                block.append(",".join(next(source)) + "\n")
            text = "".join(block)
            encoded = len(text.encode())
            if max_bytes is not None and size + encoded > max_bytes:
                break
            handle.write(text)
            size += encoded
            written += len(block)
    return (written + 1) * CELLS_PER_ROW


def _column(index: int) -> str:
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')


def write_xlsx(path: Path, rows: int, values: int | None = None, extra_strings: int = 0,
               header: list[str] = HEADER) -> tuple[int, int]:
    """An XLSX of `rows` data rows (names and headers as shared strings, as Excel writes them).

    `values` limits the distinct numbers (fewer compress better, as in the issue's workbook);
    `extra_strings` adds unused unique shared strings. Returns (cells, unpacked bytes)."""
    rng = random.Random(10)
    strings = header + [name for _, name in PROVINCES]
    index = {s: i for i, s in enumerate(strings)}
    pool = [f"{rng.randint(1, 99999) / 10:.1f}" for _ in range(values)] if values else None
    source = _rows(rng)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        total = len(strings) + extra_strings
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns='
                         '"http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                         f'count="{total}" uniqueCount="{total}">'
                         + "".join(f"<si><t>{s}</t></si>" for s in strings)).encode())
            for start in range(0, extra_strings, 10_000):
                table.write("".join(f"<si><t>省份名称 {i:08d}</t></si>" for i in
                                    range(start, min(start + 10_000, extra_strings))).encode())
            table.write(b"</sst>")
        last = f"{_column(CELLS_PER_ROW - 1)}{rows + 1}"
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
                         'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                         f'<dimension ref="A1:{last}"/><sheetData>').encode())
            first = "".join(f'<c r="{_column(i)}1" t="s"><v>{index[h]}</v></c>'
                            for i, h in enumerate(header))
            sheet.write(f'<row r="1">{first}</row>'.encode())
            block: list[str] = []
            for number in range(2, rows + 2):
                code, name, year, *numbers = next(source)
                if pool:
                    numbers = [pool[rng.randrange(len(pool))] for _ in numbers]
                cells = [f'<c r="A{number}"><v>{code}</v></c>',
                         f'<c r="B{number}" t="s"><v>{index[name]}</v></c>',
                         f'<c r="C{number}"><v>{year}</v></c>']
                cells += [f'<c r="{_column(3 + i)}{number}"><v>{v}</v></c>'
                          for i, v in enumerate(numbers)]
                block.append(f'<row r="{number}">{"".join(cells)}</row>')
                if len(block) == 2000:
                    sheet.write("".join(block).encode())
                    block = []
            sheet.write(("".join(block) + "</sheetData></worksheet>").encode())
        unpacked = sum(info.file_size for info in archive.infolist())
    return (rows + 1) * CELLS_PER_ROW, unpacked


def build(case: str, landing: Path, max_cells: int, max_bytes: int, max_rows: int
          ) -> dict[str, object]:
    landing.mkdir(parents=True)
    rows_at_limit = max_cells // CELLS_PER_ROW - 1  # data rows, the header row counts too
    accepted = min(rows_at_limit, max_rows)  # one observation a row (MIXED header)
    if case == "csv_max_accepted":
        path = landing / "energy.csv"
        cells = write_csv(path, rows=accepted, header=MIXED)
        unpacked = None
    elif case == "csv_over_rows":
        path = landing / "energy.csv"
        cells = write_csv(path, rows=max_rows // 5)  # 8 observations a row
        unpacked = None
    elif case == "csv_at_size_limit":
        path = landing / "energy.csv"
        cells = write_csv(path, max_bytes=max_bytes - 1024, header=MIXED)
        unpacked = None
    elif case == "xlsx_max_accepted":
        path = landing / "energy.xlsx"
        cells, unpacked = write_xlsx(path, accepted, header=MIXED)
    elif case == "xlsx_over_cells":
        path = landing / "energy.xlsx"
        cells, unpacked = write_xlsx(path, 3 * rows_at_limit, header=MIXED)
    elif case == "xlsx_many_strings":
        path = landing / "energy.xlsx"
        strings = len(MIXED) + len(PROVINCES)
        cells, unpacked = write_xlsx(path, 100, extra_strings=max_cells - strings, header=MIXED)
    elif case == "xlsx_issue_10":
        path = landing / "energy.xlsx"
        cells, unpacked = write_xlsx(path, 1_700_000, values=4)
    else:
        raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")
    return {"bytes": path.stat().st_size, "unpacked": unpacked, "cells": cells}


def measure(command: str, include: Path, landing: Path, work: Path) -> tuple[int, float, str]:
    """(peak RSS in bytes, seconds, outcome) of one child process."""
    env = dict(os.environ, CARBON_ASSESS_HOME=str(work / "home"), GX_ANALYTICS_ENABLED="False",
               PYTHONPATH=str(include))
    if command == "ingest":
        argv = [sys.executable, "-c", CHILD, str(include), str(landing), str(work / "run")]
    else:
        argv = [sys.executable, "-c",
                "import sys; from carbon_assess.cli import main; sys.exit(main(sys.argv[1:]))",
                "validate", "--landing", str(landing), "--workdir", str(work / "run")]
    start = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = child.stdout.read().decode("utf-8", "replace")
    err = child.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if command == "ingest" and "\t" in out:
        seconds, outcome = out.strip().split("\t", 1)
        elapsed = float(seconds)
    else:
        lines = [line for line in (err + out).splitlines()
                 if line.startswith(("error:", "validation:"))]
        outcome = f"exit {child.returncode}: " + (lines[0] if lines else "")
    return usage.ru_maxrss * 1024, elapsed, outcome.strip()


def _mib(count: int | None) -> str:
    return "-" if count is None else f"{count / 2**20:,.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES),
                        help=f"comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--command", choices=("ingest", "validate"), default="ingest")
    parser.add_argument("--include", type=Path, default=DEFAULT_INCLUDE,
                        help="source tree holding carbon_assess (default: this checkout)")
    args = parser.parse_args()
    max_cells = _limit("CARBON_ASSESS_MAX_CELLS", DEFAULT_MAX_CELLS)
    max_bytes = _limit("CARBON_ASSESS_MAX_FILE_BYTES", DEFAULT_MAX_BYTES)
    max_rows = _limit("CARBON_ASSESS_MAX_ROWS", DEFAULT_MAX_ROWS)
    print(f"source: {args.include}  command: {args.command}  limits: {max_bytes / 2**20:g} MiB "
          f"and {max_cells:,} cells per file, {max_rows:,} rows per run")
    print(f"{'case':<20}{'file':>12}{'unpacked':>13}{'cells':>13}{'peak RSS':>13}{'time':>9}"
          "  outcome")
    for case in [c.strip() for c in args.cases.split(",") if c.strip()]:
        tmp = Path(tempfile.mkdtemp(prefix="carbon-bench-mem-"))
        try:
            facts = build(case, tmp / "landing", max_cells, max_bytes, max_rows)
            rss, seconds, outcome = measure(args.command, args.include, tmp / "landing", tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"{case:<20}{_mib(facts['bytes']):>12}{_mib(facts['unpacked']):>13}"
              f"{facts['cells']:>13,}{_mib(rss):>13}{seconds:>8.1f}s  {outcome[:150]}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
