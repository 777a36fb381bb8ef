"""Running a sync plan: transfers first (bounded, parallel), then the gated deletes.

`perform(action) -> bool` is the pipeline's executor for one action (it dispatches on the
action's type and goes through the Mount's read-only, permission and dry-run checks); this module
only orders the work: no delete can start before every transfer has finished without error,
because `SyncPlan.deletions` runs the gates on the whole set first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from genrostore.core.actions import Action, Copy, Delete, SetMetadata, Skip
from genrostore.core.errors import GenrostoreError, PartialFailure, translate
from genrostore.core.syncplan import SyncPlan

Perform = Callable[[Action], bool]


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


def run_sync(plan: SyncPlan, actions: Iterator[Action], perform: Perform, *, jobs: int = 4,
             warn: Callable[[str], None] = print) -> SyncOutcome:
    """Perform every action of `plan`, then its deletes if every gate passes.

    In a dry run (the destination mount's settings) the outcome counts what would have been
    done, so the summary and the exit code are the real run's.

    Refused (exit 7) from a gate propagates after the transfers; listing, reading, transfer and
    delete failures are all collected in the outcome (`raise_for` gives their exit code).
    """
    outcome = SyncOutcome()
    lock = threading.Lock()
    dry_run = plan.dst.mount.settings.dry_run
    delete_failures: list[tuple[str, GenrostoreError]] = []

    def one(action: Action) -> None:
        try:
            changed = perform(action)
        except Exception as exc:  # noqa: BLE001 - a worker's failure must never vanish in its future
            error = exc if isinstance(exc, GenrostoreError) else translate(exc, _where(action))
            with lock:
                if isinstance(action, Delete):
                    delete_failures.append((_where(action), error))
                else:
                    plan.transfer_failed(_where(action), error)
            return
        with lock:
            _count(outcome, action, changed or dry_run)

    try:
        _each(actions, one, jobs)
        for delete in plan.deletions(warn):
            one(delete)
    finally:
        outcome.failures = [*plan.errors, *delete_failures]
    return outcome


def _each(actions: Iterator[Action], one: Callable[[Action], None], jobs: int) -> None:
    """Run `one` over the actions on `jobs` threads, a bounded number queued (memory stays flat)."""
    if jobs <= 1:
        for action in actions:
            one(action)
        return
    pending: set[Future[None]] = set()
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="genrostore-sync") as pool:
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
            for future in pending:
                future.cancel()
            raise


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


def perform_directly(action: Action) -> bool:
    """One action through the library's own operations (`Node.copy_to`, `Mount.remove_file`):
    what runs a plan until the sync command hands its actions to the pipeline's executor
    (`core.pipeline.executors.perform`), which adds batching and progress."""
    if isinstance(action, Skip):
        return False
    if isinstance(action, Copy):
        action.src.copy_to(action.dst)
        return not action.dst.mount.settings.dry_run
    if isinstance(action, Delete):
        action.node.mount.remove_file(action.node.path)
        return not action.node.mount.settings.dry_run
    if isinstance(action, SetMetadata):
        set_mtime = getattr(action.dst.mount, "set_mtime", None)
        if set_mtime is None:
            raise action.dst.mount.backend.unsupported("setting a modification time")
        set_mtime(action.dst.path, action.mtime)
        return not action.dst.mount.settings.dry_run
    raise TypeError(f"not a sync action: {action!r}")
