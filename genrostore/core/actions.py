"""The closed set of things the transfer pipeline can do to one pair of paths.

The pipeline runs plan (pairs) → decide (one action per pair) → execute → outcome. Commands
differ only in how they decide: `cp` turns every pair into a Copy (or a Skip under `-n`),
`mv` into Move, `sync` into Copy, SetMetadata, Delete and Skip. Executors dispatch on the
action's type, so the rules for a copy live in one place whichever executor (threads or a
store's event loop) runs it. Plain frozen objects: cheap to build by the million, and
picklable so a distributed executor can ship them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genrostore.core.backend import Entry
    from genrostore.core.node import Node


@dataclass(frozen=True)
class Copy:
    """Make `dst` hold `src`'s bytes (atomic publish). `entry` is the source's listing, if known."""

    src: Node
    dst: Node
    entry: Entry | None = None
    reason: str = "new"  # "new", "changed", "replaced": for --dry-run/--json records


@dataclass(frozen=True)
class Skip:
    """Nothing to do for this pair; `reason` says why ("exists", "unchanged", "newer", ...).

    `count`: the pairs it stands for; a run of unchanged files a fast walk compared in bulk
    (`march.Unchanged`) is one Skip without nodes."""

    src: Node | None
    dst: Node | None
    entry: Entry | None = None
    reason: str = "unchanged"
    count: int = 1


@dataclass(frozen=True)
class Move:
    """Copy, verify, then remove the source; server-side where the mount declares it."""

    src: Node
    dst: Node
    entry: Entry | None = None


@dataclass(frozen=True)
class Delete:
    """Remove one file the plan proved has no source (sync), or that a backup move replaces."""

    node: Node
    entry: Entry | None = None


@dataclass(frozen=True)
class SetMetadata:
    """Same bytes, different metadata: store `mtime` on `dst` without moving any data."""

    dst: Node
    mtime: datetime
    entry: Entry | None = None


Action = Copy | Skip | Move | Delete | SetMetadata
ACTIONS: tuple[type, ...] = (Copy, Skip, Move, Delete, SetMetadata)
