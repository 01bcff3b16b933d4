select
    "idBuilding"::integer as building_id,
    "houseName"::text as house_name,
    city::text as city
from {{ source('silver', 'dim_buildings') }}
