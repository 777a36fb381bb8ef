"""Local Unix accounts that sshd and smbd authenticate against (creating them needs root)."""

from __future__ import annotations

import os
import pwd
import subprocess
import time

from tests.servers._proc import ServerStartError, require_binary


def ensure_user(name: str) -> pwd.struct_passwd:
    """Return account ``name``, creating it (no home, no shell) when missing."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if os.geteuid() != 0:
        raise ServerStartError(f"test account {name!r} is missing and only root can create it")
    created = subprocess.run(
        [require_binary("useradd"), "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        capture_output=True,
    )
    try:  # another pytest-xdist worker may have created it a moment ago (useradd then exits 9)
        return pwd.getpwnam(name)
    except KeyError:
        raise ServerStartError(f"useradd {name} failed: {created.stderr.decode(errors='replace')}") from None


def set_password(name: str, password: str) -> None:
    """Set the password; retried, as another pytest-xdist worker may hold /etc/shadow's lock."""
    for attempt in range(10):
        done = subprocess.run([require_binary("chpasswd")], input=f"{name}:{password}\n".encode(), capture_output=True)
        if done.returncode == 0:
            return
        time.sleep(0.2 * (attempt + 1))
    raise ServerStartError(f"chpasswd {name} failed: {done.stderr.decode(errors='replace')}")
