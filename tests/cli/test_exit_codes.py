"""One test per documented exit code (rclone's numbering)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from genrostore.core import errors
from tests.cli.conftest import Run


def test_0_success(run: Run) -> None:
    assert run("cat", "data:aGk=").returncode == errors.OK


def test_1_partial_failure_of_a_multi_file_operation(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "out").mkdir()
    result = run("cp", "a.txt", "missing.txt", "out/")
    assert result.returncode == errors.ERROR
    assert (tmp_path / "out/a.txt").read_text() == "a"
    assert b"missing.txt" in result.stderr


def test_2_unknown_mount_names_profile_and_known_mounts(run: Run) -> None:
    result = run("ls", "nosuch:x")
    assert result.returncode == errors.USAGE
    message = result.stderr.decode()
    assert "nosuch" in message and "home" in message and "no profile file" in message


def test_2_unknown_mount_suggests_the_closest(run: Run) -> None:
    assert b"did you mean 'home:'" in run("ls", "hom:").stderr


def test_3_directory_not_found(run: Run) -> None:
    assert run("ls", "no-such-dir/").returncode == errors.DIR_NOT_FOUND


def test_3_listing_a_missing_memory_directory(run: Run) -> None:
    assert run("ls", "mem:nodir").returncode == errors.DIR_NOT_FOUND


def test_4_file_not_found(run: Run) -> None:
    assert run("cat", "nope.txt").returncode == errors.FILE_NOT_FOUND


def test_4_glob_matching_nothing(run: Run) -> None:
    assert run("cat", "*.nothing").returncode == errors.FILE_NOT_FOUND


def test_5_temporary_error_after_retries(run: Run, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profile = tmp_path / "p.yaml"
    profile.write_text(f"mounts:\n  web:\n    type: http\n    base_url: http://127.0.0.1:{port}/\n")
    result = run("--profile", str(profile), "--retries", "1", "cat", "web:x.txt", timeout=60)
    assert result.returncode == errors.TEMPORARY, result.stderr


def test_6_read_only_mount(run: Run, tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    profile = tmp_path / "p.yaml"
    profile.write_text(f"mounts:\n  ro:\n    type: local\n    path: {tmp_path / 'ro'}\n    readonly: true\n")
    result = run("--profile", str(profile), "cp", "data:aGk=", "ro:x.txt")
    assert result.returncode == errors.NOT_PERMITTED
    assert not (tmp_path / "ro/x.txt").exists()


def test_6_directory_operation_on_base64(run: Run) -> None:
    result = run("ls", "data:")
    assert result.returncode == errors.NOT_PERMITTED
    assert b"base64" in result.stderr


def test_7_invalid_profile(run: Run, tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("mounts:\n  x:\n    type: local\n    pth: /tmp\n")
    result = run("--profile", str(profile), "ls", "x:")
    assert result.returncode == errors.CONFIG
    assert f"{profile}:4" in result.stderr.decode()
    assert b"did you mean 'path'" in result.stderr


def test_130_sigint_during_a_copy_removes_the_partial_destination(tmp_path: Path) -> None:
    fifo = tmp_path / "slow"
    os.mkfifo(fifo)
    target = tmp_path / "dest.bin"
    proc = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-", str(target)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b"x" * 3_000_000)
    proc.stdin.flush()
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == errors.INTERRUPTED
    assert b"interrupted" in stderr
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dest.bin")] == []


def test_6_a_recursive_copy_to_a_read_only_mount_reads_no_source(run: Run, tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.txt").write_text("a")
    (tmp_path / "tree" / "b.txt").write_text("b")
    profile = tmp_path / "p.yaml"
    profile.write_text(f"mounts:\n  ro:\n    type: local\n    path: {tmp_path / 'ro'}\n    readonly: true\n")
    result = run("--profile", str(profile), "cp", "-r", str(tmp_path / "tree"), "ro:copy/")
    assert result.returncode == errors.NOT_PERMITTED, result.stderr
    assert b"read-only" in result.stderr and b"failed:" not in result.stderr
    assert list((tmp_path / "ro").iterdir()) == []


def test_every_item_failing_alike_exits_with_that_code_and_a_partial_failure_with_1(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    every = run("cp", str(tmp_path / "nope1"), str(tmp_path / "nope2"), str(tmp_path / "out") + "/")
    assert every.returncode == errors.FILE_NOT_FOUND, every.stderr
    assert b"2 of 2 file(s) failed" in every.stderr
    partial = run("cp", str(tmp_path / "a.txt"), str(tmp_path / "nope2"), str(tmp_path / "out") + "/")
    assert partial.returncode == errors.ERROR, partial.stderr
    assert (tmp_path / "out" / "a.txt").read_text() == "a"
