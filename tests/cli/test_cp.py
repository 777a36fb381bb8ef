"""`genrostore cp`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.cli.conftest import Run


def test_copies_a_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"content")
    assert run("cp", "a.txt", "b.txt").returncode == 0
    assert (tmp_path / "b.txt").read_bytes() == b"content"


def test_overwrites_like_unix_cp_even_with_the_same_size(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"new!")
    (tmp_path / "b.txt").write_bytes(b"old!")
    run("cp", "a.txt", "b.txt")
    assert (tmp_path / "b.txt").read_bytes() == b"new!"


def test_no_clobber_keeps_the_existing_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"new")
    (tmp_path / "b.txt").write_bytes(b"old")
    assert run("cp", "-n", "a.txt", "b.txt").returncode == 0
    assert (tmp_path / "b.txt").read_bytes() == b"old"


def test_existing_directory_destination_receives_the_basename(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    (tmp_path / "dir").mkdir()
    run("cp", "a.txt", "dir")
    assert (tmp_path / "dir/a.txt").read_bytes() == b"a"


def test_trailing_slash_destination_receives_the_basename(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    run("cp", "a.txt", "newdir/")
    assert (tmp_path / "newdir/a.txt").read_bytes() == b"a"


def test_directory_source_without_r_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    result = run("cp", "d", "e")
    assert result.returncode == 2
    assert b"-r" in result.stderr


def test_recursive_copy_into_a_new_directory(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d/sub").mkdir(parents=True)
    (tmp_path / "d/sub/x").write_text("x")
    assert run("cp", "-r", "d", "e").returncode == 0
    assert (tmp_path / "e/sub/x").read_text() == "x"


def test_recursive_copy_into_an_existing_directory_nests_the_source(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    (tmp_path / "e").mkdir()
    run("cp", "-r", "d", "e")
    assert (tmp_path / "e/d/x").read_text() == "x"


def test_source_with_trailing_slash_copies_its_content(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    (tmp_path / "e").mkdir()
    run("cp", "-r", "d/", "e/")
    assert (tmp_path / "e/x").read_text() == "x"


def test_stdin_to_file_and_file_to_stdout(run: Run, tmp_path: Path) -> None:
    assert run("cp", "-", "in.bin", input=b"\x00piped").returncode == 0
    assert run("cp", "in.bin", "-").stdout == b"\x00piped"


def test_empty_stdin_makes_an_empty_file(run: Run, tmp_path: Path) -> None:
    assert run("cp", "-", "empty.bin", input=b"").returncode == 0
    assert (tmp_path / "empty.bin").read_bytes() == b""


def test_copy_to_data_prints_the_new_path_on_stdout(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"Hello World")
    result = run("cp", "a.txt", "data:")
    assert result.stdout == b"SGVsbG8gV29ybGQ=\n"
    assert run("cat", "data:" + result.stdout.decode().strip()).stdout == b"Hello World"


def test_dry_run_prints_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"a")
    result = run("cp", "--dry-run", "a.txt", "b.txt")
    assert result.returncode == 0
    assert result.stdout.decode().startswith("DRY-RUN: copy ")
    assert not (tmp_path / "b.txt").exists()


def test_dry_run_recursive_lists_every_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for name in ("x", "y"):
        (tmp_path / "d" / name).write_text(name)
    result = run("cp", "-r", "--dry-run", "d", "e")
    assert result.stdout.count(b"DRY-RUN:") == 2
    assert not (tmp_path / "e").exists()


def test_mode_bits_are_kept_on_overwrite(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.sh").write_text("new")
    target = tmp_path / "b.sh"
    target.write_text("old")
    target.chmod(0o750)
    run("cp", "a.sh", "b.sh")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750


def test_failed_copy_leaves_no_partial_destination(run: Run, tmp_path: Path) -> None:
    result = run("cp", "missing.txt", "out.txt")
    assert result.returncode == 4
    assert list(tmp_path.glob("*out.txt*")) == []


def test_glob_source_copies_every_match(run: Run, tmp_path: Path) -> None:
    for name in ("a.log", "b.log", "c.txt"):
        (tmp_path / name).write_text(name)
    assert run("cp", "*.log", "logs/").returncode == 0
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["a.log", "b.log"]


def test_parallel_copy_of_many_files(run: Run, tmp_path: Path) -> None:
    (tmp_path / "many").mkdir()
    for index in range(200):
        (tmp_path / "many" / f"{index}.txt").write_text(str(index))
    assert run("cp", "-r", "-j", "8", "many", "copy").returncode == 0
    assert sorted(int(p.stem) for p in (tmp_path / "copy").iterdir()) == list(range(200))


def test_checksum_verifies_copies(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("sum me")
    assert run("cp", "--checksum", "a.txt", "mem:a.txt").returncode == 0


def test_cross_mount_copy_through_memory(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"via mem")
    # one process: mem lives as long as the command
    assert run("cp", "a.txt", "mem:x/a.txt").returncode == 0


def test_no_progress_output_when_stderr_is_not_a_tty(run: Run, tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(os.urandom(4 * 1024 * 1024))
    result = run("cp", "big", "big2")
    assert result.stderr == b""
    assert result.stdout == b""


def test_a_new_local_copy_keeps_the_source_mode_bits(run: Run, tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    run("cp", "run.sh", "copy.sh")
    assert stat.S_IMODE(os.stat(tmp_path / "copy.sh").st_mode) == 0o755 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_cp_r_of_a_directory_onto_a_file_is_one_error_and_keeps_the_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "src/sub").mkdir(parents=True)
    (tmp_path / "src/a").write_bytes(b"a")
    (tmp_path / "src/sub/b").write_bytes(b"b")
    (tmp_path / "file").write_bytes(b"keep")
    result = run("cp", "-r", "src", "file")
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and "cannot overwrite non-directory" in lines[0] and "with directory" in lines[0]
    assert (tmp_path / "file").read_bytes() == b"keep"
