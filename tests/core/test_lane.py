"""The blocking lane: small files as blocking calls on the Batcher's threads, for a store whose
client waits with the GIL released (obstore: Backend.blocking_small).

The backend is the memory store with the lane's blocking twins, each recording the thread it
ran on; tests/backends/test_obstore.py runs the same path against moto.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from genrostore import Storage
from genrostore.backends.memory import MemoryBackend
from genrostore.core import registry
from genrostore.core.backend import Backend
from genrostore.core.errors import Interrupted, NotPermitted
from genrostore.core.pipeline.execute import run
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.plan import plan
from genrostore.core.schema import BackendSpec
from tests.core.test_batch import AsyncMemoryBackend, _copy, _tree

SPEC = BackendSpec(type="blockmem", summary="memory with blocking small-file calls", options=(),
                   module=__name__, cls="BlockingMemoryBackend")


class BlockingMemoryBackend(AsyncMemoryBackend):
    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.blocking: Counter[str] = Counter()
        self.threads: set[str] = set()

    def blocking_small(self) -> bool:
        return True

    def _blocking(self, kind: str, path: str) -> None:
        self.blocking[kind] += 1
        self.threads.add(threading.current_thread().name.rsplit("_", 1)[0])
        pending = self.failures.get(path)
        if pending:
            raise pending.pop(0)

    def read_small_blocking(self, path: str, limit: int | None = None) -> bytes | None:
        self._blocking("read", path)
        with self.open_read(path) as stream:
            data = stream.read()
        return None if limit is not None and len(data) > limit else data

    def write_small_blocking(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        self._blocking("write", path)
        self._store(path, data)

    def copy_small_blocking(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        if dst is not self:
            return False
        self._blocking("copy", src_path)
        with self.open_read(src_path) as stream:
            self._store(dst_path, stream.read())
        return True


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Storage:
    monkeypatch.setitem(registry.BACKEND_MODULES, "blockmem", __name__)
    return Storage(mounts=[{"name": "b", "type": "blockmem"}, {"name": "w", "type": "local", "path": str(tmp_path)}])


def _backend(storage: Storage) -> BlockingMemoryBackend:
    backend = storage.mount("b").backend
    assert isinstance(backend, BlockingMemoryBackend)
    return backend


def test_uploads_downloads_and_copies_run_on_the_lane_not_the_loop(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src")
    backend = _backend(storage)
    assert not _copy(storage, "w:src/", "b:up/").failures
    assert not _copy(storage, "b:up/", "b:copy/").failures
    outcome = _copy(storage, "b:copy/", "w:down/")
    assert not outcome.failures and len(outcome.copied) == len(files)
    small = len(files) - 1
    assert backend.blocking == {"write": small, "copy": small, "read": small}
    assert backend.threads == {"genrostore-lane"}
    assert not backend.calls["write_small"] and not backend.calls["read_small"]  # the loop's methods
    for name, data in files.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    listed = storage.node("b:copy/sub/03.bin").info().mtime
    assert listed is not None  # a download keeps the mtime its listing gave
    assert (tmp_path / "down/sub/03.bin").stat().st_mtime_ns // 1000 == int(listed.timestamp() * 1_000_000)
    assert not [p for p in (tmp_path / "down").rglob("*") if ".genrostore-tmp" in p.name]


def test_a_transient_failure_is_retried_and_a_permanent_one_fails_that_file_only(
        storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.core import retry

    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    files = _tree(tmp_path / "src", count=4)
    backend = _backend(storage)
    backend.failures["up/sub/01.bin"] = [ConnectionResetError("reset by peer")]
    backend.failures["up/sub/02.bin"] = [PermissionError(13, "Permission denied")]
    outcome = _copy(storage, "w:src/", "b:up/")
    assert [(name, type(error)) for name, error in outcome.failures] == [("w:src/sub/02.bin", NotPermitted)]
    assert "b:up/sub/02.bin" in str(outcome.failures[0][1])
    assert len(outcome.copied) == len(files) - 1
    assert storage.node("b:up/sub/01.bin").read_bytes() == files["sub/01.bin"]
    assert not storage.node("b:up/sub/02.bin").exists()


def test_a_download_that_fails_leaves_no_file_and_the_others_land(storage: Storage, tmp_path: Path) -> None:
    _tree(tmp_path / "src", count=3)
    assert not _copy(storage, "w:src/", "b:tree/").failures
    _backend(storage).failures["tree/sub/00.bin"] = [FileNotFoundError(2, "No such file or directory")]
    outcome = _copy(storage, "b:tree/", "w:down/")
    assert [name for name, _ in outcome.failures] == ["b:tree/sub/00.bin"]
    assert "no such file" in str(outcome.failures[0][1]).lower()
    assert not (tmp_path / "down/sub/00.bin").exists()
    assert (tmp_path / "down/sub/01.bin").exists() and (tmp_path / "down/sub/02.bin").exists()


def test_progress_sees_every_file_and_byte_of_the_lane(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=6)
    seen: list[str] = []
    advanced: list[int] = []

    class Sink:
        def add_total(self, files: int, size: int | None) -> None: ...
        def file_done(self, name: str) -> None: seen.append(name)
        def advance(self, size: int) -> None: advanced.append(size)

    outcome = _copy(storage, "w:src/", "b:up/", progress=Sink())
    assert not outcome.failures
    assert len(seen) == len(files)
    assert sum(advanced) == sum(len(data) for data in files.values())


def test_ctrl_c_before_a_file_starts_sends_nothing(storage: Storage, tmp_path: Path) -> None:
    files = _tree(tmp_path / "src", count=5)
    options = CopyOptions(jobs=4)
    options.cancel.set()
    outcome = run(plan([storage.node("w:src/")], storage.node("b:up/"), recursive=True), options)
    assert len([e for _, e in outcome.failures if isinstance(e, Interrupted)]) >= len(files) - 1
    assert not _backend(storage).blocking["write"]


def test_a_store_without_the_lane_keeps_the_event_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(registry.BACKEND_MODULES, "asyncmem", "tests.core.test_batch")
    storage = Storage(mounts=[{"name": "a", "type": "asyncmem"}, {"name": "w", "type": "local", "path": str(tmp_path)}])
    files = _tree(tmp_path / "src", count=3)
    assert not _copy(storage, "w:src/", "a:up/").failures
    backend = storage.mount("a").backend
    assert isinstance(backend, AsyncMemoryBackend) and not isinstance(backend, BlockingMemoryBackend)
    assert backend.calls["write_small"] == len(files) - 1


def test_the_blocking_twins_default_to_unsupported() -> None:
    backend = Storage(mounts=[{"name": "m", "type": "memory"}]).mount("m").backend
    assert isinstance(backend, MemoryBackend)
    assert backend.blocking_small() is False
    assert backend.copy_small_blocking("a", backend, "b") is False


def test_the_planning_thread_waits_while_jobs_times_four_files_are_queued(
        storage: Storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.core.pipeline import batch

    files = _tree(tmp_path / "src", count=60)
    backend = _backend(storage)
    gate = threading.Event()
    write = backend.write_small_blocking

    def held(path: str, data: bytes, mtime: datetime | None = None) -> None:
        gate.wait(30)
        write(path, data, mtime)

    monkeypatch.setattr(backend, "write_small_blocking", held)
    submitted: list[str] = []
    submit = batch.Batcher._lane_submit

    def counting(self: batch.Batcher, kind: str, action: Any, token: Any, path: str | None) -> None:
        submitted.append(kind)
        submit(self, kind, action, token, path)

    monkeypatch.setattr(batch.Batcher, "_lane_submit", counting)
    outcomes: list[Any] = []
    worker = threading.Thread(target=lambda: outcomes.append(
        run(plan([storage.node("w:src/")], storage.node("b:up/"), recursive=True), CopyOptions(jobs=2))))
    worker.start()
    try:
        time.sleep(0.5)  # unbounded, the listing would have handed over all 60 files by now
        assert len(submitted) <= 2 * 4 + 1  # the queue's 8, and the planner blocked on the 9th
    finally:
        gate.set()
        worker.join(30)
    assert len(submitted) == len(files) - 1  # big.bin is streamed on a thread
    assert not outcomes[0].failures and len(outcomes[0].copied) == len(files)


def test_a_relative_mount_of_a_lane_store_takes_the_lane_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(registry.BACKEND_MODULES, "blockmem", __name__)
    storage = Storage(mounts=[{"name": "b", "type": "blockmem"}, {"name": "sub", "path": "b:inner"},
                              {"name": "w", "type": "local", "path": str(tmp_path)}])
    files = _tree(tmp_path / "src", count=4)
    assert not _copy(storage, "w:src/", "sub:up/").failures
    assert not _copy(storage, "sub:up/", "sub:copy/").failures
    assert not _copy(storage, "sub:copy/", "w:down/").failures
    backend = _backend(storage)
    small = len(files) - 1
    assert backend.blocking == {"write": small, "copy": small, "read": small}
    for name, data in files.items():
        assert storage.node(f"b:inner/copy/{name}").read_bytes() == data, name
        assert (tmp_path / "down" / name).read_bytes() == data, name
