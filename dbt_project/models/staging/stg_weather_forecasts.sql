select
    date_trunc('hour', "timestamp") as target_hour_utc,
    site,
    prediction as lead_hours,
    prediction_date,
    measurement,
    value,
    is_outlier
from {{ source('silver', 'weather_forecasts') }}
