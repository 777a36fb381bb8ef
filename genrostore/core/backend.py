"""The backend contract: a small set of required operations on mount-relative POSIX paths.

Paths given to a backend are already normalised and jailed by the core (no `..`, no leading
`/`, `""` is the mount root). Backends may raise any exception: the core maps it at one
boundary (`Backend.translate_error` first, then `errors.translate`). What a backend can do
beyond the required operations is declared once, in its class's `features` (see `Features`);
the engine, the CLI and the conformance suite read that declaration and nothing else.
"""

from __future__ import annotations

import io
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from genrostore.core.errors import GenrostoreError, Unsupported
from genrostore.core.paths import basename, listed_name_problem

if TYPE_CHECKING:
    from genrostore.core.schema import BackendSpec
    from genrostore.core.settings import Settings

CHUNK_SIZE = 1024 * 1024
Prune = Callable[["Entry"], bool]  # True: a directory a walk must not yield nor enter


@dataclass(frozen=True)
class Features:
    """What a backend can do, declared once on its class (like rclone's `fs.Features`).

    The defaults say "not available"; a backend class overrides the ones it has, e.g.
    `features = Features(server_copy=True, network=True)`, or derives from its base class's with
    `dataclasses.replace`. Each capability declared by some backend is exercised by a conformance
    test (tests/conformance/test_capability_coverage.py fails the suite otherwise).
    """

    read_only: bool = False  # no write operation at all, by design (http, git, tar): writes exit 6
    dirs: bool = True  # paths form a tree with directories (False: base64, stdio)
    implicit_dirs: bool = False  # directories exist only as key prefixes: no empty ones (object stores)
    raw_paths: bool = False  # the path is data, not a POSIX path: never normalised (base64, stdio)
    server_copy: bool = False  # `server_copy` copies inside the store, no bytes through this process
    server_move: bool = False  # `server_move` moves inside the store (a rename, a server copy + delete)
    ranged_reads: bool = False  # `open_read(offset)` / `read_range` start at the offset, not at byte 0
    streaming_ranges: bool = False  # `open_range` serves one range per request, streamed as it arrives
    # `open_range(version=...)` refuses (SourceChanged) a range of any other version, so a parallel
    # download never mixes two; other stores are checked (size, mtime, version) at the end.
    pins_versions: bool = False
    atomic_rename: bool = False  # writes go to a `core.tempnames` temp file renamed into place
    mtime: bool = False  # a copy keeps the source's modification time (`open_write(mtime=)`, `set_mtime`)
    # How finely a kept mtime survives, in seconds (sync's modify window: the coarser side's).
    mtime_precision: float | None = None
    stored_md5: bool = False  # `md5` answers from what the store recorded, without reading the bytes
    async_client: bool = False  # `batch_loop` gives an asyncio loop: small files move as coroutines
    local_disk: bool = False  # `local_path` answers for every path (this machine's disk: kernel fast paths)
    network: bool = False  # every operation is a request to a server: more parallel transfers pay off
    stream: bool = False  # one sequential stream, read or written once (stdin/stdout: `-`)
    # Files cannot be removed by design (base64: the data is the path): `mv` from here refuses
    # before copying anything (exit 6), rather than copying and then failing to remove.
    no_delete: bool = False


@dataclass(frozen=True)
class Entry:
    """One file or directory as a listing or `stat` reports it."""

    path: str
    type: str  # "file" or "dir"
    size: int | None = None
    mtime: datetime | None = None  # timezone-aware
    md5: str | None = None  # hex, only when known to be the real md5 of the content
    version: str | None = None  # the store's ETag or generation: which version the listing saw

    @property
    def name(self) -> str:
        return basename(self.path)

    @property
    def is_dir(self) -> bool:
        return self.type == "dir"


@dataclass(frozen=True)
class Skipped(Entry):
    """An entry a listing found but will not yield as usable: a symlink loop, an archive member
    whose name would climb out of the archive. The core reports it (`reason`) and skips it."""

    reason: str = ""
    other: str | None = None  # a path `reason` names as `{other}` (shown as the mount shows it)


@dataclass(frozen=True)
class Upload:
    """A multipart upload that was started and never completed nor aborted (object stores)."""

    path: str  # the mount-relative key it would have written
    upload_id: str
    started: datetime | None = None  # timezone-aware


class Writer(ABC):
    """A destination being written: the bytes become visible only when `commit()` succeeds.

    Used as a context manager, it commits on success and aborts on any exception (Ctrl-C
    included), so a failed copy never leaves a partial destination. `commit` and `abort` run
    their backend's `_commit` / `_abort` exactly once between them: whichever comes first wins,
    and every later call (an abort after a failed commit, a second close) does nothing.
    """

    final_path: str | None = None  # set by backends whose write chooses the path (base64)
    _done: bool = False

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        self._commit()

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._abort()

    def flush(self) -> None:  # noqa: B027 - an optional hook: most writers buffer nothing of their own
        """Hand what was written so far to the OS (not to the destination's name): a writer that
        buffers in the process (a local temp file) overrides it, so a flush of its whole file
        system covers these bytes."""

    def wants_md5(self) -> bool:
        """True when this store records an md5 at create time and would otherwise pay a second
        request (S3 multipart: a server-side self-copy of the whole object) to add it."""
        return False

    def declare_md5(self, md5: str) -> None:
        """The hex md5 of the bytes about to be written, hashed from the source first. The
        writer checks what it was given against it before publishing. Only asked of a writer
        whose `wants_md5()` is true."""
        raise TypeError(f"{type(self).__name__} takes no md5 up front")

    @abstractmethod
    def _commit(self) -> None:
        """Publish what was written (rename into place, complete the upload)."""

    @abstractmethod
    def _abort(self) -> None:
        """Drop what was written; the destination is left as it was."""

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class FileObjectWriter(Writer):
    """A Writer over a file object whose `close()` publishes and `discard()` drops the data.

    `on_commit(written)` (the rename into place) receives the number of bytes written, so the
    backend can check the final name holds them."""

    def __init__(self, fileobj: Any, *, on_commit: Any = None, on_abort: Any = None) -> None:
        self._file = fileobj
        self._on_commit = on_commit
        self._on_abort = on_abort
        self.written = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.written += len(data)

    def _commit(self) -> None:
        self._file.close()
        if self._on_commit is not None:
            self._on_commit(self.written)

    def _abort(self) -> None:
        try:
            discard = getattr(self._file, "discard", None)
            if discard is not None:
                discard()
            else:
                self._file.close()
        finally:
            if self._on_abort is not None:
                self._on_abort()


def check_published(size: int | None, expected: int | None) -> None:
    """After a rename into place: the final name must exist and hold what was written. A server
    that answers success yet stores the file elsewhere (a name it parsed differently) is caught."""
    if size is None or (expected is not None and size != expected):
        found = "no file" if size is None else f"{size} bytes instead of {expected}"
        raise GenrostoreError(f"renamed into place, but the server shows {found} under this name "
                              "afterwards (it may have stored it under another name)")


class NullWriter(Writer):
    """What a dry run writes to."""

    def write(self, data: bytes) -> None:
        pass

    def _commit(self) -> None:
        pass

    def _abort(self) -> None:
        pass


class Backend(ABC):
    """One configured mount's connection to its storage."""

    # Declared per class; a backend whose options take a capability away (zip `mode: r`) narrows
    # it in __init__, and a mount rooted in another (relative) shows its parent's.
    features: Features = Features()

    def __init__(self, options: dict[str, Any], *, name: str, settings: Settings) -> None:
        self.options = options
        self.name = name
        self.settings = settings

    @property
    def spec(self) -> BackendSpec:
        """The SPEC declared beside the backend's class (one record, never repeated)."""
        return sys.modules[type(self).__module__].SPEC

    # -- required -------------------------------------------------------------------------
    @abstractmethod
    def info(self, path: str) -> Entry:
        """Entry for `path`; FileNotFoundError when nothing is there."""

    @abstractmethod
    def iterdir(self, path: str) -> Iterator[Entry]:
        """Direct children of the directory `path`, streamed as the backend pages them in."""

    @abstractmethod
    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        """A binary stream of the file from `offset`."""

    @abstractmethod
    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        """An atomic writer for `path`; parent directories are created as needed.

        `mtime` (only passed where `features.mtime`): the modification time the published file
        carries, set with the data (in the upload's metadata, on the temp file before the
        rename), so no second request and no window where it shows the time of the copy."""

    @abstractmethod
    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None: ...

    @abstractmethod
    def remove_file(self, path: str) -> None: ...

    @abstractmethod
    def remove_dir(self, path: str) -> None:
        """Remove an empty directory."""

    # -- optional, with working defaults -----------------------------------------------------
    def walk(self, path: str, prune: Prune | None = None) -> Iterator[Entry]:
        """Every entry below `path` in sorted pre-order (a directory, then its content), streamed.

        A directory for which `prune(entry)` is true is neither yielded nor listed (filters:
        an excluded directory is never read, so an unreadable one is no error)."""
        stack = [(path, self.iterdir(path))]
        while stack:
            parent, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                continue
            if prune is not None and entry.is_dir and prune(entry):
                continue
            yield entry
            # A name that is not one clean segment below its parent (`..`, `.`, `a/b`) is never
            # descended into: the core reports it, and following it could walk a parent again.
            if (entry.is_dir and not isinstance(entry, Skipped)
                    and listed_name_problem(entry.path, parent, direct=True) is None):
                stack.append((entry.path, self.iterdir(entry.path)))

    def remove_tree(self, path: str) -> None:
        """Remove `path` and everything below it."""
        entries = list(self.walk(path))
        for entry in entries:
            if not entry.is_dir:
                self.remove_file(entry.path)
        for entry in sorted((e for e in entries if e.is_dir), key=lambda e: e.path.count("/"), reverse=True):
            self.remove_dir(entry.path)
        if path:
            self.remove_dir(path)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with self.open_read(path, offset) as stream:
            return stream.read(length)

    def open_range(self, path: str, offset: int, length: int, version: str | None = None) -> BinaryIO:
        """A stream of the `length` bytes at `offset`, in one request (`features.streaming_ranges`).

        A large download then writes each part as it arrives instead of holding it whole.
        """
        raise self.unsupported("ranged streams")

    def md5(self, path: str) -> str | None:
        """The stored md5 when the store knows it to be the real md5 of the content."""
        return self.info(path).md5

    def stored_mtimes(self, entries: Iterator[Entry]) -> Iterator[Entry]:
        """`entries` (from this backend's listing) with the mtime a copy stored for each file,
        where the listing itself does not carry it (S3: one HEAD per object). What a long
        listing (`ls -l`, `--json`) asks for; the default has nothing more to read."""
        return entries

    def set_mtime(self, path: str, mtime: datetime) -> None:
        """Store `mtime` as the file's modification time, without touching its bytes."""
        raise self.unsupported("setting a modification time")

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """Copy without moving bytes through this process (`features.server_copy`); False when
        not possible for these two (another store, another account)."""
        return False

    def server_move(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """Move a file inside the store without its bytes passing through this process (`mv`,
        where `features.server_move`).

        False when not possible (another store, another file system): the engine then copies,
        verifies and removes. A rename replaces an existing `dst_path`, like mv(1). The default
        is a server-side copy, checked by size, then removing the source (the object stores).
        """
        if not self.server_copy(src_path, dst, dst_path):
            return False
        size, copied = self.info(src_path).size, dst.info(dst_path).size
        if size is not None and copied is not None and size != copied:
            raise OSError(f"the server-side copy has {copied} bytes, the source {size}; the source was kept")
        self.remove_file(src_path)
        return True

    def rename_dir(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """Rename a whole directory inside the store (`mv -r`); `dst_path` must not exist (a
        backend whose rename may replace refuses then). False: not possible, files move one by one."""
        return False

    def store_location(self, path: str) -> tuple[str, str] | None:
        """(the store, the path in it) when two mounts may share one store (one bucket mounted
        twice, or under a prefix of the other), so the engine sees they overlap; None: unknown."""
        return None

    def local_path(self, path: str) -> str | None:
        """The OS path when the data lives on this machine's disk (enables kernel fast paths)."""
        return None

    # -- optional: small files as coroutines on the client's event loop ------------------------
    def batch_loop(self) -> Any | None:
        """The event loop of an asyncio client, when small files can move as coroutines on it.

        Hundreds of small transfers then share one loop instead of each blocking a worker
        thread. Called from the engine's planning thread, never from the loop: it may block
        once (e.g. to check that the bucket exists). None: no batching, the engine uses threads.
        """
        return None

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        """The whole content of a small file, on `batch_loop()`.

        The engine passes `limit` when the listing gave no size (http): None then means the
        file is larger, and it is streamed on a thread instead.
        """
        raise self.unsupported("batched reads")

    async def write_small(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        """Store a small file in one request, atomically, on `batch_loop()` (`mtime` as `open_write`'s)."""
        raise self.unsupported("batched writes")

    async def copy_small(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """A server-side copy on `batch_loop()`; False when `dst` is not in the same store."""
        return False

    # -- optional: small files as blocking calls on the engine's threads ----------------------
    def blocking_small(self) -> bool:
        """True when small transfers are cheaper as blocking calls on a pool of threads than as
        coroutines on `batch_loop()`: a client that waits with the GIL released (obstore),
        where each awaited call would cost a cross-thread wake-up of the loop. The engine then
        uses the `*_blocking` twins below."""
        return False

    def ready_small(self) -> None:  # noqa: B027 - an optional hook: most stores need no check
        """Fail now, on the planning thread, when small transfers cannot work at all (an object
        store's missing bucket: exit 3 once, not a failure per file). Called once per mount
        before the blocking lane's first file; `batch_loop` makes the same check itself."""

    def read_small_blocking(self, path: str, limit: int | None = None) -> bytes | None:
        """`read_small` as a blocking call (see `blocking_small`)."""
        raise self.unsupported("batched reads")

    def write_small_blocking(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        """`write_small` as a blocking call (see `blocking_small`)."""
        raise self.unsupported("batched writes")

    def copy_small_blocking(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """`copy_small` as a blocking call; False when `dst` is not in the same store."""
        return False

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        """Map this backend's client exceptions; None falls through to the generic mapping."""
        return None

    def own_path(self, path: str) -> str:
        """The path of this mount that an error's `path` (one this backend's paths) names."""
        return path

    def close(self) -> None:  # noqa: B027 - an optional hook: most backends hold nothing to release
        """Release connections; called once when the command ends."""

    def incomplete_uploads(self, path: str) -> Iterator[Upload]:
        """Multipart uploads below `path` never completed nor aborted; a store without them has none."""
        return iter(())

    def abort_upload(self, upload: Upload) -> None:
        """Abort one of `incomplete_uploads`: its parts are deleted (and no longer billed)."""
        raise self.unsupported("multipart uploads")

    def unsupported(self, operation: str) -> Unsupported:
        return Unsupported(f"the {self.spec.type} backend does not support {operation}", path="")


class ChunkReader(io.RawIOBase):
    """Adapts an iterator of byte chunks to a readable binary stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
