"""Addresses (`mount:path`, local paths, URLs, `-`) and the path jail inside a mount."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from genrostore.core.errors import UsageError

STDIO = "-"
_MOUNT_RE = re.compile(r"^([A-Za-z0-9_.-]+):(.*)\Z", re.DOTALL)
_URL_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://", re.DOTALL)


@dataclass(frozen=True)
class Address:
    """What the user typed, split: exactly one of `mount`, `url` or `local` is set (or `stdio`)."""

    raw: str
    mount: str | None = None
    path: str = ""
    url: str | None = None
    scheme: str | None = None
    local: str | None = None
    stdio: bool = False

    @property
    def trailing_slash(self) -> bool:
        """`x/` means "the directory x": a copy destination receives basenames."""
        return self.raw.endswith("/") or self.raw.endswith(":")


def parse_address(text: str, is_mount: Callable[[str], bool] | None = None) -> Address:
    """Classify a command-line path; the mount-relative part is *not* normalised here.

    `NAME:` where NAME is a mount (`is_mount`) is that mount even when `//` follows: `data://4=`
    is the data mount's `//4=` (base64 content), and a mount named like a scheme takes over its
    URLs. Only a scheme that names no mount is a URL.
    """
    if text == STDIO:
        return Address(raw=text, stdio=True)
    if "\x00" in text:
        raise UsageError(f"{text!r}: paths cannot contain NUL bytes")
    url = _URL_RE.match(text)
    mount = _MOUNT_RE.match(text)
    if url and not (mount and is_mount is not None and is_mount(mount.group(1))):
        return Address(raw=text, url=text, scheme=url.group(1).lower())
    if mount:
        return Address(raw=text, mount=mount.group(1), path=mount.group(2))
    return Address(raw=text, local=text)


def normalize(path: str, *, where: str = "") -> str:
    """Return the POSIX path relative to a mount root; `..` may never climb above that root.

    Leading slashes are dropped (a mount's `/a` is its `a`), `.` and empty segments vanish.
    """
    if "\x00" in path:
        raise UsageError(f"{where or path!r}: paths cannot contain NUL bytes")
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise UsageError(
                    f"{where or path}: '..' would leave the mount root",
                    hint="paths are jailed inside their mount",
                )
            parts.pop()
            continue
        parts.append(segment)
    return "/".join(parts)


def join(base: str, *names: str) -> str:
    """Join mount-relative paths, keeping the jail (each name is normalised against `base`)."""
    joined = "/".join([base, *names]) if base else "/".join(names)
    return normalize(joined)


def basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def dirname(path: str) -> str:
    path = path.rstrip("/")
    return path.rsplit("/", 1)[0] if "/" in path else ""


def is_within(path: str, root: str) -> bool:
    return root == "" or path == root or path.startswith(root + "/")


def listed_name_problem(path: str, parent: str, *, direct: bool = False) -> str | None:
    """Why a path that a listing of `parent` returned cannot be used, or None when it can.

    Names from a listing are data written by anyone who could store an object (`p/../x`,
    `wb/./a.txt`, `wb//b.txt`, `/etc/x`): joined onto a destination they would climb out of
    it, or collapse several objects onto one file. They must be below `parent`, made of
    non-empty segments other than `.` and `..`, without NUL; `direct` (one level of a
    directory listing) also requires exactly one segment.
    """
    if parent:
        if not path.startswith(parent + "/"):
            return f"is not below {parent!r}"
        relative = path[len(parent) + 1 :]
    else:
        relative = path
    if "\x00" in relative:
        return "holds a NUL byte"
    segments = relative.split("/")
    if not parent and relative.startswith("/"):
        return "is absolute"
    if ".." in segments:
        return "has a '..' segment"
    if "." in segments:
        return "has a '.' segment"
    if "" in segments:
        return "has an empty segment ('//' or a trailing '/')"
    if direct and len(segments) != 1:
        return "is not a direct child"
    return None
