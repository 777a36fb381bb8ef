"""SFTP: a private OpenSSH sshd (internal-sftp only) for a local test account.

sshd reads authorized_keys as the test user, and pytest's temporary dirs are mode 0700 and owned
by root, so everything lives in a world-traversable dir of its own under the system temp dir;
``workdir/sftp`` is a symlink to it. ``stop()`` removes it; ``kill()``/``restart()`` keep it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port, require_binary
from tests.servers._users import ensure_user, set_password

USERNAME = "sftptest"
PASSWORD = "sftp-test-password"


@dataclass(kw_only=True)
class SFTPServer(RunningServer):
    host: str
    port: int
    username: str
    password: str
    key_filename: Path
    known_hosts: Path
    known_hosts_line: str
    root: Path

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root.parent, ignore_errors=True)


def start(workdir: Path, *, max_sessions: int = 10) -> SFTPServer:
    sshd = require_binary("sshd")
    keygen = require_binary("ssh-keygen")
    user = ensure_user(USERNAME)
    set_password(USERNAME, PASSWORD)
    base = _private_dir(workdir)
    root = base / "data"
    root.mkdir()
    os.chown(root, user.pw_uid, user.pw_gid)
    _keygen(keygen, base / "hostkey")
    _keygen(keygen, base / "userkey")
    shutil.copy(base / "userkey.pub", base / "authorized_keys")
    (base / "authorized_keys").chmod(0o644)
    port = free_port()
    known_hosts_line = f"[{HOST}]:{port} " + " ".join((base / "hostkey.pub").read_text().split()[:2])
    (base / "known_hosts").write_text(known_hosts_line + "\n")
    config = base / "sshd_config"
    config.write_text(_sshd_config(base, port, root, max_sessions))
    # sshd refuses to start without its privilege separation dir.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = ServerProcess(
        argv=[sshd, "-D", "-e", "-f", str(config)],
        port=port,
        logfile=workdir / "sftp.log",
    )
    process.start()
    return SFTPServer(
        processes=[process],
        host=HOST,
        port=port,
        username=USERNAME,
        password=PASSWORD,
        key_filename=base / "userkey",
        known_hosts=base / "known_hosts",
        known_hosts_line=known_hosts_line,
        root=root,
    )


def _private_dir(workdir: Path) -> Path:
    base = Path(tempfile.mkdtemp(prefix="genrostore-sftp-"))
    base.chmod(0o755)
    link = workdir / "sftp"
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(base)
    return base


def _keygen(keygen: str, path: Path) -> None:
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, capture_output=True)


def _sshd_config(base: Path, port: int, root: Path, max_sessions: int = 10) -> str:
    # Stock OpenSSH limits: MaxSessions 10 (channels per connection, written out to be explicit)
    # and the default MaxStartups (10:30:100), so the suite sees what users' servers impose.
    return f"""\
Port {port}
ListenAddress {HOST}
HostKey {base / "hostkey"}
PidFile {base / "sshd.pid"}
AuthorizedKeysFile {base / "authorized_keys"}
AllowUsers {USERNAME}
PermitRootLogin no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
MaxSessions {max_sessions}
LogLevel VERBOSE
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d {root}
"""
