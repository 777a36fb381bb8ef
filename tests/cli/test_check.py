"""`genrostore check SRC DST`: rclone's combined report, path lists, and exit 0/1/the error's code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.check import check as run_check
from tests.cases._base import Case
from tests.clirun import Run


STAMP = 1_000_000_000  # one mtime for every file written here: local disks keep mtimes, so two
# trees written apart compare by size and mtime (auto), and only content that differs in size differs


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        os.utime(root / rel, (STAMP, STAMP))
    return root


def _lines(out: bytes) -> list[str]:
    return out.decode().splitlines()


BASE = {"same": "s", "dir/same": "d", "changed": "abc", "grown": "g"}
OTHER = {"same": "s", "dir/same": "d", "changed": "abd", "grown": "gg", "extra": "e"}


def test_identical_trees_exit_0_with_equal_lines_and_a_summary(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    _tree(tmp_path / "b", BASE)
    done = run("check", "a", "b")
    assert done.returncode == 0, done.stderr
    assert _lines(done.stdout) == ["= changed", "= dir/same", "= grown", "= same"]
    assert "4 matching files" in done.stderr.decode() and "0 differences found" in done.stderr.decode()


def test_each_mark_in_tree_order_and_exit_1(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", {**BASE, "only-src": "o"})
    _tree(tmp_path / "b", OTHER)
    done = run("check", "--checksum", "a", "b")
    assert done.returncode == 1
    assert _lines(done.stdout) == ["* changed", "= dir/same", "- extra", "* grown", "+ only-src", "= same"]
    assert "4 differences found" in done.stderr.decode()


def test_path_lists_are_written_per_mark(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", {**BASE, "only-src": "o"})
    _tree(tmp_path / "b", OTHER)
    done = run("check", "-c", "a", "b", "--differ", "differ.txt", "--missing-on-dst", "mdst.txt",
               "--missing-on-src", "msrc.txt", "--match", "match.txt")
    assert done.returncode == 1
    assert (tmp_path / "differ.txt").read_text() == "changed\ngrown\n"
    assert (tmp_path / "mdst.txt").read_text() == "only-src\n"
    assert (tmp_path / "msrc.txt").read_text() == "extra\n"
    assert (tmp_path / "match.txt").read_text() == "dir/same\nsame\n"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_size_comparison_is_announced_once_and_misses_same_size_changes() -> None:
    # memory keeps no mtimes and stores no md5: auto can only compare sizes, and says so once
    storage = Storage(mounts=[{"name": "s", "type": "memory"}, {"name": "d", "type": "memory"}])
    for rel, text in BASE.items():
        storage.node(f"s:t/{rel}").write(text)
    for rel, text in {**BASE, "changed": "abd", "dir/same": "x"}.items():
        storage.node(f"d:t/{rel}").write(text)
    notices: list[str] = []
    marks: list[str] = []
    result = run_check(storage, storage.node("s:t"), storage.node("d:t"), lambda m, p: marks.append(f"{m} {p}"),
                       notice=notices.append)
    assert marks == ["= changed", "= dir/same", "= grown", "= same"] and result.differences == 0
    assert sum("comparing sizes only" in n for n in notices) == 1


def test_local_trees_with_other_mtimes_differ_under_auto(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    _tree(tmp_path / "b", BASE)
    os.utime(tmp_path / "b" / "same", (STAMP + 60, STAMP + 60))
    done = run("check", "a", "b")
    assert done.returncode == 1, done.stderr
    assert "* same" in _lines(done.stdout) and "comparing sizes only" not in done.stderr.decode()


def test_download_compares_the_bytes(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    _tree(tmp_path / "b", {**BASE, "changed": "abd"})
    done = run("check", "--download", "a", "b")
    assert done.returncode == 1
    assert "* changed" in _lines(done.stdout)


def test_one_way_ignores_files_only_in_dst(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    _tree(tmp_path / "b", {**BASE, "extra": "e"})
    done = run("check", "--one-way", "a", "b")
    assert done.returncode == 0, done.stdout
    assert "- extra" not in _lines(done.stdout)


def test_quiet_drops_the_summary_but_not_the_report(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    _tree(tmp_path / "b", BASE)
    done = run("check", "-q", "a", "b")
    assert done.returncode == 0 and done.stderr == b"" and len(_lines(done.stdout)) == 4


def test_a_file_checks_against_a_file(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path, {"x.txt": "1", "y.txt": "1", "z.txt": "22"})
    assert run("check", "x.txt", "y.txt").returncode == 0
    assert _lines(run("check", "x.txt", "z.txt").stdout) == ["* x.txt"]


def test_missing_src_is_exit_3(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "b", BASE)
    done = run("check", "nope", "b")
    assert done.returncode == 3 and done.stdout == b""


def test_conflicting_comparisons_are_a_usage_error(run: Run, tmp_path: Path) -> None:
    assert run("check", "--checksum", "--size-only", "a", "b").returncode == 2
    assert run("check", "--compare", "md5", "a", "b").returncode == 2


def test_an_unlistable_directory_is_reported_and_exits_with_its_code(run: Run, tmp_path: Path, profile) -> None:
    """A subdirectory the local jail refuses to list (a symlink leaving the mount): `! sub/`, exit 6;
    its files in DST are not reported as missing from SRC."""
    _tree(tmp_path / "m" / "a", BASE)
    _tree(tmp_path / "outside", {"f": "x"})
    os.symlink(tmp_path / "outside", tmp_path / "m" / "a" / "sub")
    _tree(tmp_path / "b", {**BASE, "sub/f": "x"})
    path = profile(f"mounts:\n  m: {{type: local, path: '{tmp_path / 'm'}'}}\n")
    done = run("--profile", str(path), "check", "m:a", "b", "--error", "errors.txt")
    assert done.returncode == 6, done.stderr
    assert "! sub/" in _lines(done.stdout) and "- sub/f" not in _lines(done.stdout)
    assert (tmp_path / "errors.txt").read_text() == "sub/\n"
    assert "resolves outside the mount root" in done.stderr.decode()


def test_an_unreadable_file_under_checksum_is_reported_with_its_code(run: Run, tmp_path: Path, profile) -> None:
    _tree(tmp_path / "m" / "a", {"ok": "1"})
    _tree(tmp_path / "outside", {"f": "x"})
    os.symlink(tmp_path / "outside" / "f", tmp_path / "m" / "a" / "link")
    _tree(tmp_path / "b", {"ok": "1", "link": "x"})
    path = profile(f"mounts:\n  m: {{type: local, path: '{tmp_path / 'm'}'}}\n")
    done = run("--profile", str(path), "check", "--checksum", "m:a", "b")
    assert done.returncode == 6
    assert _lines(done.stdout) == ["! link", "= ok"]


def test_memory_trees_check_in_process() -> None:
    storage = Storage(mounts=[{"name": "s", "type": "memory"}, {"name": "d", "type": "memory"}])
    for rel, text in BASE.items():
        storage.node(f"s:t/{rel}").write(text)
    for rel, text in OTHER.items():
        storage.node(f"d:t/{rel}").write(text)
    marks: list[str] = []
    result = run_check(storage, storage.node("s:t"), storage.node("d:t"), lambda m, p: marks.append(f"{m} {p}"),
                       mode="size,checksum")
    assert marks == ["* changed", "= dir/same", "- extra", "* grown", "= same"]
    assert (result.matches, result.differences, result.missing_on_src) == (2, 2, 1)


# -- real servers --------------------------------------------------------------------------------
def _write(case: Case, base: str, files: dict[str, str]) -> None:
    storage = case.storage()
    for rel, text in files.items():
        storage.node(f"{base}/{rel}").write(text)


def test_s3_auto_compares_stored_md5_and_catches_same_size_changes(case_s3: Case) -> None:
    from datetime import UTC, datetime

    a, b = case_s3.fresh(), case_s3.fresh()
    _write(case_s3, a, BASE)
    _write(case_s3, b, OTHER)
    storage = case_s3.storage()
    for base, files, when in ((a, BASE, 1_000_000_000), (b, OTHER, 1_000_000_100)):
        for rel in files:  # other mtimes on each side: size+mtime falls to the stored md5s
            node = storage.node(f"{base}/{rel}")
            node.mount.set_mtime(node.path, datetime.fromtimestamp(when, UTC))
    done = case_s3.cli("check", a, b)
    assert done.returncode == 1, done.stderr
    assert _lines(done.stdout) == ["* changed", "= dir/same", "- extra", "* grown", "= same"]
    assert b"comparing sizes only" not in done.stderr


def test_local_against_s3_checksum_hashes_the_local_side(case_s3: Case, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    b = case_s3.fresh()
    _write(case_s3, b, {**BASE, "changed": "abd"})
    done = case_s3.cli("check", "--checksum", str(tmp_path / "a"), b)
    assert done.returncode == 1, done.stderr
    assert _lines(done.stdout) == ["* changed", "= dir/same", "= grown", "= same"]


def test_sftp_trees_and_an_unreadable_directory(case_sftp: Case, sftp_server) -> None:
    a, b = case_sftp.fresh(), case_sftp.fresh()
    _write(case_sftp, a, {**BASE, "locked/f": "x"})
    _write(case_sftp, b, {**BASE, "locked/f": "x"})
    done = case_sftp.cli("check", "--download", a, b)
    assert done.returncode == 0, done.stderr
    locked = sftp_server.root / a.split(":", 1)[1] / "locked"
    locked.chmod(0)
    try:
        done = case_sftp.cli("check", a, b)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 6, done.stderr
    assert "! locked/" in _lines(done.stdout) and "- locked/f" not in _lines(done.stdout)


@pytest.mark.parametrize("flag", ["--size-only", "--checksum"])
def test_sftp_against_local_identical(case_sftp: Case, tmp_path: Path, flag: str) -> None:
    _tree(tmp_path / "a", BASE)
    b = case_sftp.fresh()
    _write(case_sftp, b, BASE)
    done = case_sftp.cli("check", flag, str(tmp_path / "a"), b)
    assert done.returncode == 0, done.stderr
    assert len(_lines(done.stdout)) == 4


def test_missing_dst_is_exit_3(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", BASE)
    done = run("check", "a", "nowhere")
    assert done.returncode == 3 and done.stdout == b"" and b"nowhere" in done.stderr


def test_the_combined_report_matches_rclone_check_on_the_same_trees(run: Run, tmp_path: Path) -> None:
    """rclone reads the same report genrostore writes: same marks for the same paths (rclone's
    order follows its goroutines, so the lines are compared as sets)."""
    import shutil
    import subprocess

    rclone = shutil.which("rclone")
    assert rclone is not None, "rclone is part of the test environment (benchmarks and interop)"
    _tree(tmp_path / "a", {**BASE, "only-src": "o", "a b/q": "q", "a-c": "r", "\u00e9t\u00e9/f": "1"})
    _tree(tmp_path / "b", {**OTHER, "a-c": "r", "\u00e9t\u00e9/f": "2"})
    ours = run("check", "--download", "a", "b")
    theirs = subprocess.run([rclone, "check", "--download", "--combined", "-", "a", "b"], cwd=tmp_path,
                            capture_output=True, timeout=60, check=False,
                            env={**os.environ, "RCLONE_CONFIG": str(tmp_path / "none.conf")})
    assert ours.returncode == theirs.returncode == 1
    assert sorted(_lines(ours.stdout)) == sorted(_lines(theirs.stdout))


def test_filters_scope_both_sides(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "a", {**BASE, "x.tmp": "1", "cache/c": "c"})
    _tree(tmp_path / "b", {**BASE, "y.tmp": "2", "cache/d": "d"})
    done = run("check", "--exclude", "*.tmp", "--exclude", "cache/", "a", "b")
    assert done.returncode == 0, done.stdout
    assert _lines(done.stdout) == ["= changed", "= dir/same", "= grown", "= same"]


def test_s3_filters_prune_the_flat_listing(case_s3: Case) -> None:
    a, b = case_s3.fresh(), case_s3.fresh()
    _write(case_s3, a, {**BASE, "cache/c": "c"})
    _write(case_s3, b, {**BASE, "cache/d": "d", "dir/skip.tmp": "t"})
    done = case_s3.cli("check", "--exclude", "cache/", "--exclude", "*.tmp", a, b)
    assert done.returncode == 0, done.stdout
    assert len(_lines(done.stdout)) == 4
