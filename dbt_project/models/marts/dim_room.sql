{#- One row per room of an apartment (as named in the sensor files, normalised in silver). -#}
select distinct
    {{ surrogate_key(['apartment', 'room']) }} as room_key,
    room::text as room_name,
    {{ surrogate_key(['apartment']) }} as apartment_key
from {{ ref('int_sensors') }}
