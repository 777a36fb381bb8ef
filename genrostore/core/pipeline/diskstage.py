"""Small files written to the local disk in batches, by one thread: downloads, and local copies.

A pool of disk threads cost each file two hand-overs (loop → pool → loop) and four threads
trading the GIL with the loop and the store client's own threads: 1,000 small files made
about 200,000 `futex` calls against the bare requests' 35,000. Here the loop appends each
file it has downloaded to a queue and one thread takes what has gathered: it writes every
file of the batch to its temp file, makes them durable with one flush of their file system,
then publishes each (the rename `rules.write_with` would do; first its own fsync, unless that
flush proved the file on disk without error: `durable.flush_batch`). The loop hears of a
whole batch in one wake-up. Files that arrive while a batch is written form the next one, so
a batch is as large as the disk is slow.

A small local file copied to a local disk (cp -r, sync) is read by the same thread from its
source path instead (`put_local`): 1,000 copies then cost one thread's system calls, not four
threads trading the GIL and one future each.

Nothing is weaker than the one-file path: each file is still written through its mount's
atomic writer, fsynced before it is renamed, refused after Ctrl-C, and fails on its own.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from genrostore.core import durable
from genrostore.core.actions import Copy
from genrostore.core.backend import Writer
from genrostore.core.errors import Interrupted, Unsupported
from genrostore.core.pipeline import copying, read, rules
from genrostore.core.pipeline.options import CopyOptions

if TYPE_CHECKING:
    import asyncio

    from genrostore.core.node import Node

# At most this many temp files are open at once (a file descriptor each).
MAX_BATCH = 128
# Local copies wait (the planning thread does) while this many are queued: memory stays flat.
MAX_QUEUED = 4 * MAX_BATCH

Done = Callable[[BaseException | None], None]


@dataclass
class _Item:
    dst: Node
    data: bytes | None  # None: read from `local.src` on the disk thread
    mtime: datetime | None
    loop: asyncio.AbstractEventLoop | None = None  # an awaited write: its future is resolved there
    future: asyncio.Future[None] | None = None
    local: Copy | None = None  # a local copy: `done` is called on the disk thread
    source: str | None = None
    limit: int = 0
    done: Done | None = None
    failure: BaseException | None = None
    writer: Writer | None = field(default=None, repr=False)
    grew: bool = False  # larger than its batch allows by the time it was read: streamed instead


class DiskStage:
    """One writer thread for a Batcher: downloads (`write`, awaited on the loop) and local
    copies (`put_local`, from the planning thread)."""

    def __init__(self, options: CopyOptions, busy: Callable[[int], None]) -> None:
        self.options = options
        self._busy = busy  # +1 / -1 around disk work, so Ctrl-C waits for temp files to be removed
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        self._writing = False

    async def write(self, dst: Node, data: bytes, mtime: datetime | None) -> None:
        """Publish `data` at `dst` atomically; returns when it is on disk under its name."""
        import asyncio  # here, not at the top: the blocking lane and local copies never need it

        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._enqueue(_Item(dst, data, mtime, loop=loop, future=future))
        await future

    def put_data(self, dst: Node, data: bytes, mtime: datetime | None, done: Done) -> None:
        """Publish `data` at `dst` atomically; `done(failure or None)` is called on the disk
        thread once it is (the blocking lane's downloads). Blocks while the queue is full."""
        self._enqueue(_Item(dst, data, mtime, done=done), wait=True)

    def put_local(self, action: Copy, source: str, limit: int, done: Done) -> None:
        """Copy the local file `source` (at most `limit` bytes, else streamed) to `action.dst`;
        `done(failure or None)` is called on the disk thread. Blocks while the queue is full."""
        entry = action.entry
        self._enqueue(_Item(action.dst, None, None if entry is None else entry.mtime, local=action,
                            source=source, limit=limit, done=done), wait=True)

    def _enqueue(self, item: _Item, wait: bool = False) -> None:
        with self._cond:
            if self._closed:
                raise Interrupted("interrupted")
            while wait and len(self._queue) >= MAX_QUEUED:
                self._cond.wait()
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="genrostore-disk", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def join(self) -> None:
        """Wait until every file handed over so far is published or failed."""
        with self._cond:
            while self._queue or self._writing:
                self._cond.wait()

    def close(self) -> None:
        """No new files; what is queued is still written (after Ctrl-C: refused, temp files removed)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                self._writing = True
                self._cond.notify_all()  # room in the queue
                self._busy(1)
            try:
                self._write(batch)
                self._stream_grown(batch)
            except BaseException as exc:  # noqa: BLE001 - a bug here must still reach each file's caller
                for item in batch:
                    item.failure = item.failure or exc
            finally:
                self._busy(-1)
            _resolve_soon(batch)
            with self._cond:
                self._writing = False
                self._cond.notify_all()

    def _write(self, batch: list[_Item]) -> None:
        opened: list[_Item] = []
        try:
            for item in batch:
                self._fill(item)
                if item.writer is not None:
                    opened.append(item)
            if len(opened) > 1:  # one journal commit for all; a lone file fsyncs in its commit
                _flush(opened)
            for item in opened:
                self._publish(item)
        finally:
            for item in opened:  # after Ctrl-C or a bug: no temp file stays behind
                if item.writer is not None:
                    self._drop(item)

    def _fill(self, item: _Item) -> None:
        options = self.options
        try:
            options.check_cancelled()
            mode = None
            if item.data is None:
                mode = self._read_local(item)
                if item.grew:
                    return
            data = item.data
            assert data is not None
            writer = item.dst.mount.open_write(item.dst.path, len(data), mtime=item.mtime)
            with options.active_lock:
                options.active.add(writer)
            item.writer = writer
            if mode is not None:  # like cp: a new file takes its source's mode bits
                writer.source_mode = mode  # type: ignore[attr-defined]  # a local writer
            writer.write(data)
            writer.flush()  # in the kernel before the file system is flushed
        except Exception as exc:  # noqa: BLE001 - this file fails; the batch goes on
            item.failure = exc
            if item.writer is not None:
                self._drop(item)

    @staticmethod
    def _read_local(item: _Item) -> int:
        """Read a local copy's source; its mode bits. Past the mount's wrapper: its own mapping."""
        action = item.local
        assert action is not None and item.source is not None
        with action.src.mount.bypassing(action.src.path):
            # Non-blocking: a FIFO listed as a file must not stop the one disk thread for all.
            fd = os.open(item.source, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise Unsupported(f"{action.src.fullpath}: not a regular file (a FIFO, socket or device); "
                                      "not copied")
                os.set_blocking(fd, True)
                mode = stat.S_IMODE(st.st_mode)
                data = read.read_upto(fd, item.limit, st.st_size, stat_size=True)
            finally:
                os.close(fd)
        if data is None:
            item.grew = True
        else:
            item.data = data
        return mode

    def _stream_grown(self, batch: list[_Item]) -> None:
        """A local file that grew past the batch limit since it was listed: the streamed copy."""
        for item in batch:
            if item.grew and item.failure is None and item.local is not None:
                entry = item.local.entry
                unsized = dataclasses.replace(item.local, entry=None if entry is None
                                              else dataclasses.replace(entry, size=None))
                try:
                    copying.copy(unsized, self.options)
                except Exception as exc:  # noqa: BLE001 - this file fails; the batch goes on
                    item.failure = exc

    def _publish(self, item: _Item) -> None:
        writer = item.writer
        assert writer is not None
        try:
            rules.before_publish(item.dst, self.options)
            writer.commit()
            item.dst._adopt(writer)
        except Exception as exc:  # noqa: BLE001 - this file fails; the batch goes on
            item.failure = exc
        finally:
            self._drop(item)

    def _drop(self, item: _Item) -> None:
        """Abort the writer unless it was committed (abort after commit does nothing) and forget it."""
        writer, item.writer = item.writer, None
        if writer is None:
            return
        try:
            writer.abort()
        except Exception as exc:  # noqa: BLE001 - the temp file's removal failed: this file failed
            item.failure = item.failure or exc
        finally:
            with self.options.active_lock:
                self.options.active.discard(writer)


def _flush(opened: list[_Item]) -> None:
    """One syncfs for the batch. Where it proves the files on disk without error (see
    `durable.flush_batch`), those on its file system, all opened after the first, skip their
    own fsync; anything else fsyncs in its commit, now with little left to write."""
    first = opened[0].writer
    fd, device = getattr(first, "fileno", None), getattr(first, "device", None)
    if not isinstance(fd, int) or device is None:
        return
    on = device()
    if not durable.flush_batch(fd, on):
        return
    for item in opened:
        writer = item.writer
        of = getattr(writer, "device", None)
        if writer is not None and of is not None and of() == on:
            writer.flushed_by_syncfs = True  # type: ignore[attr-defined]  # a local writer (it has `device`)


def _resolve_soon(batch: list[_Item]) -> None:
    """Local copies hear now; awaited writes in one wake-up per loop for the whole batch."""
    by_loop: dict[int, tuple[asyncio.AbstractEventLoop, list[_Item]]] = {}
    for item in batch:
        if item.done is not None:
            item.done(item.failure)
        elif item.loop is not None:
            by_loop.setdefault(id(item.loop), (item.loop, []))[1].append(item)
    for loop, items in by_loop.values():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            pass


def _resolve(items: list[_Item]) -> None:
    for item in items:
        if item.future is None or item.future.done():  # cancelled meanwhile (Ctrl-C)
            continue
        if item.failure is None:
            item.future.set_result(None)
        else:
            item.future.set_exception(item.failure)
