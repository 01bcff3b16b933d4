{#- One row per apartment. No owner: the building is masked as `Building <id>`. Built from sensor files and the
    reference tables alone (its weather site is `dim_apartment_weather_site`, which waits for the forecasts). -#}
with apartments as (
    select apartment as apartment_id, min(split_part(file, '_', 2)) as smb_user
    from {{ ref('stg_file_ledger') }}
    where source = 'sensor' and apartment is not null
    group by apartment
),
buildings as (select * from {{ ref('stg_buildings') }})
select
    {{ surrogate_key(['apartments.apartment_id']) }} as apartment_key,
    apartments.apartment_id::text as apartment_id,
    buildings.building_id,
    case when buildings.building_id is not null then 'Building ' || buildings.building_id end::text as building_name
from apartments
left join buildings on lower(buildings.house_name) = lower(apartments.smb_user)
