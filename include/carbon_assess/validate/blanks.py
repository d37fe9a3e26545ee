"""Blank energy-consumption cells, explained: the policy itself (interpolate, assume zero, coal
missing; DESIGN §3) is applied once, in SQL (`transform/sql/int_energy_activity.sql`). The models'
verdicts and CO2 per fuel arrive as `chk_status` / `chk_co2` (`sql_engine`); the raw_*.sql
checks turn them into the sentences of the validation warnings (`gap`, `assumed_zero`,
`coal_missing`, `no_fuel_data`, `not_covered`), with the fuel's share of the province's
emissions in the nearest reported year."""

from __future__ import annotations

from carbon_assess.validate.common import percent

ENERGY_NOTES = ("gap", "assumed_zero", "coal_missing", "no_fuel_data", "not_covered")
CONSEQUENCES = {  # value_status (int_energy_activity) -> what happens downstream
    "missing": "province-years without coal are insufficient data downstream",
    "imputed": "interpolated downstream (imputed)",
    "assumed_zero": "taken as 0 downstream (assumed_zero)",
}


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
