"""`du`: how many files and bytes lie under a path, per directory down to a depth, streamed.

One walk per path, in its pre-order; a directory's totals are complete when the walk leaves it,
so lines come out as `du` prints them (a directory after everything below it) and memory grows
with the tree's depth, not its size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genrostore.core.filters import NO_FILTER, Filter
from genrostore.core.scope import file_in_scope, relative_to, walk_in_scope

if TYPE_CHECKING:
    from genrostore.core.mount import Mount


@dataclass
class Usage:
    """The totals of one directory (or of one file named directly); `path` is mount-relative."""

    path: str
    depth: int  # 0: the path the command was given
    files: int = 0
    bytes: int = 0
    unknown: int = 0  # files whose size the listing did not give (counted as 0 bytes)
    is_dir: bool = True

    def add(self, other: Usage) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.unknown += other.unknown


def usage(mount: Mount, root: str, filters: Filter = NO_FILTER, *, max_depth: int | None = 0) -> Iterator[Usage]:
    """Totals of every directory down to `max_depth` below `root` (None: all), each after its
    content, `root` last. A file as `root` is one line for itself."""
    from genrostore.core.errors import DirectoryNotFound, FileNotFound

    try:
        entry = mount.info(root)
    except FileNotFound:
        raise DirectoryNotFound(f"{mount.label(root)}: no such file or directory") from None
    if not entry.is_dir:
        line = Usage(root, 0, is_dir=False)
        if file_in_scope(entry, filters):
            line.files, line.bytes, line.unknown = 1, entry.size or 0, int(entry.size is None)
        yield line
        return
    stack = [Usage(root, 0)]
    for entry in walk_in_scope(mount, root, filters):
        depth = relative_to(root, entry.path).count("/") + 1
        while len(stack) > depth:
            yield from _close(stack, max_depth)
        if entry.is_dir:
            stack.append(Usage(entry.path, depth))
        else:
            top = stack[-1]
            top.files += 1
            top.bytes += entry.size or 0
            top.unknown += entry.size is None
    while stack:
        yield from _close(stack, max_depth)


def _close(stack: list[Usage], max_depth: int | None) -> Iterator[Usage]:
    done = stack.pop()
    if stack:
        stack[-1].add(done)
    if max_depth is None or done.depth <= max_depth:
        yield done
