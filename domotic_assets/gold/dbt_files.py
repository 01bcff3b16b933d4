"""Whether the dbt project changed: one digest of its own files, for the bootstrap (which parses the project for
the code location) and for gold runs (which parse again for their connection). Standard library only, so that
the bootstrap runs it without importing dbt: `python -m domotic_assets.gold.dbt_files <project dir>` prints it."""

import hashlib
import sys
from pathlib import Path


def project_files_digest(project_dir: Path) -> str:
    """A digest of the dbt project's own files: names and contents, dbt's target/ and logs/ left out."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if path.is_file() and relative.parts[0] not in ("target", "logs"):
            digest.update(f"{relative}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    print(project_files_digest(Path(sys.argv[1])))
