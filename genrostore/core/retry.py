"""Retries with exponential backoff and jitter for transient errors; permanent ones fail at once."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from genrostore.core.errors import GenrostoreError, SourceChanged, TemporaryError, translate

T = TypeVar("T")
BASE_DELAY = 0.25
MAX_DELAY = 8.0


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter, capped."""
    import random  # its import pulls in hashlib: keep it off the startup path
    return random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2 ** attempt))


def gave_up(error: TemporaryError, attempts: int) -> TemporaryError:
    """The error to report once `attempts` tries failed: said once, and never retried again."""
    if error.exhausted:
        return error
    final = type(error)(f"{error.message} (gave up after {attempts} attempts)", hint=error.hint, fix=error.fix,
                        where=error.where, path=error.path)
    final.exhausted = True
    return final


def with_retries(
    func: Callable[[], T],
    *,
    retries: int,
    where: str,
    translate_error: Callable[[BaseException, str], GenrostoreError | None] | None = None,
) -> T:
    """Run `func`, retrying `retries` times on TemporaryError; every error leaves as a project error."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return func()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - this is the mapping boundary
            _give_up_or_retry(exc, attempt, retries, where, translate_error)
        time.sleep(backoff(attempt))


async def with_retries_async(
    make: Callable[[], Awaitable[T]],
    *,
    retries: int,
    where: str,
    translate_error: Callable[[BaseException, str], GenrostoreError | None] | None = None,
) -> T:
    """`with_retries` for a coroutine on an event loop: the same decisions, an awaited backoff."""
    import asyncio

    attempt = 0
    while True:
        attempt += 1
        try:
            return await make()
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise
        except BaseException as exc:  # noqa: BLE001 - this is the mapping boundary
            _give_up_or_retry(exc, attempt, retries, where, translate_error)
        await asyncio.sleep(backoff(attempt))


def _give_up_or_retry(
    exc: BaseException,
    attempt: int,
    retries: int,
    where: str,
    translate_error: Callable[[BaseException, str], GenrostoreError | None] | None,
) -> None:
    """Return to retry a transient failure; raise the mapped error when it is permanent or retries ran out.

    `translate_error` (the Mount's) maps and locates; without one, `errors.translate` maps.
    """
    mapped = (translate_error(exc, where) if translate_error else None) or translate(exc, where)
    # A source that changed is not asked again for the same version: the whole file is read anew.
    if not isinstance(mapped, TemporaryError) or mapped.exhausted or isinstance(mapped, SourceChanged) \
            or attempt > retries:
        if isinstance(mapped, TemporaryError) and attempt > 1:
            mapped = gave_up(mapped, attempt)
        if mapped is exc:
            raise exc
        raise mapped from exc
