select
    "idError"::integer as error_id,
    "idBuilding"::integer as building_id,
    "errorMessage"::text as error_message,
    "creationDate"::timestamp as created_at_local,
    "creationDate"::date as error_date
from {{ source('silver', 'log_sensor_errors') }}
