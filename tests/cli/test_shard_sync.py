"""`--shard K/N` on sync and check: N runs, one per shard, together do what one unsharded run does.

Copies, updates and deletes all fall in exactly one shard (the hash of the path relative to the
roots), so the union of the shards' effects is the unsharded run's, delete for delete; the
deletes and the safety gates of each run look only at its shard.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.cases._base import Case
from tests.clirun import Run

SOURCE = {**{f"d{i % 4}/f{i:02}": f"src {i}" for i in range(30)}, "same": "s"}
DESTINATION = {**{f"d{i % 4}/f{i:02}": f"stale {i}" for i in range(0, 30, 3)}, "same": "s",
               **{f"gone/x{i}": "x" for i in range(12)}}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def _counts(stderr: bytes) -> list[int]:
    match = re.search(rb"copied (\d+), updated (\d+), deleted (\d+), unchanged (\d+), errors (\d+)", stderr)
    assert match is not None, stderr
    return [int(n) for n in match.groups()]


def test_sync_shards_together_equal_the_unsharded_sync_copies_and_deletes(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", SOURCE)
    _tree(tmp_path / "whole", DESTINATION)
    shutil.copytree(tmp_path / "whole", tmp_path / "sharded")
    whole = run("sync", "src", "whole")
    assert whole.returncode == 0, whole.stderr
    totals = [0] * 5
    for k in range(3):
        done = run("sync", "--shard", f"{k}/3", "src", "sharded")
        assert done.returncode == 0, done.stderr
        counts = _counts(done.stderr)
        assert counts != _counts(whole.stderr)  # each shard did only its part
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    assert _files(tmp_path / "sharded") == _files(tmp_path / "whole") == _files(tmp_path / "src")
    assert totals == _counts(whole.stderr)
    assert totals[0] == 20 and totals[2] == 12 and totals[1] + totals[3] == 11 and totals[4] == 0


def test_check_shards_together_report_what_the_unsharded_check_reports(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "src", SOURCE)
    _tree(tmp_path / "dst", DESTINATION)
    whole = run("check", "src", "dst")
    assert whole.returncode == 1
    lines: list[str] = []
    for k in range(3):
        part = run("check", "--shard", f"{k}/3", "src", "dst").stdout.decode().splitlines()
        assert part and len(part) < len(whole.stdout.splitlines())
        lines += part
    assert sorted(lines) == sorted(whole.stdout.decode().splitlines())


def test_sync_gates_apply_within_the_shard(run: Run, tmp_path: Path) -> None:
    """--max-delete counts the shard's deletes against the shard's files, and a shard whose
    source part is empty while its destination part is not is refused (exit 7), deleting nothing."""
    _tree(tmp_path / "src", {"keep": "k"})
    _tree(tmp_path / "dst", {f"x{i}": "x" for i in range(9)})
    shard = next(k for k in range(3) if "keep" not in run("ls", "-R", "--shard", f"{k}/3", "src").stdout.decode())
    refused = run("sync", "--shard", f"{shard}/3", "src", "dst")
    assert refused.returncode == 7 and b"has no files" in refused.stderr
    assert len(_files(tmp_path / "dst")) == 9
    assert run("sync", "--shard", f"{shard}/3", "--allow-empty-src", "src", "dst").returncode == 0
    left = _files(tmp_path / "dst")
    in_shard = run("ls", "-R", "--shard", f"{shard}/3", "dst").stdout.decode().split()
    assert not in_shard and 0 < len(left) < 9  # only the shard's files went


def test_s3_sync_shards_together_equal_the_unsharded_sync(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "src", SOURCE)
    _tree(tmp_path / "seed", DESTINATION)
    whole, sharded = case_s3.fresh(), case_s3.fresh()
    for bucket in (whole, sharded):
        assert case_s3.cli("cp", "-r", str(tmp_path / "seed") + "/", bucket + "/").returncode == 0
    done = case_s3.cli("sync", str(tmp_path / "src"), whole)
    assert done.returncode == 0, done.stderr
    totals = [0] * 5
    for k in range(3):
        part = case_s3.cli("sync", "--shard", f"{k}/3", str(tmp_path / "src"), sharded)
        assert part.returncode == 0, part.stderr
        totals = [a + b for a, b in zip(totals, _counts(part.stderr), strict=True)]
    assert totals == _counts(done.stderr)  # "same" is updated (its mtime) or unchanged: alike in both
    assert totals[0] == 20 and totals[2] == 12 and totals[1] + totals[3] == 11 and totals[4] == 0
    for bucket, name in ((whole, "w"), (sharded, "s")):
        assert case_s3.cli("cp", "-r", bucket + "/", str(tmp_path / name) + "/").returncode == 0
    assert _files(tmp_path / "w") == _files(tmp_path / "s") == _files(tmp_path / "src")
