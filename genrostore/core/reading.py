"""Reading a node into a sink in chunks, with byte ranges resolved against the backend."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from genrostore.core.backend import CHUNK_SIZE, Entry
from genrostore.core.errors import SourceChanged, UsageError

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

if TYPE_CHECKING:
    from genrostore.core.node import Node


def stream_to(node: Node, sink: Callable[[bytes], None], *, offset: int | None = None,
              count: int | None = None, tail: int | None = None) -> None:
    """Write the node's bytes (or the requested range) to `sink` without holding the file."""
    start = offset or 0
    if not node.is_stdio:
        entry = node.info()
        if entry.is_dir:
            raise UsageError(f"{node.fullpath}: is a directory")
        if tail is not None:
            size = entry.size or 0
            start = max(0, size - tail)
            count = min(tail, size) if count is None else min(count, tail)
        size = entry.size or 0
        length = max(0, size - start if count is None else min(count, size - start))
        if length >= PARALLEL_THRESHOLD and node.mount.local_path(node.path) is None:
            _parallel_ranges(node, entry, start, length, sink)
            return
    elif tail is not None:
        _tail_stream(node, sink, tail)
        return
    remaining = count
    with node.mount.open_read(node.path, start) as stream:
        while remaining is None or remaining > 0:
            size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            try:
                chunk = stream.read(size)
            except Exception as exc:
                raise node.mount.translate(exc, node.path) from exc
            if not chunk:
                return
            sink(chunk)
            if remaining is not None:
                remaining -= len(chunk)


def _parallel_ranges(node: Node, entry: Entry, start: int, length: int, sink: Callable[[bytes], None]) -> None:
    """Fetch a large remote object in concurrent ranges, written out strictly in order.

    At most `RANGE_WORKERS + 1` parts are in flight, so memory stays bounded whatever the size.
    Each range is of the version `entry` saw (pinned, or checked before the last part leaves):
    a replaced object fails the read (SourceChanged) rather than emitting a mix.
    """
    from concurrent.futures import ThreadPoolExecutor

    backend = node.mount.backend
    version = entry.version if backend.features.pins_versions and backend.features.streaming_ranges else None

    def fetch(offset: int, size: int) -> bytes:
        if version is None:
            data = node.mount.read_range(node.path, offset, size)
        else:
            parts = []
            with node.mount.open_range(node.path, offset, size, version) as stream:
                got = 0
                while got < size and (chunk := stream.read(min(CHUNK_SIZE, size - got))):
                    parts.append(chunk)
                    got += len(chunk)
            data = b"".join(parts)
        if len(data) != size:
            raise SourceChanged(f"{node.fullpath}: the object changed while being read (short range)")
        return data

    offsets = range(start, start + length, RANGE_PART)
    end = start + length
    window: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=RANGE_WORKERS, thread_name_prefix="genrostore-range") as pool:
        for offset in offsets:
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


def _tail_stream(node: Node, sink: Callable[[bytes], None], tail: int) -> None:
    """Standard input has no size: keep only the last `tail` bytes as they pass."""
    kept: collections.deque[bytes] = collections.deque()
    held = 0
    with node.mount.open_read(node.path) as stream:
        while chunk := stream.read(CHUNK_SIZE):
            kept.append(chunk)
            held += len(chunk)
            while kept and held - len(kept[0]) >= tail:
                held -= len(kept.popleft())
    data = b"".join(kept)
    sink(data[len(data) - tail:] if tail else b"")
