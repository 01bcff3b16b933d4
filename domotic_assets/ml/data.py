"""Reading gold into the 15-minute room windows the features are built from."""

from __future__ import annotations

import polars as pl
from psycopg2 import sql

from domotic_assets.ml.features import Grid
from domotic_assets.timing import TIMEZONE, WEATHER_FETCHED
from resources.postgres import PostgresResource

# The 15-minute window of a UTC minute key YYYYMMDDHHMM.
WINDOW_KEY = "datetime_key - datetime_key % 100 % 15"


def rounded(expression: str) -> str:
    """An aggregate of floats rounded to 6 decimals: PostgreSQL adds floats in whatever order its plan reads
    them, and the last bits that order changes would make two runs on the same gold train different models."""
    return f"round(({expression})::numeric, 6)::float8"


OCCUPANCY_SQL = f"""
    SELECT room_key, apartment_key, {WINDOW_KEY} AS window_key, max((motion_count > 0)::int) AS occupied
    FROM gold.fact_presence_minute WHERE motion_count IS NOT NULL GROUP BY 1, 2, 3"""
# Mean power of a window: per plug the mean of its known minutes, summed over the room's plugs.
POWER_SQL = f"""
    SELECT room_key, apartment_key, window_key, {rounded('sum(device_w)')} AS power_w
    FROM (SELECT energy.room_key, energy.apartment_key, {WINDOW_KEY} AS window_key,
                 avg(energy.energy_wh) * 60 AS device_w
          FROM gold.fact_energy_minute AS energy JOIN gold.dim_device AS devices USING (device_key)
          WHERE devices.sensor_type = 'plug' AND energy.energy_wh IS NOT NULL
          GROUP BY energy.room_key, energy.apartment_key, energy.device_key, 3) AS devices
    GROUP BY 1, 2, 3"""
CO2_SQL = f"""
    SELECT room_key, {WINDOW_KEY} AS window_key, {rounded('avg(co2_ppm)')} AS co2_ppm
    FROM gold.fact_environment_minute WHERE co2_ppm IS NOT NULL GROUP BY 1, 2"""
# Per target hour, the mean of the runs a forecast file held when it was fetched (WEATHER_FETCHED after the local
# midnight of its prediction date): a file the sensor loads again later holds runs issued after that instant,
# which a forecast issued at the tick that follows the fetch never saw.
WEATHER_SQL = f"""
    SELECT site_key, datetime_key AS window_key, prediction_date, {rounded('avg(temperature_c)')} AS temperature_c,
           {rounded('avg(humidity_pct)')} AS humidity_pct, {rounded('avg(precipitation_mm)')} AS precipitation_mm,
           {rounded('avg(radiation_wm2)')} AS radiation_wm2
    FROM gold.fact_weather_hour
    WHERE issued_at <= (prediction_date + {{fetched}}::interval) AT TIME ZONE {{timezone}}
    GROUP BY 1, 2, 3"""
SITES_SQL = "SELECT apartment_key, weather_site_key AS site_key FROM gold.dim_apartment_weather_site"
HOLIDAYS_SQL = "SELECT date, is_holiday FROM gold.dim_date"


def read(warehouse: PostgresResource, query: str, **literals: object) -> pl.DataFrame:
    """The rows of `query`, its `{name}` placeholders replaced by the quoted `literals`."""
    with warehouse.connect() as connection:
        text = sql.SQL(query).format(**{name: sql.Literal(value) for name, value in literals.items()})
        return pl.read_database(text.as_string(connection), connection, infer_schema_length=None)


def window_start(column: str = "window_key") -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strptime(pl.Datetime("us", "UTC"), "%Y%m%d%H%M")


def load_grid(warehouse: PostgresResource, actual_column: str) -> Grid:
    """The room windows that have `actual_column` (`occupied`: rooms with a motion sensor; `power_w`: rooms with
    a plug) with it as their target, the state columns of every room, and the weather, sites and holidays."""
    occupancy = read(warehouse, OCCUPANCY_SQL)
    power = read(warehouse, POWER_SQL)
    co2 = read(warehouse, CO2_SQL)
    base = {"occupied": occupancy, "power_w": power}[actual_column]
    windows = (base.select("room_key", "apartment_key", "window_key")
               .join(occupancy.select("room_key", "window_key", "occupied"), on=["room_key", "window_key"], how="left")
               .join(power.select("room_key", "window_key", "power_w"), on=["room_key", "window_key"], how="left")
               .join(co2, on=["room_key", "window_key"], how="left")
               .with_columns(window_start=window_start(),
                             target=pl.col(actual_column).cast(pl.Float64))
               .drop("window_key"))
    weather = read(warehouse, WEATHER_SQL, fetched=WEATHER_FETCHED, timezone=TIMEZONE).with_columns(
        hour_utc=window_start()).drop("window_key")
    return Grid(windows=windows, weather=weather, sites=read(warehouse, SITES_SQL),
                holidays=read(warehouse, HOLIDAYS_SQL))
