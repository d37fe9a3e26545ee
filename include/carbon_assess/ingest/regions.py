"""Resolve the unit of a landing row: a province (code, Chinese or English name, as before), any
GB/T 2260 unit of reference/regions.csv (code, or a name that is unique in the list), a retired
code of reference/region_code_changes.csv (mapped to the current one), or a declared extra unit.

Declared units (industrial parks, development zones: a units sheet's `code, name, level,
parent`) have codes outside GB/T 2260, of one pattern (`DECLARED_CODE`, reference/regions.md):
a letter first, then letters, digits, `-` or `_`, at most 32 characters; by convention `Z`, the
six-digit code of the unit's county and a four-digit number (Z3605020001). Such a code never
looks like a GB/T 2260 code. Ingest cannot know them before it has read every file, so a *code*
column accepts any code of that pattern and validation checks that a units sheet declares it
(`region_code_known`). Six-digit codes must be in GB/T 2260 (or its change list) here, at ingest;
a units sheet may not declare a six-digit code that is not in GB/T 2260 (`declared_code_rule`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from carbon_assess import reference
from carbon_assess.ingest.provinces import resolve_province

DECLARED_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
DECLARED_PATTERN = ("a declared unit's code starts with a letter, then letters, digits, '-' or "
                    "'_' (at most 32 characters), e.g. Z3605020001: 'Z', the county's GB/T 2260 "
                    "code and a number")
_DIGITS = re.compile(r"\d{6}(\.0+)?")


@cache
def _codes() -> dict[str, str]:
    """Current codes of every GB/T 2260 unit, plus retired codes mapped to the current ones."""
    table = {row["code"]: row["code"] for row in reference.load("regions")}
    for change in reference.load("region_code_changes"):
        table.setdefault(change["old_code"], change["new_code"])
    return table


@cache
def _unique_names() -> dict[str, str]:
    """Unit names that name exactly one unit of regions.csv (朝阳区 names two: not here)."""
    seen: dict[str, list[str]] = {}
    for row in reference.load("regions"):
        seen.setdefault(row["name"], []).append(row["code"])
    return {name: codes[0] for name, codes in seen.items() if len(codes) == 1}


@cache
def resolve_region(text: str, code_column: bool = True) -> str | None:
    """The code of the unit `text` names, or None when it names none.

    `code_column`: the text comes from a code column (地区编码 ...), where a declared unit's code
    is accepted as written."""
    province = resolve_province(text)
    if province is not None:
        return province
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if _DIGITS.fullmatch(cleaned):
        return _codes().get(cleaned[:6])
    named = _unique_names().get(cleaned)
    if named is not None:
        return named
    if code_column and DECLARED_CODE.fullmatch(cleaned):
        return cleaned
    return None


@cache
def _names() -> set[tuple[str, str]]:
    """(current code, name): every unit's name, and the old names of renamed or recoded units."""
    return ({(row["code"], row["name"]) for row in reference.load("regions")}
            | {(c["new_code"], c["old_name"]) for c in reference.load("region_code_changes")})


def province_header(header: str) -> bool:
    """Whether a column header says province (省份..., province...): its unit must be known as
    written (no declared unit's code) and an unknown one is an "unknown province", as before
    units below the provinces existed; any other header (地区..., region, code) says region."""
    return header.strip().casefold().startswith(("省份", "province"))


def names_unit(name: str, code: str) -> bool:
    """Whether `name` may stand beside `code` in a row: the unit's own name in regions.csv (for
    names several units share, e.g. 朝阳区) or an old name of it (region_code_changes.csv), or
    any name of a declared unit (a units sheet names it; ingest has not read it yet)."""
    cleaned = unicodedata.normalize("NFKC", name).strip()
    if code not in _codes():
        return DECLARED_CODE.fullmatch(code) is not None
    return (code, cleaned) in _names()


def declared_code_rule(code: str) -> str | None:
    """Why a units sheet may not declare `code` (its `code` cell, NFKC and stripped), None when
    it may: it follows `DECLARED_CODE`, or it is a current GB/T 2260 code (which validation then
    refuses as known already, naming the unit). A six-digit code outside GB/T 2260 is refused
    here: it would read as a GB/T 2260 unit that does not exist."""
    if DECLARED_CODE.fullmatch(code) or code in _gb_codes():
        return None
    if _DIGITS.fullmatch(code):
        return f"six-digit code not in GB/T 2260 (reference/regions.csv); {DECLARED_PATTERN}"
    return f"not a declared unit's code: {DECLARED_PATTERN}"


@cache
def _gb_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in reference.load("regions"))
