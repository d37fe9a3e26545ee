"""SQL models on a few hand-made rows (tests/model_harness.py): one model at a time, numbers
worked by hand in the comments. Each test runs in milliseconds, without files or a pipeline run.
"""

from __future__ import annotations

import duckdb
import pytest

from carbon_assess import reference
from carbon_assess.transform.models import create_macros, models, referenced_names

from model_harness import run_model, source_types

ASSESSMENT = ["int_target_assessment", "int_assessment_notes"]


def _by(rows: list[dict], *keys: str) -> dict:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


# --- layering ------------------------------------------------------------------------------


def test_sources_are_read_by_staging_models_alone() -> None:
    """As in dbt's jaffle shop: reference tables, raw data and sheets enter through stg_ models
    (dim_ models are the staging of reference data); int_ and fct_ models read models only."""
    sources = set(source_types())
    for name, model in models().items():
        read = referenced_names(model.sql) & sources
        if name.startswith("dim_"):
            assert all(s.startswith("ref_") for s in read), f"{name} reads {sorted(read)}"
        elif not name.startswith("stg_"):
            assert not read, f"{name} reads sources {sorted(read)}: add a stg_ model"


# --- macros ---------------------------------------------------------------------------------


def test_reaches_has_one_tolerance_of_1e_9_percentage_points() -> None:
    with duckdb.connect() as con:
        create_macros(con)
        row = con.execute(
            "select reaches(10.0, 10.0), reaches(10.0 - 0.5e-9, 10.0), reaches(10.0 - 2e-9, 10.0),"
            " reaches(null, 10.0), reaches(10.0, null), even_pace_pct(19.0, 2, 4),"
            " completion_rate(null, 2.0), completion_rate(-1.0, 2.0), completion_rate(3.0, 2.0)"
        ).fetchone()
    assert row[:5] == (True, True, False, None, None)
    # 1 − (1 − 0.19)^(2/4) = 1 − √0.81 = 1 − 0.9 = 10 %
    assert row[5] == pytest.approx(10.0, abs=1e-12)
    # completion rate: null stays null (not 0), clamped to 0..1
    assert row[6:] == (None, 0.0, 1.0)


def test_exact_sum_gives_the_same_bits_in_any_order() -> None:
    """1e16 + 1 - 1e16: a double sum gives 0 or 1 by the order of its terms (1e16 + 1 is 1e16 in
    doubles); exact_sum gives 1 in every order. Non-finite terms come out as sum() gives them."""
    with duckdb.connect() as con:
        create_macros(con)
        orders = [[1e16, 1.0, -1e16], [1e16, -1e16, 1.0], [1.0, 1e16, -1e16]]
        plain = {con.execute("select sum(x) from (select unnest(?) as x)", [o]).fetchone()[0]
                 for o in orders}
        exact = {con.execute("select exact_sum(x) from (select unnest(?) as x)",
                             [o]).fetchone()[0] for o in orders}
        special = con.execute("select exact_sum(x) from (select unnest(?) as x)",
                              [[1.0, float("inf")]]).fetchone()[0]
    assert plain == {0.0, 1.0}
    assert exact == {1.0}
    assert special == float("inf")


def test_implausible_finite_and_positive_guard_against_zero_and_non_finite() -> None:
    nan, inf = float("nan"), float("inf")
    with duckdb.connect() as con:
        create_macros(con)
        rows = con.execute(
            "select implausible('GDP', x), finite(x), positive(x) from unnest(?) as t(x)",
            [[0.0, -2.0, nan, inf, -inf, 3.0, None]]).fetchall()
        # without the guard a NaN decline passes the comparison: DuckDB orders NaN above all
        assert con.execute("select reaches('nan'::double, 10.0)").fetchone() == (True,)
    assert rows[:2] == [("GDP 0", 0.0, None), ("GDP negative", -2.0, None)]
    assert [r[0] for r in rows[2:5]] == ["GDP not finite"] * 3
    assert all(r[1:] == (None, None) for r in rows[2:5])
    assert rows[5:] == [(None, 3.0, 3.0), (None, None, None)]


# --- int_energy_activity: the blank-value policy (DESIGN.md §3) ---------------------------


def _raw(fuel: str, flow: str, values: dict[int, float | None], unit: str = "万吨") -> list[dict]:
    return [{"region_code": "630000", "year": year, "variable": flow, "fuel": fuel,
             "value": value, "unit": unit, "source_file": "e.csv", "source_row": year - 2000}
            for year, value in values.items()]


def test_blank_policy_in_int_energy_activity() -> None:
    raw = (
        # kerosene: leading blank 2009, gap 2011-2012 between 0.3 (2010) and 0.6 (2013),
        # trailing blank 2014
        _raw("kerosene", "consumption",
             {2009: None, 2010: 0.3, 2011: None, 2012: None, 2013: 0.6, 2014: None})
        # coal: blank in 2012 between reported years stays missing (never interpolated)
        + _raw("coal", "consumption", {2011: 100.0, 2012: None, 2013: 120.0})
        # production blank → 0; rounding noise −1e-12 → 0
        + _raw("kerosene", "production", {2012: None, 2013: -1e-12})
    )
    rows = run_model("int_energy_activity", {"raw_energy": raw},
                     upstream=["stg_energy", "int_energy_adjustments"])
    got = _by(rows, "fuel", "flow", "year")

    def cell(fuel: str, flow: str, year: int) -> tuple:
        r = got[(fuel, flow, year)]
        return r["quantity"], r["value_status"], r["imputed"]

    # gap: linear between (2010, 0.3) and (2013, 0.6): 0.3 + 0.3 × 1/3 = 0.4, 0.3 + 0.3 × 2/3 = 0.5
    assert cell("kerosene", "consumption", 2011) == (pytest.approx(0.4), "imputed", True)
    assert cell("kerosene", "consumption", 2012) == (pytest.approx(0.5), "imputed", True)
    assert cell("kerosene", "consumption", 2010) == (0.3, "reported", False)
    # no reported year after 2013 (trailing) or before 2010 (leading): 0, assumed_zero
    assert cell("kerosene", "consumption", 2014) == (0.0, "assumed_zero", False)
    assert cell("kerosene", "consumption", 2009) == (0.0, "assumed_zero", False)
    # coal blank: null, missing (the province-year will be insufficient data)
    assert cell("coal", "consumption", 2012) == (None, "missing", False)
    assert cell("kerosene", "production", 2012) == (0.0, "blank_is_zero", False)
    assert cell("kerosene", "production", 2013) == (0.0, "reported", False)
    assert got[("kerosene", "production", 2013)]["noise_zeroed"] is True
    assert list(rows[0]) == [  # the columns validation and fct_energy_activity read
        "region_code", "year", "flow", "fuel", "quantity", "unit", "value_status", "imputed",
        "noise_zeroed"]
    # the lineage is read back from stg_energy where it is published, for filled cells too
    published = _by(run_model("fct_energy_activity", {"raw_energy": raw},
                              upstream=["stg_energy", "int_energy_adjustments",
                                        "int_energy_activity"]),
                    "fuel", "flow", "year")
    assert published[("kerosene", "consumption", 2011)]["source_row"] == 11
    assert published[("kerosene", "consumption", 2011)]["value_status"] == "imputed"
    assert len(published) == len(rows)


# --- int_emissions: the two methods (DESIGN.md §5) -----------------------------------------


def _activity(fuel: str, flow: str, quantity: float, **flags) -> dict:
    return {"region_code": "630000", "year": 2010, "flow": flow, "fuel": fuel,
            "quantity": quantity, "value_status": flags.get("status", "reported"),
            "imputed": flags.get("imputed", False)}


def test_reference_method_nets_secondary_products_and_excludes_refinery_gases() -> None:
    activity = [
        _activity("coal", "consumption", 100.0),
        _activity("crude_oil", "consumption", 20.0),
        _activity("crude_oil", "production", 200.0),  # primary: production never subtracted
        _activity("coke", "consumption", 50.0),
        _activity("coke", "production", 80.0),
        _activity("gasoline", "consumption", 10.0, imputed=True, status="imputed"),
        _activity("lpg", "consumption", 5.0),
        _activity("refinery_gas", "consumption", 2.0, status="assumed_zero"),
        _activity("natural_gas", "consumption", 10.0),
        _activity("diesel", "production", 7.0),  # no consumption row: no emissions row
        _activity("electricity", "consumption", 30.0),  # no combustion factor
    ]
    rows = run_model("int_emissions", {"int_energy_activity": activity})
    co2 = {(r["fuel"], r["method"]): r["co2_mt"] for r in rows}
    # Mt CO2 per 万吨 = kgCO2/kg × 1e7 kg / 1e9 = ef / 100; per 亿m³ = ef × 1e8 / 1e9 = ef / 10
    #   coal 100 × 0.019003 = 1.9003; crude 20 × 0.030202 = 0.60404 (production ignored)
    #   coke (50 − 80) × 0.028604 = −0.85812; gasoline (10 − 0) × 0.029251 = 0.29251
    #   natural gas 10 × 0.21622 = 2.1622; LPG and refinery gas: not counted
    reference = {f: v for (f, m), v in co2.items() if m == "reference"}
    assert reference == pytest.approx({"coal": 1.9003, "crude_oil": 0.60404, "coke": -0.85812,
                                       "gasoline": 0.29251, "natural_gas": 2.1622})
    assert sum(reference.values()) == pytest.approx(4.10093)  # 1.9003+0.60404−0.85812+…
    # consumption method: every fuel in full: coke 50 × 0.028604 = 1.4302,
    # LPG 5 × 0.031013 = 0.155065, refinery gas 2 × 0.030119 = 0.060238
    consumption = {f: v for (f, m), v in co2.items() if m == "consumption"}
    assert consumption == pytest.approx(reference | {"coke": 1.4302, "lpg": 0.155065,
                                                     "refinery_gas": 0.060238})
    assert sum(consumption.values()) == pytest.approx(6.604553)
    by_key = _by(rows, "fuel", "method")
    coke = by_key[("coke", "reference")]
    assert (coke["activity_basis"], coke["activity_quantity"]) == ("consumption - production",
                                                                  -30.0)
    assert coke["energy_10k_tce"] == pytest.approx(-30 * 0.9714)  # 10k tce per 万吨 = kgce/kg
    assert by_key[("coal", "reference")]["activity_basis"] == "consumption"
    assert by_key[("gasoline", "reference")]["imputed"] is True
    assert by_key[("refinery_gas", "consumption")]["assumed_zero"] is True


def test_the_methods_come_from_the_methods_table() -> None:
    only_reference = [{"method": "reference", "default": "true", "description": "-",
                       "source": "-"}]
    rows = run_model("int_emissions",
                     {"int_energy_activity": [_activity("coal", "consumption", 1.0)],
                      "stg_methods": [{"method": "reference", "is_default": True}]})
    assert [r["method"] for r in rows] == ["reference"]
    rows = run_model("int_emissions",
                     {"int_energy_activity": [_activity("coal", "consumption", 1.0)],
                      "ref_methods": only_reference},
                     upstream=["stg_methods"])
    assert [r["method"] for r in rows] == ["reference"]


def test_the_reference_basis_is_data() -> None:
    """A fuel's class comes from emission_factors.csv: declare coal a secondary product and the
    reference method nets its production (100 − 30) × 0.019003 = 1.33021 Mt."""
    factors = [dict(r) | ({"reference_basis": "net_of_production"} if r["fuel"] == "coal"
                          else {})
               for r in reference.load("emission_factors")]
    rows = run_model("int_emissions",
                     {"int_energy_activity": [_activity("coal", "consumption", 100.0),
                                              _activity("coal", "production", 30.0)],
                      "ref_emission_factors": factors},
                     upstream=["dim_emission_factor"])
    assert _by(rows, "method")["reference"]["co2_mt"] == pytest.approx(1.33021)
    factors[0]["reference_basis"] = "secondary"
    with pytest.raises(duckdb.Error, match="reference_basis"):
        run_model("dim_emission_factor", {"ref_emission_factors": factors})


# --- int_intensity: plan length from dim_plan ----------------------------------------------


def test_expected_decline_follows_the_plan_length_in_dim_plan() -> None:
    """A four-year plan (base 2020, end 2024), target 19 %: e(t) = 1 − 0.81^((t − 2020)/4),
    e(2022) = 1 − 0.9 = 10 %. GDP constant (index 100), CO2 100 → 95 → 90: d(2022) = 10 %,
    exactly on schedule; annual 2022 = 1 − 90/95 = 5.2632 %."""
    geo = [{"region_code": "630000", "year": y, "co2_mt": co2, "energy_10k_tce": 50.0,
            "gdp_current_100m_yuan": 100.0, "gdp_index_prev_year": 100.0}
           for y, co2 in ((2020, 100.0), (2021, 95.0), (2022, 90.0))]
    rows = run_model("int_intensity", {
        "int_geo_year": geo,
        "dim_plan": [{"plan_id": "x", "start_year": 2021, "end_year": 2024, "base_year": 2020}],
        "dim_target": [{"plan_id": "x", "region_code": "630000", "target_pct": 19.0}],
    })
    year = _by(rows, "year")
    # intensity = co2_mt × 100 / GDP(亿元) = t per 10,000 yuan: 100 × 100 / 100 = 100
    assert year[2020]["intensity_t_per_10k_yuan"] == 100.0
    # e(2021) = 1 − 0.81^(1/4) = 1 − 0.948683 = 5.1317 %; d(2021) = 5 % → behind
    assert year[2021]["expected_decline_pct"] == pytest.approx(5.131670, abs=1e-6)
    assert year[2021]["on_schedule"] is False
    assert year[2022]["expected_decline_pct"] == pytest.approx(10.0, abs=1e-12)
    assert year[2022]["cumulative_decline_pct"] == pytest.approx(10.0, abs=1e-12)
    assert year[2022]["on_schedule"] is True
    assert year[2022]["annual_decline_pct"] == pytest.approx(5.263158, abs=1e-6)
    assert year[2022]["completion_pct"] == pytest.approx(10 / 19 * 100)


# --- zero and non-finite inputs never reach a comparison (DESIGN.md §3 "Levels and zeros") --


def _economy(year: int, gdp: float | None = 1000.0, index: float | None = 110.0,
             population: float | None = 500.0) -> list[dict]:
    return [{"region_code": "630000", "year": year, "variable": variable, "value": value,
             "unit": unit, "source_file": "e.csv"}
            for variable, value, unit in (("gdp_current", gdp, "亿元"),
                                          ("gdp_index_prev_year", index, "上年=100"),
                                          ("population", population, "万人"))]


def test_zero_and_non_finite_inputs_make_the_province_year_insufficient() -> None:
    """Qinghai 2010-2016, coal 100 万吨 (1.9003 Mt CO2) and GDP 1000 亿元 unless stated. Before,
    only blanks made a province-year insufficient: coal 0, GDP 0 or population 0 were
    'complete'."""
    nan, inf = float("nan"), float("inf")
    coal = {2010: 0.0, 2011: 100.0, 2012: 100.0, 2013: 100.0, 2014: 100.0, 2015: inf,
            2016: -1e-12}
    economy = (_economy(2010) + _economy(2011, gdp=0.0) + _economy(2012, gdp=nan)
               + _economy(2013, population=0.0) + _economy(2014, index=-1.0)
               + _economy(2015) + _economy(2016))
    rows = run_model("int_geo_year", {"raw_energy": _raw("coal", "consumption", coal),
                                      "raw_economy": economy},
                     upstream=["stg_energy", "stg_economy", "int_energy_activity",
                               "int_emissions"])
    year = {r["year"]: r for r in rows if r["region_code"] == "630000"}
    assert {y: (r["data_status"], r["data_gaps"]) for y, r in year.items()} == {
        2010: ("insufficient data", "coal consumption 0"),
        2011: ("insufficient data", "GDP 0"),
        2012: ("insufficient data", "GDP not finite"),
        2013: ("insufficient data", "population 0"),
        2014: ("insufficient data", "GDP index negative"),
        2015: ("insufficient data", "coal consumption not finite; CO2 not finite"),
        2016: ("insufficient data", "coal consumption 0"),  # -1e-12 is rounding noise: 0
    }
    # an energy reason nulls the CO2 (never a guess); an economic one leaves it published
    assert [year[y]["co2_mt"] for y in (2010, 2015, 2016)] == [None, None, None]
    assert year[2011]["co2_mt"] == pytest.approx(1.9003)


TARGET = [{"plan_id": "12th", "region_code": "630000", "target_pct": 10.0}]


def _geo(year: int, co2: float, gdp: float = 1000.0, gaps: str | None = None) -> dict:
    return {"region_code": "630000", "year": year, "co2_mt": co2, "energy_10k_tce": 50.0,
            "gdp_current_100m_yuan": gdp, "gdp_index_prev_year": 110.0, "data_gaps": gaps,
            "data_status": "insufficient data" if gaps else "complete"}


def test_gdp_zero_in_the_base_year_is_insufficient_data_not_met() -> None:
    """Issue 10, defect 1 (Qinghai, 12th FYP, T = 10 %): GDP 0 in 2010 made I(2010) = 100 ×
    100 / 0 = inf and I(t) = CO2 × 100 / (0 × 1.1^k) = inf, so d(t) = 1 − inf/inf = NaN, which
    passed `reaches()`: 'met' with a full target score. Now GDP_B(t) needs a positive GDP(B):
    no intensity, no decline, 'insufficient data' with the base year's reason."""
    geo = [_geo(2010, 100.0, gdp=0.0, gaps="GDP 0")] + [_geo(y, 100.0) for y in range(2011, 2016)]
    rows = run_model("fct_target_assessment", {"int_geo_year": geo, "dim_target": TARGET},
                     upstream=["int_intensity", *ASSESSMENT])
    assert [r["assessment_year"] for r in rows] == [2011, 2012, 2013, 2014, 2015]
    for row in rows:
        assert (row["status"], row["grade"]) == ("insufficient data", "insufficient data")
        assert row["cumulative_decline_pct"] is None and row["target_score"] is None
        assert row["note"] == "insufficient data: 2010 (base year): GDP 0"
    intensity = run_model("int_intensity", {"int_geo_year": geo, "dim_target": TARGET})
    assert all(r["intensity_t_per_10k_yuan"] is None for r in intensity
               if r["plan_id"] == "12th")


def test_a_non_finite_co2_breaks_only_the_declines_that_use_it() -> None:
    """CO2 NaN in 2012 (int_geo_year would flag it 'CO2 not finite'), GDP 1000 × 1.1^k, CO2 100
    otherwise: I(2010) = 10, I(2013) = 100 × 100 / 1331 = 7.513 t per 10,000 yuan. 2012 and 2013
    (whose annual decline divides by I(2012)) are insufficient data; the others are assessed:
    d(2011) = 1 − 1/1.1 = 9.09 % ≥ e(2011) = 1 − 0.9^(1/5) = 2.09 %, on schedule; d(2015) =
    1 − 1/1.1^5 = 37.9 % ≥ T = 10 %, met."""
    geo = [_geo(y, 100.0) for y in (2010, 2011, 2013, 2014, 2015)]
    geo.append(_geo(2012, float("nan"), gaps="CO2 not finite"))
    rows = _by(run_model("fct_target_assessment", {"int_geo_year": geo, "dim_target": TARGET},
                         upstream=["int_intensity", *ASSESSMENT]), "assessment_year")
    assert rows[2012]["note"] == "insufficient data: CO2 not finite"
    assert rows[2013]["note"] == "insufficient data: 2012: CO2 not finite"
    assert {y: rows[y]["status"] for y in rows} == {
        2011: "on schedule", 2012: "insufficient data", 2013: "insufficient data",
        2014: "on schedule", 2015: "met"}
    intensity = _by([r for r in run_model("int_intensity", {"int_geo_year": geo,
                                                             "dim_target": TARGET})
                     if r["plan_id"] == "12th"], "year")
    assert intensity[2012]["intensity_t_per_10k_yuan"] is None
    assert intensity[2013]["intensity_t_per_10k_yuan"] == pytest.approx(100 * 100 / 1331)
    # d(2013) = 1 − 7.513148 / 10 = 24.8685 %; the annual decline needs I(2012): none
    assert intensity[2013]["cumulative_decline_pct"] == pytest.approx(100 * (1 - 10 / 13.31))
    assert intensity[2013]["annual_decline_pct"] is None


# --- fct_target_assessment: status, grade, veto, note --------------------------------------


def _intensity(province: str, year: int, annual: float | None, cumulative: float | None,
               expected: float, target: float = 10.0) -> dict:
    return {"plan_id": "12th", "region_code": province, "year": year,
            "annual_decline_pct": annual, "cumulative_decline_pct": cumulative,
            "expected_decline_pct": expected, "target_pct": target}


@pytest.fixture(scope="module")
def assessed() -> dict:
    """12th FYP (base 2010, end 2015: n = 5), scoring rules of reference/scoring_rules.csv:
    annual 25 + cumulative 25 points, both vetoes; measures 50.

    630000 2015: decline 10 − 0.5e-9 % against T = 10 %: met (within the 1e-9 pp tolerance)
    110000 2015: decline 10 − 2e-9 %: missed; cumulative progress missed too → veto
    440000 2012: annual decline blank → insufficient data, whatever the cumulative figure
    650000 2012: own annual target 3 % (sheet), decline 2.5 % → annual target missed, veto;
                 cumulative 6 % ≥ e 4 % → on schedule; measures 40 points
    """
    rows = run_model("fct_target_assessment", {
        "int_intensity": [
            _intensity("630000", 2015, 3.0, 10 - 0.5e-9, 10.0),
            _intensity("110000", 2015, 3.0, 10 - 2e-9, 10.0),
            _intensity("440000", 2012, None, 5.0, 4.0),
            _intensity("650000", 2012, 2.5, 6.0, 4.0),
        ],
        "int_geo_year": [{"region_code": "440000", "year": 2012,
                          "data_gaps": "coal consumption blank"}],
        "stg_annual_targets": [{"plan_id": "12th", "region_code": "650000", "year": 2012,
                                "annual_target_pct": 3.0}],
        "int_measures_score": [{"plan_id": "12th", "region_code": "650000",
                                "assessment_year": 2012, "indicator": i, "points": 20.0}
                               for i in ("funding", "organisation")],
    }, upstream=ASSESSMENT)
    return _by(rows, "region_code")


def test_met_exactly_at_the_tolerance_boundary(assessed: dict) -> None:
    row = assessed["630000"]
    assert (row["status"], row["target_achieved"], row["veto"]) == ("met", True, False)
    # even pace: 1 − 0.9^(1/5) = 1 − 0.979148 = 2.0852 %; 3 % ≥ it → 25 points (capped at 1)
    assert row["annual_target_pct"] == pytest.approx(2.085164, abs=1e-6)
    assert row["annual_target_basis"] == "even pace"
    # cumulative 25 × (10 − 0.5e-9)/10 = 24.99999999875 → 25.00; target part 50 of 50
    assert (row["annual_target_score"], row["cumulative_target_score"]) == (25.0, 25.0)
    assert (row["target_score"], row["target_score_max"]) == (50.0, 50.0)
    # no measures sheet: provisional, and the note says why
    assert (row["grade"], row["grade_is_provisional"], row["total_score"]) == (
        "provisional", True, None)
    assert row["note"] == ("provisional: no measures score sheet for this province and year; "
                           "target part 50.0/50 points")


def test_missed_just_below_the_tolerance(assessed: dict) -> None:
    row = assessed["110000"]
    # 10 − 2e-9 < 10 − 1e-9: the five-year target and e(2015) = 10 % are both missed
    assert (row["status"], row["target_achieved"], row["veto"]) == ("missed", False, True)
    assert row["grade"] == "fail"
    assert row["note"] == "veto: cumulative progress target missed (10.00% < 10.00%)"
    assert row["target_score"] == 50.0  # 25 + 24.9999999950 → 50.00: the score is no excuse


def test_insufficient_data_gives_no_number(assessed: dict) -> None:
    row = assessed["440000"]
    assert (row["status"], row["grade"], row["grade_is_provisional"]) == (
        "insufficient data", "insufficient data", False)
    # the cumulative decline (5 %) is nulled with the blank annual one: no figure, no verdict
    for column in ("annual_decline_pct", "cumulative_decline_pct",
                   "cumulative_decline_direct_pct", "completion_pct", "target_achieved",
                   "annual_target_score", "cumulative_target_score", "target_score",
                   "total_score", "veto"):
        assert row[column] is None, column
    assert row["expected_decline_pct"] == 4.0  # the schedule itself is still known
    assert row["note"] == "insufficient data: coal consumption blank"


def test_a_missed_annual_target_is_a_veto(assessed: dict) -> None:
    row = assessed["650000"]
    assert (row["annual_target_pct"], row["annual_target_basis"]) == (3.0, "province figure")
    assert (row["status"], row["veto"], row["grade"]) == ("on schedule", True, "fail")
    # annual 25 × 2.5/3 = 20.8333 → 20.83; cumulative 25 × min(6/4, 1) = 25;
    # target round(45.8333, 2) = 45.83; total 45.83 + 40 = 85.83 ("good", but vetoed)
    assert (row["annual_target_score"], row["cumulative_target_score"]) == (20.83, 25.0)
    assert row["target_score"] == 45.83
    assert row["total_score"] == pytest.approx(85.83)
    assert row["measures_score"] == 40.0
    # completion = max(6, 0) / 10 = 60 %
    assert row["completion_pct"] == pytest.approx(60.0)
    assert row["note"] == "veto: annual target missed (2.50% < 3.00%)"


def test_grade_from_the_thresholds_and_chaining_note() -> None:
    """630000 2013, confirmed 2012 decline 5 %, annual 2013 2.5 %: chained
    D = 1 − 0.95 × 0.975 = 7.375 % (direct 6.5 %, difference 0.875); e = 6 % → on schedule;
    points 25 (2.5 ≥ 2.0852) + 25 (7.375 ≥ 6) = 50, measures 39.5 → 89.5: good (≥ 80, < 90)."""
    rows = run_model("fct_target_assessment", {
        "int_intensity": [_intensity("630000", 2013, 2.5, 6.5, 6.0)],
        "stg_confirmed_declines": [{"plan_id": "12th", "region_code": "630000",
                                    "year": 2012, "confirmed_decline_pct": 5.0}],
        "int_measures_score": [{"plan_id": "12th", "region_code": "630000",
                                "assessment_year": 2013, "indicator": "funding",
                                "points": 39.5}],
    }, upstream=ASSESSMENT)
    (row,) = rows
    assert row["cumulative_decline_chained_pct"] == pytest.approx(7.375)
    assert row["cumulative_decline_pct"] == pytest.approx(7.375)
    assert row["cumulative_decline_direct_pct"] == 6.5
    assert row["chaining_difference_pct"] == pytest.approx(0.875)
    assert (row["status"], row["veto"], row["target_score"], row["total_score"]) == (
        "on schedule", False, 50.0, 89.5)
    assert (row["grade"], row["grade_is_provisional"]) == ("good", False)
    assert row["note"] == ("total 89.5 = target 50.0/50 + measures 39.5/50; "
                           "chained on the confirmed 2012 decline")


def test_no_target_plan_is_not_assessed() -> None:
    rows = run_model("fct_target_assessment", {
        "int_intensity": [{"plan_id": "11th", "region_code": "630000", "year": 2008,
                           "annual_decline_pct": 4.0, "cumulative_decline_pct": 9.0}],
    }, upstream=ASSESSMENT)
    (row,) = rows
    assert (row["status"], row["grade"], row["veto"], row["rules_version"]) == (
        "no target", "not assessed", None, None)
    assert row["note"] == ("11th FYP: no provincial carbon-intensity target; declines "
                           "reported for reference")


# --- reason and margin (issue 12: the verdict explains itself) -----------------------------


def test_margin_worked_by_hand() -> None:
    """12th FYP (base 2010, end 2015), T = 10 %, I(2010) = 2.0 t per 10,000 yuan at a constant
    GDP of 1000 亿元 (CO2 = I × GDP / 100 = 20 Mt).

    2015 (end of plan: threshold = T = 10 %): GDP_B 1200 亿元, I = 1.82, CO2 = 1.82 × 12 =
    21.84 Mt; D = 1 − 1.82 / 2.0 = 9 %; annual decline 3 % ≥ even pace 2.085 % (no annual veto)
      margin_pp      = 9 − 10 = −1.00 pp (short: missed, cumulative veto → fail)
      I_threshold    = 2.0 × (1 − 0.10) = 1.8
      CO2_needed     = 1.8 × 1200 / 100 = 21.6 Mt → margin_co2_mt = 21.6 − 21.84 = −0.24 Mt
      GDP_needed     = 21.84 × 100 / 1.8 = 1213.33 亿元
      margin_gdp_pct = (1 − 1213.33 / 1200) × 100 = −1.1111 % (1.11 % more GDP needed)
    2012 (threshold = e(2012) = 1 − 0.9^(2/5) = 4.126848 %): GDP_B 1100, I = 1.9, CO2 =
    1.9 × 11 = 20.9 Mt; D = 1 − 1.9 / 2 = 5 %; annual 2.5 % ≥ 2.085 %
      margin_pp      = 5 − 4.126848 = +0.873152 pp (ahead: on schedule)
      I_threshold    = 2.0 × 0.958732 = 1.917463
      margin_co2_mt  = 1.917463 × 11 − 20.9 = 21.092093 − 20.9 = +0.192093 Mt (room)
      margin_gdp_pct = (1 − 1.9 / 1.917463) × 100 = +0.910736 % (GDP could be that much lower)
    """
    def row(year: int, gdp: float, intensity: float, annual: float | None,
            cumulative: float | None, expected: float) -> dict:
        return {"plan_id": "12th", "region_code": "630000", "year": year,
                "gdp_const_100m_yuan": gdp, "intensity_t_per_10k_yuan": intensity,
                "co2_mt": intensity * gdp / 100, "annual_decline_pct": annual,
                "cumulative_decline_pct": cumulative, "expected_decline_pct": expected,
                "target_pct": 10.0}

    e2012 = 100 * (1 - 0.9 ** 0.4)
    rows = _by(run_model("fct_target_assessment", {"int_intensity": [
        row(2010, 1000.0, 2.0, None, 0.0, 0.0),
        row(2012, 1100.0, 1.9, 2.5, 5.0, e2012),
        row(2015, 1200.0, 1.82, 3.0, 9.0, 10.0),
    ]}, upstream=ASSESSMENT), "assessment_year")

    end = rows[2015]
    assert (end["status"], end["veto"], end["grade"]) == ("missed", True, "fail")
    assert end["margin_pp"] == pytest.approx(-1.0, abs=1e-12)
    assert end["margin_co2_mt"] == pytest.approx(-0.24, abs=1e-12)
    assert end["margin_gdp_pct"] == pytest.approx(-1.111111, abs=1e-6)
    # Mt and % with two decimals below 1, one from 1 up
    assert end["margin_text"] == "short by 1.00 pp: 0.24 Mt CO2 less or 1.1 % more GDP in 2015"
    assert end["reason"] == "veto: plan target missed by 1.00 pp (9.00 % < 10.00 %)"

    early = rows[2012]
    assert (early["status"], early["veto"], early["grade"]) == (
        "on schedule", False, "provisional")
    assert early["margin_pp"] == pytest.approx(0.873152, abs=1e-6)
    assert early["margin_co2_mt"] == pytest.approx(0.192093, abs=1e-6)
    assert early["margin_gdp_pct"] == pytest.approx(0.910736, abs=1e-6)
    assert early["margin_text"] == (
        "ahead by 0.87 pp: 0.19 Mt CO2 more or 0.91 % less GDP in 2012")
    assert early["reason"] == "provisional: no measures sheet; target part 50.0/50"


def test_a_chained_margin_agrees_with_the_official_decline() -> None:
    """Chained 2013: confirmed 2012 decline 5 %, annual 2.5 % → D = 1 − 0.95 × 0.975 = 7.375 %
    (direct 6.5 %); e(2013) = 6 % → margin_pp = +1.375. The CO2 margin uses the base the
    official decline implies, I(t) / (1 − D) = 1.87 / 0.92625 = 2.018893, so it has the sign
    of margin_pp: I_thr = 2.018893 × 0.94 = 1.897760; margin_co2_mt = (1.897760 − 1.87) × 12
    = +0.333117 Mt (the direct base 2.0 would give 1.88 × 12 − 22.44 = +0.12)."""
    rows = run_model("fct_target_assessment", {
        "int_intensity": [
            {"plan_id": "12th", "region_code": "630000", "year": 2010,
             "intensity_t_per_10k_yuan": 2.0, "target_pct": 10.0},
            {"plan_id": "12th", "region_code": "630000", "year": 2013,
             "gdp_const_100m_yuan": 1200.0, "intensity_t_per_10k_yuan": 1.87,
             "co2_mt": 1.87 * 12, "annual_decline_pct": 2.5, "cumulative_decline_pct": 6.5,
             "expected_decline_pct": 6.0, "target_pct": 10.0}],
        "stg_confirmed_declines": [{"plan_id": "12th", "region_code": "630000",
                                    "year": 2012, "confirmed_decline_pct": 5.0}],
    }, upstream=ASSESSMENT)
    (row,) = [r for r in rows if r["assessment_year"] == 2013]
    assert row["margin_pp"] == pytest.approx(1.375)
    assert row["margin_co2_mt"] == pytest.approx((1.87 / 0.92625 * 0.94 - 1.87) * 12)
    assert row["margin_co2_mt"] == pytest.approx(0.333117, abs=1e-6)


def test_every_grade_has_a_reason(assessed: dict) -> None:
    assert assessed["630000"]["reason"] == (
        "provisional: no measures sheet; target part 50.0/50")
    assert assessed["110000"]["reason"] == (
        "veto: plan target missed by 0.00 pp (10.00 % < 10.00 %)")
    assert assessed["440000"]["reason"] == "insufficient data: coal consumption blank"
    assert assessed["650000"]["reason"] == (
        "veto: annual target missed by 0.50 pp (2.50 % < 3.00 %)")
    # no decline or no target: no margin
    for column in ("margin_pp", "margin_co2_mt", "margin_gdp_pct", "margin_text"):
        assert assessed["440000"][column] is None, column
    # margins without intensities (this fixture gives declines only): pp and its text alone
    assert assessed["650000"]["margin_pp"] == pytest.approx(2.0)
    assert assessed["650000"]["margin_text"] == "ahead by 2.00 pp"
    assert assessed["110000"]["margin_text"] == "short by 0.00 pp"
    rows = run_model("fct_target_assessment", {
        "int_intensity": [
            _intensity("630000", 2013, 2.5, 6.5, 6.0),
            {"plan_id": "11th", "region_code": "630000", "year": 2008,
             "annual_decline_pct": 4.0, "cumulative_decline_pct": 9.0}],
        "int_measures_score": [{"plan_id": "12th", "region_code": "630000",
                                "assessment_year": 2013, "indicator": "funding",
                                "points": 39.5}],
    }, upstream=ASSESSMENT)
    reason = {r["plan_id"]: r for r in rows}
    assert reason["12th"]["reason"] == "good: total 89.5 = target 50.0/50 + measures 39.5/50"
    assert reason["11th"]["reason"] == (
        "not assessed: the 11th FYP set no provincial carbon-intensity target")
    assert reason["11th"]["margin_pp"] is None and reason["11th"]["margin_text"] is None
