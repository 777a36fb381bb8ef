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
from typing import IO, TYPE_CHECKING

from genrostore.core.actions import Action, Copy, Delete, SetMetadata, Skip
from genrostore.core.backend import Entry
from genrostore.core.compare import Comparator, Verdict, feature
from genrostore.core.errors import GenrostoreError, Refused, UsageError
from genrostore.core.march import Pair, Scope, open_trees, ordered_map

if TYPE_CHECKING:
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
    tally: Tally = field(default_factory=Tally)
    errors: list[tuple[str, GenrostoreError]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deletes = DeleteSet(self.spill_after)

    def actions(self, pairs: Iterator[Pair]) -> Iterator[SyncAction]:
        """Copy, SetMetadata and Skip actions, in order; deletes are only planned here.

        Comparisons that need I/O run on `jobs` threads while the merge streams on (see
        `march.ordered_map`); the tally and the delete set are kept on this thread only.
        """
        workers = self.jobs or self.comparator.default_jobs
        for pair, judged in ordered_map(self._judge, pairs, workers=workers, parallel=self._needs_io):
            action = self._record(pair, judged)
            if action is not None:
                yield action

    def action_for(self, pair: Pair) -> SyncAction | None:
        return self._record(pair, self._judge(pair))

    def _needs_io(self, pair: Pair) -> bool:
        return not self.options.ignore_existing and self.comparator.needs_io(pair)

    def _judge(self, pair: Pair) -> tuple[str, str] | GenrostoreError | None:
        """The decision for a pair with a source (may read or ask the store: runs on any thread)."""
        if pair.error is not None or pair.src is None or pair.src.is_dir:
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
            return MakeDir(_below(self.dst, pair.dst_name))
        if pair.src is None:
            assert pair.dst is not None
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

    def _deletes(self, planned: Iterator[tuple[str, int]]) -> Iterator[Delete]:
        for path, size in planned:
            node = _below(self.dst, path)
            yield Delete(node, Entry(node.path, "file", size))

    def close(self) -> None:
        self.deletes.close()


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
        raise Refused(f"the sync would delete {deletes.count} files, more than --max-delete {limit}{share}: "
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
    trees = open_trees(src, dst, dst_missing_ok=True, scope=scope, delete_excluded=delete_excluded, empty_dirs=True)
    comparator = Comparator(storage, trees.src.mount, trees.dst.mount, mode, notice=notice,
                            labels=(src.fullpath, dst.fullpath))
    plan = SyncPlan(trees.src, trees.dst, comparator, options or SyncOptions(), jobs=jobs)
    return plan, plan.actions(trees.pairs)


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
