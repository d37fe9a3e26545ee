"""Resolve the unit of a landing row: a province (code, Chinese or English name, as before), any
GB/T 2260 unit of reference/regions.csv (code, or a name that is unique in the list), a retired
code of reference/region_code_changes.csv (mapped to the current one), or a declared extra unit.

Declared units (industrial parks, development zones: a units sheet's `code, name, level,
parent`) have codes outside GB/T 2260. Ingest cannot know them before it has read every file, so
a *code* column accepts any identifier that is not a six-digit number (letters, digits, `-`,
`_`; it must start with a letter) and validation checks that a units sheet declares it
(`region_code_known`). Six-digit codes must be in GB/T 2260 (or its change list) here, at ingest.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from carbon_assess import reference
from carbon_assess.ingest.provinces import resolve_province

DECLARED_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
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
