"""`silver_reference_tables`: the building's reference tables, without personal data."""

import time

import dagster as dg
import polars as pl
import sqlalchemy as sa

from domotic_assets.silver import store
from domotic_assets.timing import TIMEZONE
from resources.postgres import PostgresResource
from resources.reference_db import ReferenceDatabaseResource

# MySQL table -> silver table (docs/sources.md#reference-database). Personal tables (users, actions, ...) are never read.
REFERENCE_TABLES = {
    "buildings": "dim_buildings", "buildingtype": "dim_building_types", "rooms": "dim_rooms",
    "sensors": "dim_sensors", "devices": "dim_devices", "profilereference": "ref_energy_profiles",
    "profile": "ref_power_snapshots", "parameters": "ref_parameters", "parameterstype": "ref_parameters_type",
    "dierrors": "log_sensor_errors",
}
# Personal columns never selected (compared case-insensitively): names, phone, address, postal code,
# coordinates, user id.
PERSONAL_COLUMNS = {"buildings": {"iduser", "firstname", "lastname", "latitude", "longitude", "address", "npa",
                                  "phonenumber"}}


# Materialised when missing (also on the very first evaluation, which `on_missing()` skips) unless the last
# attempt failed, and refreshed every night.
REFERENCE_AUTOMATION = (
    (dg.AutomationCondition.missing() & ~dg.AutomationCondition.in_progress()
     & ~dg.AutomationCondition.execution_failed())
    | dg.AutomationCondition.on_cron("0 3 * * *", cron_timezone=TIMEZONE)
)


@dg.asset(group_name="silver", kinds={"mysql", "postgres"}, automation_condition=REFERENCE_AUTOMATION)
def silver_reference_tables(context: dg.AssetExecutionContext, reference_db: ReferenceDatabaseResource,
                            warehouse: PostgresResource) -> dg.MaterializeResult:
    """The reference tables (buildings, rooms, sensors, devices, profiles, parameters, error log) copied into
    silver with their types; personal columns of `buildings` and the personal tables are never read.
    Grain: as in the source tables."""
    started = time.monotonic()
    engine = reference_db.engine()
    counts, missing, left_out = {}, [], []
    try:
        inspector = sa.inspect(engine)
        available = {name.lower(): name for name in inspector.get_table_names()}
        with engine.connect() as source, warehouse.connect() as connection, connection.cursor() as cursor:
            store.ensure_schema(cursor)
            for name, target in REFERENCE_TABLES.items():
                if name not in available:
                    missing.append(name)
                    context.log.warning(f"reference table {name!r} is missing in the source; silver.{target} kept as is")
                    continue
                personal = PERSONAL_COLUMNS.get(name, set())
                reflected = inspector.get_columns(available[name])
                kept = [c for c in reflected if c["name"].lower() not in personal]
                left_out += [f"{name}.{c['name']}" for c in reflected if c["name"].lower() in personal]
                types = {c["name"]: store.postgres_type(c["type"]) for c in kept}
                query: sa.Select = sa.select(*(sa.column(c["name"]) for c in kept)).select_from(
                    sa.table(available[name]))
                rows = source.execute(query).fetchall()
                frame = pl.DataFrame([tuple(r) for r in rows], orient="row",
                                     schema={c: t[1] for c, t in types.items()}, strict=False)
                store.replace_reference_table(cursor, target, [(c, t[0]) for c, t in types.items()], frame)
                counts[target] = frame.height
                context.log.info(f"{name} -> silver.{target}: {frame.height} rows, {len(kept)} columns")
    finally:
        engine.dispose()
    return dg.MaterializeResult(metadata={
        "tables": counts,
        "missing_source_tables": ", ".join(missing) or "none",
        "personal_columns_left_out": ", ".join(left_out) or "none",
        "dagster/row_count": sum(counts.values()),
        "seconds": round(time.monotonic() - started, 2),
    })
