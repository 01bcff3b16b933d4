"""The resources of the code location, configured from the environment.

Required values and secrets are `dg.EnvVar`s, resolved by Dagster when a run needs the resource (so a run
that uses only the share needs only its variables, and secrets never enter the run config); optional
settings take their value from the environment or their declared default (`domotic_config.variables`).
The code location offers them `fixed`: they take no run config, so nobody can point a host, a path or a
host-key policy elsewhere from the Launchpad (docs/configuration.md#where-values-come-from).
"""

from __future__ import annotations

import os

import dagster as dg

from domotic_config.variables import integer, value
from resources.alerts import AlertWebhookResource
from resources.bronze import BronzeResource
from resources.cleaning import CleaningRulesResource
from resources.postgres import PostgresResource
from resources.reference_db import ReferenceDatabaseResource
from resources.sftp import SFTPResource
from resources.smb import SMBShareResource


def optional_secret(name: str) -> dg.EnvVar | str:
    """A secret that may be absent: read by Dagster from the environment when set, else empty."""
    return dg.EnvVar(name) if os.environ.get(name) else ""


def fixed(resource: dg.ConfigurableResource) -> dg.ResourceDefinition:
    """`resource` exactly as configured here, taking no run config (any is a config error); its `dg.EnvVar`s
    are resolved when a run or a sensor needs it."""
    @dg.resource(config_schema={}, description=type(resource).__doc__)
    def from_environment(_context: dg.InitResourceContext):
        return resource.process_config_and_initialize()

    return from_environment


def platform_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "warehouse": PostgresResource(db_url=dg.EnvVar("DB_URL")),
        "share": SMBShareResource(path=dg.EnvVar("SMB_PATH"), user=value("SMB_USER"),
                                  password=optional_secret("SMB_PASSWORD")),
        "bronze": BronzeResource(root=dg.EnvVar("BRONZE_ROOT"), apartment_map=value("APARTMENT_MAP")),
        "sftp": SFTPResource(
            host=dg.EnvVar("SFTP_HOST"),
            port=integer("SFTP_PORT"),
            user=dg.EnvVar("SFTP_USER"),
            password=dg.EnvVar("SFTP_PASSWORD"),
            path=value("SFTP_PATH"),
            known_hosts=value("SFTP_KNOWN_HOSTS"),
            host_fingerprint=value("SFTP_HOST_FINGERPRINT"),
            host_key_policy=value("SFTP_HOST_KEY_POLICY"),
        ),
        "reference_db": ReferenceDatabaseResource(url=dg.EnvVar("MYSQL_URL")),
        "webhook": AlertWebhookResource(url=optional_secret("ALERT_WEBHOOK_URL")),
        "rules": CleaningRulesResource(sensor_timezone=value("SENSOR_TIMEZONE"),
                                       weather_min_year=integer("WEATHER_MIN_YEAR"),
                                       sensor_file_max_bytes=integer("SENSOR_FILE_MAX_BYTES"),
                                       weather_file_max_bytes=integer("WEATHER_FILE_MAX_BYTES")),
    }
