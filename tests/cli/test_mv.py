"""`genrostore mv` on local disks: usage errors, a rename (the same inode), permissions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.clirun import Run


def test_mv_needs_a_source_and_a_destination(run: Run, tmp_path: Path) -> None:
    result = run("mv", str(tmp_path / "a"))
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr


def test_mv_refuses_stdin_and_stdout(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    assert run("mv", "-", str(tmp_path / "b"), input=b"x").returncode == 2
    assert run("mv", str(tmp_path / "a"), "-").returncode == 2
    assert (tmp_path / "a").read_bytes() == b"a"


def test_mv_between_two_local_mounts_renames_the_same_inode(run: Run, tmp_path: Path,
                                                           profile: Callable[..., Path]) -> None:
    """One file system: os.replace, not a copy (the file keeps its inode)."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    source = tmp_path / "one/a.bin"
    source.write_bytes(b"x" * 100_000)
    inode = source.stat().st_ino
    path = profile(f"mounts:\n  one: {{type: local, path: {tmp_path / 'one'}}}\n"
                   f"  two: {{type: local, path: {tmp_path / 'two'}}}\n")
    result = run("--profile", str(path), "mv", "one:a.bin", "two:sub/b.bin")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "two/sub/b.bin").stat().st_ino == inode
    assert not source.exists()


def test_mv_from_a_readwrite_mount_exits_6_before_copying(run: Run, tmp_path: Path,
                                                         profile: Callable[..., Path]) -> None:
    """`permissions: readwrite` writes but never removes: a move from it cannot finish, so it never starts."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/a.txt").write_bytes(b"a")
    path = profile(f"mounts:\n  src: {{type: local, path: {tmp_path / 'src'}, permissions: readwrite}}\n"
                   f"  dst: {{type: local, path: {tmp_path / 'dst'}}}\n")
    (tmp_path / "dst").mkdir()
    result = run("--profile", str(path), "mv", "-r", "src:", "dst:out")
    assert result.returncode == 6, result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert (tmp_path / "src/a.txt").read_bytes() == b"a"
    assert not (tmp_path / "dst/out").exists()


def test_mv_r_of_a_directory_to_a_new_name_is_one_rename(run: Run, tmp_path: Path) -> None:
    """The destination does not exist: the directory itself is renamed (it keeps its inode)."""
    (tmp_path / "src/sub").mkdir(parents=True)
    (tmp_path / "src/sub/a.txt").write_bytes(b"a")
    inode = (tmp_path / "src").stat().st_ino
    result = run("mv", "-r", str(tmp_path / "src"), str(tmp_path / "new/place"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new/place").stat().st_ino == inode
    assert (tmp_path / "new/place/sub/a.txt").read_bytes() == b"a"
    assert not (tmp_path / "src").exists()


def test_mv_r_into_an_existing_tree_merges_file_by_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/new.txt").write_bytes(b"new")
    (tmp_path / "dst/src").mkdir(parents=True)
    (tmp_path / "dst/src/old.txt").write_bytes(b"old")
    result = run("mv", "-r", str(tmp_path / "src"), str(tmp_path / "dst"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "dst/src/old.txt").read_bytes() == b"old"
    assert (tmp_path / "dst/src/new.txt").read_bytes() == b"new"
    assert not (tmp_path / "src").exists()


def test_mv_r_with_a_filter_moves_only_what_is_in_scope(run: Run, tmp_path: Path) -> None:
    (tmp_path / "src/sub").mkdir(parents=True)
    (tmp_path / "src/a.jpg").write_bytes(b"a")
    (tmp_path / "src/b.txt").write_bytes(b"b")
    (tmp_path / "src/sub/c.jpg").write_bytes(b"c")
    result = run("mv", "-r", "--include", "*.jpg", "src", "out")
    assert result.returncode == 0, result.stderr
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file()) \
        == ["a.jpg", "sub/c.jpg"]
    assert (tmp_path / "src/b.txt").read_bytes() == b"b"  # out of scope: neither moved nor removed
    assert not (tmp_path / "src/a.jpg").exists() and not (tmp_path / "src/sub").exists()
