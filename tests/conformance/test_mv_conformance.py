"""`mv` against every writable case: the Python engine (move_nodes) and the real command.

Source gone and destination byte-equal after a move; a failed copy keeps its source; a
read-only source exits 6 with nothing copied; -n and --dry-run change nothing; a case that
declares SERVER_MOVE moves without its source ever being opened (no bytes through us).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from genrostore.core.errors import GenrostoreError
from genrostore.core.node import Node
from genrostore.core.pipeline.api import move_nodes
from genrostore.core.pipeline.options import CopyOptions
from tests.cases._base import DIRS, PERSIST, SAMPLE, SERVER_MOVE, WRITE, Case, exercises, join, require
from tests.payloads import pattern

PAYLOAD = pattern(300 * 1024)  # above the batch limit: the thread path, several chunks


def _move(case: Case, *texts: str, recursive: bool = False, no_clobber: bool = False) -> Any:
    storage = case.storage()
    *sources, target = texts
    return move_nodes([storage.node(t) for t in sources], storage.node(target),
                      CopyOptions(no_clobber=no_clobber), recursive=recursive)


def _exists(node: Node) -> bool:
    try:
        return node.exists()
    except GenrostoreError:
        return False


def test_mv_moves_a_file_and_removes_its_source(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/src.bin").write(PAYLOAD)
    outcome = _move(case, f"{base}/src.bin", f"{base}/out/moved.bin")
    assert not outcome.failures, outcome.failures
    assert storage.node(f"{base}/out/moved.bin").read_bytes() == PAYLOAD
    assert not _exists(storage.node(f"{base}/src.bin"))


def test_mv_recursive_moves_the_tree_and_removes_the_emptied_directories(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.sample()
    target = case.fresh()
    outcome = _move(case, join(base, "dir"), target, recursive=True)
    assert not outcome.failures, outcome.failures
    assert storage.node(f"{target}/nested/deep.bin").read_bytes() == SAMPLE["dir/nested/deep.bin"]
    assert storage.node(f"{target}/a.txt").read_bytes() == b"a\n"
    assert not _exists(storage.node(join(base, "dir")))
    assert storage.node(join(base, "hello.txt")).read_bytes() == SAMPLE["hello.txt"]  # outside: untouched


def test_mv_recursive_keeps_a_directory_that_still_holds_a_kept_file(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base, target = case.fresh(), case.fresh()
    storage.node(f"{base}/d/keep.txt").write(b"source")
    storage.node(f"{base}/d/sub/go.txt").write(b"go")
    storage.node(f"{target}/d/keep.txt").write(b"already there")
    outcome = _move(case, f"{base}/d", f"{target}/", recursive=True, no_clobber=True)
    assert not outcome.failures, outcome.failures
    assert storage.node(f"{base}/d/keep.txt").read_bytes() == b"source"  # -n kept it: d stays
    assert storage.node(f"{target}/d/keep.txt").read_bytes() == b"already there"
    assert storage.node(f"{target}/d/sub/go.txt").read_bytes() == b"go"
    assert not _exists(storage.node(f"{base}/d/sub"))


@exercises("server_move")
def test_mv_inside_the_mount_never_opens_the_source(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the backend declares a server-side move, no byte of the source passes through us."""
    require(case, SERVER_MOVE)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/src.bin").write(PAYLOAD)
    backend = storage.node(f"{base}/src.bin").mount.backend

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the source was read: not a server-side move")

    for name in ("open_read", "read_range", "open_range", "read_small"):
        monkeypatch.setattr(backend, name, refuse)
    outcome = _move(case, f"{base}/src.bin", f"{base}/there/moved.bin")
    monkeypatch.undo()
    assert not outcome.failures, outcome.failures
    assert storage.node(f"{base}/there/moved.bin").read_bytes() == PAYLOAD
    assert not _exists(storage.node(f"{base}/src.bin"))


def test_mv_replaces_an_existing_destination_file(case: Case) -> None:
    require(case, WRITE)
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/a.txt").write(b"new")
    storage.node(f"{base}/b.txt").write(b"old contents")
    outcome = _move(case, f"{base}/a.txt", f"{base}/b.txt")
    assert not outcome.failures, outcome.failures
    assert storage.node(f"{base}/b.txt").read_bytes() == b"new"
    assert not _exists(storage.node(f"{base}/a.txt"))


# -- the real command (cases whose data outlives one process) ----------------------------------
def test_cli_mv_to_local_and_back(case: Case, tmp_path: Path) -> None:
    """Across mounts: the case to a local disk, and the local disk to the case."""
    require(case, PERSIST)
    require(case, WRITE)
    base = case.fresh()
    local = tmp_path / "local.bin"
    local.write_bytes(PAYLOAD)
    up = case.cli("mv", str(local), f"{base}/up.bin")
    assert up.returncode == 0, up.stderr
    assert not local.exists()
    down = case.cli("mv", f"{base}/up.bin", str(tmp_path / "down.bin"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "down.bin").read_bytes() == PAYLOAD
    assert case.cli("stat", f"{base}/up.bin").returncode == 4


def test_cli_mv_recursive_and_a_glob(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    base = case.sample()
    moved = case.cli("mv", "-r", join(base, "dir"), str(tmp_path / "out"))
    assert moved.returncode == 0, moved.stderr
    assert (tmp_path / "out/nested/deep.bin").read_bytes() == SAMPLE["dir/nested/deep.bin"]
    assert case.cli("stat", join(base, "dir")).returncode == 4
    globbed = case.cli("mv", join(base, "*.txt"), str(tmp_path / "txt") + "/")
    assert globbed.returncode == 0, globbed.stderr
    assert (tmp_path / "txt/hello.txt").read_bytes() == SAMPLE["hello.txt"]
    assert (tmp_path / "txt/empty.txt").read_bytes() == b""
    assert case.cli("stat", join(base, "hello.txt")).returncode == 4


def test_cli_mv_a_failed_copy_keeps_its_source(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    base = case.sample()
    (tmp_path / "file").write_bytes(b"a file, not a directory")
    result = case.cli("mv", join(base, "hello.txt"), str(tmp_path / "file/sub/hello.txt"))
    assert result.returncode != 0
    assert b"Traceback" not in result.stderr
    assert case.cli("cat", join(base, "hello.txt")).stdout == SAMPLE["hello.txt"]


def test_cli_mv_inside_the_mount_a_failed_move_keeps_its_source(case: Case) -> None:
    """The server-side path fails too (the target's parent is a file): the source stays."""
    require(case, PERSIST)
    require(case, DIRS)
    base = case.sample()
    result = case.cli("mv", join(base, "dir/a.txt"), join(base, "hello.txt/under/a.txt"))
    assert result.returncode != 0
    assert case.cli("cat", join(base, "dir/a.txt")).stdout == b"a\n"
    assert case.cli("cat", join(base, "hello.txt")).stdout == SAMPLE["hello.txt"]


def test_cli_mv_no_clobber_keeps_both(case: Case) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    base = case.sample()
    result = case.cli("mv", "-n", join(base, "hello.txt"), join(base, "dir/a.txt"))
    assert result.returncode == 0, result.stderr
    assert case.cli("cat", join(base, "hello.txt")).stdout == SAMPLE["hello.txt"]
    assert case.cli("cat", join(base, "dir/a.txt")).stdout == b"a\n"


def test_cli_mv_dry_run_changes_nothing(case: Case) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    base = case.sample()
    result = case.cli("mv", "--dry-run", "-r", join(base, "dir"), join(base, "elsewhere"))
    assert result.returncode == 0, result.stderr
    assert b"DRY-RUN: move" in result.stdout
    assert case.cli("cat", join(base, "dir/nested/deep.bin")).stdout == SAMPLE["dir/nested/deep.bin"]
    assert case.cli("stat", join(base, "elsewhere")).returncode == 4


@pytest.fixture
def readonly_twin(case: Case, tmp_path: Path) -> Iterator[Path]:
    """A profile with the case's mount and the same store again as `ro` (permissions: readonly)."""
    mounts = {case.mount: case.mount_options, **case.extra_mounts,
              "ro": {**case.mount_options, "permissions": "readonly"}, "out": {"type": "local", "path": str(tmp_path)}}
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({"mounts": mounts}, allow_unicode=True))
    profile.chmod(0o600)
    yield profile


def test_cli_mv_from_a_readonly_mount_exits_6_and_copies_nothing(case: Case, tmp_path: Path,
                                                                readonly_twin: Path) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    base = case.sample()
    inside = base.split(":", 1)[1]
    env = {**os.environ, **case.env, "GENROSTORE_PROFILE": str(readonly_twin)}
    result = subprocess.run([sys.executable, "-m", "genrostore", "mv", "-r", f"ro:{inside}/dir", "out:moved"],
                            capture_output=True, env=env, timeout=120)
    assert result.returncode == 6, result.stderr
    assert not (tmp_path / "moved").exists()
    assert case.cli("cat", join(base, "dir/a.txt")).stdout == b"a\n"


# A source of each backend that declares no_delete (a new one needs its address here).
NO_DELETE_SOURCES = {"base64": "data:text/plain;base64,aGkK"}


def _no_delete_types() -> list[str]:
    from genrostore.core.registry import BACKEND_MODULES, backend_class, spec_for

    return [name for name in BACKEND_MODULES if backend_class(spec_for(name)).features.no_delete]


@exercises("no_delete")
@pytest.mark.parametrize("kind", _no_delete_types())
def test_cli_mv_from_a_backend_that_cannot_remove_exits_6_and_copies_nothing(kind: str, tmp_path: Path) -> None:
    source = NO_DELETE_SOURCES[kind]
    for args in (["mv", source, str(tmp_path / "moved.txt")], ["mv", "-r", source, str(tmp_path / "tree")]):
        result = subprocess.run([sys.executable, "-m", "genrostore", *args], capture_output=True, timeout=120)
        assert result.returncode == 6, result.stderr
        assert b"cannot be removed" in result.stderr and b"use cp" in result.stderr
        assert list(tmp_path.iterdir()) == []
    copied = subprocess.run([sys.executable, "-m", "genrostore", "cp", source, str(tmp_path / "copied.txt")],
                            capture_output=True, timeout=120)
    assert copied.returncode == 0 and (tmp_path / "copied.txt").read_bytes() == b"hi\n", copied.stderr
