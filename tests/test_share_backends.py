"""The mounted-folder and SMB-protocol backends of the share give the same listing and the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from domotic_assets.bronze.assets import bronze_sensor_files
from resources.bronze import BronzeResource
from resources.smb import SMBShareResource

pytestmark = pytest.mark.integration


def backends(settings, samba):
    mounted = SMBShareResource(path=settings["SMB_PATH"])
    protocol = SMBShareResource(path=samba.url, user=samba.user, password=samba.password)
    return mounted, protocol


def test_same_listing_stat_and_content(settings, samba):
    mounted, protocol = backends(settings, samba)
    assert sorted(mounted.list_files()) == sorted(protocol.list_files())
    day = sorted(protocol.list_files("29.10.2023 "))
    assert day == sorted(mounted.list_files("29.10.2023 ")) and len(day) > 4000
    name = day[100].name
    assert protocol.stat(name) == mounted.stat(name)
    assert protocol.stat("01.01.2023 0000_Nobody_received.json") is None
    with protocol.open(name) as remote, mounted.open(name) as local:
        assert remote.read() == local.read()


def test_bronze_copy_over_the_smb_protocol(settings, samba, tmp_path):
    mounted, protocol = backends(settings, samba)
    result = dg.materialize([bronze_sensor_files], partition_key="2023-10-30",
                            resources={"share": protocol, "bronze": BronzeResource(root=str(tmp_path))})
    assert result.success
    copied = {p.name: p for p in tmp_path.rglob("*.json")}
    day = mounted.list_files("30.10.2023 ")
    assert sorted(copied) == sorted(f.name for f in day)  # valid files in the tree, bad names under _rejected/
    for info in day:
        with mounted.open(info.name) as local:
            assert copied[info.name].read_bytes() == local.read()


def test_a_large_file_is_streamed_over_the_smb_protocol_holding_one_request_slot(settings, samba):
    """A 6 MiB file on the share: read in pieces (never whole), its request slot given back when closed."""
    share = Path(settings["SMB_PATH"])
    name = "29.10.2023 2357_Large_received.json"
    (share / name).write_bytes(os.urandom(6 << 20))
    try:
        backend = SMBShareResource(path=samba.url, user=samba.user, password=samba.password).backend
        slots = backend._slots._value  # the connection's free request slots
        with backend.open(name) as remote:
            assert backend._slots._value == slots - 1
            first = remote.read(1 << 20)
            assert len(first) == 1 << 20 and remote.raw._remote.tell() <= 2 << 20  # not read ahead whole
            assert first + remote.read() == (share / name).read_bytes()
        assert backend._slots._value == slots
    finally:
        (share / name).unlink()
