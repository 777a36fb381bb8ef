"""SMB 2/3 shares over smbprotocol's smbclient, with a connection pool of the mount's own.

smbclient pools connections per host:port process-wide, and signing is a property of the
pooled connection: a guest session (which cannot sign) and a user session to the same server
must not share one. Each mount therefore keeps its own `connection_cache`.
"""

from __future__ import annotations

import dataclasses
import errno
import stat
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from genrostore.backends._net import resolve_error, timeout_of, url_options
from genrostore.core import signals, tempnames
from genrostore.core.backend import Backend, Entry, Features, FileObjectWriter, Writer, check_published
from genrostore.core.errors import (
    AuthenticationFailed,
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    NotADirectory,
    NotPermitted,
    TemporaryError,
    UsageError,
)
from genrostore.core.options import PASSWORD, TIMEOUT, USERNAME, port
from genrostore.core.paths import dirname
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="smb",
    summary="A Windows/Samba share over SMB 2/3 (smbprotocol).",
    options=(
        Option("host", "Server name or address.", required=True, aliases=("hostname",)),
        Option("share", "Share name.", required=True),
        port(445),
        dataclasses.replace(USERNAME, help="Login name; without it the mount logs in as a guest (no signing, no "
                           "encryption: only shares with `guest ok`)."),
        PASSWORD,
        Option("domain", "Windows domain or workgroup of username."),
        Option("path", "Folder inside the share that is the mount's root (default: the share's root).",
               aliases=("base_path",)),
        Option("encrypt", "Require SMB3 encryption of the session.", bool),
        TIMEOUT,
    ),
    module=__name__,
    cls="SMBBackend",
    extra="smb",
    schemes=("smb",),
    aliases=("cifs", "samba"),
    notes="URL paths: smb://[DOMAIN;]USER@HOST[:PORT]/SHARE/path (no user: guest). The password comes "
          "from the URL or GENROSTORE_SMB_PASSWORD; other options from GENROSTORE_SMB_<OPTION>. Characters "
          "SMB forbids in names (\" * : < > ? | \\ and control characters) are stored as their fullwidth "
          "look-alikes, as rclone does, and shown as typed.",
)

GUEST_USER = "guest"
CREDITS = 1024
READ_REQUEST = 1024 * 1024
FILE_ATTRIBUTE_DIRECTORY = 0x10
NT_ACCESS_DENIED = 0xC0000022
NT_NETWORK_NAME_DELETED = 0xC00000C9


# SMB forbids these in names; like rclone, store their fullwidth look-alikes (and control
# characters as U+2400 symbols), and quote a look-alike that was really in the name with U+201B.
# https://rclone.org/overview/#restricted-characters
_RESERVED = {c: chr(ord(c) + 0xFEE0) for c in '"*:<>?|\\'} | {chr(c): chr(0x2400 + c) for c in range(1, 32)}
_LOOKALIKES = {v: k for k, v in _RESERVED.items()}
_QUOTE = "\u201b"


def encode_name(name: str) -> str:
    """A path segment as it is stored on the share."""
    out = []
    for char in name:
        if char in _RESERVED:
            out.append(_RESERVED[char])
        elif char in _LOOKALIKES or char == _QUOTE:
            out.append(_QUOTE + char)
        else:
            out.append(char)
    return "".join(out)


def decode_name(name: str) -> str:
    """A stored name as the user wrote it."""
    out = []
    chars = iter(name)
    for char in chars:
        if char == _QUOTE:
            out.append(next(chars, _QUOTE))
        else:
            out.append(_LOOKALIKES.get(char, char))
    return "".join(out)


def _errno(exc: BaseException) -> int | None:
    return getattr(exc, "errno", None) if isinstance(exc, OSError) else None


def join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


class SMBBackend(Backend):
    """One SMB connection and session per mount, opened on first use."""

    # mtime: the file basic information's LastWriteTime, in 100 ns units (set on the temp file).
    features = Features(server_copy=True, server_move=True, ranged_reads=True, atomic_rename=True, network=True,
                        mtime=True, mtime_precision=1e-7)


    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.host: str = options["host"]
        self.share: str = options["share"].strip("/\\")
        self.port: int = options["port"]
        self.guest = not options.get("username")
        root = (options.get("path") or "").strip("/\\").replace("\\", "/")
        self._root = "\\".join(p for p in root.split("/") if p)
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._session: Any = None

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`smb://[domain;]user@host[:port]/share/path`."""
        parts = urlsplit(url)
        segments = [s for s in unquote(parts.path).split("/") if s]
        if not parts.hostname or not segments:
            raise UsageError(f"{url}: an smb URL names a host and a share: smb://host/share/path")
        options = url_options(SPEC, parts, host=parts.hostname, port=parts.port, share=segments[0])
        user = options.get("username")
        if user and ";" in user:
            options["domain"], options["username"] = user.split(";", 1)
        return options, "/".join(segments[1:])

    # -- connection --------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The smbclient module, with this mount's session registered (again, if it dropped)."""
        smbclient = require("smbclient", "smb")
        with self._lock:
            connection = self._session.connection if self._session is not None else None
            if connection is None or not connection.transport.connected:
                self._session = self._register(smbclient)
        return smbclient

    def _register(self, smbclient: Any) -> Any:
        self._cache.clear()
        username, password = self._credentials()
        session = smbclient.register_session(
            self.host, username=username, password=password, port=self.port,
            encrypt=self.options.get("encrypt") if not self.guest else None,
            connection_timeout=timeout_of(self), connection_cache=self._cache,
            require_signing=not self.guest,
        )
        self._connect_tree(session)
        # A server grants few credits at first (Samba: 64) and smbprotocol fails a request it lacks
        # credits for instead of waiting; one 8 MiB read costs 128. Ask for enough for parallel
        # transfers up front (each later request only asks its own cost back).
        session.connection.echo(sid=session.session_id, credit_request=CREDITS)
        return session

    def _credentials(self) -> tuple[str, str]:
        if self.guest:
            return GUEST_USER, ""
        username = self.options["username"]
        if self.options.get("domain"):
            username = f"{self.options['domain']}\\{username}"
        return username, self.options.get("password") or ""

    def _connect_tree(self, session: Any) -> None:
        """Connect the share now, so that a wrong share name fails as such (smbclient would report
        a missing path), and so that a guest can skip secure-negotiate validation, which needs a
        signing key it lacks; smbclient reuses a connected tree instead of connecting its own."""
        from smbprotocol.tree import TreeConnect

        TreeConnect(session, rf"\\{self.host}\{self.share}").connect(require_secure_negotiate=not self.guest)

    @property
    def kwargs(self) -> dict[str, Any]:
        username, password = self._credentials()
        return {"port": self.port, "connection_cache": self._cache, "username": username, "password": password,
                "require_signing": not self.guest, "connection_timeout": timeout_of(self)}

    def close(self) -> None:
        smbclient = sys.modules.get("smbclient")
        if smbclient is not None and self._cache:
            smbclient.reset_connection_cache(fail_on_error=False, connection_cache=self._cache)
        self._session = None

    # -- paths -------------------------------------------------------------------------------
    def unc(self, path: str) -> str:
        parts = [rf"\\{self.host}\{self.share}"]
        if self._root:
            parts.append(self._root)
        if path:
            parts.extend(encode_name(segment) for segment in path.split("/"))
        return "\\".join(parts)

    # -- contract ----------------------------------------------------------------------------
    def info(self, path: str) -> Entry:
        client = self.client
        return self._entry(path, client.stat(self.unc(path), **self.kwargs))

    @staticmethod
    def _entry(path: str, st: Any) -> Entry:
        is_dir = stat.S_ISDIR(st.st_mode)
        stamp = getattr(st, "st_mtime_ns", None)
        when = (datetime.fromtimestamp(st.st_mtime, tz=UTC) if stamp is None
                else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=stamp // 1000))
        return Entry(path, "dir" if is_dir else "file", None if is_dir else st.st_size, when)

    @staticmethod
    def _listed(path: str, info: Any) -> Entry:
        """An entry from the directory listing itself (SMBDirEntry.stat() would ask the server
        again, and on port 445 whatever the mount's port)."""
        is_dir = bool(info.file_attributes & FILE_ATTRIBUTE_DIRECTORY)
        mtime = info.last_write_time
        if mtime.tzinfo is None:
            mtime = mtime.replace(tzinfo=UTC)
        return Entry(path, "dir" if is_dir else "file", None if is_dir else info.end_of_file, mtime)

    def iterdir(self, path: str) -> Iterator[Entry]:
        client = self.client
        try:
            with client.scandir(self.unc(path), **self.kwargs) as scan:
                entries = [self._listed(join(path, decode_name(item.name)), item.smb_info) for item in scan]
        except OSError as exc:
            if _errno(exc) == errno.ENOENT:
                raise DirectoryNotFound("no such directory", path=path) from None
            if _errno(exc) == errno.ENOTDIR:
                raise NotADirectory("not a directory", path=path) from None
            raise
        yield from sorted(entries, key=lambda e: e.name)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        client = self.client
        handle = client.open_file(self.unc(path), mode="rb", share_access="r", **self.kwargs)
        if offset:
            handle.seek(offset)
        return handle

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Read straight into the result in requests of READ_REQUEST bytes (the core fetches large
        files in parallel ranges; smbprotocol copies each reply a few times while parsing it)."""
        client = self.client
        result = bytearray(length)
        view = memoryview(result)
        filled = 0
        with client.open_file(self.unc(path), mode="rb", buffering=0, share_access="r", **self.kwargs) as raw:
            raw.seek(offset)
            while filled < length:
                got = raw.readinto(view[filled:filled + min(READ_REQUEST, length - filled)])
                if not got:
                    break
                filled += got
        del view
        del result[filled:]
        return result  # type: ignore[return-value]  # a bytearray: bytes-like, without a copy

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        client = self.client
        parent = dirname(path)
        if parent or self._root:
            client.makedirs(self.unc(parent), exist_ok=True, **self.kwargs)
        temp = self._temp_name(path)
        handle = client.open_file(self.unc(temp), mode="wb", **self.kwargs)
        return FileObjectWriter(handle, on_commit=lambda written: self._publish(temp, path, written, mtime),
                                on_abort=lambda: self._discard(temp))

    @staticmethod
    def _temp_name(path: str) -> str:
        return tempnames.temp_path(path)

    def _publish(self, temp: str, path: str, size: int | None = None, mtime: datetime | None = None) -> None:
        try:
            if mtime is not None:
                self._utime(temp, mtime)
            signals.refuse_publish()
            self.client.replace(self.unc(temp), self.unc(path), **self.kwargs)
        except BaseException:
            self._discard(temp)
            raise
        try:
            found: int | None = self.client.stat(self.unc(path), **self.kwargs).st_size
        except OSError as exc:
            if _errno(exc) != errno.ENOENT:
                raise
            found = None
        check_published(found, size)

    def _utime(self, path: str, mtime: datetime) -> None:
        from genrostore.backends.local import mtime_ns

        self.client.utime(self.unc(path), ns=(time.time_ns(), mtime_ns(mtime)), **self.kwargs)

    def set_mtime(self, path: str, mtime: datetime) -> None:
        if stat.S_ISDIR(self.client.stat(self.unc(path), **self.kwargs).st_mode):
            raise IsADirectoryError(path)
        self._utime(path, mtime)

    def _discard(self, temp: str) -> None:
        try:
            self.client.remove(self.unc(temp), **self.kwargs)
        except Exception:  # noqa: BLE001 - best effort: the temp may never have been created
            pass

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        client = self.client
        try:
            existing = client.stat(self.unc(path), **self.kwargs)
        except OSError as exc:
            if _errno(exc) != errno.ENOENT:
                raise
        else:
            if stat.S_ISDIR(existing.st_mode) and (exist_ok or parents):
                return
            raise FileExistsError(path)
        if parents:
            client.makedirs(self.unc(path), exist_ok=True, **self.kwargs)
            return
        try:
            client.mkdir(self.unc(path), **self.kwargs)
        except OSError as exc:
            if _errno(exc) == errno.ENOENT:
                raise DirectoryNotFound("parent directory does not exist", path=path,
                                        fix="parents") from None
            raise

    def remove_file(self, path: str) -> None:
        client = self.client
        if stat.S_ISDIR(client.stat(self.unc(path), **self.kwargs).st_mode):
            raise IsADirectoryError(path)
        client.remove(self.unc(path), **self.kwargs)

    def remove_dir(self, path: str) -> None:
        client = self.client
        try:
            client.rmdir(self.unc(path), **self.kwargs)
        except OSError as exc:
            if _errno(exc) == errno.ENOTEMPTY:
                raise GenrostoreError("directory not empty", path=path, fix="recursive") from None
            raise

    def remove_tree(self, path: str) -> None:
        client = self.client
        if not stat.S_ISDIR(client.stat(self.unc(path), **self.kwargs).st_mode):
            raise NotADirectoryError(path)
        self._remove_below(client, path)

    def _remove_below(self, client: Any, path: str) -> None:
        """Depth first, never through a link (a link is removed, not what it points to)."""
        with client.scandir(self.unc(path), **self.kwargs) as scan:
            children = [(item.name, item.is_dir(follow_symlinks=False)) for item in scan]
        for name, is_dir in children:
            child = join(path, decode_name(name))
            if is_dir:
                self._remove_below(client, child)
            else:
                client.remove(self.unc(child), **self.kwargs)
        if path or self._root:
            client.rmdir(self.unc(path), **self.kwargs)

    def rename_dir(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """SMB's rename, which refuses an existing target."""
        if dst is not self or not src_path:
            return False
        client = self.client
        if not stat.S_ISDIR(client.stat(self.unc(src_path), **self.kwargs).st_mode):
            return False
        parent = dirname(dst_path)
        if parent or self._root:
            client.makedirs(self.unc(parent), exist_ok=True, **self.kwargs)
        client.rename(self.unc(src_path), self.unc(dst_path), **self.kwargs)
        return True

    def server_move(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """An SMB rename with replace inside one share (the same connection): no bytes move."""
        if dst is not self:
            return False
        client = self.client
        if stat.S_ISDIR(client.stat(self.unc(src_path), **self.kwargs).st_mode):
            raise IsADirectoryError(src_path)
        parent = dirname(dst_path)
        if parent or self._root:
            client.makedirs(self.unc(parent), exist_ok=True, **self.kwargs)
        client.replace(self.unc(src_path), self.unc(dst_path), **self.kwargs)
        return True

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """SMB's server-side copy (FSCTL_SRV_COPYCHUNK) within one share, published atomically."""
        if not isinstance(dst, SMBBackend) or (dst.host, dst.port, dst.share, dst.guest) != (
            self.host, self.port, self.share, self.guest
        ) or dst.options.get("username") != self.options.get("username"):
            return False
        client = self.client
        source = client.stat(self.unc(src_path), **self.kwargs)
        if stat.S_ISDIR(source.st_mode):
            raise IsADirectoryError(src_path)
        parent = dirname(dst_path)
        if parent or dst._root:
            client.makedirs(dst.unc(parent), exist_ok=True, **self.kwargs)
        temp = self._temp_name(dst_path)
        try:
            client.copyfile(self.unc(src_path), dst.unc(temp), **self.kwargs)
        except BaseException:
            dst._discard(temp)
            raise
        dst._publish(temp, dst_path, source.st_size)
        return True

    # -- errors ------------------------------------------------------------------------------
    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        mapped = resolve_error(exc.__cause__ or exc, where)
        if mapped is not None:
            return mapped
        exceptions = sys.modules.get("smbprotocol.exceptions")
        if exceptions is None:
            return None
        endpoint = f"{self.host}:{self.port}"
        if isinstance(exc, ValueError) and str(exc).startswith("Failed to connect to"):
            return TemporaryError(f"{where}: cannot connect to {endpoint} ({exc.__cause__ or exc})")
        if isinstance(exc, (exceptions.LogonFailure, exceptions.SMBAuthenticationError, exceptions.WrongPassword)):
            who = "as a guest" if self.guest else f"as {self.options['username']}"
            return AuthenticationFailed(f"{where}: {endpoint} refused the login {who}",
                                        hint="check the username/password of the mount")
        if isinstance(exc, exceptions.BadNetworkName):
            return DirectoryNotFound(f"{where}: {endpoint} has no share named {self.share!r}")
        if isinstance(exc, exceptions.AccessDenied):
            hint = "a mount without username logs in as a guest: the share must allow guests" if self.guest else None
            return NotPermitted(f"{where}: access denied", hint=hint)
        if isinstance(exc, (exceptions.SMBConnectionClosed, exceptions.UserSessionDeleted,
                            exceptions.NetworkNameDelegated)):
            return TemporaryError(f"{where}: the SMB connection to {endpoint} was lost ({exc})")
        if isinstance(exc, exceptions.SMBOSError):
            return self._os_error(exc, where)
        if isinstance(exc, exceptions.SMBException) and "timeout" in str(exc).lower():
            return TemporaryError(f"{where}: {endpoint} did not answer in time ({exc})")
        return None

    def _os_error(self, exc: Any, where: str) -> GenrostoreError | None:
        code = exc.errno
        if code == errno.ENOENT:
            return FileNotFound(f"{where}: no such file or directory")
        if code == errno.EEXIST:
            return GenrostoreError(f"{where}: already exists")
        if code == errno.EISDIR:
            return UsageError(f"{where}: is a directory", fix="recursive-dirs")
        if code == errno.ENOTDIR:
            return NotADirectory(f"{where}: not a directory")
        if code == errno.ENOTEMPTY:
            return GenrostoreError(f"{where}: directory not empty", fix="recursive")
        if code in (errno.EACCES, errno.EPERM) or exc.ntstatus == NT_ACCESS_DENIED:
            return NotPermitted(f"{where}: permission denied ({exc.strerror})")
        if exc.ntstatus == NT_NETWORK_NAME_DELETED:
            return TemporaryError(f"{where}: the SMB connection was lost")
        return None
