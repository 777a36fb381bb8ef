"""The engine's batch path: small files as coroutines on an asyncio backend's event loop.

The backend here is the memory store behind a real event loop (a thread of its own, as
fsspec runs s3fs/gcsfs/adlfs): the engine's decisions — which pairs batch, retries on the
loop, per-file failures, atomic local writes, Ctrl-C — are tested without any network;
tests/backends/test_s3.py and the conformance suite run the same path against real servers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from genrostore import Storage
from genrostore.backends.memory import MemoryBackend
from genrostore.core import registry
from genrostore.core.actions import Copy
from genrostore.core.backend import Backend, Entry, Writer
from genrostore.core.errors import Interrupted, NotPermitted
from genrostore.core.pipeline.batch import BATCH_MAX_SIZE
from genrostore.core.pipeline.execute import run
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.plan import plan
from genrostore.core.schema import BackendSpec
from genrostore.core.settings import Settings

SPEC = BackendSpec(type="asyncmem", summary="memory behind an event loop", options=(), module=__name__,
                   cls="AsyncMemoryBackend")

_LOOP: asyncio.AbstractEventLoop | None = None
INSTANCES: list[AsyncMemoryBackend] = []  # every backend made, for a subprocess to report on
_LOOP_LOCK = threading.Lock()


def _loop() -> asyncio.AbstractEventLoop:
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            _LOOP = asyncio.new_event_loop()
            threading.Thread(target=_LOOP.run_forever, daemon=True, name="asyncmem-loop").start()
        return _LOOP


class AsyncMemoryBackend(MemoryBackend):
    """Counts which path each transfer took; `failures[path]` raises once per listed exception."""

    features = dataclasses.replace(MemoryBackend.features, async_client=True)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.calls: Counter[str] = Counter()
        self.failures: dict[str, list[BaseException]] = {}
        self.loop_threads: set[str] = set()
        self.hide_sizes = False
        INSTANCES.append(self)

    def batch_loop(self) -> Any:
        return _loop()

    def _on_loop(self, kind: str, path: str) -> None:
        self.calls[kind] += 1
        self.loop_threads.add(threading.current_thread().name)
        pending = self.failures.get(path)
        if pending:
            raise pending.pop(0)

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        self._on_loop("read_small", path)
        await asyncio.sleep(0)
        with self.open_read(path) as stream:
            data = stream.read()
        return None if limit is not None and len(data) > limit else data

    def iterdir(self, path: str) -> Iterator[Entry]:
        """With `hide_sizes`, listings carry no sizes, as an HTTP index page does."""
        for entry in super().iterdir(path):
            yield replace(entry, size=None) if self.hide_sizes and not entry.is_dir else entry

    async def write_small(self, path: str, data: bytes) -> None:
        self._on_loop("write_small", path)
        await asyncio.sleep(0)
        self._store(path, data)

    async def copy_small(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        if dst is not self:
            return False
        self._on_loop("copy_small", src_path)
        with self.open_read(src_path) as stream:
            self._store(dst_path, stream.read())
        return True

    def open_write(self, path: str, size_hint: int | None = None) -> Writer:
        self.calls["thread_write"] += 1
        return super().open_write(path, size_hint)


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Storage:
    monkeypatch.setitem(registry.BACKEND_MODULES, "asyncmem", __name__)
    return Storage(mounts=[{"name": "a", "type": "asyncmem"}, {"name": "w", "type": "local", "path": str(tmp_path)}])


def _backend(storage: Storage) -> AsyncMemoryBackend:
    backend = storage.mount("a").backend
    assert isinstance(backend, AsyncMemoryBackend)
    return backend


def _tree(root: Path, count: int = 30) -> dict[str, bytes]:
    files = {f"sub/{i:02}.bin": os.urandom(100 + i) for i in range(count)}
    files["empty.txt"] = b""
    files["big.bin"] = os.urandom(BATCH_MAX_SIZE + 1)  # one past the limit: streamed on a thread
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return files


def _copy(storage: Storage, src: str, dst: str, **options: Any) -> Any:
    return run(plan([storage.node(src)], storage.node(dst), recursive=True), CopyOptions(jobs=4, **options))


def test_small_uploads_run_on_the_loop_and_larger_files_on_threads(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src")
    outcome = _copy(storage, "w:src/", "a:up/")
    assert not outcome.failures and len(outcome.copied) == len(files)
    backend = _backend(storage)
    for name, data in files.items():
        assert storage.node(f"a:up/{name}").read_bytes() == data, name
    assert backend.calls["write_small"] == len(files) - 1
    assert backend.calls["thread_write"] == 1
    assert backend.loop_threads == {"asyncmem-loop"}


def test_an_upload_source_that_grew_since_its_listing_is_sent_whole(storage: Storage, tmp_path: Path) -> None:
    """The read is sized by the listing; a file larger by now (still small) is read on to its end."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/grew.bin").write_bytes(b"x" * 100)
    pairs = list(plan([storage.node("w:src/")], storage.node("a:up/"), recursive=True))
    data = os.urandom(3000)
    (tmp_path / "src/grew.bin").write_bytes(data)
    outcome = run(iter(pairs), CopyOptions(jobs=4))
    assert not outcome.failures
    assert storage.node("a:up/grew.bin").read_bytes() == data
    assert _backend(storage).calls["write_small"] == 1


def test_an_upload_source_that_became_a_fifo_does_not_stop_the_loop(storage: Storage, tmp_path: Path) -> None:
    """Opened without blocking, a FIFO is handed to the streamed copy on the disk pool; the
    other files go on meanwhile, and the FIFO's bytes arrive once its writer writes them."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a-pipe").write_bytes(b"")
    (tmp_path / "src/b.bin").write_bytes(b"plain")
    pairs = list(plan([storage.node("w:src/")], storage.node("a:up/"), recursive=True))
    (tmp_path / "src/a-pipe").unlink()
    os.mkfifo(tmp_path / "src/a-pipe")
    backend = _backend(storage)
    order: list[str] = []

    def feed() -> None:
        deadline = time.monotonic() + 5
        while not backend.calls["write_small"] and time.monotonic() < deadline:
            time.sleep(0.01)  # b.bin goes through while the FIFO waits
        order.append("b.bin sent" if backend.calls["write_small"] else "the loop was stuck")
        with open(tmp_path / "src/a-pipe", "wb") as pipe:
            pipe.write(b"piped")

    feeder = threading.Thread(target=feed)
    feeder.start()
    outcome = run(iter(pairs), CopyOptions(jobs=4))
    feeder.join()
    assert order == ["b.bin sent"]
    assert not outcome.failures
    assert storage.node("a:up/a-pipe").read_bytes() == b"piped"
    assert storage.node("a:up/b.bin").read_bytes() == b"plain"


def test_small_downloads_are_written_atomically_with_their_bytes(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src")
    assert not _copy(storage, "w:src/", "a:tree/").failures
    outcome = _copy(storage, "a:tree/", "w:down/")
    assert not outcome.failures and len(outcome.copied) == len(files)
    for name, data in files.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    assert _backend(storage).calls["read_small"] == len(files) - 1
    assert not [p for p in (tmp_path / "down").rglob("*") if p.name.endswith(".genrostore-tmp")]


def _download_tree(storage: Storage, tmp_path: Path, count: int) -> dict[str, bytes]:
    files = {f"sub/{i:03}.bin": os.urandom(50 + i) for i in range(count)}
    for name, data in files.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(data)
    assert not _copy(storage, "w:src/", "a:tree/").failures
    return files


def _published(storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, trusted: bool
               ) -> tuple[dict[str, bytes], list[tuple[str, str, str]]]:
    """Downloads through the disk stage, the real fsync, syncfs and rename calls recorded in order;
    `trusted`: whether a successful syncfs may stand for the files' own fsyncs (durable.flush_batch)."""
    from genrostore.core import durable

    files = _download_tree(storage, tmp_path, 200)
    events: list[tuple[str, str, str]] = []
    real_fsync, real_replace, real_flush = os.fsync, os.replace, durable.flush_file_system

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"), threading.current_thread().name))
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append(("replace", os.fspath(src), threading.current_thread().name))
        real_replace(src, dst)

    def flush(fd: int) -> bool:
        events.append(("flush", "", threading.current_thread().name))
        return real_flush(fd)

    from genrostore.backends import local

    real_create = local.create_temp

    def create(target: str) -> tuple[int, str]:
        fd, temp = real_create(target)
        events.append(("create", temp, threading.current_thread().name))
        return fd, temp

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(local, "create_temp", create)
    monkeypatch.setattr(durable, "flush_file_system", flush)
    monkeypatch.setattr(durable, "_syncfs_reports_errors", lambda fd, device: trusted)
    outcome = _copy(storage, "a:tree/", "w:down/")
    assert not outcome.failures and len(outcome.copied) == len(files)
    for name, data in files.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    assert {thread for _, _, thread in events} == {"genrostore-disk"}
    assert len([kind for kind, _, _ in events if kind == "replace"]) == len(files)
    assert sum(kind == "flush" for kind, _, _ in events) < len(files) / 2
    return files, events


def test_downloads_are_published_by_one_disk_thread_each_fsynced_before_its_rename(
        storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a syncfs does not prove the files durable and error-free (another file system, an
    older kernel): one thread, far fewer flushes than files, and every file's own fsync before
    the rename that publishes it."""
    _, events = _published(storage, tmp_path, monkeypatch, trusted=False)
    synced = {path for kind, path, _ in events if kind == "fsync"}
    assert {path for kind, path, _ in events if kind == "replace"} == synced
    for index, (kind, path, _) in enumerate(events):
        if kind == "replace":
            assert ("fsync", path) in [(k, p) for k, p, _ in events[:index]], f"{path} renamed before its fsync"


def test_a_syncfs_that_proves_the_batch_durable_stands_for_each_files_fsync(
        storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is renamed only after a flush of its file system that ran once it was written;
    only a file alone in its batch pays an fsync of its own."""
    files, events = _published(storage, tmp_path, monkeypatch, trusted=True)
    assert sum(kind == "fsync" for kind, _, _ in events) < len(files) / 2
    for index, (kind, path, _) in enumerate(events):
        if kind == "replace":
            since = [k for k, p, _ in events[:index]][max(i for i, (k, p, _) in enumerate(events[:index])
                                                          if (k, p) == ("create", path)):]
            assert "flush" in since or ("fsync", path) in [(k, p) for k, p, _ in events[:index]], \
                f"{path} renamed with neither a flush since it was created nor its own fsync"


def test_a_download_that_cannot_be_written_fails_alone_in_its_batch(storage: Storage, tmp_path: Path) -> None:
    files = _download_tree(storage, tmp_path, 40)
    (tmp_path / "down" / "sub" / "007.bin").mkdir(parents=True)  # a directory where the file would go
    outcome = _copy(storage, "a:tree/", "w:down/")
    assert [name for name, _ in outcome.failures] == ["a:tree/sub/007.bin"]
    assert len(outcome.copied) == len(files) - 1
    for name, data in files.items():
        if name != "sub/007.bin":
            assert (tmp_path / "down" / name).read_bytes() == data, name
    assert not [p for p in (tmp_path / "down").rglob("*") if p.name.endswith(".genrostore-tmp")]


def test_ctrl_c_while_downloads_wait_for_the_disk_publishes_only_whole_files(
        storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C arrives while downloaded files are queued for the disk thread: those are refused
    (Interrupted), their temp files removed; what was published is whole."""
    from genrostore.core.pipeline import diskstage

    files = _download_tree(storage, tmp_path, 120)
    options = CopyOptions(jobs=4)
    real_fill = diskstage.DiskStage._fill
    filled = 0

    def fill(self: diskstage.DiskStage, item: Any) -> None:
        nonlocal filled
        filled += 1
        if filled == 30:
            options.cancel.set()
        real_fill(self, item)

    monkeypatch.setattr(diskstage.DiskStage, "_fill", fill)
    outcome = run(plan([storage.node("a:tree/")], storage.node("w:down/"), recursive=True), options)
    assert outcome.failures and all(isinstance(error, Interrupted) for _, error in outcome.failures)
    published = [p for p in (tmp_path / "down").rglob("*.bin")]
    assert len(published) < len(files)
    for path in published:
        assert path.read_bytes() == files[path.relative_to(tmp_path / "down").as_posix()]
    assert not [p for p in (tmp_path / "down").rglob("*") if p.name.endswith(".genrostore-tmp")]


def _local_storage(tmp_path: Path) -> Storage:
    return Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])


def test_small_local_copies_are_made_by_the_disk_thread_keeping_mode_and_mtime(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = _local_storage(tmp_path)
    files = _tree(tmp_path / "src", count=40)
    (tmp_path / "src/sub/05.bin").chmod(0o640)
    os.utime(tmp_path / "src/sub/06.bin", (1_500_000_000, 1_500_000_000))
    published: dict[str, str] = {}
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        published[Path(os.fspath(dst)).relative_to(tmp_path / "down").as_posix()] = threading.current_thread().name
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    outcome = _copy(storage, "w:src/", "w:down/")
    assert not outcome.failures and len(outcome.copied) == len(files)
    for name, data in files.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    assert {published[name] for name in files if name not in ("big.bin", "empty.txt")} == {"genrostore-disk"}
    assert published["big.bin"].startswith("genrostore-copy")  # past the batch limit: the thread path
    assert published["empty.txt"].startswith("genrostore-copy")  # size 0, as a FIFO lists: the thread path
    assert (tmp_path / "down/sub/05.bin").stat().st_mode & 0o777 == 0o640 & ~_umask()
    assert (tmp_path / "down/sub/06.bin").stat().st_mtime == 1_500_000_000
    assert not [p for p in (tmp_path / "down").rglob("*") if p.name.endswith(".genrostore-tmp")]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_local_source_gone_since_its_listing_fails_alone(tmp_path: Path) -> None:
    storage = _local_storage(tmp_path)
    files = _tree(tmp_path / "src", count=10)
    pairs = list(plan([storage.node("w:src/")], storage.node("w:down/"), recursive=True))
    (tmp_path / "src/sub/03.bin").unlink()
    outcome = run(iter(pairs), CopyOptions(jobs=4))
    assert [name for name, _ in outcome.failures] == ["w:src/sub/03.bin"]
    assert "no such file" in str(outcome.failures[0][1]).lower()
    assert len(outcome.copied) == len(files) - 1
    assert not (tmp_path / "down/sub/03.bin").exists()


def test_a_source_replaced_by_a_fifo_after_its_listing_fails_alone_and_stops_nothing(tmp_path: Path) -> None:
    """Special files list with size 0 and take the thread path; one that became a FIFO after the
    listing is refused by the disk thread (opening it to read would wait forever for a writer)."""
    from genrostore.core.pipeline.diskstage import DiskStage

    storage = _local_storage(tmp_path)
    (tmp_path / "pipe").write_bytes(b"was a file")
    (tmp_path / "small.bin").write_bytes(b"tiny")
    actions = {name: Copy(storage.node(f"w:{name}"), storage.node(f"w:out/{name}"), storage.node(f"w:{name}").info())
               for name in ("pipe", "small.bin")}
    (tmp_path / "pipe").unlink()
    os.mkfifo(tmp_path / "pipe")  # nobody ever writes it
    stage = DiskStage(CopyOptions(jobs=4), lambda change: None)
    heard: dict[str, BaseException | None] = {}
    for name, action in actions.items():
        stage.put_local(action, str(tmp_path / name), 1000, lambda failure, name=name: heard.__setitem__(name, failure))
    stage.join()
    stage.close()
    assert heard["small.bin"] is None and "not a regular file" in str(heard["pipe"])
    assert (tmp_path / "out/small.bin").read_bytes() == b"tiny"
    assert not (tmp_path / "out/pipe").exists()


def test_a_local_source_larger_than_its_batch_allows_is_streamed_whole(tmp_path: Path) -> None:
    """It grew since it was listed: the disk thread reads past the limit, then copies it streamed."""
    from genrostore.core.pipeline.diskstage import DiskStage

    storage = _local_storage(tmp_path)
    data = os.urandom(5000)
    (tmp_path / "grown.bin").write_bytes(data)
    (tmp_path / "small.bin").write_bytes(b"tiny")
    options = CopyOptions(jobs=4)
    stage = DiskStage(options, lambda change: None)
    heard: dict[str, BaseException | None] = {}
    for name in ("grown.bin", "small.bin"):
        src, dst = storage.node(f"w:{name}"), storage.node(f"w:out/{name}")
        action = Copy(src, dst, src.info(), "new")
        stage.put_local(action, str(tmp_path / name), 1000, lambda failure, name=name: heard.__setitem__(name, failure))
    stage.join()
    stage.close()
    assert heard == {"grown.bin": None, "small.bin": None}
    assert (tmp_path / "out/grown.bin").read_bytes() == data
    assert (tmp_path / "out/small.bin").read_bytes() == b"tiny"


def test_ctrl_c_refuses_the_local_copies_still_queued(tmp_path: Path) -> None:
    storage = _local_storage(tmp_path)
    _tree(tmp_path / "src", count=20)
    options = CopyOptions(jobs=4)
    options.cancel.set()
    outcome = run(plan([storage.node("w:src/")], storage.node("w:down/"), recursive=True), options)
    assert outcome.failures and all(isinstance(error, Interrupted) for _, error in outcome.failures)
    assert not [p for p in (tmp_path / "down").rglob("*") if p.is_file()]


def test_without_sizes_small_files_batch_and_larger_ones_stream(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=6)
    assert not _copy(storage, "w:src/", "a:tree/").failures
    backend = _backend(storage)
    backend.hide_sizes = True
    backend.calls.clear()
    outcome = _copy(storage, "a:tree/", "w:down/")
    assert not outcome.failures and len(outcome.copied) == len(files)
    for name, data in files.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    assert backend.calls["read_small"] == len(files)  # big.bin too: found too large, then streamed


def test_copies_inside_the_store_are_server_side_coroutines(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=5)
    _copy(storage, "w:src/", "a:one/")
    backend = _backend(storage)
    backend.calls.clear()
    outcome = _copy(storage, "a:one/", "a:two/")
    assert not outcome.failures
    assert backend.calls["copy_small"] == len(files) - 1 and not backend.calls["read_small"]
    assert storage.node("a:two/sub/03.bin").read_bytes() == files["sub/03.bin"]


def test_a_transient_failure_is_retried_on_the_loop(storage: Storage, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.core import retry

    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    _tree(tmp_path / "src", count=3)
    backend = _backend(storage)
    backend.failures["up/sub/01.bin"] = [ConnectionResetError("reset by peer"), TimeoutError("slow")]
    outcome = _copy(storage, "w:src/", "a:up/")
    assert not outcome.failures
    assert storage.node("a:up/sub/01.bin").read_bytes() == (tmp_path / "src/sub/01.bin").read_bytes()


def test_a_permanent_failure_fails_that_file_only(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=4)
    backend = _backend(storage)
    backend.failures["up/sub/02.bin"] = [PermissionError(13, "Permission denied")]
    outcome = _copy(storage, "w:src/", "a:up/")
    assert [(name, type(error)) for name, error in outcome.failures] == [("w:src/sub/02.bin", NotPermitted)]
    assert "a:up/sub/02.bin" in str(outcome.failures[0][1])
    assert len(outcome.copied) == len(files) - 1
    assert not storage.node("a:up/sub/02.bin").exists()


def test_a_missing_source_file_is_reported_in_the_usual_words(storage: Storage, tmp_path: Path) -> None:
    _tree(tmp_path / "src", count=2)
    _copy(storage, "w:src/", "a:tree/")
    backend = _backend(storage)
    backend.failures["tree/sub/00.bin"] = [FileNotFoundError(2, "No such file or directory")]
    outcome = _copy(storage, "a:tree/", "w:down/")
    assert [name for name, _ in outcome.failures] == ["a:tree/sub/00.bin"]
    assert "no such file" in str(outcome.failures[0][1]).lower()
    assert not (tmp_path / "down/sub/00.bin").exists()


def test_progress_sees_every_batched_file_and_byte(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=10)

    class Sink:
        def __init__(self) -> None:
            self.files = self.done = self.bytes = 0
            self.lock = threading.Lock()

        def add_total(self, files: int, size: int | None) -> None:
            self.files += files

        def advance(self, size: int) -> None:
            with self.lock:
                self.bytes += size

        def file_done(self, name: str) -> None:
            with self.lock:
                self.done += 1

    sink = Sink()
    _copy(storage, "w:src/", "a:up/", progress=sink)
    assert (sink.files, sink.done, sink.bytes) == (len(files), len(files), sum(map(len, files.values())))


def test_dry_run_and_no_clobber_take_the_thread_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(registry.BACKEND_MODULES, "asyncmem", __name__)
    lines: list[str] = []
    settings = Settings(dry_run=True, report=lines.append)
    dry = Storage(mounts=[{"name": "a", "type": "asyncmem"}, {"name": "w", "type": "local", "path": str(tmp_path)}],
                  settings=settings)
    files = _tree(tmp_path / "src", count=3)
    outcome = _copy(dry, "w:src/", "a:up/")
    assert not outcome.copied and len(outcome.skipped) == len(files)
    assert len(lines) == len(files) and all(line.startswith("DRY-RUN: copy ") for line in lines)
    assert not _backend(dry).calls


def test_ctrl_c_before_a_batched_file_starts_leaves_nothing(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=5)
    options = CopyOptions(jobs=4)
    options.cancel.set()
    outcome = run(plan([storage.node("w:src/")], storage.node("a:up/"), recursive=True), options)
    batched = [error for _, error in outcome.failures if isinstance(error, Interrupted)]
    assert len(batched) >= len(files) - 1
    assert not _backend(storage).calls["write_small"]


def test_ten_thousand_batched_files_keep_memory_bounded(tmp_path: Path) -> None:
    """The planning queue holds closures, not data: only running transfers hold bytes."""
    import subprocess
    import sys

    from tests.memory import PeakWatcher

    source = tmp_path / "many"
    source.mkdir()
    for index in range(10_000):
        (source / f"{index:05}.txt").write_bytes(b"x" * 1000)
    profile = tmp_path / "p.yaml"
    profile.write_text("mounts:\n  a:\n    type: asyncmem\n")
    program = (
        "import sys\nfrom genrostore.core import registry\n"
        f"registry.BACKEND_MODULES['asyncmem'] = {__name__!r}\n"
        "from genrostore.cli.app import main\ncode = main(sys.argv[1:])\n"
        f"from {__name__} import INSTANCES\n"
        "print(sum(b.calls['write_small'] for b in INSTANCES), sum(len(b._files) for b in INSTANCES))\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", program, "--profile", str(profile), "cp", "-r", "-j", "64",
                             str(source), "a:copy/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = PeakWatcher(proc)
    assert watcher.wait() == 0, proc.stderr.read() if proc.stderr else b""
    assert proc.stdout is not None and proc.stdout.read().split() == [b"10000", b"10000"]
    assert watcher.peak < 200 * 1024 * 1024, f"peak RSS {watcher.peak / 2**20:.0f} MiB"
