"""cp -r, sync, md5 -r and check on a cluster: the client's plan, the workers' per-file work.

Each function takes what the local command already built (its pairs, its sync plan, its walk)
and returns what the local run returns (CopyResult, SyncOutcome, md5 lines, verdicts), so the
CLI prints the same summary, lines and exit code either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genrostore.cluster import address as addresses
from genrostore.cluster import worker
from genrostore.cluster.driver import MAX_FILES, Runner, batches, new_token
from genrostore.cluster.wire import Job, MountRef, Shipped, from_wire, mount_ref, shipped_profile
from genrostore.core.actions import Action, Copy, Delete, SetMetadata, Skip
from genrostore.core.errors import GenrostoreError, UsageError

if TYPE_CHECKING:
    from genrostore.core.filters import Filter
    from genrostore.core.compare import Comparator, Verdict
    from genrostore.core.march import Pair as TreePair
    from genrostore.core.mount import Mount
    from genrostore.core.node import Node
    from genrostore.core.pipeline.options import CopyOptions, ProgressSink
    from genrostore.core.pipeline.outcome import CopyResult
    from genrostore.core.pipeline.plan import Pair
    from genrostore.core.storage import Storage
    from genrostore.core.syncplan import SyncAction, SyncPlan
    from genrostore.core.syncrun import Backup, Report, SyncOutcome


@dataclass
class Target:
    """Where the job runs and how its workers find their mounts."""

    address: str
    storage: Storage
    profile_path: str | None = None
    ship_profile: bool = False
    shipped: Shipped | None = None  # built by the first job(): the mounts the command resolved so far

    def ref(self, mount: Mount) -> MountRef:
        return mount_ref(self.storage, mount, shipping=self.ship_profile, shipped=self.shipped)

    def job(self, **flags: Any) -> Job:
        if self.ship_profile and self.shipped is None:
            # the ad-hoc mounts (local paths, URLs) the command resolved before starting the job
            self.shipped = shipped_profile(self.storage, list(self.storage._adhoc.values()))
        return Job(token=new_token(), profile_path=self.profile_path, shipped=self.shipped,
                   dry_run=self.storage.settings.dry_run, **flags)


def target(address: str | None, storage: Storage, *, profile_path: str | None,
           ship_profile: bool) -> Target | None:
    """The cluster to run on (None: run locally); --ship-profile only where it stays private."""
    resolved = addresses.resolve(address)
    if resolved is None:
        if ship_profile:
            raise UsageError("--ship-profile goes with --cluster")
        return None
    if ship_profile and not addresses.is_private(resolved):
        raise UsageError(f"--ship-profile sends credentials: not over {resolved.split('://')[0]}://",
                         hint="use a tls:// scheduler address, or local:N, or give the workers their own profile")
    return Target(resolved, storage, profile_path=profile_path, ship_profile=ship_profile)


@contextmanager
def _runner(where: Target, job: Job) -> Iterator[Runner]:
    with addresses.connect(where.address) as client:
        yield Runner(client, job)


def _size(entry: Any) -> int:
    return (entry.size or 0) if entry is not None and not getattr(entry, "is_dir", False) else 0


# -- cp -r -----------------------------------------------------------------------------------
def copy(where: Target, pairs: Iterable[Pair], options: CopyOptions, result: CopyResult) -> None:
    """Every planned pair copied by the workers; `result` filled as the local executor would."""
    job = where.job(no_clobber=options.no_clobber, checksum=options.checksum, jobs=options.jobs)
    progress = options.progress

    def planned() -> Iterator[tuple[Pair, int]]:
        for pair in pairs:
            if pair.error is not None:
                result.failures.append((pair.name, pair.error))
                continue
            assert pair.src is not None and pair.dst is not None
            if pair.src.is_stdio or pair.dst.is_stdio:
                raise UsageError("--cluster copies files: '-' cannot be a source or destination")
            if progress is not None:
                progress.add_total(1, pair.entry.size if pair.entry else None)
            yield pair, _size(pair.entry)

    def work() -> Iterator[tuple[list[Pair], list[worker.CopyItem]]]:
        for batch in batches(planned()):
            yield batch, [(where.ref(p.src.mount), p.src.path, where.ref(p.dst.mount), p.dst.path,  # type: ignore[union-attr]  # planned() yields only pairs with src and dst
                           p.entry, p.name) for p in batch]

    with _runner(where, job) as runner:
        for records, outcomes in runner.run(worker.copy_batch, work()):
            assert outcomes is not None
            for pair, (copied, error) in zip(records, outcomes, strict=True):
                assert pair.dst is not None
                if error is not None:
                    result.failures.append((pair.name, from_wire(error)))
                    continue
                (result.copied if copied else result.skipped).append(pair.dst)
                _advance(progress, pair.name, _size(pair.entry))


def _advance(progress: ProgressSink | None, name: str, size: int) -> None:
    if progress is not None:
        progress.advance(size)
        progress.file_done(name)


# -- sync ------------------------------------------------------------------------------------
def sync(where: Target, plan: SyncPlan, actions: Iterator[SyncAction], options: CopyOptions, *,
         warn: Callable[[str], None], outcome: SyncOutcome | None = None,
         report: Report | None = None, delete_during: bool = False,
         backup: Backup | None = None) -> SyncOutcome:
    """`syncrun.run_sync` with the per-file work on the workers: transfers first, then (every
    gate passed on the whole plan) the deletes, then the directories they emptied; the counts,
    `report` (--json) and progress as a local run gives them. Directories to create (MakeDir)
    are made here, in their turn.

    `delete_during`: the deletes the merge has passed (`plan.deletions_during`) join the
    transfer batches in their turn, as locally. `backup` (--backup-dir): a file to be
    overwritten is moved to the backup here, on the client, just before its batch is submitted
    (so a batch re-run after a worker died only copies again: a backup is taken once, and the
    new file can never be moved over the old one's backup); a file to be deleted is moved there
    by the worker instead of deleted (a re-run finds it already moved: done)."""
    from genrostore.core.syncplan import MakeDir
    from genrostore.core.syncrun import SyncOutcome, _count, _remove_emptied_dirs, _where

    outcome = outcome if outcome is not None else SyncOutcome()
    dry_run = plan.dst.mount.settings.dry_run
    job = where.job(jobs=options.jobs)
    delete_failures: list[tuple[str, GenrostoreError]] = []
    deleted_dirs: set[str] = set()
    progress = options.progress

    def item(action: Action) -> worker.SyncItem:
        if isinstance(action, Copy):
            return ("copy", where.ref(action.src.mount), action.src.path, where.ref(action.dst.mount),
                    action.dst.path, action.entry, action.reason, None)
        if isinstance(action, SetMetadata):
            return ("mtime", where.ref(action.dst.mount), action.dst.path, None, "", action.entry, "", action.mtime)
        assert isinstance(action, Delete)
        if backup is not None:
            kept = backup.target(action.node)
            return ("backup", where.ref(action.node.mount), action.node.path, where.ref(kept.mount), kept.path,
                    action.entry, "", None)
        return ("delete", where.ref(action.node.mount), action.node.path, None, "", action.entry, "", None)

    def in_turn(stream: Iterable[SyncAction]) -> Iterator[SyncAction]:
        for action in stream:
            if delete_during:  # the merge passed these: released before the next transfer, as locally
                yield from plan.deletions_during(warn)
            yield action

    def shipped(stream: Iterable[SyncAction]) -> Iterator[tuple[Action, int]]:
        for action in in_turn(stream):
            if isinstance(action, MakeDir):
                try:
                    action.dst.mount.mkdir(action.dst.path, parents=True, exist_ok=True)
                except GenrostoreError as exc:
                    plan.transfer_failed(action.dst.fullpath, exc)
                    if report is not None:
                        report(action, False, exc)
                    continue
                _count(outcome, action, True)
                if report is not None:
                    report(action, True, None)
                continue
            if isinstance(action, Skip):
                _count(outcome, action, False)
                continue
            if isinstance(action, Copy) and progress is not None:
                progress.add_total(1, action.entry.size if action.entry is not None else None)
            yield action, _size(action.entry) if isinstance(action, Copy) else 0

    def backed_up(batch: list[Action]) -> list[Action]:
        """The batch without the overwrites whose backup move failed (nothing is copied over
        a file that could not be kept; the failure locks out the deletes, as locally)."""
        if backup is None:
            return batch
        from genrostore.core.actions import Move
        from genrostore.core.pipeline.executors import perform

        replaced = [a for a in batch if isinstance(a, Copy) and a.reason == "changed"]
        failed: set[int] = set()
        for action, error in zip(replaced, _each_threaded(
                [Move(a.dst, backup.target(a.dst)) for a in replaced], lambda m: perform(m, options),
                options.jobs), strict=True):
            if error is not None:
                failed.add(id(action))
                plan.transfer_failed(_where(action), error)
                if report is not None:
                    report(action, False, error)
        return [a for a in batch if id(a) not in failed]

    def work(stream: Iterable[SyncAction]) -> Iterator[tuple[list[Action], list[worker.SyncItem]]]:
        for batch in batches(shipped(stream)):
            batch = backed_up(batch)
            if batch:
                yield batch, [item(action) for action in batch]

    def collect(records: list[Action], outcomes: list[worker.Outcome] | None) -> None:
        assert outcomes is not None
        for action, (changed, wire) in zip(records, outcomes, strict=True):
            if wire is not None:
                error = from_wire(wire)
                if isinstance(action, Delete):
                    delete_failures.append((_where(action), error))
                else:
                    plan.transfer_failed(_where(action), error)
                if report is not None:
                    report(action, False, error)
                continue
            _count(outcome, action, bool(changed) or dry_run)
            if isinstance(action, Delete) and changed:
                deleted_dirs.add(action.node.path.rpartition("/")[0])
            if report is not None:
                report(action, bool(changed) or dry_run, None)
            if isinstance(action, Copy) and progress is not None:
                _advance(progress, action.dst.fullpath, _size(action.entry))

    try:
        with _runner(where, job) as runner:
            for records, outcomes in runner.run(worker.sync_batch, work(actions)):
                collect(records, outcomes)
            for records, outcomes in runner.run(worker.sync_batch, work(plan.deletions(warn))):
                collect(records, outcomes)
            deleted = not plan.errors and not delete_failures
            if not dry_run and deleted:
                _remove_emptied_dirs(plan, deleted_dirs)
            for records, outcomes in runner.run(worker.sync_batch, work(plan.replacements(deleted, warn))):
                collect(records, outcomes)  # file/directory conflicts, once the deletes made room
    finally:
        outcome.failures = [*plan.errors, *delete_failures]
    return outcome


def _each_threaded(items: list[Any], func: Callable[[Any], Any], jobs: int) -> list[GenrostoreError | None]:
    """func over items on `jobs` threads: each one's error (located, the project's class) or None."""
    from concurrent.futures import ThreadPoolExecutor

    from genrostore.core.errors import translate

    def guarded(item: Any) -> GenrostoreError | None:
        try:
            func(item)
        except Exception as exc:  # noqa: BLE001 - each file's failure is reported for that file
            return translate(exc, item.src.fullpath)
        return None

    if len(items) <= 1 or jobs <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="genrostore-backup") as pool:
        return list(pool.map(guarded, items))


# -- rm -r ----------------------------------------------------------------------------------
def remove(where: Target, node: Node, filters: Filter) -> None:
    """rm -r of a directory: the whole listing first (a listing error removes nothing), the
    files in scope removed by the workers, then here the directories left empty (with filters:
    only those that held nothing out of scope, as `scope.remove_in_scope`)."""
    from genrostore.core.errors import DirectoryNotFound, FileNotFound, PartialFailure
    from genrostore.core.scope import remove_in_scope, walk_in_scope

    files = [entry for entry in walk_in_scope(node.mount, node.path, filters) if not entry.is_dir]
    job = where.job(jobs=16)
    ref = where.ref(node.mount)
    failures: list[tuple[str, GenrostoreError]] = []

    def work() -> Iterator[tuple[list[str], list[worker.SyncItem]]]:
        for batch in batches((entry.path, 0) for entry in files):
            yield batch, [("delete", ref, path, None, "", None, "", None) for path in batch]

    with _runner(where, job) as runner:
        for paths, outcomes in runner.run(worker.sync_batch, work()):
            assert outcomes is not None
            failures += [(node.mount.label(path), from_wire(error))
                         for path, (_, error) in zip(paths, outcomes, strict=True) if error is not None]
    if failures:
        raise PartialFailure(f"{len(failures)} file(s) could not be removed", failures, all_failed=True)
    if filters.active:
        remove_in_scope(node.mount, node.path, filters)  # no file in scope is left: the emptied directories
    else:
        try:
            node.mount.remove_tree(node.path)  # the directories (on a store of key prefixes, none is left)
        except (DirectoryNotFound, FileNotFound):
            pass


# -- md5 -r ----------------------------------------------------------------------------------
def md5(where: Target, files: Iterable[tuple[str, Node, str | None, int]]) -> Iterator[tuple[str, str | GenrostoreError]]:
    """(name, md5 or its error) for every file, in the walk's (path) order; a listed md5 (an
    S3 single-part ETag) still travels with its batch, so the order needs no buffer here."""
    job = where.job()

    def sized() -> Iterator[tuple[tuple[str, Node, str | None], int]]:
        for name, node, listed, size in files:
            if node.is_stdio:
                raise UsageError("--cluster hashes files: '-' (stdin) cannot be one")
            yield (name, node, listed), 0 if listed else size

    def work() -> Iterator[tuple[list[str], list[worker.Md5Item]]]:
        for batch in batches(sized()):
            yield [name for name, _, _ in batch], [(where.ref(node.mount), node.path, listed)
                                                   for _, node, listed in batch]

    with _runner(where, job) as runner:
        for names, outcomes in runner.run(worker.md5_batch, work()):
            assert outcomes is not None
            for name, (digest, error) in zip(names, outcomes, strict=True):
                yield name, from_wire(error) if error is not None else digest


# -- check -----------------------------------------------------------------------------------
def compare(where: Target, comparator: Comparator, roots: tuple[str, str], pairs: Iterator[TreePair],
            judge: Callable[[TreePair], Verdict | GenrostoreError | None],
            ) -> Iterator[tuple[TreePair, Verdict | GenrostoreError | None]]:
    """check's `ordered_map` on the cluster: runs of pairs whose verdict needs a read (a hash,
    a download, a HEAD) go to the workers as batches; the others are judged here, in order."""
    from genrostore.core.compare import Verdict

    job = where.job(method=comparator.method, jobs=16)
    src, dst = comparator.src, comparator.dst

    def remote(pair: TreePair) -> bool:
        return pair.error is None and pair.src is not None and pair.dst is not None and comparator.needs_io(pair)

    def items(batch: list[TreePair]) -> list[worker.CompareItem]:
        return [(_join(roots[0], p.relative), p.src, _join(roots[1], p.dst_name), p.dst)  # type: ignore[misc]  # remote() admitted only pairs with both entries
                for p in batch]

    def cut() -> Iterator[tuple[list[TreePair], list[worker.CompareItem] | None]]:
        shipped: list[TreePair] = []
        here: list[TreePair] = []
        for pair in pairs:
            if remote(pair):
                if here:
                    yield here, None
                    here = []
                shipped.append(pair)
                if len(shipped) >= MAX_FILES:
                    yield shipped, items(shipped)
                    shipped = []
            else:
                if shipped:
                    yield shipped, items(shipped)
                    shipped = []
                here.append(pair)
                if len(here) >= MAX_FILES:
                    yield here, None
                    here = []
        if shipped:
            yield shipped, items(shipped)
        if here:
            yield here, None

    with _runner(where, job) as runner:
        for records, outcomes in runner.run(worker.compare_batch, cut(), where.ref(src), where.ref(dst)):
            if outcomes is None:
                for pair in records:
                    yield pair, judge(pair)
                continue
            for pair, (value, error) in zip(records, outcomes, strict=True):
                yield pair, from_wire(error) if error is not None else Verdict(value)


def _join(root: str, relative: str) -> str:
    return f"{root}/{relative}" if root else relative
