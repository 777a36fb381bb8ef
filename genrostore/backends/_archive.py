"""What the archive backends share: the archive file (local or on another mount), member-name
jailing, an in-memory index of members, and a read-only backend over that index."""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import threading
from abc import abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from genrostore.backends.local import create_temp
from genrostore.core.backend import CHUNK_SIZE, Backend, Entry, Features, Skipped, Writer
from genrostore.core.errors import (
    ConfigError,
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    NotADirectory,
    ReadOnly,
)
from genrostore.core.paths import dirname, parse_address

if TYPE_CHECKING:
    from genrostore.core.node import Node
    from genrostore.core.storage import Storage

_resolving = threading.local()


def member_path(name: str) -> str:
    """The jailed, normalised path of an archive member ("" for the archive root).

    Archives made with `tar -C dir .` store `./a/b`; crafted ones store `/etc/x` or `../../x`.
    A `..` can never climb above the archive root (like GNU tar's "Removing leading ../"), so a
    recursive copy out of the archive cannot write outside its destination (zip-slip).
    """
    parts: list[str] = []
    for segment in name.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    return "/".join(parts)


def unsafe_member(name: str) -> str | None:
    """Why a member is skipped (reported by the core), or None when `member_path` may name it.

    A leading `/` or `./` is dropped, as GNU tar and bsdtar do (`tar -C dir .` stores `./a`).
    A `..` anywhere is refused, as GNU tar refuses it ("member name contains '..'"): folding it
    away would rename the member and could merge it with another; so are `.` and empty
    segments inside a name (`a/./b`, `a//b` would collapse onto `a/b`).
    """
    rest = _strip_leading(name.rstrip("/"))
    if rest in ("", "."):
        return None  # the archive's root (`./` as `tar -C dir .` stores it)
    segments = rest.split("/")
    if ".." in segments:
        return "archive member name has a '..' segment; skipped"
    if "." in segments or "" in segments:
        return "archive member name has a '.' or empty segment; skipped"
    if "\x00" in rest:
        return "archive member name holds a NUL byte; skipped"
    return None


def _strip_leading(name: str) -> str:
    while name.startswith(("/", "./")):
        name = name[1:] if name.startswith("/") else name[2:]
    return name


def command_failed() -> bool:
    """True when close() runs while the command's error propagates (the CLI closes mounts in
    a clean-up callback of the failing command; `with Storage(...)` does the same)."""
    return sys.exc_info()[0] is not None


def command_interrupted() -> bool:
    """True when close() runs while an interrupt propagates (Ctrl-C, or a signal the CLI turns
    into `Interrupted`): what the command had finished is then not published either."""
    from genrostore.core.errors import Interrupted

    exc = sys.exc_info()[1]
    return isinstance(exc, (KeyboardInterrupt, Interrupted)) or (
        isinstance(exc, SystemExit) and exc.code in (129, 130, 143))


@dataclass(frozen=True)
class Member:
    """One file of an archive; `ref` is what the backend needs to read it back."""

    path: str
    size: int
    mtime: datetime | None
    ref: Any


class ArchiveIndex:
    """Files and directories of an archive, with directories implied by member paths.

    When a name is both a file and a directory (`a` and `a/b`), the directory wins so that
    everything below it stays reachable.
    """

    def __init__(self) -> None:
        self.files: dict[str, Member] = {}
        self.dirs: dict[str, datetime | None] = {"": None}
        self.rejected: dict[str, str] = {}  # raw member name -> why it is skipped
        self._children: dict[str, dict[str, Entry]] | None = None

    def reject(self, name: str, reason: str) -> None:
        """A member no path may name: listed (as a Skipped entry) under its nearest directory."""
        self.rejected[name] = reason
        self._children = None

    def add_file(self, member: Member) -> None:
        if not member.path:
            return
        self.files[member.path] = member
        self._add_parents(member.path)
        self._children = None

    def add_dir(self, path: str, mtime: datetime | None = None) -> None:
        if path:
            self.dirs[path] = mtime if mtime is not None else self.dirs.get(path)
            self._add_parents(path)
            self._children = None

    def _add_parents(self, path: str) -> None:
        parent = dirname(path)
        while parent and parent not in self.dirs:
            self.dirs[parent] = None
            parent = dirname(parent)

    def _anchor(self, name: str) -> str:
        """The deepest directory of the index on the clean start of a rejected name."""
        anchor = ""
        for segment in _strip_leading(name).split("/")[:-1]:
            if segment in ("", ".", ".."):
                break
            candidate = f"{anchor}/{segment}" if anchor else segment
            if candidate not in self.dirs:
                break
            anchor = candidate
        return anchor

    def entry(self, path: str) -> Entry:
        if path in self.dirs:
            return Entry(path, "dir", mtime=self.dirs[path])
        member = self.files.get(path)
        if member is None:
            raise FileNotFoundError(path)
        return Entry(path, "file", member.size, member.mtime)

    def member(self, path: str) -> Member:
        if path in self.dirs:
            raise IsADirectoryError(path)
        member = self.files.get(path)
        if member is None:
            raise FileNotFoundError(path)
        return member

    def children(self, path: str) -> list[Entry]:
        if path not in self.dirs:
            if path in self.files:
                raise NotADirectory("not a directory", path=path)
            raise DirectoryNotFound("no such directory", path=path)
        return sorted(self._child_map().get(path, {}).values(), key=lambda e: e.name)

    def _child_map(self) -> dict[str, dict[str, Entry]]:
        if self._children is None:
            children: dict[str, dict[str, Entry]] = {}
            for path in self.dirs:
                if path:
                    children.setdefault(dirname(path), {})[path] = self.entry(path)
            for path in self.files:
                if path not in self.dirs:
                    children.setdefault(dirname(path), {})[path] = self.entry(path)
            for name, reason in self.rejected.items():
                children.setdefault(self._anchor(name), {})[name] = Skipped(name, "file", reason=reason)
            self._children = children
        return self._children


class ArchiveFile:
    """The archive a `file` option names: a local path, or `MOUNT:PATH` (or a URL) read through
    another mount. A remote archive is downloaded once per command into a private temp file."""

    def __init__(self, backend: Backend, text: str) -> None:
        self.backend = backend
        self.text = text
        address = parse_address(text)
        if address.stdio:
            raise ConfigError(f"mount '{backend.name}': an archive cannot be standard input")
        if address.mount is not None and address.mount == backend.name:
            raise ConfigError(f"mount '{backend.name}': the archive cannot live on the mount itself")
        self.local: str | None = None
        if address.local is not None:
            self.local = os.path.abspath(os.path.expanduser(address.local))
        self.name = os.path.basename((self.local or address.path or address.url or text).rstrip("/"))
        self._storage: Storage | None = None
        self._download: str | None = None
        self._seen: tuple[int | None, datetime | None, str | None] | None = None  # the remote archive as read
        self._writer_lock: int | None = None  # fd of the lock file while this command writes
        self._lock_path = ""
        self._lock = threading.Lock()

    @property
    def is_local(self) -> bool:
        return self.local is not None

    def node(self) -> Node:
        """The remote archive's node, resolved through the command's mounts."""
        # Core hook (see the archive backends' notes): a Storage that sets `settings.resolver`
        # lets archives on other mounts honour `--profile`; without it the active profile
        # ($GENROSTORE_PROFILE or the default file) is loaded once more.
        resolver: Callable[[str], Node] | None = getattr(self.backend.settings, "resolver", None)
        if resolver is None:
            if self._storage is None:
                from genrostore.core.storage import Storage

                self._storage = Storage.from_profile(settings=self.backend.settings)
            resolver = self._storage.node
        active: set[str] = getattr(_resolving, "names", set())
        if self.backend.name in active:
            raise ConfigError(f"mount '{self.backend.name}': its archive refers back to itself ({self.text})")
        _resolving.names = active | {self.backend.name}
        try:
            return resolver(self.text)
        finally:
            _resolving.names = active

    def exists(self) -> bool:
        if self.local is not None:
            return os.path.isfile(self.local)
        return self.node().is_file()

    def path(self) -> str:
        """A local path holding the archive's bytes (FileNotFound when there is no archive)."""
        if self.local is not None:
            if not os.path.exists(self.local):
                raise FileNotFound(f"archive {self.local} does not exist", path="")
            return self.local
        with self._lock:
            if self._download is None:
                self._download = self._fetch()
            return self._download

    def _fetch(self) -> str:
        node = self.node()
        if not node.is_file():
            raise FileNotFound(f"archive {self.text} does not exist", path="")
        self._seen = self._version(node)
        fd, temp = tempfile.mkstemp(prefix="genrostore-archive-", suffix="-" + self.name)
        try:
            with os.fdopen(fd, "wb") as out, node.open("rb") as stream:
                shutil.copyfileobj(stream, out, CHUNK_SIZE)
        except BaseException:
            os.unlink(temp)
            raise
        return temp

    @staticmethod
    def _version(node: Node) -> tuple[int | None, datetime | None, str | None] | None:
        if not node.is_file():
            return None
        entry = node.info()
        return (entry.size, entry.mtime, entry.version)

    # -- one writer at a time ----------------------------------------------------------------------
    def lock_for_writing(self) -> bool:
        """Hold the archive's lock until `close()`; True when it was taken just now.

        A local archive is locked with flock on `.NAME.genrostore-lock` beside it, so two commands
        adding members take turns (the caller re-reads the archive once it holds the lock) instead
        of the last one dropping the other's members. The lock file is removed at release; a
        waiter that wakes on a removed file takes the new one. Remote archives cannot be locked:
        `publish` refuses to replace one that changed since it was read.
        """
        if self.local is None or self._writer_lock is not None:
            return False
        import fcntl

        directory = os.path.dirname(self.local)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, f".{os.path.basename(self.local)}.genrostore-lock")
        told = False
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if not told:
                        print(f"genrostore: waiting for another command writing {self.local}", file=sys.stderr,
                              flush=True)
                        told = True
                    fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    current = os.stat(path).st_ino
                except FileNotFoundError:
                    current = None
                if current == os.fstat(fd).st_ino:
                    self._writer_lock = fd
                    self._lock_path = path
                    return True
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the holder removed that file as it let go: take the new one

    def _unlock(self) -> None:
        if self._writer_lock is None:
            return
        fd, self._writer_lock = self._writer_lock, None
        try:
            os.unlink(self._lock_path)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)

    def new_temp(self) -> str:
        """A temp file for a new version: beside a local archive, so the rename is atomic."""
        if self.local is not None:
            directory = os.path.dirname(self.local)
            os.makedirs(directory, exist_ok=True)
            fd, temp = create_temp(self.local)
        else:
            fd, temp = tempfile.mkstemp(prefix="genrostore-archive-new-", suffix="-" + self.name)
        os.close(fd)
        return temp

    def publish(self, temp: str) -> None:
        """Make `temp` the archive (rename, or an atomic upload to the other mount); `temp` is gone after."""
        try:
            if self.local is not None:
                with open(temp, "rb") as handle:
                    os.fsync(handle.fileno())
                if os.path.exists(self.local):
                    os.chmod(temp, os.stat(self.local).st_mode & 0o7777)
                else:
                    umask = os.umask(0)
                    os.umask(umask)
                    os.chmod(temp, 0o666 & ~umask)
                os.replace(temp, self.local)
                return
            node = self.node()
            if self._version(node) != self._seen:
                raise GenrostoreError(f"archive {self.text} was changed by another writer "
                                      "while this command ran; it was left as that writer made it",
                                      hint="run the command again", path="")
            writer = node.mount.open_write(node.path, os.path.getsize(temp))
            with writer, open(temp, "rb") as handle:
                while chunk := handle.read(CHUNK_SIZE):
                    writer.write(chunk)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)

    def close(self) -> None:
        self._unlock()
        self._seen = None
        if self._download is not None:
            try:
                os.unlink(self._download)
            except FileNotFoundError:
                pass
            self._download = None
        if self._storage is not None:
            self._storage.close()
            self._storage = None


class ReadOnlyArchiveBackend(Backend):
    """A read-only archive: the index is read once, members are opened on demand."""

    features = Features(read_only=True)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.archive = ArchiveFile(self, options["file"])
        self._index: ArchiveIndex | None = None
        self._lock = threading.Lock()

    @abstractmethod
    def read_index(self, path: str) -> ArchiveIndex:
        """Index the archive stored at the local `path`."""

    @abstractmethod
    def open_member(self, path: str, member: Member, offset: int) -> BinaryIO:
        """A stream of `member`'s bytes from `offset`, independent of other open streams."""

    @property
    def index(self) -> ArchiveIndex:
        with self._lock:
            if self._index is None:
                self._index = self.read_index(self.archive.path())
            return self._index

    def info(self, path: str) -> Entry:
        return self.index.entry(path)

    def iterdir(self, path: str) -> Iterator[Entry]:
        yield from self.index.children(path)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        return self.open_member(self.archive.path(), self.index.member(path), offset)

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        raise self._readonly("write", path)

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        raise self._readonly("mkdir", path)

    def remove_file(self, path: str) -> None:
        raise self._readonly("remove", path)

    def remove_dir(self, path: str) -> None:
        raise self._readonly("remove", path)

    def _readonly(self, action: str, path: str) -> ReadOnly:
        return ReadOnly(f"cannot {action}: the {self.spec.type} backend is read-only", path=path)

    def close(self) -> None:
        self.archive.close()


def skip(stream: BinaryIO, count: int) -> None:
    """Advance a forward-only stream by `count` bytes."""
    while count > 0:
        chunk = stream.read(min(count, CHUNK_SIZE))
        if not chunk:
            return
        count -= len(chunk)


class OwnedStream(io.RawIOBase):
    """A member stream that also closes what it was read from (its own archive handle)."""

    def __init__(self, inner: Any, *owners: Any) -> None:
        self._inner = inner
        self._owners = owners

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(getattr(self._inner, "seekable", lambda: False)())

    def readinto(self, target: Any) -> int:
        data = self._inner.read(len(target))
        target[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        if self.closed:
            return
        try:
            for item in (self._inner, *self._owners):
                item.close()
        finally:
            super().close()
