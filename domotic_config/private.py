"""What the platform writes that holds data or secrets belongs to its account alone, whatever the umask: files
mode 600 in folders of mode 700 (docs/operations.md#file-permissions)."""

from __future__ import annotations

from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
# The runtime folder: nobody else may list it or write in it; others may pass through, which the embedded
# servers' own accounts need (as root) to reach their folders in it, each private itself.
RUNTIME_FOLDER = 0o711
SERVICE_UMASK = 0o077  # the processes the platform starts create private files and folders


def private_folder(path: Path) -> Path:
    """`path`, its missing folders created mode 700 at every level (existing ones keep their mode)."""
    missing = []
    folder = path
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
    return path


def own_folder(path: Path) -> Path:
    """A folder only the platform writes in (logs, backups, a cluster, Dagster's home), mode 700 even if it was
    made before; missing parents get the usual mode (a service account may have to pass through them)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_FOLDER)
    return path


def runtime_folder(path: Path) -> Path:
    """The runtime folder, created if missing, with other accounts' rights to list and write taken away."""
    path.mkdir(parents=True, exist_ok=True)
    current = path.stat().st_mode & 0o777
    if current & ~RUNTIME_FOLDER:
        path.chmod(current & RUNTIME_FOLDER)
    return path
