"""Blank energy-consumption cells, explained: the policy itself (interpolate, assume zero, coal
missing; DESIGN §3) is applied once, in SQL (`transform/sql/int_energy_activity.sql`). The models'
verdicts and CO2 per fuel arrive as `BlankFlags`; `energy_notes` only turns them into the
sentences of the validation warnings (`gap`, `assumed_zero`, `coal_missing`, `no_fuel_data`,
`not_covered`), with the fuel's share of the province's emissions in the nearest reported year."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from carbon_assess.ingest.schema import NATIONAL_CODE
from carbon_assess.validate.common import (
    fmt,
    fossil_fuels,
    percent,
    province_label,
    usable,
    year_span,
)

ENERGY_NOTES = ("gap", "assumed_zero", "coal_missing", "no_fuel_data", "not_covered")
CONSEQUENCES = {  # value_status (int_energy_activity) -> what happens downstream
    "missing": "province-years without coal are insufficient data downstream",
    "imputed": "interpolated downstream (imputed)",
    "assumed_zero": "taken as 0 downstream (assumed_zero)",
}


@dataclass(frozen=True)
class BlankFlags:
    """What the SQL models make of energy consumption: value_status per (province, year, fuel)
    and CO2 per (province, year, fuel), consumption method, in Mt."""

    status: dict[tuple[str, int, str], str]
    co2_mt: dict[tuple[str, int, str], float]

    @classmethod
    def from_frames(cls, activity, emissions) -> BlankFlags:
        return cls(
            status={(c, int(y), f): v for c, y, f, v in zip(
                activity["region_code"], activity["year"], activity["fuel"],
                activity["value_status"], strict=True)},
            co2_mt={(c, int(y), f): float(v) for c, y, f, v in zip(
                emissions["region_code"], emissions["year"], emissions["fuel"],
                emissions["co2_mt"], strict=True) if v == v and v is not None},
        )

    def totals(self) -> dict[tuple[str, int], float]:
        out: dict[tuple[str, int], float] = defaultdict(float)
        for (code, year, _), value in self.co2_mt.items():
            out[(code, year)] += value
        return out


def energy_notes(df, flags: BlankFlags | None) -> dict[str, dict[Any, str]]:
    """column -> {row index: note} for the blank cells of energy consumption (DESIGN §3), as the
    SQL models flag them (`flags`; None when the batch could not be staged)."""
    notes: dict[str, dict[Any, str]] = {c: {} for c in ENERGY_NOTES}
    if flags is None or df.empty or not usable(df):
        return notes
    prov = df[(df["region_code"] != NATIONAL_CODE) & (df["variable"] == "consumption")]
    prov = prov[prov["fuel"].notna()]
    if prov.empty:
        return notes
    status = [flags.status.get((c, int(y), f), "reported") for c, y, f in
              zip(prov["region_code"], prov["year"], prov["fuel"], strict=True)]
    prov = prov.assign(value_status=status)
    fossil = fossil_fuels()
    totals = flags.totals()
    reported = prov["value_status"] == "reported"
    covered = {f: set(g["year"]) for f, g in prov[reported].groupby("fuel")}
    with_fuel = set(prov.loc[reported & prov["fuel"].isin(fossil), "region_code"])

    def share(code: str, fuel: str, year: int) -> str:
        return _share(flags.co2_mt.get((code, int(year), fuel)), totals.get((code, int(year))),
                      fuel, int(year))

    # provinces without any fossil-fuel figure (Tibet in the NBS tables)
    for code, g in prov.groupby("region_code"):
        if code not in with_fuel:
            first = g.sort_values(["year", "fuel"]).index[0]
            notes["no_fuel_data"][first] = (
                f"{province_label(code)}: no fossil-fuel consumption reported in any year "
                f"({year_span(list(g['year']))}); its province-years are insufficient data "
                "downstream"
            )

    # years of the release in which no province reports a fuel (NBS: fuels stop in 2017)
    uncovered: dict[int, list[str]] = defaultdict(list)
    for fuel, g in prov.groupby("fuel"):
        for year in sorted(set(g["year"]) - covered.get(fuel, set())):
            uncovered[year].append(fuel)
    runs: list[tuple[list[int], tuple[str, ...]]] = []
    for year in sorted(uncovered):
        fuels = tuple(sorted(uncovered[year]))
        if runs and runs[-1][1] == fuels and runs[-1][0][-1] == year - 1:
            runs[-1][0].append(year)
        else:
            runs.append(([year], fuels))
    for years, fuels in runs:
        rows = prov[prov["year"].isin(years) & prov["fuel"].isin(fuels)]
        first = rows[rows["year"] == years[0]].sort_values(["region_code", "fuel"]).index[0]
        by_span: dict[str, list[str]] = defaultdict(list)
        for f in fuels:
            by_span[year_span(list(covered[f])) if covered.get(f) else ""].append(f)
        spans = "; ".join(
            (f"{'all' if len(fs) == len(fuels) else ', '.join(fs)} reported {span}" if span
             else f"{', '.join(fs)} never reported")
            for span, fs in by_span.items()
        )
        applied = set(rows.loc[rows["region_code"].isin(with_fuel), "value_status"])
        consequence = "; ".join(text for status, text in CONSEQUENCES.items()
                                if status in applied) or CONSEQUENCES["assumed_zero"]
        notes["not_covered"][first] = (
            f"{', '.join(fuels)}: blank for every province in {year_span(years)} ({spans}); "
            f"{consequence}"
        )

    # per province and fuel: runs of blank cells within the years the release covers the fuel
    series: dict[tuple[str, str], list[tuple[int, float, str, Any]]] = defaultdict(list)
    for code, fuel, year, value, flag, i in zip(prov["region_code"], prov["fuel"],
                                                prov["year"], prov["value"],
                                                prov["value_status"], prov.index, strict=True):
        if code in with_fuel and year in covered.get(fuel, ()):
            series[(code, fuel)].append((int(year), value, flag, i))
    for (code, fuel), cells in sorted(series.items()):
        if all(flag == "reported" for _, _, flag, _ in cells):
            continue
        cells.sort(key=lambda c: c[0])
        years = [c[0] for c in cells]
        values = [c[1] for c in cells]
        blank = [c[2] != "reported" for c in cells]
        i = 0
        while i < len(years):
            if not blank[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(years) and blank[j + 1]:
                j += 1
            before = i - 1 if i > 0 else None
            after = j + 1 if j + 1 < len(years) else None
            span = year_span(years[i : j + 1])
            who = f"{province_label(code)} {fuel}"
            flag, index = cells[i][2], cells[i][3]
            if flag == "missing":
                notes["coal_missing"][index] = (
                    f"{who}: blank in {span}; coal is required, so these province-years are "
                    "insufficient data downstream"
                )
            elif flag == "imputed" and before is not None and after is not None:
                notes["gap"][index] = (
                    f"{who}: blank in {span} between reported {years[before]} "
                    f"({fmt(values[before])}) and {years[after]} ({fmt(values[after])}): "
                    f"{CONSEQUENCES['imputed']}; {share(code, fuel, years[before])}"
                )
            else:
                nearest = before if before is not None else after
                if nearest is None:
                    what = "never reported"
                    why = "share of emissions: none reported"
                else:
                    what = (("no longer reported after " if before is not None
                             else "first reported in ") + str(years[nearest]))
                    why = share(code, fuel, years[nearest])
                notes["assumed_zero"][index] = (
                    f"{who}: blank in {span}, {what}; {_as_applied(flag)}; {why}")
            i = j + 1
    return notes


def _as_applied(flag: str) -> str:
    """`taken as 0 (assumed_zero)`, or what the models did instead."""
    if flag == "assumed_zero":
        return "taken as 0 (assumed_zero)"
    return CONSEQUENCES.get(flag, f"value status {flag} downstream")


def _share(value: float | None, total: float | None, fuel: str, year: int) -> str:
    if value is None:
        return f"{fuel} has no combustion emission factor (share of emissions n/a)"
    if not total:
        return f"share of the province's fuel-combustion CO2 in {year}: n/a"
    return f"{percent(value / total)} of the province's fuel-combustion CO2 in {year}"
