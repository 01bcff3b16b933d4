with ledger as (
    select * from {{ source('silver', 'file_ledger') }}
)

select
    file,
    source,
    apartment,
    partition_date,
    loaded_at
from ledger
