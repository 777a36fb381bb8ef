"""Running a sync plan: transfers first (bounded, parallel), then the gated deletes.

`perform(action) -> bool` is the pipeline's executor for one action (`pipeline.executors.perform`:
it dispatches on the action's type and goes through the Mount's read-only, permission and dry-run
checks); this module only orders the work: no delete can start before every transfer has finished without error,
because `SyncPlan.deletions` runs the gates on the whole set first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genrostore.core.actions import Action, Copy, Delete, Move, SetMetadata, Skip
from genrostore.core import signals
from genrostore.core.compare import feature
from genrostore.core.errors import GenrostoreError, Interrupted, PartialFailure, translate
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
    bytes: int = 0
    failures: list[tuple[str, GenrostoreError]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"copied {self.copied}, updated {self.updated + self.metadata}, deleted {self.deleted}, "
                f"unchanged {self.unchanged}, errors {len(self.failures)}, {self.bytes} bytes")

    def raise_for(self) -> None:
        """The errors' own exit code when they share one (issue 15: "exit code from the errors"),
        whatever else completed; 1 when they differ."""
        if self.failures:
            raise PartialFailure(f"{len(self.failures)} error(s) during the sync", self.failures, all_failed=True)


Report = Callable[[Action, bool, "GenrostoreError | None"], None]  # one finished action, for --json


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

    def one(action: SyncAction) -> None:
        if isinstance(action, MakeDir):
            try:
                action.dst.mount.mkdir(action.dst.path, parents=True, exist_ok=True)
            except GenrostoreError as exc:
                with lock:
                    plan.transfer_failed(action.dst.fullpath, exc)
            return
        try:
            if backup is not None and isinstance(action, Delete):
                changed = perform(Move(action.node, backup.target(action.node), action.entry), options)
            else:
                if backup is not None and isinstance(action, Copy) and action.reason == "changed":
                    perform(Move(action.dst, backup.target(action.dst)), options)
                changed = perform(action, options)
        except Exception as exc:  # noqa: BLE001 - a worker's failure must never vanish in its future
            error = exc if isinstance(exc, GenrostoreError) else translate(exc, _where(action))
            with lock:
                if isinstance(action, Delete):
                    delete_failures.append((_where(action), error))
                else:
                    plan.transfer_failed(_where(action), error)
                if report is not None:
                    report(action, False, error)
            return
        with lock:
            _count(outcome, action, changed or dry_run)
            if isinstance(action, Delete) and changed:
                deleted_dirs.add(action.node.path.rpartition("/")[0])
            if report is not None:
                report(action, changed or dry_run, None)
        if isinstance(action, Copy) and options.progress is not None:
            options.progress.file_done(action.dst.fullpath)

    def announced(stream: Iterator[SyncAction]) -> Iterator[SyncAction]:
        for action in stream:
            if isinstance(action, Copy) and options.progress is not None:
                options.progress.add_total(1, action.entry.size if action.entry is not None else None)
            if delete_during:  # the merge passed these: released before the next transfer
                yield from plan.deletions_during(warn)
            yield action

    try:
        with signals.cancelling(options.cancel):
            _each(announced(actions), one, options.jobs)
            for delete in plan.deletions(warn):
                one(delete)
            if not dry_run and not delete_failures:
                _remove_emptied_dirs(plan, deleted_dirs)
    except KeyboardInterrupt:
        options.abort_active()
        raise Interrupted(f"{signals.describe()}; nothing was deleted, partial destinations were removed") from None
    finally:
        outcome.failures = [*plan.errors, *delete_failures]
    return outcome


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
    for parent in parents:
        while parent != root and (not root or parent.startswith(root + "/")) and parent:
            candidates.add(parent)
            parent = parent.rpartition("/")[0]
    for path in sorted(candidates, key=lambda p: (-p.count("/"), p)):
        try:
            if next(iter(mount.iterdir(path)), None) is None:
                mount.remove_dir(path)
        except GenrostoreError:
            continue


def _each(actions: Iterator[SyncAction], one: Callable[[SyncAction], None], jobs: int) -> None:
    """Run `one` over the actions on `jobs` threads, a bounded number queued (memory stays flat).

    On Ctrl-C the queued ones are dropped and a worker stuck on a source that never answers is
    left behind (the pipeline's cancel event makes the others abort their writers), as cp does.
    """
    if jobs <= 1:
        for action in actions:
            one(action)
        return
    pending: set[Future[None]] = set()
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="genrostore-sync")
    try:
        for action in actions:
            if isinstance(action, Skip):
                one(action)
                continue
            pending.add(pool.submit(one, action))
            if len(pending) >= jobs * 4:
                _, pending = wait(pending, return_when=FIRST_COMPLETED)
        wait(pending)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        wait(pending, timeout=2.0)
        raise
    pool.shutdown(wait=True)


def _count(outcome: SyncOutcome, action: Action, changed: bool) -> None:
    if isinstance(action, Skip):
        if action.reason == "unchanged":
            outcome.unchanged += 1
        else:
            outcome.skipped += 1
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


def _where(action: Action) -> str:
    if isinstance(action, Delete):
        return action.node.fullpath
    if isinstance(action, SetMetadata):
        return action.dst.fullpath
    return action.src.fullpath if action.src is not None else str(action.dst)

