"""GDPR requests for one apartment, launched from the Dagster UI (Jobs) with run config: export everything
the platform holds about it, or erase it everywhere (a dry run first, by default)."""

import json
import os
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_postgres import PostgresRunStorage
from pydantic import Field

from domotic_assets.governance import apartment_data as data
from domotic_assets.governance.dagster_storage import Scrubbed, scrub
from domotic_assets.silver.store import bronze_readers
from domotic_config.private import private_folder
from resources.bronze import BronzeResource
from resources.postgres import PostgresResource
from sensors_io.bronze_layout import remove_from_bronze
from sensors_io.erased import ErasedApartments, installation_digest, remember_erased
from sensors_io.safe_names import UnsafeName, check_apartment_id


class ApartmentRequest(dg.Config):
    apartment: str = Field(description="the apartment id: gold.dim_apartment.apartment_id, BRONZE_ROOT/<apartment>")


class ExportConfig(ApartmentRequest):
    """The archive goes to GDPR_EXPORT_DIR, fixed by configuration (never chosen in a run's config)."""


class ErasureConfig(ApartmentRequest):
    dry_run: bool = Field(default=True, description="list what would be erased, erase nothing (set false to erase)")


UNMAPPED_REJECTED = "silver.rejected_files (names without an apartment)"


def smb_users(bronze: BronzeResource, apartment: str) -> set[str]:
    """The SMB user names whose files belong to the apartment (from APARTMENT_MAP, else its lower-case id)."""
    mapped = {user for user, found in bronze.apartments().items() if found == apartment}
    return mapped or {apartment}


def known_apartment(cursor, apartment: str, erased_before: bool = False) -> str:
    """The request's apartment id, refused unless it has the form of an id and the silver ledger knows it (a
    loaded or a rejected file), or it was erased before (`erased_before`: an erasure run again finishes what a
    failed one left): never a path, never a guess."""
    try:
        check_apartment_id(apartment)
    except UnsafeName as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    if erased_before:
        return apartment
    cursor.execute("""SELECT EXISTS (SELECT 1 FROM silver.file_ledger WHERE apartment = %(id)s)
                      OR EXISTS (SELECT 1 FROM silver.rejected_files WHERE apartment = %(id)s)""", {"id": apartment})
    if not cursor.fetchone()[0]:
        raise dg.Failure(description=f"no file of apartment {apartment!r} was ever loaded: check the id "
                                     "(gold.dim_apartment.apartment_id)", allow_retries=False)
    return apartment


def markdown_counts(counts: dict[str, int]) -> dg.MetadataValue:
    return dg.MetadataValue.md("| table | rows |\n|---|---|\n" + "\n".join(f"| {t} | {n} |" for t, n in counts.items()))


@dg.op
def export_apartment(context: dg.OpExecutionContext, config: ExportConfig, warehouse: PostgresResource,
                     bronze: BronzeResource) -> str:
    """Every row of the apartment (silver, gold, predictions, ML features) as one CSV per table, and the list
    of its bronze files, in a zip with a manifest of tables and row counts."""
    if not os.environ.get("GDPR_EXPORT_DIR"):
        raise dg.Failure("no export folder: set GDPR_EXPORT_DIR", allow_retries=False)
    with warehouse.connect() as connection, connection.cursor() as cursor:
        known_apartment(cursor, config.apartment)
    folder = private_folder(Path(os.environ["GDPR_EXPORT_DIR"]))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    archive = folder / f"{export_prefix(installation_digest(bronze.path, config.apartment))}{stamp}.zip"
    manifest: dict[str, Any] = {"apartment": config.apartment, "exported_at": stamp, "run_id": context.run_id, "tables": {}}
    with warehouse.connect() as connection, connection.cursor() as cursor, \
            os.fdopen(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as target, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zipped:  # readable by its owner only
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot for every table
        files = list(data.bronze_files(bronze.path, config.apartment, smb_users(bronze, config.apartment)))
        tables = data.apartment_tables(cursor)
        counts = data.count_rows(cursor, tables, config.apartment)
        for table in tables:
            zipped.writestr(f"{table.name}.csv", data.export_csv(cursor, table, config.apartment))
            manifest["tables"][table.name] = {"file": f"{table.name}.csv", "rows": counts[table.name]}
        zipped.writestr("bronze_files.csv", data.bronze_listing_csv(bronze.path, files))
        manifest["bronze_files"] = {"file": "bronze_files.csv", "rows": len(files)}
        zipped.writestr("manifest.json", json.dumps(manifest, indent=2))
    if not files and not any(counts.values()):
        archive.unlink()
        raise dg.Failure(f"nothing is held about apartment {config.apartment!r}: check the id "
                         "(gold.dim_apartment.apartment_id)")
    context.log.info(f"{sum(counts.values())} rows of {len(tables)} tables and {len(files)} bronze files "
                     f"exported to {archive}")
    context.add_output_metadata({"archive": dg.MetadataValue.path(str(archive)), "rows": markdown_counts(counts),
                                 "bronze_files": len(files)})
    return str(archive)


@dg.op
def erase_apartment(context: dg.OpExecutionContext, config: ErasureConfig, warehouse: PostgresResource,
                    bronze: BronzeResource) -> dict:
    """Erase the apartment everywhere: its bronze files, silver rows (readings, device registry, ledger,
    quarantine), gold facts and dimension rows, predictions and ML features; bronze then never copies its share
    files again. A dry run (the default) lists what would go. The audit record keeps a digest, not the id."""
    with bronze_readers(warehouse, exclusive=not config.dry_run):  # never beside a silver run (a dry run may be)
        return erase(context, config, warehouse, bronze)


def erase(context: dg.OpExecutionContext, config: ErasureConfig, warehouse: PostgresResource,
          bronze: BronzeResource) -> dict:
    """The body of `erase_apartment`."""
    started = time.monotonic()
    with warehouse.connect() as connection, connection.cursor() as cursor:
        known_apartment(cursor, config.apartment, erased_before=ErasedApartments.read(bronze.path).holds(
            config.apartment))
        users = smb_users(bronze, config.apartment)
        files = list(data.bronze_files(bronze.path, config.apartment, users))
        tables = data.apartment_tables(cursor)
        counts = data.count_rows(cursor, tables, config.apartment)
        counts[UNMAPPED_REJECTED] = data.rejected_without_apartment(cursor, users)
        if config.dry_run:
            context.log.info(f"dry run: would erase {sum(counts.values())} rows and {len(files)} bronze files")
            context.add_output_metadata({"dry_run": True, "rows": markdown_counts(counts), "bronze_files": len(files),
                                         "bronze_file_list": dg.MetadataValue.md(
                                             "\n".join(f"- {p.relative_to(bronze.path)}" for p in files[:200])
                                             + (f"\n\n… and {len(files) - 200} more" if len(files) > 200 else ""))})
            return {"dry_run": True, "rows": counts, "bronze_files": len(files)}
        digest = remember_erased(bronze.path, config.apartment)  # first: a sensor tick meanwhile copies nothing
        deleted = data.delete_rows(cursor, tables, config.apartment)
        deleted[UNMAPPED_REJECTED] = data.rejected_without_apartment(cursor, users, delete=True)
        freed = remove_from_bronze(bronze.path, files)
        erasure_id = str(uuid.uuid4())
        cursor.execute("INSERT INTO governance.erasure_audit VALUES (%s, %s, now(), %s, %s, %s, %s)",
                       (erasure_id, digest, json.dumps(deleted), len(files), freed,
                        context.run_id))
    exports = remove_exports(digest)
    scrubbed = scrub_dagster_storage(context, {config.apartment, *users}, digest)
    context.log.info(f"erased {sum(deleted.values())} rows and {len(files)} bronze files ({freed} bytes) in "
                     f"{time.monotonic() - started:.1f} s; audit {erasure_id}")
    context.add_output_metadata({"dry_run": False, "erasure_id": erasure_id, "rows": markdown_counts(deleted),
                                 "bronze_files": len(files), "bronze_bytes": freed, "export_archives": exports,
                                 "dagster_storage_rows": dg.MetadataValue.json(scrubbed.rows)})
    return {"dry_run": False, "rows": deleted, "bronze_files": len(files), "erasure_id": erasure_id}


def export_prefix(digest: str) -> str:
    """Export archives are named by the apartment's salted digest: an erasure finds them, a reader learns nothing."""
    return f"apartment-{digest[:12]}-"


def remove_exports(digest: str) -> int:
    """Delete the apartment's export archives from GDPR_EXPORT_DIR; how many."""
    folder = os.environ.get("GDPR_EXPORT_DIR")
    archives = sorted(Path(folder).glob(f"{export_prefix(digest)}*.zip")) if folder else []
    for archive in archives:
        archive.unlink()
    return len(archives)


def scrub_dagster_storage(context: dg.OpExecutionContext, names: set[str], digest: str) -> Scrubbed:
    """The apartment's id and SMB user names in Dagster's own storage (this run's config included) replaced by
    `erased-<digest>`, when that storage is PostgreSQL."""
    storage = context.instance.run_storage
    if not isinstance(storage, PostgresRunStorage):
        context.log.warning(f"Dagster's storage is {type(storage).__name__}, not PostgreSQL: its run configs and "
                            "logs still name the apartment")
        return Scrubbed()
    scrubbed = scrub(storage.postgres_url, names, f"erased-{digest[:12]}")
    if scrubbed.kept:
        context.log.warning(f"{len(scrubbed.kept)} names too short or too common to replace safely in Dagster's "
                            "storage (shorter than 4 characters, not starting with a letter, or a JSON key there)")
    return scrubbed


@dg.job(tags={"domotic/kind": "gdpr"})
def gdpr_export_job():
    """Export everything held about one apartment (run config: ops.export_apartment.config.apartment)."""
    export_apartment()


@dg.job(tags={"domotic/kind": "gdpr"})
def gdpr_erase_job():
    """Erase one apartment everywhere (run config: apartment, dry_run — true by default)."""
    erase_apartment()
