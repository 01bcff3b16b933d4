-- Conservation, per plug over the run's window: between its first and last good readings in the window (a
-- counter reading the rules counted from: not a glitch, not negative), the energy of the minutes after the first up to the
-- last, plus what the rules rejected at those readings, equals the counter's rise. Energy lost at a day's
-- edge, spread twice, or invented by a rule fails here.
{{ config(tags=['daily']) }}
with minutes as (
    select energy.device_key, energy.datetime_key, energy.energy_wh, energy.rejected_wh, energy.counter_total_wh,
           (energy.counter_total_wh >= 0 and energy.adjustment is distinct from 'glitch'
            and (energy.energy_wh is not null or energy.rejected_wh is not null
                 or energy.adjustment = 'first_reading')) as is_good_reading
    from {{ ref('fact_energy_minute') }} as energy
    join {{ ref('dim_device') }} as devices using (device_key)
    where devices.sensor_type = 'plug' and {{ date_key_in_window('energy.date_key') }}
),
bounds as (
    select device_key,
           min(datetime_key) filter (where is_good_reading) as first_key,
           max(datetime_key) filter (where is_good_reading) as last_key
    from minutes
    group by device_key
),
totals as (
    select bounds.device_key,
           sum(coalesce(minutes.energy_wh, 0) + coalesce(minutes.rejected_wh, 0))
               filter (where minutes.datetime_key > bounds.first_key and minutes.datetime_key <= bounds.last_key)
               as accounted_wh,
           max(minutes.counter_total_wh) filter (where minutes.datetime_key = bounds.last_key)
           - max(minutes.counter_total_wh) filter (where minutes.datetime_key = bounds.first_key) as rise_wh
    from bounds
    join minutes using (device_key)
    where bounds.first_key < bounds.last_key
    group by bounds.device_key
)
select * from totals
where abs(coalesce(accounted_wh, 0) - rise_wh) > 1e-6 * greatest(1, abs(rise_wh))
