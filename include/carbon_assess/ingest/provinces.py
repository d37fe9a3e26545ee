"""Resolve a province written as a GB/T 2260 code, a full or short Chinese name, or in English."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from carbon_assess import reference


def _key(text: str) -> str:
    return re.sub(r"[\s\-_'’.]", "", text).casefold()


@cache
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for row in reference.load("provinces"):
        names = [row["code"], row["name_zh"], row["short_zh"], row["name_en"]]
        names += [a for a in row["aliases"].split("|") if a]
        for name in names:
            table[_key(name)] = row["code"]
    return table


def province_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in reference.load("provinces"))


def resolve_province(text: str) -> str | None:
    """The GB/T 2260 code for `text`, or None when it names no province."""
    cleaned = unicodedata.normalize("NFKC", text).strip()  # full-width letters, digits, spaces
    if re.fullmatch(r"\d{6}(\.0+)?", cleaned):
        cleaned = cleaned[:6]
    return _lookup().get(_key(cleaned))
