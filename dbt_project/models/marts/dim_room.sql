{{ config(materialized='view') }}
{#- One row per room of an apartment (as named in the sensor files, normalised in silver). -#}
select distinct
    room_key,
    room::text as room_name,
    apartment_key
from {{ ref('int_sensors') }}
where {{ apartment_rows_visible('apartment_key') }}
