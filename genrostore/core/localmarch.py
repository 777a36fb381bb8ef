"""Two local trees walked by worker processes: the merged walk of a sync between disks.

One Python thread lists, merges and compares about 20,000 pairs of files a second (`march`:
an `Entry`, a `Listed` and a `Pair` per file, the plan's bookkeeping per pair); rclone walks
with 16 checkers on every core. Here one directory pair at a time is listed on both sides,
merged and compared by size (+ mtime, the comparator's own rule and window) in a worker
process, which hands back only what is not equal: a run of equal files comes back as one
count (`march.Unchanged`), so the main thread does nothing per unchanged file. The walk yields
what `merge(walk_sorted(src), walk_sorted(dst))` yields, in the same order, each run of equal
pairs folded into one `Unchanged`.

Whatever the fast lister does not handle itself gives that directory up to march's own walk
for the whole subtree below it (`march.walk_below`), which reports it as every listing does: a
symlink (loops, the mount's jail), a directory that cannot be read or vanished, any error. A
directory on one side only (a new or a deleted tree) is walked by march too: each of its files
is an action anyway. A small tree never forks: the first FORK_AFTER entries are listed in this
process, by the same code; the pool of `fork`ed workers starts after that (Linux only, where
`fork` is cheap and safe for this code: the workers run nothing but `os.scandir` and `stat`).
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from genrostore.core.backend import Entry
from genrostore.core.compare import feature
from genrostore.core.march import Listed, Pair, Scope, Unchanged, identity, merge, sort_key, walk_below, walk_sorted

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from genrostore.core.mount import Mount
    from genrostore.core.node import Node

FORK_AFTER = 5000  # entries listed in this process before the workers start (a small sync never forks)
_AHEAD = 4  # directory pairs in flight per worker
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# One side's entry of a directory: (key, name, is_dir, size, mtime in µs, (st_dev, st_ino) of a directory).
Item = tuple[bytes, str, bool, int, int, "tuple[int, int] | None"]
# A directory pair's merge, in key order: ("=", last key, count) a run of equal files; ("f", key,
# name, src, dst) a file on one or both sides, not equal; ("d", key, name, src, dst) a directory.
Row = tuple[Any, ...]
# (SRC's listing is empty, DST's is empty, entries listed, rows); None: the directory is given up.
Result = tuple[bool, bool, int, list[Row]]


@dataclass(frozen=True)
class Job:
    """What every directory pair of one walk shares; the forked workers inherit it (no pickling)."""

    src: Mount
    src_root: str
    dst: Mount
    dst_root: str
    src_scope: Scope | None
    dst_scope: Scope | None
    method: str  # the comparator's: "size" or "size,mtime"
    window_us: int  # mtimes this close are equal (the comparator's window)
    dst_missing_ok: bool  # DST's root may not exist yet (an empty tree)


def applies(src: Node, dst: Node, method: str) -> bool:
    """Both trees on this machine's disks, compared by the listing alone."""
    return method in ("size", "size,mtime") and all(
        feature(node.mount.backend, "local_disk") and not feature(node.mount.backend, "implicit_dirs")
        for node in (src, dst))


def walk_pairs(job: Job, *, empty_dirs: bool = False, workers: int | None = None) -> Iterator[Pair | Unchanged]:
    """The merged walk of `job`'s two trees, equal files folded (see the module docstring)."""
    return _Walk(job, empty_dirs, workers if workers is not None else _cpus()).pairs()


def _cpus() -> int:
    try:
        return min(8, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return min(8, os.cpu_count() or 1)


class _Walk:
    """Depth-first over the directory pairs both trees have, their listings fetched ahead."""

    def __init__(self, job: Job, empty_dirs: bool, workers: int) -> None:
        self.job = job
        self.empty_dirs = empty_dirs
        self.workers = workers
        self.seen = 0
        self.pool: ProcessPoolExecutor | None = None
        self.can_fork = workers > 1 and sys.platform.startswith("linux")
        self.pending: dict[str, Future[Result | None]] = {}
        self.later: list[str] = []  # directory pairs found and not yet sent: a stack, next on top

    def pairs(self) -> Iterator[Pair | Unchanged]:
        job = self.job
        try:
            yield from self._dir("", None, None, (identity(job.src, job.src_root),),
                                 (identity(job.dst, job.dst_root),))
        except BaseException:  # Ctrl-C, an error, the generator closed: no waiting on a worker's disk
            self._stop()
            raise
        self._stop(wait=True)  # idle by now: joined at once, so none outlives the walk

    def _dir(self, rel: str, src_entry: Entry | None, dst_entry: Entry | None,
             src_chain: tuple[object, ...], dst_chain: tuple[object, ...]) -> Iterator[Pair | Unchanged]:
        job = self.job
        result = self._result(rel)
        if result is None:
            yield from self._given_up(rel, src_entry, dst_entry, src_chain, dst_chain)
            return
        src_empty, dst_empty, count, rows = result
        self.seen += count
        prefix = sort_key(rel, True) if rel else b""
        base = rel + "/" if rel else ""
        if rel and self.empty_dirs and (src_empty or dst_empty):  # march yields an empty directory itself
            yield Pair(rel, src_entry if src_empty else None, dst_entry if dst_empty else None)
        below = [base + row[2] for row in rows if row[0] == "d" and row[3] is not None and row[4] is not None]
        self.later.extend(reversed(below))
        self._send()
        for row in rows:
            kind = row[0]
            if kind == "=":
                yield Unchanged(prefix + row[1], row[2])
                continue
            relative = base + row[2]
            src, dst = row[3], row[4]
            if kind == "f":
                yield Pair(relative, _entry(job.src_root, relative, src), _entry(job.dst_root, relative, dst))
            elif src is not None and dst is not None:
                yield from self._dir(relative, _entry(job.src_root, relative, src),
                                     _entry(job.dst_root, relative, dst), (*src_chain, src[5]), (*dst_chain, dst[5]))
            elif src is not None:
                start = Listed(prefix + row[1], relative, _dir_entry(job.src_root, relative, src))
                yield from merge(walk_below(job.src, job.src_root, start, scope=job.src_scope,
                                            empty_dirs=self.empty_dirs, ancestors=src_chain), iter(()))
            else:
                start = Listed(prefix + row[1], relative, _dir_entry(job.dst_root, relative, dst))
                yield from merge(iter(()), walk_below(job.dst, job.dst_root, start, scope=job.dst_scope,
                                                      empty_dirs=self.empty_dirs, ancestors=dst_chain))

    def _given_up(self, rel: str, src_entry: Entry | None, dst_entry: Entry | None,
                  src_chain: tuple[object, ...], dst_chain: tuple[object, ...]) -> Iterator[Pair | Unchanged]:
        """march's own walk of both sides below `rel`: it lists, reports and fails as every walk does."""
        job = self.job
        if not rel:
            yield from merge(walk_sorted(job.src, job.src_root, scope=job.src_scope, empty_dirs=self.empty_dirs),
                             walk_sorted(job.dst, job.dst_root, missing_ok=job.dst_missing_ok,
                                         scope=job.dst_scope, empty_dirs=self.empty_dirs))
            return
        assert src_entry is not None and dst_entry is not None
        key = sort_key(rel, True)
        yield from merge(walk_below(job.src, job.src_root, Listed(key, rel, src_entry), scope=job.src_scope,
                                    empty_dirs=self.empty_dirs, ancestors=src_chain[:-1]),
                         walk_below(job.dst, job.dst_root, Listed(key, rel, dst_entry), scope=job.dst_scope,
                                    empty_dirs=self.empty_dirs, ancestors=dst_chain[:-1]))

    def _result(self, rel: str) -> Result | None:
        future = self.pending.pop(rel, None)
        if future is None:
            if self.later and self.later[-1] == rel:  # the walk's order is the stack's: it is on top
                self.later.pop()
            elif rel in self.later:
                self.later.remove(rel)
            if self.pool is None and self.can_fork and self.seen >= FORK_AFTER:
                self._start()
            if self.pool is None:
                return list_pair(self.job, rel)
            future = self.pool.submit(_worker_pair, rel)
        from concurrent.futures import BrokenExecutor

        try:
            return future.result()
        except BrokenExecutor:  # a worker died (killed, out of memory): this process lists the rest
            self._stop()
            return list_pair(self.job, rel)

    def _send(self) -> None:
        """Keep the workers busy with the next directory pairs in walk order."""
        if self.pool is None:
            return
        while self.later and len(self.pending) < self.workers * _AHEAD:
            rel = self.later.pop()
            self.pending[rel] = self.pool.submit(_worker_pair, rel)

    def _start(self) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        for stream in (sys.stdout, sys.stderr):  # what a worker inherited unflushed is dropped there
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("fork"),
                                        initializer=_init_worker, initargs=(self.job,))

    def _stop(self, wait: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
        self.pool = None
        self.can_fork = False
        self.pending.clear()
        self.later.clear()


def _entry(root: str, relative: str, item: Item | None) -> Entry | None:
    """The Entry march's listing (the local backend's `_entry`) would have made."""
    if item is None:
        return None
    path = f"{root}/{relative}" if root else relative
    if item[2]:
        return Entry(path, "dir", None, _EPOCH + timedelta(microseconds=item[4]))
    return Entry(path, "file", item[3], _EPOCH + timedelta(microseconds=item[4]))


def _dir_entry(root: str, relative: str, item: Item) -> Entry:
    entry = _entry(root, relative, item)
    assert entry is not None
    return entry


# -- the worker's side ---------------------------------------------------------------------------

_JOB: Job | None = None
_KEPT: list[object] = []


def _init_worker(job: Job) -> None:
    """In a forked worker: Ctrl-C is the parent's to handle (and a signal the worker gets is not
    written to the parent's wake-up pipe), and the worker dies with it (a
    killed parent sends no shutdown); the parent's stdio buffers (copied by the fork) are kept
    from ever being flushed again, and its stdin/stdout/stderr are let go, so nothing is written
    twice and a reader of the parent's output (`| head`) sees its end when the parent ends."""
    global _JOB
    _JOB = job
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.set_wakeup_fd(-1)  # the parent's wake-up pipe (core/signals.py) hears only the parent's signals
    _die_with_parent()
    _KEPT.extend((sys.stdin, sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker


def _die_with_parent() -> None:
    """prctl(PR_SET_PDEATHSIG, SIGKILL): Linux ends the worker when the process that forked it ends."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent ended before the call
        os._exit(0)


def _worker_pair(rel: str) -> Result | None:
    assert _JOB is not None
    return list_pair(_JOB, rel)


def list_pair(job: Job, rel: str) -> Result | None:
    """Both sides of the directory pair `rel` (below the roots) listed, merged and compared;
    None when either side needs march's own walk (see the module docstring)."""
    try:
        src = _side(job.src, job.src_root, rel, job.src_scope, False)
        dst = _side(job.dst, job.dst_root, rel, job.dst_scope, job.dst_missing_ok and not rel)
    except Exception:  # noqa: BLE001 - whatever it is, march's walk meets it again and reports it
        return None
    if src is None or dst is None:
        return None
    rows: list[Row] = []
    run = 0
    last = b""
    by_size = job.method == "size"
    window = job.window_us
    i = j = 0
    ns, nd = len(src), len(dst)
    while i < ns or j < nd:
        s = src[i] if i < ns else None
        d = dst[j] if j < nd else None
        if d is None or (s is not None and s[0] < d[0]):
            assert s is not None
            row: Row = ("d" if s[2] else "f", s[0], s[1], s, None)
            i += 1
        elif s is None or d[0] < s[0]:
            row = ("d" if d[2] else "f", d[0], d[1], None, d)
            j += 1
        else:
            i += 1
            j += 1
            if not s[2] and s[3] == d[3] and (by_size or abs(s[4] - d[4]) <= window):
                run += 1
                last = s[0]
                continue
            row = ("d" if s[2] else "f", s[0], s[1], s, d)
        if run:
            rows.append(("=", last, run))
            run = 0
        rows.append(row)
    if run:
        rows.append(("=", last, run))
    return not src, not dst, ns + nd, rows


def _side(mount: Mount, root: str, rel: str, scope: Scope | None, missing_ok: bool) -> list[Item] | None:
    """One directory's entries in key order, as march's listing would keep them (scope applied)."""
    path = f"{root}/{rel}" if root and rel else root or rel
    local = mount.local_path(path)  # the mount's jail: raises for a path that resolves outside it
    if local is None:
        return None
    try:
        with os.scandir(local) as scan:
            found = list(scan)
    except FileNotFoundError:
        return [] if missing_ok else None
    except OSError:
        return None
    base = rel + "/" if rel else ""
    items: list[Item] = []
    for item in found:
        if item.is_symlink():
            return None
        try:
            st = item.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while listing, as march's listing skips it
        is_dir = stat.S_ISDIR(st.st_mode)
        mtime = st.st_mtime_ns // 1000
        name = item.name
        if scope is not None:
            relative = base + name
            if not (scope.include_dir(relative) if is_dir else
                    scope.include_file(relative, st.st_size, _EPOCH + timedelta(microseconds=mtime))):
                continue
        key = name.encode("utf-8", "surrogateescape")
        if is_dir:
            items.append((key + b"/", name, True, 0, mtime, (st.st_dev, st.st_ino)))
        else:
            items.append((key, name, False, st.st_size, mtime, None))
    items.sort()
    return items
