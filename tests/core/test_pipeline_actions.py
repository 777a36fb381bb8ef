"""The pipeline's executors for every action (issue 14): Move, Delete, SetMetadata (and Skip),
through the Python API against a real local directory and the memory backend."""

from __future__ import annotations

import os
from datetime import datetime, UTC
from pathlib import Path

import pytest

from genrostore.core.actions import Copy, Delete, Move, SetMetadata, Skip
from genrostore.core.errors import GenrostoreError, ReadOnly, Unsupported
from genrostore.core.pipeline.decide import move_or_skip
from genrostore.core.pipeline.execute import run
from genrostore.core.pipeline.executors import perform
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.pipeline.plan import Pair, plan
from genrostore.core.storage import Storage


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    (tmp_path / "disk").mkdir()
    return Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path / "disk")}])


def test_move_inside_one_local_file_system_is_a_rename(storage: Storage, tmp_path: Path) -> None:
    (tmp_path / "disk/a.txt").write_text("hello")
    inode = os.stat(tmp_path / "disk/a.txt").st_ino
    assert perform(Move(storage.node("w:a.txt"), storage.node("w:b.txt")), CopyOptions()) is True
    assert not (tmp_path / "disk/a.txt").exists()
    assert (tmp_path / "disk/b.txt").read_text() == "hello"
    assert os.stat(tmp_path / "disk/b.txt").st_ino == inode  # renamed, not copied


def test_move_between_stores_copies_then_removes_the_source(storage: Storage, tmp_path: Path) -> None:
    storage.node("mem:src/a.bin").write(b"x" * 5000)
    assert perform(Move(storage.node("mem:src/a.bin"), storage.node("w:a.bin")), CopyOptions(checksum=True))
    assert (tmp_path / "disk/a.bin").read_bytes() == b"x" * 5000
    assert not storage.node("mem:src/a.bin").exists()
    (tmp_path / "disk/back.txt").write_text("back")
    assert perform(Move(storage.node("w:back.txt"), storage.node("mem:back.txt")), CopyOptions())
    assert storage.node("mem:back.txt").read() == "back" and not (tmp_path / "disk/back.txt").exists()


def test_a_move_whose_copy_fails_keeps_the_source(storage: Storage, tmp_path: Path) -> None:
    storage.node("mem:keep.txt").write("precious")
    (tmp_path / "disk/dir").mkdir()
    (tmp_path / "disk/dir/keep.txt").mkdir()  # a directory in the way: the copy cannot publish
    with pytest.raises(GenrostoreError):
        perform(Move(storage.node("mem:keep.txt"), storage.node("w:dir/keep.txt")), CopyOptions())
    assert storage.node("mem:keep.txt").read() == "precious"


def test_a_move_from_a_read_only_source_copies_nothing(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro/a.txt").write_text("a")
    storage = Storage(mounts=[{"name": "ro", "type": "local", "path": str(tmp_path / "ro"), "readonly": True}])
    with pytest.raises(ReadOnly):
        perform(Move(storage.node("ro:a.txt"), storage.node("mem:a.txt")), CopyOptions())
    assert not storage.node("mem:a.txt").exists() and (tmp_path / "ro/a.txt").exists()


def test_moves_run_through_the_pipeline_with_no_clobber(storage: Storage, tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        storage.node(f"mem:src/{name}").write(name)
    (tmp_path / "disk/dst").mkdir()
    (tmp_path / "disk/dst/b").write_text("old")
    outcome = run(plan([storage.node("mem:src/")], storage.node("w:dst"), recursive=True),
                  CopyOptions(no_clobber=True, jobs=3), decide=move_or_skip)
    assert not outcome.failures
    assert sorted(node.path for node in outcome.copied) == ["dst/a", "dst/c"]
    assert [node.path for node in outcome.skipped] == ["dst/b"]
    assert (tmp_path / "disk/dst/b").read_text() == "old" and storage.node("mem:src/b").exists()
    assert not storage.node("mem:src/a").exists() and (tmp_path / "disk/dst/a").read_text() == "a"


def test_delete_removes_one_file_on_both_mounts(storage: Storage, tmp_path: Path) -> None:
    (tmp_path / "disk/gone.txt").write_text("x")
    storage.node("mem:gone.txt").write("x")
    for address in ("w:gone.txt", "mem:gone.txt"):
        assert perform(Delete(storage.node(address)), CopyOptions()) is True
        assert not storage.node(address).exists()


def test_delete_honours_permissions_and_dry_run(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/f").write_text("f")
    storage = Storage(mounts=[{"name": "rw", "type": "local", "path": str(tmp_path / "d"),
                               "permissions": "readwrite"}])
    with pytest.raises(ReadOnly):
        perform(Delete(storage.node("rw:f")), CopyOptions())
    dry = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path / "d")}])
    dry.settings.dry_run = True
    assert perform(Delete(dry.node("w:f")), CopyOptions()) is False
    assert (tmp_path / "d/f").exists()


def test_set_metadata_sets_the_mtime_of_a_local_file(storage: Storage, tmp_path: Path) -> None:
    (tmp_path / "disk/t.txt").write_text("same bytes")
    when = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    assert perform(SetMetadata(storage.node("w:t.txt"), when), CopyOptions()) is True
    assert os.stat(tmp_path / "disk/t.txt").st_mtime_ns == int(when.timestamp()) * 10**9 + 789_000_000
    assert storage.node("w:t.txt").mtime == when.astimezone(storage.node("w:t.txt").mtime.tzinfo)  # type: ignore[union-attr]  # a local file always has an mtime
    assert (tmp_path / "disk/t.txt").read_text() == "same bytes"


def test_set_metadata_is_unsupported_where_the_store_cannot(storage: Storage) -> None:
    storage.node("mem:t.txt").write("x")
    with pytest.raises(Unsupported):
        perform(SetMetadata(storage.node("mem:t.txt"), datetime(2001, 1, 1, tzinfo=UTC)), CopyOptions())


def test_skip_does_nothing_and_copy_copies(storage: Storage, tmp_path: Path) -> None:
    storage.node("mem:s.txt").write("s")
    assert perform(Skip(storage.node("mem:s.txt"), storage.node("w:s.txt"), reason="exists"), CopyOptions()) is False
    assert not (tmp_path / "disk/s.txt").exists()
    assert perform(Copy(storage.node("mem:s.txt"), storage.node("w:s.txt")), CopyOptions()) is True
    assert (tmp_path / "disk/s.txt").read_text() == "s"


def test_a_pair_decided_by_a_sync_planner_runs_any_action(storage: Storage, tmp_path: Path) -> None:
    """`run` takes any decider: here one deletes what cp would copy (a sync's extraneous file)."""
    (tmp_path / "disk/x").write_text("x")
    node = storage.node("w:x")
    outcome = run([Pair(node, node)], CopyOptions(jobs=2), decide=lambda pair, options: Delete(pair.dst))  # type: ignore[arg-type]  # a lambda decider returning one action type
    assert not outcome.failures and not (tmp_path / "disk/x").exists()
