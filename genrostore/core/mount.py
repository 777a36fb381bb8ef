"""A configured mount: the boundary where backend calls are retried, errors are mapped and
located, and every write or delete is checked against read-only and dry-run (the only such place).

Every stream, range, writer and listing a Mount hands out is wrapped (`_Stream`, `_Writer`,
`_iterate`), so an exception a backend raises at read(), write(), commit() or next() leaves as
the project's error with the user-facing location, exactly as one raised when opening it does.
The few engine paths that reach past them (os calls on a local file's path or a writer's
`fileno`) map what they raise with `Mount.bypassing`; nothing else maps errors by hand.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, BinaryIO, NoReturn, Self, TypeVar, cast

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
        return (self.backend_readonly or bool(self.options.get("readonly"))
                or self.options.get("permissions") == "readonly")

    @property
    def backend_readonly(self) -> bool:
        """The backend is read-only by design (its class declares it; no backend is built to ask)."""
        return backend_class(self.spec).features.read_only

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
                        lambda: cls(self.options, name=self.name, settings=self.settings), None, retry=False
                    )
        return self._backend

    def label(self, path: str) -> str:
        """How a path on this mount is shown to the user."""
        if self.display_name is not None:
            return self.display_name + path if self.display_name.endswith("/") or not path else f"{self.display_name}/{path}"
        return f"{self.name}:{path}"

    def locate(self, exc: BaseException, path: str | None) -> GenrostoreError:
        """The one mapping of what a backend raised while working on `path`: the project's error,
        its message led by the user-facing location. `path` None: not about a path (building the
        backend), a project error is left as it is."""
        if isinstance(exc, GenrostoreError):
            if exc.path is None:
                return exc if path is None else exc.located(self.label(path))
            own = self._backend.own_path(exc.path) if self._backend is not None else exc.path
            return exc.located(self.label(own))
        where = self.label(path or "")
        # Looked up at failure time: the first call is often the one that builds the backend.
        backend = self._backend
        mapped = backend.translate_error(exc, where) if backend is not None else None
        if mapped is None:
            return translate(exc, where)
        if mapped.where is None:
            mapped.where = where  # a backend's translator writes the `where` it is given
        return mapped

    @contextmanager
    def bypassing(self, path: str) -> Iterator[None]:
        """Map and locate, as the wrapper would, what engine code raises while it works on `path`
        past the wrapped objects: os calls on a local writer's `fileno`, `open()` of a `local_path`.

        The one helper for the few places the wrapper cannot see (each says why it needs it);
        anything that goes through a stream, writer or listing of this Mount needs none. A
        project error passes unchanged.
        """
        try:
            yield
        except GenrostoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - the mapping boundary: raised again, mapped
            _reraise(self.locate(exc, path), exc)

    def _call(self, func: Callable[[], T], path: str | None, *, retry: bool = True) -> T:
        return with_retries(
            func,
            retries=self.settings.retries if retry else 0,
            where=self.label(path or ""),
            translate_error=lambda exc, _where: self.locate(exc, path),
        )

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
            except BaseException as exc:  # noqa: BLE001 - the mapping boundary: raised again, mapped
                _reraise(self.locate(exc, path), exc)
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
        if self.backend.features.raw_paths:
            return None
        problem = listed_name_problem(entry.path, path, direct=not walking)
        if problem is None:
            return None
        if walking and entry.is_dir and self.backend.features.implicit_dirs:
            return ""  # a directory an object store derived from keys: each key is reported itself
        what = "directory" if entry.is_dir else "name"
        return f"listed {what} {problem}, so it cannot be used as a path; skipped"

    def stored_mtimes(self, entries: Iterator[Entry], path: str) -> Iterator[Entry]:
        """A listing of `path` with each file's stored mtime (see `Backend.stored_mtimes`)."""
        return self._iterate(lambda: self.backend.stored_mtimes(entries), path)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        return cast("BinaryIO", _Stream(self, path, self._call(lambda: self.backend.open_read(path, offset), path)))

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return self._call(lambda: self.backend.read_range(path, offset, length), path)

    def open_range(self, path: str, offset: int, length: int, version: str | None = None) -> BinaryIO:
        stream = self._call(lambda: self.backend.open_range(path, offset, length, version), path)
        return cast("BinaryIO", _Stream(self, path, stream))

    def md5(self, path: str) -> str | None:
        return self._call(lambda: self.backend.md5(path), path)

    def local_path(self, path: str) -> str | None:
        return self.backend.local_path(path)

    # -- writes: the one place that enforces read-only and dry-run -----------------------------
    def refuse_if_readonly(self, action: str, path: str) -> None:
        """Raise ReadOnly (exit 6) on a read-only mount: callers check before touching anything."""
        if self.readonly:
            kind = f"the {self.spec.type} backend is read-only" if self.backend_readonly else "the mount is read-only"
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

    def open_write(self, path: str, size_hint: int | None = None, *, action: str | None = None,
                   mtime: datetime | None = None) -> Writer:
        """`mtime`: the time the file is to carry (a copy's source's), kept where the backend can."""
        if not self.permit(action or f"write {self.label(path)}", path):
            return NullWriter()
        backend = self.backend
        if mtime is not None and backend.features.mtime:
            return _Writer(self, path, self._call(lambda: backend.open_write(path, size_hint, mtime=mtime), path,
                                                  retry=False))
        return _Writer(self, path, self._call(lambda: backend.open_write(path, size_hint), path, retry=False))

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

    def set_mtime(self, path: str, mtime: datetime) -> None:
        """Set a file's modification time (the SetMetadata action); Unsupported where the store cannot."""
        if self.permit(f"set mtime of {self.label(path)} to {mtime.isoformat()}", path):
            self._call(lambda: self.backend.set_mtime(path, mtime), path)

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

    def server_move(self, src_path: str, dst: Mount, dst_path: str) -> bool:
        """Try a move inside the store (Backend.server_move): permits the write on `dst` and the
        removal on this mount first; False when the store cannot (or in a dry run, reported)."""
        self.refuse_if_readonly("move", src_path)
        if not self.may_delete:
            self.permit(f"move {self.label(src_path)}", src_path, delete=True)  # raises
        if dst.readonly:
            dst.refuse_if_readonly("write", dst_path)
        if self.settings.dry_run or not self.backend.features.server_move:
            return False
        return self._call(lambda: self.backend.server_move(src_path, dst.backend, dst_path), src_path, retry=False)

    def rename_dir(self, src_path: str, dst: Mount, dst_path: str) -> bool:
        """Try a rename of a whole directory inside the store (Backend.rename_dir), with the
        checks of `server_move`; False when the store cannot."""
        self.refuse_if_readonly("move", src_path)
        if not self.may_delete:
            self.permit(f"move {self.label(src_path)}/", src_path, delete=True)  # raises
        dst.refuse_if_readonly("write", dst_path)
        if self.settings.dry_run or not self.backend.features.server_move:
            return False
        return self._call(lambda: self.backend.rename_dir(src_path, dst.backend, dst_path), src_path, retry=False)

    # -- small files as coroutines (see Backend.batch_loop) -------------------------------------
    def batch_loop(self) -> Any | None:
        """The backend's event loop for batched small transfers, or None (then threads are used)."""
        if self.settings.dry_run:
            return None
        return self._call(self.backend.batch_loop, None)

    async def _acall(self, make: Callable[[], Awaitable[T]], path: str) -> T:
        return await with_retries_async(make, retries=self.settings.retries, where=self.label(path),
                                        translate_error=lambda exc, _where: self.locate(exc, path))

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        return await self._acall(lambda: self.backend.read_small(path, limit), path)

    async def write_small(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        """The caller has already passed `permit` (it runs on the planning thread, not the loop)."""
        backend = self.backend
        if mtime is not None and backend.features.mtime:
            await self._acall(lambda: backend.write_small(path, data, mtime=mtime), path)
        else:
            await self._acall(lambda: backend.write_small(path, data), path)

    async def copy_small(self, src_path: str, dst: Mount, dst_path: str) -> bool:
        if dst.readonly:
            raise ReadOnly(f"{dst.label(dst_path)}: the mount is read-only")
        return await self._acall(lambda: self.backend.copy_small(src_path, dst.backend, dst_path), src_path)

    # -- the same as blocking calls (see Backend.blocking_small) -----------------------------------
    def blocking_small(self) -> bool:
        """Whether small files take the blocking lane; the store is checked once when they do
        (a missing bucket raises here, before any file)."""
        if self.settings.dry_run or not self.backend.blocking_small():
            return False
        self._call(self.backend.ready_small, None)
        return True

    def read_small_blocking(self, path: str, limit: int | None = None) -> bytes | None:
        return self._call(lambda: self.backend.read_small_blocking(path, limit), path)

    def write_small_blocking(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        """The caller has already passed `permit` (on the planning thread)."""
        backend = self.backend
        if mtime is not None and backend.features.mtime:
            self._call(lambda: backend.write_small_blocking(path, data, mtime=mtime), path)
        else:
            self._call(lambda: backend.write_small_blocking(path, data), path)

    def copy_small_blocking(self, src_path: str, dst: Mount, dst_path: str) -> bool:
        if dst.readonly:
            raise ReadOnly(f"{dst.label(dst_path)}: the mount is read-only")
        return self._call(lambda: self.backend.copy_small_blocking(src_path, dst.backend, dst_path), src_path)

    def close(self) -> None:
        """Close the backend; a failure here (an archive that cannot be published) is an error."""
        if self._backend is not None:
            backend, self._backend = self._backend, None
            try:
                backend.close()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - the mapping boundary: raised again, mapped
                _reraise(self.locate(exc, ""), exc)


def _reraise(mapped: GenrostoreError, exc: BaseException) -> NoReturn:
    if mapped is exc:
        raise mapped
    raise mapped from exc


class _Stream:
    """A backend's stream as the Mount hands it out: what it raises is mapped and located.

    Everything else (attributes, `fileno`, `seekable`...) is the backend stream's own."""

    def __init__(self, mount: Mount, path: str, stream: BinaryIO) -> None:
        self._mount = mount
        self._path = path
        self._stream = stream

    def _guard(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return func(*args)
        except Exception as exc:  # noqa: BLE001 - the mapping boundary: raised again, mapped
            _reraise(self._mount.locate(exc, self._path), exc)

    def read(self, size: int = -1) -> bytes:
        return self._guard(self._stream.read, size)

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._stream, "read1", None) or self._stream.read
        return self._guard(read1, size)

    def readinto(self, buffer: Any) -> int:
        return self._guard(self._stream.readinto, buffer)  # type: ignore[attr-defined]  # BinaryIO omits it; io streams have it

    def readline(self, size: int = -1) -> bytes:
        return self._guard(self._stream.readline, size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._guard(self._stream.seek, offset, whence)

    def close(self) -> None:
        self._guard(self._stream.close)

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: TracebackType | None) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Writer(Writer):
    """A backend's writer as the Mount hands it out: write/commit/abort failures mapped and
    located; other attributes (`fileno`, `final_path`, `source_mode`...) are the backend writer's."""

    _own = frozenset({"_mount", "_path", "_writer"})

    def __init__(self, mount: Mount, path: str, writer: Writer) -> None:
        object.__setattr__(self, "_mount", mount)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_writer", writer)

    def _guard(self, func: Callable[..., T], *args: Any) -> T:
        try:
            return func(*args)
        except Exception as exc:  # noqa: BLE001 - the mapping boundary: raised again, mapped
            _reraise(self._mount.locate(exc, self._path), exc)

    def write(self, data: bytes) -> None:
        self._guard(self._writer.write, data)

    def flush(self) -> None:
        self._guard(self._writer.flush)

    def wants_md5(self) -> bool:
        return self._writer.wants_md5()

    def declare_md5(self, md5: str) -> None:
        self._writer.declare_md5(md5)

    def _commit(self) -> None:
        self._guard(self._writer.commit)

    def _abort(self) -> None:
        self._guard(self._writer.abort)

    @property
    def final_path(self) -> str | None:  # the backend writer's, read and set
        return self._writer.final_path

    @final_path.setter
    def final_path(self, value: str | None) -> None:
        self._writer.final_path = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_done":  # the base's once-only flag is this wrapper's own
            object.__setattr__(self, name, value)
        else:
            setattr(self._writer, name, value)
