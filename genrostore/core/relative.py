"""Relative mounts (genro-storage's child mounts): `{name: public, path: 'data:public'}` is a mount
whose root is a directory of another mount, jailed there.

The backend here only prefixes paths and strips the prefix from entries; the parent's backend
(one connection, one memory store) does the work, and the child's `Mount` applies its own
retries and permissions, never wider than the parent's (see `Storage.mount`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from genrostore.core.backend import Backend, Entry, Prune, Upload, Writer
from genrostore.core.errors import ConfigError, GenrostoreError
from genrostore.core.paths import join
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="relative",
    summary="A directory of another mount, as a mount of its own (genro-storage's `path: 'mount:dir'`).",
    options=(
        Option("parent", "The mount this one lives in.", required=True),
        Option("path", "The directory inside the parent that is this mount's root.", default=""),
    ),
    module=__name__,
    cls="RelativeBackend",
)


def parse(text: str) -> tuple[str, str] | None:
    """`'data:public'` → ("data", "public"); None when `text` is not a `mount:path`."""
    parent, sep, path = text.partition(":")
    if not sep or not parent or "/" in parent or parent.startswith("~"):
        return None
    return parent, path


class RelativeBackend(Backend):
    """Paths of this mount are `root/path` on the parent mount's backend."""

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        resolver = self.settings.resolver
        assert resolver is not None, "a Storage sets the resolver before any mount is used"
        node = resolver(f"{options['parent']}:{options.get('path') or ''}")
        self.inner: Backend = node.mount.backend
        if self.inner.features.raw_paths or not self.inner.features.dirs:
            raise ConfigError(f"mount '{self.name}': mount '{options['parent']}' has no directories to root a mount in")
        self.root: str = node.path
        self.features = self.inner.features  # a subtree of the parent's store can do what it can

    def full(self, path: str) -> str:
        return join(self.root, path) if path else self.root

    def _own(self, entry: Entry) -> Entry:
        inner = entry.path
        path = "" if inner == self.root else inner[len(self.root) + 1:] if self.root else inner
        return dataclasses.replace(entry, path=path)

    @staticmethod
    def _unwrap(backend: Backend, path: str) -> tuple[Backend, str]:
        if isinstance(backend, RelativeBackend):
            return backend.inner, backend.full(path)
        return backend, path

    # -- the contract, delegated ---------------------------------------------------------------
    def info(self, path: str) -> Entry:
        return self._own(self.inner.info(self.full(path)))

    def iterdir(self, path: str) -> Iterator[Entry]:
        return (self._own(entry) for entry in self.inner.iterdir(self.full(path)))

    def walk(self, path: str, prune: Prune | None = None) -> Iterator[Entry]:
        inner = None if prune is None else (lambda entry: prune(self._own(entry)))
        return (self._own(entry) for entry in self.inner.walk(self.full(path), inner))

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        return self.inner.open_read(self.full(path), offset)

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        if mtime is None:
            return self.inner.open_write(self.full(path), size_hint)
        return self.inner.open_write(self.full(path), size_hint, mtime=mtime)

    def set_mtime(self, path: str, mtime: datetime) -> None:
        self.inner.set_mtime(self.full(path), mtime)

    def stored_mtimes(self, entries: Iterator[Entry]) -> Iterator[Entry]:
        inner = (dataclasses.replace(entry, path=self.full(entry.path)) for entry in entries)
        return (self._own(entry) for entry in self.inner.stored_mtimes(inner))

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        self.inner.mkdir(self.full(path), parents=parents, exist_ok=exist_ok)

    def remove_file(self, path: str) -> None:
        self.inner.remove_file(self.full(path))

    def remove_dir(self, path: str) -> None:
        self.inner.remove_dir(self.full(path))

    def remove_tree(self, path: str) -> None:
        self.inner.remove_tree(self.full(path))

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return self.inner.read_range(self.full(path), offset, length)

    def open_range(self, path: str, offset: int, length: int, version: str | None = None) -> BinaryIO:
        return self.inner.open_range(self.full(path), offset, length, version)

    def md5(self, path: str) -> str | None:
        return self.inner.md5(self.full(path))

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        target, target_path = self._unwrap(dst, dst_path)
        return self.inner.server_copy(self.full(src_path), target, target_path)

    def local_path(self, path: str) -> str | None:
        return self.inner.local_path(self.full(path))

    def batch_loop(self) -> Any | None:
        return self.inner.batch_loop()

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        return await self.inner.read_small(self.full(path), limit)

    async def write_small(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        if mtime is None:
            await self.inner.write_small(self.full(path), data)
        else:
            await self.inner.write_small(self.full(path), data, mtime=mtime)

    async def copy_small(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        target, target_path = self._unwrap(dst, dst_path)
        return await self.inner.copy_small(self.full(src_path), target, target_path)

    def blocking_small(self) -> bool:
        return self.inner.blocking_small()

    def ready_small(self) -> None:
        self.inner.ready_small()

    def read_small_blocking(self, path: str, limit: int | None = None) -> bytes | None:
        return self.inner.read_small_blocking(self.full(path), limit)

    def write_small_blocking(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        if mtime is None:
            self.inner.write_small_blocking(self.full(path), data)
        else:
            self.inner.write_small_blocking(self.full(path), data, mtime=mtime)

    def copy_small_blocking(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        target, target_path = self._unwrap(dst, dst_path)
        return self.inner.copy_small_blocking(self.full(src_path), target, target_path)

    def incomplete_uploads(self, path: str) -> Iterator[Upload]:
        for upload in self.inner.incomplete_uploads(self.full(path)):
            inner = upload.path
            if inner.startswith(self.root + "/") or not self.root:
                yield dataclasses.replace(upload, path=inner[len(self.root) + 1:] if self.root else inner)

    def abort_upload(self, upload: Upload) -> None:
        self.inner.abort_upload(dataclasses.replace(upload, path=self.full(upload.path)))

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        return self.inner.translate_error(exc, where)

    def own_path(self, path: str) -> str:
        """The parent backend names its own paths (`root/x`): this mount shows them as `x`."""
        path = self.inner.own_path(path)
        if not self.root or not path:
            return path
        return "" if path == self.root else path.removeprefix(self.root + "/")

    def close(self) -> None:
        """The parent mount owns the connection and closes it."""
