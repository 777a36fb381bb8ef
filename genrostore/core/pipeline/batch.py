"""Small files as coroutines on an asyncio client's event loop (s3fs, gcsfs, adlfs, aiohttp, obstore).

On worker threads each small object costs a blocking hop into the client's single loop
thread, and the threads fight over the GIL; here each one is a coroutine on that loop,
`jobs` of them in flight. A small local source is read on the loop (microseconds from the
page cache, less than a thread hand-over); downloaded files are written atomically, each
fsynced, in batches by one disk thread (pipeline/diskstage.py), which also copies small files
between local disks. Anything else takes the thread path: large files, stdin/stdout,
--no-clobber, --checksum, dry runs, read-only destinations, and pairs of stores on different
loops. A file the listing gave no size for (HTTP) is read with a cap and, when larger,
streamed on a thread after all.

A store whose client blocks with the GIL released (obstore: `Backend.blocking_small`) takes
its small files on the blocking lane instead: one file per call on `jobs` threads of this
batcher, each a single request, with the same rules, disk stage and per-file failures. Awaited
on the loop, every obstore call was a wake-up of the loop from a tokio thread: 1,000 × 4 KiB
took 0.82 / 0.71 / 0.90 s (download / upload / server copy) awaited and 0.58 / 0.64 / 0.79 s
blocking on 16 threads, bare obstore in both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import stat
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import TYPE_CHECKING, Any

from genrostore.core.actions import Copy
from genrostore.core.errors import GenrostoreError, Interrupted
from genrostore.core.pipeline import copying, read, rules
from genrostore.core.pipeline.bounded import BoundedPool
from genrostore.core.pipeline.decide import Decider, looks_at_destination
from genrostore.core.pipeline.diskstage import DiskStage
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.plan import Pair

if TYPE_CHECKING:
    import asyncio

    from genrostore.core.mount import Mount

# Larger files stream in bounded chunks on the thread path; this bounds a batch's memory to
# about jobs × BATCH_MAX_SIZE (only running transfers hold data).
BATCH_MAX_SIZE = 256 * 1024

LoopOf = Callable[["Mount"], Any]
LaneOf = Callable[["Mount"], bool]
Make = Callable[[], Any]
# Where `route` sends a pair whose store prefers blocking calls (Backend.blocking_small): the
# Batcher's pool of threads instead of an event loop.
LANE: Any = "the blocking lane"


def route(pair: Pair, options: CopyOptions, loop_of: LoopOf,
          lane_of: LaneOf = lambda mount: False) -> tuple[Any, str, str | None] | None:
    """The one predicate: (event loop or LANE, how, local source path) when this pair travels
    as a coroutine or on the blocking lane, else None.

    How: "between" (both ends on one loop), "upload" (a small local file to a store),
    "download" (a store to the local disk), "local" (a small file from one local disk to
    another: no loop, the disk stage's thread copies it). Threads take everything else: large files,
    directories, stdin/stdout, a decision that must look at the destination (-n), --checksum
    (a blocking verify), dry runs, read-only destinations, and stores on different loops.
    """
    src, dst, entry = pair.src, pair.dst, pair.entry
    if (pair.error is not None or src is None or dst is None or entry is None or entry.is_dir
            or (entry.size or 0) > BATCH_MAX_SIZE or looks_at_destination(options) or options.checksum
            or src.is_stdio or dst.is_stdio or dst.mount.readonly or dst.mount.settings.dry_run):
        return None
    if src.mount.backend.features.local_disk and dst.mount.backend.features.local_disk:
        # No loop: the disk thread reads and writes it (diskstage.put_local). Not a size of 0:
        # a FIFO, socket or device lists so, and reading one may wait forever (threads take it).
        path = _local_path(src) if entry.size else None
        return (None, "local", path) if path is not None else None
    src_lane, dst_lane = lane_of(src.mount), lane_of(dst.mount)
    if dst_lane and src.mount.backend.features.local_disk:
        path = _local_path(src)
        return (LANE, "upload", path) if path is not None else None
    if src_lane and (dst_lane or dst.mount.backend.features.local_disk):
        return LANE, ("between" if dst_lane else "download"), None
    src_loop, dst_loop = loop_of(src.mount), loop_of(dst.mount)
    if (src_loop is None and dst_loop is None) or (entry.size is None and src_loop is None):
        return None  # an unknown size is found out by a batched read, capped at BATCH_MAX_SIZE
    if src_loop is not None and dst_loop is not None:
        return (src_loop, "between", None) if src_loop is dst_loop else None
    if dst_loop is not None:
        path = _local_path(src)
        return (dst_loop, "upload", path) if path is not None else None
    if dst.mount.backend.features.local_disk:  # its writer resolves (and jails) the path itself
        return src_loop, "download", None
    return None


class Batcher:
    """Takes eligible pairs (`submit` is False for a pair threads must take) and runs them in chunks.

    A chunk is one hand-over to the loop: a cross-thread wake-up per chunk, not per file, keeps
    the planning thread and the loop thread from trading the GIL a thousand times.
    """

    def __init__(self, options: CopyOptions, finish: Callable[[Any, bool | BaseException], None], jobs: int) -> None:
        self.options = options
        self.finish = finish  # (the token given to `take`, True or the failure)
        self.jobs = jobs
        self.chunk = 2 * jobs
        self._loops: dict[int, Any] = {}
        self._queued: dict[int, tuple[Any, list[tuple[Callable[[], Any], Any]]]] = {}
        self._running: list[Future[None]] = []
        self._slots: dict[int, asyncio.Semaphore] = {}
        self._disk: ThreadPoolExecutor | None = None  # streamed fallbacks (a file larger than listed)
        self._stage: DiskStage | None = None  # downloaded small files, small local copies
        self._disk_busy = 0  # disk-pool calls running now (their writers may hold temp files)
        self._disk_idle = threading.Condition()
        self._lanes: dict[int, bool] = {}
        self._lane: BoundedPool | None = None  # the blocking lane (Backend.blocking_small)

    def _loop_of(self, mount: Mount) -> Any:
        key = id(mount)
        if key not in self._loops:
            try:
                self._loops[key] = mount.batch_loop() if mount.backend.features.async_client else None
            except GenrostoreError:  # e.g. a missing bucket: the thread path reports it per file
                self._loops[key] = None
        return self._loops[key]

    def _lane_of(self, mount: Mount) -> bool:
        key = id(mount)
        if key not in self._lanes:
            try:
                self._lanes[key] = mount.blocking_small()  # no event loop: the lane needs none
            except GenrostoreError:  # e.g. a missing bucket: the thread path reports it per file
                self._lanes[key] = False
        return self._lanes[key]

    def submit(self, pair: Pair, decide: Decider) -> bool:
        """Take `pair` when `route` sends it to an event loop; False: a worker thread takes it."""
        how = route(pair, self.options, self._loop_of, self._lane_of)
        if how is None:
            return False
        action = decide(pair, self.options)  # needs no look at the destination (see route)
        return isinstance(action, Copy) and self._queue(action, pair, how)

    def take(self, action: Copy, token: Any) -> bool:
        """Take an already decided Copy when `route` admits it (sync's plan decides before the
        executor sees it); `finish(token, ...)` hears how it ended. False: threads take it."""
        how = route(Pair(action.src, action.dst, action.entry), self.options, self._loop_of, self._lane_of)
        return how is not None and self._queue(action, token, how)

    def _queue(self, action: Copy, token: Any, how: tuple[Any, str, str | None]) -> bool:
        if not rules.admit("copy", action.src, action.dst):
            return False
        loop, kind, path = how
        if loop is LANE:
            self._lane_submit(kind, action, token, path)
            return True
        if kind == "local":
            assert path is not None
            self._disk_stage().put_local(action, path, BATCH_MAX_SIZE, functools.partial(self._local_done, action, token))
            return True
        make: Make
        if kind == "between":
            make = functools.partial(self._between, action)
        elif kind == "upload":
            assert path is not None
            make = functools.partial(self._upload, action, path)
        else:
            make = functools.partial(self._download, action)
        _, queued = self._queued.setdefault(id(loop), (loop, []))
        queued.append((make, token))
        if len(queued) >= self.chunk:
            self._flush(id(loop))
        return True

    def _flush(self, key: int) -> None:
        import asyncio  # here, not at the top: the blocking lane and local copies never need it

        loop, queued = self._queued.pop(key)
        self._running.append(asyncio.run_coroutine_threadsafe(self._run_chunk(queued), loop))
        if len(self._running) > 4:  # a bounded queue: a listing streams in as chunks complete
            done, _ = wait(self._running, return_when=FIRST_COMPLETED)
            self._running = [future for future in self._running if future not in done]

    def drain(self) -> None:
        """Start what is queued and wait until every batched file is done."""
        for key in list(self._queued):
            self._flush(key)
        wait(self._running)
        for future in self._running:
            future.result()  # failures were recorded per file; only a bug in this module lands here
        self._running = []
        if self._lane is not None:
            self._lane.join()
        if self._stage is not None:
            self._stage.join()

    def _local_done(self, action: Copy, token: Any, failure: BaseException | None) -> None:
        """A local copy the disk stage finished (on its thread)."""
        if failure is not None:
            self.finish(token, failure)
            return
        if action.entry is not None:
            self.options.advance(action.entry.size or 0)
        self.finish(token, True)

    def cancel(self) -> None:
        """Ctrl-C: queued files never start, running coroutines are cancelled on their loop."""
        self._queued.clear()
        for future in self._running:
            future.cancel()
        if self._lane is not None:
            self._lane.shutdown(wait=False, cancel=True)

    async def _run_chunk(self, items: list[tuple[Callable[[], Any], Any]]) -> None:
        import asyncio

        await asyncio.gather(*(self._guarded(make, token) for make, token in items))

    async def _guarded(self, make: Callable[[], Any], token: Any) -> None:
        try:
            await make()
        except Exception as exc:  # noqa: BLE001 - recorded against the file, like a worker's failure
            self.finish(token, exc)
            return
        self.finish(token, True)

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One of the `jobs` request slots of this loop; held for the requests only, not disk work."""
        import asyncio

        key = id(asyncio.get_running_loop())
        slots = self._slots.get(key)
        if slots is None:  # made on the loop's own thread, where it is used
            slots = self._slots[key] = asyncio.Semaphore(self.jobs)
        async with slots:
            if self.options.cancel.is_set():
                raise Interrupted("interrupted")
            yield

    async def _upload(self, action: Copy, path: str) -> None:
        """A small local file is read on the loop: microseconds, cheaper than a thread hand-over."""
        src, dst = action.src, action.dst
        async with self._turn():
            # os calls on the local path: past the Mount's wrapper
            with src.mount.bypassing(src.path):
                data = _read_regular(path)
            if data is not None:
                rules.before_publish(dst, self.options)
                await dst.mount.write_small(dst.path, data, mtime=_mtime(action))
                self.options.advance(len(data))
                return
        await self._streamed(action)  # it grew since it was listed, or is not a regular file

    async def _between(self, action: Copy) -> None:
        src, dst = action.src, action.dst
        async with self._turn():
            rules.before_publish(dst, self.options)
            if await src.mount.copy_small(src.path, dst.mount, dst.path):
                self.options.advance(action.entry.size or 0 if action.entry is not None else 0)
                return
            data = await src.mount.read_small(src.path, BATCH_MAX_SIZE)
            if data is not None:
                rules.before_publish(dst, self.options)
                await dst.mount.write_small(dst.path, data, mtime=_mtime(action))
                self.options.advance(len(data))
                return
        await self._streamed(action)

    async def _download(self, action: Copy) -> None:
        """The slot is given back before the local write: the next GET need not wait for it."""
        async with self._turn():
            data = await action.src.mount.read_small(action.src.path, BATCH_MAX_SIZE)
        if data is None:
            await self._streamed(action)
            return
        await self._disk_stage().write(action.dst, data, _mtime(action))
        self.options.advance(len(data))

    async def _streamed(self, action: Copy) -> None:
        """Larger than a batch after all (the listing gave no size, or the file grew): the
        thread path's streamed copy, on the disk pool."""
        entry = action.entry
        # The size is dropped (it changed), the mtime kept for the destination.
        unsized = Copy(action.src, action.dst, None if entry is None else dataclasses.replace(entry, size=None),
                       action.reason)
        await self._on_disk(lambda: copying.copy(unsized, self.options))

    async def _on_disk(self, work: Callable[[], object]) -> None:
        """Run local disk work on the disk pool, counted so Ctrl-C can wait for it to abort cleanly."""
        def counted() -> None:
            self._count_busy(1)
            try:
                work()
            finally:
                self._count_busy(-1)

        import asyncio

        await asyncio.get_running_loop().run_in_executor(self._disk_pool(), counted)

    # -- the blocking lane: a small file per thread, blocking calls (Backend.blocking_small) ------
    def _lane_submit(self, kind: str, action: Copy, token: Any, path: str | None) -> None:
        """Run one file on the lane's `jobs` threads; the planning thread waits while `jobs` × 4
        are queued, so a streamed listing keeps memory flat."""
        if self._lane is None:
            self._lane = BoundedPool(self.jobs, self.jobs * 4, "genrostore-lane")
        self._lane.submit(self._lane_one, kind, action, token, path)

    def _lane_one(self, kind: str, action: Copy, token: Any, path: str | None) -> None:
        try:
            if self.options.cancel.is_set():
                raise Interrupted("interrupted")
            if kind == "upload":
                assert path is not None
                self._upload_blocking(action, path)
            elif kind == "between":
                self._between_blocking(action)
            else:
                self._download_blocking(action, token)
                return  # the disk stage tells `finish` once the file is published
        except Exception as exc:  # noqa: BLE001 - recorded against the file, like a worker's failure
            self.finish(token, exc)
            return
        self.finish(token, True)

    def _upload_blocking(self, action: Copy, path: str) -> None:
        src, dst = action.src, action.dst
        with src.mount.bypassing(src.path):  # os calls on the local path: past the Mount's wrapper
            data = _read_regular(path)
        if data is None:
            self._streamed_here(action)  # it grew since it was listed, or is not a regular file
            return
        rules.before_publish(dst, self.options)
        dst.mount.write_small_blocking(dst.path, data, mtime=_mtime(action))
        self.options.advance(len(data))

    def _between_blocking(self, action: Copy) -> None:
        src, dst = action.src, action.dst
        rules.before_publish(dst, self.options)
        if src.mount.copy_small_blocking(src.path, dst.mount, dst.path):
            self.options.advance(action.entry.size or 0 if action.entry is not None else 0)
            return
        data = src.mount.read_small_blocking(src.path, BATCH_MAX_SIZE)
        if data is None:
            self._streamed_here(action)
            return
        rules.before_publish(dst, self.options)
        dst.mount.write_small_blocking(dst.path, data, mtime=_mtime(action))
        self.options.advance(len(data))

    def _download_blocking(self, action: Copy, token: Any) -> None:
        """The GET on this thread; the disk stage publishes the file and calls `finish`."""
        data = action.src.mount.read_small_blocking(action.src.path, BATCH_MAX_SIZE)
        if data is None:
            self._streamed_here(action)
            self.finish(token, True)
            return

        def published(failure: BaseException | None) -> None:
            if failure is not None:
                self.finish(token, failure)
                return
            self.options.advance(len(data))
            self.finish(token, True)

        self._disk_stage().put_data(action.dst, data, _mtime(action), published)

    def _streamed_here(self, action: Copy) -> None:
        """`_streamed` on this lane thread, counted so Ctrl-C waits for its writer to abort."""
        entry = action.entry
        unsized = Copy(action.src, action.dst, None if entry is None else dataclasses.replace(entry, size=None),
                       action.reason)
        self._count_busy(1)
        try:
            copying.copy(unsized, self.options)
        finally:
            self._count_busy(-1)

    def settle(self, timeout: float) -> None:
        """After Ctrl-C: let running disk writes see the cancel flag and remove their temp files.

        The process leaves by os._exit right after, which would otherwise kill a writer between
        creating its temp file and aborting it.
        """
        if self._disk is not None:
            self._disk.shutdown(wait=False, cancel_futures=True)
        with self._disk_idle:
            self._disk_idle.wait_for(lambda: self._disk_busy == 0, timeout)

    def _disk_pool(self) -> ThreadPoolExecutor:
        if self._disk is None:  # only the loop's thread gets here
            # Few threads: more only trade the GIL with the loop (measured), the fsyncs still overlap.
            self._disk = ThreadPoolExecutor(max_workers=min(self.jobs, 4), thread_name_prefix="genrostore-disk")
        return self._disk

    def _disk_stage(self) -> DiskStage:
        with self._disk_idle:  # the loop's thread (downloads) or the planning thread (local copies)
            if self._stage is None:
                self._stage = DiskStage(self.options, self._count_busy)
            return self._stage

    def _count_busy(self, change: int) -> None:
        with self._disk_idle:
            self._disk_busy += change
            self._disk_idle.notify_all()

    def close(self) -> None:
        """Stop the disk pool and stage; after Ctrl-C queued writes are dropped, not waited for."""
        if self._lane is not None:
            interrupted = self.options.cancel.is_set()
            self._lane.shutdown(wait=not interrupted, cancel=interrupted)
        if self._stage is not None:
            self._stage.close()  # after Ctrl-C its queued files are refused at once
        if self._disk is not None:
            interrupted = self.options.cancel.is_set()
            self._disk.shutdown(wait=not interrupted, cancel_futures=interrupted)


def _mtime(action: Copy) -> datetime | None:
    """The source's mtime, which the destination keeps where its backend can."""
    return None if action.entry is None or action.src.is_stdio else action.entry.mtime


def _read_regular(path: str) -> bytes | None:
    """A small regular file's bytes; None when it grew past the batch limit or is not a regular
    file (a FIFO lists with size 0: opened without blocking, it goes to the streamed copy)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        os.set_blocking(fd, True)
        return read.read_upto(fd, BATCH_MAX_SIZE, st.st_size, stat_size=True)
    finally:
        os.close(fd)


def _local_path(node: Any) -> str | None:
    """The node's OS path; None also when it is refused (a symlink out of the mount), which the thread path reports."""
    try:
        return node.mount.local_path(node.path)
    except GenrostoreError:
        return None
