"""`genrostore ls`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Run


def _tree(root: Path) -> None:
    (root / "d/sub").mkdir(parents=True)
    (root / "d/a.txt").write_text("aaa")
    (root / "d/sub/b.txt").write_text("b")


def test_no_path_lists_the_builtin_mounts(run: Run) -> None:
    assert run("ls").stdout.decode().split() == ["home:", "mem:", "data:"]


def test_directories_end_in_a_slash_and_names_are_sorted(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    assert run("ls", "d").stdout.decode().splitlines() == ["a.txt", "sub/"]


def test_recursive_lists_relative_paths(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    assert run("ls", "-R", "d").stdout.decode().splitlines() == ["a.txt", "sub/", "sub/b.txt"]


def test_long_shows_size_and_time_with_utc_offset(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    line = run("ls", "-l", "d").stdout.decode().splitlines()[0]
    size, moment, name = line.split()
    assert (size, name) == ("3", "a.txt")
    assert moment[-6] in "+-" and moment[-3] == ":"


def test_human_sizes(run: Run, tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 1536)
    assert run("ls", "-l", "-h", "big").stdout.split()[0] == b"1.5K"


def test_json_is_one_array_with_utc_times(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    records = json.loads(run("ls", "--json", "d").stdout)
    assert [(r["name"], r["type"], r["size"]) for r in records] == [("a.txt", "file", 3), ("sub", "dir", None)]
    assert records[0]["mtime"].endswith("Z")
    assert records[0]["path"] == str(tmp_path / "d/a.txt")


def test_json_of_an_empty_directory_is_an_empty_array(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert json.loads(run("ls", "--json", "empty").stdout) == []


def test_glob_lists_matches_only(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "d/c.log").write_text("c")
    assert run("ls", "d/*.txt").stdout.decode().splitlines() == [str(tmp_path / "d/a.txt")]


def test_double_star_recurses(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    out = run("ls", "d/**/*.txt").stdout.decode().splitlines()
    assert out == [str(tmp_path / "d/a.txt"), str(tmp_path / "d/sub/b.txt")]


def test_a_file_lists_itself(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path)
    assert run("ls", "d/a.txt").stdout.decode().strip() == "d/a.txt"


@pytest.mark.parametrize("path", ["missing", "*.nothing", "missing/*.txt"])
def test_json_output_on_an_error_is_valid_json_or_nothing(run: Run, path: str) -> None:
    result = run("ls", "--json", path)
    assert result.returncode != 0
    assert result.stdout == b"" or json.loads(result.stdout) is not None

