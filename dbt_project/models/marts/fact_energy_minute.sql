{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook=["set work_mem = '256MB'", "{{ delete_window(this) }}"],
          post_hook="create index if not exists fact_energy_minute_date on {{ this }} (date_key)") }}
{#- Energy per device and minute: the power read, and the energy consumed in that minute (energy_wh) — for
    plugs from their counter's rise since the previous reading (int_counter_energy), for the house meter from
    its power held at most max_power_hold_minutes. Cost from the tariff in force at that minute. -#}
with readings as (select * from {{ ref('int_energy_readings') }}),
counter_energy as (select * from {{ ref('int_counter_energy') }}),
house_meter as (
    select *, lead(minute_utc) over (partition by apartment, sensor_id order by minute_utc) as next_minute
    from readings
    where sensor_type = 'consumption' and power_w is not null and not power_is_outlier
),
held_power as (
    select apartment, room, sensor_id, minute_utc + step * interval '1 minute' as minute_utc,
           power_w / 60.0 as energy_wh, step > 0 as is_imputed,
           case when step > 0 then 'power_hold' end as adjustment
    from house_meter
    cross join lateral generate_series(
        0, least(coalesce((extract(epoch from next_minute - minute_utc) / 60)::integer, 1),
                 {{ var('max_power_hold_minutes') }} + 1) - 1) as step
),
energy as (
    select * from counter_energy
    union all
    select * from held_power
),
minutes as (
    select
        coalesce(energy.apartment, readings.apartment) as apartment,
        coalesce(energy.room, readings.room) as room,
        coalesce(energy.sensor_id, readings.sensor_id) as sensor_id,
        coalesce(energy.minute_utc, readings.minute_utc) as minute_utc,
        readings.power_w,
        readings.counter_wh,
        coalesce(readings.power_is_outlier, false) as power_is_outlier,
        energy.energy_wh,
        coalesce(energy.is_imputed, false) as is_imputed,
        energy.adjustment
    from energy
    full outer join readings
        on readings.apartment = energy.apartment and readings.sensor_id = energy.sensor_id
       and readings.minute_utc = energy.minute_utc
),
tariffs as (select * from {{ ref('dim_tariff') }} where provider = '{{ var("tariff_provider") }}')
select
    {{ minute_key('minutes.minute_utc') }} as datetime_key,
    {{ date_key(local_date('minutes.minute_utc')) }} as date_key,
    {{ surrogate_key(['minutes.apartment', 'minutes.sensor_id']) }} as device_key,
    {{ surrogate_key(['minutes.apartment', 'minutes.room']) }} as room_key,
    {{ surrogate_key(['minutes.apartment']) }} as apartment_key,
    minutes.power_w,
    minutes.energy_wh,
    minutes.energy_wh / 1000.0 as energy_kwh,
    round((minutes.energy_wh / 1000.0 * tariffs.chf_per_kwh)::numeric, 6)::numeric(12, 6) as cost_chf,
    minutes.counter_wh as counter_total_wh,
    not minutes.power_is_outlier and minutes.adjustment is distinct from 'implausible' as is_valid,
    minutes.is_imputed,
    minutes.adjustment::text as adjustment
from minutes
left join tariffs
    on {{ local_date('minutes.minute_utc') }} >= tariffs.valid_from
   and {{ local_date('minutes.minute_utc') }} < tariffs.valid_to
where {{ in_window(local_date('minutes.minute_utc')) }}
