{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook=["set work_mem = '256MB'", "{{ delete_window(this, minute_key_column='datetime_key') }}"],
          indexes=[{'columns': ['date_key']}]) }}
{#- Energy per device and minute: the power read, and the energy consumed in that minute (energy_wh) — for
    plugs from their counter's rise since the previous reading (int_counter_energy), for the house meter from
    its power held at most max_power_hold_minutes. A counter's rise that the rules reject is kept in rejected_wh.
    Cost is not stored: energy_cost_day prices the energy with the tariff in force when it is read. -#}
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_datetime') }}, {{ ref('dim_device') }}  (its relationship tests: built first)
with readings as (select * from {{ ref('int_energy_readings') }}),
counter_energy as (select * from {{ ref('int_counter_energy') }}),
house_meter as (
    select *, lead(minute_utc) over (partition by device_key order by minute_utc) as next_minute
    from readings
    where sensor_type = 'consumption' and power_w is not null and not power_is_outlier
),
held_power as (
    select device_key, room_key, apartment_key, minute_utc + step * interval '1 minute' as minute_utc,
           power_w / 60.0 as energy_wh, null::double precision as rejected_wh, step > 0 as is_imputed,
           case when step > 0 then 'power_hold' end as adjustment
    from house_meter
    cross join lateral generate_series(
        0, least(coalesce((extract(epoch from next_minute - minute_utc) / 60)::integer, 1),
                 {{ var('max_power_hold_minutes') }} + 1) - 1) as step
),
device_minutes as (
    select device_key, room_key, apartment_key, minute_utc, power_w, counter_wh, power_is_outlier,
           null::double precision as energy_wh, null::double precision as rejected_wh, null::boolean as is_imputed,
           null::text as adjustment
    from readings
    union all
    select device_key, room_key, apartment_key, minute_utc, null as power_w, null as counter_wh, null as power_is_outlier,
           energy_wh, rejected_wh, is_imputed, adjustment
    from counter_energy
    union all
    select device_key, room_key, apartment_key, minute_utc, null as power_w, null as counter_wh, null as power_is_outlier,
           energy_wh, rejected_wh, is_imputed, adjustment
    from held_power
),
-- one row per device and minute: its reading (if any) and its energy (if any; at most one energy row)
minutes as (
    select
        device_key, room_key, apartment_key, minute_utc,
        {{ local_date('minute_utc') }} as local_date,
        max(power_w) as power_w,
        max(counter_wh) as counter_wh,
        coalesce(bool_or(power_is_outlier), false) as power_is_outlier,
        max(energy_wh) as energy_wh,
        max(rejected_wh) as rejected_wh,
        coalesce(bool_or(is_imputed), false) as is_imputed,
        max(adjustment) as adjustment
    from device_minutes
    group by device_key, room_key, apartment_key, minute_utc
)
select
    {{ minute_key('minutes.minute_utc') }} as datetime_key,
    {{ date_key('minutes.local_date') }} as date_key,
    minutes.device_key,
    minutes.room_key,
    minutes.apartment_key,
    minutes.power_w,
    minutes.energy_wh,
    minutes.energy_wh / 1000.0 as energy_kwh,
    minutes.rejected_wh,
    minutes.counter_wh as counter_total_wh,
    not minutes.power_is_outlier and (minutes.adjustment is distinct from 'implausible') as is_valid,
    minutes.is_imputed,
    minutes.adjustment::text as adjustment
from minutes
where {{ in_built_minutes('minutes.minute_utc', 'minutes.local_date') }}
