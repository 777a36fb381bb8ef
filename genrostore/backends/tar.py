"""A tar archive as a read-only mount (plain, gzip, bzip2 or xz), member names jailed."""

from __future__ import annotations

import posixpath
import tarfile
from datetime import UTC, datetime
from typing import Any, BinaryIO, Literal

from genrostore.backends._archive import ArchiveIndex, Member, OwnedStream, ReadOnlyArchiveBackend, member_path, unsafe_member
from genrostore.core.errors import GenrostoreError
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="tar",
    summary="A tar archive (.tar, .tar.gz/.tgz, .tar.bz2/.tbz2, .tar.xz/.txz), read-only.",
    options=(
        Option("file", "The archive: a local path, or MOUNT:PATH for an archive on another mount.", required=True,
               aliases=("path", "fo")),
        Option("compression", "Compression of the archive; `auto` looks at the extension, then the magic bytes.",
               default="auto", choices=("auto", "none", "gzip", "bz2", "xz")),
    ),
    module=__name__,
    cls="TarBackend",
    notes="Names stored as `./a/b` are addressed as `a/b`; `..` and absolute names never leave the mount.",
)

_EXTENSIONS = (
    ((".tar.gz", ".tgz", ".taz"), "gzip"),
    ((".tar.bz2", ".tbz2", ".tbz", ".tb2"), "bz2"),
    ((".tar.xz", ".txz"), "xz"),
    ((".tar",), "none"),
)
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "xz"))
_ReadMode = Literal["r:", "r:gz", "r:bz2", "r:xz"]
_MODES: dict[str, _ReadMode] = {"none": "r:", "gzip": "r:gz", "bz2": "r:bz2", "xz": "r:xz"}


def detect_compression(name: str, head: bytes) -> str:
    """Compression from the file name, failing that from the first bytes (fsspec does neither)."""
    lowered = name.lower()
    for suffixes, compression in _EXTENSIONS:
        if lowered.endswith(suffixes):
            return compression
    for magic, compression in _MAGIC:
        if head.startswith(magic):
            return compression
    return "none"


class TarBackend(ReadOnlyArchiveBackend):
    """Each open stream uses its own TarFile, so parallel copies never share a file position."""

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._mode: _ReadMode | None = None

    def mode(self, path: str) -> _ReadMode:
        if self._mode is None:
            compression = self.options["compression"]
            if compression == "auto":
                with open(path, "rb") as handle:
                    compression = detect_compression(self.archive.name, handle.read(8))
            self._mode = _MODES[compression]
        return self._mode

    def read_index(self, path: str) -> ArchiveIndex:
        index = ArchiveIndex()
        links: list[tuple[str, str]] = []
        regular: dict[str, tarfile.TarInfo] = {}
        with tarfile.open(path, self.mode(path)) as archive:
            for info in archive:
                problem = unsafe_member(info.name)
                if problem is not None:
                    index.reject(info.name, problem)
                    continue
                name = member_path(info.name)
                if not name:
                    continue
                if info.isdir():
                    index.add_dir(name, _mtime(info))
                elif info.isreg():
                    regular[name] = info
                elif info.islnk():
                    links.append((name, member_path(info.linkname)))
                elif info.issym() and not info.linkname.startswith("/"):
                    links.append((name, member_path(posixpath.join(posixpath.dirname(info.name), info.linkname))))
        for name, target in _resolve_links(links, regular):
            regular[name] = regular[target]
        for name, info in regular.items():
            index.add_file(Member(name, info.size, _mtime(info), info))
        return index

    def open_member(self, path: str, member: Member, offset: int) -> BinaryIO:
        archive = tarfile.open(path, self.mode(path))  # noqa: SIM115 - closed with the returned stream
        try:
            stream = archive.extractfile(member.ref)
            assert stream is not None  # a regular member always has a stream
            if offset:
                stream.seek(offset)
        except BaseException:
            archive.close()
            raise
        return OwnedStream(stream, archive)  # type: ignore[return-value]  # a RawIOBase, all a stream needs

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if isinstance(exc, (tarfile.TarError, EOFError)):
            return GenrostoreError(f"{where}: {self.archive.text} is not a readable tar archive ({exc})",
                                   hint="check the file, or set its `compression` option")
        return None


def _mtime(info: tarfile.TarInfo) -> datetime | None:
    try:
        return datetime.fromtimestamp(info.mtime, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _resolve_links(links: list[tuple[str, str]], regular: dict[str, tarfile.TarInfo]) -> list[tuple[str, str]]:
    """Links become copies of the regular member they point to inside the archive; links that
    leave the archive or point at directories are dropped (nothing outside is ever read)."""
    resolved: list[tuple[str, str]] = []
    pending = dict(links)
    for _ in range(len(pending) + 1):
        progress = False
        for name, target in list(pending.items()):
            if target in regular or target in dict(resolved):
                final = target if target in regular else dict(resolved)[target]
                resolved.append((name, final))
                del pending[name]
                progress = True
        if not progress:
            break
    return resolved
