"""The transfer engine: plans source→destination pairs and copies them, streamed, in parallel.

Every byte path goes through `copy_file`: server-side when both ends share a store, the
kernel's copy when both are local files, else a chunked stream into an atomic Writer.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from genrostore.core import signals
from genrostore.core.backend import CHUNK_SIZE, Entry, Writer
from genrostore.core.errors import (
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    translate,
    Interrupted,
    SourceChanged,
    TemporaryError,
    UnsafeName,
    UsageError,
)
from genrostore.core.outcome import CopyResult, raise_for
from genrostore.core.retry import backoff, gave_up

if TYPE_CHECKING:
    from genrostore.core.node import Node


class ProgressSink(Protocol):
    """Receives transfer progress; the CLI draws it, a library caller may ignore it."""

    def add_total(self, files: int, size: int | None) -> None: ...

    def advance(self, size: int) -> None: ...

    def file_done(self, name: str) -> None: ...


@dataclass
class CopyOptions:
    recursive: bool = False
    no_clobber: bool = False
    checksum: bool = False
    jobs: int = 4
    progress: ProgressSink | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    active: set[Writer] = field(default_factory=set)  # open writers, aborted on Ctrl-C
    active_lock: threading.Lock = field(default_factory=threading.Lock)

    def check_cancelled(self) -> None:
        """Workers stop at the next chunk once the user pressed Ctrl-C (their writers abort)."""
        if self.cancel.is_set():
            raise Interrupted("interrupted")


@dataclass(frozen=True)
class Pair:
    """One planned copy, or a source that could not be planned (`error` set, `dst` None)."""

    src: Node | None
    dst: Node | None
    entry: Entry | None = None
    error: GenrostoreError | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or (self.src.fullpath if self.src is not None else "?")


# -- planning -------------------------------------------------------------------------------
def destination_for(src: Node, dst: Node, *, many: bool) -> Node:
    """Where one source file lands: inside `dst` when it is a directory (or must be one)."""
    if dst.is_stdio or dst.mount.backend.raw_paths:
        return type(dst)(dst.storage, dst.mount, dst.path)
    if many or dst.trailing_slash or dst.is_dir():
        name = src.basename if not src.is_stdio else None
        if name is None:
            raise UsageError(f"{dst.fullpath}: a destination directory needs a name for standard input")
        return dst.child(name)
    return dst


def plan(sources: list[Node], dst: Node, *, recursive: bool) -> Iterator[Pair]:
    """Yield one Pair per source file, streaming directory walks; a bad source yields its error.

    A read-only destination fails the whole copy (exit 6), and a copy of a file onto itself or
    of a directory into itself is refused (exit 2), before any source is read. With several
    sources, a destination already planned is never overwritten by a later source: that one
    yields an error instead (GNU cp's "will not overwrite just-created").
    """
    if not dst.is_stdio:
        dst.mount.refuse_if_readonly("copy", dst.path)
    many = len(sources) > 1
    for src in sources:
        refuse_self_copy(src, dst, many=many, recursive=recursive)
    planned = _Planned() if many else None
    for src in sources:
        try:
            for pair in _plan_source(src, dst, many=many, recursive=recursive):
                checked = planned.check(pair) if planned is not None else pair
                if checked is not None:
                    yield checked
        except GenrostoreError as exc:
            if not many:
                raise
            yield Pair(src, None, error=exc)


class _Planned:
    """The destinations of one command so far (only when several sources could collide)."""

    def __init__(self) -> None:
        self.first_source: dict[tuple[int, str], str] = {}  # destination -> the source that claimed it

    def check(self, pair: Pair) -> Pair | None:
        """`pair`, an error Pair when a source already claimed its destination, None for a repeat."""
        if pair.dst is None or pair.src is None or pair.dst.is_stdio or (pair.entry and pair.entry.is_dir):
            return pair  # errors, stdout, and directories (made once, whoever asks first)
        key = (id(pair.dst.mount), pair.dst.path)
        first = self.first_source.get(key)
        if first is None:
            self.first_source[key] = pair.src.fullpath
            return pair
        if first == pair.src.fullpath:
            return None  # the same source named twice is copied once
        return Pair(pair.src, None, label=pair.name, error=GenrostoreError(
            f"{pair.src.fullpath}: would overwrite just-copied {pair.dst.fullpath} (from {first}); skipped",
            hint="two sources have the same name in the destination"))


def refuse_self_copy(src: Node, dst: Node, *, many: bool, recursive: bool) -> None:
    """Refuse (exit 2) a file copied onto itself and a directory copied into itself, like GNU cp."""
    if src.is_stdio or dst.is_stdio or src.mount.backend.raw_paths or dst.mount.backend.raw_paths:
        return
    src_at, dst_at = _location(src), _location(dst)
    if src_at[0] != dst_at[0] or not (_within(dst_at[1], src_at[1]) or _within(src_at[1], dst_at[1])):
        return  # cheap: only a destination on the source's own path costs a look at the source
    try:
        entry = src.info()
    except GenrostoreError:
        return  # reported when the source is planned
    if not entry.is_dir:
        target = destination_for(src, dst, many=many)
        if _location(target) == src_at:
            raise UsageError(f"{src.fullpath} and {target.fullpath} are the same file", hint="nothing was copied")
        return
    if not recursive:
        return
    root = _tree_root(src, dst, many=many)
    root_at = _location(root)
    if root_at[0] == src_at[0] and _within(root_at[1], src_at[1]):
        raise UsageError(f"cannot copy a directory, {src.fullpath}, into itself, {root.fullpath}",
                         hint="nothing was copied; choose a destination outside the source")


def _location(node: Node) -> tuple[str, str]:
    """Where a node's data lives: its real path on this machine, else its mount and path."""
    try:
        local = node.mount.local_path(node.path)
    except GenrostoreError:
        local = None
    if local is not None:
        return "", os.path.realpath(local)
    backend = node.mount.backend
    if backend.implicit_dirs:  # two mounts of one bucket (or one under a prefix of the other)
        try:
            return repr(backend.store_identity()), "/" + backend.full(node.path)  # type: ignore[attr-defined]  # object stores (implicit_dirs) have store_identity
        except (GenrostoreError, AttributeError):
            pass
    return f"{id(node.mount)}", "/" + node.path


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _tree_root(src: Node, dst: Node, *, many: bool) -> Node:
    """Where the content of the directory `src` lands (`src/` copies the content itself).

    One look at `dst` answers both questions (is it a directory, is it a file in the way).
    """
    content_only = src.trailing_slash or not src.path
    if not content_only and (many or dst.trailing_slash):
        return dst.child(src.basename)
    try:
        dst_is_dir: bool | None = dst.info().is_dir
    except (FileNotFound, DirectoryNotFound):
        dst_is_dir = None
    if dst_is_dir is False:
        raise GenrostoreError(f"cannot overwrite non-directory {dst.fullpath} with directory {src.fullpath}",
                              hint="remove the file first, or copy into a directory")
    if dst_is_dir and not content_only:
        return dst.child(src.basename)
    return dst


def _plan_source(src: Node, dst: Node, *, many: bool, recursive: bool) -> Iterator[Pair]:
    if src.is_stdio:
        yield Pair(src, destination_for(src, dst, many=many))
        return
    entry = src.info()
    if not entry.is_dir:
        yield Pair(src, destination_for(src, dst, many=many), entry)
        return
    if not recursive:
        raise UsageError(f"{src.fullpath}: is a directory", hint="use -r to copy directories")
    if dst.is_stdio:
        raise UsageError("cannot copy a directory to standard output")
    yield from _plan_tree(src, _tree_root(src, dst, many=many))


def plan_from_list(names: Iterable[str], dst: Node, *, base: Node | None = None) -> Iterator[Pair]:
    """Pairs for a list of names read as they arrive (`cp --from-list`).

    With `base`, each name is relative to it and keeps its relative path under `dst` (like
    rclone's --files-from); such a name must stay below both: `..` that would climb above
    them is reported and skipped. Without, each name is an address and `dst` receives
    basenames. A destination already planned is never overwritten by a later name.
    """
    storage = dst.storage
    planned = _Planned()
    for raw in names:
        name = raw.rstrip("\r\n")
        if not name.strip() or name.startswith("#"):
            continue
        try:
            if base is not None:
                relative = _below(name, base)
                src, target = base.child(relative), dst.child(relative)
            else:
                src = storage.node(name)
                target = destination_for(src, dst, many=True)
            checked = planned.check(Pair(src, target, src.info()))
            if checked is not None:
                yield checked
        except GenrostoreError as exc:
            yield Pair(None, None, error=exc, label=name)


def _below(name: str, base: Node) -> str:
    """`name` relative to the list's SRC: `./a`, `/a` and `a/../b` are fine, climbing out is not."""
    from genrostore.core.paths import normalize

    if "\x00" in name:
        raise UsageError(f"{name!r}: names cannot contain NUL bytes")
    try:
        relative = normalize(name)
    except UsageError:
        raise UsageError(f"{name}: leaves {base.fullpath} ('..'); skipped",
                         hint="names in a list stay below SRC and DST") from None
    if not relative:
        raise UsageError(f"{name}: names {base.fullpath} itself, not a file in it; skipped")
    return relative


def _plan_tree(src: Node, root: Node) -> Iterator[Pair]:
    """The files below `src`, and its empty directories where `root`'s store has directories.

    Every listed name was checked by the mount (`Mount.walk`): an unusable one (`..`, `.`,
    an empty segment, a symlink loop) arrives here as an error Pair, so it is reported and
    counted, and never becomes a destination path.
    """
    from genrostore.core.node import Node

    skipped: list[UnsafeName] = []
    backend = root.mount.backend
    make_dirs = not root.is_stdio and backend.supports_dirs and not backend.implicit_dirs
    prefix = len(src.path) + 1 if src.path else 0
    empty: Entry | None = Entry(src.path, "dir")  # the last directory seen, until something is below it
    for entry in src.mount.walk(src.path, on_skip=skipped.append):
        while skipped:
            error = skipped.pop(0)
            yield Pair(None, None, error=error, label=error.where)
        if empty is not None and make_dirs and not _within("/" + entry.path, "/" + empty.path):
            yield _dir_pair(src, root, empty, prefix)
        empty = entry if entry.is_dir else None
        if not entry.is_dir:
            yield Pair(Node(src.storage, src.mount, entry.path), root.child(entry.path[prefix:]), entry)
    for error in skipped:
        yield Pair(None, None, error=error, label=error.where)
    if empty is not None and make_dirs:
        yield _dir_pair(src, root, empty, prefix)


def _dir_pair(src: Node, root: Node, entry: Entry, prefix: int) -> Pair:
    from genrostore.core.node import Node

    target = root.child(entry.path[prefix:]) if entry.path != src.path else root
    return Pair(Node(src.storage, src.mount, entry.path), target, entry)


# -- copying one file ------------------------------------------------------------------------
def copy_file(src: Node, dst: Node, *, entry: Entry | None = None, options: CopyOptions | None = None) -> bool:
    """Copy one file; False when skipped (no-clobber or dry run). Retries transient failures."""
    options = options or CopyOptions()
    if entry is not None and entry.is_dir:  # an empty source directory, recreated (cp -r)
        dst.mount.mkdir(dst.path, parents=True, exist_ok=True)
        return not dst.mount.settings.dry_run
    if options.no_clobber and not dst.is_stdio and dst.exists():
        return False
    if not dst.mount.permit(f"copy {src.fullpath} -> {dst.fullpath}", dst.path):
        return False
    retries = 0 if src.is_stdio else dst.mount.settings.retries
    attempt = 0
    while True:
        attempt += 1
        try:
            _copy_once(src, dst, entry, options)
            break
        except TemporaryError as exc:
            # A request that already spent --retries (Mount._call) is not tried N+1 times more.
            if exc.exhausted or attempt > retries:
                if attempt > 1 and not exc.exhausted:
                    raise gave_up(exc, attempt) from exc
                raise
            if isinstance(exc, SourceChanged):
                entry = src.info()  # the version to pin this time
            time.sleep(backoff(attempt))
    if options.checksum and not dst.is_stdio:
        verify(src, dst)
    return True


def _copy_once(src: Node, dst: Node, entry: Entry | None, options: CopyOptions) -> None:
    if not src.is_stdio and src.mount.server_copy(src.path, dst.mount, dst.path):
        if options.progress is not None and entry is not None and entry.size:
            options.progress.advance(entry.size)
        return

    def fill(writer: Writer) -> None:
        source_path = None if src.is_stdio else src.mount.local_path(src.path)
        fileno = getattr(writer, "fileno", None)
        if source_path is not None and fileno is not None:
            writer.source_mode = stat.S_IMODE(os.stat(source_path).st_mode)  # type: ignore[attr-defined]  # a writer with a fileno is a local one
            _kernel_copy(source_path, fileno, options)
        elif fileno is not None and _worth_ranges(src, entry):
            _parallel_download(src, fileno, entry, options)  # type: ignore[arg-type]  # _worth_ranges implies an entry
        else:
            _stream(src, dst, writer, options)

    write_with(dst, entry.size if entry is not None else None, fill, options)


def write_with(dst: Node, size: int | None, fill: Callable[[Writer], None], options: CopyOptions) -> None:
    """Open `dst`'s atomic writer, let `fill` write it, publish it; any failure aborts it.

    The writer is registered in `options.active` meanwhile, so Ctrl-C can abort it even while
    `fill` is blocked on a source that never answers.
    """
    writer = dst.mount.open_write(dst.path, size)
    with options.active_lock:
        options.active.add(writer)
    try:
        with writer:
            fill(writer)
            options.check_cancelled()  # last look before the data is published
            signals.refuse_publish(dst.fullpath)
    except GenrostoreError:
        raise
    except Exception as exc:  # a commit (full disk, a dead server) or the kernel copy
        raise dst.mount.translate(exc, dst.path) from exc
    finally:
        with options.active_lock:
            options.active.discard(writer)
    dst._adopt(writer)


def _stream(src: Node, dst: Node, writer: object, options: CopyOptions) -> None:
    progress = options.progress
    watchdog = _Watchdog(dst.mount.settings.low_speed_limit, dst.mount.settings.low_speed_time, src.fullpath)
    with src.mount.open_read(src.path) as stream:
        while True:
            try:
                chunk = stream.read(CHUNK_SIZE)
            except Exception as exc:
                raise src.mount.translate(exc, src.path) from exc
            if not chunk:
                return
            try:
                writer.write(chunk)  # type: ignore[attr-defined]  # writer: object, to spare an import
            except GenrostoreError:
                raise
            except Exception as exc:
                raise dst.mount.translate(exc, dst.path) from exc
            watchdog.tick(len(chunk))
            options.check_cancelled()
            if progress is not None:
                progress.advance(len(chunk))


def _worth_ranges(src: Node, entry: Entry | None) -> bool:
    from genrostore.core import reading

    return (not src.is_stdio and entry is not None and (entry.size or 0) >= reading.PARALLEL_THRESHOLD
            and src.mount.local_path(src.path) is None)


def _parallel_download(src: Node, out_fd: int, entry: Entry, options: CopyOptions) -> None:
    """A large remote object into a local file: ranges fetched concurrently, each written in place.

    A store that streams a range (`Backend.open_range`) has its parts written as they arrive,
    so a part holds about one chunk of memory; others fetch whole parts with `read_range`,
    each holding a slot of `reading.RANGE_BUDGET`. Both budgets are shared by every transfer
    of the process, so memory stays bounded whatever -j is.

    Every range is of the version `entry` saw: pinned by the store (If-Match) where it can,
    else checked once all ranges are in (`reading.check_unchanged`); a change raises
    SourceChanged, so nothing mixing two versions is ever published.
    """
    from concurrent.futures import ThreadPoolExecutor, wait

    from genrostore.core import reading
    from genrostore.core.writeback import start_writeback

    size = entry.size or 0
    os.ftruncate(out_fd, size)
    backend = src.mount.backend
    streamed = backend.streams_ranges
    version = entry.version if backend.pins_versions else None
    part = reading.STREAM_PART if streamed else reading.RANGE_PART

    def fetch(offset: int) -> None:
        length = min(part, size - offset)
        with reading.STREAM_BUDGET if streamed else reading.RANGE_BUDGET:
            options.check_cancelled()
            if streamed:
                _write_range(src, out_fd, offset, length, options, version)
            else:
                data = src.mount.read_range(src.path, offset, length)
                if len(data) != length:
                    raise SourceChanged(f"{src.fullpath}: the object changed while being read (short range)")
                _pwrite_all(out_fd, data, offset)
                if options.progress is not None:
                    options.progress.advance(length)
        start_writeback(out_fd, offset, length)

    workers = reading.STREAM_WORKERS if streamed else reading.RANGE_WORKERS
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genrostore-range")
    futures = [pool.submit(fetch, offset) for offset in range(0, size, part)]
    try:
        for future in futures:
            future.result()
    finally:
        for future in futures:
            future.cancel()
        wait(futures)
        pool.shutdown(wait=True)
    if version is None:
        reading.check_unchanged(src, entry)


def _write_range(src: Node, out_fd: int, offset: int, length: int, options: CopyOptions,
                 version: str | None = None) -> None:
    """One streamed range (of `version` when given), written chunk by chunk at its place in the file."""
    end = offset + length
    with src.mount.open_range(src.path, offset, length, version) as stream:
        while offset < end:
            try:
                chunk = stream.read(min(CHUNK_SIZE, end - offset))
            except Exception as exc:
                raise src.mount.translate(exc, src.path) from exc
            if not chunk:
                raise SourceChanged(f"{src.fullpath}: the object changed while being read (short range)")
            _pwrite_all(out_fd, chunk, offset)
            offset += len(chunk)
            options.check_cancelled()
            if options.progress is not None:
                options.progress.advance(len(chunk))


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    written = 0
    while written < len(view):
        written += os.pwrite(fd, view[written:], offset + written)


def _kernel_copy(source_path: str, out_fd: int, options: CopyOptions) -> None:
    """Local to local: let the kernel move the bytes (copy_file_range/sendfile), as shutil does."""
    from genrostore.core.writeback import STEP, start_writeback

    progress = options.progress
    with open(source_path, "rb") as handle:
        in_fd = handle.fileno()
        step = STEP
        position = 0
        copy_range = getattr(os, "copy_file_range", None)
        while True:
            try:
                sent = copy_range(in_fd, out_fd, step) if copy_range else os.sendfile(out_fd, in_fd, None, step)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                    raise
                copy_range = None
                try:
                    sent = os.sendfile(out_fd, in_fd, None, step)
                except OSError:
                    _plain_copy(in_fd, out_fd, progress)
                    return
            if not sent:
                return
            start_writeback(out_fd, position, sent)
            position += sent
            options.check_cancelled()
            if progress is not None:
                progress.advance(sent)


def _plain_copy(in_fd: int, out_fd: int, progress: ProgressSink | None) -> None:
    while True:
        chunk = os.read(in_fd, CHUNK_SIZE)
        if not chunk:
            return
        os.write(out_fd, chunk)
        if progress is not None:
            progress.advance(len(chunk))


class _Watchdog:
    """Fails a transfer whose rate stays below `limit` bytes/s for `window` seconds."""

    def __init__(self, limit: int, window: float, where: str) -> None:
        self.limit = limit
        self.window = window
        self.where = where
        self.start = time.monotonic()
        self.bytes = 0

    def tick(self, size: int) -> None:
        if not self.limit:
            return
        self.bytes += size
        elapsed = time.monotonic() - self.start
        if elapsed >= self.window:
            if self.bytes / elapsed < self.limit:
                raise TemporaryError(
                    f"{self.where}: transfer stalled ({self.bytes / elapsed:.0f} B/s for {elapsed:.0f} s, "
                    f"below --low-speed-limit {self.limit} B/s)"
                )
            self.start = time.monotonic()
            self.bytes = 0


def verify(src: Node, dst: Node) -> None:
    """Compare md5 of both ends; a mismatch removes the destination and fails."""
    from genrostore.core.hashing import md5_of

    if src.is_stdio:
        return
    expected, actual = md5_of(src), md5_of(dst)
    if expected != actual:
        try:
            dst.mount.remove_file(dst.path)
        finally:
            raise GenrostoreError(f"{dst.fullpath}: checksum mismatch after copy ({actual} != {expected}); removed")


# -- many files ------------------------------------------------------------------------------
def run(pairs: Iterable[Pair], options: CopyOptions) -> CopyResult:
    """Copy every pair with `options.jobs` transfers at once; failures are collected, not fatal.

    Small files between a local disk and an asyncio store (or inside one store) travel as
    coroutines on the store's event loop (`batch.Batcher`); everything else on worker threads.
    """
    result = CopyResult()
    lock = threading.Lock()
    jobs = max(1, options.jobs)

    def finish(pair: Pair, outcome: bool | BaseException) -> None:
        if isinstance(outcome, BaseException):
            failure = outcome if isinstance(outcome, GenrostoreError) else translate(outcome, pair.name)
            with lock:
                result.failures.append((pair.name, failure))
            return
        assert pair.dst is not None  # only a planned pair reaches a worker
        with lock:
            (result.copied if outcome else result.skipped).append(pair.dst)
        if options.progress is not None:
            options.progress.file_done(pair.name)

    def one(pair: Pair) -> None:
        try:
            if pair.error is not None:
                raise pair.error
            assert pair.src is not None and pair.dst is not None
            copied = copy_file(pair.src, pair.dst, entry=pair.entry, options=options)
        except Exception as exc:  # noqa: BLE001 - a worker's failure must never vanish in its future
            finish(pair, exc)
            return
        finish(pair, copied)

    def announce(pair: Pair) -> None:
        if options.progress is not None:
            options.progress.add_total(1, pair.entry.size if pair.entry else None)

    iterator = iter(pairs)
    if jobs == 1:
        with signals.cancelling(options.cancel):
            try:
                for pair in iterator:
                    announce(pair)
                    one(pair)
            except KeyboardInterrupt:
                raise Interrupted(f"{signals.describe()}; partial destinations were removed") from None
        return result
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    from genrostore.core.batch import Batcher

    pending: set[Future[None]] = set()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="genrostore-copy")
    batcher = Batcher(options, finish, jobs)
    with signals.cancelling(options.cancel):  # a second signal must not cut the clean-up short
        try:
            for pair in iterator:
                announce(pair)
                if batcher.submit(pair):
                    continue
                pending.add(pool.submit(one, pair))
                if len(pending) >= jobs * 4:  # bounded queue: listings stream, memory stays flat
                    _, pending = wait(pending, return_when=FIRST_COMPLETED)
            batcher.drain()
            wait(pending)
        except KeyboardInterrupt:
            options.cancel.set()
            batcher.cancel()
            batcher.settle(timeout=2.0)
            _interrupt(pool, pending, options)
            raise Interrupted(f"{signals.describe()}; partial destinations were removed") from None
        finally:
            batcher.close()
    pool.shutdown(wait=True)
    return result


def _interrupt(pool: object, pending: set, options: CopyOptions) -> None:
    """Stop workers; writers still blocked (on a source that stays open) are aborted from here."""
    from concurrent.futures import wait

    options.cancel.set()
    pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[attr-defined]  # pool: object, to spare an import
    wait(pending, timeout=2.0)
    with options.active_lock:
        stuck = list(options.active)
    for writer in stuck:
        try:
            writer.abort()
        except Exception:  # noqa: BLE001 - best effort while the command is being interrupted
            pass


def copy_node(src: Node, dst: Node, *, recursive: bool = False, no_clobber: bool = False,
              checksum: bool = False, jobs: int = 4, progress: ProgressSink | None = None) -> Node:
    """The library's `Node.copy_to`: one file or, with recursive, one directory tree."""
    options = CopyOptions(recursive=recursive, no_clobber=no_clobber, checksum=checksum, jobs=jobs,
                          progress=progress)
    pairs = list(plan([src], dst, recursive=recursive))
    if len(pairs) == 1 and pairs[0].src is src and pairs[0].dst is not None:
        copy_file(src, pairs[0].dst, entry=pairs[0].entry, options=options)
        return pairs[0].dst
    outcome = run(pairs, options)
    raise_for(outcome)
    return dst


def default_jobs(*mounts: object) -> int:
    """Object stores and network backends gain from many parallel transfers; disks do not."""
    remote = any(getattr(m, "spec", None) is not None and m.spec.type not in ("local", "memory", "base64", "stdio")  # type: ignore[attr-defined]  # mounts: object, to spare an import
                 for m in mounts)
    return 16 if remote else 4
