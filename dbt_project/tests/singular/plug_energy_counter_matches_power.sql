-- Per plug and local day with some use (≥ 100 Wh), over the minutes whose energy is the counter's rise over
-- exactly that minute (a reading in the minute before, no gap, no rule applied), the energy from the counter and the energy from
-- the power read in those minutes agree within 2 %.
{{ config(tags=['daily']) }}
with minutes as (
    select energy.device_key, energy.date_key, energy.energy_wh, energy.power_w, energy.adjustment,
           energy.is_imputed,
           to_timestamp(energy.datetime_key::text, 'YYYYMMDDHH24MI')
             - lag(to_timestamp(energy.datetime_key::text, 'YYYYMMDDHH24MI'))
               over device as since_previous,
           lag(energy.is_imputed) over device as previous_imputed
    from {{ ref('fact_energy_minute') }} as energy
    join {{ ref('dim_device') }} as devices using (device_key)
    where devices.sensor_type = 'plug'
      and {{ date_key_in_window('energy.date_key') }}
    window device as (partition by energy.device_key order by energy.datetime_key)
),
days as (
    select device_key, date_key, sum(energy_wh) as counter_wh, sum(power_w) / 60.0 as power_wh
    from minutes
    where since_previous = interval '1 minute' and not previous_imputed and not is_imputed
      and adjustment is null and power_w is not null
    group by device_key, date_key
)
select * from days
where power_wh >= 100 and abs(counter_wh - power_wh) > 0.02 * power_wh
