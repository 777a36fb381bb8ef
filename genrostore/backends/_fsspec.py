"""The shared adapter over an fsspec filesystem: root jail, Entry mapping, atomic writes.

A backend subclasses `FsspecBackend`, builds its filesystem in `make_filesystem()` (importing
its client library there, never at module import) and sets `root`; it overrides only what
its store does differently (stored md5, server-side copy, error mapping).
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Iterator
from datetime import datetime, UTC
from typing import Any, BinaryIO, ClassVar

from genrostore.core import signals, tempnames
from genrostore.core.backend import Backend, Entry, Features, FileObjectWriter, Writer, check_published
from genrostore.core.errors import DirectoryNotFound, GenrostoreError, NotADirectory

_MTIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "modified", "created", "time_modified")


def to_datetime(value: Any) -> datetime | None:
    """fsspec implementations report times as datetimes, epoch numbers or ISO strings."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                from email.utils import parsedate_to_datetime

                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class FsspecBackend(Backend):
    """Generic fsspec adapter; `root` is the mount's root inside the filesystem's namespace."""

    # atomic_rename: write to a temp name in the same directory and rename into place (sftp);
    # object stores publish an object atomically on close instead.
    features = Features(atomic_rename=True, network=True)
    block_size: ClassVar[int | None] = None

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.root = ""
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self._dirs_lock = threading.Lock()

    # -- to be provided by subclasses ------------------------------------------------------
    def make_filesystem(self) -> Any:
        """Build the fsspec filesystem (import the client library here)."""
        raise self.unsupported("a filesystem")

    def stored_md5(self, info: dict[str, Any]) -> str | None:
        """The md5 from the store's metadata, only when it is the real md5 of the content."""
        return None

    def stored_mtime(self, info: dict[str, Any]) -> datetime | None:
        """The modification time a copy stored in the object's metadata (rclone's keys), if any."""
        return None

    def version_of(self, info: dict[str, Any]) -> str | None:
        """The store's version tag of an object (ETag, generation), when its listing gives one."""
        return None

    def same_store(self, other: Backend) -> bool:
        """True when `other` reaches the same store with the same credentials."""
        return other is self

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        # Parallel transfers all reach this at once: build one client, not one per worker.
        if self._fs is None:
            with self._fs_lock:
                if self._fs is None:
                    self._fs = self.make_filesystem()
        return self._fs

    def full(self, path: str) -> str:
        if not path:
            return self.root or ""
        if not self.root:
            return path
        return self.root.rstrip("/") + "/" + path if self.root != "/" else "/" + path

    def relative(self, full: str) -> str:
        full = self.fs._strip_protocol(full) if hasattr(self.fs, "_strip_protocol") else full
        root = self.fs._strip_protocol(self.root) if (self.root and hasattr(self.fs, "_strip_protocol")) else self.root
        root = root.rstrip("/")
        full = full.rstrip("/")
        if root and (full == root):
            return ""
        if root and full.startswith(root + "/"):
            return full[len(root) + 1 :]
        if root == "" or root == "/":
            return full.lstrip("/")
        return full.lstrip("/")

    def entry(self, info: dict[str, Any], path: str | None = None) -> Entry:
        kind = "dir" if info.get("type") == "directory" else "file"
        mtime = None if kind == "dir" else self.stored_mtime(info)
        for key in () if mtime is not None else _MTIME_KEYS:
            if info.get(key) is not None:
                mtime = to_datetime(info[key])
                if mtime is not None:
                    break
        return Entry(
            path=self.relative(info["name"]) if path is None else path,
            type=kind,
            size=None if kind == "dir" else info.get("size"),
            mtime=mtime,
            md5=None if kind == "dir" else self.stored_md5(info),
            version=None if kind == "dir" else self.version_of(info),
        )

    # -- contract ------------------------------------------------------------------------------
    def info(self, path: str) -> Entry:
        return self.entry(self.fs.info(self.full(path)), path)

    def iterdir(self, path: str) -> Iterator[Entry]:
        full = self.full(path)
        try:
            listing = self.fs.ls(full, detail=True)
        except FileNotFoundError:
            raise DirectoryNotFound("no such directory", path=path) from None
        except NotADirectoryError:
            raise NotADirectory("not a directory", path=path) from None
        entries = []
        for info in listing:
            entry = self.entry(info)
            if entry.path == path or not entry.path:
                if entry.type == "file":
                    raise NotADirectory("not a directory", path=path)
                continue
            entries.append(entry)
        if not entries and path and not self.fs.isdir(full):
            raise DirectoryNotFound("no such directory", path=path)
        yield from sorted(entries, key=lambda e: e.name)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        kwargs = {"block_size": self.block_size} if self.block_size else {}
        handle = self.fs.open(self.full(path), "rb", **kwargs)
        if offset:
            handle.seek(offset)
        return handle

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        full = self.full(path)
        parent = posixpath.dirname(full)
        if parent and parent != self.root and not self.features.implicit_dirs:
            self._make_parent(parent)
        if not self.features.atomic_rename:
            return FileObjectWriter(self.fs.open(full, "wb"))
        temp = tempnames.temp_path(full)
        handle = self.fs.open(temp, "wb")
        return FileObjectWriter(
            handle,
            on_commit=lambda written: self._publish(temp, full, written),
            on_abort=lambda: self._discard(temp),
        )

    def _make_parent(self, parent: str) -> None:
        """Parallel uploads into one new directory all get here at once: one creates it, the
        others find it made (sftp answers a bare `Failure` to a mkdir that lost the race)."""
        with self._dirs_lock:
            try:
                self.fs.makedirs(parent, exist_ok=True)
            except OSError:
                if not self.fs.isdir(parent):
                    raise

    def _publish(self, temp: str, full: str, size: int | None = None) -> None:
        try:
            signals.refuse_publish()
            if self.fs.exists(full):
                self.fs.rm_file(full)
            self.fs.mv(temp, full)
        except BaseException:
            self._discard(temp)
            raise
        try:
            found: int | None = self.fs.info(full).get("size")
        except FileNotFoundError:
            found = None
        check_published(found, size)

    def _discard(self, temp: str) -> None:
        try:
            self.fs.rm_file(temp)
        except Exception:  # noqa: BLE001 - best effort: the temp may never have been created
            pass

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        full = self.full(path)
        if self.fs.exists(full):
            if self.fs.isdir(full) and (exist_ok or parents):
                return
            raise FileExistsError(full)
        if parents:
            self.fs.makedirs(full, exist_ok=True)
            return
        parent = posixpath.dirname(path)
        if parent and not self.fs.isdir(self.full(parent)):
            raise DirectoryNotFound("parent directory does not exist", path=path,
                                    fix="parents")
        self.fs.mkdir(full, create_parents=False)

    def remove_file(self, path: str) -> None:
        full = self.full(path)
        if self.fs.isdir(full):
            raise IsADirectoryError(full)
        self.fs.rm_file(full)

    def remove_dir(self, path: str) -> None:
        full = self.full(path)
        if not self.fs.exists(full):
            raise FileNotFoundError(full)
        if self.fs.ls(full, detail=False):
            raise GenrostoreError("directory not empty", path=path, fix="recursive")
        self.fs.rmdir(full)

    def remove_tree(self, path: str) -> None:
        full = self.full(path)
        if not self.fs.exists(full):
            raise FileNotFoundError(full)
        self.fs.rm(full, recursive=True)

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        if not isinstance(dst, FsspecBackend) or not self.same_store(dst):
            return False
        self.fs.copy(self.full(src_path), dst.full(dst_path))
        return True
