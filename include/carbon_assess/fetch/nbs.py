"""`carbon-assess fetch`: the provincial annual data (分省年度数据, dbcode `fsnd`) of the NBS data
portal into the landing folder, every fetch kept as a snapshot whose id is the run's vintage.

1. Each indicator the pipeline reads (`INDICATORS`: GDP, GDP index, population, energy
   consumption and production by fuel, electricity included) is found by its name in the
   portal's tree (`m=getTree`, breadth first from `zb`; indicator codes are undocumented and
   have changed). A code the previous snapshot used is tried first and kept while the portal
   still gives it the same name. A candidate counts only when ingest reads its header
   `<cname>(<unit>)` as that indicator in a unit it knows (`ingest.layouts.parse_indicator`).
2. `m=QueryData` gives every province and year of it; the answers must have the recorded
   shape (`returncode` 200, `returndata.datanodes[]` with `data` and `wds`,
   `returndata.wdnodes[]` for zb, reg and sj), else one line names the request and the answer.
3. A unit that differs from the previous snapshot's is refused, never converted.
4. The landing files (`省份编码,省份,年份,<cname>(<unit>),…`, UTF-8, provinces by code, years
   newest first) are built in memory and compared with the landing folder: the same content
   writes nothing (the landing watcher and `check_landing` then skip it). The snapshot is
   written first, then each changed file atomically (a hidden temporary file renamed over it);
   nothing is written before every request succeeded, so a failed fetch leaves the folder as
   it was.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from carbon_assess.errors import CarbonAssessError, InputError, mask_url, printable
from carbon_assess.fetch.portal import (
    DEFAULT_BASE_URL,
    FetchFailed,
    FetchRejected,
    Portal,
    query_params,
    tree_params,
)
from carbon_assess.fetch.snapshots import (
    create_snapshot,
    latest_snapshot,
    list_snapshots,
    snapshots_root,
)
from carbon_assess.ingest.layouts import parse_indicator

__all__ = ["DBCODE", "DEFAULT_BASE_URL", "INDICATORS", "FetchFailed", "FetchRejected",
           "Wanted", "fetch_release", "list_snapshots", "parse_years", "select_indicators"]

DBCODE = "fsnd"
SNAPSHOT_PREFIX = "nbs"
DEFAULT_FIRST_YEAR = 2000
MAX_TREE_REQUESTS = 2000  # a tree walk that never ends is a changed site, not a release
NEAREST = 3


@dataclass(frozen=True)
class Wanted:
    """An indicator to fetch: its key (for --indicators), the landing file it goes to, the name
    the portal's tree gives it and the unit the pipeline's NBS files use."""

    key: str
    file: str
    name: str
    unit: str

    @property
    def header(self) -> str:
        return f"{self.name}({self.unit})" if self.unit else self.name


_CONSUMPTION = "nbs_fsnd_energy_consumption.csv"
_PRODUCTION = "nbs_fsnd_energy_production.csv"
INDICATORS: tuple[Wanted, ...] = (
    Wanted("gdp", "nbs_fsnd_gdp.csv", "地区生产总值", "亿元"),
    Wanted("gdp_index", "nbs_fsnd_gdp_index.csv", "地区生产总值指数(上年=100)", ""),
    Wanted("population", "nbs_fsnd_population.csv", "年末常住人口", "万人"),
    *(Wanted(f"consumption_{fuel}", _CONSUMPTION, f"{zh}消费量", unit) for fuel, zh, unit in (
        ("coal", "煤炭", "万吨"), ("coke", "焦炭", "万吨"), ("crude_oil", "原油", "万吨"),
        ("gasoline", "汽油", "万吨"), ("kerosene", "煤油", "万吨"), ("diesel", "柴油", "万吨"),
        ("fuel_oil", "燃料油", "万吨"), ("natural_gas", "天然气", "亿立方米"),
        ("electricity", "电力", "亿千瓦小时"))),
    *(Wanted(f"production_{fuel}", _PRODUCTION, zh, unit) for fuel, zh, unit in (
        ("coke", "焦炭生产量", "万吨"), ("crude_oil", "原油生产量", "万吨"),
        ("gasoline", "汽油生产量", "万吨"), ("kerosene", "煤油生产量", "万吨"),
        ("diesel", "柴油生产量", "万吨"), ("fuel_oil", "燃料油生产量", "万吨"),
        ("natural_gas", "天然气生产量", "亿立方米"), ("electricity", "发电量", "亿千瓦小时"))),
)
LONG_COLUMNS = ("省份编码", "省份", "年份")
_YEARS_RE = re.compile(r"^\s*(\d{4})\s*-\s*(\d{4})\s*$")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip()


def _identity(header: str) -> tuple[str, str | None] | None:
    """What ingest reads a header as (variable, fuel), None if not an indicator it uses."""
    try:
        indicator = parse_indicator(header, "<portal>", 1)
    except InputError:  # a unit ingest does not know
        return None
    return (indicator.variable, indicator.fuel) if indicator else None


def parse_years(text: str | None, today: datetime | None = None) -> tuple[int, int]:
    """`A-B` → (A, B); default 2000 to the current year."""
    if not text:
        return DEFAULT_FIRST_YEAR, (today or datetime.now(UTC)).year
    match = _YEARS_RE.match(text)
    if not match or not 1949 <= int(match[1]) <= int(match[2]) <= 2100:
        raise CarbonAssessError(f"--years {text!r}: give A-B with 1949 <= A <= B, e.g. 2000-2019")
    return int(match[1]), int(match[2])


def select_indicators(text: str | None) -> list[Wanted]:
    """--indicators: comma-separated keys or portal names; default all."""
    if not text:
        return list(INDICATORS)
    by_key = {w.key: w for w in INDICATORS} | {_norm(w.name): w for w in INDICATORS}
    chosen: list[Wanted] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        wanted = by_key.get(item) or by_key.get(_norm(item))
        if wanted is None:
            raise CarbonAssessError(f"--indicators: unknown indicator {item!r}; known: "
                                    + ", ".join(w.key for w in INDICATORS))
        if wanted not in chosen:
            chosen.append(wanted)
    if not chosen:
        raise CarbonAssessError("--indicators: name at least one indicator")
    return chosen


# ------------------------------------------------------------------------------ answers


def _shape(portal: Portal, params: dict[str, str], what: str, problem: str) -> FetchRejected:
    return FetchRejected(f"{portal.describe(params, what)}: the answer's shape changed: {problem}")


def _tree_nodes(portal: Portal, node: str) -> list[dict[str, Any]]:
    params = tree_params(node, DBCODE)
    answer = portal.call(params, f"tree node {node}")
    if not isinstance(answer, list):
        raise _shape(portal, params, f"tree node {node}",
                     f"expected a JSON list of nodes, got {type(answer).__name__}")
    for item in answer:
        if not (isinstance(item, dict) and isinstance(item.get("id"), str)
                and isinstance(item.get("name"), str) and isinstance(item.get("isParent"), bool)):
            raise _shape(portal, params, f"tree node {node}",
                         f"a node without id, name or isParent: {printable(str(item))[:120]}")
    return answer


@dataclass
class Series:
    """One indicator's answer: its code, name and unit on the portal and its cells."""

    wanted: Wanted
    code: str
    cname: str
    unit: str
    regions: dict[str, str]  # code → name
    cells: dict[tuple[str, int], str]  # (region code, year) → value text ('' = no data)

    @property
    def header(self) -> str:
        return f"{self.cname}({self.unit})" if self.unit else self.cname


def _nodes(answer: dict[str, Any], wdcode: str) -> list[dict[str, Any]]:
    for group in answer["returndata"]["wdnodes"]:
        if isinstance(group, dict) and group.get("wdcode") == wdcode:
            nodes = group.get("nodes")
            if isinstance(nodes, list) and all(isinstance(n, dict) for n in nodes):
                return nodes
    raise KeyError(wdcode)


def _value(data: dict[str, Any]) -> str:
    if not data.get("hasdata"):
        return ""
    text = str(data.get("strdata") or "").strip()
    if not text:
        dotcount = int(data.get("dotcount") or 0)
        text = f"{float(data['data']):.{dotcount}f}"
    float(text)  # a value that is not a number is a changed shape
    return text


def _query(portal: Portal, wanted: Wanted, code: str, years: str) -> Series:
    params = query_params(code, years, DBCODE)
    what = f"{wanted.name} code {code}"
    answer = portal.call(params, what)
    if not isinstance(answer, dict) or "returncode" not in answer:
        raise _shape(portal, params, what, "no returncode in "
                     + printable(str(answer))[:100])
    if answer["returncode"] != 200:
        raise FetchRejected(f"{portal.describe(params, what)}: returncode {answer['returncode']}"
                            f": {printable(str(answer.get('returndata')))[:120]}")
    try:
        data = answer["returndata"]
        if not isinstance(data["datanodes"], list) or not isinstance(data["wdnodes"], list):
            raise TypeError("datanodes or wdnodes is not a list")
        zb = [n for n in _nodes(answer, "zb") if n.get("code") == code]
        if len(zb) != 1:
            raise ValueError(f"wdnodes zb does not describe code {code}")
        regions = {str(n["code"]): _norm(n["cname"]) for n in _nodes(answer, "reg")}
        years_known = {str(n["code"]) for n in _nodes(answer, "sj")}
        cells: dict[tuple[str, int], str] = {}
        for node in data["datanodes"]:
            wds = {w["wdcode"]: str(w["valuecode"]) for w in node["wds"]}
            if wds["zb"] != code:
                raise ValueError(f"a datanode of another indicator ({wds['zb']})")
            if wds["reg"] not in regions or wds["sj"] not in years_known:
                raise ValueError(f"datanode {node.get('code')} names a region or year "
                                 "missing from wdnodes")
            if not re.fullmatch(r"\d{6}", wds["reg"]) or not re.fullmatch(r"\d{4}", wds["sj"]):
                raise ValueError(f"datanode {node.get('code')}: region {wds['reg']!r} or year "
                                 f"{wds['sj']!r} is not a 6-digit code and a year")
            if not isinstance(node["data"], dict) or not isinstance(node["data"]["hasdata"],
                                                                     bool):
                raise TypeError(f"datanode {node.get('code')}: data has no hasdata flag")
            cells[(wds["reg"], int(wds["sj"]))] = _value(node["data"])
        cname, unit = _norm(zb[0]["cname"]), _norm(zb[0].get("unit") or "")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyError) else \
            f"missing {exc}"
        raise _shape(portal, params, what, printable(problem)[:200]) from None
    return Series(wanted, code, cname, unit, regions, cells)


# ------------------------------------------------------------------------------ finding


@dataclass
class _Finder:
    portal: Portal
    years: str
    previous: dict[str, dict[str, Any]]  # key → the previous snapshot's indicator record

    def __post_init__(self) -> None:
        self.leaves: dict[str, list[str]] = {}  # leaf name → codes, in tree order
        self.rejected: dict[str, list[str]] = {}  # key → why name matches were not taken
        self._walk = self._leaves()

    def _leaves(self) -> Iterator[tuple[str, str]]:
        queue, seen, requests = deque(["zb"]), {"zb"}, 0
        while queue:
            node = queue.popleft()
            requests += 1
            if requests > MAX_TREE_REQUESTS:
                raise FetchRejected(f"{mask_url(self.portal.url)}: the indicator tree has more "
                                    f"than {MAX_TREE_REQUESTS} folders; the site changed?")
            for item in _tree_nodes(self.portal, node):
                if item["isParent"]:
                    if item["id"] not in seen:
                        seen.add(item["id"])
                        queue.append(item["id"])
                else:
                    name = _norm(item["name"])
                    self.leaves.setdefault(name, []).append(item["id"])
                    yield name, item["id"]

    def accept(self, wanted: Wanted, series: Series) -> bool:
        expected = _identity(wanted.header)
        if _norm(series.cname) != _norm(wanted.name) or _identity(series.header) != expected:
            self.rejected.setdefault(wanted.key, []).append(
                f"code {series.code} is {series.header!r}")
            return False
        return True

    def find(self, wanted: list[Wanted]) -> dict[str, Series]:
        found: dict[str, Series] = {}
        for item in wanted:  # the codes of the previous snapshot first: no tree walk
            code = (self.previous.get(item.key) or {}).get("code")
            if code:
                try:
                    series = _query(self.portal, item, code, self.years)
                except FetchRejected:
                    continue  # the code is gone or means something else now: find it by name
                if self.accept(item, series):
                    found[item.key] = series
        pending = [w for w in wanted if w.key not in found]
        for name, code in (self._walk if pending else ()):
            for item in [w for w in pending if _norm(w.name) == name]:
                series = _query(self.portal, item, code, self.years)
                if self.accept(item, series):
                    found[item.key] = series
                    pending.remove(item)
            if not pending:
                break
        if pending:
            raise FetchRejected("; ".join(self._not_found(w) for w in pending))
        return found

    def _not_found(self, wanted: Wanted) -> str:
        names = list(self.leaves)
        nearest = difflib.get_close_matches(_norm(wanted.name), names, n=NEAREST, cutoff=0.3)
        why = self.rejected.get(wanted.key)
        return (f"indicator {wanted.name!r} ({wanted.key}, unit {wanted.unit or 'none'}) not "
                f"found in the tree of {mask_url(self.portal.url)} dbcode={DBCODE}"
                + (f" (name matches refused: {'; '.join(why)})" if why else "")
                + f"; nearest names: {', '.join(nearest) if nearest else 'none'}")


# ------------------------------------------------------------------------------ landing


def _landing_bytes(series: list[Series]) -> bytes:
    """One long-layout file: every province and year the answers cover with a value in some
    column (years without any value in the file are left out), provinces by code, newest year
    first."""
    regions: dict[str, str] = {}
    for s in series:
        regions.update(s.regions)
    keys = {key for s in series for key in s.cells}
    years_with_data = {year for s in series for (_, year), v in s.cells.items() if v}
    rows = sorted((k for k in keys if k[1] in years_with_data), key=lambda k: (k[0], -k[1]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*LONG_COLUMNS, *(s.header for s in series)])
    for code, year in rows:
        writer.writerow([code, regions[code], year,
                         *(s.cells.get((code, year), "") for s in series)])
    return out.getvalue().encode("utf-8")


def _write_atomically(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temps: list[tuple[Path, Path]] = []
    try:
        for name, data in files.items():
            handle, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o644)
            temps.append((Path(temp), folder / name))
        for temp, target in temps:
            os.replace(temp, target)
    finally:
        for temp, _ in temps:
            temp.unlink(missing_ok=True)


def _same(folder: Path, files: dict[str, bytes]) -> bool:
    try:
        return all((folder / n).is_file() and (folder / n).read_bytes() == d
                   for n, d in files.items())
    except OSError:
        return False


def _unit_changes(found: dict[str, Series], previous: dict[str, Any] | None) -> list[str]:
    if not previous:
        return []
    before = {i["key"]: i for i in previous.get("indicators", [])}
    return [f"{s.cname}: {before[k]['unit'] or 'no unit'} in snapshot {previous['id']}, now "
            f"{s.unit or 'no unit'}" for k, s in found.items()
            if k in before and before[k].get("unit") != s.unit]


def fetch_release(landing: Path | str, *, base_url: str = DEFAULT_BASE_URL,
                  years: str | None = None, indicators: str | None = None,
                  home: Path | str | None = None, accept_unit_change: bool = False,
                  portal: Portal | None = None) -> dict[str, Any]:
    """Fetch, snapshot and (if the content changed) write the landing files. Returns the
    snapshot id, the vintage of the landing content, the files and whether they changed."""
    landing = Path(landing)
    if landing.exists() and not landing.is_dir():
        raise CarbonAssessError(f"--landing {landing}: not a folder")
    first, last = parse_years(years)
    wanted = select_indicators(indicators)
    portal = portal or Portal(base_url)
    root = snapshots_root(home)
    previous = latest_snapshot(root)
    retrieved_at = datetime.now(UTC).isoformat(timespec="microseconds")
    codes = {i["key"]: i for i in (previous or {}).get("indicators", [])}
    found = _Finder(portal, f"{first}-{last}", codes).find(wanted)
    changes = _unit_changes(found, previous)
    if changes and not accept_unit_change:
        raise FetchRejected("unit changed, refused (never converted): " + "; ".join(changes)
                            + "; check the release, then fetch with --accept-unit-change")
    files: dict[str, bytes] = {}
    for name in dict.fromkeys(w.file for w in wanted):
        files[name] = _landing_bytes([found[w.key] for w in wanted if w.file == name])
    manifest = {
        "source": "NBS data portal, 分省年度数据", "url": mask_url(portal.url),
        "dbcode": DBCODE, "years": f"{first}-{last}", "retrieved_at": retrieved_at,
        "finished_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "indicators": [{"key": w.key, "name": w.name, "code": found[w.key].code,
                        "cname": found[w.key].cname, "unit": found[w.key].unit,
                        "header": found[w.key].header, "file": w.file} for w in wanted],
        "requests": [{"file": f"responses/{n:04d}.json", "method": "POST",
                      "params": e.params, "retrieved_at": e.retrieved_at, "status": e.status,
                      "content_type": e.content_type, "attempts": e.attempts,
                      "bytes": len(e.body), "sha256": _digest(e.body)}
                     for n, e in enumerate(portal.exchanges, start=1)],
        "previous": previous["id"] if previous else None,
    }
    snapshot_id, folder = create_snapshot(root, SNAPSHOT_PREFIX, manifest,
                                          [e.body for e in portal.exchanges], files)
    changed = not _same(landing, files)
    if changed:
        _write_atomically(landing, files)
    snapshots = list_snapshots(root)
    this = next(s for s in snapshots if s["id"] == snapshot_id)
    return {"snapshot_id": snapshot_id, "snapshot": str(folder), "vintage": this["vintage"],
            "changed": changed, "landing": str(landing), "files": sorted(files),
            "requests": len(portal.exchanges), "indicators": len(wanted),
            "years": f"{first}-{last}",
            "rows": {n: d.count(b"\n") - 1 for n, d in files.items()}}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
