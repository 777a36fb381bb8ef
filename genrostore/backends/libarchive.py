"""Any archive libarchive reads (zip, tar.*, 7z, iso9660, cpio, rar, cab, ...) as a read-only mount."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from genrostore.backends._archive import (
    ArchiveIndex,
    Member,
    OwnedStream,
    ReadOnlyArchiveBackend,
    member_path,
    unsafe_member,
)
from genrostore.core.backend import CHUNK_SIZE, ChunkReader
from genrostore.core.errors import GenrostoreError, MissingExtra
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="libarchive",
    summary="Any archive libarchive reads: zip, tar.*, 7z, iso9660, cpio, rar, cab..., read-only.",
    options=(
        Option("file", "The archive: a local path, or MOUNT:PATH for an archive on another mount.", required=True,
               aliases=("path", "fo")),
    ),
    module=__name__,
    cls="LibArchiveBackend",
    extra="libarchive",
    notes="Needs the system libarchive (Debian: apt-get install libarchive13). Formats without an index "
          "(tar, 7z solid blocks) are read from the start for each file opened.",
)

INSTALL_HINT = "run: apt-get install libarchive13 (Debian/Ubuntu), or set LIBARCHIVE to the library's path"


def load_libarchive() -> Any:
    """libarchive-c, or exit 7 naming the Python package or the system library that is missing."""
    try:
        return require("libarchive", "libarchive")
    except (OSError, AttributeError) as exc:
        # libarchive-c loads the shared library at import: no library, no module.
        raise MissingExtra(f"the 'libarchive' backend needs the system libarchive library ({exc})",
                           hint=INSTALL_HINT) from None


class LibArchiveBackend(ReadOnlyArchiveBackend):
    """Members are addressed by their position in the archive: libarchive reads forward only."""

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.lib = load_libarchive()

    def read_index(self, path: str) -> ArchiveIndex:
        index = ArchiveIndex()
        regular: dict[str, Member] = {}
        links: dict[str, str] = {}
        with self.lib.file_reader(path) as archive:
            for position, entry in enumerate(archive):
                problem = unsafe_member(entry.pathname or "")
                if problem is not None:
                    index.reject(entry.pathname, problem)
                    continue
                name = member_path(entry.pathname or "")
                if not name:
                    continue
                mtime = _mtime(entry.mtime)
                if entry.isdir:
                    index.add_dir(name, mtime)
                elif entry.islnk:
                    links[name] = member_path(entry.linkpath or "")
                elif entry.issym:
                    target = entry.linkpath or ""
                    if not target.startswith("/"):
                        links[name] = member_path(posixpath.join(posixpath.dirname(entry.pathname), target))
                elif entry.isreg:
                    size = entry.size
                    if size is None:
                        size = sum(len(block) for block in entry.get_blocks(CHUNK_SIZE))
                    regular[name] = Member(name, size, mtime, position)
        for _ in range(len(links)):
            resolved = {name: target for name, target in links.items() if target in regular}
            for name, target in resolved.items():
                member = regular[target]
                regular[name] = Member(name, member.size, member.mtime, member.ref)
                del links[name]
            if not resolved:
                break
        for member in regular.values():
            index.add_file(member)
        return index

    def open_member(self, path: str, member: Member, offset: int) -> BinaryIO:
        blocks = self._blocks(path, member.ref, offset)
        return OwnedStream(ChunkReader(blocks), blocks)  # type: ignore[return-value]  # a RawIOBase, all a stream needs

    def _blocks(self, path: str, position: int, offset: int) -> Iterator[bytes]:
        with self.lib.file_reader(path) as archive:
            for current, entry in enumerate(archive):
                if current != position:
                    continue
                for block in entry.get_blocks(CHUNK_SIZE):
                    if offset >= len(block):
                        offset -= len(block)
                        continue
                    yield block[offset:] if offset else block
                    offset = 0
                return

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if type(exc).__name__ == "ArchiveError":
            message = getattr(exc, "msg", None) or str(exc)
            return GenrostoreError(f"{where}: {self.archive.text} is not a readable archive ({message})")
        return None


def _mtime(value: float | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
