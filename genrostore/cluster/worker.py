"""The task functions a Dask worker runs: one batch of files through the local engine.

Each rebuilds the job's Storage once per worker process (from the worker's own profile and
environment, or from the shipped profile), turns the batch's references back into Nodes, runs
the pipeline's own executor on them and returns one outcome per file, in the batch's order.
A cancel event named after the job stops the batch at the next chunk: writers abort, their
temp files go, so a Ctrl-C on the client leaves no partial destination on any worker.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from genrostore.cluster.wire import SHIPPED, Job, MountRef, Shipped, WireError, to_wire
from genrostore.core.errors import UnknownMount, UsageError

if TYPE_CHECKING:
    from genrostore.core.actions import Move
    from genrostore.core.backend import Entry
    from genrostore.core.mount import Mount
    from genrostore.core.node import Node
    from genrostore.core.storage import Storage

# (src ref, src path, dst ref, dst path, listed entry, label)
CopyItem = tuple[MountRef, str, MountRef, str, "Entry | None", str]
# ("copy" | "mtime" | "delete" | "backup", ref, path, other ref | None, other path, entry, reason, mtime)
# ("backup": a sync delete under --backup-dir, the file moved to the other ref and path)
SyncItem = tuple[str, MountRef, str, "MountRef | None", str, "Entry | None", str, "datetime | None"]
Md5Item = tuple[MountRef, str, "str | None"]  # (ref, path, md5 the listing gave)
CompareItem = tuple[str, "Entry", str, "Entry"]  # (src path, src entry, dst path, dst entry)
Outcome = tuple[bool, "WireError | None"]  # (changed, error)

_STORAGES: OrderedDict[str, Storage] = OrderedDict()
_LOCK = threading.Lock()
KEEP = 4  # jobs whose Storage a worker keeps open


def storage_for(job: Job) -> Storage:
    """The job's Storage on this worker process, built once."""
    from genrostore.core.settings import Settings
    from genrostore.core.storage import Storage

    with _LOCK:
        storage = _STORAGES.get(job.token)
        if storage is None:
            settings = Settings(dry_run=job.dry_run, report=lambda line: None)
            if job.shipped is not None:
                storage = Storage(mounts=job.shipped.mounts, settings=settings)
            else:
                storage = Storage.from_profile(job.profile_path, settings=settings)
            _STORAGES[job.token] = storage
            while len(_STORAGES) > KEEP:
                _, old = _STORAGES.popitem(last=False)
                old.close()
        return storage


def mount_of(storage: Storage, ref: MountRef, shipped: Shipped | None = None) -> Mount:
    """The mount a reference names: a profile mount by name, an ad-hoc one by type and options
    (those of a shipped one, holding a secret, from the shipped profile)."""
    if not ref.type:
        try:
            return storage.mount(ref.name)
        except UnknownMount as exc:  # the whole batch fails with it: one line on the client, exit 2
            raise UnknownMount(f"on a worker: {exc.message}",
                               hint="give every worker this mount, under the same name, in the profile it reads "
                                    "($GENROSTORE_PROFILE), or add --ship-profile (tls:// or local)") from None
    if ref.type == SHIPPED:
        if shipped is None:
            raise UsageError(f"{ref.name}: its options travel with --ship-profile only")
        kind, options = shipped.adhoc[dict(ref.options)["id"]]
        return storage._adhoc_mount(kind, dict(options), ref.name)
    return storage._adhoc_mount(ref.type, dict(ref.options), ref.name)  # same type and options: same mount


def node_of(storage: Storage, ref: MountRef, path: str, shipped: Shipped | None = None) -> Node:
    from genrostore.core.node import Node

    return Node(storage, mount_of(storage, ref, shipped), path)


def run_task(func: Callable[..., Any], job: Job, shipped: Shipped | None, *args: Any) -> Any:
    """Every task: `func(job, *extra, items)`. `shipped` (--ship-profile) is scattered data that
    Dask resolves here, on the worker, and joins to the job only now, so no task spec the
    scheduler holds contains it; the items come packed (`wire.Packed`)."""
    from dataclasses import replace

    *extra, packed = args
    return func(replace(job, shipped=shipped) if shipped is not None else job, *extra, packed.items)


@contextmanager
def cancellable(job: Job) -> Iterator[threading.Event]:
    """An event set when the client sets the job's distributed Event (Ctrl-C)."""
    cancel = threading.Event()
    done = threading.Event()
    try:
        from distributed import Event, get_client

        remote = Event(f"{job.token}-cancel", client=get_client())  # the task thread's own client
    except Exception:  # noqa: BLE001 - not on a worker (a test calling the task): nothing to watch
        yield cancel
        return

    def watch() -> None:
        try:
            while not done.is_set():
                if remote.wait(timeout=0.5):
                    cancel.set()
                    return
        except Exception:  # noqa: BLE001 - the scheduler went away: the batch runs on, as a local run would
            return

    watcher = threading.Thread(target=watch, name="genrostore-cancel-watch", daemon=True)
    watcher.start()
    try:
        yield cancel
    finally:
        done.set()


def copy_batch(job: Job, items: list[CopyItem]) -> list[Outcome]:
    """cp -r: the pipeline's executor (`execute.run`) over the batch's pairs."""
    from genrostore.core.pipeline.execute import run
    from genrostore.core.pipeline.options import CopyOptions
    from genrostore.core.pipeline.plan import Pair

    storage = storage_for(job)
    pairs = []
    for src_ref, src_path, dst_ref, dst_path, entry, label in items:
        pairs.append(Pair(node_of(storage, src_ref, src_path, job.shipped), node_of(storage, dst_ref, dst_path, job.shipped), entry,
                          label=label))
    with cancellable(job) as cancel:
        options = CopyOptions(no_clobber=job.no_clobber, checksum=job.checksum, jobs=job.jobs, cancel=cancel)
        result = run(iter(pairs), options)
    failed = {name: error for name, error in result.failures}
    return [(pair.name not in failed and pair.dst in result.copied,
             to_wire(failed[pair.name]) if pair.name in failed else None) for pair in pairs]


def sync_batch(job: Job, items: list[SyncItem]) -> list[Outcome]:
    """sync: each action through the pipeline's one dispatch (`executors.perform`)."""
    from genrostore.core.actions import Action, Copy, Delete, Move, SetMetadata
    from genrostore.core.pipeline.executors import perform
    from genrostore.core.pipeline.options import CopyOptions

    storage = storage_for(job)

    def action(item: SyncItem) -> Action:
        kind, ref, path, other_ref, other_path, entry, reason, mtime = item
        node = node_of(storage, ref, path, job.shipped)
        if kind == "copy":
            assert other_ref is not None
            return Copy(node, node_of(storage, other_ref, other_path, job.shipped), entry, reason)
        if kind == "mtime":
            assert mtime is not None
            return SetMetadata(node, mtime, entry)
        if kind == "backup":
            assert other_ref is not None
            return Move(node, node_of(storage, other_ref, other_path, job.shipped), entry)
        return Delete(node, entry)

    def one(todo: Action, options: CopyOptions) -> bool:
        try:
            return perform(todo, options)
        except Exception:
            if isinstance(todo, Move) and _moved_already(todo):
                return True
            raise

    with cancellable(job) as cancel:
        options = CopyOptions(jobs=job.jobs, cancel=cancel)
        return _threaded([action(item) for item in items], lambda a: one(a, options), job.jobs)


def _moved_already(move: Move) -> bool:
    """A backup move that failed because an earlier run of this batch (on a worker that then
    died) already made it: the source is gone and the backup holds a file of its size. Moving
    again is then nothing to do, not an error."""
    from genrostore.core.errors import GenrostoreError

    try:
        if move.src.exists():
            return False
        kept = move.dst.info()
    except GenrostoreError:
        return False
    return not kept.is_dir and (move.entry is None or move.entry.size is None or kept.size == move.entry.size)


def md5_batch(job: Job, items: list[Md5Item]) -> list[tuple[str | None, WireError | None]]:
    """md5 -r: the listed md5 where the store gave one, else the file's bytes hashed, streamed."""
    from genrostore.core.hashing import md5_of

    storage = storage_for(job)

    def one(item: Md5Item) -> str:
        ref, path, listed = item
        return listed or md5_of(node_of(storage, ref, path, job.shipped))

    return _threaded(items, one, job.jobs)


def compare_batch(job: Job, src: MountRef, dst: MountRef, items: list[CompareItem]) -> list[tuple[str | None, WireError | None]]:
    """check: the client's comparison (method resolved there) of each pair; a Verdict's value."""
    from genrostore.core.compare import Comparator

    storage = storage_for(job)
    comparator = Comparator(storage, mount_of(storage, src, job.shipped), mount_of(storage, dst, job.shipped), job.method,
                            download=job.download)
    return _threaded(items, lambda item: comparator.compare(*item).value, job.jobs)


def _threaded(items: list[Any], func: Callable[[Any], Any], jobs: int) -> list[Any]:
    """(result, None) or (None, wire error) for each item, in order, on `jobs` threads."""
    from concurrent.futures import ThreadPoolExecutor

    def guarded(item: Any) -> tuple[Any, WireError | None]:
        try:
            return func(item), None
        except Exception as exc:  # noqa: BLE001 - each file's failure is reported for that file
            return None, to_wire(exc)

    if jobs <= 1 or len(items) <= 1:
        return [guarded(item) for item in items]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="genrostore-worker") as pool:
        return list(pool.map(guarded, items))
