"""Transfer engine features: from-list, parallel ranges, streamed listings, progress, checksum."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from genrostore import Storage
from genrostore.core.backend import Backend, Entry, Writer
from genrostore.core.pipeline import ranges, read
from genrostore.core.pipeline.execute import run
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.plan import plan_from_list
from genrostore.core.schema import BackendSpec
from tests.clirun import Run
from tests.memory import PeakWatcher

SPEC = BackendSpec(type="synthetic", summary="a huge generated listing", options=(), module=__name__,
                   cls="SyntheticBackend")
ENTRIES = 1_000_000


class SyntheticBackend(Backend):
    """A million files in one directory, generated as they are listed (no store at all)."""

    def info(self, path: str) -> Entry:
        return Entry(path, "dir" if not path else "file", None if not path else 1)

    def iterdir(self, path: str) -> Iterator[Entry]:
        for index in range(ENTRIES):
            yield Entry(f"f{index:07}", "file", 1)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        return io.BytesIO(b"x"[offset:])

    def open_write(self, path: str, size_hint: int | None = None) -> Writer:
        raise self.unsupported("writes")

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        raise self.unsupported("mkdir")

    def remove_file(self, path: str) -> None:
        raise self.unsupported("rm")

    def remove_dir(self, path: str) -> None:
        raise self.unsupported("rm")


def test_ls_recursive_of_a_million_entries_keeps_memory_bounded(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("mounts:\n  syn:\n    type: synthetic\n")
    program = (
        "import sys\nfrom genrostore.core import registry\n"
        f"registry.BACKEND_MODULES['synthetic'] = {__name__!r}\n"
        "from genrostore.cli.app import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", program, "--profile", str(profile), "ls", "--json", "-R",
                             "syn:"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watcher = PeakWatcher(proc)
    lines = 0
    assert proc.stdout is not None
    for _ in proc.stdout:
        lines += 1
    assert watcher.wait() == 0
    assert lines == ENTRIES + 2  # "[" ... "]"
    assert watcher.peak < 150 * 1024 * 1024, f"peak RSS {watcher.peak / 2**20:.0f} MiB"


def test_from_list_feeds_names_as_they_arrive(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    storage.node("w:src/a/x").write("x")
    storage.node("w:src/y").write("y")

    consumed: list[str] = []

    def names() -> Iterator[str]:
        for name in ("a/x\n", "y\n", "missing\n"):
            consumed.append(name)
            yield name

    outcome = run(plan_from_list(names(), storage.node("w:out"), base=storage.node("w:src")), CopyOptions(jobs=2))
    assert storage.node("w:out/a/x").read() == "x" and storage.node("w:out/y").read() == "y"
    assert [name for name, _ in outcome.failures] == ["missing"]


def test_cli_from_list_on_stdin(run: Run, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a").write_text("a")
    result = run("cp", "--from-list", "-", "src", "out", input=b"a\n")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/a").read_text() == "a"


def test_large_remote_cat_uses_parallel_ranges_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = Storage()
    data = os.urandom(3 * ranges.RANGE_PART + 12345)
    storage.node("mem:big").write(data)
    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", ranges.RANGE_PART)
    calls: list[int] = []
    original = storage.mount("mem").read_range

    def counting(path: str, offset: int, length: int) -> bytes:
        calls.append(offset)
        return original(path, offset, length)

    monkeypatch.setattr(storage.mount("mem"), "read_range", counting)
    out = hashlib.md5()
    read.stream_to(storage.node("mem:big"), out.update)
    assert out.hexdigest() == hashlib.md5(data).hexdigest()
    assert len(calls) == 4


def test_checksum_mismatch_removes_the_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.core import hashing
    from genrostore.core.errors import GenrostoreError
    from genrostore.core.pipeline import copying

    storage = Storage()
    storage.node("mem:a").write("a")
    real = hashing.md5_of
    monkeypatch.setattr(hashing, "md5_of", lambda node: "0" * 32 if node.path == "b" else real(node))
    with pytest.raises(GenrostoreError, match="checksum mismatch"):
        copying.copy_file(storage.node("mem:a"), storage.node("mem:b"), options=CopyOptions(checksum=True))
    assert not storage.node("mem:b").exists()


def test_progress_is_forced_on_a_non_tty_with_progress(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for index in range(5):
        (tmp_path / "d" / str(index)).write_bytes(os.urandom(1024))
    quiet = run("cp", "-r", "d", "e")
    assert quiet.stderr == b""


class _Recorder:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.done = 0

    def add_total(self, files: int, size: Any) -> None:
        self.files += files

    def advance(self, size: int) -> None:
        self.bytes += size

    def file_done(self, name: str) -> None:
        self.done += 1


def test_progress_sink_sees_every_file_and_byte() -> None:
    storage = Storage()
    for index in range(10):
        storage.node(f"mem:src/{index}").write(b"x" * 100)
    sink = _Recorder()
    from genrostore.core.pipeline.plan import plan

    run(plan([storage.node("mem:src")], storage.node("mem:dst"), recursive=True), CopyOptions(jobs=3, progress=sink))
    assert (sink.files, sink.done, sink.bytes) == (10, 10, 1000)


def test_ten_thousand_files_copy_with_high_concurrency_keeps_memory_bounded(tmp_path: Path) -> None:
    source = tmp_path / "many"
    source.mkdir()
    for index in range(10_000):
        (source / f"{index:05}.txt").write_bytes(b"x" * 100)
    proc = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-r", "-j", "32", str(source),
                             str(tmp_path / "copy")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watcher = PeakWatcher(proc)
    assert watcher.wait() == 0
    assert len(os.listdir(tmp_path / "copy")) == 10_000
    assert watcher.peak < 200 * 1024 * 1024, f"peak RSS {watcher.peak / 2**20:.0f} MiB"


class _Boom(Exception):
    """A client library's own exception type, unknown to the core."""


@pytest.mark.parametrize("jobs", [1, 8])
def test_a_foreign_exception_at_commit_is_a_failure_never_a_silent_success(monkeypatch: pytest.MonkeyPatch,
                                                                           jobs: int) -> None:
    from genrostore.backends.memory import MemoryBackend
    from genrostore.core.pipeline.plan import plan

    storage = Storage()
    for index in range(3):
        storage.node(f"mem:src/{index}").write(b"x")
    real = MemoryBackend.open_write

    def failing(self: MemoryBackend, path: str, size_hint: int | None = None) -> Writer:
        writer = real(self, path, size_hint)
        if path.startswith("dst/"):
            def commit() -> None:
                raise _Boom("the server went away")
            writer.commit = commit  # type: ignore[method-assign]
        return writer

    monkeypatch.setattr(MemoryBackend, "open_write", failing)
    outcome = run(plan([storage.node("mem:src")], storage.node("mem:dst"), recursive=True), CopyOptions(jobs=jobs))
    assert len(outcome.failures) == 3 and not outcome.copied
    assert all("the server went away" in str(error) for _, error in outcome.failures)


def test_a_large_remote_file_is_downloaded_in_parallel_ranges(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    data = os.urandom(3 * ranges.RANGE_PART + 4321)
    storage.node("mem:big").write(data)
    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", ranges.RANGE_PART)
    offsets: list[int] = []
    original = storage.mount("mem").read_range

    def counting(path: str, offset: int, length: int) -> bytes:
        offsets.append(offset)
        return original(path, offset, length)

    monkeypatch.setattr(storage.mount("mem"), "read_range", counting)
    storage.node("mem:big").copy_to("w:big")
    assert (tmp_path / "big").read_bytes() == data
    assert sorted(offsets) == [0, ranges.RANGE_PART, 2 * ranges.RANGE_PART, 3 * ranges.RANGE_PART]


def test_a_failing_range_leaves_no_partial_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from genrostore.core.errors import GenrostoreError

    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    storage.node("mem:big").write(os.urandom(2 * ranges.RANGE_PART))
    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", ranges.RANGE_PART)

    def broken(path: str, offset: int, length: int) -> bytes:
        if offset:
            raise PermissionError("denied")
        return b"x" * length

    monkeypatch.setattr(storage.mount("mem"), "read_range", broken)
    with pytest.raises(GenrostoreError):
        storage.node("mem:big").copy_to("w:big")
    assert list(tmp_path.iterdir()) == []


def test_local_writes_ask_for_early_writeback_of_every_block(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The fsync before the rename then finds little left to write (see core/writeback.py)."""
    from genrostore.core import writeback

    monkeypatch.setattr(writeback, "STEP", 64 * 1024)
    ranges: list[tuple[int, int]] = []
    real = writeback.start_writeback

    def recording(fd: int, offset: int, length: int) -> None:
        ranges.append((offset, length))
        real(fd, offset, length)

    monkeypatch.setattr(writeback, "start_writeback", recording)
    data = os.urandom(5 * 64 * 1024 + 77)
    (tmp_path / "src.bin").write_bytes(data)
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    storage.node("w:src.bin").copy_to("w:kernel.bin")  # the kernel's copy
    storage.node("mem:src.bin").write(data)
    storage.node("mem:src.bin").copy_to("w:streamed.bin")  # a stream through the atomic writer
    assert (tmp_path / "kernel.bin").read_bytes() == data == (tmp_path / "streamed.bin").read_bytes()
    kernel_ranges = ranges[:6]
    assert kernel_ranges == [(i * 64 * 1024, 64 * 1024) for i in range(5)] + [(5 * 64 * 1024, 77)]
    streamed = ranges[6:]
    assert streamed and all(length >= 64 * 1024 for _, length in streamed)
    assert [offset for offset, _ in streamed] == sorted(offset for offset, _ in streamed)
