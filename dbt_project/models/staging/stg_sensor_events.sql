select
    apartment,
    room,
    sensor_type,
    sensor_id,
    field,
    value,
    unit,
    "timestamp" as reading_at,
    date_trunc('minute', "timestamp") as minute_utc,
    is_outlier,
    source_file,
    split_part(source_file, '_', 2) as smb_user,
    partition_date
from {{ source('silver', 'sensor_events') }}
