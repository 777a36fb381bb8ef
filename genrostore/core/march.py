"""Two trees walked in one total order and merged: the listing half of sync and check.

The order is the byte order of the full relative path, a directory sorting as `name/`. That is
the order object stores list keys in, so a flat listing streams as it arrives; a hierarchical
tree gets it by sorting each directory's listing (with that key) and descending depth-first, so
memory is bounded by the largest directory, never by the tree (rclone's fs/march does the same).

A listing error is not fatal: the walk yields a `Failure` where the unreadable part would have
been, the merge turns it into one pair carrying the error (the other side's entries below it are
dropped: nothing about them can be concluded), and sync later refuses every delete.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from genrostore.core.backend import Entry
from genrostore.core.compare import feature
from genrostore.core.errors import (
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    Interrupted,
    NotADirectory,
    UnsafeName,
)

if TYPE_CHECKING:
    from genrostore.core.mount import Mount
    from genrostore.core.node import Node


T = TypeVar("T")
R = TypeVar("R")

# Listed, Failure and Pair are built once per file of both trees: plain slotted classes, as a
# frozen dataclass's __init__ costs four times as much.


def sort_key(relative: str, is_dir: bool = False) -> bytes:
    """The total order: the path's bytes, a directory as `name/` (so `a-b` < `a/` < `a0`)."""
    key = relative.encode("utf-8", "surrogateescape")
    return key + b"/" if is_dir else key


@dataclass(slots=True)
class Listed:
    """A file found by a walk; `relative` is its path below the walked root."""

    key: bytes
    relative: str
    entry: Entry


@dataclass(slots=True)
class Failure:
    """A part of the tree that could not be listed: everything whose key starts with `prefix`
    (b"" for the rest of the tree; None for a single skipped name), at position `key` of the walk."""

    key: bytes
    prefix: bytes | None
    relative: str
    error: GenrostoreError


Walked = Listed | Failure


@dataclass(slots=True)
class Pair:
    """One path of the merged walk: on both sides, one side only, or unreadable (`error`)."""

    relative: str
    src: Entry | None
    dst: Entry | None
    error: GenrostoreError | None = None
    dst_relative: str | None = None  # a single-file sync or check may name the destination differently

    @property
    def dst_name(self) -> str:
        return self.relative if self.dst_relative is None else self.dst_relative


@dataclass(slots=True)
class Unchanged:
    """A run of `count` file pairs, both sides present and equal by the sync's size (+ mtime)
    rule, that a fast walk (`core.localmarch`) compared itself: `key` is the run's last key.
    Only sync asks for them (it counts them); a walk that yields Pairs only never makes one."""

    key: bytes
    count: int


def _relative(root: str, path: str) -> str:
    return path[len(root) + 1:] if root else path


class Scope(Protocol):
    """What is in scope of a sync or check (`core.filters.Filter` answers it), by path relative
    to the operation's root. An excluded directory is never entered; out-of-scope files in DST
    are never seen, so never deleted."""

    def include_dir(self, path: str) -> bool: ...

    def include_file(self, path: str, size: int | None = None, mtime: datetime | None = None) -> bool: ...


def walk_sorted(mount: Mount, root: str, *, missing_ok: bool = False, scope: Scope | None = None,
                empty_dirs: bool = False, stored_mtimes: bool = False) -> Iterator[Walked]:
    """Every file below `root` of `mount` in `scope`, in the total order (see the module docstring).

    `missing_ok`: a root that does not exist is an empty tree (a sync's new destination).
    `empty_dirs`: an empty directory below the root is yielded too (a directory entry; sync
    creates it on DST, as cp -r does); object stores have none to yield.
    `stored_mtimes`: each file's mtime is the one a copy stored (S3: `X-Amz-Meta-Mtime`, read by
    HEADs in batches), not the listing's upload time — what a size+mtime comparison needs.
    """
    if feature(mount.backend, "implicit_dirs"):
        yield from _walk_flat(mount, root, missing_ok, scope, stored_mtimes)
    else:
        yield from _walk_tree(mount, root, missing_ok, scope, empty_dirs)


def _walk_flat(mount: Mount, root: str, missing_ok: bool, scope: Scope | None,
               stored_mtimes: bool = False) -> Iterator[Walked]:
    """An object store's recursive listing, streamed as the store orders it, order verified.

    Its directories come (derived from the keys) just before their content, so an excluded
    one drops the contiguous run of keys below it."""
    last = b""
    failures: list[UnsafeName] = []
    pruned: str | None = None
    try:
        prune = None if scope is None else (lambda entry: not scope.include_dir(_relative(root, entry.path)))
        listing = mount.walk(root, on_skip=_recording(mount, failures), prune=prune)
        if stored_mtimes:
            listing = mount.stored_mtimes(listing, root)
        for entry in listing:
            yield from _skipped(failures, last)
            relative = _relative(root, entry.path)
            if pruned is not None and relative.startswith(pruned):
                continue
            if entry.is_dir:
                if scope is not None and not scope.include_dir(relative):
                    pruned = relative + "/"
                continue
            if scope is not None and not scope.include_file(relative, entry.size, entry.mtime):
                continue
            key = sort_key(relative)
            if key <= last and last:
                yield Failure(last, b"", relative, GenrostoreError(
                    f"{mount.label(entry.path)}: the listing is not in byte order (after "
                    f"{last.decode('utf-8', 'surrogateescape')}); nothing after it can be compared"))
                return
            last = key
            yield Listed(key, relative, entry)
        yield from _skipped(failures, last)
    except Interrupted:
        raise
    except GenrostoreError as exc:
        if not (missing_ok and not last and _absent(exc)):
            yield Failure(last, b"", "", exc)


def _walk_tree(mount: Mount, root: str, missing_ok: bool, scope: Scope | None,
               empty_dirs: bool = False) -> Iterator[Walked]:
    """Depth-first over directories, each listed, sorted by `sort_key` and held while it is walked.

    On a local disk a directory that is one of its own ancestors (a symlink `up -> ..`) is
    reported and not entered, as the local walk (and find, rsync) do: it would repeat forever.
    """
    yield from _descend(mount, root, [(identity(mount, root), iter(_listing(mount, root, root, b"", missing_ok,
                                                                              scope)))], scope, empty_dirs)


def walk_below(mount: Mount, root: str, start: Listed, *, scope: Scope | None = None, empty_dirs: bool = False,
               ancestors: tuple[object, ...] = ()) -> Iterator[Walked]:
    """What `walk_sorted` yields at and below the directory `start` (found under `root` by a walk
    of its own, whose directories' identities are `ancestors`): the tail of a walk another lister
    began (`core.localmarch` hands a directory it does not handle to this walk)."""
    children = _listing(mount, root, start.entry.path, start.key, scope=scope)
    if not children and empty_dirs:
        yield start
    yield from _descend(mount, root, [(identity(mount, start.entry.path), iter(children))], scope, empty_dirs,
                        ancestors)


def _descend(mount: Mount, root: str, stack: list[tuple[object, Iterator[Walked]]], scope: Scope | None,
             empty_dirs: bool, ancestors: tuple[object, ...] = ()) -> Iterator[Walked]:
    while stack:
        item = next(stack[-1][1], None)
        if item is None:
            stack.pop()
            continue
        if isinstance(item, Listed) and item.entry.is_dir:
            found = identity(mount, item.entry.path)
            if found is not None and (found in ancestors or any(found == frame[0] for frame in stack)):
                yield _loop(mount, item)
                continue
            children = _listing(mount, root, item.entry.path, item.key, scope=scope)
            if not children and empty_dirs:
                yield item  # an empty directory, for sync to create (its key ends in "/")
            stack.append((found, iter(children)))
            continue
        yield item


def identity(mount: Mount, path: str) -> object:
    """(device, inode) of a directory on this machine's disk; None elsewhere (or if it vanished)."""
    if not feature(mount.backend, "local_disk"):
        return None
    try:
        local = mount.local_path(path)
        if local is None:
            return None
        st = os.stat(local)
    except (OSError, GenrostoreError):
        return None
    return st.st_dev, st.st_ino


def _loop(mount: Mount, item: Listed) -> Failure:
    where = mount.label(item.entry.path) + "/"
    error = UnsafeName(f"{where}: symlink loop (the same directory as one of its parents); not descended",
                       where=where)
    mount.settings.skip(error)
    return Failure(item.key, None, item.relative + "/", error)


def _absent(exc: GenrostoreError) -> bool:
    return isinstance(exc, (FileNotFound, DirectoryNotFound)) and not isinstance(exc, NotADirectory)


def _listing(mount: Mount, root: str, path: str, prefix: bytes, missing_ok: bool = False,
             scope: Scope | None = None) -> list[Walked]:
    """One directory's children in order (directories included, to be descended), or its Failure."""
    failures: list[UnsafeName] = []
    try:
        entries = list(mount.iterdir(path, on_skip=_recording(mount, failures)))
    except Interrupted:
        raise
    except GenrostoreError as exc:
        if path == root and missing_ok and _absent(exc):
            return []
        return [Failure(prefix, prefix, _relative(root, path) + ("/" if path != root else ""), exc)]
    items: list[Walked] = []
    for entry in entries:
        relative = _relative(root, entry.path)
        if scope is not None and not (scope.include_dir(relative) if entry.is_dir
                                      else scope.include_file(relative, entry.size, entry.mtime)):
            continue
        items.append(Listed(sort_key(relative, entry.is_dir), relative, entry))
    items.sort(key=lambda item: item.key)
    return [*(Failure(prefix, None, failure.where, failure) for failure in failures), *items]


def _recording(mount: Mount, failures: list[UnsafeName]) -> Callable[[UnsafeName], None]:
    """Report a skipped name as every listing does, and keep it: it counts as a listing error."""
    def on_skip(error: UnsafeName) -> None:
        mount.settings.skip(error)
        failures.append(error)
    return on_skip


def _skipped(failures: list[UnsafeName], last: bytes) -> Iterator[Failure]:
    """Skipped names of a flat listing, at the current position (they lock out deletes only)."""
    while failures:
        failure = failures.pop(0)
        yield Failure(last, None, failure.where, failure)


def merge(src: Iterator[Walked], dst: Iterator[Walked]) -> Iterator[Pair]:
    """The merge-join of two ordered walks: one Pair per path, in order.

    A Failure on one side swallows the other side's entries below its prefix, so an unlistable
    directory never shows its counterpart's files as "only on one side".
    """
    left = next(src, None)
    right = next(dst, None)
    while left is not None or right is not None:
        if left is not None and (right is None or left.key < right.key or
                                 (left.key == right.key and isinstance(left, Failure))):
            if isinstance(left, Failure):
                yield Pair(left.relative, None, None, left.error)
                right = _drain(dst, right, left.prefix)
            else:
                yield Pair(left.relative, left.entry, None)
            left = next(src, None)
        elif right is not None and (left is None or right.key < left.key or isinstance(right, Failure)):
            if isinstance(right, Failure):
                yield Pair(right.relative, None, None, right.error)
                left = _drain(src, left, right.prefix)
            else:
                yield Pair(right.relative, None, right.entry)
            right = next(dst, None)
        else:
            assert isinstance(left, Listed) and isinstance(right, Listed)
            yield Pair(left.relative, left.entry, right.entry)
            left, right = next(src, None), next(dst, None)


def _drain(side: Iterator[Walked], head: Walked | None, prefix: bytes | None) -> Walked | None:
    """Skip `side`'s items below `prefix`; the first one outside it is the new head."""
    while head is not None and prefix is not None and head.key.startswith(prefix):
        head = next(side, None)
    return head


@dataclass(frozen=True)
class Trees:
    """What a sync or check compares: two roots and their merged walk (relative to the roots)."""

    src: Node
    dst: Node
    pairs: Iterator[Pair]
    single_file: bool = False


def open_trees(src: Node, dst: Node, *, dst_missing_ok: bool, scope: Scope | None = None,
               delete_excluded: bool = False, empty_dirs: bool = False, stored_mtimes: bool = False) -> Trees:
    """The merged walk of `src` against `dst`.

    A missing SRC is DirectoryNotFound (exit 3) before anything is listed. A file SRC is
    compared with the file DST names (or with DST/name when DST is a directory). `empty_dirs`:
    both walks yield their empty directories (sync makes SRC's, and matches DST's). `scope` applies
    to both trees; with `delete_excluded` (sync) DST is walked whole, so its excluded files show
    as DST-only.
    """
    try:
        entry = src.info()
    except FileNotFound as exc:
        raise DirectoryNotFound(f"{src.fullpath}: no such file or directory", hint="check SRC") from exc
    if entry.is_dir:
        if not dst_missing_ok and _info_or_none(dst) is None:
            raise DirectoryNotFound(f"{dst.fullpath}: no such directory", hint="check DST")
        return Trees(src, dst, merge(walk_sorted(src.mount, src.path, scope=scope, empty_dirs=empty_dirs,
                                                 stored_mtimes=stored_mtimes),
                                     walk_sorted(dst.mount, dst.path, missing_ok=dst_missing_ok,
                                                 scope=None if delete_excluded else scope, empty_dirs=empty_dirs,
                                                 stored_mtimes=stored_mtimes)))
    target = dst
    found = _info_or_none(target)
    if found is not None and found.is_dir:
        target = dst.child(src.basename)
        found = _info_or_none(target)
    if found is None and not dst_missing_ok:
        raise DirectoryNotFound(f"{target.fullpath}: no such file or directory")
    if found is not None and found.is_dir:
        found = None
        error: GenrostoreError | None = GenrostoreError(f"{target.fullpath}: is a directory, SRC is a file")
        pairs = iter([Pair(src.basename, None, None, error)])
    else:
        pairs = iter([Pair(src.basename, entry, found, dst_relative=target.basename)])
    return Trees(src.parent, target.parent, pairs, single_file=True)


def _info_or_none(node: Node) -> Entry | None:
    try:
        return node.info()
    except FileNotFound:
        return None
    except DirectoryNotFound as exc:
        if isinstance(exc, NotADirectory):
            raise
        return None


def ordered_map(func: Callable[[T], R], items: Iterator[T], *, workers: int, window: int = 256,
                parallel: Callable[[T], bool] | None = None) -> Iterator[tuple[T, R]]:
    """(item, func(item)) in the order of `items`, `func` run on up to `workers` threads.

    At most `window` items are in flight, so memory stays bounded on any tree; items for which
    `parallel` says no (nothing to fetch) skip the pool. Used to compare pairs whose verdict needs
    a round trip (a HEAD for a stored md5, a hash) while the merge streams on.
    """
    if workers <= 1:
        for item in items:
            yield item, func(item)
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    # (item, how to get its result, its future when it went to the pool)
    pending: deque[tuple[T, Callable[[], R], Future[R] | None]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="genrostore-compare") as pool:
        try:
            for item in items:
                if parallel is None or parallel(item):
                    future = pool.submit(func, item)
                    pending.append((item, future.result, future))
                else:
                    pending.append((item, _constant(func(item)), None))
                while len(pending) > window or (pending and pending[0][2] is None):
                    item_done, result, _ = pending.popleft()
                    yield item_done, result()
            while pending:
                item_done, result, _ = pending.popleft()
                yield item_done, result()
        finally:
            for _, _, submitted in pending:
                if submitted is not None:
                    submitted.cancel()


def _constant(value: R) -> Callable[[], R]:
    return lambda: value
