{{ config(materialized='view', tags=['daily']) }}
{#- Per apartment and minute: the house's energy (3-phase meter), the metered devices' energy, and the
    residual house − devices (consumption no plug measures). -#}
select
    energy.datetime_key,
    energy.date_key,
    energy.apartment_key,
    sum(energy.energy_wh) filter (where devices.sensor_type = 'consumption') as house_wh,
    sum(energy.energy_wh) filter (where devices.sensor_type = 'plug') as devices_wh,
    sum(energy.energy_wh) filter (where devices.sensor_type = 'consumption')
        - coalesce(sum(energy.energy_wh) filter (where devices.sensor_type = 'plug'), 0) as residual_wh
from {{ ref('fact_energy_minute') }} as energy
join {{ ref('dim_device') }} as devices using (device_key)
where {{ apartment_rows_visible('energy.apartment_key') }}
group by energy.datetime_key, energy.date_key, energy.apartment_key
