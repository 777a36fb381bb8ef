"""`-h` is `--help`, and the global options are understood after the subcommand too."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrostore.cli.app import COMMANDS
from tests.clirun import Run

HUMAN_H = ("ls", "du")  # as in GNU ls and du, their -h means human-readable sizes


@pytest.mark.parametrize("args", [("-h",), *((name, "-h") for name in COMMANDS if name not in HUMAN_H)],
                         ids=lambda args: " ".join(args))
def test_dash_h_prints_the_same_help_as_dash_dash_help(run: Run, args: tuple[str, ...]) -> None:
    short, long = run(*args), run(*args[:-1], "--help")
    assert short.returncode == 0, short.stderr
    assert short.stdout.startswith(b"Usage: genrostore") and short.stdout == long.stdout


def test_ls_dash_h_stays_human_readable_sizes_as_in_gnu_ls(run: Run, tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 3000)
    result = run("ls", "-l", "-h", "big")
    assert result.returncode == 0, result.stderr
    assert b"2.9K" in result.stdout


def test_profile_after_the_subcommand_is_the_profile_used(run: Run, profile, tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    mounts = profile(f"mounts:\n  box: {{type: local, path: '{tmp_path / 'store'}'}}\n", name="p.yaml")
    (tmp_path / "a.txt").write_bytes(b"hi")
    result = run("cp", "a.txt", "box:a.txt", "-q", "--profile", str(mounts))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "store" / "a.txt").read_bytes() == b"hi"


def test_debug_after_the_subcommand_shows_the_traceback(run: Run) -> None:
    result = run("cat", "missing.txt", "--debug")
    assert result.returncode == 4
    assert b"Traceback" in result.stderr


@pytest.mark.parametrize("option", ["--retries", "--timeout", "--low-speed-limit", "--low-speed-time"])
def test_a_valued_global_option_after_the_subcommand_is_parsed_by_the_root(run: Run, option: str) -> None:
    accepted = run("cat", "data:aGk=", option, "1")
    assert (accepted.returncode, accepted.stdout) == (0, b"hi"), accepted.stderr
    refused = run("cat", "data:aGk=", f"{option}=-1")
    assert refused.returncode == 2 and option.encode() in refused.stderr


@pytest.mark.parametrize("flag", ["-q", "--quiet"])
def test_quiet_after_the_subcommand_is_accepted(run: Run, tmp_path: Path, flag: str) -> None:
    (tmp_path / "a.txt").write_bytes(b"hi")
    result = run("cp", "a.txt", "b.txt", flag)
    assert (result.returncode, result.stderr) == (0, b"")
    assert (tmp_path / "b.txt").read_bytes() == b"hi"


def test_after_a_double_dash_a_global_option_name_is_a_path(run: Run, tmp_path: Path) -> None:
    (tmp_path / "-q").write_bytes(b"a file named -q")
    result = run("cat", "--", "-q")
    assert (result.returncode, result.stdout) == (0, b"a file named -q"), result.stderr
