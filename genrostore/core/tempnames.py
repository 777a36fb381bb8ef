"""The one scheme of genrostore's temp files: `.NAME.XXXXXXXX.genrostore-tmp` beside the target.

Every backend that writes by temp + rename names its temp file here, and `genrostore cleanup`
recognises them by `is_temp`: nothing that does not match is ever removed as stale.

A file name is at most 255 bytes on nearly every file system and server (ext4, xfs, btrfs,
APFS, NTFS's 255 UTF-16 units, OpenSSH, WsgiDAV over them); the decoration adds 26, so a long
NAME is cut, at a character boundary, and marked with `~` and a hash of the whole name.
"""

from __future__ import annotations

import posixpath
import re

SUFFIX = ".genrostore-tmp"
MAX_NAME_BYTES = 255
_TOKEN_CHARS = 8
_DECORATION = 1 + 1 + _TOKEN_CHARS + len(SUFFIX)  # "." NAME "." token SUFFIX
_HASH_CHARS = 8

# The token is hex now; earlier versions' local temp files took tempfile's [a-z0-9_] names.
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{%d}%s$" % (_TOKEN_CHARS, re.escape(SUFFIX)), re.DOTALL)


def temp_name(name: str, suffix: str = SUFFIX) -> str:
    """A fresh temp file name for a file called `name`, within MAX_NAME_BYTES.

    Another `suffix` names a file of the same shape that `cleanup` leaves alone (webdav's
    previous version kept during a staged copy)."""
    import random  # here: its import is ~1.3 ms of start-up for commands that write no temp file

    # The random module's generator (seeded from the OS, reseeded in a forked child): a 32-bit
    # token as before, without a getrandom() call per file (15 µs each under a busy GIL).
    token = f"{random.getrandbits(_TOKEN_CHARS * 4):0{_TOKEN_CHARS}x}"
    return f".{_fit(name, MAX_NAME_BYTES - _DECORATION - len(suffix) + len(SUFFIX))}.{token}{suffix}"


def temp_path(path: str, suffix: str = SUFFIX) -> str:
    """`temp_name` beside `path` (a '/'-separated path, as every backend's are)."""
    parent, name = posixpath.split(path)
    return posixpath.join(parent, temp_name(name, suffix))


def is_temp(name: str) -> bool:
    """Whether a file name (not a path) is one of genrostore's temp files."""
    return bool(_TEMP.match(name))


def _fit(name: str, budget: int) -> str:
    if _size(name) <= budget:
        return name
    import hashlib  # only for long names: `cat` of a local file must not pay for it at start-up

    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:_HASH_CHARS]
    room = budget - 1 - _HASH_CHARS
    kept, used = [], 0
    for char in name:
        used += _size(char)
        if used > room:
            break
        kept.append(char)
    return "".join(kept) + "~" + digest


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))
