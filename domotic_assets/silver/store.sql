-- Silver tables (idempotent). sensor_events is partitioned by day: a day is replaced by swapping its
-- partition inside one transaction.
CREATE TABLE IF NOT EXISTS silver.sensor_events (
    apartment      text             NOT NULL,
    room           text             NOT NULL,
    sensor_type    text             NOT NULL,
    sensor_id      text             NOT NULL,
    field          text             NOT NULL,
    value          double precision,
    unit           text,
    "timestamp"    timestamptz      NOT NULL,
    is_outlier     boolean          NOT NULL DEFAULT false,
    source_file    text             NOT NULL,
    partition_date date             NOT NULL
) PARTITION BY RANGE (partition_date);
CREATE UNIQUE INDEX IF NOT EXISTS sensor_events_key
    ON silver.sensor_events (apartment, sensor_id, field, "timestamp", partition_date);

-- The device registry: one row per sensor and day it reported, with what it reported, replaced with its day
-- (the small table gold reads to know every device and its health without scanning the readings).
CREATE TABLE IF NOT EXISTS silver.sensor_days (
    apartment      text    NOT NULL,
    room           text    NOT NULL,
    sensor_type    text    NOT NULL,
    sensor_id      text    NOT NULL,
    partition_date date    NOT NULL,
    readings       integer NOT NULL,          -- rows of silver.sensor_events
    minutes        integer NOT NULL,          -- distinct minutes with a reading
    has_battery    boolean NOT NULL,
    has_counter    boolean NOT NULL,
    battery_min    double precision,          -- battery level (%), where the sensor reports one
    battery_avg    double precision,
    PRIMARY KEY (partition_date, apartment, sensor_id, room, sensor_type)
);
-- battery readings of the day (to add appended readings to battery_avg); null on days registered before it
ALTER TABLE silver.sensor_days ADD COLUMN IF NOT EXISTS battery_readings integer;
CREATE OR REPLACE FUNCTION silver.refresh_sensor_days(day date) RETURNS void LANGUAGE sql AS $$
    DELETE FROM silver.sensor_days WHERE partition_date = day;
    INSERT INTO silver.sensor_days (apartment, room, sensor_type, sensor_id, partition_date, readings, minutes,
                                    has_battery, has_counter, battery_min, battery_avg, battery_readings)
    SELECT apartment, room, sensor_type, sensor_id, partition_date, count(*), count(DISTINCT "timestamp"),
           bool_or(field = 'battery'), bool_or(field = 'total'), min(value) FILTER (WHERE field = 'battery'),
           avg(value) FILTER (WHERE field = 'battery'), count(*) FILTER (WHERE field = 'battery')
    FROM silver.sensor_events WHERE partition_date = day
    GROUP BY partition_date, apartment, sensor_id, room, sensor_type;
$$;

CREATE TABLE IF NOT EXISTS silver.weather_forecasts (
    "timestamp"     timestamptz      NOT NULL,
    site            text             NOT NULL,
    prediction      smallint         NOT NULL,
    prediction_date date             NOT NULL,
    measurement     text             NOT NULL,
    value           double precision NOT NULL,
    unit            text,
    is_outlier      boolean          NOT NULL DEFAULT false,
    source_file     text             NOT NULL,
    CONSTRAINT weather_forecasts_key UNIQUE ("timestamp", site, prediction, prediction_date, measurement)
);
CREATE INDEX IF NOT EXISTS weather_forecasts_prediction_date ON silver.weather_forecasts (prediction_date);

CREATE TABLE IF NOT EXISTS silver.file_ledger (
    file           text        PRIMARY KEY,
    source         text        NOT NULL,          -- 'sensor' | 'weather'
    apartment      text,
    partition_date date        NOT NULL,
    rows           integer     NOT NULL,
    checksum       text        NOT NULL,
    loaded_at      timestamptz NOT NULL DEFAULT now()
);
-- A partition's ledger, and the files of some of its hour folders (an append reads only those).
CREATE INDEX IF NOT EXISTS file_ledger_folder ON silver.file_ledger (source, partition_date, apartment, left(file, 13));
DROP INDEX IF EXISTS silver.file_ledger_partition;  -- the leading columns of file_ledger_folder

CREATE TABLE IF NOT EXISTS silver.rejected_files (
    file           text        PRIMARY KEY,
    source         text        NOT NULL,
    apartment      text,
    partition_date date,
    reason         text        NOT NULL,
    detail         text,
    checksum       text,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rejected_files_partition ON silver.rejected_files (source, partition_date);

-- Bronze files removed by retention after they were loaded: their rows stay in silver, and a reload of their
-- day keeps them (a file missing from bronze for any other reason still fails the day).
CREATE TABLE IF NOT EXISTS silver.bronze_removed (
    file           text        PRIMARY KEY,
    source         text        NOT NULL,
    apartment      text,
    partition_date date        NOT NULL,
    bytes          bigint      NOT NULL,
    removed_at     timestamptz NOT NULL DEFAULT now()
);

-- When bronze was last listed for a committed sensor load of each day (epoch seconds of the bronze host): an
-- append lists only the hour folders modified since (bronze adds, moves aside and removes files, never
-- rewrites one in place, so a folder not modified since holds what that load saw).
CREATE TABLE IF NOT EXISTS silver.sensor_day_listings (
    partition_date date             PRIMARY KEY,
    listed_at      double precision NOT NULL
);

-- Sensor days whose new readings change the gold of the day before (domotic_assets/silver/reaching_back.py),
-- recorded by the load that added them, in its transaction, and taken away once a run of silver_sensor_events has
-- told Dagster (asset silver_readings_reaching_back): what a run that failed after its load committed recorded,
-- the next run tells.
CREATE TABLE IF NOT EXISTS silver.readings_reaching_back (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_date date NOT NULL,
    reason         text NOT NULL
);

-- The gold days that silver's loads changed and from which UTC minute (NULL: the whole day), recorded by each load
-- in its transaction (domotic_assets/silver/reaching_back.py): the day it writes from its earliest changed minute,
-- the day after whole (its build reads this day's files), the day before whole when the new readings reach back. A
-- gold run of one day rebuilds its minute facts from the earliest minute recorded since they were last built
-- (silver.gold_day_builds); nothing recorded since, or a NULL, rebuilds the day whole. The changes every minute fact
-- was built with are forgotten.
CREATE TABLE IF NOT EXISTS silver.gold_day_changes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gold_day     date NOT NULL,
    rebuild_from timestamptz
);
CREATE INDEX IF NOT EXISTS gold_day_changes_day ON silver.gold_day_changes (gold_day);
-- The newest change each minute fact of a gold day was built with (recorded by the gold run that built it, once it
-- has succeeded; a run that fails forgets its facts' rows): the fact's next run rebuilds from the earliest minute
-- of the changes since, or whole without a row.
CREATE TABLE IF NOT EXISTS silver.gold_day_builds (
    gold_day       date   NOT NULL,
    model          text   NOT NULL,
    last_change_id bigint NOT NULL,
    PRIMARY KEY (gold_day, model)
);

-- A new device registry is filled once from the days already loaded.
SELECT silver.refresh_sensor_days(partition_date)
FROM (SELECT DISTINCT partition_date FROM silver.file_ledger WHERE source = 'sensor') AS days
WHERE NOT EXISTS (SELECT FROM silver.sensor_days);

-- A row's inserting transaction (its xmin, 32 bits) as a full transaction id (xid8), to compare with a snapshot
-- (pg_visible_in_snapshot), given the epoch and the low 32 bits of the newest transaction id
-- (pg_snapshot_xmax(pg_current_snapshot())): its epoch, less one for an id at or above those low bits, which was
-- assigned before the last wraparound. Gold judges silver's rows with it (its reconciliation with silver). Each
-- argument but the row's is used once, so PostgreSQL inlines the function and computes a sub-select passed to it
-- once per query.
CREATE OR REPLACE FUNCTION silver.full_transaction_id(row_xmin xid, newest_epoch bigint, newest_low bigint)
    RETURNS xid8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (((newest_epoch - (row_xmin::text::bigint >= newest_low)::integer) << 32) | row_xmin::text::bigint)::text::xid8
$$;
