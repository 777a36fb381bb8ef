"""Plan: the (source, destination) pairs of one command, streamed from sources, walks and lists.

Planning decides nothing about the destination's content (that is decide.py) and moves no
bytes; it refuses what can never work (a read-only destination, a copy into itself) before
any source is read, and turns a source it cannot plan into an error Pair, reported and counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genrostore.core.backend import Entry
from genrostore.core.errors import DirectoryNotFound, FileNotFound, GenrostoreError, UnsafeName, UsageError
from genrostore.core.filters import NO_FILTER, Filter
from genrostore.core.paths import normalize
from genrostore.core.scope import file_in_scope, walk_in_scope

if TYPE_CHECKING:
    from genrostore.core.node import Node


@dataclass(frozen=True)
class Pair:
    """One planned copy, or a source that could not be planned (`error` set, `dst` None)."""

    src: Node | None
    dst: Node | None
    entry: Entry | None = None
    error: GenrostoreError | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or (self.src.fullpath if self.src is not None else "?")


def destination_for(src: Node, dst: Node, *, many: bool) -> Node:
    """Where one source file lands: inside `dst` when it is a directory (or must be one)."""
    if dst.is_stdio or dst.mount.backend.features.raw_paths:
        return dst.at(dst.path)
    if many or dst.trailing_slash or dst.is_dir():
        name = src.basename if not src.is_stdio else None
        if name is None:
            raise UsageError(f"{dst.fullpath}: a destination directory needs a name for standard input")
        return dst.child(name)
    return dst


def plan(sources: list[Node], dst: Node, *, recursive: bool, filters: Filter = NO_FILTER) -> Iterator[Pair]:
    """Yield one Pair per source file `filters` keeps, streaming directory walks; a bad source
    yields its error. A directory's files are matched by their path below it, a file named
    directly by its name (core/scope.py); an excluded directory is never listed.

    A read-only destination fails the whole copy (exit 6), and a copy of a file onto itself or
    of a directory into itself is refused (exit 2), before any source is read. With several
    sources, a destination already planned is never overwritten by a later source: that one
    yields an error instead (GNU cp's "will not overwrite just-created").
    """
    if not dst.is_stdio:
        dst.mount.refuse_if_readonly("copy", dst.path)
    many = len(sources) > 1
    for src in sources:
        refuse_self_copy(src, dst, many=many, recursive=recursive)
    planned = _Planned() if many else None
    for src in sources:
        try:
            for pair in _plan_source(src, dst, many=many, recursive=recursive, filters=filters):
                checked = planned.check(pair) if planned is not None else pair
                if checked is not None:
                    yield checked
        except GenrostoreError as exc:
            if not many:
                raise
            yield Pair(src, None, error=exc)


class _Planned:
    """The destinations of one command so far (only when several sources could collide)."""

    def __init__(self) -> None:
        self.first_source: dict[tuple[int, str], str] = {}  # destination -> the source that claimed it

    def check(self, pair: Pair) -> Pair | None:
        """`pair`, an error Pair when a source already claimed its destination, None for a repeat."""
        if pair.dst is None or pair.src is None or pair.dst.is_stdio or (pair.entry and pair.entry.is_dir):
            return pair  # errors, stdout, and directories (made once, whoever asks first)
        key = (id(pair.dst.mount), pair.dst.path)
        first = self.first_source.get(key)
        if first is None:
            self.first_source[key] = pair.src.fullpath
            return pair
        if first == pair.src.fullpath:
            return None  # the same source named twice is copied once
        return Pair(pair.src, None, label=pair.name, error=GenrostoreError(
            f"{pair.src.fullpath}: would overwrite just-copied {pair.dst.fullpath} (from {first}); skipped",
            hint="two sources have the same name in the destination"))


def refuse_self_copy(src: Node, dst: Node, *, many: bool, recursive: bool) -> None:
    """Refuse (exit 2) a file copied onto itself and a directory copied into itself, like GNU cp."""
    if src.is_stdio or dst.is_stdio or src.mount.backend.features.raw_paths or dst.mount.backend.features.raw_paths:
        return
    src_at, dst_at = _location(src), _location(dst)
    if src_at[0] != dst_at[0] or not (_within(dst_at[1], src_at[1]) or _within(src_at[1], dst_at[1])):
        return  # cheap: only a destination on the source's own path costs a look at the source
    try:
        entry = src.info()
    except GenrostoreError:
        return  # reported when the source is planned
    if not entry.is_dir:
        target = destination_for(src, dst, many=many)
        if _location(target) == src_at:
            raise UsageError(f"{src.fullpath} and {target.fullpath} are the same file", hint="nothing was copied")
        return
    if not recursive:
        return
    root = _tree_root(src, dst, many=many)
    root_at = _location(root)
    if root_at[0] == src_at[0] and _within(root_at[1], src_at[1]):
        raise UsageError(f"cannot copy a directory, {src.fullpath}, into itself, {root.fullpath}",
                         hint="nothing was copied; choose a destination outside the source")


def _location(node: Node) -> tuple[str, str]:
    """Where a node's data lives: its real path on this machine, else its mount and path."""
    try:
        local = node.mount.local_path(node.path)
    except GenrostoreError:
        local = None
    if local is not None:
        return "", os.path.realpath(local)
    try:  # two mounts of one bucket (or one under a prefix of the other)
        shared = node.mount.backend.store_location(node.path)
    except GenrostoreError:
        shared = None
    if shared is not None:
        return shared
    return f"{id(node.mount)}", "/" + node.path


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _tree_root(src: Node, dst: Node, *, many: bool) -> Node:
    """Where the content of the directory `src` lands (`src/` copies the content itself).

    One look at `dst` answers both questions (is it a directory, is it a file in the way).
    """
    content_only = src.trailing_slash or not src.path
    if not content_only and (many or dst.trailing_slash):
        return dst.child(src.basename)
    if dst.trailing_slash and dst.mount.backend.features.implicit_dirs:
        return dst  # `prefix/` of an object store: nothing can be in the way (aws and s5cmd ask nothing)
    try:
        dst_is_dir: bool | None = dst.info().is_dir
    except (FileNotFound, DirectoryNotFound):
        dst_is_dir = None
    if dst_is_dir is False:
        raise GenrostoreError(f"cannot overwrite non-directory {dst.fullpath} with directory {src.fullpath}",
                              hint="remove the file first, or copy into a directory")
    if dst_is_dir and not content_only:
        return dst.child(src.basename)
    return dst


def _plan_source(src: Node, dst: Node, *, many: bool, recursive: bool, filters: Filter) -> Iterator[Pair]:
    if src.is_stdio:
        yield Pair(src, destination_for(src, dst, many=many))
        return
    entry = src.info()
    if not entry.is_dir:
        if file_in_scope(entry, filters):
            yield Pair(src, destination_for(src, dst, many=many), entry)
        return
    if not recursive:
        raise UsageError(f"{src.fullpath}: is a directory", fix="recursive-copy")
    if dst.is_stdio:
        raise UsageError("cannot copy a directory to standard output")
    yield from _plan_tree(src, _tree_root(src, dst, many=many), filters)


def plan_from_list(names: Iterable[str], dst: Node, *, base: Node | None = None,
                   filters: Filter = NO_FILTER) -> Iterator[Pair]:
    """Pairs for a list of names read as they arrive (`cp --from-list`), those `filters` keeps:
    matched by their path below `base`, or by their name when they are addresses.

    With `base`, each name is relative to it and keeps its relative path under `dst` (like
    rclone's --files-from); such a name must stay below both: `..` that would climb above
    them is reported and skipped. Without, each name is an address and `dst` receives
    basenames. A destination already planned is never overwritten by a later name.
    """
    storage = dst.storage
    planned = _Planned()
    for raw in names:
        name = raw.rstrip("\r\n")
        if not name.strip() or name.startswith("#"):
            continue
        try:
            relative = None
            if base is not None:
                relative = _below(name, base)
                src, target = base.child(relative), dst.child(relative)
            else:
                src = storage.node(name)
                target = destination_for(src, dst, many=True)
            entry = src.info()
            if not _listed_in_scope(entry, relative, filters):
                continue
            checked = planned.check(Pair(src, target, entry))
            if checked is not None:
                yield checked
        except GenrostoreError as exc:
            yield Pair(None, None, error=exc, label=name)


def _listed_in_scope(entry: Entry, relative: str | None, filters: Filter) -> bool:
    """A listed file is matched by its path below SRC (`relative`), else by its name."""
    if entry.is_dir or not filters.active:
        return True
    return filters.include_file(relative, entry.size, entry.mtime) if relative is not None else file_in_scope(entry, filters)


def _below(name: str, base: Node) -> str:
    """`name` relative to the list's SRC: `./a`, `/a` and `a/../b` are fine, climbing out is not."""
    if "\x00" in name:
        raise UsageError(f"{name!r}: names cannot contain NUL bytes")
    try:
        relative = normalize(name)
    except UsageError:
        raise UsageError(f"{name}: leaves {base.fullpath} ('..'); skipped",
                         hint="names in a list stay below SRC and DST") from None
    if not relative:
        raise UsageError(f"{name}: names {base.fullpath} itself, not a file in it; skipped")
    return relative


def _plan_tree(src: Node, root: Node, filters: Filter = NO_FILTER) -> Iterator[Pair]:
    """The files below `src` that `filters` keeps, and its empty directories where `root`'s
    store has directories (one that holds only what the filter left out is not made).

    Every listed name was checked by the mount (`Mount.walk`): an unusable one (`..`, `.`,
    an empty segment, a symlink loop) arrives here as an error Pair, so it is reported and
    counted, and never becomes a destination path.
    """
    skipped: list[UnsafeName] = []
    backend = root.mount.backend
    make_dirs = not root.is_stdio and backend.features.dirs and not backend.features.implicit_dirs
    prefix = len(src.path) + 1 if src.path else 0
    empty: Entry | None = Entry(src.path, "dir")  # the last directory seen, until something is below it

    def left_out(entry: Entry) -> None:  # heard before the walk yields what comes after `entry`
        nonlocal empty
        if empty is not None and _within("/" + entry.path, "/" + empty.path):
            empty = None  # not empty: it holds something out of scope

    for entry in walk_in_scope(src.mount, src.path, filters, skipped.append, on_out=left_out):
        while skipped:
            error = skipped.pop(0)
            yield Pair(None, None, error=error, label=error.where)
        if empty is not None and make_dirs and not _within("/" + entry.path, "/" + empty.path):
            yield _dir_pair(src, root, empty, prefix)
        empty = entry if entry.is_dir else None
        if not entry.is_dir:
            yield Pair(src.at(entry.path), root.child(entry.path[prefix:]), entry)
    for error in skipped:
        yield Pair(None, None, error=error, label=error.where)
    if empty is not None and make_dirs:
        yield _dir_pair(src, root, empty, prefix)


def _dir_pair(src: Node, root: Node, entry: Entry, prefix: int) -> Pair:
    target = root.child(entry.path[prefix:]) if entry.path != src.path else root
    return Pair(src.at(entry.path), target, entry)
