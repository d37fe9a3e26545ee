"""Three reference implementations over the generated Parquet files: two of unit-year carbon
intensity (the floor and pandas floor-like), one of the pipeline's whole compute + assess in pandas.

    .venv/bin/python benchmarks/reference_impls.py {duckdb,pandas,pandas_full} DATA_DIR
        [--threads N] [--json] [--check]

The yardsticks the pipeline will be measured against at county scale (benchmarks/bench_scale.py):

  duckdb_floor(data_dir)   one bare DuckDB SQL query (SQL_FLOOR): read_parquet, UNPIVOT the
                           energy columns, join the emission factors, sum CO2 to unit-year, join
                           GDP deflated to constant 2010 prices, intensity. The floor: nothing
                           the pipeline does can be cheaper than this on the same machine.
  pandas_version(data_dir) the same computation as a competent analyst writes it in pandas:
                           read_parquet, melt, merge, groupby ("pandas floor-like": it does what
                           the floor does, far less than the pipeline's compute + assess).
  pandas_full(data_dir)    what the pipeline's compute + assess stages do, in vectorised pandas,
                           so that "pandas / compute + assess" compares like with like; see
                           "pandas_full" below.

duckdb_floor and pandas_version return one row per unit-year of the GDP file, ordered by code
and year, with the columns code, year, co2_t, gdp_const_2010, intensity:

  co2_t           t CO2, consumption method: sum over the fuels of reference/emission_factors.csv
                  (default factor version = the newest, as carbon_assess.transform
                  .current_factor_version) of  quantity x unit factor to the canonical unit
                  (reference/units.csv) x ef_kgco2_per_unit x (1e7 kg per 万吨 | 1e8 m3 per
                  亿立方米) / 1e3. This mirrors transform/sql/dim_emission_factor.sql
                  (mt_co2_per_canonical_unit = ef_kgco2_per_unit x 1e7|1e8 / 1e9) and the
                  `consumption` method of transform/sql/int_emissions.sql (every fuel's
                  consumption x factor; co2_mt = activity_quantity x mt_co2_per_canonical_unit),
                  in t instead of Mt. ef_kgco2_per_unit is the table's own product NCV x carbon
                  content x oxidation x 44/12 rounded to 4 decimals (coal: 20908 kJ/kg x 26.37
                  tC/TJ x 0.94 x 44/12 = 1.90029 -> 1.9003 kg/kg); like the project, the
                  rounded value is used. Blank cells count as nothing; a unit-year whose every
                  fuel cell is blank has co2_t null. Electricity has no combustion factor and
                  drops out in the join (as in int_emissions.sql).
  gdp_const_2010  亿元 at constant 2010 prices through the GDP index chain (previous year = 100):
                  GDP_current(2010) x prod_{k=2011..t} index_k / 100 after 2010 and
                  GDP_current(2010) / prod_{k=t+1..2010} index_k / 100 before (as
                  transform/sql/int_intensity.sql does from a plan's base year, extended
                  backwards), computed as GDP_current(2010) x P(t) / P(2010) with P(t) the running
                  product of index/100 from the first year. The generator writes no blank GDP or
                  index cell; a unit without a 2010 row gets null.
  intensity       t CO2 per 10,000 yuan = co2_t / (gdp_const_2010 x 1e4)  (1 亿元 = 1e4 万元;
                  int_intensity.sql: co2_mt x 100 / gdp_const_100m_yuan).

pandas_full reads the same Parquet files (and population's keys) and reference CSVs
(emission_factors, indicators, units, regions, plans, targets) and returns FullResult:
  unit_years  one row per unit-year of int_geo_year's grid (the 31 provinces of regions.csv and
              every unit with a row, x every year from the first to the last): code, year,
              co2_t (null = insufficient data: no fuel reported, coal blank, 0, negative or
              not finite, or CO2 not finite), imputed (some CO2 rests on an interpolated cell).
  plan_years  one row per plan of plans.csv x unit x year from the base year B to the end year
              E (as int_intensity; 95,000 rows at 2.2M): GDP_B(t) = GDP(B) x prod_{B<k<=t}
              index_k / 100 (GDP(B) positive and finite, every index present), intensity,
              annual and cumulative decline (%), target (targets.csv), even-pace expected
              decline, and status for t > B (int_target_assessment, in its order): insufficient
              data (either decline null) / no target / met or missed in E / behind / on
              schedule, one tolerance (reaches(): 1e-9 pp). Its status counts are those of
              fct_target_assessment.
  The blank policy of int_energy_activity.sql on the wide file, one column per fuel (as an
  analyst would work with this layout): rounding noise 0 > x > -1e-6 -> 0; a blank consumption
  between reported years of the same unit and fuel -> linear interpolation (grouped ffill/bfill
  of value and year); any other blank -> 0; a blank coal stays missing. CO2 = consumption x
  factor summed over the fuels (int_emissions.sql, consumption method).
  Simplifications, none of which the generated data exercises or the status depends on here:
  - consumption method only (the benchmark's run method); the files hold no production flow,
    so "production blank -> 0" and the reference method's net-of-production have nothing to do;
  - no national files (000000), no targets, annual-targets or confirmed-declines sheets: the
    targets are targets.csv's and the official decline is the direct one (no chaining);
  - plain float sums, not exact_sum (the same to ~1e-15 relative);
  - status only: no scores, grades, veto, margins, notes, provisional verdicts, energy
    intensity, decomposition, roll-up reconciliation, official comparison or data_gaps text.
    The pipeline's compute + assess builds all of these, so pandas_full does less than it,
    never more: the ratio flatters pandas, if anything.
--check (pandas_full): instead of timing, compare it with the floor (check_full).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NamedTuple

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_landing import (  # noqa: E402
    CODE,
    GDP_HEADER,
    INDEX_HEADER,
    REPO,
    YEAR,
    file_name,
)
from proc_status import rss_mib  # noqa: E402

REFERENCE = REPO / "include" / "carbon_assess" / "reference"
BASE_YEAR = 2010
OUTPUT_COLUMNS = ("code", "year", "co2_t", "gdp_const_2010", "intensity")
HEADER_PATTERN = r"^(.+?)\((.+)\)$"  # 煤炭消费量(万吨) -> 煤炭消费量, 万吨


def _paths(data_dir: Path) -> dict[str, str]:
    data_dir = Path(data_dir)
    return {
        "energy": str(data_dir / file_name("energy_consumption", "parquet")),
        "gdp": str(data_dir / file_name("gdp", "parquet")),
        "index": str(data_dir / file_name("gdp_index", "parquet")),
        "population": str(data_dir / file_name("population", "parquet")),
        "factors": str(REFERENCE / "emission_factors.csv"),
        "indicators": str(REFERENCE / "indicators.csv"),
        "units": str(REFERENCE / "units.csv"),
        "regions": str(REFERENCE / "regions.csv"),
        "plans": str(REFERENCE / "plans.csv"),
        "targets": str(REFERENCE / "targets.csv"),
    }


# The DuckDB floor: one statement. {placeholders} are file paths and fixed column names only.
SQL_FLOOR = """
with factor as (  -- default factor version: the newest (transform.current_factor_version)
    select fuel, activity_unit, cast(ef_kgco2_per_unit as double) as ef_kgco2_per_unit
    from read_csv('{factors}', all_varchar = true)
    where factor_version = (select max(factor_version)
                            from read_csv('{factors}', all_varchar = true))
),
column_factor as (  -- t CO2 per unit of each energy column's header unit
    select
        s.column_name,
        cast(u.factor_to_canonical as double) * f.ef_kgco2_per_unit
            * case f.activity_unit when 'kg' then 1e7 when 'm3' then 1e8 end / 1e3 as t_co2
    from (
        select
            name as column_name,
            regexp_extract(name, '{pattern}', 1) as indicator,
            regexp_extract(name, '{pattern}', 2) as unit
        from parquet_schema('{energy}')
    ) as s
    join read_csv('{indicators}', all_varchar = true) as i
        on i.indicator_zh = s.indicator and i.source_kind = 'energy_consumption'
    join read_csv('{units}', all_varchar = true) as u on u.unit = s.unit
    join factor as f on f.fuel = i.fuel
),
activity as (  -- long: one row per unit-year-column; blank cells are left out by UNPIVOT
    unpivot (select * exclude ("地区") from read_parquet('{energy}'))
    on columns(* exclude ("{code}", "{year}"))
    into name column_name value quantity
),
co2 as (
    select a."{code}" as code, a."{year}" as year, sum(a.quantity * c.t_co2) as co2_t
    from activity as a
    join column_factor as c using (column_name)
    group by all
),
chain as (
    select
        g."{code}" as code,
        g."{year}" as year,
        g."{gdp_col}" as gdp_current,
        product(i."{index_col}" / 100.0) over (partition by g."{code}" order by g."{year}") as p
    from read_parquet('{gdp}') as g
    join read_parquet('{index}') as i using ("{code}", "{year}")
),
gdp as (
    select c.code, c.year, b.gdp_current * c.p / b.p as gdp_const_2010
    from chain as c
    left join chain as b on b.code = c.code and b.year = {base_year}
)
select g.code, g.year, e.co2_t, g.gdp_const_2010, e.co2_t / (g.gdp_const_2010 * 1e4) as intensity
from gdp as g
left join co2 as e using (code, year)
order by g.code, g.year
"""


def floor_sql(data_dir: Path) -> str:
    return SQL_FLOOR.format(**_paths(data_dir), pattern=HEADER_PATTERN, code=CODE, year=YEAR,
                            gdp_col=GDP_HEADER, index_col=INDEX_HEADER,
                            base_year=BASE_YEAR)


def duckdb_floor(data_dir: Path, threads: int | None = None) -> pd.DataFrame:
    """(a) The DuckDB floor: SQL_FLOOR, fetched as a DataFrame."""
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"set threads = {int(threads)}")
        return con.sql(floor_sql(data_dir)).df()
    finally:
        con.close()


def _column_factors(energy_columns: list[str], paths: dict[str, str]) -> pd.DataFrame:
    """column_name, fuel, t_co2: t CO2 per unit of the column's header unit (same rule as
    SQL_FLOOR), for the energy columns that have a combustion factor."""
    factors = pd.read_csv(paths["factors"], dtype=str)
    factors = factors[factors["factor_version"] == factors["factor_version"].max()]
    indicators = pd.read_csv(paths["indicators"], dtype=str)
    indicators = indicators[indicators["source_kind"] == "energy_consumption"]
    units = pd.read_csv(paths["units"], dtype=str)
    cols = pd.Series(energy_columns, name="column_name")
    parts = cols.str.extract(HEADER_PATTERN)
    table = pd.DataFrame({"column_name": cols, "indicator_zh": parts[0], "unit": parts[1]})
    table = (table.merge(indicators[["indicator_zh", "fuel"]], on="indicator_zh")
             .merge(units[["unit", "factor_to_canonical"]], on="unit")
             .merge(factors[["fuel", "activity_unit", "ef_kgco2_per_unit"]], on="fuel"))
    per_si = table["activity_unit"].map({"kg": 1e7, "m3": 1e8})
    table["t_co2"] = (table["factor_to_canonical"].astype(float)
                      * table["ef_kgco2_per_unit"].astype(float) * per_si / 1e3)
    return table[["column_name", "fuel", "t_co2"]]


def pandas_version(data_dir: Path) -> pd.DataFrame:
    """(b) The same computation, written plainly in pandas."""
    paths = _paths(data_dir)
    energy = pd.read_parquet(paths["energy"]).drop(columns=["地区"])
    long = energy.melt(id_vars=[CODE, YEAR], var_name="column_name", value_name="quantity")
    factors = _column_factors([c for c in energy.columns if c not in (CODE, YEAR)], paths)
    long = long.merge(factors[["column_name", "t_co2"]], on="column_name")
    long["co2_t"] = long["quantity"] * long["t_co2"]
    co2 = long.groupby([CODE, YEAR], as_index=False)["co2_t"].sum(min_count=1)

    gdp = pd.read_parquet(paths["gdp"], columns=[CODE, YEAR, GDP_HEADER]).merge(
        pd.read_parquet(paths["index"], columns=[CODE, YEAR, INDEX_HEADER]), on=[CODE, YEAR])
    gdp = gdp.sort_values([CODE, YEAR])
    gdp["p"] = (gdp[INDEX_HEADER] / 100.0).groupby(gdp[CODE]).cumprod()
    base = gdp.loc[gdp[YEAR] == BASE_YEAR, [CODE, GDP_HEADER, "p"]]
    gdp = gdp.merge(base, on=CODE, how="left", suffixes=("", "_base"))
    gdp["gdp_const_2010"] = gdp[f"{GDP_HEADER}_base"] * gdp["p"] / gdp["p_base"]

    out = gdp[[CODE, YEAR, "gdp_const_2010"]].merge(co2, on=[CODE, YEAR], how="left")
    out["intensity"] = out["co2_t"] / (out["gdp_const_2010"] * 1e4)
    out = out.rename(columns={CODE: "code", YEAR: "year"})
    return out[list(OUTPUT_COLUMNS)].sort_values(["code", "year"], ignore_index=True)


# --- (c) pandas: the pipeline's compute + assess, like for like ---------------------------------
NEGATIVE_NOISE = 1e-6  # transform.NEGATIVE_NOISE: stg_energy sets 0 > x > -1e-6 to 0
REACHES_TOL = 1e-9  # percentage points: the macro reaches(), one tolerance for every verdict
STATUSES = ("insufficient data", "no target", "met", "missed", "behind", "on schedule")


class FullResult(NamedTuple):
    """pandas_full's two outputs: what compute (int_geo_year) and assess (int_intensity +
    int_target_assessment) would hand on."""

    unit_years: pd.DataFrame  # code, year, co2_t (null: insufficient), imputed
    plan_years: pd.DataFrame  # plan_id, code, year, gdp_const_100m_yuan, intensity, ..., status


def _unit_year_co2(energy: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """int_energy_activity + int_emissions (consumption) + the energy half of int_geo_year, on
    the wide file: blank policy, CO2 per unit-year, imputed CO2, the energy gaps."""
    energy = energy.sort_values([CODE, YEAR], ignore_index=True)
    cols = table["column_name"].tolist()
    q = energy[cols].astype(float)
    q = q.mask((q < 0) & (q > -NEGATIVE_NOISE), 0.0)  # stg_energy: rounding noise -> 0
    blank = q.isna()
    # the nearest reported year and value before and after each cell, within the unit's series
    years = pd.DataFrame(np.where(blank, np.nan, energy[YEAR].to_numpy(float)[:, None]),
                         columns=cols)
    both = pd.concat({"q": q, "y": years}, axis=1)
    grouped = both.groupby(energy[CODE], sort=False)
    before, after = grouped.ffill(), grouped.bfill()
    # ffill/bfill include the row itself, which is blank wherever this is used
    year = energy[YEAR].to_numpy(float)[:, None]
    interpolated = before["q"] + (after["q"] - before["q"]) * (
        (year - before["y"]) / (after["y"] - before["y"]))
    coal = table.loc[table["fuel"] == "coal", "column_name"].tolist()
    imputed = blank & before["y"].notna() & after["y"].notna()
    imputed[coal] = False
    filled = q.where(~blank, interpolated.where(imputed, 0.0))
    filled[coal] = q[coal]  # coal blank stays missing: the unit-year is insufficient
    co2 = filled * table["t_co2"].to_numpy()
    co2_t = co2.sum(axis=1, min_count=1)
    imputed_t = co2.abs().where(imputed, 0.0).sum(axis=1)
    coal_q = q[coal].iloc[:, 0] if coal else pd.Series(np.nan, index=q.index)
    gap = ((~blank).sum(axis=1) == 0) | ~np.isfinite(coal_q) | (coal_q <= 0) | ~np.isfinite(co2_t)
    return pd.DataFrame({"code": energy[CODE], "year": energy[YEAR],
                         "co2_t": co2_t.where(~gap), "imputed": imputed_t > 0,
                         "energy_gap": gap})


def _long(units: pd.Index, years: list[int], columns: dict[str, pd.DataFrame | np.ndarray]
          ) -> pd.DataFrame:
    """units x years frames -> one row per (code, year), code-major like the pipeline's order."""
    out = {"code": np.repeat(units.to_numpy(), len(years)), "year": np.tile(years, len(units))}
    for name, wide in columns.items():
        out[name] = np.asarray(wide).ravel()
    return pd.DataFrame(out)


def pandas_full(data_dir: Path) -> FullResult:
    """(c) The pipeline's compute + assess in vectorised pandas, on the same files."""
    paths = _paths(data_dir)
    energy = pd.read_parquet(paths["energy"]).drop(columns=["地区"])
    table = _column_factors([c for c in energy.columns if c not in (CODE, YEAR)], paths)
    unit_co2 = _unit_year_co2(energy, table)
    economy = (pd.read_parquet(paths["gdp"], columns=[CODE, YEAR, GDP_HEADER])
               .merge(pd.read_parquet(paths["index"], columns=[CODE, YEAR, INDEX_HEADER]),
                      on=[CODE, YEAR], how="outer")
               .merge(pd.read_parquet(paths["population"], columns=[CODE, YEAR]),
                      on=[CODE, YEAR], how="outer")
               .rename(columns={CODE: "code", YEAR: "year", GDP_HEADER: "gdp",
                                INDEX_HEADER: "index"}))
    # int_geo_year's grid: the 31 provinces, every unit with a row; every year min..max
    regions = pd.read_csv(paths["regions"], dtype=str, usecols=["code", "level"])
    units = pd.Index(pd.concat([regions.loc[regions["level"] == "province", "code"],
                                unit_co2["code"], economy["code"]]).unique(),
                     name="code").sort_values()
    first = int(min(unit_co2["year"].min(), economy["year"].min()))
    last = int(max(unit_co2["year"].max(), economy["year"].max()))
    years = list(range(first, last + 1))
    grid = pd.MultiIndex.from_product([units, years], names=["code", "year"])
    uy = (unit_co2.set_index(["code", "year"]).reindex(grid)
          .join(economy.set_index(["code", "year"])))
    uy["imputed"] = uy["imputed"].fillna(False).astype(bool)
    co2 = uy["co2_t"].unstack("year")
    gdp = uy["gdp"].unstack("year")
    index = uy["index"].unstack("year")
    units = co2.index  # the wide frames' row order, which _long and the targets follow

    plans = pd.read_csv(paths["plans"], dtype={"plan_id": str})
    targets = pd.read_csv(paths["targets"], dtype={"plan_id": str, "province_code": str})
    frames = []
    for plan in plans.itertuples(index=False):  # 4 plans: a loop over plans, not rows
        base, end = int(plan.base_year), int(plan.end_year)
        span = [y for y in years if base <= y <= end]
        if base not in years:
            continue
        # int_intensity: GDP_B(t) = GDP(B) x prod_{B<k<=t} index_k / 100, every index present
        gdp_base = gdp[base].where(np.isfinite(gdp[base]) & (gdp[base] > 0))
        chain = (index[span[1:]] / 100.0).cumprod(axis=1, skipna=False)
        chain = chain.where(np.isfinite(chain) & (chain > 0))
        const = pd.concat([gdp_base.rename(base), chain.mul(gdp_base, axis=0)], axis=1)
        intensity = co2[span] / (const * 1e4)  # t CO2 / 万元 = co2_mt x 100 / 亿元
        intensity = intensity.where(np.isfinite(intensity))
        positive = intensity.where(intensity > 0)
        annual = 100 * (1 - intensity / positive.shift(1, axis=1))
        cumulative = 100 * (1 - intensity.div(positive[base], axis=0))
        annual, cumulative = (f.where(np.isfinite(f)) for f in (annual, cumulative))
        target = (targets.loc[targets["plan_id"] == plan.plan_id]
                  .set_index("province_code")["target_pct"].reindex(units).to_numpy(float))
        t = np.array(span, dtype=float)
        expected = 100 * (1 - (1 - target[:, None] / 100) ** ((t - base) / (end - base)))
        expected[np.isnan(target)] = np.nan  # NaN ** 0 is 1 in numpy, null in SQL
        long = _long(units, span, {
            "gdp_const_100m_yuan": const, "co2_t": co2[span], "intensity": intensity,
            "annual_decline_pct": annual, "cumulative_decline_pct": cumulative,
            "expected_decline_pct": expected,
            "target_pct": np.repeat(target[:, None], len(span), axis=1)})
        long.insert(0, "plan_id", plan.plan_id)
        # int_target_assessment: every year after the base year, in this order
        decline, exp, tgt = (long[c] for c in ("cumulative_decline_pct",
                                                "expected_decline_pct", "target_pct"))
        at_end = long["year"] == end
        status = np.select(
            [long["annual_decline_pct"].isna() | decline.isna(), tgt.isna(),
             at_end & (decline >= tgt - REACHES_TOL), at_end, decline < exp - REACHES_TOL],
            list(STATUSES[:5]), STATUSES[5])
        long["status"] = pd.Series(status, dtype=object).where(long["year"] > base)
        frames.append(long)
    plan_years = pd.concat(frames, ignore_index=True)
    unit_years = uy[["co2_t", "imputed"]].reset_index()
    return FullResult(unit_years, plan_years)


IMPLEMENTATIONS = {"duckdb": duckdb_floor, "pandas": pandas_version,
                   "pandas_full": pandas_full}


def base_2010_plans(paths: dict[str, str]) -> list[str]:
    """The plans whose constant prices are the floor's (base year 2010: the 12th FYP)."""
    plans = pd.read_csv(paths["plans"], dtype={"plan_id": str})
    return plans.loc[plans["base_year"] == BASE_YEAR, "plan_id"].tolist()


def check_full(data_dir: Path, full: FullResult | None = None) -> dict:
    """pandas_full against the floor on the same unit-years, with the helper the pipeline's
    check uses (stage_child._compare: sums and rows off by > 1e-9 relative), strict on the
    unit-years without an imputed cell; intensity of the plan(s) based on 2010."""
    from stage_child import _compare

    full = full if full is not None else pandas_full(data_dir)
    floor = duckdb_floor(data_dir)
    plans = base_2010_plans(_paths(data_dir))
    in_plan = full.plan_years.loc[full.plan_years["plan_id"].isin(plans),
                                  ["code", "year", "intensity"]]
    con = duckdb.connect()
    try:
        con.register("floor_df", floor)
        con.register("full_df", full.unit_years)
        con.register("plan_df", in_plan)
        con.execute("""
            create temp table joined as
            select f.code, f.year, f.co2_t, f.intensity as floor_intensity,
                   u.code as full_code, u.co2_t as full_co2_t, not u.imputed as not_imputed
            from floor_df as f
            full join full_df as u on u.code = f.code and u.year = f.year""")
        out: dict = {"intensity_plans": plans}
        out["units"] = dict(zip(
            ("floor_unit_years", "full_unit_years", "floor_only", "full_only"),
            con.execute("""select count(code), count(full_code),
                                  count(*) filter (where full_code is null),
                                  count(*) filter (where code is null) from joined""").fetchone(),
            strict=True))
        out["co2"] = _compare(con, "joined", "full_co2_t", "co2_t", "not_imputed")
        con.execute("""
            create temp table joined_i as
            select j.*, p.intensity as full_intensity
            from joined as j join plan_df as p on p.code = j.code and p.year = j.year""")
        out["intensity"] = _compare(con, "joined_i", "full_intensity", "floor_intensity",
                                    "not_imputed")
    finally:
        con.close()
    return out


def status_counts(full: FullResult) -> dict[str, int]:
    """Rows per status, as the assess stage reports fct_target_assessment's."""
    counts = full.plan_years["status"].value_counts()
    return {str(k): int(v) for k, v in sorted(counts.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=sorted(IMPLEMENTATIONS))
    parser.add_argument("data", type=Path)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench_scale)")
    parser.add_argument("--check", action="store_true",
                        help="pandas_full only: compare with the floor instead of timing (a "
                        "process of its own, so the floor stays out of the timed peak RSS)")
    args = parser.parse_args(argv)
    if args.check and args.impl != "pandas_full":
        parser.error("--check is for pandas_full")
    baseline = rss_mib("VmRSS")  # after the imports, before any data is read
    kwargs = {"threads": args.threads} if args.impl == "duckdb" else {}
    start = time.perf_counter()
    output = IMPLEMENTATIONS[args.impl](args.data, **kwargs)
    seconds = time.perf_counter() - start
    result = {"impl": args.impl, "seconds": seconds, "rss_baseline_mib": baseline,
              "rss_peak_mib_self": rss_mib("VmHWM")}
    if isinstance(output, FullResult):
        frame = output.plan_years
        result.update(
            rows_out=int(frame["status"].notna().sum()),  # fct_target_assessment's rows
            unit_years=len(output.unit_years), plan_year_rows=len(frame),
            co2_t_sum=float(output.unit_years["co2_t"].sum()),
            status_counts=status_counts(output))
        if args.check:
            result["check"] = check_full(args.data, output)
    else:
        frame = output
        result.update(rows_out=len(frame), co2_t_sum=float(frame["co2_t"].sum()),
                      intensity_sum=float(frame["intensity"].sum()),
                      intensity_null=int(frame["intensity"].isna().sum()))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
    else:
        print(frame.head(10).to_string())
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
