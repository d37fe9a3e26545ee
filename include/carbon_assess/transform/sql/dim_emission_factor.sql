-- Emission factors of the version this run uses, with the conversion from the canonical activity
-- unit (万吨 or 亿立方米) to Mt CO2 (activity × si_per_canonical × kgCO2/unit / 1e9) and to
-- 10,000 tce (activity × si_per_canonical × kgce/unit / 1e7), and the fuel's class under the
-- reference approach (reference_basis: primary, net_of_production or excluded; DESIGN.md §5).
select
    f.factor_version,
    f.fuel,
    f.activity_unit,
    cast(f.ncv_kj_per_unit as double) as ncv_kj_per_unit,
    cast(f.carbon_content_tc_per_tj as double) as carbon_content_tc_per_tj,
    cast(f.oxidation_rate as double) as oxidation_rate,
    cast(f.ef_kgco2_per_unit as double) as ef_kgco2_per_unit,
    cast(f.kgce_per_unit as double) as kgce_per_unit,
    case f.activity_unit when 'kg' then '万吨' when 'm3' then '亿立方米' end as canonical_unit,
    cast(f.ef_kgco2_per_unit as double)
        * case f.activity_unit when 'kg' then 1e7 when 'm3' then 1e8 end / 1e9
        as mt_co2_per_canonical_unit,
    cast(f.kgce_per_unit as double)
        * case f.activity_unit when 'kg' then 1e7 when 'm3' then 1e8 end / 1e7
        as energy_10k_tce_per_canonical_unit,
    case
        when f.reference_basis in ('primary', 'net_of_production', 'excluded') then f.reference_basis
        else error(format('emission_factors.csv: fuel {} has reference_basis "{}"; expected '
                          'primary, net_of_production or excluded', f.fuel, f.reference_basis))
    end as reference_basis,
    f.source
from ref_emission_factors as f
where f.factor_version = getvariable('factor_version')
order by f.fuel
