"""SFTP over paramiko (fsspec's SFTPFileSystem): verified host keys, a few SSH connections per
mount (one login each, up to 8 channels each, so stock MaxSessions holds at any -j), writes
renamed into place, and a root that server-side symlinks cannot lead out of."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import math
import os
import posixpath
import stat
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from genrostore.backends._fsspec import FsspecBackend
from genrostore.backends._net import env_name, resolve_error, timeout_of, url_options
from genrostore.core import signals, tempnames
from genrostore.core.backend import Backend, Entry, Features, FileObjectWriter, Writer, check_published
from genrostore.core.errors import (
    AuthenticationFailed,
    DirectoryNotFound,
    GenrostoreError,
    NotADirectory,
    NotPermitted,
    TemporaryError,
    UsageError,
)
from genrostore.core.options import PASSWORD, TIMEOUT, USERNAME, port
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="sftp",
    summary="Files on an SSH server over SFTP; the host key is verified against known_hosts.",
    options=(
        Option("host", "Server name or address.", required=True, aliases=("hostname",)),
        dataclasses.replace(USERNAME, required=True),
        port(22),
        dataclasses.replace(PASSWORD, help="Password of `username` (or use key_filename)."),
        Option("key_filename", "Private key file (`~` expanded); without password or key, the ssh "
                               "agent and ~/.ssh/id_* keys are tried.", aliases=("key_file", "identity_file")),
        Option("passphrase", "Passphrase of the private key.", secret=True),
        TIMEOUT,
        Option("path", "Root of the mount on the server: absolute, or relative to the login directory "
                       "(default: the login directory). Symlinks never lead out of it.", aliases=("root", "base_path")),
        Option("known_hosts", "known_hosts file the server's host key is checked against.",
               default="~/.ssh/known_hosts"),
        Option("host_key_policy", "strict: refuse unknown and changed host keys; accept-new: record the key "
                                  "of a server seen for the first time (changed keys are still refused); "
                                  "ignore: no verification (throw-away test servers only).",
               choices=("strict", "accept-new", "ignore"), default="strict"),
    ),
    module=__name__,
    cls="SFTPBackend",
    extra="sftp",
    schemes=("sftp",),
    aliases=("ssh",),
    notes="URL paths: sftp://USER@HOST[:PORT]/absolute/path, or sftp://USER@HOST/~/path for the login "
          "directory. The password comes from the URL or from GENROSTORE_SFTP_PASSWORD; any other option "
          "from GENROSTORE_SFTP_<OPTION> (e.g. GENROSTORE_SFTP_KEY_FILENAME, GENROSTORE_SFTP_KNOWN_HOSTS).",
)

# Reads are pipelined a window at a time: requests of 32 KiB, at most this many in flight.
WINDOW = 8 * 1024 * 1024
REQUEST_SIZE = 32 * 1024
PREFETCH_REQUESTS = 256
# SFTP channels opened on one SSH connection. Stock OpenSSH allows 10 sessions per connection
# (MaxSessions): staying below it leaves room for the server's own count, and more parallel
# transfers open more connections (one login each), as rclone does. A server that allows fewer
# answers "administratively prohibited": that connection is then full, the next one is used.
CHANNELS_PER_CONNECTION = 8


class _WindowedReader(io.RawIOBase):
    """Streams a remote file a window of pipelined reads at a time.

    Plain `read` waits for each 32 KiB reply in turn; paramiko's `prefetch` is fast but keeps
    every block it has fetched until it is read, so a slow consumer (a pipe) holds the whole file
    in memory. One `readv` window at a time is both fast and bounded.
    """

    def __init__(self, handle: Any, size: int, offset: int, on_close: Any = None) -> None:
        self._handle = handle
        self._size = size
        self._pos = offset
        self._window = memoryview(b"")
        self._on_close = on_close

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        if not self._window:
            if self._pos >= self._size:
                return 0
            end = min(self._pos + WINDOW, self._size)
            # One (offset, length) per request: a larger one is reassembled by paramiko with
            # quadratic bytes concatenation.
            blocks = [(at, min(REQUEST_SIZE, end - at)) for at in range(self._pos, end, REQUEST_SIZE)]
            data = b"".join(self._handle.readv(blocks, PREFETCH_REQUESTS))
            # After a short reply paramiko refetches the gap and keeps the overlapping head of
            # the next prefetched block forever; nothing of a finished window is needed again.
            leftovers = getattr(self._handle, "_prefetch_data", None)
            if isinstance(leftovers, dict):
                leftovers.clear()
            if not data:
                return 0  # the file shrank while being read
            self._pos += len(data)
            self._window = memoryview(data)
        size = min(len(target), len(self._window))
        target[:size] = self._window[:size]
        self._window = self._window[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            try:
                self._handle.close()
            finally:
                if self._on_close is not None:
                    self._on_close()
        super().close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()


def _open_private(ftp: Any, path: str) -> Any:
    """A new file only its owner can read: paramiko's `open` leaves the mode to the server's
    umask (often 0644), which would let other accounts read a partial upload in flight."""
    from paramiko.sftp import CMD_HANDLE, CMD_OPEN, SFTP_FLAG_CREATE, SFTP_FLAG_EXCL, SFTP_FLAG_WRITE, SFTPError
    from paramiko.sftp_attr import SFTPAttributes
    from paramiko.sftp_file import SFTPFile

    attrs = SFTPAttributes()
    attrs.st_mode = 0o600
    kind, message = ftp._request(CMD_OPEN, path, SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL, attrs)
    if kind != CMD_HANDLE:
        raise SFTPError("Expected handle")
    return SFTPFile(ftp, message.get_binary(), "wb")


class _LeasedFile:
    """A remote file whose channel goes back to its pool when the file is closed."""

    def __init__(self, handle: Any, give_back: Any) -> None:
        self._handle = handle
        self._give_back = give_back

    def write(self, data: bytes) -> None:
        self._handle.write(data)

    def close(self) -> None:
        try:
            self._handle.close()
        finally:
            self._give_back()


class _UnknownHostKey(Exception):
    """The server presented a host key that known_hosts does not list."""

    def __init__(self, hostname: str, key_type: str, fingerprint: str) -> None:
        super().__init__(f"unknown host key for {hostname}")
        self.hostname = hostname
        self.key_type = key_type
        self.fingerprint = fingerprint


def fingerprint(key: Any) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh` and `ssh-keygen -l` print it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


@cache
def _filesystem_class() -> type:
    """fsspec's paramiko filesystem with our host-key handling (fsspec's default auto-adds keys)."""
    paramiko: Any = require("paramiko", "sftp")  # Any: its classes are bases below
    from fsspec.implementations.sftp import SFTPFileSystem

    class RefuseUnknownKey(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise _UnknownHostKey(hostname, key.get_name(), fingerprint(key))

    class AcceptWithoutRecording(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            return None

    class VerifiedSFTPFileSystem(SFTPFileSystem):
        def __init__(self, host: str, *, known_hosts: str, policy: str, timeout: float, **ssh_kwargs: Any) -> None:
            self.known_hosts = known_hosts
            self.policy = policy
            self.io_timeout = timeout
            super().__init__(host, timeout=timeout, banner_timeout=timeout, auth_timeout=timeout,
                             channel_timeout=timeout, **ssh_kwargs)

        def _connect(self) -> None:
            self._channels: dict[threading.Thread, tuple[Any, Any]] = {}  # thread -> (channel, connection)
            self._leased: set[int] = set()  # ids of channels a streaming file holds
            self._open: dict[int, int] = {}  # id(connection) -> SFTP channels open on it
            self._full: set[int] = set()  # connections that refused one more channel
            self._channels_lock = threading.RLock()
            self.client = self._login()
            self._connections: list[Any] = [self.client]

        def _login(self) -> Any:
            """One SSH connection, host key verified, logged in with the mount's credentials."""
            client = paramiko.SSHClient()
            if self.policy == "ignore":
                client.set_missing_host_key_policy(AcceptWithoutRecording())
            else:
                if os.path.exists("/etc/ssh/ssh_known_hosts"):
                    client.load_system_host_keys("/etc/ssh/ssh_known_hosts")
                if self.policy == "accept-new":
                    _ensure_file(self.known_hosts)
                    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
                else:
                    client.set_missing_host_key_policy(RefuseUnknownKey())
                if os.path.exists(self.known_hosts):
                    client.load_host_keys(self.known_hosts)
            try:
                client.connect(self.host, **self.ssh_kwargs)
            except BaseException:
                client.close()
                raise
            return client

        @property
        def ftp(self) -> Any:
            """This thread's SFTP channel: paramiko's SFTPClient is not safe to share between
            threads (one thread may read another's reply), while channels are independent."""
            thread = threading.current_thread()
            with self._channels_lock:
                held = self._channels.get(thread)
                if held is not None:
                    return held[0]
                for gone in [t for t in self._channels if not t.is_alive()]:
                    self._close_channel(*self._channels.pop(gone))
                channel, connection = self._new_channel()
                self._channels[thread] = (channel, connection)
                return channel

        def lease(self) -> tuple[Any, Any]:
            """A channel for one streaming file, and how to give it back.

            A pipelined writer's acknowledgements are taken (and dropped) by any other request
            read on its channel, and it then waits for them forever: a reader and a writer in
            one thread (a copy inside the mount) therefore never share a channel. The thread's
            own channel serves the first file; another one is opened for the second.
            """
            primary = self.ftp
            with self._channels_lock:
                if id(primary) not in self._leased:
                    self._leased.add(id(primary))
                    return primary, lambda: self._leased.discard(id(primary))
                channel, connection = self._new_channel()

            def give_back() -> None:
                with self._channels_lock:
                    self._close_channel(channel, connection)

            return channel, give_back

        def _new_channel(self) -> tuple[Any, Any]:
            """Open an SFTP channel where a connection has room, logging in once more when none has."""
            with self._channels_lock:
                while True:
                    for connection in self._connections:
                        key = id(connection)
                        if key in self._full or self._open.get(key, 0) >= CHANNELS_PER_CONNECTION:
                            continue
                        transport = connection.get_transport()
                        if transport is None or not transport.is_active():
                            self._full.add(key)
                            continue
                        try:
                            channel = connection.open_sftp()
                        except paramiko.ChannelException as exc:  # MaxSessions below ours: this one is full
                            if self._open.get(key, 0) == 0:
                                raise
                            del exc
                            self._full.add(key)
                            continue
                        channel.get_channel().settimeout(self.io_timeout)
                        self._open[key] = self._open.get(key, 0) + 1
                        return channel, connection
                    self._connections.append(self._login())

        def _close_channel(self, channel: Any, connection: Any) -> None:
            self._leased.discard(id(channel))
            key = id(connection)
            self._open[key] = max(0, self._open.get(key, 0) - 1)
            self._full.discard(key)  # a slot was freed on it
            try:
                channel.close()
            except Exception:  # noqa: BLE001 - a dead channel is closed already
                pass

        def close_channels(self) -> None:
            with self._channels_lock:
                channels, self._channels = list(self._channels.values()), {}
            for channel, _ in channels:
                channel.close()

        def close_connections(self) -> None:
            self.close_channels()
            for connection in self._connections:
                connection.close()
            self._connections = []

    return VerifiedSFTPFileSystem


def _ensure_file(path: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
    if not os.path.exists(path):
        with open(path, "a"):
            os.chmod(path, 0o600)


def _seconds(mtime: datetime) -> int:
    """Whole seconds since the epoch, rounded down as the file's own clock would show them."""
    return math.floor(mtime.timestamp())


class SFTPBackend(FsspecBackend):
    """The mount's SSH connections (see CHANNELS_PER_CONNECTION); `root` is the real
    (symlink-free) path of the mount's root."""

    # mtime: SFTP v3 attributes hold whole seconds (SETSTAT on the temp file before the rename).
    features = Features(server_move=True, ranged_reads=True, atomic_rename=True, network=True, mtime=True,
                        mtime_precision=1.0)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.known_hosts = os.path.expanduser(options.get("known_hosts") or "~/.ssh/known_hosts")
        self._connect_lock = threading.RLock()

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`sftp://user@host:port/abs/path` mounts `/`; `sftp://user@host/~/path` the login directory."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise UsageError(f"{url}: an sftp URL needs a host: sftp://user@host/path")
        path = unquote(parts.path)
        root = "/"
        if path == "/~" or path.startswith("/~/"):
            root, path = ".", path[2:]
        options = url_options(SPEC, parts, host=parts.hostname, port=parts.port, path=root)
        if "username" not in options:
            raise UsageError(f"{url}: an sftp URL needs a user: sftp://user@host/path",
                             hint=f"or set {env_name(SPEC, 'username')}")
        return options, path

    # -- connection --------------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        """The connected filesystem; reconnects when the SSH transport has died."""
        with self._connect_lock:
            if self._fs is not None and not self._fs.client.get_transport().is_active():
                self.close()
            if self._fs is None:
                fs = self.make_filesystem()
                self.root = self._real_root(fs)
                self._fs = fs
            return self._fs

    def make_filesystem(self) -> Any:
        options = self.options
        auth: dict[str, Any] = {}
        if options.get("password"):
            auth["password"] = options["password"]
        if options.get("key_filename"):
            auth["key_filename"] = os.path.expanduser(options["key_filename"])
        if options.get("passphrase"):
            auth["passphrase"] = options["passphrase"]
        # Explicit credentials are the only ones tried: no surprise agent or ~/.ssh keys.
        implicit = "password" not in auth and "key_filename" not in auth
        return _filesystem_class()(
            options["host"],
            known_hosts=self.known_hosts,
            policy=options["host_key_policy"],
            timeout=timeout_of(self),
            port=options["port"],
            username=options["username"],
            look_for_keys=implicit,
            allow_agent=implicit,
            skip_instance_cache=True,
            **auth,
        )

    def _real_root(self, fs: Any) -> str:
        wanted = self.options.get("path") or "."
        try:
            root = fs.ftp.normalize(wanted)
            attrs = fs.ftp.stat(root)
        except FileNotFoundError:
            raise DirectoryNotFound(f"the mount's root {wanted!r} does not exist on the server", path="") from None
        if not stat.S_ISDIR(attrs.st_mode or 0):
            raise NotADirectory(f"the mount's root {wanted!r} is not a directory", path="")
        return root

    def close(self) -> None:
        if self._fs is not None:
            fs, self._fs = self._fs, None
            fs.close_connections()

    # -- the jail ----------------------------------------------------------------------------
    def full(self, path: str) -> str:
        """The server path, refused when the server resolves it (symlinks) outside the root."""
        fs = self.fs
        full = super().full(path)
        if not self._inside(self._resolve(fs, full)):
            raise NotPermitted("resolves outside the mount root (symlink)", path=path,
                               hint="links that leave a mount are not followed")
        return full

    def _resolve(self, fs: Any, full: str) -> str:
        """realpath on the server; a missing tail is resolved through its nearest existing parent."""
        try:
            return fs.ftp.normalize(full)
        except FileNotFoundError:
            parent = posixpath.dirname(full)
            if parent == full:
                raise
            return posixpath.join(self._resolve(fs, parent), posixpath.basename(full))

    def _inside(self, real: str) -> bool:
        return self.root == "/" or real == self.root or real.startswith(self.root.rstrip("/") + "/")

    # -- contract ----------------------------------------------------------------------------
    def iterdir(self, path: str) -> Iterator[Entry]:
        full = self.full(path)
        ftp = self.fs.ftp
        try:
            items = ftp.listdir_attr(full)
        except FileNotFoundError:
            what = "not a directory" if self.fs.exists(full) else "no such directory"
            raise DirectoryNotFound(what, path=path) from None
        entries = []
        for attrs in items:
            child = f"{path}/{attrs.filename}" if path else attrs.filename
            if stat.S_ISLNK(attrs.st_mode or 0):
                attrs = self._follow(ftp, f"{full.rstrip('/')}/{attrs.filename}", attrs)
                if attrs is None:
                    continue  # a dangling link
            entries.append(self._entry(child, attrs))
        yield from sorted(entries, key=lambda e: e.name)

    def _follow(self, ftp: Any, full: str, link: Any) -> Any:
        """What a link in a listing shows: its target when inside the root, else the bare link."""
        try:
            real = ftp.normalize(full)
            if not self._inside(real):
                link.st_mode = stat.S_IFREG
                link.st_size = None
                return link
            return ftp.stat(real)
        except FileNotFoundError:
            return None

    @staticmethod
    def _entry(path: str, attrs: Any) -> Entry:
        from genrostore.backends._fsspec import to_datetime

        is_dir = stat.S_ISDIR(attrs.st_mode or 0)
        return Entry(path, "dir" if is_dir else "file", None if is_dir else attrs.st_size, to_datetime(attrs.st_mtime))

    def info(self, path: str) -> Entry:
        full = self.full(path)
        return self._entry(path, self.fs.ftp.stat(full))

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        full = self.full(path)
        ftp, give_back = self.fs.lease()
        try:
            attrs = ftp.stat(full)
            if stat.S_ISDIR(attrs.st_mode or 0):
                raise IsADirectoryError(full)
            handle = ftp.open(full, "rb")
        except BaseException:
            give_back()
            raise
        return io.BufferedReader(_WindowedReader(handle, attrs.st_size or 0, offset, give_back), WINDOW)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        """One pipelined readv straight into the result (the core fetches large files in
        parallel ranges: each copy held here is one more range in memory)."""
        full = self.full(path)
        result = bytearray(length)
        view = memoryview(result)
        filled = 0
        with self.fs.ftp.open(full, "rb") as handle:
            end = offset + length
            blocks = [(at, min(REQUEST_SIZE, end - at)) for at in range(offset, end, REQUEST_SIZE)]
            for block in handle.readv(blocks, PREFETCH_REQUESTS):
                view[filled:filled + len(block)] = block
                filled += len(block)
                if len(block) < REQUEST_SIZE:
                    break  # end of file
        del view
        del result[filled:]
        return result  # type: ignore[return-value]  # a bytearray: bytes-like, without a copy

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        full = self.full(path)
        fs = self.fs
        parent = posixpath.dirname(full)
        if fs.isdir(full):
            raise IsADirectoryError(full)
        if parent != self.root:
            self._make_parent(parent)
        temp = tempnames.temp_path(full)
        ftp, give_back = fs.lease()  # a channel of its own while it streams (see `lease`)
        try:
            handle = _open_private(ftp, temp)
        except BaseException:
            give_back()
            raise
        handle.set_pipelined(True)
        return FileObjectWriter(_LeasedFile(handle, give_back),
                                on_commit=lambda written: self._publish(temp, full, written, mtime),
                                on_abort=lambda: self._discard(temp))

    def _publish(self, temp: str, full: str, size: int | None = None, mtime: datetime | None = None) -> None:
        # posix-rename@openssh.com replaces the target atomically; plain SFTP rename refuses to.
        try:
            ftp = self.fs.ftp
            ftp.chmod(temp, self._final_mode(ftp, full))
            if mtime is not None:
                ftp.utime(temp, (time.time(), _seconds(mtime)))
            signals.refuse_publish()
            ftp.posix_rename(temp, full)
        except BaseException:
            self._discard(temp)
            raise
        try:
            found: int | None = self.fs.ftp.stat(full).st_size
        except FileNotFoundError:
            found = None
        check_published(found, size)

    @staticmethod
    def _final_mode(ftp: Any, full: str) -> int:
        """Like cp: a replaced file keeps its mode; a new one gets 0666 minus our umask."""
        try:
            return stat.S_IMODE(ftp.stat(full).st_mode or 0) or _NEW_FILE_MODE
        except FileNotFoundError:
            return _NEW_FILE_MODE

    def set_mtime(self, path: str, mtime: datetime) -> None:
        full = self.full(path)
        ftp = self.fs.ftp
        attrs = ftp.stat(full)
        if stat.S_ISDIR(attrs.st_mode or 0):
            raise IsADirectoryError(full)
        ftp.utime(full, (attrs.st_atime if attrs.st_atime is not None else time.time(), _seconds(mtime)))

    def remove_tree(self, path: str) -> None:
        full = self.full(path)
        ftp = self.fs.ftp
        attrs = ftp.lstat(full)
        if not stat.S_ISDIR(attrs.st_mode or 0):
            raise NotADirectoryError(full)
        self._remove_below(ftp, full)

    def _remove_below(self, ftp: Any, full: str) -> None:
        """Depth first, never through a symlink (a link is removed, not what it points to)."""
        for attrs in ftp.listdir_attr(full):
            child = f"{full.rstrip('/')}/{attrs.filename}"
            if stat.S_ISDIR(attrs.st_mode or 0):
                self._remove_below(ftp, child)
            else:
                ftp.remove(child)
        ftp.rmdir(full)

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        return False  # SFTP has no copy request that paramiko speaks: bytes stream through us

    def rename_dir(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """SFTP's plain rename, which refuses an existing target (posix-rename would replace)."""
        if not self.same_store(dst):
            return False
        source, target = self.full(src_path), self.full(dst_path)
        ftp = self.fs.ftp
        if not stat.S_ISDIR(ftp.stat(source).st_mode or 0):
            return False
        parent = posixpath.dirname(target)
        if parent != self.root:
            self._make_parent(parent)
        ftp.rename(source, target)
        return True

    def server_move(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """posix-rename@openssh.com on this server: replaces the target atomically, no bytes move."""
        if not self.same_store(dst):
            return False
        source, target = self.full(src_path), self.full(dst_path)
        ftp = self.fs.ftp
        if stat.S_ISDIR(ftp.stat(source).st_mode or 0):
            raise IsADirectoryError(source)
        parent = posixpath.dirname(target)
        if parent != self.root:
            self._make_parent(parent)
        ftp.posix_rename(source, target)
        return True

    # -- errors ------------------------------------------------------------------------------
    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if isinstance(exc, _UnknownHostKey):
            return self._unknown_key_error(exc, where)
        mapped = resolve_error(exc, where)
        if mapped is not None:
            return mapped
        paramiko = sys.modules.get("paramiko")
        if paramiko is None:
            return None
        endpoint = f"{self.options['host']}:{self.options['port']}"
        if isinstance(exc, paramiko.BadHostKeyException):
            return self._changed_key_error(exc, where)
        if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
            return TemporaryError(f"{where}: cannot connect to {endpoint} (connection refused)")
        if isinstance(exc, paramiko.PasswordRequiredException):
            return AuthenticationFailed(f"{where}: the private key is encrypted", hint="set the mount's passphrase")
        if isinstance(exc, paramiko.AuthenticationException):
            return AuthenticationFailed(f"{where}: authentication failed for {self.options['username']}@{endpoint}",
                                        hint="check the username, password or key_filename of the mount")
        if isinstance(exc, paramiko.SSHException):
            if "authentication" in str(exc).lower():
                return AuthenticationFailed(f"{where}: {exc}", hint="set a password or key_filename")
            return TemporaryError(f"{where}: SSH connection to {endpoint} failed ({exc})")
        if isinstance(exc, EOFError):
            return TemporaryError(f"{where}: the SSH connection to {endpoint} was closed")
        return None

    def _unknown_key_error(self, exc: _UnknownHostKey, where: str) -> AuthenticationFailed:
        host, port = self.options["host"], self.options["port"]
        scan = f"ssh-keyscan -p {port} {host}" if port != 22 else f"ssh-keyscan {host}"
        return AuthenticationFailed(
            f"{where}: the host key of {exc.hostname} ({exc.key_type} {exc.fingerprint}) is not in {self.known_hosts}",
            hint=f"if that is the server's fingerprint, trust it with `{scan} >> {self.known_hosts}` "
                 "or set host_key_policy: accept-new",
        )

    def _changed_key_error(self, exc: Any, where: str) -> AuthenticationFailed:
        host, port = self.options["host"], self.options["port"]
        name = f"[{host}]:{port}" if port != 22 else host
        return AuthenticationFailed(
            f"{where}: the host key of {exc.hostname} has CHANGED (server sent {fingerprint(exc.key)}, "
            f"{self.known_hosts} has {fingerprint(exc.expected_key)}): the connection may be intercepted",
            hint=f"if the server's key really changed, remove the old one: "
                 f"ssh-keygen -f {self.known_hosts} -R '{name}'",
        )
