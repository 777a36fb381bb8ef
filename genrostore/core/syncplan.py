"""Sync's decisions: one action per merged pair, deletes held back, and the safety gates.

The plan turns the merge-join of both trees (`core.march`) into Copy, SetMetadata and Skip
actions as it streams; a destination-only file becomes a planned delete kept in a `DeleteSet`
(on disk past a bound), released by `deletions()` only after every transfer succeeded and every
gate passed, on the whole set:

(a) any listing, reading or transfer error: no deletes at all ("N deletions skipped because of
    errors"), the errors decide the exit code;
(b) an empty source (in scope) against a destination that is not: refused, exit 7, unless
    `allow_empty_src` (peak/s5cmd#695, rclone/rclone#4298);
(c) `max_delete` (N or N%) and `max_delete_size`: past either, nothing is deleted (not "stop
    after N", as rclone and rsync do), exit 7 naming the numbers.
"""

from __future__ import annotations

import os
import re
import struct
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import IO, TYPE_CHECKING

from genrostore.core import localmarch
from genrostore.core.actions import Action, Copy, Delete, SetMetadata, Skip
from genrostore.core.backend import Entry
from genrostore.core.compare import Comparator, Verdict, feature
from genrostore.core.errors import DirectoryNotFound, FileNotFound, GenrostoreError, NotADirectory, Refused, UsageError
from genrostore.core.march import Failure, Pair, Scope, Unchanged, open_trees, ordered_map, sort_key, walk_sorted

if TYPE_CHECKING:
    from datetime import datetime

    from genrostore.core.mount import Mount
    from genrostore.core.node import Node
    from genrostore.core.storage import Storage

SPILL_AFTER = 10_000  # planned deletes held in memory before the set moves to a temp file
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([bkmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str, *, option: str = "--max-delete-size") -> int:
    """`10k`, `1.5M`, `2GiB`, `100` (bytes): rclone's units, powers of 1024."""
    match = _SIZE.match(text)
    if match is None:
        raise UsageError(f"{option} {text}: not a size", hint="use bytes or a unit: 500k, 10M, 1G")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class DeleteLimit:
    """`--max-delete`: a count, or a percentage of the destination's files."""

    count: int | None = None
    percent: float | None = None

    @classmethod
    def parse(cls, text: str) -> DeleteLimit:
        value = text.strip()
        try:
            if value.endswith("%"):
                percent = float(value[:-1])
                if not 0 <= percent <= 100:
                    raise ValueError(value)
                return cls(percent=percent)
            count = int(value)
            if count < 0:
                raise ValueError(value)
            return cls(count=count)
        except ValueError:
            raise UsageError(f"--max-delete {text}: not a count nor a percentage",
                             hint="use a number of files (100) or a share of DST's files (10%)") from None

    def allowed(self, dst_files: int) -> int:
        if self.count is not None:
            return self.count
        assert self.percent is not None
        return int(dst_files * self.percent / 100)

    def __str__(self) -> str:
        return str(self.count) if self.count is not None else f"{self.percent:g}%"


@dataclass
class SyncOptions:
    """What a sync may do beyond making DST's changed and new files equal to SRC's."""

    delete: bool = True  # False: --no-delete
    update: bool = False  # skip files whose DST copy is newer
    ignore_existing: bool = False  # skip every file DST already has
    allow_empty_src: bool = False
    max_delete: DeleteLimit | None = None
    max_delete_size: int | None = None


class DeleteSet:
    """Planned deletes (path, size) in merge order: in memory up to `bound`, then in a temp file,
    so a sync that would delete millions of files does not hold them."""

    def __init__(self, bound: int = SPILL_AFTER) -> None:
        self.bound = bound
        self.count = 0
        self.bytes = 0
        self.drained = 0  # already released by drain() (--delete-during)
        self._pending: list[tuple[str, int]] = []
        self._file: IO[bytes] | None = None

    def add(self, path: str, size: int) -> None:
        self.count += 1
        self.bytes += size
        self._pending.append((path, size))
        if len(self._pending) > self.bound:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="genrostore-deletes-")  # noqa: SIM115 - open until close(); the OS removes it even after kill -9
        for path, size in self._pending:
            raw = path.encode("utf-8", "surrogateescape")
            self._file.write(struct.pack("<QI", size, len(raw)) + raw)
        self._pending.clear()

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def __iter__(self) -> Iterator[tuple[str, int]]:
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            header = struct.calcsize("<QI")
            while True:
                head = self._file.read(header)
                if len(head) < header:
                    break
                size, length = struct.unpack("<QI", head)
                yield self._file.read(length).decode("utf-8", "surrogateescape"), size
            self._file.seek(0, os.SEEK_END)
        yield from list(self._pending)

    @property
    def remaining(self) -> int:
        return self.count - self.drained

    def drain(self) -> Iterator[tuple[str, int]]:
        """Release every delete held so far (--delete-during); `count` and `bytes` keep the totals."""
        held = list(self._pending) if self._file is None else list(self)
        self.drained += len(held)
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending.clear()
        yield from held

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pending.clear()


@dataclass
class Tally:
    """Counts of what the plan decided (the one-line summary and the gates read them)."""

    src_files: int = 0
    dst_files: int = 0
    new: int = 0
    changed: int = 0
    metadata: int = 0
    unchanged: int = 0
    skipped: int = 0
    bytes: int = 0  # bytes the copies will move


def decide(pair: Pair, verdict: Callable[[Pair], Verdict], options: SyncOptions,
           newer_on_dst: Callable[[Pair], bool]) -> tuple[str, str]:
    """The rule for one pair with both sides or SRC only, as (kind, reason):
    ("copy", "new"|"changed"), ("metadata", ""), ("skip", "unchanged"|"exists"|"newer")."""
    if pair.dst is None:
        return "copy", "new"
    if options.ignore_existing:
        return "skip", "exists"
    if options.update and newer_on_dst(pair):
        return "skip", "newer"
    result = verdict(pair)
    if result is Verdict.EQUAL:
        return "skip", "unchanged"
    if result is Verdict.METADATA:
        return "metadata", ""
    return "copy", "changed"


@dataclass(frozen=True)
class MakeDir:
    """An empty SRC directory: created on DST (exist_ok), as cp -r does. Sync's own, not a
    pipeline action: `syncrun` runs it through `Mount.mkdir` (read-only and dry-run checks)."""

    dst: Node


SyncAction = Action | MakeDir


@dataclass
class SyncPlan:
    """Streams actions for a sync of `src` (a directory node) into `dst`; see the module docstring."""

    src: Node
    dst: Node
    comparator: Comparator
    options: SyncOptions = field(default_factory=SyncOptions)
    spill_after: int = SPILL_AFTER
    jobs: int | None = None  # threads for comparisons that need I/O (default: the comparator's)
    scope: Scope | None = None  # the filters, for the trees walked by `replacements`
    tally: Tally = field(default_factory=Tally)
    errors: list[tuple[str, GenrostoreError]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deletes = DeleteSet(self.spill_after)
        # file/directory conflicts, resolved after the deletes (`replacements`): the Copy of SRC's
        # file a DST directory is in the way of, or the relative path of SRC's tree a DST file is
        self.deferred: list[Copy | str] = []
        self.kept_dirs: set[str] = set()  # DST directories SRC has (empty): never removed once emptied
        self._hierarchical = not feature(self.dst.mount.backend, "implicit_dirs")
        self._watch: list[tuple[bytes, SyncAction | str]] = []  # see `_watched`
        self._in_way: bytes | None = None  # the key prefix of a SRC tree a DST file is in the way of

    def actions(self, pairs: Iterator[Pair | Unchanged]) -> Iterator[SyncAction]:
        """Copy, SetMetadata, MakeDir and Skip actions, in order; deletes are only planned here.

        Comparisons that need I/O run on `jobs` threads while the merge streams on (see
        `march.ordered_map`); the tally and the delete set are kept on this thread only.

        A new file or an empty directory of SRC is held until the next pair shows whether DST
        has a directory of that name (its files follow in the merge order): then the directory
        is already there (MakeDir dropped), or it is in the way of SRC's file (a conflict, see
        `deferred`). A DST file where SRC has a directory is in the way of everything below it.
        """
        workers = self.jobs or self.comparator.default_jobs
        for pair, judged in ordered_map(self._judge, pairs, workers=workers, parallel=self._needs_io):
            if isinstance(pair, Unchanged):  # no watched name is below an equal pair's (both sides are files)
                self._in_way = None
                if self._watch:
                    yield from self._passed(pair.key)
                self.tally.src_files += pair.count
                self.tally.dst_files += pair.count
                self.tally.unchanged += pair.count
                yield Skip(None, None, None, "unchanged", pair.count)
                continue
            if self._watch or self._in_way is not None:
                key = sort_key(pair.relative, pair.error is None and _is_dir(pair))
                if self._in_way is not None:
                    if key.startswith(self._in_way):
                        if pair.src is not None and not pair.src.is_dir:
                            self.tally.src_files += 1
                        continue
                    self._in_way = None
                skip, released = self._watched(pair, key)
                yield from released
                if skip:
                    continue
            action = self._record(pair, judged)
            if pair.error is None and pair.src is None and pair.dst is not None and not pair.dst.is_dir \
                    and self._hierarchical:
                self._watch.append((sort_key(pair.relative) + b"/", pair.relative))
            if action is None:
                continue
            if self._hierarchical and (isinstance(action, MakeDir) or (isinstance(action, Copy) and action.reason == "new")):
                self._watch.append((sort_key(pair.dst_name) + b"/", action))
                continue
            yield action
        for _, watched in self._watch:
            if not isinstance(watched, str):
                yield watched
        self._watch.clear()

    def _watched(self, pair: Pair, key: bytes) -> tuple[bool, list[SyncAction]]:
        """Pass `pair` (at `key`) by the watched names: an action held until the merge passed
        the place of a DST directory of its name, or a DST file SRC may have a directory at.
        Returns (skip this pair, the actions released)."""
        released: list[SyncAction] = []
        kept: list[tuple[bytes, SyncAction | str]] = []
        skip = False
        for prefix, watched in self._watch:
            if key.startswith(prefix) and pair.error is None:
                if isinstance(watched, str):
                    if pair.src is not None:  # SRC has a directory where DST has this file
                        self._file_in_the_way(watched, pair)
                        skip = True
                        continue
                elif pair.dst is not None:  # DST has a directory where this goes
                    self._dst_dir_at(watched)
                    continue
                kept.append((prefix, watched))
            elif key > prefix:
                if not isinstance(watched, str):
                    released.append(watched)
            else:
                kept.append((prefix, watched))
        self._watch = kept
        return skip, released

    def _passed(self, key: bytes) -> list[SyncAction]:
        """The watched actions the merge has gone past at `key` (an `Unchanged` run's last key)."""
        released = [watched for prefix, watched in self._watch if key > prefix and not isinstance(watched, str)]
        self._watch = [(prefix, watched) for prefix, watched in self._watch if not key > prefix]
        return released

    def action_for(self, pair: Pair) -> SyncAction | None:
        return self._record(pair, self._judge(pair))

    def _dst_dir_at(self, held: SyncAction) -> None:
        """DST has a directory where `held` (SRC's empty directory or new file) goes."""
        if isinstance(held, MakeDir):
            self.kept_dirs.add(held.dst.path)  # there already: not made, and not removed once emptied
            return
        assert isinstance(held, Copy)
        self.tally.new -= 1
        self.tally.bytes -= held.entry.size or 0 if held.entry is not None else 0
        if not self.options.delete:
            self.errors.append((held.dst.fullpath, GenrostoreError(
                f"{held.dst.fullpath}: is a directory on DST, a file in SRC; --no-delete keeps it",
                hint="sync without --no-delete to replace it")))
            return
        self.deferred.append(held)

    def _file_in_the_way(self, relative: str, pair: Pair) -> None:
        """DST's file `relative` is where SRC has a directory: it goes with the planned deletes
        (already in the set), and SRC's tree there is copied after them (`deferred`)."""
        self._in_way = sort_key(relative) + b"/"
        if pair.src is not None and not pair.src.is_dir:
            self.tally.src_files += 1
        if not self.options.delete:
            where = _below(self.dst, relative).fullpath
            self.errors.append((where, GenrostoreError(f"{where}: is a file on DST, a directory in SRC; "
                                                       "--no-delete keeps it", hint="sync without --no-delete to replace it")))
            return
        self.deferred.append(relative)

    def _needs_io(self, pair: Pair | Unchanged) -> bool:
        return not isinstance(pair, Unchanged) and not self.options.ignore_existing and self.comparator.needs_io(pair)

    def _judge(self, pair: Pair | Unchanged) -> tuple[str, str] | GenrostoreError | None:
        """The decision for a pair with a source (may read or ask the store: runs on any thread)."""
        if isinstance(pair, Unchanged) or pair.error is not None or pair.src is None or pair.src.is_dir:
            return None
        try:
            return decide(pair, self._verdict, self.options, self._newer_on_dst)
        except GenrostoreError as exc:
            return exc

    def _record(self, pair: Pair, judged: tuple[str, str] | GenrostoreError | None) -> SyncAction | None:
        if pair.error is not None:
            self.errors.append((pair.relative or "/", pair.error))
            return None
        if pair.src is not None and pair.src.is_dir:  # an empty SRC directory: made on DST
            if pair.dst is not None and pair.dst.is_dir:
                return None
            return MakeDir(_below(self.dst, pair.dst_name))
        if pair.src is None:
            assert pair.dst is not None
            if pair.dst.is_dir:  # an empty DST directory SRC does not have: left alone
                return None
            self.tally.dst_files += 1
            if self.options.delete:
                self.deletes.add(pair.relative, pair.dst.size or 0)
            return None
        self.tally.src_files += 1
        if pair.dst is not None:
            self.tally.dst_files += 1
        if isinstance(judged, GenrostoreError):
            self.errors.append((pair.relative, judged))
            return None
        assert judged is not None
        return self._build(pair, *judged)

    def _build(self, pair: Pair, kind: str, reason: str) -> Action:
        assert pair.src is not None
        src, dst = _below(self.src, pair.relative), _below(self.dst, pair.dst_name)
        if kind == "copy":
            setattr(self.tally, reason, getattr(self.tally, reason) + 1)
            self.tally.bytes += pair.src.size or 0
            return Copy(src, dst, pair.src, reason)
        if kind == "metadata":
            assert pair.src.mtime is not None
            self.tally.metadata += 1
            return SetMetadata(dst, pair.src.mtime, pair.dst)
        if reason == "unchanged":
            self.tally.unchanged += 1
        else:
            self.tally.skipped += 1
        return Skip(src, dst, pair.src, reason)

    def _verdict(self, pair: Pair) -> Verdict:
        assert pair.src is not None and pair.dst is not None
        return self.comparator.compare(_join(self.src.path, pair.relative), pair.src,
                                       _join(self.dst.path, pair.dst_name), pair.dst)

    def _newer_on_dst(self, pair: Pair) -> bool:
        assert pair.src is not None and pair.dst is not None
        return self.comparator.mtime_newer_on_dst(pair.src, pair.dst)

    def transfer_failed(self, where: str, error: GenrostoreError) -> None:
        """The executor reports each failed action here: one is enough to lock out every delete."""
        self.errors.append((where, error))

    def deletions(self, warn: Callable[[str], None]) -> Iterator[Delete]:
        """The planned deletes, once every gate passed (call after all transfers finished).

        Raises Refused (exit 7) for gates (b) and (c); for (a) says so with `warn` and yields none.
        """
        if not self.deletes.remaining:
            return
        if self.errors:
            left = self.deletes.remaining
            warn(f"genrostore: {left} deletion{'s' if left != 1 else ''} skipped because of errors")
            return
        check_gates(self.deletes, self.tally, self.options, self.src.fullpath, self.dst.fullpath)
        yield from self._deletes(self.deletes.drain() if self.deletes.drained else iter(self.deletes))

    def deletions_during(self, warn: Callable[[str], None]) -> Iterator[Delete]:
        """--delete-during: the deletes planned so far, released while the merge goes on, only
        while no error has happened yet and SRC has shown a file (the empty-source gate); the
        count and size limits need the whole set, so the CLI refuses them with this mode.
        A delete released here cannot be undone by an error found later (as rclone warns)."""
        if not self.deletes.remaining or self.errors or self.tally.src_files == 0:
            return
        if self.options.max_delete is not None or self.options.max_delete_size is not None:
            return
        yield from self._deletes(self.deletes.drain())

    def replacements(self, deleted: bool, warn: Callable[[str], None]) -> Iterator[SyncAction]:
        """What the file/directory conflicts need once the deletes ran (`deleted`: all of them
        did): SRC's file where DST's directory was (its files were planned deletes; the emptied
        directories are removed here first), and SRC's whole tree where DST's file was. Without
        the deletes nothing is replaced (the conflicting DST side stays, as every DST file does
        after an error)."""
        if not self.deferred:
            return
        if not deleted:
            count = len(self.deferred)
            warn(f"genrostore: {count} file/directory conflict{'s' if count != 1 else ''} left in place because "
                 "of errors")
            return
        mount = self.dst.mount
        for item in self.deferred:
            if isinstance(item, Copy):
                try:
                    _clear_dirs(mount, item.dst.path)
                except GenrostoreError as exc:
                    self.errors.append((item.dst.fullpath, exc))
                    continue
                yield Copy(item.src, item.dst, item.entry, "replaced")
                continue
            yield from self._tree(item)

    def _tree(self, relative: str) -> Iterator[SyncAction]:
        """SRC's tree at `relative` (DST has nothing there now): every file new, empty directories made."""
        root = _join(self.src.path, relative)
        scope = _Below(self.scope, relative) if self.scope is not None else None
        found = False
        for item in walk_sorted(self.src.mount, root, scope=scope, empty_dirs=True):
            if isinstance(item, Failure):
                self.errors.append((_join(relative, item.relative), item.error))
                continue
            found = True
            path = _join(relative, item.relative)
            if item.entry.is_dir:
                yield MakeDir(_below(self.dst, path))
            else:
                yield Copy(_below(self.src, path), _below(self.dst, path), item.entry, "new")
        if not found:
            yield MakeDir(_below(self.dst, relative))

    def _deletes(self, planned: Iterator[tuple[str, int]]) -> Iterator[Delete]:
        for path, size in planned:
            node = _below(self.dst, path)
            yield Delete(node, Entry(node.path, "file", size))

    def close(self) -> None:
        self.deletes.close()


def _clear_dirs(mount: Mount, path: str) -> None:
    """Remove the directory `path` whose files the sync deleted, and the empty directories in it;
    a file still there (excluded, or put there meanwhile) stops it: nothing unplanned is deleted."""
    if mount.settings.dry_run:
        mount.remove_dir(path)  # reported only; its files are still there in a dry run
        return
    try:
        entries = list(mount.iterdir(path))
    except (DirectoryNotFound, FileNotFound) as exc:
        if isinstance(exc, NotADirectory):
            raise
        return  # removed already, once the deletes emptied it
    for entry in entries:
        if not entry.is_dir:
            raise GenrostoreError(f"{mount.label(entry.path)}: still in the directory SRC has a file in place of; "
                                  "not replaced", hint="remove it, or exclude the file in SRC")
        _clear_dirs(mount, entry.path)
    mount.remove_dir(path)


class _Below:
    """The sync's scope seen from a subtree at `relative` (paths are matched from the sync's root)."""

    def __init__(self, scope: Scope, relative: str) -> None:
        self.scope, self.relative = scope, relative

    def include_dir(self, path: str) -> bool:
        return self.scope.include_dir(_join(self.relative, path))

    def include_file(self, path: str, size: int | None = None, mtime: datetime | None = None) -> bool:
        return self.scope.include_file(_join(self.relative, path), size, mtime)


def _is_dir(pair: Pair) -> bool:
    entry = pair.src if pair.src is not None else pair.dst
    return entry is not None and entry.is_dir


def _join(root: str, relative: str) -> str:
    return f"{root}/{relative}" if root else relative


def _below(root: Node, relative: str) -> Node:
    """A node under a root by a listed relative path: already clean (checked by the listing),
    so no normalising per file (`Node.child`), which is a third of planning's time."""
    return type(root)(root.storage, root.mount, _join(root.path, relative))


def check_gates(deletes: DeleteSet, tally: Tally, options: SyncOptions, src: str, dst: str) -> None:
    """Gates (b) and (c) on the whole delete set; Refused (exit 7) names what was exceeded."""
    if tally.src_files == 0 and not options.allow_empty_src:
        raise Refused(f"{src} has no files (in scope) while {dst} has {tally.dst_files}: refusing to delete "
                      f"them all; nothing deleted", hint="check SRC; --allow-empty-src if DST should be emptied")
    limit = options.max_delete
    if limit is not None and deletes.count > limit.allowed(tally.dst_files):
        share = f" ({limit.allowed(tally.dst_files)} of {tally.dst_files} files in DST)" if limit.percent is not None else ""
        raise Refused(f"the sync would delete {deletes.count} file{'' if deletes.count == 1 else 's'}, more than --max-delete {limit}{share}: "
                      "nothing deleted", hint="raise --max-delete if that many deletes are expected")
    if options.max_delete_size is not None and deletes.bytes > options.max_delete_size:
        raise Refused(f"the sync would delete {deletes.bytes} bytes, more than --max-delete-size "
                      f"{options.max_delete_size} bytes: nothing deleted",
                      hint="raise --max-delete-size if that much is expected to go")


def prepare_sync(storage: Storage, src: Node, dst: Node, options: SyncOptions | None = None, *,
                 mode: str = "auto", notice: Callable[[str], None] | None = None,
                 jobs: int | None = None, scope: Scope | None = None,
                 delete_excluded: bool = False) -> tuple[SyncPlan, Iterator[SyncAction]]:
    """Everything a sync does before executing: refuse overlapping trees (exit 2) and a missing
    SRC (exit 3), choose the comparison, and stream the actions (deletes held in the plan).

    The executor runs the actions, reports each failure with `plan.transfer_failed`, then runs
    `plan.deletions(warn)` (the gates), and finally `plan.close()`. `scope` is the filter
    (`core.filters.Filter`): DST's files out of it are never deleted unless `delete_excluded`.
    """
    refuse_overlap(src, dst)
    comparator = Comparator(storage, src.mount, dst.mount, mode, notice=notice, labels=(src.fullpath, dst.fullpath))
    trees = open_trees(src, dst, dst_missing_ok=True, scope=scope, delete_excluded=delete_excluded, empty_dirs=True,
                       stored_mtimes=comparator.uses_mtime)
    options = options or SyncOptions()
    plan = SyncPlan(trees.src, trees.dst, comparator, options, jobs=jobs, scope=scope)
    pairs: Iterator[Pair | Unchanged] = trees.pairs
    if not trees.single_file and not options.ignore_existing and localmarch.applies(trees.src, trees.dst,
                                                                                   comparator.method):
        # two local trees: listed and compared by worker processes, equal files counted in bulk
        pairs = localmarch.walk_pairs(localmarch.Job(
            trees.src.mount, trees.src.path, trees.dst.mount, trees.dst.path, scope,
            None if delete_excluded else scope, comparator.method, comparator.window // timedelta(microseconds=1),
            dst_missing_ok=True), empty_dirs=True)
    return plan, plan.actions(pairs)


def refuse_overlap(src: Node, dst: Node) -> None:
    """One tree inside the other (same mount, or the same disk through two mounts): exit 2,
    as rclone does; such a sync would copy or delete its own input."""
    left, right = _location(src), _location(dst)
    if left[0] != right[0]:
        return
    a, b = left[1], right[1]
    if a == b or not a or not b or a.startswith(b + "/") or b.startswith(a + "/"):
        raise UsageError(f"{src.fullpath} and {dst.fullpath} overlap: a sync would change its own source",
                         hint="sync into a directory outside SRC")


def refuse_backup_overlap(backup: Node, src: Node, dst: Node, scope: Scope | None) -> None:
    """--backup-dir inside DST (or DST inside it), or overlapping SRC: exit 2, as rclone does,
    unless the filters exclude it from DST's tree (then the sync never sees nor deletes it)."""
    where, path = _location(backup)
    for side, label in ((src, "SRC"), (dst, "DST")):
        store, root = _location(side)
        if store != where:
            continue
        inside = not root or path.startswith(root + "/")
        if path == root or (root.startswith(path + "/") if path else True):
            pass
        elif not inside:
            continue
        elif label == "DST" and scope is not None and not scope.include_dir(path[len(root) + 1:] if root else path):
            continue
        raise UsageError(f"--backup-dir {backup.fullpath} overlaps {label} {side.fullpath}",
                         hint="put the backup dir outside both trees, or exclude it with a filter")


def _location(node: Node) -> tuple[object, str]:
    """(which store, path inside it): the OS path for local disks, the store's own answer where
    it gives one (`Backend.store_location`: one bucket mounted twice), else the mount and path."""
    backend = node.mount.backend
    local = node.mount.local_path(node.path) if feature(backend, "local_disk") else None
    if local is not None:
        real = os.path.realpath(local)
        return "local", real.rstrip("/") if real != "/" else ""
    located = getattr(backend, "store_location", None)
    where = located(node.path) if callable(located) else None
    if where is not None:
        return where[0], where[1].strip("/")
    return id(node.mount), node.path
