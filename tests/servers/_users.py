"""Local Unix accounts that sshd and smbd authenticate against (creating them needs root)."""

from __future__ import annotations

import os
import pwd
import subprocess

from tests.servers._proc import ServerStartError, require_binary


def ensure_user(name: str) -> pwd.struct_passwd:
    """Return account ``name``, creating it (no home, no shell) when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise ServerStartError(f"test account {name!r} is missing and only root can create it")
    subprocess.run(
        [require_binary("useradd"), "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(name)


def set_password(name: str, password: str) -> None:
    subprocess.run([require_binary("chpasswd")], input=f"{name}:{password}\n".encode(), check=True, capture_output=True)
