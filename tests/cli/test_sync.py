"""`genrostore sync SRC DST`: one way, converging, and never deleting what was not proven extra."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from tests.cases._base import Case
from tests.clirun import Run


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _lines(stdout: bytes) -> list[str]:
    return stdout.decode().splitlines()


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_sync_makes_dst_identical_then_check_agrees_and_a_rerun_is_a_no_op(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1", "d/b": "22", "same": "s"})
    _tree(tmp_path / "dst", {"same": "s", "old": "o"})
    done = run("sync", "--checksum", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "dst") == _files(tmp_path / "src")
    assert b"copied 2, updated 0, deleted 1, unchanged 1, errors 0" in done.stderr
    assert run("check", "--checksum", "src", "dst").returncode == 0
    again = run("sync", "--checksum", "src", "dst")
    assert b"copied 0, updated 0, deleted 0, unchanged 3" in again.stderr


def test_dry_run_prints_every_action_changes_nothing_and_keeps_the_gates(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    _tree(tmp_path / "dst", {"x": "1", "y": "2"})
    done = run("sync", "--dry-run", "src", "dst")
    assert done.returncode == 0
    assert done.stdout.decode().count("DRY-RUN:") == 3
    assert _files(tmp_path / "dst") == {"x": "1", "y": "2"}
    assert run("sync", "--dry-run", "--max-delete", "1", "src", "dst").returncode == 7


def test_dry_run_lines_of_parallel_actions_never_interleave(run: Run, tmp_path: Path) -> None:
    """The transfer threads report at once: each DRY-RUN line must reach stdout whole (`print`
    once wrote a line and its newline apart, so two deletes could share a line)."""
    _tree(tmp_path / "src", {"keep": "k"})
    _tree(tmp_path / "dst", {f"d{i % 7}/old{i:03}": "x" for i in range(300)})
    done = run("sync", "--dry-run", "--max-delete", "100%", "src", "dst")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 301 and all(line.count("DRY-RUN:") == 1 for line in lines), lines


def test_empty_src_is_refused_exit_7_and_missing_src_exit_3(run: Run, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    _tree(tmp_path / "dst", {"x": "1"})
    done = run("sync", "src", "dst")
    assert done.returncode == 7 and b"has no files" in done.stderr
    assert _files(tmp_path / "dst") == {"x": "1"}
    assert run("sync", "nowhere", "dst").returncode == 3
    assert run("sync", "--allow-empty-src", "src", "dst").returncode == 0
    assert _files(tmp_path / "dst") == {}


def test_max_delete_exceeded_deletes_nothing_exit_7_naming_the_numbers(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"k": "k"})
    _tree(tmp_path / "dst", {"k": "k", "x": "1", "y": "2", "z": "3"})
    done = run("sync", "--max-delete", "50%", "src", "dst")
    assert done.returncode == 7
    assert b"would delete 3 files, more than --max-delete 50% (2 of 4 files in DST)" in done.stderr
    assert len(_files(tmp_path / "dst")) == 4
    done = run("sync", "--max-delete-size", "2", "src", "dst")
    assert done.returncode == 7 and b"3 bytes" in done.stderr


def test_overlapping_trees_are_refused_exit_2(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    assert run("sync", "src", "src/inner").returncode == 2


def test_no_delete_update_and_ignore_existing(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "11", "b": "2"})
    _tree(tmp_path / "dst", {"a": "1", "old": "o"})
    assert run("sync", "--no-delete", "--ignore-existing", "src", "dst").returncode == 0
    assert _files(tmp_path / "dst") == {"a": "1", "b": "2", "old": "o"}


def test_local_to_s3_and_back_converges(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1", "d/b": "22"})
    bucket = case_s3.fresh()
    assert case_s3.cli("sync", "--checksum", str(tmp_path / "src"), bucket).returncode == 0
    assert case_s3.cli("check", "--checksum", str(tmp_path / "src"), bucket).returncode == 0
    back = tmp_path / "back"
    assert case_s3.cli("sync", bucket, str(back)).returncode == 0
    assert _files(back) == _files(tmp_path / "src")


def test_objects_stored_without_an_mtime_are_md5_checked_and_only_restamped(case_s3: Case, tmp_path: Path) -> None:
    """A bucket filled by a tool that stores no mtime (aws s3 cp, s5cmd): equal bytes are not sent again."""
    _tree(tmp_path / "src", {"same": "bytes", "other": "xxxxx"})
    bucket = case_s3.fresh()
    backend = case_s3.storage().mount(case_s3.mount).backend
    for name, data in (("same", b"bytes"), ("other", b"yyyyy")):  # s3fs's plain PUT: no X-Amz-Meta-Mtime
        backend.fs.pipe_file(backend.full(f"{bucket.split(':', 1)[1]}/{name}"), data)  # type: ignore[attr-defined]
    done = case_s3.cli("sync", "--json", str(tmp_path / "src"), bucket)
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    assert sorted((r["action"], r["path"]) for r in records[:-1]) == [("set-metadata", "same"), ("update", "other")]
    assert records[-1]["summary"]["bytes"] == 5  # type: ignore[index]
    listed = case_s3.cli("ls", "-l", "--json", bucket)
    mtimes = {r["name"]: r["mtime"] for r in json.loads(listed.stdout)}
    local = (tmp_path / "src" / "same").stat().st_mtime
    assert abs(datetime.fromisoformat(mtimes["same"]).timestamp() - local) <= 1
    again = case_s3.cli("sync", str(tmp_path / "src"), bucket)
    assert b"copied 0, updated 0, deleted 0, unchanged 2, errors 0" in again.stderr, again.stderr


def test_a_touched_local_file_uploaded_before_only_gets_its_mtime(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"same": "s", "other": "a"})
    bucket = case_s3.fresh()
    assert case_s3.cli("sync", str(tmp_path / "src"), bucket).returncode == 0
    (tmp_path / "src" / "other").write_text("b")
    for name in ("same", "other"):
        os.utime(tmp_path / "src" / name, (1_000_000_000, 1_000_000_000))
    assert _lines(case_s3.cli("check", str(tmp_path / "src"), bucket).stdout) == ["* other", "= same"]
    done = case_s3.cli("sync", "--json", str(tmp_path / "src"), bucket)
    assert done.returncode == 0, done.stderr
    assert sorted((r["action"], r["path"]) for r in _records(done.stdout)[:-1]) == \
        [("set-metadata", "same"), ("update", "other")]
    assert case_s3.cli("check", str(tmp_path / "src"), bucket).returncode == 0
    assert b"unchanged 2" in case_s3.cli("sync", str(tmp_path / "src"), bucket).stderr


def test_two_local_trees_are_not_hashed_a_touched_file_is_copied(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"same": "s"})
    _tree(tmp_path / "dst", {"same": "s"})
    os.utime(tmp_path / "dst" / "same", (1_000_000_000, 1_000_000_000))
    done = run("sync", "--json", "src", "dst")
    assert [(r["action"], r["path"]) for r in _records(done.stdout)[:-1]] == [("update", "same")]


def test_excluded_dst_files_survive_unless_delete_excluded(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    _tree(tmp_path / "dst", {"keep.log": "k", "gone": "g"})
    assert run("sync", "--exclude", "*.log", "src", "dst").returncode == 0
    assert _files(tmp_path / "dst") == {"a": "1", "keep.log": "k"}
    assert run("sync", "--exclude", "*.log", "--delete-excluded", "src", "dst").returncode == 0
    assert _files(tmp_path / "dst") == {"a": "1"}


def test_ctrl_c_mid_sync_deletes_nothing_leaves_no_partial_file_and_a_rerun_converges(run: Run, tmp_path: Path) -> None:
    """A source that never answers (a FIFO nobody writes) holds the sync mid-transfer; Ctrl-C
    then exits 130 with DST's extra file still there and no temp file; once the source is fixed
    the rerun converges."""
    import os
    import signal
    import subprocess
    import sys
    import time

    _tree(tmp_path / "src", {"a": "1", "b": "2"})
    os.mkfifo(tmp_path / "src" / "stuck")
    _tree(tmp_path / "dst", {"old": "o"})
    proc = subprocess.Popen([sys.executable, "-m", "genrostore", "sync", "src", "dst"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not (tmp_path / "dst" / "b").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert b"nothing was deleted" in stderr
    assert "old" in os.listdir(tmp_path / "dst")
    assert not [name for name in os.listdir(tmp_path / "dst") if "genrostore-tmp" in name or name == "stuck"]
    os.unlink(tmp_path / "src" / "stuck")
    done = run("sync", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert b"copied 0, updated 0, deleted 1, unchanged 2" in done.stderr
    assert _files(tmp_path / "dst") == {"a": "1", "b": "2"}


def _records(stdout: bytes) -> list[dict[str, object]]:
    import json

    return [json.loads(line) for line in stdout.decode().splitlines()]


def test_json_one_record_per_action_and_a_summary_also_in_a_dry_run(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "11", "d/b": "222", "same": "s"})
    _tree(tmp_path / "dst", {"a": "1", "same": "s", "old": "oo"})
    dry = run("sync", "--json", "--dry-run", "--checksum", "src", "dst")
    assert dry.returncode == 0, dry.stderr
    records = _records(dry.stdout)  # every line is JSON: no DRY-RUN: text mixed in
    assert {(r["action"], r["path"], r["size"]) for r in records[:-1]} == {
        ("update", "a", 2), ("copy", "d/b", 3), ("delete", "old", 2)}
    assert all(r["dry_run"] is True for r in records[:-1])
    assert records[-1] == {"summary": {"copied": 1, "updated": 1, "deleted": 1, "unchanged": 1, "errors": 0, "bytes": 5}}
    assert _files(tmp_path / "dst") == {"a": "1", "same": "s", "old": "oo"}
    done = run("sync", "--json", "--checksum", "src", "dst")
    assert done.returncode == 0
    assert _records(done.stdout)[-1] == records[-1]
    assert b"copied 1, updated 1, deleted 1, unchanged 1, errors 0, 5 bytes" in done.stderr
    assert b"copied" not in run("-q", "sync", "--json", "src", "dst").stderr


def _escaping(tmp_path: Path, name: str, files: dict[str, str]) -> dict[str, str]:
    """SRC `m:src` on a mount rooted at tmp_path/m, whose file `name` is a symlink out of the
    mount: its copy fails (the jail refuses it, even as root). Returns the env naming the profile.
    (A directory in DST where SRC has a file no longer fails: sync replaces it.)"""
    import os

    _tree(tmp_path / "m" / "src", files)
    _tree(tmp_path / "outside", {"secret": "s"})
    os.symlink(tmp_path / "outside" / "secret", tmp_path / "m" / "src" / name)
    profile = tmp_path / "mounts.yaml"
    profile.write_text(f"mounts:\n  m:\n    type: local\n    path: {tmp_path / 'm'}\n")
    profile.chmod(0o600)
    return {"GENROSTORE_PROFILE": str(profile)}


def test_json_stays_valid_lines_when_a_transfer_fails_and_deletes_are_skipped(run: Run, tmp_path: Path) -> None:
    """SRC's file `clash` cannot be read (a symlink out of its mount): that copy fails (even as root)."""
    env = _escaping(tmp_path, "clash", {"ok": "1"})
    _tree(tmp_path / "dst", {"old": "o"})
    done = run("sync", "--json", "m:src", "dst", env=env)
    assert done.returncode != 0
    records = _records(done.stdout)
    failed = [r for r in records if "error" in r]
    assert [r["path"] for r in failed] == ["clash"]
    summary = records[-1]["summary"]
    assert isinstance(summary, dict) and summary["errors"] == 1 and summary["deleted"] == 0
    assert b"skipped because of errors" in done.stderr
    assert (tmp_path / "dst" / "old").exists()


def test_json_against_s3(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1", "d/b": "22"})
    bucket = case_s3.fresh()
    done = case_s3.cli("sync", "--json", str(tmp_path / "src"), bucket)
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    assert sorted(r["path"] for r in records[:-1]) == ["a", "d/b"]  # type: ignore[type-var]
    assert records[-1]["summary"]["bytes"] == 3  # type: ignore[index]


def test_delete_during_deletes_as_the_merge_goes_and_keeps_the_up_front_gates(run: Run, tmp_path: Path) -> None:
    """`b_old` sorts before `bz`, whose copy fails (a symlink out of SRC's mount): --delete-during has
    already deleted it (documented: a later error cannot undo a delete); --delete-after keeps it."""
    env = _escaping(tmp_path, "bz", {"a": "1"})
    _tree(tmp_path / "dst", {"b_old": "o", "c/inner": "i"})
    after = run("sync", "--delete-after", "m:src", "dst", env=env)
    assert after.returncode != 0 and (tmp_path / "dst" / "b_old").exists()
    during = run("sync", "--delete-during", "m:src", "dst", env=env)
    assert during.returncode != 0
    assert not (tmp_path / "dst" / "b_old").exists()
    assert b"deleted 1" in during.stderr
    (tmp_path / "empty").mkdir()
    refused = run("sync", "--delete-during", "empty", "dst")
    assert refused.returncode == 7 and (tmp_path / "dst" / "c" / "inner").exists()
    assert run("sync", "--delete-during", "--max-delete", "5", "src", "dst").returncode == 2
    assert run("sync", "--delete-during", "--delete-after", "src", "dst").returncode == 2


def test_progress_announces_the_totals(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1", "d/b": "22"})
    done = run("sync", "--progress", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert b"done: 2/2 files" in done.stderr


def test_delete_during_and_progress_against_s3(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1", "d/b": "22"})
    bucket = case_s3.fresh()
    assert case_s3.cli("sync", str(tmp_path / "src"), bucket).returncode == 0
    (tmp_path / "src" / "a").unlink()
    _tree(tmp_path / "src", {"z": "333"})
    done = case_s3.cli("sync", "--delete-during", "--progress", str(tmp_path / "src"), bucket)
    assert done.returncode == 0, done.stderr
    assert b"deleted 1" in done.stderr and b"done: 1/1 files" in done.stderr
    assert case_s3.cli("check", str(tmp_path / "src"), bucket).returncode == 0


def test_directories_emptied_by_the_deletes_are_removed_never_dst_itself(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"keep/a": "1"})
    _tree(tmp_path / "dst", {"keep/a": "1", "keep/gone": "g", "old/deep/x": "x", "old/y": "y"})
    (tmp_path / "dst" / "busy").mkdir()
    (tmp_path / "dst" / "busy" / ".hidden-by-filter").write_text("h")
    done = run("sync", "--exclude", ".hidden-by-filter", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "dst").iterdir()) == ["busy", "keep"]
    assert (tmp_path / "dst" / "busy" / ".hidden-by-filter").exists()
    (tmp_path / "empty").mkdir()
    assert run("sync", "--allow-empty-src", "empty", "dst/keep").returncode == 0
    assert (tmp_path / "dst" / "keep").is_dir() and not list((tmp_path / "dst" / "keep").iterdir())


def test_backup_dir_keeps_overwritten_and_deleted_files_with_their_paths(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "new", "same": "s"})
    _tree(tmp_path / "dst", {"a": "old", "same": "s", "d/gone": "g"})
    dry = run("sync", "--checksum", "--dry-run", "--backup-dir", "bk", "src", "dst")
    assert dry.returncode == 0 and not (tmp_path / "bk").exists()
    done = run("sync", "--checksum", "--backup-dir", "bk", "--suffix", ".1", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "dst") == {"a": "new", "same": "s"}
    assert _files(tmp_path / "bk") == {"a.1": "old", "d/gone.1": "g"}
    assert b"updated 1, deleted 1" in done.stderr


def test_backup_dir_overlapping_dst_or_src_is_refused_exit_2_unless_excluded(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    _tree(tmp_path / "dst", {"a": "0", "x": "x"})
    assert run("sync", "--backup-dir", "dst/bk", "src", "dst").returncode == 2
    assert run("sync", "--backup-dir", "src/bk", "src", "dst").returncode == 2
    assert run("sync", "--backup-dir", ".", "src", "dst").returncode == 2
    assert _files(tmp_path / "dst") == {"a": "0", "x": "x"}
    assert run("sync", "--suffix", ".1", "src", "dst").returncode == 2
    done = run("sync", "--checksum", "--exclude", "/bk/", "--backup-dir", "dst/bk", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert _files(tmp_path / "dst") == {"a": "1", "bk/a": "0", "bk/x": "x"}


def test_backup_dir_within_an_s3_bucket(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1", "d/b": "22"})
    bucket = case_s3.fresh()
    assert case_s3.cli("sync", str(tmp_path / "src"), f"{bucket}/live").returncode == 0
    _tree(tmp_path / "src", {"a": "111"})
    (tmp_path / "src" / "d" / "b").unlink()
    done = case_s3.cli("sync", "--checksum", "--backup-dir", f"{bucket}/old", str(tmp_path / "src"), f"{bucket}/live")
    assert done.returncode == 0, done.stderr
    assert case_s3.cli("cat", f"{bucket}/old/a").stdout == b"1"
    assert case_s3.cli("cat", f"{bucket}/old/d/b").stdout == b"22"
    assert case_s3.cli("cat", f"{bucket}/live/a").stdout == b"111"
    assert b"no such file" in case_s3.cli("cat", f"{bucket}/live/d/b").stderr


def test_empty_src_directories_are_created_on_dst(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    (tmp_path / "src" / "e").mkdir()
    (tmp_path / "src" / "f" / "g").mkdir(parents=True)
    dry = run("sync", "--dry-run", "src", "dst")
    assert dry.returncode == 0 and not (tmp_path / "dst").exists()
    assert b"mkdir" in dry.stdout
    done = run("sync", "src", "dst")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dst" / "e").is_dir() and (tmp_path / "dst" / "f" / "g").is_dir()
    assert run("check", "src", "dst").returncode == 0
    again = run("sync", "src", "dst")
    assert again.returncode == 0 and b"copied 0, updated 0, deleted 0, unchanged 1" in again.stderr


def test_empty_src_directories_against_s3_do_not_fail(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", {"a": "1"})
    (tmp_path / "src" / "e").mkdir()
    bucket = case_s3.fresh()
    done = case_s3.cli("sync", str(tmp_path / "src"), bucket)
    assert done.returncode == 0, done.stderr
    assert case_s3.cli("check", str(tmp_path / "src"), bucket).returncode == 0


LARGE = 3000  # files on each side: 6,000 entries, past `localmarch.FORK_AFTER` (the walk forks its workers)


def _large_pair(tmp_path: Path, changed_every: int = 10) -> int:
    """SRC and DST with LARGE equal files, then every `changed_every`-th of SRC rewritten;
    returns how many were."""
    import os

    for side in ("src", "dst"):
        for index in range(LARGE):
            path = tmp_path / side / f"d{index % 6}" / f"f{index:04d}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"new %d" % index if side == "src" and index % changed_every == 0 else b"%d" % index)
            os.utime(path, ns=(10**18, 10**18))
    return len(range(0, LARGE, changed_every))


def test_a_large_local_sync_walked_by_workers_prints_each_record_once(run: Run, tmp_path: Path) -> None:
    """The workers are forked while the copies print their --json records: nothing the parent
    had buffered is written again by a worker, and the summary counts every unchanged file."""
    changed = _large_pair(tmp_path)
    done = run("sync", "--json", "src", "dst")
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    updates = [record["path"] for record in records if record.get("action") == "update"]
    assert len(updates) == len(set(updates)) == changed
    assert records[-1] == {"summary": {"copied": 0, "updated": changed, "deleted": 0, "unchanged": LARGE - changed,
                                       "errors": 0, "bytes": sum(len(b"new %d" % i) for i in range(0, LARGE, 10))}}
    assert _files(tmp_path / "dst") == _files(tmp_path / "src")


def test_ctrl_c_while_workers_walk_exits_130_and_leaves_no_worker_behind(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    _large_pair(tmp_path)
    os.mkfifo(tmp_path / "src" / "d5" / "stuck")  # a copy that never finishes holds the sync
    proc = subprocess.Popen([sys.executable, "-m", "genrostore", "sync", "src", "dst"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        workers |= {int(pid) for pid in children.read_text().split()} if children.exists() else set()
        if workers:
            break
        time.sleep(0.02)
    time.sleep(1.0)  # mid-walk or held by the FIFO: either way Ctrl-C must end it cleanly
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert workers, "the walk never forked its workers"
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    assert not [name for name in os.listdir(tmp_path / "dst" / "d5") if "genrostore-tmp" in name or name == "stuck"]
