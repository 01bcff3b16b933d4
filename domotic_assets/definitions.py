"""The `domotic` code location."""

import dagster as dg

from domotic_assets.resources import platform_resources

defs = dg.Definitions(resources=platform_resources())
