"""Group commit of local writes (core/durable.py): one syncfs for the files that finish together."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from genrostore.core import durable


def _write(path: Path, data: bytes) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, data)
    return fd


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts fsync and syncfs calls (the real ones still run); the first fsync is slow, so the
    files that finish meanwhile form a group."""
    counts = {"fsync": 0, "syncfs": 0}
    real_fsync, real_flush = os.fsync, durable.flush_file_system
    lock = threading.Lock()

    def fsync(fd: int) -> None:
        with lock:
            counts["fsync"] += 1
            first = counts["fsync"] == 1
        if first:
            time.sleep(0.2)
        real_fsync(fd)

    def flush(fd: int) -> bool:
        with lock:
            counts["syncfs"] += 1
        return real_flush(fd)

    monkeypatch.setattr(durable.os, "fsync", fsync)
    monkeypatch.setattr(durable, "flush_file_system", flush)
    monkeypatch.setattr(durable, "_GROUPS", {})
    return counts


def test_a_file_alone_pays_one_fsync_and_no_syncfs(tmp_path: Path, counted: dict[str, int]) -> None:
    fd = _write(tmp_path / "a", b"x")
    try:
        durable.make_durable(fd, os.fstat(fd).st_dev)
    finally:
        os.close(fd)
    assert counted == {"fsync": 1, "syncfs": 0}


def test_files_finishing_together_share_one_syncfs_and_each_still_fsyncs(tmp_path: Path,
                                                                         counted: dict[str, int]) -> None:
    fds = [_write(tmp_path / f"f{i}", b"x" * 4096) for i in range(20)]
    device = os.fstat(fds[0]).st_dev
    errors: list[BaseException] = []

    def commit(fd: int) -> None:
        try:
            durable.make_durable(fd, device)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    first = threading.Thread(target=commit, args=(fds[0],))
    first.start()
    time.sleep(0.05)  # the first one is in its (slow) fsync: the others queue behind it
    others = [threading.Thread(target=commit, args=(fd,)) for fd in fds[1:]]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(10)
    for fd in fds:
        os.close(fd)
    assert not errors
    assert counted["syncfs"] == 1  # the 19 that waited: one flush of the file system
    assert counted["fsync"] == 20  # the first one's own, then each of the 19 checks its own errors


def test_without_syncfs_every_file_fsyncs_itself(tmp_path: Path, counted: dict[str, int],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(durable, "flush_file_system", lambda fd: False)
    fds = [_write(tmp_path / f"f{i}", b"x") for i in range(8)]
    device = os.fstat(fds[0]).st_dev
    threads = [threading.Thread(target=durable.make_durable, args=(fd, device)) for fd in fds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for fd in fds:
        os.close(fd)
    assert counted["fsync"] == 8


def test_an_fsync_error_reaches_its_own_caller_and_the_group_goes_on(tmp_path: Path) -> None:
    fd = _write(tmp_path / "ok", b"x")
    device = os.fstat(fd).st_dev
    bad = os.open(tmp_path, os.O_RDONLY)
    os.close(bad)  # a closed descriptor: fsync fails with EBADF
    with pytest.raises(OSError):
        durable.make_durable(bad, device)
    durable.make_durable(fd, device)  # the group is not left busy
    os.close(fd)


def test_the_real_syncfs_succeeds_here(tmp_path: Path) -> None:
    """This suite runs on Linux: the group path is the one exercised, not the fallback."""
    fd = _write(tmp_path / "a", b"x")
    try:
        assert durable.flush_file_system(fd) is True
    finally:
        os.close(fd)


def test_flush_batch_trusts_a_syncfs_only_where_it_reports_write_errors(tmp_path: Path) -> None:
    """A successful syncfs stands for the batch's fsyncs on Linux ≥ 5.8 and a file system whose
    sync is a full commit; procfs (like FUSE or NFS) is not one."""
    with open(tmp_path / "f", "wb") as written:
        device = os.fstat(written.fileno()).st_dev
        expected = durable._kernel_reports_syncfs_errors() and durable._fs_type(written.fileno()) in durable._FULL_SYNCFS
        assert durable.flush_batch(written.fileno(), device) is expected
    fd = os.open("/proc/self/stat", os.O_RDONLY)
    try:
        assert durable._fs_type(fd) == 0x9FA0  # PROC_SUPER_MAGIC
        assert not durable._full_syncfs(os.fstat(fd).st_dev, fd)
    finally:
        os.close(fd)
