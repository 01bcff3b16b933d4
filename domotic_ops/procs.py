"""Start background services with a PID file, stop them by PID, and run commands as a service account."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

from domotic_config.private import PRIVATE_FILE, SERVICE_UMASK, own_folder


class ServiceError(RuntimeError):
    """A service cannot start; the message says why and what to do (the CLI prints it without a traceback)."""


def find_binary(name: str, package: str) -> str:
    """A server binary from PATH or /usr/sbin, or an error naming the Debian package to install."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        raise ServiceError(f"{name} not found: install it with apt-get install {package}")
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_user(account: str) -> str | None:
    """As root, server binaries run as their service account; otherwise as the current user."""
    return account if os.geteuid() == 0 else None


def chown_to(path: Path, account: str | None) -> None:
    """Give a runtime folder to the service account that must write into it."""
    if account:
        entry = pwd.getpwnam(account)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def blocked_folder(path: Path, account: str) -> Path | None:
    """The first folder on the way to `path` that `account` may not enter (no execute permission), if any."""
    entry = pwd.getpwnam(account)
    groups = {entry.pw_gid} | {g.gr_gid for g in grp.getgrall() if account in g.gr_mem}
    path = path.resolve()
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            return None
        info = folder.stat()
        if info.st_uid == entry.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return folder
    return None


def require_reachable(path: Path, account: str | None, service: str, remedy: str) -> None:
    """Stop, before anything is created, when the service account cannot reach `path` (one sentence why)."""
    blocked = blocked_folder(path, account) if account else None
    if blocked:
        raise ServiceError(f"{service} runs as the {account!r} account, which may not enter {blocked}: {remedy}.")


def as_user(command: list[str], account: str | None) -> list[str]:
    return ["runuser", "-u", account, "--", *command] if account else command


def run(command: list[str], account: str | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run a command to completion, raising with its output if it fails."""
    result = subprocess.run(as_user(command, account), capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def _default_signals() -> None:
    # A shell that starts `make up &` makes its children ignore SIGINT; restore the defaults so
    # the service stops when `make down` signals it.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def spawn(command: list[str], pid_file: Path, log_file: Path, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> int:
    """Start a long-running process in its own session and record its PID. Its log is private (600, in a
    folder of 700) and so is what it writes (umask 077): logs and services' files may hold data."""
    own_folder(log_file.parent)
    own_folder(pid_file.parent)
    descriptor = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    os.fchmod(descriptor, PRIVATE_FILE)  # a log written before, under a looser umask
    with open(descriptor, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True, preexec_fn=_default_signals,
                                   umask=SERVICE_UMASK)
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def is_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return False


def stop_pid_file(pid_file: Path, timeout: float = 20.0, group: bool = True) -> bool:
    """Stop the process (and its process group) named by a PID file; True if something was stopped."""
    pid = read_pid(pid_file)
    stopped = False
    if pid is not None and is_alive(pid):
        gone = (lambda: not group_alive(pid)) if group else (lambda: not is_alive(pid))
        _signal(pid, signal.SIGTERM, group)
        if not wait_until(gone, timeout):
            _signal(pid, signal.SIGKILL, group)
            wait_until(gone, 5)
        stopped = True
    pid_file.unlink(missing_ok=True)
    return stopped


def group_alive(pgid: int) -> bool:
    """True while a live (non-zombie) process of the group remains."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            except (FileNotFoundError, IndexError, ProcessLookupError):
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def group_memory_mb(pgid: int | None) -> float:
    """Resident memory (MB) of the live processes of a process group (0 when there is none)."""
    total_kb = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and pgid:
            try:
                fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
                if int(fields[2]) == pgid:
                    status = (entry / "status").read_text()
                    total_kb += next((int(line.split()[1]) for line in status.splitlines()
                                      if line.startswith("VmRSS:")), 0)
            except (FileNotFoundError, IndexError, ProcessLookupError):
                continue
    return total_kb / 1024


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
