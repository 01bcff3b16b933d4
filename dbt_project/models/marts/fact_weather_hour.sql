{{ config(materialized='incremental', incremental_strategy='append', tags=['daily'],
          pre_hook="{{ delete_window(this, 'prediction_date', as_date=true) }}",
          indexes=[{'columns': ['date_key']}]) }}
{#- Forecasts per target hour, site and model run: a run is identified by its issue instant (the target hour
    minus the lead), its file by prediction_date (the partition). The four measures of that run, outliers left
    out. -#}
-- depends_on: {{ ref('dim_date') }}, {{ ref('dim_datetime') }}, {{ ref('dim_weather_site') }}
--   (its relationship tests: built first)
with forecasts as (
    select *, target_hour_utc - lead_hours * interval '1 hour' as issued_at
    from {{ ref('stg_weather_forecasts') }}
    where {{ in_window('prediction_date') }} and not is_outlier
)
select
    {{ minute_key('target_hour_utc') }} as datetime_key,
    {{ date_key(local_date('target_hour_utc')) }} as date_key,
    {{ surrogate_key(['site']) }} as site_key,
    issued_at,
    max(lead_hours)::integer as lead_hours,
    prediction_date,
    avg(value) filter (where measurement = 'PRED_T_2M_ctrl') as temperature_c,
    avg(value) filter (where measurement = 'PRED_RELHUM_2M_ctrl') as humidity_pct,
    avg(value) filter (where measurement = 'PRED_TOT_PREC_ctrl') as precipitation_mm,
    avg(value) filter (where measurement = 'PRED_GLOB_ctrl') as radiation_wm2
from forecasts
group by target_hour_utc, site, prediction_date, issued_at
