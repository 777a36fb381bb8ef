"""A configured mount: the boundary where backend calls are retried, errors are mapped, and
every write or delete is checked against read-only and dry-run (the only such place)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, TypeVar

from genrostore.core.backend import Backend, Entry, NullWriter, Prune, Skipped, Upload, Writer
from genrostore.core.errors import GenrostoreError, ReadOnly, UnsafeName, translate
from genrostore.core.paths import listed_name_problem
from genrostore.core.registry import backend_class
from genrostore.core.retry import with_retries, with_retries_async
from genrostore.core.schema import BackendSpec
from genrostore.core.settings import Settings

T = TypeVar("T")
OnSkip = Callable[[UnsafeName], None]


def _pruned(entries: Iterator[Entry], prune: Prune) -> Iterator[Entry]:
    """Drop pruned directories and what lies below them from a listing that did not skip them."""
    pruned: set[str] = set()
    for entry in entries:
        parts = entry.path.split("/")
        if pruned and any("/".join(parts[:depth]) in pruned for depth in range(1, len(parts))):
            continue
        if entry.is_dir and prune(entry):
            pruned.add(entry.path)
            continue
        yield entry


@dataclass
class Mount:
    """A name bound to a backend type and its validated options; the backend is built on first use."""

    name: str
    spec: BackendSpec
    options: dict[str, Any]
    origin: str
    settings: Settings = field(default_factory=Settings)
    display_name: str | None = None
    _backend: Backend | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def readonly(self) -> bool:
        return (self.spec.readonly or bool(self.options.get("readonly"))
                or self.options.get("permissions") == "readonly")

    @property
    def may_delete(self) -> bool:
        """`permissions: readwrite` writes but never removes (genro-storage's levels)."""
        return self.options.get("permissions", "delete") == "delete"

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    cls = backend_class(self.spec)
                    self._backend = self._call(
                        lambda: cls(self.options, name=self.name, settings=self.settings), "", retry=False
                    )
        return self._backend

    def label(self, path: str) -> str:
        """How a path on this mount is shown to the user."""
        if self.display_name is not None:
            return self.display_name + path if self.display_name.endswith("/") or not path else f"{self.display_name}/{path}"
        return f"{self.name}:{path}"

    def _call(self, func: Callable[[], T], path: str, *, retry: bool = True) -> T:
        return with_retries(
            func,
            retries=self.settings.retries if retry else 0,
            where=self.label(path),
            # Looked up at failure time: the first call is often the one that builds the backend.
            translate_error=self._translate_with_backend,
        )

    def _translate_with_backend(self, exc: BaseException, where: str) -> GenrostoreError | None:
        backend = self._backend
        return backend.translate_error(exc, where) if backend is not None else None

    def translate(self, exc: BaseException, path: str) -> GenrostoreError:
        backend = self._backend
        mapped = backend.translate_error(exc, self.label(path)) if backend is not None else None
        return mapped or translate(exc, self.label(path))

    # -- reads -------------------------------------------------------------------------------
    def info(self, path: str) -> Entry:
        return self._call(lambda: self.backend.info(path), path)

    def iterdir(self, path: str, on_skip: OnSkip | None = None) -> Iterator[Entry]:
        """The children of `path`; an unusable one is passed to `on_skip`, never yielded."""
        return self._iterate(lambda: self.backend.iterdir(path), path, on_skip, walking=False)

    def walk(self, path: str, on_skip: OnSkip | None = None, prune: Prune | None = None) -> Iterator[Entry]:
        """Everything below `path`, pre-order; an unusable entry is passed to `on_skip`, never yielded.

        A directory `prune` rejects is not yielded, nor anything below it: a hierarchical backend
        never lists it, a flat listing (object stores) has its keys below it dropped here, before
        their names are checked (an excluded key is not reported either)."""
        if prune is None:
            return self._iterate(lambda: self.backend.walk(path), path, on_skip, walking=True)
        return self._iterate(lambda: _pruned(self.backend.walk(path, prune), prune), path, on_skip, walking=True)

    def _iterate(self, make: Callable[[], Iterator[Any]], path: str, on_skip: OnSkip | None = None,
                 *, walking: bool | None = None) -> Iterator[Any]:
        """Items of a backend iterator, errors mapped; listings (`walking` set) also checked."""
        iterator = self._call(make, path)
        report = on_skip or self.settings.skip
        while True:
            try:
                entry = next(iterator)
            except StopIteration:
                return
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # mapping boundary
                raise self.translate(exc, path) from exc
            if walking is None:  # not a listing of names (incomplete uploads)
                yield entry
                continue
            problem = self._problem(entry, path, walking)
            if problem is None:
                yield entry
            elif problem:
                where = self.label(entry.path) + ("/" if entry.is_dir and not isinstance(entry, Skipped) else "")
                report(UnsafeName(f"{where}: {problem}", where=where))

    def _problem(self, entry: Entry, path: str, walking: bool) -> str | None:
        """None: usable; "": skip without a word; else why the entry is reported and skipped.

        Every name a listing returns is checked here, for every backend, before any command
        can turn it into a destination path (see `paths.listed_name_problem`).
        """
        if isinstance(entry, Skipped):
            return entry.reason.format(other=self.label(entry.other)) if entry.other is not None else entry.reason
        if self.backend.raw_paths:
            return None
        problem = listed_name_problem(entry.path, path, direct=not walking)
        if problem is None:
            return None
        if walking and entry.is_dir and self.backend.implicit_dirs:
            return ""  # a directory an object store derived from keys: each key is reported itself
        what = "directory" if entry.is_dir else "name"
        return f"listed {what} {problem}, so it cannot be used as a path; skipped"

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        return self._call(lambda: self.backend.open_read(path, offset), path)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return self._call(lambda: self.backend.read_range(path, offset, length), path)

    def open_range(self, path: str, offset: int, length: int, version: str | None = None) -> BinaryIO:
        return self._call(lambda: self.backend.open_range(path, offset, length, version), path)

    def md5(self, path: str) -> str | None:
        return self._call(lambda: self.backend.md5(path), path)

    def local_path(self, path: str) -> str | None:
        return self.backend.local_path(path)

    # -- writes: the one place that enforces read-only and dry-run -----------------------------
    def refuse_if_readonly(self, action: str, path: str) -> None:
        """Raise ReadOnly (exit 6) on a read-only mount: callers check before touching anything."""
        if self.readonly:
            kind = f"the {self.spec.type} backend is read-only" if self.spec.readonly else "the mount is read-only"
            raise ReadOnly(f"{self.label(path)}: cannot {action.split(' ')[0]}: {kind}")

    def permit(self, action: str, path: str, *, delete: bool = False) -> bool:
        """Raise on a read-only mount (or a delete on a readwrite one); in a dry run report `action`
        and return False."""
        self.refuse_if_readonly(action, path)
        if delete and not self.may_delete:
            raise ReadOnly(f"{self.label(path)}: cannot remove: the mount's permissions are readwrite",
                           hint="permissions: delete allows removing")
        if self.settings.dry_run:
            self.settings.report(f"DRY-RUN: {action}")
            return False
        return True

    def open_write(self, path: str, size_hint: int | None = None, *, action: str | None = None) -> Writer:
        if not self.permit(action or f"write {self.label(path)}", path):
            return NullWriter()
        return self._call(lambda: self.backend.open_write(path, size_hint), path, retry=False)

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        if self.permit(f"mkdir {self.label(path)}", path):
            self._call(lambda: self.backend.mkdir(path, parents=parents, exist_ok=exist_ok), path)

    def remove_file(self, path: str) -> None:
        if self.permit(f"remove {self.label(path)}", path, delete=True):
            self._call(lambda: self.backend.remove_file(path), path)

    def remove_dir(self, path: str) -> None:
        if self.permit(f"remove {self.label(path)}/", path, delete=True):
            self._call(lambda: self.backend.remove_dir(path), path)

    def remove_tree(self, path: str) -> None:
        if self.permit(f"remove {self.label(path)}/ (recursive)", path, delete=True):
            self._call(lambda: self.backend.remove_tree(path), path)

    def incomplete_uploads(self, path: str) -> Iterator[Upload]:
        return self._iterate(lambda: self.backend.incomplete_uploads(path), path)

    def abort_upload(self, upload: Upload) -> None:
        if self.permit(f"abort multipart upload {self.label(upload.path)} ({upload.upload_id})", upload.path):
            self._call(lambda: self.backend.abort_upload(upload), upload.path)

    def server_copy(self, src_path: str, dst: Mount, dst_path: str) -> bool:
        """Try a copy inside the store; the caller has already passed `dst.permit`."""
        if dst.readonly:
            raise ReadOnly(f"{dst.label(dst_path)}: the mount is read-only")
        return self._call(lambda: self.backend.server_copy(src_path, dst.backend, dst_path), src_path)

    # -- small files as coroutines (see Backend.batch_loop) -------------------------------------
    def batch_loop(self) -> Any | None:
        """The backend's event loop for batched small transfers, or None (then threads are used)."""
        if self.settings.dry_run:
            return None
        return self._call(self.backend.batch_loop, "")

    async def _acall(self, make: Callable[[], Awaitable[T]], path: str) -> T:
        return await with_retries_async(make, retries=self.settings.retries, where=self.label(path),
                                        translate_error=self._translate_with_backend)

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        return await self._acall(lambda: self.backend.read_small(path, limit), path)

    async def write_small(self, path: str, data: bytes) -> None:
        """The caller has already passed `permit` (it runs on the planning thread, not the loop)."""
        await self._acall(lambda: self.backend.write_small(path, data), path)

    async def copy_small(self, src_path: str, dst: Mount, dst_path: str) -> bool:
        if dst.readonly:
            raise ReadOnly(f"{dst.label(dst_path)}: the mount is read-only")
        return await self._acall(lambda: self.backend.copy_small(src_path, dst.backend, dst_path), src_path)

    def close(self) -> None:
        """Close the backend; a failure here (an archive that cannot be published) is an error."""
        if self._backend is not None:
            backend, self._backend = self._backend, None
            try:
                backend.close()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # mapping boundary
                mapped = backend.translate_error(exc, self.label("")) or translate(exc, self.label(""))
                raise mapped from exc
