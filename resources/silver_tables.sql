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
CREATE INDEX IF NOT EXISTS file_ledger_partition ON silver.file_ledger (source, partition_date);

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
