-- Each provider's tariffs follow each other without gap or overlap: a tariff ends where the next begins, ends
-- after it begins, and only the last one may be open-ended (no valid_to).
with tariffs as (
    select
        provider,
        valid_from,
        valid_to,
        lead(valid_from) over (partition by provider order by valid_from) as next_from
    from {{ ref('dim_tariff') }}
)

select provider, valid_from, valid_to, next_from
from tariffs
where valid_to <= valid_from
   or (next_from is not null and (valid_to is null or valid_to <> next_from))
