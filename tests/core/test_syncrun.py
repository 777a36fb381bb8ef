"""Running a sync plan on real trees: transfers first, and deletes only when nothing failed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import PartialFailure, Refused
from genrostore.core.syncplan import DeleteLimit, SyncOptions, prepare_sync
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.syncrun import SyncOutcome, run_sync


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _sync(tmp_path: Path, options: SyncOptions | None = None, jobs: int = 4) -> tuple[SyncOutcome, list[str]]:
    storage = Storage(mounts=[{"name": "m", "type": "local", "path": str(tmp_path / "m")}])
    warnings: list[str] = []
    plan, actions = prepare_sync(storage, storage.node("m:src"), storage.node(str(tmp_path / "dst")), options,
                                 mode="size,checksum")
    try:
        return run_sync(plan, actions, CopyOptions(jobs=jobs), warn=warnings.append), warnings
    finally:
        plan.close()


@pytest.mark.parametrize("jobs", [1, 4])
def test_a_sync_makes_dst_identical_and_a_rerun_changes_nothing(tmp_path: Path, jobs: int) -> None:
    _tree(tmp_path / "m" / "src", {"a": "1", "d/b": "22", "d/e/c": "333", "same": "s"})
    _tree(tmp_path / "dst", {"same": "s", "a": "9", "old": "o", "d/gone": "g"})
    outcome, warnings = _sync(tmp_path, jobs=jobs)
    assert warnings == []
    assert _files(tmp_path / "dst") == _files(tmp_path / "m" / "src")
    assert outcome.summary() == "copied 2, updated 1, deleted 2, unchanged 1, errors 0, 6 bytes"
    again, _ = _sync(tmp_path, jobs=jobs)
    assert again.summary() == "copied 0, updated 0, deleted 0, unchanged 4, errors 0, 0 bytes"


def test_a_failed_transfer_deletes_nothing_and_says_how_many_deletions_were_skipped(tmp_path: Path) -> None:
    """One source file cannot be read (a symlink out of the mount, refused by the jail): the
    other copies happen, no DST file is deleted, and the failure decides the exit code."""
    _tree(tmp_path / "m" / "src", {"a": "1"})
    _tree(tmp_path / "outside", {"secret": "x"})
    os.symlink(tmp_path / "outside" / "secret", tmp_path / "m" / "src" / "bad")
    _tree(tmp_path / "dst", {"old1": "o", "old2": "o"})
    outcome, warnings = _sync(tmp_path)
    assert _files(tmp_path / "dst") == {"a": "1", "old1": "o", "old2": "o"}
    assert warnings == ["genrostore: 2 deletions skipped because of errors"]
    with pytest.raises(PartialFailure) as raised:
        outcome.raise_for()
    assert raised.value.exit_code == 6 and "bad" in raised.value.failures[0][0]


def test_max_delete_exceeded_deletes_nothing_after_the_copies(tmp_path: Path) -> None:
    _tree(tmp_path / "m" / "src", {"new": "n"})
    _tree(tmp_path / "dst", {"x": "1", "y": "2", "z": "3"})
    with pytest.raises(Refused, match="would delete 3 files, more than --max-delete 2"):
        _sync(tmp_path, SyncOptions(max_delete=DeleteLimit.parse("2")))
    assert _files(tmp_path / "dst") == {"new": "n", "x": "1", "y": "2", "z": "3"}


def test_an_empty_source_deletes_nothing(tmp_path: Path) -> None:
    (tmp_path / "m" / "src").mkdir(parents=True)
    _tree(tmp_path / "dst", {"x": "1"})
    with pytest.raises(Refused):
        _sync(tmp_path)
    assert _files(tmp_path / "dst") == {"x": "1"}


# -- real servers --------------------------------------------------------------------------------
def test_local_to_s3_sync_converges_with_checksums(case_s3, tmp_path: Path) -> None:
    storage = case_s3.storage()
    _tree(tmp_path / "src", {"a": "1", "d/b": "22", "same-size": "abc"})
    dst = case_s3.fresh()
    for rel, text in {"same-size": "abd", "old": "o"}.items():
        storage.node(f"{dst}/{rel}").write(text)
    for expected in ("copied 2, updated 1, deleted 1, unchanged 0, errors 0, 6 bytes",
                     "copied 0, updated 0, deleted 0, unchanged 3, errors 0, 0 bytes"):
        plan, actions = prepare_sync(storage, storage.node(str(tmp_path / "src")), storage.node(dst),
                                     mode="size,checksum")
        outcome = run_sync(plan, actions, CopyOptions(jobs=4))
        assert outcome.summary() == expected
    assert storage.node(f"{dst}/same-size").read() == "abc"
    assert not storage.node(f"{dst}/old").exists()


def test_an_unreadable_sftp_directory_deletes_nothing(case_sftp, sftp_server, tmp_path: Path) -> None:
    storage = case_sftp.storage()
    src = case_sftp.fresh()
    for rel in ("a", "locked/f"):
        storage.node(f"{src}/{rel}").write("1")
    _tree(tmp_path / "dst", {"a": "1", "locked/f": "1", "extra": "e"})
    locked = sftp_server.root / src.split(":", 1)[1] / "locked"
    locked.chmod(0)
    warnings: list[str] = []
    try:
        plan, actions = prepare_sync(storage, storage.node(src), storage.node(str(tmp_path / "dst")), mode="size")
        outcome = run_sync(plan, actions, warn=warnings.append)
    finally:
        locked.chmod(0o755)
    assert _files(tmp_path / "dst") == {"a": "1", "extra": "e", "locked/f": "1"}
    assert warnings == ["genrostore: 1 deletion skipped because of errors"]
    assert len(outcome.failures) == 1  # nothing failed to transfer: the listing error alone stops deletes
    with pytest.raises(PartialFailure) as raised:
        outcome.raise_for()
    assert raised.value.exit_code == 6


def test_a_dry_run_changes_nothing_prints_each_action_and_applies_the_gates(tmp_path: Path, capsys) -> None:
    from genrostore.core.settings import Settings

    _tree(tmp_path / "src", {"a": "1"})
    _tree(tmp_path / "dst", {"x": "1", "y": "2"})
    storage = Storage(settings=Settings(dry_run=True))
    plan, actions = prepare_sync(storage, storage.node(str(tmp_path / "src")), storage.node(str(tmp_path / "dst")),
                                 SyncOptions(max_delete=DeleteLimit.parse("5")), mode="size")
    outcome = run_sync(plan, actions)
    assert outcome.summary() == "copied 1, updated 0, deleted 2, unchanged 0, errors 0, 1 bytes"
    out = capsys.readouterr().out.splitlines()
    assert out == [f"DRY-RUN: copy {tmp_path}/src/a -> {tmp_path}/dst/a", f"DRY-RUN: remove {tmp_path}/dst/x",
                   f"DRY-RUN: remove {tmp_path}/dst/y"]
    assert _files(tmp_path / "dst") == {"x": "1", "y": "2"}
    plan, actions = prepare_sync(storage, storage.node(str(tmp_path / "src")), storage.node(str(tmp_path / "dst")),
                                 SyncOptions(max_delete=DeleteLimit.parse("1")), mode="size")
    with pytest.raises(Refused):
        run_sync(plan, actions)


class _NoLogs:
    """A scope as `core.filters.Filter` gives one: `--exclude '*.log' --exclude 'cache/'`."""

    def include_dir(self, path: str) -> bool:
        return path.strip("/").split("/")[-1] != "cache"

    def include_file(self, path: str, size: int | None = None, mtime: object = None) -> bool:
        return not path.endswith(".log") and "cache/" not in f"/{path}"


@pytest.mark.parametrize("delete_excluded", [False, True])
def test_excluded_dst_files_are_kept_unless_delete_excluded(tmp_path: Path, delete_excluded: bool) -> None:
    _tree(tmp_path / "src", {"a": "1", "x.log": "L", "cache/c": "C"})
    _tree(tmp_path / "dst", {"old.log": "o", "cache/keep": "k", "gone": "g"})
    storage = Storage()
    plan, actions = prepare_sync(storage, storage.node(str(tmp_path / "src")), storage.node(str(tmp_path / "dst")),
                                 mode="size", scope=_NoLogs(), delete_excluded=delete_excluded)
    run_sync(plan, actions)
    expected = {"a": "1"} if delete_excluded else {"a": "1", "old.log": "o", "cache/keep": "k"}
    assert _files(tmp_path / "dst") == expected


def test_a_source_empty_in_scope_is_refused(tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"only.log": "L"})
    _tree(tmp_path / "dst", {"a": "1"})
    storage = Storage()
    plan, actions = prepare_sync(storage, storage.node(str(tmp_path / "src")), storage.node(str(tmp_path / "dst")),
                                 mode="size", scope=_NoLogs())
    with pytest.raises(Refused, match="has no files"):
        run_sync(plan, actions)
    assert _files(tmp_path / "dst") == {"a": "1"}


def test_an_object_store_listing_prunes_excluded_directories(case_s3) -> None:
    from genrostore.core.march import walk_sorted

    storage = case_s3.storage()
    base = case_s3.fresh()
    for rel in ("a", "cache/x", "cache/y/z", "d/cache/q", "d/k.log", "d/ok", "e"):
        storage.node(f"{base}/{rel}").write("1")
    node = storage.node(base)
    walked = [w.relative for w in walk_sorted(node.mount, node.path, scope=_NoLogs())]
    assert walked == ["a", "d/ok", "e"]
