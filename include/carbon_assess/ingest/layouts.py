"""Recognise a table by its header (never by its file name) and yield typed observations.

Two NBS layouts are understood:
- long:  `省份编码, 省份, 年份, <indicator>(<unit>)...` (national files: `年份, <indicator>...`),
  or with the region header `地区编码, 地区, 年份, ...` for units of any level: a province,
  prefecture or county of GB/T 2260, or a unit a units sheet declares (see ingest.regions);
- wide (data-portal export): metadata lines `数据库：...`, `指标：<indicator>(<unit>)`, `时间：...`,
  a header `地区, 2019年, 2018年, ...` (national: `指标, 2019年, ...`), one row per province or
  indicator, and footer lines (`注：...`, `数据来源：...`).

A long layout's header is analysed here (`long_header`) and its rows are typed by DuckDB
(ingest.bulk), with these rules for the one row it finds first at fault (`LongHeader.check_row`).
A portal export's rows are consumed as a stream, each observation handed to an `emit` callback as
soon as its cell is parsed (see readers.py for the limits).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import chain

from carbon_assess import reference
from carbon_assess.errors import InputError
from carbon_assess.ingest.regions import names_unit as _names_unit
from carbon_assess.ingest.regions import province_header, resolve_region
from carbon_assess.ingest.schema import NATIONAL_CODE

# `<indicator>(<unit>)`; the unit may also be in square or lenticular brackets, `[亿元]`,
# `［亿元］`, `【亿元】` (full-width parentheses and square brackets are ASCII after NFKC).
HEADER_RE = re.compile(r"^(?P<name>.+?)\s*(?:\((?P<paren>[^()]+)\)|\[(?P<square>[^\[\]]+)\]"
                       r"|【(?P<lenticular>[^【】]+)】)\s*$")
YEAR_RE = re.compile(r"^(?P<year>(19|20)\d{2})(\s*年)?$")
BLANKS = frozenset({"", "n/a", "na", "nan", "—", "——", "-", "--", "－", "...", "…", "……", "null"})
THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
PROVINCE_COLUMNS = ("省份", "地区", "省份名称", "province")
CODE_COLUMNS = ("省份编码", "地区编码", "地区代码", "code")
YEAR_COLUMNS = ("年份", "年", "year")
METADATA_PREFIXES = ("数据库", "指标", "时间", "地区", "注", "数据来源")


@dataclass(frozen=True)
class Indicator:
    source_kind: str
    variable: str
    fuel: str | None
    canonical_unit: str
    factor: float
    source_unit: str
    unit_from_reference: bool = False  # header had no unit: NBS unit from indicators.csv


@dataclass(slots=True)
class Observation:
    region_code: str
    year: int
    indicator: Indicator
    value: float | None
    source_value: str
    source_row: int
    source_column: str


Rows = Iterable[tuple[int, list[str]]]  # (row number, cells), as the readers stream them
Emit = Callable[[Observation], None]


@dataclass
class ParsedTable:
    """What a table held: its layout, observations per source kind (the observations themselves
    went to `emit`), the columns used and skipped, and warnings for the run report."""

    layout: str
    counts: dict[str, int] = field(default_factory=dict)  # source kind -> observations
    columns_used: list[str] = field(default_factory=list)
    columns_skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings for the run report

    @property
    def observation_count(self) -> int:
        return sum(self.counts.values())

    def emitter(self, emit: Emit) -> Emit:
        """`emit`, counting each observation under its source kind."""
        counts = self.counts

        def counted(observation: Observation) -> None:
            kind = observation.indicator.source_kind
            counts[kind] = counts.get(kind, 0) + 1
            emit(observation)

        return counted


@cache
def _indicators() -> dict[str, list[dict[str, str]]]:
    """Indicator name → its specs (one per unit dimension it may be published in)."""
    table: dict[str, list[dict[str, str]]] = {}
    for row in reference.load("indicators"):
        table.setdefault(row["indicator_zh"], []).append(row)
    return table


@cache
def _units() -> dict[str, dict[str, str]]:
    return {row["unit"]: row for row in reference.load("units")}


def invisible_characters(text: str) -> str | None:
    """What to tell a user whose text holds invisible format characters (zero-width space
    U+200B, a byte-order mark U+FEFF inside the text, direction marks): the text prints like
    another one but does not equal it. None when it holds none. (Whitespace of any kind,
    U+00A0 and U+3000 too, is read as a space, as before: that is no reason to refuse.)"""
    found = sorted({ch for ch in text if unicodedata.category(ch) == "Cf"})
    if not found:
        return None
    names = ", ".join(f"U+{ord(ch):04X} {unicodedata.name(ch, 'format character').lower()}"
                      for ch in found)
    return f"holds an invisible character ({names}, shown escaped); delete it"


def _without_invisible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def unknown_unit_rule(what: str, text: str) -> str:
    """`unknown province` (or region...), saying so when the text holds an invisible
    character: then it prints like a known name."""
    hidden = invisible_characters(text)
    return f"unknown {what}" + (f": the name {hidden}" if hidden else "")


def normalise(text: str) -> str:
    """NFKC (full-width digits, letters, punctuation and spaces → ASCII), stripped."""
    return unicodedata.normalize("NFKC", text).replace("\u00a0", " ").strip()


def parse_indicator(header: str, file: str, row: int) -> Indicator | None:
    """The indicator a header names, None if the pipeline does not use it; unknown unit → error.

    A header without a unit (national balance tables) takes the indicator's NBS unit from
    indicators.csv (`unit_from_reference` is then set, so the report can say so).
    """
    text = normalise(header)
    match = HEADER_RE.match(text)
    name, unit = (match["name"].strip(),
                  (match["paren"] or match["square"] or match["lenticular"]).strip()
                  ) if match else (text, None)
    specs = _indicators().get(name)
    if not specs:
        hidden = invisible_characters(text)
        if hidden and parse_indicator(_without_invisible(header), file, row) is not None:
            raise InputError(file, f"header {hidden}", row=row, column=header)
        return None
    from_reference = unit is None
    if from_reference:
        with_unit = [s for s in specs if s["nbs_unit"]]
        if not with_unit:
            return None
        unit = with_unit[0]["nbs_unit"]
    unit_spec = _units().get(unit)
    spec = next(
        (s for s in specs if unit_spec and s["dimension"] == unit_spec["dimension"]), None
    )
    if spec is None:
        dimensions = {s["dimension"] for s in specs}
        known = sorted(u for u, s in _units().items() if s["dimension"] in dimensions)
        raise InputError(
            file,
            f"unknown unit {unit!r} for {name}; known units: {', '.join(known)}",
            row=row,
            column=header,
        )
    if not spec["variable"]:
        return None  # recognised, not used by the pipeline (e.g. an index with 1978 = 100)
    return Indicator(
        source_kind=spec["source_kind"],
        variable=spec["variable"],
        fuel=spec["fuel"] or None,
        canonical_unit=unit_spec["canonical_unit"],
        factor=float(unit_spec["factor_to_canonical"]),
        source_unit=unit,
        unit_from_reference=from_reference,
    )


def parse_number(text: str, file: str, row: int, column: str) -> float | None:
    """NBS cell text → float; NBS blank markers → None; anything else is an error."""
    cleaned = normalise(text.replace("\u00a0", ""))
    if cleaned.casefold() in BLANKS or text.strip() in BLANKS:
        return None
    if THOUSANDS_RE.match(cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        if "_" in cleaned:  # float() would read 1_000 as 1000
            raise ValueError(cleaned)
        value = float(cleaned)
    except ValueError:
        rule = "formula cells are not accepted; paste values" if cleaned.startswith("=") else (
            "not a number"
        )
        raise InputError(file, rule, row=row, column=column, value=text) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(file, "not a finite number", row=row, column=column, value=text)
    return value


CHINESE_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")


def parse_year(text: str, file: str, row: int, column: str) -> int:
    cleaned = normalise(text).removesuffix(".0")
    match = YEAR_RE.match(cleaned)
    if not match:
        rule = "not a year"
        spelled = cleaned.removesuffix("年").translate(CHINESE_DIGITS)
        if spelled != cleaned.removesuffix("年") and YEAR_RE.match(spelled):
            rule = f"not a year: write years in digits ({spelled}), not in Chinese numerals"
        raise InputError(file, rule, row=row, column=column, value=text)
    return int(match["year"])


def _region(text: str, file: str, row: int, column: str, code_column: bool) -> str:
    """The unit a row is about (any level; see ingest.regions)."""
    code = resolve_region(text, code_column)
    if code is None:
        what = "province" if province_header(column) else "region"
        raise InputError(file, unknown_unit_rule(what, text), row=row, column=column,
                         value=text)
    return code


def _non_empty(rows: Rows) -> Iterator[tuple[int, list[str]]]:
    return ((n, cells) for n, cells in rows if any(c for c in cells))


def detect_layout(cells: list[str]) -> str | None:
    """`wide` (portal export), `long` or None (not an NBS layout), from a table's first
    non-empty row as read (cells not yet normalised)."""
    first = [normalise(c.lstrip("\ufeff")) for c in cells]
    if first[0].startswith(("数据库", "指标：", "指标:")) or first[0] in ("地区", "指标"):
        return "wide"
    if any(c in YEAR_COLUMNS for c in first):
        return "long"
    return None


def parse_table(rows: Rows, file: str, emit: Emit) -> ParsedTable | None:
    """Parse a portal export (wide layout), handing each observation to `emit`; None when its
    header is no wide layout (nothing is emitted then). Long layouts are read by DuckDB
    (ingest.bulk), from `long_header` on."""
    content = _non_empty(rows)
    head = next(content, None)
    if head is None:
        raise InputError(file, "file is empty")
    if detect_layout(head[1]) != "wide":
        return None
    return parse_wide(chain([head], content), file, emit)


@dataclass
class LongHeader:
    """The header of a long-layout table, analysed: which columns hold the year, the unit
    (code and/or name) and each used indicator, and what the run report says about the others.

    The reader (ingest.bulk, DuckDB) starts from `long_header`; `year` and `region` parse the
    key cells of one row (once per distinct value), `check_row` the row DuckDB found first at
    fault, so that its error names the row, column and rule.
    """

    row: int  # the header's row number
    cells: list[str]  # normalised header texts
    year_col: int
    code_col: int | None
    name_col: int | None
    value_cols: list[tuple[int, Indicator]]  # (column, indicator) of every used column
    unnamed: list[int]  # columns without a header text
    parsed: ParsedTable  # layout, columns used / skipped and the header's notes

    @property
    def province_col(self) -> int | None:
        """The column naming a row's unit (the code, else the name); None: a national file."""
        return self.code_col if self.code_col is not None else self.name_col

    def year(self, cells: list[str], file: str, row: int) -> int:
        return parse_year(cells[self.year_col], file, row, self.cells[self.year_col])

    def region(self, cells: list[str], file: str, row: int) -> tuple[str, str | None]:
        """The row's unit code, and the retired GB/T 2260 code it was written as (or None)."""
        header, code_col, name_col, province_col = (self.cells, self.code_col, self.name_col,
                                                    self.province_col)
        if province_col is None:
            return NATIONAL_CODE, None
        written = cells[province_col].strip()
        code = _region(written, file, row, header[province_col],
                       code_column=province_col == code_col
                       and not province_header(header[province_col]))
        recoded = written[:6] if written[:6] != code and written[:6].isdigit() else None
        if code_col is not None and name_col is not None and cells[name_col].strip():
            named = resolve_region(cells[name_col], code_column=False)
            if named != code and not _names_unit(cells[name_col], code):
                what = "province" if province_header(header[name_col]) else "region"
                rule = (
                    unknown_unit_rule(what, cells[name_col]) if named is None
                    else f"{what} name does not match the code {cells[code_col]!r}"
                )
                raise InputError(
                    file, rule, row=row, column=header[name_col], value=cells[name_col]
                )
        return code, recoded

    def check_row(self, cells: list[str], file: str, row: int,
                  checked: Callable[[int], None]) -> None:
        """Raise the first error of a data row, in the order a person reads it: too few
        fields, the year, the unit, then each used cell left to right (`checked(j)` after the
        j-th used cell parsed, so the caller can stop there)."""
        if len(cells) < len(self.cells):
            raise InputError(
                file,
                f"row has {len(cells)} fields but the header has {len(self.cells)} "
                "(truncated file?)",
                row=row,
            )
        self.year(cells, file, row)
        self.region(cells, file, row)
        for j, (i, _) in enumerate(self.value_cols):
            parse_number(cells[i], file, row, self.cells[i])
            checked(j)

    def finish(self, unnamed_with_values: set[int], recoded: dict[str, str]) -> ParsedTable:
        """The parsed table once every row is read: notes on unnamed columns that hold values
        and on retired codes (`recoded`: old -> current) join the header's notes."""
        parsed = self.parsed
        parsed.notes[:0] = [
            f"column {i + 1} has values but no header (merged header cell?): skipped"
            for i in self.unnamed if i in unnamed_with_values
        ]
        if recoded:
            pairs = ", ".join(f"{old}→{new}" for old, new in sorted(recoded.items())[:5])
            parsed.notes.append(
                f"{len(recoded)} retired GB/T 2260 code(s) mapped to the current code "
                f"(reference/region_code_changes.csv): {pairs}"
                f"{' ...' if len(recoded) > 5 else ''}"
            )
        return parsed


def long_header(header_row: int, raw: list[str], file: str) -> LongHeader:
    """Analyse a long-layout header row (`raw`: the cells as read): errors for an unknown unit
    or two columns holding the same indicator, notes for unit-less and duplicated headers."""
    header = [normalise(c.lstrip("\ufeff")) for c in raw]
    year_col = next(i for i, c in enumerate(header) if c in YEAR_COLUMNS)
    code_col = next((i for i, c in enumerate(header) if c in CODE_COLUMNS), None)
    name_col = next((i for i, c in enumerate(header) if c in PROVINCE_COLUMNS), None)
    province_col = code_col if code_col is not None else name_col
    parsed = ParsedTable(layout="nbs_long" if province_col is not None else "nbs_long_national")
    value_cols: list[tuple[int, Indicator]] = []
    unitless: list[str] = []
    unnamed: list[int] = []  # columns without a header: a note if any row has a value there
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, column in enumerate(header):
        if i in (year_col, code_col, name_col):
            continue
        if not column:
            unnamed.append(i)
            continue
        indicator = parse_indicator(column, file, header_row)
        if indicator is None:
            parsed.columns_skipped.append(column)
            continue
        key = (indicator.source_kind, indicator.variable, indicator.fuel)
        if key in seen:
            raise InputError(
                file,
                f"duplicate column: {header[seen[key]]!r} (column {seen[key] + 1}) and "
                f"column {i + 1} hold the same indicator",
                row=header_row,
                column=column,
            )
        seen[key] = i
        value_cols.append((i, indicator))
        parsed.columns_used.append(column)
        if indicator.unit_from_reference:
            unitless.append(f"{column} [{indicator.source_unit}]")
    if unitless:
        parsed.notes.append(
            f"{len(unitless)} column(s) without a unit in the header, NBS unit taken from "
            f"indicators.csv: {', '.join(unitless)}"
        )
    duplicates = {c for c in header if c and header.count(c) > 1} - set(parsed.columns_used)
    if duplicates:
        parsed.notes.append(
            f"duplicated column header(s) not used: {', '.join(sorted(duplicates))}"
        )
    return LongHeader(row=header_row, cells=header, year_col=year_col, code_col=code_col,
                      name_col=name_col, value_cols=value_cols, unnamed=unnamed, parsed=parsed)


def parse_wide(content: Iterator[tuple[int, list[str]]], file: str, emit: Emit
               ) -> ParsedTable:
    """A portal export (its first non-empty row on): each observation handed to `emit`."""
    indicator: Indicator | None = None
    indicator_text = ""
    for row_number, cells in content:
        head = normalise(cells[0].lstrip("\ufeff"))
        if head.startswith(("指标：", "指标:")):
            indicator_text = re.split(r"[：:]", head, maxsplit=1)[1].strip()
            indicator = parse_indicator(indicator_text, file, row_number)
            if indicator is None:
                return ParsedTable(layout="nbs_portal_wide", columns_skipped=[indicator_text])
        elif head in ("地区", "指标"):
            header_row, header = row_number, cells
            break
    else:
        raise InputError(file, "portal export without a `地区, 2019年, ...` header row")
    header = [normalise(c.lstrip("\ufeff")) for c in header]
    national = header[0] == "指标"
    years: list[tuple[int, int]] = []
    seen_years: dict[int, int] = {}
    for i, column in enumerate(header[1:], start=1):
        if column:
            year = parse_year(column, file, header_row, column)
            if year in seen_years:
                raise InputError(
                    file,
                    f"duplicate column: year {year} appears in columns {seen_years[year] + 1} "
                    f"and {i + 1}",
                    row=header_row,
                    column=column,
                )
            seen_years[year] = i
            years.append((i, year))
    parsed = ParsedTable(layout="nbs_portal_wide_national" if national else "nbs_portal_wide")
    emit = parsed.emitter(emit)
    data_rows = (
        (n, cells)
        for n, cells in content
        if not normalise(cells[0]).startswith(("注", "数据来源", "附注", "说明"))
    )
    first_data = next(data_rows, None)
    if first_data is None:
        raise InputError(file, "header only, no data rows", row=header_row)
    for row_number, cells in chain([first_data], data_rows):
        if national:
            row_indicator = parse_indicator(cells[0], file, row_number)
            if row_indicator is None:
                parsed.columns_skipped.append(cells[0])
                continue
            code = NATIONAL_CODE
        else:
            if indicator is None:
                raise InputError(file, "portal export without an `指标：` line")
            row_indicator = indicator
            code = _region(cells[0], file, row_number, header[0], code_column=False)
        if len(cells) < len(header):
            raise InputError(
                file,
                f"row has {len(cells)} fields but the header has {len(header)} (truncated file?)",
                row=row_number,
            )
        column_label = indicator_text if not national else cells[0]
        for i, year in years:
            value = parse_number(cells[i], file, row_number, header[i])
            emit(
                Observation(
                    region_code=code,
                    year=year,
                    indicator=row_indicator,
                    value=None if value is None else value * row_indicator.factor,
                    source_value=cells[i],
                    source_row=row_number,
                    source_column=f"{column_label} / {header[i]}",
                )
            )
    if indicator_text and not national:
        parsed.columns_used.append(indicator_text)
    return parsed
