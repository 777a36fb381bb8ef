"""Downloaded small files written to the local disk in batches, by one thread.

A pool of disk threads cost each file two hand-overs (loop → pool → loop) and four threads
trading the GIL with the loop and the store client's own threads: 1,000 small files made
about 200,000 `futex` calls against the bare requests' 35,000. Here the loop appends each
file it has downloaded to a queue and one thread takes what has gathered: it writes every
file of the batch to its temp file, makes them durable with one flush of their file system,
then publishes each (its own fsync, cheap now, still reports its own error; then the rename
`rules.write_with` would do). The loop hears of a whole batch in one wake-up. Files that
arrive while a batch is written form the next one, so a batch is as large as the disk is slow.

Nothing is weaker than the one-file path: each file is still written through its mount's
atomic writer, fsynced before it is renamed, refused after Ctrl-C, and fails on its own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from genrostore.core import durable
from genrostore.core.backend import Writer
from genrostore.core.errors import Interrupted
from genrostore.core.pipeline import rules
from genrostore.core.pipeline.options import CopyOptions

if TYPE_CHECKING:
    from genrostore.core.node import Node

# At most this many temp files are open at once (a file descriptor each).
MAX_BATCH = 128


@dataclass
class _Item:
    dst: Node
    data: bytes
    mtime: datetime | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]
    failure: BaseException | None = None
    writer: Writer | None = field(default=None, repr=False)


class DiskStage:
    """One writer thread for a Batcher's downloads; `write` is awaited on the loop."""

    def __init__(self, options: CopyOptions, busy: Callable[[int], None]) -> None:
        self.options = options
        self._busy = busy  # +1 / -1 around disk work, so Ctrl-C waits for temp files to be removed
        self._cond = threading.Condition()
        self._queue: list[_Item] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    async def write(self, dst: Node, data: bytes, mtime: datetime | None) -> None:
        """Publish `data` at `dst` atomically; returns when it is on disk under its name."""
        loop = asyncio.get_running_loop()
        item = _Item(dst, data, mtime, loop, loop.create_future())
        with self._cond:
            if self._closed:
                raise Interrupted("interrupted")
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="genrostore-disk", daemon=True)
                self._thread.start()
            self._cond.notify()
        await item.future

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
                self._busy(1)
            try:
                self._write(batch)
            except BaseException as exc:  # noqa: BLE001 - a bug here must still reach each file's coroutine
                for item in batch:
                    item.failure = item.failure or exc
            finally:
                self._busy(-1)
            _resolve_soon(batch)

    def _write(self, batch: list[_Item]) -> None:
        opened: list[_Item] = []
        try:
            for item in batch:
                self._fill(item)
                if item.writer is not None:
                    opened.append(item)
            fd = getattr(opened[0].writer, "fileno", None) if len(opened) > 1 else None
            if isinstance(fd, int):  # one journal commit for all; a lone file fsyncs in its commit
                durable.flush_file_system(fd)
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
            writer = item.dst.mount.open_write(item.dst.path, len(item.data), mtime=item.mtime)
            with options.active_lock:
                options.active.add(writer)
            item.writer = writer
            writer.write(item.data)
            writer.flush()  # in the kernel before the file system is flushed
        except Exception as exc:  # noqa: BLE001 - this file fails; the batch goes on
            item.failure = exc
            if item.writer is not None:
                self._drop(item)

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


def _resolve_soon(batch: list[_Item]) -> None:
    """One wake-up per loop for the whole batch."""
    by_loop: dict[int, list[_Item]] = {}
    for item in batch:
        by_loop.setdefault(id(item.loop), []).append(item)
    for items in by_loop.values():
        try:
            items[0].loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # the loop is closed: nobody awaits these any more
            pass


def _resolve(items: list[_Item]) -> None:
    for item in items:
        if item.future.done():  # cancelled meanwhile (Ctrl-C)
            continue
        if item.failure is None:
            item.future.set_result(None)
        else:
            item.future.set_exception(item.failure)
