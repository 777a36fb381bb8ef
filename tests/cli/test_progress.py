"""`cp --progress` where stderr is a log, not a terminal: plain lines every few seconds and a last one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from genrostore.cli.progress import plain_line
from tests.clirun import Run

PERIODIC = re.compile(r"^genrostore: \d+/\d+ files, [\d.]+[BKMGTP](/[\d.]+[BKMGTP])?, [\d.]+[BKMGTP]/s(, ETA \d+:\d\d:\d\d)?$")
CHUNK = 256 * 1024  # stdin is read 1 MiB at a time


def _slow_stdin_copy(tmp_path: Path, *args: str, chunks: int = 12, pause: float = 0.15) -> tuple[int, list[str]]:
    """`cp ... - out.bin` fed a chunk every `pause` seconds; returns (exit code, stderr lines)."""
    env = {**os.environ, "HOME": str(tmp_path), "GENROSTORE_PROGRESS_INTERVAL": "0.2"}
    process = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", *args, "-", "out.bin"], cwd=tmp_path,
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    for _ in range(chunks):
        process.stdin.write(b"x" * CHUNK)
        process.stdin.flush()
        time.sleep(pause)
    stdout, stderr = process.communicate(timeout=60)
    assert stdout == b""
    return process.returncode, stderr.decode().splitlines()


def test_forced_progress_on_a_log_prints_plain_lines_while_copying(tmp_path: Path) -> None:
    code, lines = _slow_stdin_copy(tmp_path, "--progress")
    assert code == 0, lines
    periodic = lines[:-1]
    assert len(periodic) >= 3, lines
    assert all(PERIODIC.match(line) for line in periodic), lines
    assert any(not line.split(", ")[1].startswith("0B") for line in periodic), "no bytes ever reported"


def test_forced_progress_on_a_log_ends_with_a_summary_line(tmp_path: Path) -> None:
    code, lines = _slow_stdin_copy(tmp_path, "--progress", chunks=4)
    assert code == 0, lines
    assert re.match(r"^genrostore: done: 1/1 files, 1\.0M, [\d.]+[BKMG]/s, in \d+:\d\d:\d\d$", lines[-1]), lines
    assert (tmp_path / "out.bin").stat().st_size == 4 * CHUNK


def test_no_progress_line_on_a_log_unless_forced(tmp_path: Path) -> None:
    code, lines = _slow_stdin_copy(tmp_path, chunks=4)
    assert (code, lines) == (0, [])


def test_forced_progress_counts_every_file_of_a_tree(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    for index in range(5):
        (tmp_path / "d" / f"{index}.bin").write_bytes(b"y" * 1024)
    result = run("cp", "-r", "--progress", "d", "e")
    assert result.returncode == 0, result.stderr
    assert re.match(r"^genrostore: done: 5/5 files, 5\.0K, ", result.stderr.decode().splitlines()[-1]), result.stderr


def test_a_plain_line_gives_the_eta_when_the_total_is_known() -> None:
    line = plain_line(3, 10, 12 * 2**20, 100 * 2**20, 5.0, final=False)
    assert line == "3/10 files, 12.0M/100.0M, 2.4M/s, ETA 0:00:37"
