{{ config(tags=['daily']) }}
{#- Energy from cumulative counters, reading by reading (rules documented in _marts.yml):
    - a reading that a counter's neighbours (up to glitch_neighbours readings either side) show to be out of
      line is a `glitch`: no energy of its own, the next good reading's rise covers it. A dip: below a reading
      shortly before, which a reading shortly after reaches again (a transient 0, one or several readings, a
      small backwards step). A spike: above the reading the counter is back at glitch_neighbours readings
      later, which is not below the lowest reading shortly before (5000, 90000, 90001, 5002 rises by 2); a
      device's first reading above every reading shortly after it is a spike too;
    - a negative counter is not a reading;
    - a drop to below counter_reset_share of the previous reading that does not recover is a `reset`: the
      new reading is the rise since zero;
    - a drop that neither recovers nor looks like a reset is `backwards`: no energy;
    - a rise above max_plug_power_w over the elapsed minutes is `implausible`: rejected (unknown energy);
    - a rise across missing minutes is spread evenly over them (`gap_spread`, those minutes imputed).
    rejected_wh is what a reading's rise (its counter minus the previous good one) gives that its energy does not,
    so that over any span energy + rejected = the last good counter - the first. -#}
with counters as (
    select device_key, room_key, apartment_key, minute_utc, counter_wh,
           max(counter_wh) over before as before_max,
           min(counter_wh) over before as before_min,
           max(counter_wh) over after as after_max,
           last_value(counter_wh) over after as back_wh
    from {{ ref('int_energy_readings') }}
    where counter_wh >= 0
    window before as (partition by device_key order by minute_utc
                      rows between {{ var('glitch_neighbours') }} preceding and 1 preceding),
           after as (partition by device_key order by minute_utc
                     rows between 1 following and {{ var('glitch_neighbours') }} following)
),
flagged as (
    select *,
        coalesce((counter_wh < before_max and after_max >= before_max)
                 or (counter_wh > back_wh and case when before_min is null then counter_wh > after_max
                                                   else back_wh >= before_min end), false) as is_glitch
    from counters
),
good as (
    select device_key, room_key, apartment_key, minute_utc, counter_wh,
           lag(counter_wh) over device as previous_wh,
           lag(minute_utc) over device as previous_minute
    from flagged
    where not is_glitch
    window device as (partition by device_key order by minute_utc)
),
classified as (
    select *,
        greatest(1, (extract(epoch from minute_utc - previous_minute) / 60)::integer) as minutes,
        case
            when previous_wh is null then 'first_reading'
            when counter_wh >= previous_wh
                 and counter_wh - previous_wh > {{ var('max_plug_power_w') }} / 60.0
                     * greatest(1, extract(epoch from minute_utc - previous_minute) / 60) then 'implausible'
            when counter_wh >= previous_wh then null
            when counter_wh < {{ var('counter_reset_share') }} * previous_wh then 'reset'
            else 'backwards'
        end as adjustment
    from good
),
rises as (
    select *,
        case when adjustment is null then counter_wh - previous_wh
             when adjustment = 'reset' then counter_wh
             when adjustment = 'backwards' then 0.0 end as rise_wh,
        counter_wh - previous_wh as counter_rise_wh
    from classified
)
select
    rises.device_key, rises.room_key, rises.apartment_key,
    spread.minute_utc,
    case when rise_wh is not null then rise_wh / least(minutes, 10080) end as energy_wh,
    case when step = 0 then nullif(counter_rise_wh - coalesce(rise_wh, 0), 0) end as rejected_wh,
    step > 0 as is_imputed,
    case when glitches.is_glitch then 'glitch'
         when step > 0 and adjustment is null then 'gap_spread'
         else adjustment end as adjustment
from rises
cross join lateral generate_series(0, least(minutes, 10080) - 1) as step
cross join lateral (select rises.minute_utc - step * interval '1 minute' as minute_utc) as spread
left join flagged as glitches
    on glitches.device_key = rises.device_key and glitches.minute_utc = spread.minute_utc and glitches.is_glitch
where adjustment is distinct from 'first_reading' or step = 0
