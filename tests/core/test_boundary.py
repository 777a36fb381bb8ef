"""The Mount is the one error boundary: what a backend raises after open (read, write, commit)
leaves as the project's error with the user-facing location, and a Python caller reads the
API's parameters in a hint, never a CLI flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import DirectoryNotFound, FileNotFound, GenrostoreError, UsageError


def test_a_read_that_fails_after_open_is_a_located_project_error() -> None:
    # /proc/self/mem opens fine and fails at read() (EIO): a real file, a real OS error.
    stream = Storage().node("/proc/self/mem").open("rb")
    with pytest.raises(GenrostoreError, match=r"^/proc/self/mem: Input/output error$"):
        stream.read(10)
    stream.close()


def test_a_commit_that_fails_is_a_located_project_error(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    (tmp_path / "d").mkdir()
    node = storage.node("w:d/f.txt")
    writer = node.mount.open_write(node.path)
    writer.write(b"data")
    shutil.rmtree(tmp_path / "d")  # the temp file and its directory go: the rename cannot happen
    with pytest.raises(FileNotFound, match=r"^w:d/f\.txt: "):
        writer.commit()


def test_a_local_path_is_named_as_given_and_the_api_hint_names_the_parameter(tmp_path: Path) -> None:
    target = tmp_path / "missing-parent" / "sub"
    with pytest.raises(DirectoryNotFound) as caught:
        Storage().node(str(target)).mkdir()
    assert str(caught.value) == f"{target}: parent directory does not exist (pass parents=True to create parents)"


def test_api_hints_name_parameters_not_flags(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)}])
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    with pytest.raises(UsageError) as not_recursive:
        storage.node("w:d").delete()
    with pytest.raises(UsageError) as root:
        storage.node("w:").delete(recursive=True)
    messages = [str(not_recursive.value), str(root.value)]
    assert "recursive=True" in messages[0] and "allow_root=True" in messages[1]
    assert not any(" -r" in text or "--" in text for text in messages)


def test_a_relative_mount_names_its_own_path(tmp_path: Path) -> None:
    (tmp_path / "rel").mkdir()
    storage = Storage(mounts=[{"name": "w", "type": "local", "path": str(tmp_path)},
                              {"name": "pub", "path": "w:rel"}])
    with pytest.raises(DirectoryNotFound, match=r"^pub:a/b: parent directory does not exist"):
        storage.node("pub:a/b").mkdir()
