{{ config(materialized='view') }}
{#- The weather site of each apartment: its building's city when forecasts exist for it, else
    var('default_weather_site'). Apart from dim_apartment, so that the apartments, and every sensor fact that
    needs them, never wait for the weather. -#}
with apartments as (select apartment_key, building_id from {{ ref('dim_apartment') }}),
buildings as (select building_id, city from {{ ref('stg_buildings') }}),
sites as (select site_key, site_name from {{ ref('dim_weather_site') }})
select
    apartments.apartment_key,
    coalesce(city_site.site_key, default_site.site_key) as weather_site_key
from apartments
left join buildings on buildings.building_id = apartments.building_id
left join sites as city_site on city_site.site_name = buildings.city
left join sites as default_site on default_site.site_name = '{{ var("default_weather_site") }}'
where {{ apartment_rows_visible('apartments.apartment_key') }}
