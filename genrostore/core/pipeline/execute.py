"""Execute many pairs: decide each one's action, perform it on a worker thread or a store's
event loop (`batch.route` chooses), and collect the outcome; one failure never stops the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from genrostore.core import signals
from genrostore.core.errors import GenrostoreError, Interrupted, translate
from genrostore.core.pipeline.batch import Batcher
from genrostore.core.pipeline.decide import Decider, copy_or_skip
from genrostore.core.pipeline.executors import perform
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.outcome import CopyResult
from genrostore.core.pipeline.plan import Pair


def run(pairs: Iterable[Pair], options: CopyOptions, decide: Decider = copy_or_skip) -> CopyResult:
    """Perform `decide`'s action for every pair, `options.jobs` at once; failures are collected.

    Small files between a local disk and an asyncio store (or inside one store) travel as
    coroutines on the store's event loop (`batch.Batcher`); everything else on worker threads,
    where the decision is made too (it may look at the destination).
    """
    result = CopyResult()
    lock = threading.Lock()
    jobs = max(1, options.jobs)

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

    def one(pair: Pair) -> None:
        try:
            if pair.error is not None:
                raise pair.error
            copied = perform(decide(pair, options), options)
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
    pending: set[Future[None]] = set()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="genrostore-copy")
    batcher = Batcher(options, finish, jobs, decide)
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


def _interrupt(pool: ThreadPoolExecutor, pending: set[Future[None]], options: CopyOptions) -> None:
    """Stop workers; writers still blocked (on a source that stays open) are aborted from here."""
    options.cancel.set()
    pool.shutdown(wait=False, cancel_futures=True)
    wait(pending, timeout=2.0)
    options.abort_active()
