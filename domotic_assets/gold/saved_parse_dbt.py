"""The dbt command line, started from the project's saved parse instead of parsing the project again.

    python saved_parse_dbt.py build --vars '{"min_date": "2023-10-03", "max_date": "2023-10-04"}' …

dbt parses the whole project again whenever `--vars` differ from those of its saved parse (about 2 s), and a
gold day passes its window as `--vars`. Here the saved parse (`partial_parse.msgpack` of the target path, which
dagster-dbt copies into every run's own target path) is given to dbt's programmatic runner, which then skips
parsing; `var()` in models, tests and hooks is still rendered at execution with the `--vars` given. Values
rendered once at parse time (the `where` of a test) must not read the window: tests scope themselves to it
through `meta.run_window` (macro `get_where_subquery`). Without a saved parse, dbt parses as usual.
Exit codes are dbt's: 0 success, 1 a node failed, 2 dbt itself failed.
"""

import os
import sys
from pathlib import Path

from dbt.cli.main import dbtRunner
from dbt.contracts.graph.manifest import Manifest
from dbt.parser.manifest import extended_mashumuro_decoder

SAVED_PARSE = "partial_parse.msgpack"
RUNS_THE_PROJECT = {"build", "run", "test", "seed", "compile", "show"}  # other commands (parse, docs, …) parse


def saved_parse(target_path: Path) -> Manifest | None:
    """The manifest of the saved parse in `target_path`, or None when there is none."""
    path = target_path / SAVED_PARSE
    if not path.is_file():
        return None
    return Manifest.from_msgpack(path.read_bytes(), decoder=extended_mashumuro_decoder)


def main(args: list[str]) -> int:
    target_path = Path(os.environ.get("DBT_TARGET_PATH", "target"))  # relative to the project folder, like dbt's
    manifest = saved_parse(target_path) if RUNS_THE_PROJECT & set(args[:1]) else None
    result = dbtRunner(manifest=manifest).invoke(args)
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
