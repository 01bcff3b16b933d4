{{ config(materialized='view', tags=['daily']) }}
{#- Per apartment and minute: the house's energy (3-phase meter), the metered devices' energy, and the
    residual house − devices (consumption no plug measures). `is_comparable`: the meter and every plug with a
    row that minute are known, the only minutes on which house and devices may be compared. -#}
select
    energy.datetime_key,
    energy.date_key,
    energy.apartment_key,
    sum(energy.energy_wh) filter (where devices.sensor_type = 'consumption') as house_wh,
    sum(energy.energy_wh) filter (where devices.sensor_type = 'plug') as devices_wh,
    sum(energy.energy_wh) filter (where devices.sensor_type = 'consumption')
    - coalesce(sum(energy.energy_wh) filter (where devices.sensor_type = 'plug'), 0) as residual_wh,
    coalesce(bool_and(energy.energy_wh is not null) filter (where devices.sensor_type = 'consumption'), false)
    and coalesce(bool_and(energy.energy_wh is not null) filter (where devices.sensor_type = 'plug'), true)
    as is_comparable
from {{ ref('fact_energy_minute') }} as energy
inner join {{ ref('dim_device') }} as devices on energy.device_key = devices.device_key
where {{ apartment_rows_visible('energy.apartment_key') }}
group by energy.datetime_key, energy.date_key, energy.apartment_key
