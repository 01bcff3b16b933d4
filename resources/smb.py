"""The SMB share holding the sensor files, here as a mounted folder (`SMB_PATH` is a directory)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field


@dataclass(frozen=True)
class ShareFile:
    name: str
    size: int
    mtime: float


class SMBShareResource(dg.ConfigurableResource):
    """Lists and reads the sensor files in the share's folder (files sit flat in the folder)."""

    path: str = Field(description="SMB_PATH: the mounted folder of the share")

    def list_files(self) -> list[ShareFile]:
        with os.scandir(self.path) as entries:
            return [ShareFile(e.name, (s := e.stat()).st_size, s.st_mtime) for e in entries if e.is_file()]

    def read_bytes(self, name: str) -> bytes:
        return (Path(self.path) / name).read_bytes()
