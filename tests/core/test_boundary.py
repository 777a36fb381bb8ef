"""The Mount is the one error boundary: what a backend raises after open (read, write, commit)
leaves as the project's error with the user-facing location, and a Python caller reads the
API's parameters in a hint, never a CLI flag."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import DirectoryNotFound, FileNotFound, GenrostoreError, UsageError, for_cli
from tests.cases._base import Case
from tests.clirun import Run


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


def test_recursive_fixes_name_the_parameter_in_the_api_and_the_flag_in_the_cli(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    directory = Storage().node(str(tmp_path / "d"))
    with pytest.raises(UsageError) as copy:
        directory.copy_to(str(tmp_path / "e"))
    with pytest.raises(UsageError) as md5:
        directory.md5  # noqa: B018 - the property raises
    assert str(copy.value) == f"{tmp_path}/d: is a directory (pass recursive=True to copy directories)"
    assert str(md5.value) == f"{tmp_path}/d: is a directory"  # Node.md5 has no recursive parameter
    with for_cli():
        assert str(md5.value) == f"{tmp_path}/d: is a directory (use -r to hash every file below it)"
    result = run("cp", "d", "e")
    assert (result.returncode, result.stderr.decode()) == (
        2, f"genrostore: {tmp_path}/d: is a directory (use -r to copy directories)\n")
    result = run("md5", "d")
    assert (result.returncode, result.stderr.decode()) == (
        2, f"genrostore: {tmp_path}/d: is a directory (use -r to hash every file below it)\n")


def test_local_reads_past_the_wrapper_fail_located(run: Run, tmp_path: Path) -> None:
    # /proc/self/mem opens and fails at read (EIO). md5 opens the local path itself, cp's kernel
    # copy writes to the writer's fileno: neither goes through a Mount stream, both are mapped.
    with pytest.raises(GenrostoreError, match=r"^/proc/self/mem: Input/output error$"):
        Storage().node("/proc/self/mem").md5  # noqa: B018 - the property raises
    result = run("md5", "/proc/self/mem")
    assert (result.returncode, result.stderr) == (1, b"genrostore: /proc/self/mem: Input/output error\n")
    result = run("cp", "/proc/self/mem", "copy")
    assert (result.returncode, result.stderr.decode()) == (1, f"genrostore: {tmp_path}/copy: Input/output error\n")
    assert not (tmp_path / "copy").exists() and os.listdir(tmp_path) == ["home"]  # no partial destination


def test_a_small_local_upload_read_on_the_event_loop_fails_located(case_s3: Case) -> None:
    # the batch path reads a small local file with open() on the store's loop, past the wrapper
    base = case_s3.fresh()
    result = case_s3.cli("cp", "/proc/self/mem", f"{base}/mem")
    assert (result.returncode, result.stderr) == (1, b"genrostore: /proc/self/mem: Input/output error\n")
    assert case_s3.cli("ls", base).stdout == b""
