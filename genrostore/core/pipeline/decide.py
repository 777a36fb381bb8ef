"""Decide: one action per planned pair (the closed set in core/actions.py).

A command differs from another only here: `cp` copies (or skips under -n), `mv` moves, a
sync planner turns a comparison into Copy, SetMetadata, Delete or Skip. A decider may look
at the destination (blocking I/O), so executors call it on a worker thread; the event-loop
path takes only pairs whose decision needs no look (see batch.route).
"""

from __future__ import annotations

from collections.abc import Callable

from genrostore.core.actions import Action, Copy, Move, Skip
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.plan import Pair

Decider = Callable[[Pair, CopyOptions], Action]


def looks_at_destination(options: CopyOptions) -> bool:
    """True when `copy_or_skip` must read the destination to decide (-n): not for the event loop."""
    return options.no_clobber


def copy_or_skip(pair: Pair, options: CopyOptions) -> Action:
    """`cp`: Copy every pair; under -n, Skip one whose destination exists (GNU cp -n)."""
    assert pair.src is not None and pair.dst is not None
    if (options.no_clobber and not pair.dst.is_stdio and not (pair.entry is not None and pair.entry.is_dir)
            and pair.dst.exists()):
        return Skip(pair.src, pair.dst, pair.entry, reason="exists")
    return Copy(pair.src, pair.dst, pair.entry)


def move_or_skip(pair: Pair, options: CopyOptions) -> Action:
    """`mv`: Move every file; under -n, Skip one whose destination exists (the source stays).

    An empty source directory (cp -r's directory pair) is recreated like a copy's.
    """
    assert pair.src is not None and pair.dst is not None
    if pair.entry is not None and pair.entry.is_dir:
        return Copy(pair.src, pair.dst, pair.entry)
    if options.no_clobber and not pair.dst.is_stdio and pair.dst.exists():
        return Skip(pair.src, pair.dst, pair.entry, reason="exists")
    return Move(pair.src, pair.dst, pair.entry)
