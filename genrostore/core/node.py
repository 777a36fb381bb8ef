"""`Node`: one path on one mount, with the operations every command is built from."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TextIO, overload

from genrostore.core.backend import CHUNK_SIZE, Entry, Writer
from genrostore.core.errors import DirectoryNotFound, FileNotFound, Unsupported, UsageError
from genrostore.core.paths import basename, dirname, join
from genrostore.core.registry import backend_class

if TYPE_CHECKING:
    from genrostore.core.mount import Mount
    from genrostore.core.storage import Storage


_ABSENT = (FileNotFound, DirectoryNotFound, Unsupported)


class Node:
    """A path on a mount; properties that need I/O say so by being methods, except `size`,
    `mtime` and `md5`, which each cost one call to the backend."""

    def __init__(self, storage: Storage, mount: Mount, path: str, *, trailing_slash: bool = False) -> None:
        self.storage = storage
        self.mount = mount
        self.path = path
        self.trailing_slash = trailing_slash

    # -- naming ---------------------------------------------------------------------------
    @property
    def fullpath(self) -> str:
        return self.mount.label(self.path)

    @property
    def basename(self) -> str:
        return basename(self.path)

    @property
    def parent(self) -> Node:
        return Node(self.storage, self.mount, dirname(self.path))

    def at(self, path: str) -> Node:
        """Another path on the same mount (a listed entry, as the pipeline plans it)."""
        return type(self)(self.storage, self.mount, path)

    def child(self, *parts: str) -> Node:
        """A path below this one; `..` is resolved but can never leave the mount root."""
        return Node(self.storage, self.mount, join(self.path, *parts))

    @property
    def is_stdio(self) -> bool:
        return backend_class(self.mount.spec).features.stream

    def __str__(self) -> str:
        return self.fullpath

    def __repr__(self) -> str:
        return f"Node({self.fullpath!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and (self.mount is other.mount and self.path == other.path)

    def __hash__(self) -> int:
        return hash((id(self.mount), self.path))

    # -- metadata -------------------------------------------------------------------------
    def info(self) -> Entry:
        return self.mount.info(self.path)

    def exists(self) -> bool:
        """False also where the backend can hold nothing (the bare `data:` has no content)."""
        try:
            self.info()
        except _ABSENT:
            return False
        return True

    def is_file(self) -> bool:
        try:
            return not self.info().is_dir
        except _ABSENT:
            return False

    def is_dir(self) -> bool:
        try:
            return self.info().is_dir
        except _ABSENT:
            return False

    @property
    def size(self) -> int:
        entry = self.info()
        if entry.is_dir:
            raise UsageError(f"{self.fullpath}: is a directory; it has no size")
        return entry.size or 0

    @property
    def mtime(self) -> datetime | None:
        return self.info().mtime

    @property
    def md5(self) -> str:
        from genrostore.core.hashing import md5_of

        return md5_of(self)

    def list(self) -> list[Node]:
        """Children of this directory (use `iterdir` to stream a large one)."""
        return list(self.iterdir())

    def iterdir(self) -> Iterator[Node]:
        for entry in self.mount.iterdir(self.path):
            yield Node(self.storage, self.mount, entry.path)

    # -- content --------------------------------------------------------------------------
    @overload
    def open(self, mode: Literal["rb"] = "rb", encoding: str = "utf-8") -> BinaryIO: ...
    @overload
    def open(self, mode: Literal["r", "rt"], encoding: str = "utf-8") -> TextIO: ...
    @overload
    def open(self, mode: str, encoding: str = "utf-8") -> Any: ...

    def open(self, mode: str = "rb", encoding: str = "utf-8") -> BinaryIO | TextIO | Any:
        """A file object; in write modes the content is published atomically on close()."""
        if mode in ("r", "rt"):
            return io.TextIOWrapper(self.mount.open_read(self.path), encoding=encoding)
        if mode == "rb":
            return self.mount.open_read(self.path)
        if mode in ("w", "wt"):
            return _TextWriter(_WriterFile(self, self.mount.open_write(self.path)), encoding=encoding)  # type: ignore[arg-type]  # TextIOWrapper needs no .name
        if mode == "wb":
            return _WriterFile(self, self.mount.open_write(self.path))
        raise UsageError(f"unsupported open mode {mode!r}: use r, rb, w or wb")

    def read_bytes(self) -> bytes:
        with self.mount.open_read(self.path) as stream:
            return stream.read()

    def read(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write(self, data: str | bytes, encoding: str = "utf-8") -> None:
        """Replace the content atomically; a base64 node takes the new path it produces."""
        payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
        writer = self.mount.open_write(self.path, len(payload))
        with writer:
            for start in range(0, len(payload), CHUNK_SIZE):
                writer.write(payload[start : start + CHUNK_SIZE])
        self._adopt(writer)

    def _adopt(self, writer: Writer) -> None:
        if writer.final_path is not None:
            self.path = writer.final_path

    def copy_to(self, destination: Node | str, **options: Any) -> Node:
        """Copy this file (or, with recursive=True, this directory) to `destination`.

        Options: recursive, no_clobber, checksum, jobs, progress, and filters
        (`core.filters.FilterOptions`: what of the tree is copied, as cp's --include/--exclude).
        """
        from genrostore.core.pipeline.api import copy_node

        target = self.storage.node(destination) if isinstance(destination, str) else destination
        result = copy_node(self, target, **options)
        if result is not target and result.mount is target.mount and target.mount.backend.features.raw_paths:
            target.path = result.path  # a data: node passed in takes its content's path, as after write()
        return result

    # -- structure ------------------------------------------------------------------------
    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        self.mount.mkdir(self.path, parents=parents, exist_ok=exist_ok)

    def delete(self, recursive: bool = False, *, allow_root: bool = False) -> None:
        """Remove this file or directory; a mount's root only with `allow_root` (its content goes)."""
        entry = self.info()
        if not self.path and not self.mount.backend.features.raw_paths:
            if not allow_root:
                raise UsageError(f"{self.fullpath}: refusing to remove the root of a mount", fix="allow-root")
            if not recursive:
                raise UsageError(f"{self.fullpath}: is a directory", fix="recursive")
            for child in list(self.mount.iterdir("")):
                Node(self.storage, self.mount, child.path).delete(recursive=True)
            return
        if entry.is_dir:
            if recursive:
                self.mount.remove_tree(self.path)
                return
            if next(iter(self.mount.iterdir(self.path)), None) is not None:
                raise UsageError(f"{self.fullpath}: is a directory", fix="recursive-remove")
            self.mount.remove_dir(self.path)
        else:
            self.mount.remove_file(self.path)


class _WriterFile(io.RawIOBase):
    """A writable file object over a Writer: close() commits, an exception in `with` aborts."""

    def __init__(self, node: Node, writer: Writer) -> None:
        self._node = node
        self._writer = writer
        self._failed = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        try:
            self._writer.write(bytes(data))
        except Exception:
            self._failed = True
            raise
        return len(data)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._failed:
                self._writer.abort()
            else:
                self._writer.commit()
                self._node._adopt(self._writer)
        finally:
            super().close()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self._failed = True
        self.close()


class _TextWriter(io.TextIOWrapper):
    """Text mode over a _WriterFile: an exception in `with` aborts, as in binary mode."""

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.buffer._failed = True  # type: ignore[attr-defined]  # the buffer is our _WriterFile
        self.close()
