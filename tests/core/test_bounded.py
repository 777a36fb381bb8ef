"""BoundedPool: the executor's and the lane's queue, bounded so a streamed listing keeps memory flat."""

from __future__ import annotations

import threading
import time

import pytest

from genrostore.core.pipeline.bounded import BoundedPool


def test_submit_waits_while_the_bound_is_reached_and_join_waits_for_all() -> None:
    pool = BoundedPool(2, 3, "t-bounded")
    gate = threading.Event()
    done: list[int] = []
    submitted: list[int] = []

    def unit(number: int) -> None:
        gate.wait(10)
        done.append(number)

    def planner() -> None:
        for number in range(10):
            pool.submit(unit, number)
            submitted.append(number)

    thread = threading.Thread(target=planner)
    thread.start()
    time.sleep(0.3)
    assert len(submitted) == 3  # the fourth waits for a slot
    gate.set()
    thread.join(10)
    pool.join()
    assert sorted(done) == list(range(10))
    pool.shutdown(wait=True)


def test_a_unit_that_raises_past_its_handler_resurfaces_at_join() -> None:
    pool = BoundedPool(2, 4, "t-bounded")

    def broken() -> None:
        raise RuntimeError("a bug")

    for _ in range(3):
        pool.submit(broken)
    with pytest.raises(RuntimeError, match="a bug"):
        pool.join()
    pool.shutdown(wait=True)


def test_cancelled_units_give_their_slots_back() -> None:
    pool = BoundedPool(1, 2, "t-bounded")
    gate = threading.Event()
    pool.submit(gate.wait, 10)
    pool.submit(gate.wait, 10)  # queued behind the first
    pool.shutdown(wait=False, cancel=True)
    gate.set()
    pool.settle(5)
    acquired = pool._room.acquire(timeout=1) and pool._room.acquire(timeout=1)
    assert acquired
