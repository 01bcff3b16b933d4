"""Both code locations as one set of definitions: the asset graph across them, as Dagster's daemon and UI join it
by asset key (workspace.yaml)."""

from functools import cache

import dagster as dg


@cache
def whole_platform() -> dg.Definitions:
    from domotic_assets import definitions, sources_definitions

    return dg.Definitions.merge(sources_definitions.defs, definitions.defs)
