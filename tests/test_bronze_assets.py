"""Materialising the bronze assets against the real share folder and the real sFTP server."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from domotic_assets.bronze.assets import bronze_sensor_files, bronze_weather_files
from resources.bronze import BronzeResource
from resources.sftp import SFTPResource
from resources.smb import SMBShareResource
from sensors_io.bronze_layout import rejected_files_of_day
from sensors_io.filenames import FilenameError, parse_sensor_filename
from sensors_io.safe_names import stored_name


@pytest.fixture
def share_copy(settings, generated, tmp_path) -> Path:
    """A private copy of the generated share, so that tests may add files to it."""
    folder = tmp_path / "share"
    shutil.copytree(settings["SMB_PATH"], folder, copy_function=shutil.copy2)
    return folder


def materialise(asset, partition: str, **resources) -> dg.ExecuteInProcessResult:
    return dg.materialize([asset], partition_key=partition, resources=resources, raise_on_error=False)


def metadata(result: dg.ExecuteInProcessResult) -> dict:
    event = result.get_asset_materialization_events()[0]
    return {k: v.value for k, v in event.materialization.metadata.items()}


@pytest.mark.component
def test_sensor_files_land_in_bronze_byte_for_byte_and_reruns_skip(share_copy, tmp_path):
    bronze = tmp_path / "bronze"
    resources = dict(share=SMBShareResource(path=str(share_copy)), bronze=BronzeResource(root=str(bronze)))
    first = materialise(bronze_sensor_files, "2023-10-29", **resources)
    assert first.success
    day = [n for n in os.listdir(share_copy) if n.startswith("29.10.2023 ")]
    valid = []
    for name in day:
        try:
            valid.append((name, parse_sensor_filename(name)))
        except FilenameError:
            pass
    facts = metadata(first)
    assert facts["files_copied"] == len(valid) and facts["files_rejected"] == len(day) - len(valid)
    assert facts["apartments"] == "annameier, jeremie, jimmy"  # a third apartment without code changes
    for name, parsed in valid:
        apartment = {"JimmyLoup": "jimmy", "JeremieVianin": "jeremie"}.get(parsed.user, parsed.user.lower())
        target = bronze / apartment / f"{parsed.local_minute:%Y/%m/%d/%H}" / name
        assert target.read_bytes() == (share_copy / name).read_bytes()
    assert not list(bronze.rglob(".*part-*"))
    again = metadata(materialise(bronze_sensor_files, "2023-10-29", **resources))
    assert (again["files_copied"], again["files_skipped"]) == (0, len(valid))


@pytest.mark.component
def test_a_run_given_the_new_names_copies_those_only_and_reports_names_gone(share_copy, tmp_path):
    bronze = tmp_path / "bronze"
    day = sorted(n for n in os.listdir(share_copy) if n.startswith("29.10.2023 ") and n.endswith("_JimmyLoup_received.json"))
    gone = "29.10.2023 2359_NobodyHere_received.json"
    config = {"ops": {"bronze_sensor_files": {"config": {"files": day[:3] + [gone]}}}}
    result = dg.materialize([bronze_sensor_files], partition_key="2023-10-29", run_config=config, resources=dict(
        share=SMBShareResource(path=str(share_copy)), bronze=BronzeResource(root=str(bronze))))
    facts = metadata(result)
    assert (facts["files_copied"], facts["named_files_gone"], facts["files_on_share"]) == (3, 1, 3)
    assert sorted(p.name for p in bronze.rglob("*.json")) == day[:3]
    other_day = {"ops": {"bronze_sensor_files": {"config": {"files": ["28.10.2023 1200_JimmyLoup_received.json"]}}}}
    refused = dg.materialize([bronze_sensor_files], partition_key="2023-10-29", run_config=other_day,
                             raise_on_error=False, resources=dict(share=SMBShareResource(path=str(share_copy)),
                                                                  bronze=BronzeResource(root=str(bronze))))
    assert not refused.success and "not files of 2023-10-29" in str(refused.get_step_failure_events()[0].event_specific_data)


@pytest.mark.component
def test_bad_names_are_kept_aside_with_their_reason(generated, share_copy, tmp_path):
    bad = next(c["file"] for c in generated["cases"] if c["case"] == "bad_filename")
    key = f"{bad[6:10]}-{bad[3:5]}-{bad[0:2]}"
    bronze = tmp_path / "bronze"
    result = materialise(bronze_sensor_files, key, share=SMBShareResource(path=str(share_copy)),
                         bronze=BronzeResource(root=str(bronze)))
    assert result.success and metadata(result)["files_rejected"] == 1
    assert (bronze / "_rejected" / bad).read_bytes() == (share_copy / bad).read_bytes()
    assert "does not match" in json.loads((bronze / "_rejected" / ".reasons" / f"{bad}.json").read_text())["reason"]
    assert bad in metadata(result)["rejected"]


@pytest.mark.component
def test_a_file_still_being_written_is_deferred(share_copy, tmp_path):
    bronze = tmp_path / "bronze"
    name = "28.10.2023 2359_JimmyLoup_received.json"
    (share_copy / name).write_bytes(b'{"user": "JimmyLoup", "datetime": "28.10.2023 23:')  # fresh mtime
    resources = dict(share=SMBShareResource(path=str(share_copy)), bronze=BronzeResource(root=str(bronze)))
    facts = metadata(materialise(bronze_sensor_files, "2023-10-28", **resources))
    assert facts["files_deferred"] == 1
    assert not (bronze / "jimmy/2023/10/28/23" / name).exists()
    old = time.time() - 60
    os.utime(share_copy / name, (old, old))
    assert metadata(materialise(bronze_sensor_files, "2023-10-28", **resources))["files_copied"] == 1
    assert (bronze / "jimmy/2023/10/28/23" / name).exists()


@pytest.mark.integration
def test_weather_file_downloads_into_bronze(sftp_config, sftp_server, tmp_path):
    bronze = tmp_path / "bronze"
    resources = dict(sftp=SFTPResource(**sftp_config), bronze=BronzeResource(root=str(bronze)))
    result = materialise(bronze_weather_files, "2023-10-29", **resources)
    assert result.success
    target = bronze / "weather/2023/10/29/Pred_2023-10-29.csv"
    assert target.read_bytes() == (sftp_server.folder / "Pred_2023-10-29.csv").read_bytes()
    assert metadata(materialise(bronze_weather_files, "2023-10-29", **resources))["files_skipped"] == 1


@pytest.mark.integration
def test_missing_weather_file_fails_with_its_name(sftp_config, sftp_server, tmp_path):
    resources = dict(sftp=SFTPResource(**{**sftp_config, "max_retries": 1}),
                     bronze=BronzeResource(root=str(tmp_path / "bronze")))
    result = materialise(bronze_weather_files, "2024-02-01", **resources)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "1 forecast files are not on the sFTP server (Pred_2024-02-01.csv)" in failure.message
    assert not list((tmp_path / "bronze").rglob("*.csv"))


@pytest.mark.component
def test_downloads_are_retried_by_dagster_with_the_configured_back_off():
    policy = bronze_weather_files.op.retry_policy
    assert (policy.max_retries, policy.delay, policy.backoff) == (3, 600, dg.Backoff.EXPONENTIAL)


@pytest.mark.integration
def test_a_corrected_forecast_is_downloaded_again_and_the_earlier_version_kept(sftp_config, sftp_server, tmp_path):
    bronze = tmp_path / "bronze"
    resources = dict(sftp=SFTPResource(**sftp_config), bronze=BronzeResource(root=str(bronze)))
    source = sftp_server.folder / "Pred_2023-10-28.csv"
    original = source.read_bytes()
    assert materialise(bronze_weather_files, "2023-10-28", **resources).success
    try:
        source.write_bytes(original.replace(b"Sion", b"SION"))  # same size, new content and time
        os.utime(source, (source.stat().st_mtime + 60,) * 2)
        assert metadata(materialise(bronze_weather_files, "2023-10-28", **resources))["files_downloaded"] == 1
    finally:
        source.write_bytes(original)
    folder = bronze / "weather/2023/10/28"
    versions = sorted(p.name for p in folder.iterdir())
    assert versions[0] == "Pred_2023-10-28.csv" and versions[1].startswith("Pred_2023-10-28.csv.replaced-")
    assert (folder / versions[1]).read_bytes() == original
    assert (folder / versions[0]).read_bytes() == original.replace(b"Sion", b"SION")


@pytest.mark.component
def test_a_corrected_sensor_file_of_the_same_size_is_copied_again(share_copy, tmp_path):
    bronze = tmp_path / "bronze"
    resources = dict(share=SMBShareResource(path=str(share_copy)), bronze=BronzeResource(root=str(bronze)))
    materialise(bronze_sensor_files, "2023-10-28", **resources)
    name = sorted(p.name for p in share_copy.glob("28.10.2023 12*_JimmyLoup_received.json"))[0]
    source = share_copy / name
    old = source.read_bytes()
    source.write_bytes(old[:-1] + (b" " if old.endswith(b"\n") else b"\n"))  # same size, other content
    os.utime(source, (time.time() - 60,) * 2)
    assert metadata(materialise(bronze_sensor_files, "2023-10-28", **resources))["files_copied"] == 1
    copies = sorted(p.name for p in (bronze / "jimmy/2023/10/28/12").iterdir() if p.name.startswith(name))
    assert copies[0] == name and copies[1].startswith(name + ".replaced-")
    assert (bronze / "jimmy/2023/10/28/12" / copies[1]).read_bytes() == old
    assert oct((bronze / "jimmy/2023/10/28/12" / name).stat().st_mode & 0o777) == "0o600"


@pytest.mark.component
def test_a_share_name_shaped_like_a_reason_note_is_a_rejected_file_and_never_breaks_the_day(share_copy, tmp_path):
    """`<name>.bak` and `<name>.bak.reason.json` holding anything: both rejected with their own reason; the
    second is not taken for the first's note, and listing the day's rejected files does not raise."""
    valid = sorted(n for n in os.listdir(share_copy) if n.startswith("29.10.2023 "))[0]
    (share_copy / f"{valid}.bak").write_text("{}")
    (share_copy / f"{valid}.bak.reason.json").write_text("not json {")
    bronze = tmp_path / "bronze"
    result = materialise(bronze_sensor_files, "2023-10-29", share=SMBShareResource(path=str(share_copy)),
                         bronze=BronzeResource(root=str(bronze)))
    assert result.success
    rejected = dict(rejected_files_of_day(bronze, date(2023, 10, 29)))
    assert {f"{valid}.bak", f"{valid}.bak.reason.json"} <= set(rejected)
    assert all("does not match" in rejected[name] for name in (f"{valid}.bak", f"{valid}.bak.reason.json"))


@pytest.mark.component
def test_a_symlink_on_the_share_is_refused_and_never_followed(share_copy, tmp_path):
    """A link with a valid sensor-file name pointing at a secret: nothing of the secret reaches bronze; the link
    is reported with the reason `symlink`."""
    secret = tmp_path / "secrets.env"
    secret.write_text("DB_URL=postgresql+psycopg2://domotic:TOP-SECRET@host/db\n")
    link = "29.10.2023 2358_JimmyLoup_received.json"
    (share_copy / link).unlink(missing_ok=True)
    (share_copy / link).symlink_to(secret)
    bronze = tmp_path / "bronze"
    result = materialise(bronze_sensor_files, "2023-10-29", share=SMBShareResource(path=str(share_copy)),
                         bronze=BronzeResource(root=str(bronze)))
    assert result.success
    assert not [p for p in bronze.rglob("*") if p.is_file() and b"TOP-SECRET" in p.read_bytes()]
    assert dict(rejected_files_of_day(bronze, date(2023, 10, 29)))[link].startswith("symlink")


@pytest.mark.component
def test_an_unmapped_user_is_never_merged_into_a_mapped_apartment(share_copy, tmp_path):
    """`Jimmy` and `JIMMYLOUP` beside `JimmyLoup=jimmy`: refused by name, nothing of theirs in `jimmy`."""
    real = share_copy / "29.10.2023 1200_JimmyLoup_received.json"
    outsiders = [f"29.10.2023 1200_{user}_received.json" for user in ("Jimmy", "JIMMYLOUP")]
    for name in outsiders:
        (share_copy / name).write_text('{"outsider": true}')
    bronze = tmp_path / "bronze"
    result = materialise(bronze_sensor_files, "2023-10-29", share=SMBShareResource(path=str(share_copy)),
                         bronze=BronzeResource(root=str(bronze)))
    assert result.success
    assert (bronze / "jimmy" / "2023/10/29/12" / real.name).read_bytes() == real.read_bytes()
    assert not [p for p in (bronze / "jimmy").rglob("*") if p.is_file() and b"outsider" in p.read_bytes()]
    rejected = dict(rejected_files_of_day(bronze, date(2023, 10, 29)))
    assert all("another user's apartment" in rejected[name] for name in outsiders)


@pytest.mark.component
@pytest.mark.parametrize("entry", ["29.10.2023 x/../../../secrets.env", "29.10.2023 1200_a\0b", "../29.10.2023 x"])
def test_run_config_files_must_be_plain_names_of_the_share(share_copy, tmp_path, entry):
    (tmp_path / "secrets.env").write_text("TOP-SECRET")
    bronze = tmp_path / "bronze"
    config = {"ops": {"bronze_sensor_files": {"config": {"files": [entry]}}}}
    result = dg.materialize([bronze_sensor_files], partition_key="2023-10-29", run_config=config, raise_on_error=False,
                            resources=dict(share=SMBShareResource(path=str(share_copy)),
                                           bronze=BronzeResource(root=str(bronze))))
    assert not result.success
    assert "not file names of the share" in str(result.get_step_failure_events()[0].event_specific_data)
    assert not [p for p in bronze.rglob("*") if p.is_file()]


@pytest.mark.component
def test_an_over_long_name_is_rejected_by_name_and_the_day_still_copies(share_copy, tmp_path):
    """A 254-character name (valid on the share, too long for bronze's notes): a note, no copy, no failure."""
    name = "29.10.2023 1200_" + "A" * 224 + "_received.json"
    (share_copy / name).write_text("{}")
    bronze = tmp_path / "bronze"
    result = materialise(bronze_sensor_files, "2023-10-29", share=SMBShareResource(path=str(share_copy)),
                         bronze=BronzeResource(root=str(bronze)))
    assert result.success and metadata(result)["files_copied"] > 0
    assert "longer than 200 bytes" in dict(rejected_files_of_day(bronze, date(2023, 10, 29)))[stored_name(name)]
