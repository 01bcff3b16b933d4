{#- Tariffs with validity periods [valid_from, valid_to), from the `tariffs` seed; an empty valid_to is open-ended
    (in force from valid_from on). -#}
select
    {{ surrogate_key(['provider', 'valid_from']) }} as tariff_key,
    provider::text as provider,
    valid_from,
    valid_to,
    chf_per_kwh::numeric(6, 4) as chf_per_kwh
from {{ ref('tariffs') }}
