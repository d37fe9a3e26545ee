"""Property-based tests (Hypothesis) of the cell parsers: number, year, unit (header) and province.

Whatever text a cell or header holds, each parser gives a value or its documented `InputError`
(naming file, row, column and the text, on one line), never another exception. Where a value is
known (a number printed by Python, a year, an indicator with a unit of the reference tables, a
province name or alias), it is read back exactly. Runs are deterministic (`derandomize`, no
example database) and small, so CI is stable and fast.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from carbon_assess import reference
from carbon_assess.errors import InputError
from carbon_assess.ingest.layouts import (
    BLANKS,
    Indicator,
    parse_indicator,
    parse_number,
    parse_year,
)
from carbon_assess.ingest.provinces import province_codes, resolve_province

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

FILE, ROW, COLUMN = "f.csv", 7, "煤炭消费量(万吨)"
NUMBER_RULES = ("not a number", "formula cells are not accepted; paste values",
                "not a finite number")

# Text that looks like what lands in NBS cells, and then anything at all.
CELL_ALPHABET = ("0123456789,.+-eE_ =%()（）年万吨亿元人—…－/nNaAiIfF\u00a0\u3000"
                 "０１２３４５６７８９．，")
FULL_WIDTH = str.maketrans("0123456789.- ", "０１２３４５６７８９．－\u3000")
cell_like = st.text(alphabet=CELL_ALPHABET, max_size=24)
any_text = st.one_of(cell_like, st.text(max_size=40),
                     st.text(alphabet=st.characters(codec="utf-8"), max_size=12))


def _one_line_input_error(error: InputError, text: str) -> None:
    assert (error.file, error.row, error.column, error.value) == (FILE, ROW, COLUMN, text)
    assert "\n" not in str(error) and "\r" not in str(error)


# --- numbers ----------------------------------------------------------------------------------


@SETTINGS
@given(any_text)
@example("1e400")  # overflows to infinity
@example("nan")
@example("=SUM(A1:A3)")
@example("1_000")
@example("\ud800")  # a lone surrogate, as a broken decoder could leave
def test_any_text_is_a_finite_number_a_blank_or_the_documented_error(text: str) -> None:
    try:
        value = parse_number(text, FILE, ROW, COLUMN)
    except InputError as error:
        _one_line_input_error(error, text)
        assert error.rule in NUMBER_RULES
        return
    assert value is None or (isinstance(value, float) and math.isfinite(value))


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_as_python_prints_it_is_read_back(number: float) -> None:
    assert parse_number(repr(number), FILE, ROW, COLUMN) == number
    assert parse_number(f" {number!r}\u00a0", FILE, ROW, COLUMN) == number


@SETTINGS
@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(0, 99))
def test_thousands_separators_and_full_width_digits(whole: int, cents: int) -> None:
    grouped = f"{whole:,}.{cents:02d}"
    expected = float(f"{whole}.{cents:02d}")
    assert parse_number(grouped, FILE, ROW, COLUMN) == expected
    full_width = f"{whole}.{cents:02d}".translate(FULL_WIDTH)
    assert parse_number(full_width, FILE, ROW, COLUMN) == expected


@SETTINGS
@given(st.sampled_from(sorted(BLANKS)), st.sampled_from(["", " ", "\u3000", "\u00a0"]))
def test_nbs_blank_markers_are_blank(marker: str, pad: str) -> None:
    for text in (marker, marker.upper(), pad + marker + pad):
        assert parse_number(text, FILE, ROW, COLUMN) is None


# --- years ------------------------------------------------------------------------------------


@SETTINGS
@given(any_text)
@example("二〇一〇")
@example("2010.0")
@example("20100")
@example("２０１０年")
def test_any_text_is_a_year_or_the_documented_error(text: str) -> None:
    try:
        year = parse_year(text, FILE, ROW, COLUMN)
    except InputError as error:
        _one_line_input_error(error, text)
        assert error.rule == "not a year" or error.rule.startswith(
            "not a year: write years in digits (")
        return
    assert isinstance(year, int) and 1900 <= year <= 2099


@SETTINGS
@given(st.integers(1900, 2099), st.sampled_from(["{}", "{}年", "{}.0", " {} ", "{} 年"]),
       st.booleans())
def test_a_year_is_read_back(year: int, pattern: str, full_width: bool) -> None:
    text = pattern.format(year)
    if full_width:
        text = text.translate(FULL_WIDTH)
    assert parse_year(text, FILE, ROW, COLUMN) == year


@SETTINGS
@given(st.integers(1900, 2099))
def test_a_year_in_chinese_numerals_names_the_digits(year: int) -> None:
    spelled = str(year).translate(str.maketrans("0123456789", "〇一二三四五六七八九"))
    with pytest.raises(InputError, match=rf"write years in digits \({year}\)"):
        parse_year(spelled + "年", FILE, ROW, COLUMN)


# --- units (indicator headers) ----------------------------------------------------------------

INDICATORS = reference.load("indicators")
UNITS = reference.load("units")
NAMES = sorted({row["indicator_zh"] for row in INDICATORS})
UNIT_NAMES = sorted(row["unit"] for row in UNITS)


@SETTINGS
@given(st.one_of(
    any_text,
    st.tuples(st.sampled_from(NAMES), st.one_of(any_text, st.sampled_from(UNIT_NAMES)),
              st.sampled_from(["({})", "（{}）", " ({}) ", "({}）"]))
    .map(lambda t: t[0] + t[2].format(t[1])),
))
@example("煤炭消费量(吨)")
@example("煤炭消费量(公斤)")
@example("煤炭消费量")
@example("地区生产总值指数(1978年=100)")
def test_any_header_is_an_indicator_none_or_the_unknown_unit_error(header: str) -> None:
    try:
        indicator = parse_indicator(header, FILE, ROW)
    except InputError as error:
        assert (error.file, error.row, error.column) == (FILE, ROW, header)
        assert error.rule.startswith("unknown unit ") and "known units: " in error.rule
        assert "\n" not in str(error)
        return
    if indicator is not None:
        assert isinstance(indicator, Indicator) and math.isfinite(indicator.factor)
        assert indicator.factor > 0 and indicator.source_unit in UNIT_NAMES


def _pairs() -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(indicator name, its indicators.csv row, a unit of the same dimension)."""
    return [(row["indicator_zh"], row, unit) for row in INDICATORS for unit in UNITS
            if row["variable"] and unit["dimension"] == row["dimension"]]


@SETTINGS
@given(st.sampled_from(_pairs()), st.sampled_from(["{}({})", "{}（{}）", "{} ({})"]))
def test_every_known_unit_of_an_indicator_converts_with_its_factor(pair, pattern: str) -> None:
    name, row, unit = pair
    indicator = parse_indicator(pattern.format(name, unit["unit"]), FILE, ROW)
    assert indicator is not None
    assert (indicator.source_kind, indicator.variable, indicator.fuel) == (
        row["source_kind"], row["variable"], row["fuel"] or None)
    assert indicator.canonical_unit == unit["canonical_unit"]
    assert indicator.factor == float(unit["factor_to_canonical"])


# --- provinces --------------------------------------------------------------------------------

PROVINCES = reference.load("provinces")
CODES = province_codes()


def _names() -> list[tuple[str, str]]:
    out = []
    for row in PROVINCES:
        names = [row["code"], row["name_zh"], row["short_zh"], row["name_en"]]
        out += [(name, row["code"]) for name in names + row["aliases"].split("|") if name]
    return out


@SETTINGS
@given(st.one_of(any_text, st.sampled_from([n for n, _ in _names()]).map(lambda n: n + "x")))
@example("630000.0")
@example("６３００００")
@example("٦٣٠٠٠٠")  # Arabic-Indic digits are digits to `\d`, but no province code
def test_any_text_is_a_province_code_or_none(text: str) -> None:
    code = resolve_province(text)
    assert code is None or code in CODES


@SETTINGS
@given(st.sampled_from(_names()), st.sampled_from(["", " ", "\u3000", "\u00a0", "\t"]),
       st.sampled_from(["keep", "upper", "lower", "full-width"]))
def test_every_province_name_and_alias_resolves_whatever_the_spacing(
        pair: tuple[str, str], pad: str, case: str) -> None:
    name, code = pair
    if case == "upper":
        name = name.upper()
    elif case == "lower":
        name = name.lower()
    elif case == "full-width":  # ASCII letters and digits as an IME types them
        name = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    assert resolve_province(pad + name + pad) == code
