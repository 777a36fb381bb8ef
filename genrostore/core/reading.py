"""Reading a node into a sink in chunks, with byte ranges resolved against the backend."""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from genrostore.core.backend import CHUNK_SIZE
from genrostore.core.errors import UsageError

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
            _parallel_ranges(node, start, length, sink)
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


def _parallel_ranges(node: Node, start: int, length: int, sink: Callable[[bytes], None]) -> None:
    """Fetch a large remote object in concurrent ranges, written out strictly in order.

    At most `RANGE_WORKERS + 1` parts are in flight, so memory stays bounded whatever the size.
    """
    from concurrent.futures import ThreadPoolExecutor

    offsets = range(start, start + length, RANGE_PART)
    end = start + length
    window: collections.deque = collections.deque()
    with ThreadPoolExecutor(max_workers=RANGE_WORKERS, thread_name_prefix="genrostore-range") as pool:
        for offset in offsets:
            window.append(pool.submit(node.mount.read_range, node.path, offset, min(RANGE_PART, end - offset)))
            if len(window) > RANGE_WORKERS:
                sink(window.popleft().result())
        while window:
            sink(window.popleft().result())


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
