"""Execute many pairs: decide each one's action, perform it on a worker thread or a store's
event loop (`batch.route` chooses), and collect the outcome; one failure never stops the others.

`Executor` is the machinery (the `-j` threads, the event-loop batcher, a bounded queue, Ctrl-C);
`run` drives it for cp and mv, `core.syncrun` for sync's already decided actions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from genrostore.core import signals
from genrostore.core.actions import Copy
from genrostore.core.errors import GenrostoreError, Interrupted, translate
from genrostore.core.pipeline.batch import Batcher
from genrostore.core.pipeline.bounded import BoundedPool
from genrostore.core.pipeline.decide import Decider, copy_or_skip
from genrostore.core.pipeline.executors import perform
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.outcome import CopyResult
from genrostore.core.pipeline.plan import Pair

K = TypeVar("K")
Finish = Callable[[K, "bool | BaseException"], None]


class Executor(Generic[K]):
    """Runs units of work on `options.jobs` threads, and Copy actions `batch.route` admits as
    coroutines on a store's event loop; `finish(token, changed | failure)` hears of each one,
    from whichever thread ran it. At most `jobs × 4` thread units are queued, so a streamed plan
    keeps memory flat. With one job everything runs inline, in order.

    Use as a context manager inside `signals.cancelling(options.cancel)`: on Ctrl-C call
    `interrupt()` (queued work is dropped, running coroutines cancelled, open writers aborted).
    """

    def __init__(self, options: CopyOptions, finish: Finish[K], *, prefix: str = "genrostore-copy") -> None:
        self.options = options
        self.finish = finish
        self.jobs = max(1, options.jobs)
        self._pool = BoundedPool(self.jobs, self.jobs * 4, prefix) if self.jobs > 1 else None
        self.batcher = Batcher(options, finish, self.jobs) if self.jobs > 1 else None
        self._interrupted = False

    def batched(self, action: Copy, token: K) -> bool:
        """Hand a decided Copy to the event-loop path; False when threads must take it."""
        return self.batcher is not None and self.batcher.take(action, token)

    def submit(self, token: K, work: Callable[[], bool]) -> None:
        """Run `work` (True: it changed something) on a worker thread, or inline with one job."""
        if self._pool is None:
            self._one(token, work)
            return
        self._pool.submit(self._one, token, work)  # a bounded queue: listings stream, memory stays flat

    def _one(self, token: K, work: Callable[[], bool]) -> None:
        try:
            changed = work()
        except Exception as exc:  # noqa: BLE001 - a worker's failure must never vanish in its future
            self.finish(token, exc)
            return
        self.finish(token, changed)

    def drain(self) -> None:
        """Wait until everything submitted so far has finished (batched files included)."""
        if self.batcher is not None:
            self.batcher.drain()
        if self._pool is not None:
            self._pool.join()

    def interrupt(self) -> None:
        """Ctrl-C: stop workers; writers still blocked (a source that stays open) are aborted here."""
        self._interrupted = True
        self.options.cancel.set()
        if self.batcher is not None:
            self.batcher.cancel()
            self.batcher.settle(timeout=2.0)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel=True)
            self._pool.settle(timeout=2.0)
        self.options.abort_active()

    def __enter__(self) -> Executor[K]:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.batcher is not None:
            self.batcher.close()
        if self._pool is not None:
            self._pool.shutdown(wait=not self._interrupted and exc[0] is None)


def run(pairs: Iterable[Pair], options: CopyOptions, decide: Decider = copy_or_skip) -> CopyResult:
    """Perform `decide`'s action for every pair, `options.jobs` at once; failures are collected.

    Small files between a local disk and an asyncio store (or inside one store) travel as
    coroutines on the store's event loop (`batch.Batcher`); everything else on worker threads,
    where the decision is made too (it may look at the destination).
    """
    result = CopyResult()
    lock = threading.Lock()

    def finish(pair: Pair, outcome: bool | BaseException) -> None:
        if isinstance(outcome, BaseException):
            # What the Mount raised is a project error already; this maps only what engine code
            # raises itself (a bug, an os call outside `Mount.bypassing`), so no failure is lost.
            failure = outcome if isinstance(outcome, GenrostoreError) else translate(outcome, pair.name)
            with lock:
                result.failures.append((pair.name, failure))
            return
        assert pair.dst is not None  # only a planned pair can succeed
        with lock:
            (result.copied if outcome else result.skipped).append(pair.dst)
        if options.progress is not None:
            options.progress.file_done(pair.name)

    def work(pair: Pair) -> Callable[[], bool]:
        def one() -> bool:
            if pair.error is not None:
                raise pair.error
            return perform(decide(pair, options), options)
        return one

    with signals.cancelling(options.cancel), Executor(options, finish) as executor:  # a second signal must not cut the clean-up short
        try:
            for pair in pairs:
                if options.progress is not None:
                    options.progress.add_total(1, pair.entry.size if pair.entry else None)
                if executor.batcher is not None and executor.batcher.submit(pair, decide):
                    continue
                executor.submit(pair, work(pair))
            executor.drain()
        except KeyboardInterrupt:
            executor.interrupt()
            raise Interrupted(f"{signals.describe()}; partial destinations were removed") from None
    return result
