{#- The device-health alerts still open (governance.device_alerts, written by the device_health_alerts asset). -#}
with alerts as (
    select * from {{ source('governance', 'device_alerts') }}
    where closed_at is null and {{ apartment_rows_visible('apartment_key') }}
)
select
    alert_id,
    rule,
    apartment_key,
    apartment_id,
    room_name,
    device_id,
    first_day,
    last_day,
    opened_at,
    evidence::text as evidence
from alerts
