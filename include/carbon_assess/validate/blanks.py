"""Blank energy-consumption cells, explained: the policy itself (interpolate, assume zero, coal
missing; DESIGN §3) is applied once, in SQL (`transform/sql/int_energy_activity.sql`). The models'
verdicts and CO2 arrive as `chk_status`, `chk_co2_year` and `chk_co2` (`sql_engine`); the raw_*.sql
checks turn them into the sentences of the validation warnings (`gap`, `assumed_zero`,
`coal_missing`, `no_fuel_data`, `not_covered`), with the fuel's share of the province's
emissions in the nearest reported year."""

from __future__ import annotations

ENERGY_NOTES = ("gap", "assumed_zero", "coal_missing", "no_fuel_data", "not_covered")
CONSEQUENCES = {  # value_status (int_energy_activity) -> what happens downstream
    "missing": "province-years without coal are insufficient data downstream",
    "imputed": "interpolated downstream (imputed)",
    "assumed_zero": "taken as 0 downstream (assumed_zero)",
}

