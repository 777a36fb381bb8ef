"""The public Python API: Storage and Node."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from genrostore import Settings, Storage
from genrostore.core.errors import DirectoryNotFound, FileNotFound, ReadOnly


def test_node_api_roundtrip(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    node = storage.node("w:docs/a.txt")
    node.write("hello")
    assert (node.path, node.fullpath, node.basename) == ("docs/a.txt", "w:docs/a.txt", "a.txt")
    assert node.read() == "hello" and node.read_bytes() == b"hello"
    assert node.md5 == hashlib.md5(b"hello").hexdigest()
    assert node.size == 5 and node.mtime is not None
    assert node.exists() and node.is_file() and storage.node("w:docs").is_dir()
    assert [n.path for n in storage.node("w:docs").list()] == ["docs/a.txt"]
    copy = node.copy_to("mem:b.txt")
    assert copy.read() == "hello"
    node.delete()
    assert not node.exists()


def test_open_text_and_binary(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    with storage.node("w:t.txt").open("w") as handle:
        handle.write("caf\u00e9")
    with storage.node("w:t.txt").open("r") as handle:
        assert handle.read() == "caf\u00e9"


def test_base64_write_gives_the_node_its_new_path() -> None:
    node = Storage().node("data:")
    node.write(b"Hello World")
    assert node.path == "SGVsbG8gV29ybGQ="


def test_copy_to_base64_propagates_the_path() -> None:
    storage = Storage()
    storage.node("mem:a").write(b"Hello World")
    assert storage.node("mem:a").copy_to("data:").path == "SGVsbG8gV29ybGQ="


def test_errors_are_the_projects_own_classes() -> None:
    with pytest.raises(FileNotFound):
        Storage().node("mem:missing").read()


def test_dry_run_is_enforced_for_every_api_mutation(tmp_path: Path) -> None:
    reports: list[str] = []
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}],
                      settings=Settings(dry_run=True, report=reports.append))
    (tmp_path / "keep.txt").write_text("keep")
    storage.node("w:new.txt").write("x")
    storage.node("w:dir").mkdir()
    storage.node("w:keep.txt").delete()
    storage.node("w:keep.txt").copy_to("w:copy.txt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    assert len(reports) == 4 and all(r.startswith("DRY-RUN: ") for r in reports)


def test_readonly_refuses_before_touching(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "r", "type": "local", "path": str(tmp_path), "readonly": True}])
    with pytest.raises(ReadOnly):
        storage.node("r:x").write("x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode,data", [("w", "partial"), ("wb", b"partial")])
def test_an_exception_inside_open_for_writing_publishes_nothing(mode: str, data: str | bytes) -> None:
    storage = Storage()
    with pytest.raises(RuntimeError):
        with storage.node("mem:x.txt").open(mode) as handle:
            handle.write(data)
            raise RuntimeError("boom")
    assert not storage.node("mem:x.txt").exists()


def test_copy_to_a_base64_node_gives_the_node_passed_in_its_path() -> None:
    storage = Storage()
    storage.node("mem:a").write(b"Hello World")
    target = storage.node("data:")
    storage.node("mem:a").copy_to(target)
    assert target.path == "SGVsbG8gV29ybGQ="


def test_the_bare_data_node_does_not_exist() -> None:
    node = Storage().node("data:")
    assert (node.exists(), node.is_file(), node.is_dir()) == (False, False, False)


@pytest.mark.parametrize("kind", ["memory", "local"])
def test_writing_below_a_file_raises_directory_not_found(kind: str, tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": kind, **({"path": str(tmp_path)} if kind == "local" else {})}])
    storage.node("w:a/b.txt").write("x")
    for below in ("w:a/b.txt/x", "w:a/b.txt/x/y"):
        with pytest.raises(DirectoryNotFound):
            storage.node(below).write("y")
    assert storage.node("w:a/b.txt").read() == "x"
