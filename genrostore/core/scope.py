"""The entries of a tree that a `Filter` keeps in scope: what every filtered command walks.

cp -r, sync, check, mv -r, rm -r, md5 -r, ls -R and du all call `walk_in_scope`, so a rule means
the same everywhere. Paths given to the filter are relative to the directory the command was
given (rclone's "root of the operation"); a file named directly is matched by its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from genrostore.core.backend import Entry
from genrostore.core.filters import NO_FILTER, Filter
from genrostore.core.paths import basename

if TYPE_CHECKING:
    from genrostore.core.errors import UnsafeName
    from genrostore.core.mount import Mount, OnSkip


def relative_to(root: str, path: str) -> str:
    return path[len(root) + 1:] if root else path


OnOut = Callable[[Entry], None]


def walk_in_scope(mount: Mount, root: str, filters: Filter = NO_FILTER, on_skip: OnSkip | None = None,
                  *, on_out: OnOut | None = None) -> Iterator[Entry]:
    """Everything below the directory `root`, pre-order, that `filters` keeps: the directories
    it enters and the files it includes. An excluded directory is never listed; on an object
    store its keys are dropped from the one flat listing. `on_out` hears of each excluded file
    and pruned directory (what `rm -r` must keep the parents of)."""
    if not filters.active:
        yield from mount.walk(root, on_skip)
        return

    def prune(entry: Entry) -> bool:
        if filters.include_dir(relative_to(root, entry.path)):
            return False
        if on_out is not None:
            on_out(entry)
        return True

    for entry in mount.walk(root, on_skip, prune=prune):
        if entry.is_dir or filters.include_file(relative_to(root, entry.path), entry.size, entry.mtime):
            yield entry
        elif on_out is not None:
            on_out(entry)


def iterdir_in_scope(mount: Mount, root: str, filters: Filter = NO_FILTER,
                     on_skip: OnSkip | None = None) -> Iterator[Entry]:
    """The children of `root` that `filters` keeps (directories it would enter, files it includes)."""
    for entry in mount.iterdir(root, on_skip):
        relative = relative_to(root, entry.path)
        keep = filters.include_dir(relative) if entry.is_dir else filters.include_file(relative, entry.size, entry.mtime)
        if keep:
            yield entry


def file_in_scope(entry: Entry, filters: Filter = NO_FILTER) -> bool:
    """A file named directly (not found by a walk): matched by its name, as rclone does."""
    return filters.include_file(basename(entry.path), entry.size, entry.mtime)



def remove_in_scope(mount: Mount, root: str, filters: Filter) -> int:
    """`rm -r` under a filter: remove the files in scope, then the directories below `root`
    that held nothing else; `root` itself and everything out of scope stay (as rclone's
    `delete`). The whole listing completes before the first removal, so a listing error
    removes nothing. Returns the number of files removed."""
    from genrostore.core.errors import DirectoryNotFound, FileNotFound
    from genrostore.core.paths import dirname

    kept: set[str] = set()
    skipped: list[UnsafeName] = []

    def keep(entry: Entry) -> None:
        path = entry.path
        while path and path != root and path not in kept:
            kept.add(path)
            path = dirname(path)

    def skip(problem: UnsafeName) -> None:
        skipped.append(problem)
        mount.settings.skip(problem)

    files: list[str] = []
    directories: list[str] = []
    for entry in walk_in_scope(mount, root, filters, skip, on_out=keep):
        (directories if entry.is_dir else files).append(entry.path)
    for path in files:
        mount.remove_file(path)
    if skipped:
        return len(files)  # something unusable was listed: its directory is not known to be empty
    for path in sorted((d for d in directories if d not in kept), key=lambda d: d.count("/"), reverse=True):
        try:
            mount.remove_dir(path)
        except (FileNotFound, DirectoryNotFound):
            pass  # an object store's directory that was only its files' common prefix
    return len(files)
