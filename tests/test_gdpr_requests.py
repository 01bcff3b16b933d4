"""GDPR requests against hostile input, on the real PostgreSQL and a bronze folder of their own: an apartment
value that is not an id the ledger knows erases nothing and exports nothing; an erasure finds the rejected files
of its users in any case, and the ledger rows that name no apartment; an export is readable by its owner only
and goes where the configuration says."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
from contextlib import closing
from pathlib import Path

import dagster as dg
import psycopg2
import psycopg2.sql
import pytest

from domotic_assets.bronze.assets import bronze_sensor_files
from domotic_assets.governance.dagster_storage import TEXT_TYPES, scrub
from domotic_assets.governance.gdpr import gdpr_erase_job, gdpr_export_job
from domotic_assets.silver.store import ensure_schema
from resources.bronze import BronzeResource
from resources.postgres import PostgresResource
from resources.smb import SMBShareResource
from sensors_io.erased import ERASED_FILE, ErasedApartments, installation_digest, remember_erased

pytestmark = pytest.mark.integration
SENSOR_FILE = "29.10.2023 1200_JimmyLoup_received.json"
BAD_NAME = "29.10.2023 1200_JIMMYLOUP_received.json.bak"


@pytest.fixture
def platform(fresh_database, tmp_path) -> tuple[PostgresResource, Path]:
    """Silver knowing apartment `jimmy` (a loaded file, a badly named file of its user in capitals), and a
    bronze folder with its file, a forecast, the erased list and a secret beside them."""
    warehouse = PostgresResource(db_url=fresh_database("gdpr_requests"))
    with warehouse.connect() as connection, connection.cursor() as cursor:
        ensure_schema(cursor)
        cursor.execute("""INSERT INTO silver.file_ledger (file, source, apartment, partition_date, rows, checksum)
                          VALUES (%s, 'sensor', 'jimmy', '2023-10-29', 10, 'x')""", (SENSOR_FILE,))
        cursor.execute("""INSERT INTO silver.rejected_files (file, source, apartment, partition_date, reason)
                          VALUES (%s, 'sensor', NULL, '2023-10-29', 'badly named file')""", (BAD_NAME,))
        connection.commit()
    bronze = tmp_path / "bronze"
    for path in (bronze / "jimmy/2023/10/29/12" / SENSOR_FILE, bronze / "weather/2023/10/29/Pred_2023-10-29.csv",
                 bronze / "_rejected" / BAD_NAME, bronze / "_rejected/.reasons" / f"{BAD_NAME}.json",
                 tmp_path / "secrets.env"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("content")
    return warehouse, bronze


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


def run(job, op: str, warehouse: PostgresResource, bronze: Path, **config) -> dg.ExecuteInProcessResult:
    return job.execute_in_process(run_config={"ops": {op: {"config": config}}}, raise_on_error=False,
                                  resources={"warehouse": warehouse, "bronze": BronzeResource(root=str(bronze))})


@pytest.mark.parametrize("apartment", ["..", "../postgres", "", ".", "weather/", "weather", "_rejected", "Jimmy",
                                       "jimmy/../..", "unknown"])
def test_an_apartment_value_that_is_not_a_known_id_erases_and_exports_nothing(platform, apartment, tmp_path,
                                                                            monkeypatch):
    warehouse, bronze = platform
    monkeypatch.setenv("GDPR_EXPORT_DIR", str(tmp_path / "exports"))
    before = files_under(tmp_path)
    erased = run(gdpr_erase_job, "erase_apartment", warehouse, bronze, apartment=apartment, dry_run=False)
    exported = run(gdpr_export_job, "export_apartment", warehouse, bronze, apartment=apartment)
    assert not erased.success and not exported.success
    for result in (erased, exported):
        failure = str(result.get_step_failure_events()[0].event_specific_data)
        assert "is not an apartment id" in failure or "was ever loaded" in failure
    assert files_under(tmp_path) == before
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM silver.file_ledger) + (SELECT count(*) FROM silver.rejected_files)")
        assert cursor.fetchone()[0] == 2


def test_an_erasure_takes_the_rejected_files_and_rows_of_its_users_in_any_case(platform, tmp_path):
    warehouse, bronze = platform
    result = run(gdpr_erase_job, "erase_apartment", warehouse, bronze, apartment="jimmy", dry_run=False)
    assert result.success
    assert files_under(bronze) == {bronze / "weather/2023/10/29/Pred_2023-10-29.csv", bronze / "_erased_apartments.json"}
    assert (tmp_path / "secrets.env").exists()
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM silver.file_ledger) + (SELECT count(*) FROM silver.rejected_files)")
        assert cursor.fetchone()[0] == 0


def test_an_export_is_written_where_the_configuration_says_for_its_owner_only_and_erased_with_it(platform, tmp_path, monkeypatch):
    warehouse, bronze = platform
    monkeypatch.setenv("GDPR_EXPORT_DIR", str(tmp_path / "exports"))
    with pytest.raises(dg.DagsterInvalidConfigError):  # no run config may choose the folder
        run(gdpr_export_job, "export_apartment", warehouse, bronze, apartment="jimmy", folder=str(tmp_path))
    result = run(gdpr_export_job, "export_apartment", warehouse, bronze, apartment="jimmy")
    assert result.success
    [archive] = (tmp_path / "exports").iterdir()
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "exports").stat().st_mode) == 0o700
    assert "jimmy" not in archive.name
    erased = run(gdpr_erase_job, "erase_apartment", warehouse, bronze, apartment="jimmy", dry_run=False)
    assert not (tmp_path / "exports").exists() or not list((tmp_path / "exports").iterdir())  # the export goes too
    assert erased.output_for_node("erase_apartment")["rows"]


def test_the_erased_list_and_the_audit_keep_a_salted_digest_only(platform):
    warehouse, bronze = platform
    assert run(gdpr_erase_job, "erase_apartment", warehouse, bronze, apartment="jimmy", dry_run=False).success
    listed = json.loads((bronze / ERASED_FILE).read_text())
    assert stat.S_IMODE((bronze / ERASED_FILE).stat().st_mode) == 0o600
    with warehouse.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT apartment_digest FROM governance.erasure_audit")
        [(audited,)] = cursor.fetchall()
    assert listed["digests"] == [audited] != [hashlib.sha256(b"jimmy").hexdigest()]
    assert audited == hmac.new(bytes.fromhex(listed["salt"]), b"jimmy", hashlib.sha256).hexdigest()
    assert "jimmy" not in (bronze / ERASED_FILE).read_text()


def test_an_erased_list_of_an_earlier_version_still_counts(tmp_path):
    (tmp_path / ERASED_FILE).write_text(json.dumps([hashlib.sha256(b"jimmy").hexdigest()]))
    assert ErasedApartments.read(tmp_path).holds("jimmy") and not ErasedApartments.read(tmp_path).holds("jeremie")
    remember_erased(tmp_path, "jeremie")
    erased = ErasedApartments.read(tmp_path)
    assert erased.holds("jimmy") and erased.holds("jeremie") and not erased.holds("anna")


def names_in_storage(url: str) -> dict[str, int]:
    """Rows of every text column of Dagster's storage holding `jimmy` anywhere (JimmyLoup included), per table."""
    found: dict[str, int] = {}
    with closing(psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))) as connection, \
            connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = current_schema() AND data_type = ANY(%s)""", (list(TEXT_TYPES),))
        for table, column in cursor.fetchall():
            cursor.execute(psycopg2.sql.SQL("SELECT count(*) FROM {} WHERE {}::text ILIKE '%%jimmy%%'").format(
                psycopg2.sql.Identifier(table), psycopg2.sql.Identifier(column)))
            if count := cursor.fetchone()[0]:
                found[table] = found.get(table, 0) + count
    return found


def test_an_erasure_leaves_no_name_of_the_apartment_in_dagster_s_storage(platform, fresh_database, settings,
                                                                          generated):
    """Dagster on PostgreSQL: a bronze run whose config, logs and metadata name JimmyLoup's files and apartment
    `jimmy`, then the erasure (its own config names `jimmy`): no text column of the storage names either."""
    warehouse, bronze = platform
    url = fresh_database("gdpr_dagster_storage", access_set_up=False)
    share = Path(settings["SMB_PATH"])
    files = sorted(name for name in os.listdir(share) if name.startswith("29.10.2023 ") and "_JimmyLoup_" in name)[:3]
    resources = {"share": SMBShareResource(path=str(share)), "bronze": BronzeResource(root=str(bronze))}
    with dg.instance_for_test(overrides={"storage": {"postgres": {"postgres_url": url}}}) as instance:
        copied = dg.materialize([bronze_sensor_files], partition_key="2023-10-29", instance=instance,
                                resources=resources,
                                run_config={"ops": {"bronze_sensor_files": {"config": {"files": files}}}})
        assert copied.success
        assert names_in_storage(url).keys() >= {"runs", "event_logs"}
        erased = gdpr_erase_job.execute_in_process(
            run_config={"ops": {"erase_apartment": {"config": {"apartment": "jimmy", "dry_run": False}}}},
            instance=instance, resources={"warehouse": warehouse, "bronze": BronzeResource(root=str(bronze))})
        assert erased.success
        assert names_in_storage(url) == {}
        assert instance.get_run_by_id(copied.run_id).run_config["ops"]["bronze_sensor_files"]["config"]["files"]
        assert len(instance.all_logs(copied.run_id)) > 10  # the scrubbed events still read back
        again = gdpr_erase_job.execute_in_process(  # run again (as after a failure): finishes, changes nothing
            run_config={"ops": {"erase_apartment": {"config": {"apartment": "jimmy", "dry_run": False}}}},
            instance=instance, resources={"warehouse": warehouse, "bronze": BronzeResource(root=str(bronze))})
        assert again.success and names_in_storage(url) == {}


def test_only_names_safe_to_replace_are_scrubbed(fresh_database):
    """Short ids, JSON words and keys of the storage's objects are reported, never replaced."""
    url = fresh_database("gdpr_scrub_names", access_set_up=False)
    with closing(psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))) as connection, \
            connection, connection.cursor() as cursor:
        cursor.execute("""CREATE TABLE runs (body text); INSERT INTO runs VALUES
                          ('{"attempt": 101, "ok": true, "tags": {"jimmy": "JimmyLoup"}, "note": "a\\njimmy x-101"}')""")
    scrubbed = scrub(url, {"101", "true", "jimmy", "JimmyLoup"}, "erased-0123456789ab")
    assert sorted(scrubbed.kept) == ["101", "jimmy", "true"] and scrubbed.rows == {"runs": 1}
    with closing(psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT body FROM runs")
        body = json.loads(cursor.fetchone()[0])
    assert body["tags"] == {"jimmy": "erased-0123456789ab"} and body["attempt"] == 101


def test_an_erased_list_of_an_earlier_version_gets_its_salt_written_down_once(tmp_path):
    (tmp_path / ERASED_FILE).write_text(json.dumps([hashlib.sha256(b"jimmy").hexdigest()]))
    first = installation_digest(tmp_path, "jeremie")
    assert installation_digest(tmp_path, "jeremie") == first and ErasedApartments.read(tmp_path).holds("jimmy")
