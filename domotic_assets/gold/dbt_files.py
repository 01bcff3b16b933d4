"""Whether the dbt project changed: one digest of its own files, for the bootstrap (which parses the project for
the code location) and for gold runs (which parse again for their connection). Standard library only, so that
the bootstrap runs it without importing dbt: `python -m domotic_assets.gold.dbt_files <project dir>` prints it."""

import hashlib
import os
import sys
from pathlib import Path

DBT_OUTPUT = ("target", "logs")  # dbt's output folders: the failed runs' folders kept there are not walked


def project_files_digest(project_dir: Path) -> str:
    """A digest of the dbt project's own files: names and contents, dbt's target/ and logs/ left out."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(project_dir):
        subfolders[:] = sorted(name for name in subfolders
                               if not (Path(folder) == project_dir and name in DBT_OUTPUT))
        for name in sorted(files):
            path = Path(folder, name)
            digest.update(f"{path.relative_to(project_dir)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    print(project_files_digest(Path(sys.argv[1])))
