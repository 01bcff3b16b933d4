{#- One row per apartment. No owner: the building is masked as `Building <id>`; the weather site is the
    building's city when forecasts exist for it, else var('default_weather_site'). -#}
with apartments as (
    select apartment as apartment_id, min(split_part(file, '_', 2)) as smb_user
    from {{ ref('stg_file_ledger') }}
    where source = 'sensor' and apartment is not null
    group by apartment
),
buildings as (select * from {{ ref('stg_buildings') }}),
sites as (select * from {{ ref('dim_weather_site') }})
select
    {{ surrogate_key(['apartments.apartment_id']) }} as apartment_key,
    apartments.apartment_id::text as apartment_id,
    buildings.building_id,
    case when buildings.building_id is not null then 'Building ' || buildings.building_id end::text as building_name,
    coalesce(city_site.site_key, default_site.site_key) as weather_site_key
from apartments
left join buildings on lower(buildings.house_name) = lower(apartments.smb_user)
left join sites as city_site on city_site.site_name = buildings.city
left join sites as default_site on default_site.site_name = '{{ var("default_weather_site") }}'
