"""Running a sync plan: transfers first (bounded, parallel), then the gated deletes.

The work goes through the pipeline's `execute.Executor`, as cp's does: a small-file Copy that
`batch.route` admits travels as a coroutine on the store's event loop, everything else runs
`pipeline.executors.perform` on the `-j` threads (the Mount's read-only, permission and dry-run
checks included). This module only orders the work: no delete can start before every transfer
has finished without error, because `SyncPlan.deletions` runs the gates on the whole set first.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genrostore.core.actions import Copy, Delete, Move, SetMetadata, Skip
from genrostore.core import signals
from genrostore.core.compare import feature
from genrostore.core.errors import GenrostoreError, Interrupted, PartialFailure, translate
from genrostore.core.pipeline.execute import Executor
from genrostore.core.pipeline.executors import perform
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.syncplan import MakeDir, SyncAction, SyncPlan

if TYPE_CHECKING:
    from genrostore.core.node import Node

@dataclass
class SyncOutcome:
    """What the run did, for the one-line summary and the exit code."""

    copied: int = 0
    updated: int = 0
    metadata: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    dirs: int = 0  # empty SRC directories made on DST
    bytes: int = 0
    failures: list[tuple[str, GenrostoreError]] = field(default_factory=list)

    def summary(self) -> str:
        made = f", {self.dirs} dir{'s' if self.dirs != 1 else ''} made" if self.dirs else ""
        return (f"copied {self.copied}, updated {self.updated + self.metadata}, deleted {self.deleted}, "
                f"unchanged {self.unchanged}, errors {len(self.failures)}, {self.bytes} bytes{made}")

    def raise_for(self) -> None:
        """The errors' own exit code when they share one (issue 15: "exit code from the errors"),
        whatever else completed; 1 when they differ."""
        if self.failures:
            raise PartialFailure(f"{len(self.failures)} error(s) during the sync", self.failures, all_failed=True)


Report = Callable[[SyncAction, bool, "GenrostoreError | None"], None]  # one finished action, for --json


def run_sync(plan: SyncPlan, actions: Iterator[SyncAction], options: CopyOptions | None = None, *,
             warn: Callable[[str], None] = print, report: Report | None = None,
             outcome: SyncOutcome | None = None, delete_during: bool = False,
             backup: Backup | None = None) -> SyncOutcome:
    """Perform every action of `plan`, then its deletes if every gate passes.

    Each action goes through the pipeline's executor (`pipeline.executors.perform`) with
    `options` (jobs, progress); on Ctrl-C their `cancel` event is set at once, so transfers stop
    at their next chunk, and writers still open are aborted: nothing partial is left, and
    nothing is deleted.

    In a dry run (the destination mount's settings) the outcome counts what would have been
    done, so the summary and the exit code are the real run's.

    Refused (exit 7) from a gate propagates after the transfers; listing, reading, transfer and
    delete failures are all collected in the outcome (`raise_for` gives their exit code); pass
    `outcome` to read the counts even then. `report(action, changed, error)` hears of every
    action once it is done (`--json`), on one thread at a time. Transfers are announced to the
    progress sink (`add_total`) as the plan yields them, so the progress shows totals.

    `delete_during`: each planned delete runs as soon as the merge passed it (`plan.deletions_during`
    says which gates hold it back); the rest of the gates run at the end as usual.

    `backup` (--backup-dir): a file to be deleted is moved there instead, and a file to be
    overwritten is moved there just before its replacement is copied (a failed backup copies
    nothing over it). The move is `pipeline.executors.move`: a rename or the store's server-side
    copy where the backend declares it, else copy, verify, remove.
    """
    options = options or CopyOptions()
    outcome = outcome if outcome is not None else SyncOutcome()
    lock = threading.Lock()
    dry_run = plan.dst.mount.settings.dry_run
    delete_failures: list[tuple[str, GenrostoreError]] = []
    deleted_dirs: set[str] = set()  # parents of deleted files: removed once empty (as rclone sync)

    def finish(action: SyncAction, result: bool | BaseException) -> None:
        if isinstance(result, BaseException):
            error = result if isinstance(result, GenrostoreError) else translate(result, _where(action))
            with lock:
                if isinstance(action, Delete):
                    delete_failures.append((_where(action), error))
                else:
                    plan.transfer_failed(_where(action), error)
                if report is not None:
                    report(action, False, error)
            return
        with lock:
            _count(outcome, action, result or dry_run)
            if isinstance(action, Delete) and result:
                deleted_dirs.add(action.node.path.rpartition("/")[0])
            if report is not None:
                report(action, result or dry_run, None)
        if isinstance(action, Copy) and options.progress is not None:
            options.progress.file_done(action.dst.fullpath)

    def submit(executor: Executor[SyncAction], action: SyncAction) -> None:
        if isinstance(action, Skip):
            finish(action, False)
        elif isinstance(action, Copy) and (backup is None or action.reason != "changed") \
                and executor.batched(action, action):
            return
        else:
            executor.submit(action, functools.partial(_perform, action, options, backup))

    try:
        with signals.cancelling(options.cancel), Executor(options, finish, prefix="genrostore-sync") as executor:
            try:
                for action in actions:
                    if isinstance(action, Copy) and options.progress is not None:
                        options.progress.add_total(1, action.entry.size if action.entry is not None else None)
                    if delete_during:  # the merge passed these: released before the next transfer
                        for delete in plan.deletions_during(warn):
                            submit(executor, delete)
                    submit(executor, action)
                executor.drain()  # every transfer finished before the gates look at the errors
                for delete in plan.deletions(warn):
                    submit(executor, delete)
                executor.drain()
                deleted = not plan.errors and not delete_failures
                if not dry_run and deleted:
                    _remove_emptied_dirs(plan, deleted_dirs)
                for action in plan.replacements(deleted, warn):  # file/directory conflicts, in place now
                    submit(executor, action)
                executor.drain()
            except KeyboardInterrupt:
                executor.interrupt()
                raise
    except KeyboardInterrupt:
        raise Interrupted(f"{signals.describe()}; nothing was deleted, partial destinations were removed") from None
    finally:
        outcome.failures = [*plan.errors, *delete_failures]
    return outcome


def _perform(action: SyncAction, options: CopyOptions, backup: Backup | None) -> bool:
    """One action on a worker thread: the pipeline's `perform`, with --backup-dir's move first
    (a replaced file) or instead (a deleted one); a failed backup copies nothing over the file."""
    if isinstance(action, MakeDir):
        action.dst.mount.mkdir(action.dst.path, parents=True, exist_ok=True)
        return not action.dst.mount.settings.dry_run
    if backup is not None and isinstance(action, Delete):
        return perform(Move(action.node, backup.target(action.node), action.entry), options)
    if backup is not None and isinstance(action, Copy) and action.reason == "changed":
        perform(Move(action.dst, backup.target(action.dst)), options)
    return perform(action, options)


@dataclass(frozen=True)
class Backup:
    """--backup-dir: where replaced and deleted files of `dst_root` go, same relative path + suffix."""

    root: Node
    dst_root: str
    suffix: str = ""

    def target(self, node: Node) -> Node:
        relative = node.path[len(self.dst_root) + 1:] if self.dst_root else node.path
        path = f"{self.root.path}/{relative}" if self.root.path else relative
        return type(self.root)(self.root.storage, self.root.mount, path + self.suffix)


def _remove_emptied_dirs(plan: SyncPlan, parents: set[str]) -> None:
    """Directories under DST (never DST itself) left empty by the deletes are removed, deepest
    first, as rclone sync does; a directory that still holds anything, or on a store whose
    directories are only key prefixes, is left alone. A failure here is no data loss: ignored."""
    mount, root = plan.dst.mount, plan.dst.path
    if feature(mount.backend, "implicit_dirs"):
        return
    candidates: set[str] = set()
    keep = plan.kept_dirs  # SRC has them (empty): they stay
    for parent in parents:
        while parent != root and (not root or parent.startswith(root + "/")) and parent:
            candidates.add(parent)
            parent = parent.rpartition("/")[0]
    for path in sorted(candidates - keep, key=lambda p: (-p.count("/"), p)):
        try:
            if next(iter(mount.iterdir(path)), None) is None:
                mount.remove_dir(path)
        except GenrostoreError:
            continue


def _count(outcome: SyncOutcome, action: SyncAction, changed: bool) -> None:
    if isinstance(action, MakeDir):
        outcome.dirs += changed
    elif isinstance(action, Skip):
        if action.reason == "unchanged":
            outcome.unchanged += action.count
        else:
            outcome.skipped += action.count
    elif not changed:
        return
    elif isinstance(action, Copy):
        if action.reason == "new":
            outcome.copied += 1
        else:
            outcome.updated += 1
        if action.entry is not None:
            outcome.bytes += action.entry.size or 0
    elif isinstance(action, SetMetadata):
        outcome.metadata += 1
    elif isinstance(action, Delete):
        outcome.deleted += 1


def _where(action: SyncAction) -> str:
    if isinstance(action, MakeDir):
        return action.dst.fullpath
    if isinstance(action, Delete):
        return action.node.fullpath
    if isinstance(action, SetMetadata):
        return action.dst.fullpath
    return action.src.fullpath if action.src is not None else str(action.dst)

