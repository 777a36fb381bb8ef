"""Each capability a backend declares in `features`, proved against every case that declares it.

A case whose backend does not declare a capability skips the test (`require`); the coverage
test (test_capability_coverage.py) fails the suite when a declared capability has no test here
or elsewhere in the conformance suite.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
from collections.abc import Iterator
from typing import Any

import pytest

from genrostore import Storage
from genrostore.core import tempnames
from genrostore.core.errors import SourceChanged
from genrostore.core.mount import Mount
from genrostore.core.pipeline.api import default_jobs
from tests.cases._base import SAMPLE, WRITE, Case, exercises, join, require

DEEP = "dir/nested/deep.bin"
READS = ("open_read", "open_range", "read_range", "read_small")


def _mount_and_path(case: Case, address: str) -> tuple[Mount, str]:
    node = case.storage().node(address)
    return node.mount, node.path


class _NoReads:
    """Makes every read of the backend fail while active: what still works moved no bytes through us."""

    def __init__(self, mount: Mount) -> None:
        self.backend = mount.backend
        self.calls: list[str] = []

    def __enter__(self) -> _NoReads:
        for name in READS:
            def refuse(*args: Any, _name: str = name, **kwargs: Any) -> Any:
                self.calls.append(_name)
                raise AssertionError(f"{_name} called: bytes went through the client")
            setattr(self.backend, name, refuse)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in READS:
            self.backend.__dict__.pop(name, None)


@exercises("server_copy")
def test_server_copy_moves_no_bytes_through_the_client(case: Case) -> None:
    """A copy inside the mount (one file, then a tree on the batch path) succeeds while every
    read of the source is refused: the store copied it itself."""
    require(case, "server_copy")
    storage = case.storage()
    base = case.sample()
    mount, _ = _mount_and_path(case, base)
    with _NoReads(mount) as guard:
        storage.node(join(base, "hello.txt")).copy_to(join(base, "hello-copy.txt"))
        storage.node(f"{base}/dir/").copy_to(f"{base}-tree/", recursive=True)
    assert guard.calls == []
    assert storage.node(join(base, "hello-copy.txt")).read_bytes() == SAMPLE["hello.txt"]
    for name, data in SAMPLE.items():
        if name.startswith("dir/"):
            assert storage.node(join(f"{base}-tree", name[4:])).read_bytes() == data, name


@exercises("ranged_reads")
def test_reads_start_at_the_offset(case: Case) -> None:
    require(case, "ranged_reads")
    mount, path = _mount_and_path(case, join(case.sample(), DEEP))
    data = SAMPLE[DEEP]
    assert mount.read_range(path, 1000, 300) == data[1000:1300]
    assert mount.read_range(path, len(data) - 10, 100) == data[-10:]
    with mount.open_read(path, 5000) as stream:
        assert stream.read() == data[5000:]


@exercises("streaming_ranges")
def test_open_range_streams_exactly_the_range(case: Case) -> None:
    require(case, "streaming_ranges")
    mount, path = _mount_and_path(case, join(case.sample(), DEEP))
    with mount.open_range(path, 4096, 1000) as stream:
        assert stream.read() == SAMPLE[DEEP][4096:5096]


@exercises("pins_versions")
def test_a_range_of_a_replaced_version_is_refused(case: Case) -> None:
    require(case, "pins_versions")
    require(case, WRITE)
    storage = case.storage()
    address = join(case.fresh(), "v.bin")
    storage.node(address).write(b"one" * 100)
    mount, path = _mount_and_path(case, address)
    old = mount.info(path).version
    assert old
    storage.node(address).write(b"two" * 100)
    with mount.open_range(path, 0, 10, mount.info(path).version) as stream:
        assert stream.read() == b"twotwotwot"
    with pytest.raises(SourceChanged):
        mount.open_range(path, 0, 10, old).read()


def _names(mount: Mount, path: str) -> Iterator[str]:
    return (posixpath.basename(entry.path) for entry in mount.backend.iterdir(path))


@exercises("atomic_rename")
def test_writes_go_through_a_temp_name_that_never_stays(case: Case) -> None:
    """Mid-write the bytes sit under a `core.tempnames` name (what `cleanup` looks for); after a
    commit or an abort none is left, and an aborted write leaves no destination."""
    require(case, "atomic_rename")
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    storage.node(join(base, "keep.txt")).write(b"x")
    mount, parent = _mount_and_path(case, base)
    writer = mount.open_write(posixpath.join(parent, "done.txt"))
    writer.write(b"published")
    writer.commit()
    writer = mount.open_write(posixpath.join(parent, "dropped.txt"))
    writer.write(b"never published")
    writer.abort()
    names = sorted(_names(mount, parent))
    assert names == ["done.txt", "keep.txt"], names
    assert not any(tempnames.is_temp(name) for name in names)
    assert storage.node(join(base, "done.txt")).read_bytes() == b"published"


@exercises("stored_md5")
def test_md5_comes_from_the_store_without_reading_the_bytes(case: Case) -> None:
    require(case, "stored_md5")
    base = case.sample()
    mount, path = _mount_and_path(case, join(base, DEEP))
    with _NoReads(mount):
        assert mount.md5(path) == hashlib.md5(SAMPLE[DEEP]).hexdigest()


@exercises("async_client")
def test_small_files_read_as_coroutines_on_the_clients_loop(case: Case) -> None:
    require(case, "async_client")
    mount, path = _mount_and_path(case, join(case.sample(), "hello.txt"))
    loop = mount.batch_loop()
    assert isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running()
    future = asyncio.run_coroutine_threadsafe(mount.read_small(path, 1 << 20), loop)
    assert future.result(timeout=60) == SAMPLE["hello.txt"]


@exercises("local_disk")
def test_local_path_is_this_machines_file(case: Case) -> None:
    require(case, "local_disk")
    mount, path = _mount_and_path(case, join(case.sample(), DEEP))
    local = mount.local_path(path)
    assert local is not None
    with open(local, "rb") as handle:
        assert handle.read() == SAMPLE[DEEP]


@exercises("network")
def test_network_backends_get_more_parallel_transfers(case: Case) -> None:
    mount, _ = _mount_and_path(case, case.sample())
    assert default_jobs(mount) == (16 if case.features.network else 4)


@exercises("implicit_dirs")
def test_directories_are_key_prefixes(case: Case) -> None:
    """A directory exists while a key is below it, and no longer once the last one is gone."""
    require(case, "implicit_dirs")
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    storage.node(join(base, "only/child.txt")).write(b"x")
    assert storage.node(join(base, "only")).is_dir()
    storage.node(join(base, "only/child.txt")).delete()
    assert not storage.node(join(base, "only")).exists()


@exercises("raw_paths")
def test_raw_paths_are_data_never_normalised(tmp_path: Any) -> None:
    """base64 (a raw-paths backend): `////` would normalise to the root; as data it is three 0xff bytes."""
    profile = tmp_path / "profile.yaml"
    profile.write_text("mounts: {}\n")
    storage = Storage.from_profile(profile)
    assert storage.node("data:////").read_bytes() == b"\xff\xff\xff"
    assert storage.node("data:").mount.backend.features.raw_paths
