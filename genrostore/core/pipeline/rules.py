"""The rules every copy obeys, whichever executor runs it (threads or a store's event loop).

Written once here so an option added to one path cannot be ignored by the other:
`admit` (read-only, dry-run), `before_publish` (Ctrl-C, a signal), `verify` (--checksum),
`retrying` (--retries, a source that changed under us), `write_with` (atomic publish).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from datetime import datetime

from genrostore.core import hashing, signals
from genrostore.core.backend import Writer
from genrostore.core.errors import GenrostoreError, SourceChanged, TemporaryError
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.retry import backoff, gave_up

if TYPE_CHECKING:
    from genrostore.core.node import Node

T = TypeVar("T")


def admit(verb: str, src: Node, dst: Node) -> bool:
    """May `dst` be written? Raises on a read-only mount; False (reported) in a dry run."""
    return dst.mount.permit(f"{verb} {src.fullpath} -> {dst.fullpath}", dst.path)


def before_publish(dst: Node, options: CopyOptions) -> None:
    """The last look before data becomes visible: nothing is published after Ctrl-C or a signal."""
    options.check_cancelled()
    signals.refuse_publish(dst.fullpath)


def retrying(src: Node, dst: Node, attempt_once: Callable[[bool], T]) -> T:
    """Run `attempt_once(changed)` until it succeeds, retrying transient failures `--retries` times.

    `changed` is True when the last attempt found the source replaced (SourceChanged): the
    attempt then pins the version it sees now.
    A request that already spent --retries (Mount._call) is not tried N+1 times more, and
    standard input cannot be read twice.
    """
    retries = 0 if src.is_stdio else dst.mount.settings.retries
    attempt = 0
    changed = False
    while True:
        attempt += 1
        try:
            return attempt_once(changed)
        except TemporaryError as exc:
            if exc.exhausted or attempt > retries:
                if attempt > 1 and not exc.exhausted:
                    raise gave_up(exc, attempt) from exc
                raise
            changed = isinstance(exc, SourceChanged)
            time.sleep(backoff(attempt))


def write_with(dst: Node, size: int | None, fill: Callable[[Writer], None], options: CopyOptions,
               mtime: datetime | None = None) -> None:
    """Open `dst`'s atomic writer, let `fill` write it, publish it; any failure aborts it.

    `mtime` (the source's) is what the published file carries, wherever `dst`'s backend keeps it.

    The writer is registered in `options.active` meanwhile, so Ctrl-C can abort it even while
    `fill` is blocked on a source that never answers.
    """
    writer = dst.mount.open_write(dst.path, size, mtime=mtime)
    with options.active_lock:
        options.active.add(writer)
    try:
        with writer:  # the Mount's writer: a failed write or commit is already a located error
            fill(writer)
            before_publish(dst, options)
    finally:
        with options.active_lock:
            options.active.discard(writer)
    dst._adopt(writer)


def verify(src: Node, dst: Node) -> None:
    """Compare md5 of both ends; a mismatch removes the destination and fails."""
    if src.is_stdio:
        return
    expected, actual = hashing.md5_of(src), hashing.md5_of(dst)
    if expected != actual:
        try:
            dst.mount.remove_file(dst.path)
        finally:
            raise GenrostoreError(f"{dst.fullpath}: checksum mismatch after copy ({actual} != {expected}); removed")
