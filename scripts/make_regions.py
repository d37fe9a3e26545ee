"""Regenerate reference/regions.csv and reference/region_code_changes.csv from npm tarballs.

The two tables are committed; nothing downloads them at run time and CI does not run this
script. To rebuild them (see reference/regions.md for what is taken from where and why):

    cd /tmp && npm pack china-region@1.4.1 gb2260@0.6.0
    .venv/bin/python scripts/make_regions.py \
        --regions /tmp/china-region-1.4.1.tgz --history /tmp/gb2260-0.6.0.tgz
    .venv/bin/python scripts/make_regions.py --regions ... --history ... --check

Inputs (each tarball's sha512 is checked against the integrity npm published for it):
- china-region 1.4.1, `package/data/region.json`: the Ministry of Civil Affairs (MCA) list
  of county-level-and-above codes of December 2020 (code -> name). This is regions.csv.
- gb2260 0.6.0, `package/lib/<revision>.json`: 19 MCA code lists, 2002-12 to 2016-07, in the
  same form. With the 2020-12 list as the last, consecutive lists are compared to derive
  region_code_changes.csv (rules in `step_edges`); neither package states changes itself.

`--check` writes nothing and exits 1 when the committed files differ from what the tarballs
give. The run prints the counts and the historic codes for which no successor was derived.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import sys
import tarfile
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "include" / "carbon_assess" / "reference"

# package, version, npm dist.integrity of its tarball
REGIONS_PACKAGE = ("china-region", "1.4.1",
                   "sha512-1XYSuOcxd+a6X6WW3FMQ920ZQi39//Vh2mTXgVK/EU9wtjPIvUwlrZM4ZaaxjyFuwNnj3L+tKMovQGuadncuMQ==")
HISTORY_PACKAGE = ("gb2260", "0.6.0",
                   "sha512-KfKSID6/PV1kovF6rn3Y6Ckt+JTL8skXmUJQaD24ur4+QgTfdWCGrNOATpgQpMoWtPU6VxYd3n9s+6GGtzoP/Q==")
REGIONS_MEMBER = "package/data/region.json"
REGIONS_REVISION = "202012"  # the MCA list china-region's README names (xzqh/2020/20201201)
HISTORY_DIR = "package/lib/"

REGION_COLUMNS = ("code", "name", "level", "parent_code", "province_code")
CHANGE_COLUMNS = ("old_code", "old_name", "new_code", "new_name", "year", "change")

# Taiwan, Hong Kong, Macao: in the MCA list as single provincial rows; not assessed here.
EXCLUDED_PROVINCES = ("71", "81", "82")
# Municipalities: their xxyy00 codes (110100 市辖区, 110200 县, 500300 市) group districts and
# counties and are not administrative units.
MUNICIPALITIES = ("11", "12", "31", "50")
# Name suffixes stripped to compare a unit before and after a change of type (县 -> 区, ...);
# longer suffixes first.
TYPE_SUFFIXES = ("自治县", "自治旗", "自治州", "林区", "特区", "地区", "县", "市", "区", "旗", "盟")

Pair = tuple[str, str]  # (code, name)


def verify(path: Path, integrity: str) -> bytes:
    """The tarball's bytes, after checking them against npm's `sha512-<base64>` integrity."""
    data = path.read_bytes()
    actual = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != integrity:
        raise SystemExit(f"{path}: integrity {actual} is not the expected {integrity}")
    return data


def _unique_pairs(pairs: list[tuple[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in pairs:
        if key in result:
            raise SystemExit(f"duplicate code {key} in a source list")
        result[key] = value
    return result


def read_json(tar: tarfile.TarFile, member: str) -> dict[str, str]:
    handle = tar.extractfile(member)
    if handle is None:
        raise SystemExit(f"{member} is not a file in the tarball")
    return json.loads(handle.read().decode("utf-8"), object_pairs_hook=_unique_pairs)


def level(code: str) -> str:
    """GB/T 2260 level from the code's pattern."""
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "prefecture"
    return "county"


def is_summary(code: str, name: str) -> bool:
    """A grouping row of the code list, not a unit: 市辖区 (xxyy01 or a municipality's xxyy00),
    a municipality's 县/市 (110200, 500300), a province's 直辖县级行政区划 (xx9000)."""
    if level(code) == "prefecture" and (code[:2] in MUNICIPALITIES or code[2:4] == "90"):
        return True
    return name.endswith("市辖区")


def units(codes: dict[str, str]) -> dict[str, str]:
    """The administrative units of one code list: no summary rows, no Taiwan/Hong Kong/Macao."""
    return {code: name.strip() for code, name in codes.items()
            if code[:2] not in EXCLUDED_PROVINCES and not is_summary(code, name.strip())}


def stem(name: str) -> str:
    for suffix in TYPE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def build_regions(codes: dict[str, str]) -> list[dict[str, str]]:
    """Rows of regions.csv. A county's parent is its prefecture (xxyy00) when the list has one;
    otherwise the province: the districts and counties of the four municipalities, and the
    county-level units a province administers directly (codes xx90yy)."""
    for code, name in codes.items():
        if len(code) != 6 or not code.isdigit() or not name or name != name.strip():
            raise SystemExit(f"malformed row {code!r} {name!r}")
    kept = units(codes)
    rows = []
    for code in sorted(kept):
        province = code[:2] + "0000"
        if province not in kept:
            raise SystemExit(f"{code}: province {province} missing")
        lvl = level(code)
        parent = ""
        if lvl == "prefecture":
            parent = province
        elif lvl == "county":
            prefecture = code[:4] + "00"
            if prefecture in kept:
                parent = prefecture
            elif code[:2] in MUNICIPALITIES or code[2:4] == "90":
                parent = province
            else:
                raise SystemExit(f"{code} {kept[code]}: no prefecture {prefecture}")
        rows.append({"code": code, "name": kept[code], "level": lvl, "parent_code": parent,
                     "province_code": province})
    return rows


def _match(gone: set[Pair], born: set[Pair], key: Callable[[Pair], Hashable],
           edges: dict[Pair, Pair]) -> None:
    """Pair each vanished unit with the one new unit of the same key, where both are unique."""
    by_gone: dict[Hashable, list[Pair]] = defaultdict(list)
    by_born: dict[Hashable, list[Pair]] = defaultdict(list)
    for pair in gone:
        by_gone[key(pair)].append(pair)
    for pair in born:
        by_born[key(pair)].append(pair)
    for k, old in by_gone.items():
        new = by_born.get(k, [])
        if len(old) == 1 and len(new) == 1:
            edges[old[0]] = new[0]
            gone.discard(old[0])
            born.discard(new[0])


def step_edges(old: dict[str, str], new: dict[str, str]) -> dict[Pair, Pair]:
    """(code, name) of the older list -> (code, name) of the newer, for the units that changed.

    A unit is a (code, name) pair; one of the older list that is not in the newer has
    vanished. It is matched, in this order and only when the match is one-to-one, to a
    new pair in the same province and at the same level with
    1. the same name (re-coded, e.g. a county moved to another prefecture);
    2. the same code (renamed; codes are GB/T 2260's identity, so step 1 first catches the
       rare reuse of a code for another unit, Hainan 2007);
    3. the same name without its type suffix (re-coded with a new type, 延庆县 -> 延庆区);
    4. a county made a district or city under a new name (户县 -> 鄠邑区): the only unmatched
       vanished county-level unit of its prefecture (after the prefecture's own change of
       code, if any; a whole municipality counts as one prefecture), not itself a district,
       and the only unmatched new county-level unit there, a district or a city. A vanished
       district is never matched here: districts are merged into neighbours while an
       unrelated one is created (太平区 and 松北区, Harbin 2004), which this rule cannot tell
       from a renaming.
    Anything else (merges, splits, an abolished unit, a change of level) stays unmatched.
    """
    gone = {(c, n) for c, n in old.items() if new.get(c) != n}
    born = {(c, n) for c, n in new.items() if old.get(c) != n}
    edges: dict[Pair, Pair] = {}
    _match(gone, born, lambda p: (p[0][:2], level(p[0]), p[1]), edges)
    _match(gone, born, lambda p: p[0], edges)
    _match(gone, born, lambda p: (p[0][:2], level(p[0]), stem(p[1])), edges)
    moved = {o[0]: n[0] for o, n in edges.items() if level(o[0]) == "prefecture"}

    def prefecture(code: str, renames: dict[str, str]) -> str:
        if code[:2] in MUNICIPALITIES:
            return code[:2] + "0000"
        return renames.get(code[:4] + "00", code[:4] + "00")

    by_gone: dict[str, list[Pair]] = defaultdict(list)
    by_born: dict[str, list[Pair]] = defaultdict(list)
    for pair in gone:
        if level(pair[0]) == "county":
            by_gone[prefecture(pair[0], moved)].append(pair)
    for pair in born:
        if level(pair[0]) == "county":
            by_born[prefecture(pair[0], {})].append(pair)
    for key, olds in by_gone.items():
        news = by_born.get(key, [])
        if (len(olds) == 1 and len(news) == 1 and not olds[0][1].endswith("区")
                and news[0][1].endswith(("区", "市"))):
            edges[olds[0]] = news[0]
    return edges


def build_changes(series: list[tuple[str, dict[str, str]]]
                  ) -> tuple[list[dict[str, str]], list[tuple[str, Pair]]]:
    """Rows of region_code_changes.csv from code lists in date order (revision, units), the
    last being regions.csv's; and the vanished pairs left without a successor.

    Every (code, name) of an older list that is not in the last is followed through the
    lists' changes to the last list's unit; `year` is the year of the first list without the
    old pair (its last disappearance); `change` compares the two ends."""
    successor: dict[Pair, tuple[Pair, str]] = {}
    vanished: dict[Pair, str] = {}
    for (_, old), (revision, new) in zip(series, series[1:], strict=False):
        edges = step_edges(old, new)
        for pair in {(c, n) for c, n in old.items() if new.get(c) != n}:
            vanished[pair] = revision
            successor.pop(pair, None)
            if pair in edges:
                successor[pair] = (edges[pair], revision)
    final = set(series[-1][1].items())
    rows, dead = [], []
    for pair, revision in sorted(vanished.items()):
        if pair in final:
            continue
        current, seen = pair, set()
        while current not in final and current in successor and current not in seen:
            seen.add(current)
            current = successor[current][0]
        if current not in final:
            dead.append((revision, pair))
            continue
        (old_code, old_name), (new_code, new_name) = pair, current
        change = ("renamed" if old_code == new_code else
                  "recoded" if old_name == new_name else "renamed_recoded")
        rows.append({"old_code": old_code, "old_name": old_name, "new_code": new_code,
                     "new_name": new_name, "year": revision[:4], "change": change})
    return rows, dead


def render(columns: Iterable[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def check_provinces(rows: list[dict[str, str]]) -> None:
    """The 31 provinces must be those of provinces.csv, code and name."""
    with (REFERENCE_DIR / "provinces.csv").open(encoding="utf-8", newline="") as handle:
        expected = {r["code"]: r["name_zh"] for r in csv.DictReader(handle)}
    got = {r["code"]: r["name"] for r in rows if r["level"] == "province"}
    if got != expected:
        differ = set(got.items()) ^ set(expected.items())
        raise SystemExit(f"provinces differ from provinces.csv: {sorted(differ)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=Path, required=True,
                        help=f"{REGIONS_PACKAGE[0]}-{REGIONS_PACKAGE[1]}.tgz")
    parser.add_argument("--history", type=Path, required=True,
                        help=f"{HISTORY_PACKAGE[0]}-{HISTORY_PACKAGE[1]}.tgz")
    parser.add_argument("--out-dir", type=Path, default=REFERENCE_DIR)
    parser.add_argument("--check", action="store_true",
                        help="compare with the files in --out-dir, write nothing")
    args = parser.parse_args(argv)

    with tarfile.open(fileobj=io.BytesIO(verify(args.regions, REGIONS_PACKAGE[2]))) as tar:
        current = read_json(tar, REGIONS_MEMBER)
    with tarfile.open(fileobj=io.BytesIO(verify(args.history, HISTORY_PACKAGE[2]))) as tar:
        revisions = sorted(read_json(tar, HISTORY_DIR + "revisions.json"))
        history = [(r, units(read_json(tar, f"{HISTORY_DIR}{r}.json"))) for r in revisions]

    regions = build_regions(current)
    check_provinces(regions)
    changes, dead = build_changes([*history, (REGIONS_REVISION, units(current))])

    outputs = {"regions.csv": render(REGION_COLUMNS, regions),
               "region_code_changes.csv": render(CHANGE_COLUMNS, changes)}
    stale = []
    for filename, text in outputs.items():
        target = args.out_dir / filename
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(filename)
        else:
            target.write_text(text, encoding="utf-8", newline="")

    counts = {lvl: sum(r["level"] == lvl for r in regions)
              for lvl in ("province", "prefecture", "county")}
    kinds = {k: sum(r["change"] == k for r in changes)
             for k in ("renamed", "recoded", "renamed_recoded")}
    print(f"regions: {counts}; changes: {len(changes)} {kinds}; "
          f"historic (code, name) without a derived successor: {len(dead)}")
    for revision, (code, name) in dead:
        print(f"  no successor: {code} {name} (gone in the {revision} list)")
    if stale:
        print(f"out of date: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
