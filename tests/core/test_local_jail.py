"""The local backend's jail: a path that resolves outside the mount root (a symlink) is refused,
with each directory's resolution reused only briefly (LocalBackend._resolve)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.backends import local
from genrostore.core.errors import NotPermitted


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Storage, Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "dir").mkdir(parents=True)
    outside.mkdir()
    (root / "dir/in.txt").write_text("inside")
    (outside / "in.txt").write_text("secret")
    (outside / "secret.txt").write_text("secret")
    return Storage(mounts=[{"name": "j", "type": "local", "path": str(root)}]), root, outside


def test_a_file_linking_out_of_the_mount_is_refused(tree: tuple[Storage, Path, Path]) -> None:
    storage, root, outside = tree
    assert storage.node("j:dir/in.txt").read_bytes() == b"inside"  # the directory's resolution is now kept
    os.symlink(outside / "secret.txt", root / "dir/link.txt")
    with pytest.raises(NotPermitted, match="outside the mount root"):
        storage.node("j:dir/link.txt").read_bytes()


def test_a_link_that_stays_inside_is_followed(tree: tuple[Storage, Path, Path]) -> None:
    storage, root, _ = tree
    os.symlink(root / "dir/in.txt", root / "dir/alias.txt")
    assert storage.node("j:dir/alias.txt").read_bytes() == b"inside"


def test_a_directory_swapped_for_a_link_out_is_refused_once_its_resolution_expired(
        tree: tuple[Storage, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    storage, root, outside = tree
    monkeypatch.setattr(local, "_PARENT_TTL", 0.0)
    assert storage.node("j:dir/in.txt").read_bytes() == b"inside"
    (root / "dir/in.txt").unlink()
    (root / "dir").rmdir()
    os.symlink(outside, root / "dir")
    with pytest.raises(NotPermitted, match="outside the mount root"):
        storage.node("j:dir/in.txt").read_bytes()


def test_dot_dot_out_of_the_root_through_a_link_is_refused(tree: tuple[Storage, Path, Path]) -> None:
    storage, root, outside = tree
    os.symlink(outside, root / "dir/out")
    with pytest.raises(NotPermitted):
        storage.node("j:dir/out/secret.txt").read_bytes()
