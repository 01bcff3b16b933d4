"""The resources every asset uses, configured from environment variables (`dg.EnvVar`)."""

from __future__ import annotations

import dagster as dg

from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.reference_db import ReferenceDatabaseResource
from resources.sftp import SFTPResource
from resources.smb import SMBShareResource


def platform_resources() -> dict:
    return {
        "warehouse": PostgresResource(db_url=dg.EnvVar("DB_URL")),
        "share": SMBShareResource(path=dg.EnvVar("SMB_PATH"), user=dg.EnvVar("SMB_USER"),
                                  password=dg.EnvVar("SMB_PASSWORD")),
        "bronze": BronzeResource(root=dg.EnvVar("BRONZE_ROOT"), apartment_map=dg.EnvVar("APARTMENT_MAP")),
        "sftp": SFTPResource(
            host=dg.EnvVar("SFTP_HOST"),
            port=dg.EnvVar.int("SFTP_PORT"),
            user=dg.EnvVar("SFTP_USER"),
            password=dg.EnvVar("SFTP_PASSWORD"),
            path=dg.EnvVar("SFTP_PATH"),
            known_hosts=dg.EnvVar("SFTP_KNOWN_HOSTS"),
            host_fingerprint=dg.EnvVar("SFTP_HOST_FINGERPRINT"),
            host_key_policy=dg.EnvVar("SFTP_HOST_KEY_POLICY"),
            max_retries=dg.EnvVar.int("SFTP_MAX_RETRIES"),
            retry_delay=dg.EnvVar.int("SFTP_RETRY_DELAY"),
        ),
        "reference_db": ReferenceDatabaseResource(url=dg.EnvVar("MYSQL_URL")),
        "rules": CleaningRulesResource(sensor_timezone=dg.EnvVar("SENSOR_TIMEZONE"),
                                       weather_min_year=dg.EnvVar.int("WEATHER_MIN_YEAR")),
    }
