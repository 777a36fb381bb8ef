"""The one parallel-range download (cat of a large object, and its copy to a local file).

A large remote object is fetched in concurrent ranges. The process-wide memory budgets live
here, with the only code that spends them: every parallel transfer of the process shares
them, so memory stays bounded whatever -j is. Every range is of the version the listing saw:
pinned by the store (If-Match) where it can, else checked once all ranges are in
(`check_unchanged`); a change raises SourceChanged, so nothing mixing two versions is ever
published or printed.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import TYPE_CHECKING

from genrostore.core.backend import CHUNK_SIZE, Entry
from genrostore.core.errors import SourceChanged

if TYPE_CHECKING:
    from genrostore.core.node import Node

PARALLEL_THRESHOLD = 64 * CHUNK_SIZE  # remote objects from 64 MiB are fetched in parallel ranges
RANGE_PART = 8 * CHUNK_SIZE
RANGE_WORKERS = 4
# Range buffers held at once by the whole process (every parallel transfer shares them).
RANGE_BUDGET = threading.BoundedSemaphore(8)
# Stores that stream a range (Backend.open_range) write parts as they arrive: a part holds
# one chunk, so parts can be larger (fewer requests) and more of them in flight.
STREAM_PART = 32 * CHUNK_SIZE
STREAM_WORKERS = 4
STREAM_BUDGET = threading.BoundedSemaphore(16)

Put = Callable[[int, bytes], None]  # (offset in the object, bytes)


def worth_ranges(node: Node, length: int) -> bool:
    """Large enough, and remote (a local file is read by the kernel, not in ranges)."""
    return not node.is_stdio and length >= PARALLEL_THRESHOLD and node.mount.local_path(node.path) is None


def download(node: Node, entry: Entry, put: Put, *, check: Callable[[], None] = lambda: None,
             done: Callable[[int, int], None] = lambda offset, length: None) -> None:
    """The whole object, parts fetched concurrently and handed to `put` as they arrive (any order).

    For a destination that writes at an offset (a local file). A store that streams a range
    has each part's chunks put as they arrive (a part holds one chunk of memory); others
    fetch a whole part with `read_range`, holding a slot of RANGE_BUDGET. `check` runs
    between chunks (cancellation); `done(offset, length)` after each part.
    """
    size = entry.size or 0
    backend = node.mount.backend
    streamed = backend.features.streaming_ranges
    version = entry.version if backend.features.pins_versions else None
    part = STREAM_PART if streamed else RANGE_PART

    def fetch(offset: int) -> None:
        length = min(part, size - offset)
        with STREAM_BUDGET if streamed else RANGE_BUDGET:
            _fetch(node, offset, length, version, streamed, put, check)
        done(offset, length)

    pool = ThreadPoolExecutor(max_workers=STREAM_WORKERS if streamed else RANGE_WORKERS,
                              thread_name_prefix="genrostore-range")
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
        check_unchanged(node, entry)


def download_in_order(node: Node, entry: Entry, start: int, length: int, sink: Callable[[bytes], None]) -> None:
    """`length` bytes from `start`, fetched concurrently, written to `sink` strictly in order.

    At most RANGE_WORKERS + 1 parts are held, so memory stays bounded whatever the size. The
    last part leaves only once the version is known to be unchanged: a replaced object fails
    the read rather than emitting a mix.
    """
    backend = node.mount.backend
    version = entry.version if backend.features.pins_versions and backend.features.streaming_ranges else None
    end = start + length

    def fetch(offset: int, size: int) -> bytes:
        parts: list[bytes] = []
        with RANGE_BUDGET:  # the part is held whole until its turn comes
            _fetch(node, offset, size, version, version is not None, lambda _, data: parts.append(data),
                   lambda: None)
        return b"".join(parts)

    window: collections.deque[Future[bytes]] = collections.deque()
    with ThreadPoolExecutor(max_workers=RANGE_WORKERS, thread_name_prefix="genrostore-range") as pool:
        for offset in range(start, end, RANGE_PART):
            window.append(pool.submit(fetch, offset, min(RANGE_PART, end - offset)))
            if len(window) > RANGE_WORKERS:
                sink(window.popleft().result())
        last = None
        while window:
            if last is not None:
                sink(last)
            last = window.popleft().result()
        if version is None:
            check_unchanged(node, entry)
        if last is not None:
            sink(last)


def _fetch(node: Node, offset: int, length: int, version: str | None, streamed: bool, put: Put,
           check: Callable[[], None]) -> None:
    """One part: streamed chunk by chunk (of `version` when given), or read whole; a short one
    means the object changed. The caller holds the part's slot of the memory budget."""
    check()
    if not streamed:
        data = node.mount.read_range(node.path, offset, length)
        if len(data) != length:
            raise SourceChanged(f"{node.fullpath}: the object changed while being read (short range)")
        put(offset, data)
        return
    end = offset + length
    with node.mount.open_range(node.path, offset, length, version) as stream:
        while offset < end:
            chunk = stream.read(min(CHUNK_SIZE, end - offset))
            if not chunk:
                raise SourceChanged(f"{node.fullpath}: the object changed while being read (short range)")
            put(offset, chunk)
            offset += len(chunk)
            check()


def check_unchanged(node: Node, seen: Entry) -> None:
    """Raise SourceChanged when `node` is no longer the version `seen` (size, mtime, version tag).

    For stores that cannot pin a range to a version: called once every range is read, before
    anything is published.
    """
    now = node.mount.info(node.path)
    changed = [what for what, before, after in (("size", seen.size, now.size), ("version", seen.version, now.version))
               if before is not None and after is not None and before != after]
    if seen.mtime is not None and now.mtime is not None and _moved(seen.mtime, now.mtime):
        changed.append("mtime")
    if changed:
        raise SourceChanged(f"{node.fullpath}: the file was replaced while being read ({', '.join(changed)} "
                            "changed); nothing of it was written")


def _moved(before: datetime, after: datetime) -> bool:
    """Two mtimes of one file differ, allowing for a listing and a stat that round differently."""
    gap = abs((after - before).total_seconds())
    if before.microsecond == 0 or after.microsecond == 0:  # one of them has whole seconds only
        return gap >= 1
    return gap > 0.001
