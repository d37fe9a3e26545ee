"""Two reference implementations of unit-year carbon intensity over the generated Parquet files.

    .venv/bin/python benchmarks/reference_impls.py {duckdb,pandas} DATA_DIR [--threads N] [--json]

The yardsticks the pipeline will be measured against at county scale (benchmarks/bench_scale.py):

  duckdb_floor(data_dir)   one bare DuckDB SQL query (SQL_FLOOR): read_parquet, UNPIVOT the
                           energy columns, join the emission factors, sum CO2 to unit-year, join
                           GDP deflated to constant 2010 prices, intensity. The floor: nothing
                           the pipeline does can be cheaper than this on the same machine.
  pandas_version(data_dir) the same computation as a competent analyst writes it in pandas:
                           read_parquet, melt, merge, groupby.

Both return one row per unit-year of the GDP file, ordered by code and year, with the columns
code, year, co2_t, gdp_const_2010, intensity:

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
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb
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
        "factors": str(REFERENCE / "emission_factors.csv"),
        "indicators": str(REFERENCE / "indicators.csv"),
        "units": str(REFERENCE / "units.csv"),
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
    """column_name -> t CO2 per unit of the column's header unit (same rule as SQL_FLOOR)."""
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
    return table[["column_name", "t_co2"]]


def pandas_version(data_dir: Path) -> pd.DataFrame:
    """(b) The same computation, written plainly in pandas."""
    paths = _paths(data_dir)
    energy = pd.read_parquet(paths["energy"]).drop(columns=["地区"])
    long = energy.melt(id_vars=[CODE, YEAR], var_name="column_name", value_name="quantity")
    long = long.merge(_column_factors([c for c in energy.columns if c not in (CODE, YEAR)],
                                      paths), on="column_name")
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


IMPLEMENTATIONS = {"duckdb": duckdb_floor, "pandas": pandas_version}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=sorted(IMPLEMENTATIONS))
    parser.add_argument("data", type=Path)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench_scale)")
    args = parser.parse_args(argv)
    baseline = rss_mib("VmRSS")  # after the imports, before any data is read
    kwargs = {"threads": args.threads} if args.impl == "duckdb" else {}
    start = time.perf_counter()
    frame = IMPLEMENTATIONS[args.impl](args.data, **kwargs)
    seconds = time.perf_counter() - start
    result = {
        "impl": args.impl,
        "seconds": seconds,
        "rows_out": len(frame),
        "rss_baseline_mib": baseline,
        "rss_peak_mib_self": rss_mib("VmHWM"),
        "co2_t_sum": float(frame["co2_t"].sum()),
        "intensity_sum": float(frame["intensity"].sum()),
        "intensity_null": int(frame["intensity"].isna().sum()),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(frame.head(10).to_string())
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
