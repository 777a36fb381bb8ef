"""sync where SRC has a file and DST a directory of the same name (or the reverse), and SRC's
empty directories: one sync converges (the conflicting DST side is removed through the gated
deletes, then SRC's side copied), a second has nothing to do, and check reports identical.
On an object store a "directory" is a key prefix, so the two can stand side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genrostore.core.check import check
from genrostore.core.pipeline.options import CopyOptions
from genrostore.core.syncplan import SyncOptions, prepare_sync
from genrostore.core.syncrun import Backup, SyncOutcome, run_sync
from tests.cases._base import Case
from tests.clirun import Run


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _sync(case: Case, src: str, dst: str, options: SyncOptions | None = None,
          backup: str | None = None) -> tuple[SyncOutcome, list[str]]:
    storage = case.storage()
    warnings: list[str] = []
    plan, actions = prepare_sync(storage, storage.node(src), storage.node(dst), options, mode="size")
    try:
        return run_sync(plan, actions, CopyOptions(jobs=4), warn=warnings.append,
                        backup=Backup(storage.node(backup), plan.dst.path) if backup else None), warnings
    finally:
        plan.close()


def _check(case: Case, src: str, dst: str) -> list[tuple[str, str]]:
    storage = case.storage()
    marks: list[tuple[str, str]] = []
    result = check(storage, storage.node(src), storage.node(dst), lambda mark, path: marks.append((mark, path)),
                   mode="size")
    assert not result.errors and not result.differences and not result.missing_on_dst and not result.missing_on_src, marks
    return marks


def _read(case: Case, base: str, names: list[str]) -> dict[str, str]:
    storage = case.storage()
    return {name: storage.node(f"{base}/{name}").read() for name in names}


@pytest.fixture(params=["case_local", "case_memory", "case_s3"])
def dst_case(request: pytest.FixtureRequest) -> Case:
    return request.getfixturevalue(request.param)


def test_a_file_in_src_replaces_a_directory_in_dst(dst_case: Case, tmp_path: Path) -> None:
    case = dst_case
    src = _tree(tmp_path / "src", {"x": "file!", "x.txt": "t", "keep": "k"})
    dst = case.fresh()
    storage = case.storage()
    for name, text in {"x/a": "1", "x/sub/b": "22", "keep": "k"}.items():
        storage.node(f"{dst}/{name}").write(text)
    outcome, warnings = _sync(case, str(src), dst)
    assert warnings == [] and not outcome.failures, outcome.failures
    assert outcome.deleted == 2 and outcome.copied + outcome.updated == 2
    assert _read(case, dst, ["x", "x.txt", "keep"]) == {"x": "file!", "x.txt": "t", "keep": "k"}
    assert not storage.node(f"{dst}/x/a").exists()
    again, _ = _sync(case, str(src), dst)
    assert again.summary() == "copied 0, updated 0, deleted 0, unchanged 3, errors 0, 0 bytes"
    assert _check(case, str(src), dst) == [("=", "keep"), ("=", "x"), ("=", "x.txt")]


def test_a_directory_in_src_replaces_a_file_in_dst(dst_case: Case, tmp_path: Path) -> None:
    case = dst_case
    src = _tree(tmp_path / "src", {"x/in": "inside", "x/deep/f": "ff", "x-1": "s", "z": "z"})
    dst = case.fresh()
    storage = case.storage()
    for name, text in {"x": "was a file", "x-1": "s", "z": "z"}.items():
        storage.node(f"{dst}/{name}").write(text)
    outcome, warnings = _sync(case, str(src), dst)
    assert warnings == [] and not outcome.failures, outcome.failures
    assert outcome.deleted == 1 and outcome.copied == 2
    assert _read(case, dst, ["x/in", "x/deep/f"]) == {"x/in": "inside", "x/deep/f": "ff"}
    again, _ = _sync(case, str(src), dst)
    assert again.summary() == "copied 0, updated 0, deleted 0, unchanged 4, errors 0, 0 bytes"
    assert [path for _, path in _check(case, str(src), dst)] == ["x-1", "x/deep/f", "x/in", "z"]


def test_after_an_error_the_conflicting_dst_side_stays(tmp_path: Path) -> None:
    """Gate (a): a SRC file that cannot be read (a symlink out of the mount, refused by the jail)
    locks out every delete, and so the replacement."""
    import os

    from genrostore import Storage

    src = _tree(tmp_path / "m" / "src", {"x": "file!"})
    _tree(tmp_path / "outside", {"secret": "s"})
    os.symlink(tmp_path / "outside" / "secret", src / "bad")
    dst = _tree(tmp_path / "dst", {"x/a": "1"})
    storage = Storage(mounts=[{"name": "m", "type": "local", "path": str(tmp_path / "m")}])
    warnings: list[str] = []
    plan, actions = prepare_sync(storage, storage.node("m:src"), storage.node(str(dst)), mode="size")
    try:
        outcome = run_sync(plan, actions, CopyOptions(jobs=4), warn=warnings.append)
    finally:
        plan.close()
    assert (dst / "x" / "a").read_text() == "1"
    assert warnings == ["genrostore: 1 deletion skipped because of errors",
                        "genrostore: 1 file/directory conflict left in place because of errors"]
    assert len(outcome.failures) == 1


def test_no_delete_reports_the_conflict_and_keeps_dst(case_local: Case, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"x": "file!"})
    dst = _tree(tmp_path / "dst", {"x/a": "1"})
    outcome, _ = _sync(case_local, str(src), str(dst), SyncOptions(delete=False))
    assert (dst / "x" / "a").read_text() == "1"
    assert len(outcome.failures) == 1 and "is a directory on DST" in str(outcome.failures[0][1])


def test_the_replaced_side_goes_to_the_backup_dir(case_local: Case, tmp_path: Path) -> None:
    src = _tree(tmp_path / "src", {"x": "file!", "y/in": "i"})
    dst = _tree(tmp_path / "dst", {"x/a": "1", "y": "was y"})
    outcome, _ = _sync(case_local, str(src), str(dst), backup=str(tmp_path / "bak"))
    assert not outcome.failures
    assert (dst / "x").read_text() == "file!" and (dst / "y" / "in").read_text() == "i"
    assert (tmp_path / "bak" / "x" / "a").read_text() == "1" and (tmp_path / "bak" / "y").read_text() == "was y"


def test_dry_run_of_a_conflict_prints_each_step_and_changes_nothing(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"x": "file!", "y/in": "i"})
    _tree(tmp_path / "dst", {"x/a": "1", "y": "was y"})
    done = run("sync", "--dry-run", "src", "dst")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert [line.split(" ")[1] for line in lines] == ["remove", "remove", "remove", "copy", "copy"], lines
    assert lines[2].endswith("/dst/x/")  # the emptied directory, after the deletes
    assert (tmp_path / "dst" / "x" / "a").read_text() == "1" and (tmp_path / "dst" / "y").read_text() == "was y"


# -- empty directories -----------------------------------------------------------------------------
def test_an_empty_src_directory_is_a_mkdir_record_a_dry_run_line_and_counted_once(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    (tmp_path / "src" / "empty" / "deeper").mkdir(parents=True)
    dry = run("sync", "--dry-run", "src", "dst")
    assert dry.returncode == 0 and b"DRY-RUN: mkdir " in dry.stdout and b"1 dir made" in dry.stderr
    done = run("sync", "--json", "src", "dst")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert {"action": "mkdir", "path": "empty/deeper", "size": None, "reason": "empty directory in source"} in records
    assert records[-1]["summary"]["dirs"] == 1
    assert b"copied 1, updated 0, deleted 0, unchanged 0, errors 0, 1 bytes, 1 dir made" in done.stderr
    assert (tmp_path / "dst" / "empty" / "deeper").is_dir()
    again = run("sync", "--json", "src", "dst")  # there now: nothing to do, no record
    assert [json.loads(line) for line in again.stdout.decode().splitlines()] == [
        {"summary": {"copied": 0, "updated": 0, "deleted": 0, "unchanged": 1, "errors": 0, "bytes": 0}}]
    assert b"DRY-RUN" not in run("sync", "--dry-run", "src", "dst").stdout


def test_an_empty_src_directory_where_dst_has_files_is_kept_when_they_are_deleted(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    (tmp_path / "src" / "d").mkdir()
    _tree(tmp_path / "dst", {"d/old": "o"})
    done = run("sync", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dst" / "d").is_dir() and not (tmp_path / "dst" / "d" / "old").exists()
    assert b"copied 0, updated 0, deleted 0, unchanged 1, errors 0, 0 bytes\n" in run("sync", "src", "dst").stderr
