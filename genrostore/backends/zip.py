"""A zip archive as a mount: read it, build it (`mode: w`) or add to it (`mode: a`).

Writes never touch the archive while a command runs: each member is staged in a private temp
directory, and `close()` (once, when the command ends) writes a complete new archive beside the
old one and renames it into place. A member whose copy failed is never staged, while the members
that were copied whole are published even when others failed (like files on a disk). A command
that is interrupted or killed leaves the previous archive intact, and an overwritten member is
replaced, never duplicated. Commands that change one local archive take turns (a lock from the
first change to the publish), so two that add members both keep theirs.

Member times are UTC: each new member carries the extended-timestamp extra field (0x5455,
Unix seconds) beside the zone-less DOS time, and reading prefers that field (or the NTFS one,
0x000a) where present, so `ls --json` shows the same instant in every time zone.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import struct
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from genrostore.backends._archive import (
    ArchiveFile,
    ArchiveIndex,
    Member,
    command_interrupted,
    member_path,
    unsafe_member,
)
from genrostore.core.backend import CHUNK_SIZE, Backend, Entry, Writer
from genrostore.core.errors import DirectoryNotFound, GenrostoreError, ReadOnly
from genrostore.core.paths import dirname
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="zip",
    summary="A zip archive: read it (mode r), build it anew (mode w) or add to it (mode a).",
    options=(
        Option("file", "The archive: a local path, or MOUNT:PATH for an archive on another mount.", required=True,
               aliases=("path", "fo")),
        Option("mode", "r: read-only; w: a command that writes starts a new archive; a: add or replace members.",
               default="r", choices=("r", "w", "a")),
        Option("compression", "How new members are compressed.", default="deflated",
               choices=("deflated", "stored", "bzip2", "lzma")),
    ),
    module=__name__,
    cls="ZipBackend",
    notes="Changes are published when the command (or `Storage.close()`) ends: the new archive is "
          "written to a temp file and renamed over the old one. Members copied whole are published even "
          "when other items of the command failed; an interrupted command leaves the archive untouched.",
)

_COMPRESSION = {
    "deflated": zipfile.ZIP_DEFLATED,
    "stored": zipfile.ZIP_STORED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}


@dataclass(frozen=True)
class _Staged:
    """A member written during this command, waiting in the staging directory."""

    temp: str
    size: int
    mtime: datetime


class _MemberWriter(Writer):
    """Writes one member to a staging file; commit makes it part of the mount's view."""

    def __init__(self, backend: ZipBackend, path: str) -> None:
        self._backend = backend
        self._path = path
        fd, self._temp = tempfile.mkstemp(dir=backend.staging(), suffix=".member")
        self._file = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def _commit(self) -> None:
        try:
            self._file.close()
            self._backend.stage(self._path, self._temp)
        except BaseException:
            _unlink(self._temp)
            raise

    def _abort(self) -> None:
        self._file.close()
        _unlink(self._temp)


class ZipBackend(Backend):
    """The archive as it was when first read, plus this command's staged changes."""

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.archive = ArchiveFile(self, options["file"])
        self.mode = options["mode"]
        if self.mode == "r":  # the class can write; this mount, by its option, cannot
            self.features = dataclasses.replace(self.features, read_only=True)
        self.compression = _COMPRESSION[options["compression"]]
        self._lock = threading.RLock()
        self._base: zipfile.ZipFile | None = None
        self._base_files: dict[str, zipfile.ZipInfo] = {}
        self._base_dirs: dict[str, zipfile.ZipInfo | None] = {}
        self._base_rejected: dict[str, tuple[zipfile.ZipInfo, str]] = {}
        self._base_stamp: tuple[int, int, int] | None = None
        self._base_times: dict[str, datetime | None] = {}
        self._loaded = False
        self._staged: dict[str, _Staged] = {}
        self._made_dirs: set[str] = set()
        self._hidden: set[str] = set()  # base members removed or replaced by this command
        self._dirty = False
        self._staging: tempfile.TemporaryDirectory[str] | None = None
        self._view: ArchiveIndex | None = None

    # -- the archive as it is on disk ----------------------------------------------------------
    def _load(self) -> None:
        """Read the archive's directory once (again if another process replaced it meanwhile)."""
        if self._loaded and not (self.archive.is_local and not self._dirty and self._stamp() != self._base_stamp):
            return
        self._close_base()
        self._loaded = True
        self._view = None
        if not self.archive.exists():
            if self.mode == "r":
                self.archive.path()  # raises FileNotFound naming the archive
            return
        path = self.archive.path()
        self._base_stamp = self._stamp()
        self._base = zipfile.ZipFile(path, "r")
        for info in self._base.infolist():
            problem = unsafe_member(info.filename)
            if problem is not None:
                self._base_rejected[info.filename] = (info, problem)  # kept in a rewrite, never a path
                continue
            name = member_path(info.filename)
            if not name:
                continue
            if info.is_dir():
                self._base_dirs[name] = info
            else:
                self._base_files[name] = info
        self._base_times = {info.filename: _member_time(info) for info in self._base.infolist()}

    def _stamp(self) -> tuple[int, int, int] | None:
        if not self.archive.is_local:
            return None
        try:
            st = os.stat(self.archive.local)  # type: ignore[arg-type]  # is_local: .local is set
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _close_base(self) -> None:
        if self._base is not None:
            self._base.close()
        self._base = None
        self._base_files = {}
        self._base_dirs = {}
        self._base_rejected = {}

    def view(self) -> ArchiveIndex:
        """Files and directories as this command sees them (base minus hidden, plus staged)."""
        with self._lock:
            self._load()
            if self._view is None:
                index = ArchiveIndex()
                for name, info in self._base_dirs.items():
                    if name not in self._hidden:
                        index.add_dir(name, self._base_times.get(info.filename) if info else None)
                for name in self._made_dirs:
                    index.add_dir(name)
                for name, info in self._base_files.items():
                    if name not in self._hidden:
                        index.add_file(Member(name, info.file_size, self._base_times.get(info.filename), info))
                for name, staged in self._staged.items():
                    index.add_file(Member(name, staged.size, staged.mtime, staged))
                for name, (_, problem) in self._base_rejected.items():
                    if name not in self._hidden:
                        index.reject(name, problem)
                self._view = index
            return self._view

    # -- contract: reads -------------------------------------------------------------------------
    def info(self, path: str) -> Entry:
        return self.view().entry(path)

    def iterdir(self, path: str) -> Iterator[Entry]:
        yield from self.view().children(path)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        with self._lock:
            member = self.view().member(path)
            if isinstance(member.ref, _Staged):
                stream: Any = open(member.ref.temp, "rb")  # noqa: SIM115 - returned to the caller
            else:
                assert self._base is not None
                stream = self._base.open(member.ref, "r")
        if offset:
            stream.seek(offset)
        return stream

    # -- contract: writes --------------------------------------------------------------------------
    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        self._check_writable(path, "write")
        with self._lock:
            view = self.view()
            if path in view.dirs:
                raise IsADirectoryError(path)
            self._check_parents(view, path)
        return _MemberWriter(self, path)

    def stage(self, path: str, temp: str) -> None:
        """Publish a written member in this command's view (the archive itself changes at close)."""
        with self._lock:
            self._begin_change()
            view = self.view()
            if path in view.dirs:
                raise IsADirectoryError(path)
            self._check_parents(view, path)
            previous = self._staged.get(path)
            if previous is not None:
                _unlink(previous.temp)
            self._staged[path] = _Staged(temp, os.path.getsize(temp), datetime.now(UTC))
            self._hidden.add(path)
            self._changed()

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        self._check_writable(path, "mkdir")
        with self._lock:
            view = self.view()
            if path in view.files:
                raise FileExistsError(path)
            if path in view.dirs:
                if exist_ok or parents:
                    return
                raise FileExistsError(path)
            if not parents and dirname(path) not in view.dirs:
                raise DirectoryNotFound("parent directory does not exist", path=path,
                                        fix="parents")
            self._check_parents(view, path)
            self._begin_change()
            self._made_dirs.add(path)
            self._changed()

    def remove_file(self, path: str) -> None:
        self._check_writable(path, "remove")
        with self._lock:
            view = self.view()
            view.member(path)
            self._begin_change()
            self._drop(path)
            self._changed()

    def remove_dir(self, path: str) -> None:
        self._check_writable(path, "remove")
        with self._lock:
            if any(True for _ in self.view().children(path)):
                raise GenrostoreError("directory not empty", path=path, fix="recursive")
            self._begin_change()
            self._drop(path)
            self._changed()

    def remove_tree(self, path: str) -> None:
        self._check_writable(path, "remove")
        with self._lock:
            view = self.view()
            view.entry(path)
            prefix = f"{path}/" if path else ""
            doomed = [p for p in (*view.files, *view.dirs) if p and (p == path or p.startswith(prefix))]
            self._begin_change()
            for name in doomed:
                self._drop(name)
            self._changed()

    def _drop(self, path: str) -> None:
        staged = self._staged.pop(path, None)
        if staged is not None:
            _unlink(staged.temp)
        self._made_dirs.discard(path)
        self._hidden.add(path)

    def _check_writable(self, path: str, action: str) -> None:
        if self.mode == "r":
            raise ReadOnly(f"cannot {action}: the archive is mounted with mode r", path=path,
                           hint="set `mode: a` (or `w`) on the mount to write")

    def _check_parents(self, view: ArchiveIndex, path: str) -> None:
        parent = dirname(path)
        while parent:
            if parent in view.files and parent not in view.dirs:
                raise NotADirectoryError(parent)
            parent = dirname(parent)

    def _begin_change(self) -> None:
        """Lock the archive at the command's first change (see `ArchiveFile.lock_for_writing`);
        `mode: w` starts from an empty archive there."""
        if not self._dirty and self.archive.lock_for_writing():
            self._load()  # another command may have published while we waited: build on its version
        if self.mode == "w" and not self._dirty:
            self._hidden.update(self._base_files, self._base_dirs, self._base_rejected)
        self._dirty = True

    def _changed(self) -> None:
        self._view = None

    def staging(self) -> str:
        with self._lock:
            if self._staging is None:
                self._staging = tempfile.TemporaryDirectory(prefix="genrostore-zip-")
            return self._staging.name

    # -- publishing ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Write the new archive and rename it into place, unless the command was interrupted.

        A command whose other items failed still publishes the members it wrote whole: "1 of 2
        failed" means the other one is in the archive."""
        try:
            with self._lock:
                if self._dirty and not command_interrupted():
                    self._publish()
        finally:
            self._discard()

    def _publish(self) -> None:
        temp = self.archive.new_temp()
        try:
            with zipfile.ZipFile(temp, "w", compression=self.compression, allowZip64=True) as out:
                self._write_members(out)
        except BaseException:
            _unlink(temp)
            raise
        self.archive.publish(temp)

    def _write_members(self, out: zipfile.ZipFile) -> None:
        view = self.view()
        for name, info in self._base_dirs.items():
            if name not in self._hidden and info is not None:
                out.writestr(_copy_info(info), b"")
        for name in sorted(self._made_dirs):
            if name in view.dirs and name not in self._base_dirs:
                out.writestr(_dir_info(name), b"")
        for name, info in self._base_files.items():
            if name not in self._hidden:
                assert self._base is not None
                with self._base.open(info) as source, out.open(_copy_info(info), "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, CHUNK_SIZE)
        for name, (info, _) in self._base_rejected.items():
            if name not in self._hidden:
                assert self._base is not None
                with self._base.open(info) as source, out.open(_copy_info(info), "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, CHUNK_SIZE)
        for name, staged in self._staged.items():
            info = zipfile.ZipInfo(name, date_time=time.localtime(staged.mtime.timestamp())[:6])
            info.extra = _unix_time_field(staged.mtime.timestamp())
            info.compress_type = self.compression
            info.external_attr = 0o644 << 16
            info.file_size = staged.size
            with open(staged.temp, "rb") as source, out.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, CHUNK_SIZE)

    def _discard(self) -> None:
        self._close_base()
        self._loaded = False
        self._staged = {}
        self._made_dirs = set()
        self._hidden = set()
        self._dirty = False
        self._view = None
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None
        self.archive.close()

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if isinstance(exc, zipfile.BadZipFile):
            return GenrostoreError(f"{where}: {self.archive.text} is not a readable zip archive ({exc})")
        return None


_UNIX_TIME = 0x5455  # Info-ZIP extended timestamp: flags byte, then Unix seconds (UTC)
_NTFS_TIME = 0x000A  # NTFS: 100 ns ticks since 1601 (UTC)
_TIME_FIELDS = (_UNIX_TIME, _NTFS_TIME)


def _extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    """The (id, data) records of a zip extra field; a truncated record ends the walk."""
    offset = 0
    while offset + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, offset)
        data = extra[offset + 4:offset + 4 + size]
        if len(data) < size:
            return
        yield kind, data
        offset += 4 + size


def _member_time(info: zipfile.ZipInfo) -> datetime | None:
    """A member's time in UTC from its extra field when it has one; else the DOS time, which
    zip stores as wall-clock time without a zone (read, like unzip does, as local time)."""
    for kind, data in _extra_fields(info.extra):
        try:
            if kind == _UNIX_TIME and len(data) >= 5 and data[0] & 1:
                return datetime.fromtimestamp(struct.unpack_from("<l", data, 1)[0], UTC)
            if kind == _NTFS_TIME and len(data) >= 32 and struct.unpack_from("<HH", data, 4) == (1, 24):
                ticks = struct.unpack_from("<Q", data, 8)[0]
                return datetime(1601, 1, 1, tzinfo=UTC) + timedelta(microseconds=ticks // 10)
        except (ValueError, OverflowError, OSError):
            continue
    try:
        return datetime(*info.date_time).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _unix_time_field(timestamp: float) -> bytes:
    """The extended-timestamp extra field holding a modification time (5 bytes of data)."""
    seconds = max(-2**31, min(2**31 - 1, int(timestamp)))
    return struct.pack("<HHBl", _UNIX_TIME, 5, 1, seconds)


def _time_fields(extra: bytes) -> bytes:
    """The time records of an old member's extra field, kept when the member is re-written."""
    return b"".join(struct.pack("<HH", kind, len(data)) + data
                    for kind, data in _extra_fields(extra) if kind in _TIME_FIELDS)


def _copy_info(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """A fresh header for re-writing a member: sizes, offsets and zip64 extras are recomputed
    (an old zip64 extra field copied over would contradict the new one)."""
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = info.compress_type
    copy.external_attr = info.external_attr
    copy.comment = info.comment
    copy.create_system = info.create_system
    copy.file_size = info.file_size
    copy.extra = _time_fields(info.extra)
    return copy


def _dir_info(name: str) -> zipfile.ZipInfo:
    now = time.time()
    info = zipfile.ZipInfo(name + "/", date_time=time.localtime(now)[:6])
    info.extra = _unix_time_field(now)
    info.external_attr = (0o40755 << 16) | 0x10
    return info


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
