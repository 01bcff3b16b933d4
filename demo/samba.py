"""A Samba server on loopback (non-445 port) sharing a folder read-only, for the SMB protocol backend.

smbd must run as root; the share's user is the account running it, with its own password database.
"""

from __future__ import annotations

import getpass
import socket
from pathlib import Path

from domotic_ops import procs

CONFIG = """[global]
  server role = standalone server
  smb ports = {port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  server min protocol = SMB2_10
  map to guest = never
  passdb backend = tdbsam:{base}/private/passdb.tdb
  private dir = {base}/private
  lock directory = {base}/lock
  state directory = {base}/state
  cache directory = {base}/cache
  pid directory = {base}/pid
  ncalrpc dir = {base}/ncalrpc
  binddns dir = {base}/bind-dns
  log file = {log}
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes

[{share}]
  path = {folder}
  read only = yes
  valid users = {user}
"""



class EmbeddedSamba:
    def __init__(self, base: Path, folder: Path, port: int, password: str, share: str = "domotic"):
        self.base, self.folder, self.port, self.password, self.share = base, folder, port, password, share
        self.user = getpass.getuser()
        self.config = base / "smb.conf"
        self.pid_file = base / "smbd.pid"
        self.log_file = base / "smbd.log"

    @property
    def url(self) -> str:
        return f"smb://127.0.0.1:{self.port}/{self.share}"

    def start(self) -> None:
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "bind-dns"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        self.config.write_text(CONFIG.format(port=self.port, base=self.base, log=self.log_file, share=self.share,
                                             folder=self.folder, user=self.user))
        procs.run([procs.find_binary("smbpasswd", "samba"), "-c", str(self.config), "-s", "-a", self.user],
                  input=f"{self.password}\n{self.password}\n")
        smbd = procs.find_binary("smbd", "samba")
        procs.spawn([smbd, "--foreground", "--no-process-group", "-s", str(self.config)], self.pid_file, self.log_file)
        if not procs.wait_until(self._listening, 30):
            raise procs.ServiceError(f"smbd did not start; see {self.log_file}")

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> bool:
        return procs.stop_pid_file(self.pid_file)
