"""Demo sFTP server (SSH protocol via asyncssh): password authentication, confined to its folder.

Run as a process: `python -m demo.sftp_server --root DIR --port N --host-key FILE` with the user and the
password in `SFTP_USER` / `SFTP_PASSWORD` (never on the command line). `EmbeddedSFTP` starts and stops it
by PID and writes the `known_hosts` line the platform uses to verify the server's key.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import socket
import sys
from pathlib import Path

import asyncssh

from domotic_config.private import private_folder
from domotic_config.settings import Settings
from domotic_ops import procs


class _PasswordServer(asyncssh.SSHServer):
    def __init__(self, user: str, password: str):
        self._user, self._password = user, password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (hmac.compare_digest(username.encode(), self._user.encode())
                and hmac.compare_digest(password.encode(), self._password.encode()))


async def serve(root: Path, host: str, port: int, host_key: Path, user: str, password: str) -> None:
    chroot = os.fsencode(root.resolve())
    await asyncssh.listen(host, port, server_host_keys=[str(host_key)], allow_scp=False,
                          server_factory=lambda: _PasswordServer(user, password),
                          sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=chroot))
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host-key", type=Path, required=True)
    args = parser.parse_args()
    user, password = os.environ.get("SFTP_USER"), os.environ.get("SFTP_PASSWORD")
    if not user or not password:
        sys.exit("SFTP_USER and SFTP_PASSWORD must be set")
    asyncio.run(serve(args.root, args.host, args.port, args.host_key, user, password))


class EmbeddedSFTP:
    """The demo sFTP server: serves `<runtime>/demo/sftp`, whose `SFTP_PATH` folder holds the forecasts."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.root = settings.runtime / "demo" / "sftp"
        self.folder = self.root / settings["SFTP_PATH"].strip("/")
        self.host_key = settings.runtime / "sftp" / "ssh_host_ed25519_key"
        self.known_hosts = Path(settings["SFTP_KNOWN_HOSTS"])
        self.pid_file = settings.runtime / "pids" / "sftp.pid"
        self.log_file = settings.runtime / "logs" / "sftp.log"
        self.port = int(settings["SFTP_PORT"])

    def ensure_host_key(self) -> None:
        """Generate the server key once and record it in the known_hosts file the client verifies."""
        if not self.host_key.exists():
            self.host_key.parent.mkdir(parents=True, exist_ok=True)
            key = asyncssh.generate_private_key("ssh-ed25519")
            key.write_private_key(str(self.host_key))
            os.chmod(self.host_key, 0o600)
        public = asyncssh.read_private_key(str(self.host_key)).export_public_key("openssh").decode().split()
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        self.known_hosts.write_text(f"[{self.settings['SFTP_HOST']}]:{self.port} {public[0]} {public[1]}\n")

    def is_running(self) -> bool:
        return procs.is_alive(procs.read_pid(self.pid_file))

    def start(self) -> None:
        self.ensure_host_key()
        private_folder(self.folder)
        if not self.is_running():
            env = {**os.environ, "SFTP_USER": self.settings["SFTP_USER"],
                   "SFTP_PASSWORD": self.settings["SFTP_PASSWORD"]}
            procs.spawn([sys.executable, "-m", "demo.sftp_server", "--root", str(self.root),
                         "--port", str(self.port), "--host-key", str(self.host_key)],
                        self.pid_file, self.log_file, env=env, cwd=Path(__file__).resolve().parent.parent)
        if not procs.wait_until(self._listening, 30):
            raise procs.ServiceError(f"the sFTP server did not start; see {self.log_file}")

    def _listening(self) -> bool:
        if not self.is_running():
            return False
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> bool:
        return procs.stop_pid_file(self.pid_file)

    def status(self) -> str:
        if self.is_running():
            return f"running (pid {procs.read_pid(self.pid_file)}, 127.0.0.1:{self.port}, folder {self.root})"
        return "stopped"


if __name__ == "__main__":
    main()
