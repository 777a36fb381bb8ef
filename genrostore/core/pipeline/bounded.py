"""A thread pool whose `submit` waits while `bound` units are queued or running.

The executor's workers and the batcher's blocking lane both take files from a streamed
listing; the bound keeps memory flat however long the listing is. A semaphore does it for a
few lock operations a file, where `wait(FIRST_COMPLETED)` over the pending futures takes every
future's lock twice per call (measured: ~150 Python calls and ~60 µs a file at `jobs` 16).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any


class BoundedPool:
    def __init__(self, workers: int, bound: int, prefix: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
        self._room = threading.Semaphore(bound)
        self._pending: set[Future[None]] = set()
        self._raised: list[Future[None]] = []  # a unit that raised past its own handler: a bug

    def submit(self, work: Callable[..., None], *args: Any) -> None:
        """Queue `work(*args)`; blocks (interruptible by Ctrl-C) while the pool is full."""
        self._room.acquire()
        try:
            future = self._pool.submit(work, *args)
        except BaseException:
            self._room.release()
            raise
        self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        """On the worker's thread (or the caller's, if already done): give the slot back."""
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            self._raised.append(future)
        self._room.release()

    def join(self) -> None:
        """Wait for everything submitted so far; a unit's uncaught exception (a bug) re-raises here."""
        self.settle(None)
        if self._raised:
            self._raised.pop(0).result()

    def settle(self, timeout: float | None) -> None:
        """Wait up to `timeout` for the running units (after Ctrl-C: let them clean up)."""
        wait(list(self._pending), timeout=timeout)  # a copy: workers discard the finished ones meanwhile

    def shutdown(self, *, wait: bool, cancel: bool = False) -> None:
        """Stop the workers; `cancel` drops what has not started (its slots come back)."""
        self._pool.shutdown(wait=wait, cancel_futures=cancel)
