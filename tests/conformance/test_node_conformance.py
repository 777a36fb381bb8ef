"""The same behaviours, through the Python API, against every backend case."""

from __future__ import annotations

import hashlib

import pytest

from genrostore.core.errors import (DirectoryNotFound, FileNotFound, GenrostoreError, NotPermitted, UsageError)
from tests.cases._base import DIRS, SAMPLE, SERVER_COPY, WRITE, Case, exercises, join, require


def test_reads_every_sample_file_byte_for_byte(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    for name, data in SAMPLE.items():
        assert storage.node(join(base, name)).read_bytes() == data, name


def test_info_reports_type_and_size(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    node = storage.node(join(base, "dir/nested/deep.bin"))
    assert node.is_file() and not node.is_dir()
    assert node.size == len(SAMPLE["dir/nested/deep.bin"])
    assert storage.node(join(base, "dir")).is_dir()
    assert storage.node(join(base, "empty.txt")).size == 0


def test_list_shows_files_and_directories(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    names = {(n.basename, n.is_dir()) for n in storage.node(join(base, "dir")).list()}
    assert names == {("a.txt", False), ("nested", True)}


def test_md5_equals_hashlib_of_the_bytes(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    for name, data in SAMPLE.items():
        assert storage.node(join(base, name)).md5 == hashlib.md5(data).hexdigest(), name


def test_missing_file_is_file_not_found(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    node = storage.node(join(base, "no-such-file.txt"))
    assert not node.exists()
    with pytest.raises(FileNotFound):
        node.read_bytes()


def test_listing_a_missing_directory_is_directory_not_found(case: Case) -> None:
    storage = case.storage()
    with pytest.raises((DirectoryNotFound, FileNotFound)):
        storage.node(join(case.sample(), "no-such-dir")).list()


def test_dotdot_cannot_leave_the_mount_root(case: Case) -> None:
    storage = case.storage()
    with pytest.raises(UsageError):
        storage.node(f"{case.mount}:../outside.txt")
    with pytest.raises(UsageError):
        storage.node(f"{case.mount}:a/../../outside.txt")
    root = storage.node(f"{case.mount}:")
    with pytest.raises(UsageError):
        root.child("..", "outside.txt")


def test_copy_out_to_memory_and_back_keeps_bytes(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    src = storage.node(join(base, "dir/nested/deep.bin"))
    copy = src.copy_to("mem:copy.bin")
    assert copy.read_bytes() == SAMPLE["dir/nested/deep.bin"]
    if case.can(WRITE):
        back = storage.node("mem:copy.bin").copy_to(f"{case.fresh()}/back.bin")
        assert back.read_bytes() == SAMPLE["dir/nested/deep.bin"]


def test_recursive_copy_out_keeps_the_tree(case: Case) -> None:
    storage = case.storage()
    base = case.sample()
    storage.node(join(base, "dir")).copy_to("mem:tree/", recursive=True)
    assert storage.node("mem:tree/dir/nested/deep.bin").read_bytes() == SAMPLE["dir/nested/deep.bin"]
    assert storage.node("mem:tree/dir/a.txt").read_bytes() == b"a\n"


def test_recursive_copy_with_a_local_disk_both_ways(case: Case, tmp_path) -> None:
    """Small files batch as coroutines on asyncio stores, a larger one streams on a thread: same bytes."""
    from genrostore.core.pipeline.batch import BATCH_MAX_SIZE

    storage = case.storage()
    sample = case.sample()
    storage.node(sample if sample.endswith((":", "/")) else sample + "/").copy_to(f"{tmp_path}/down/", recursive=True)
    for name, data in SAMPLE.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    if not case.can(WRITE):
        return
    files = {f"s/{i:02}.txt": f"small {i}\n".encode() for i in range(12)}
    files["s/large.bin"] = bytes(range(256)) * (BATCH_MAX_SIZE // 256 + 3)
    for name, data in files.items():
        (tmp_path / "up" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "up" / name).write_bytes(data)
    base = case.fresh()
    storage.node(f"{tmp_path}/up/").copy_to(f"{base}/", recursive=True)
    for name, data in files.items():
        assert storage.node(join(base, name)).read_bytes() == data, name


# -- writable backends -------------------------------------------------------------------------
def test_write_then_read_roundtrip(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    node = storage.node(f"{case.fresh()}/sub/file.txt")
    node.write("hello\n")
    assert node.read() == "hello\n"
    assert node.exists() and node.is_file()


def test_overwrite_replaces_content(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    node = storage.node(f"{case.fresh()}/over.txt")
    node.write(b"first version, longer")
    node.write(b"second")
    assert node.read_bytes() == b"second"


def test_binary_and_empty_files(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    payload = bytes(range(256)) * 1000
    storage.node(f"{base}/bin").write(payload)
    storage.node(f"{base}/empty").write(b"")
    assert storage.node(f"{base}/bin").read_bytes() == payload
    assert storage.node(f"{base}/empty").read_bytes() == b""
    assert storage.node(f"{base}/empty").size == 0


def test_open_write_publishes_only_on_close(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    node = storage.node(f"{case.fresh()}/streamed.bin")
    with node.open("wb") as handle:
        for _ in range(5):
            handle.write(b"x" * 300_000)
    assert node.size == 1_500_000


def test_failed_write_leaves_no_destination(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    node = storage.node(f"{base}/never.bin")
    with pytest.raises(RuntimeError):
        with node.open("wb") as handle:
            handle.write(b"partial" * 1000)
            raise RuntimeError("boom")
    assert not node.exists()
    parent = storage.node(base)
    if parent.exists():
        assert [n.basename for n in parent.list()] == []


def test_delete_file_and_tree(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/d/x.txt").write("x")
    storage.node(f"{base}/d/e/y.txt").write("y")
    storage.node(f"{base}/d/x.txt").delete()
    assert not storage.node(f"{base}/d/x.txt").exists()
    with pytest.raises(GenrostoreError):
        storage.node(f"{base}/d").delete()
    storage.node(f"{base}/d").delete(recursive=True)
    assert not storage.node(f"{base}/d/e/y.txt").exists()


@exercises("dirs")
def test_mkdir_makes_a_listable_directory(case: Case) -> None:
    require(case, WRITE)
    require(case, DIRS)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/a/b").mkdir(parents=True)
    assert storage.node(f"{base}/a/b").is_dir()
    assert [n.basename for n in storage.node(f"{base}/a").list()] == ["b"]


def test_copy_inside_the_mount(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/src.txt").write("copy me")
    storage.node(f"{base}/src.txt").copy_to(f"{base}/dst.txt")
    assert storage.node(f"{base}/dst.txt").read() == "copy me"
    assert storage.node(f"{base}/src.txt").read() == "copy me"


def _refuse_reads(*args: object, **kwargs: object) -> None:
    raise AssertionError("bytes were read through the client")


def test_copy_inside_the_mount_is_server_side(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """A declared server-side copy reads no byte through the client (any read fails the copy)."""
    require(case, WRITE)
    require(case, SERVER_COPY)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/src.bin").write(b"server side")
    backend = type(storage.mount(case.mount).backend)
    with monkeypatch.context() as patch:
        patch.setattr(backend, "open_read", _refuse_reads)
        patch.setattr(backend, "read_range", _refuse_reads)
        storage.node(f"{base}/src.bin").copy_to(f"{base}/dst.bin")
    assert storage.node(f"{base}/dst.bin").read_bytes() == b"server side"
    assert storage.node(f"{base}/src.bin").read_bytes() == b"server side"


def test_recursive_copy_inside_the_mount(case: Case) -> None:
    """Object stores batch these as server-side copy coroutines; the others copy on threads."""
    require(case, WRITE)
    storage = case.storage()
    base = case.sample()
    storage.node(f"{base}/").copy_to(f"{base}-copy/", recursive=True)
    for name, data in SAMPLE.items():
        assert storage.node(join(f"{base}-copy", name)).read_bytes() == data, name
        assert storage.node(join(base, name)).read_bytes() == data, name


def test_unicode_and_space_names_roundtrip(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    for name in ("space name.txt", "caf\u00e9 \u65e5\u672c.txt", "quote's & amp?.txt"):
        storage.node(f"{base}/{name}").write(name)
        assert storage.node(f"{base}/{name}").read() == name
    names = sorted(n.basename for n in storage.node(base).list())
    assert names == sorted(["space name.txt", "caf\u00e9 \u65e5\u672c.txt", "quote's & amp?.txt"])


@exercises("read_only")
def test_readonly_mount_refuses_writes(case: Case) -> None:
    storage = case.storage()
    if case.can(WRITE):
        from genrostore import Storage

        storage = Storage(mounts=[{"name": "ro", **case.mount_options, "readonly": True}])
        target = "ro:t-readonly/x.txt"
    else:
        target = join(case.sample(), "new.txt")
    with pytest.raises(NotPermitted):
        storage.node(target).write("nope")
    with pytest.raises(NotPermitted):
        storage.node(join(case.sample(), "hello.txt")).delete() if not case.can(WRITE) else storage.node(target).mkdir()
