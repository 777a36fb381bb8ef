"""SMB: a private Samba smbd on a high port with two shares.

``share`` admits only the test user; ``public`` admits guests. Guest sessions cannot sign, so a
client must register its session with ``require_signing=False`` (fsspec's smb does not pass that
through: call ``smbclient.register_session`` first).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port, require_binary
from tests.servers._users import ensure_user

USERNAME = "smbtest"
PASSWORD = "smb-test-password"
SHARE = "share"
GUEST_SHARE = "public"
STATE_DIRS = ("state", "cache", "lock", "pid", "private", "log")


@dataclass(kw_only=True)
class SMBServer(RunningServer):
    host: str
    port: int
    username: str
    password: str
    share: str
    share_root: Path
    guest_share: str
    guest_share_root: Path


def start(workdir: Path) -> SMBServer:
    smbd = require_binary("smbd")
    smbpasswd = require_binary("smbpasswd")
    base = workdir / "smb"
    for name in (SHARE, GUEST_SHARE, *STATE_DIRS):
        (base / name).mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = base / "smb.conf"
    config.write_text(_smb_conf(base, port))
    ensure_user(USERNAME)
    subprocess.run(
        [smbpasswd, "-c", str(config), "-s", "-a", USERNAME],
        input=f"{PASSWORD}\n{PASSWORD}\n".encode(),
        check=True,
        capture_output=True,
    )
    process = ServerProcess(
        argv=[smbd, "-s", str(config), "--foreground", "--no-process-group", "--debug-stdout", "-d1"],
        port=port,
        logfile=workdir / "smb.log",
    )
    process.start()
    return SMBServer(
        processes=[process],
        host=HOST,
        port=port,
        username=USERNAME,
        password=PASSWORD,
        share=SHARE,
        share_root=base / SHARE,
        guest_share=GUEST_SHARE,
        guest_share_root=base / GUEST_SHARE,
    )


def _smb_conf(base: Path, port: int) -> str:
    # force user = root: smbd then reads and writes the shares, which sit in root's 0700 temp dirs.
    return f"""\
[global]
server role = standalone server
smb ports = {port}
interfaces = {HOST}
bind interfaces only = yes
private dir = {base / "private"}
state directory = {base / "state"}
cache directory = {base / "cache"}
lock directory = {base / "lock"}
pid directory = {base / "pid"}
ncalrpc dir = {base / "state" / "ncalrpc"}
log file = {base / "log" / "log.%m"}
passdb backend = tdbsam:{base / "private" / "passdb.tdb"}
map to guest = Bad User
disable spoolss = yes
load printers = no
printcap name = /dev/null
server min protocol = SMB2

[{SHARE}]
path = {base / SHARE}
read only = no
guest ok = no
valid users = {USERNAME}
force user = root

[{GUEST_SHARE}]
path = {base / GUEST_SHARE}
read only = no
guest ok = yes
force user = root
"""
