"""`genrostore cat`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import Run


def test_prints_builtin_data_mount(run: Run) -> None:
    assert run("cat", "data:SGVsbG8gV29ybGQ=").stdout == b"Hello World"


def test_concatenates_several_files(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"A")
    (tmp_path / "b").write_bytes(b"B")
    assert run("cat", "a", "b").stdout == b"AB"


def test_offset_and_count_read_a_range(run: Run, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    assert run("cat", "--offset", "2", "--count", "3", "f").stdout == b"234"


def test_tail_reads_the_last_bytes(run: Run, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"0123456789")
    assert run("cat", "--tail", "4", "f").stdout == b"6789"


def test_tail_of_stdin(run: Run) -> None:
    assert run("cat", "--tail", "3", "-", input=b"abcdefgh").stdout == b"fgh"


def test_tail_larger_than_the_file_prints_it_all(run: Run, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    assert run("cat", "--tail", "100", "f").stdout == b"abc"


def test_stdin_passes_through(run: Run) -> None:
    assert run("cat", "-", input=b"\x00\x01binary").stdout == b"\x00\x01binary"


def test_quoted_glob_concatenates_matches_in_order(run: Run, tmp_path: Path) -> None:
    (tmp_path / "x1.txt").write_bytes(b"1")
    (tmp_path / "x2.txt").write_bytes(b"2")
    assert run("cat", "x?.txt").stdout == b"12"


def test_escaped_star_is_literal(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a*b").write_bytes(b"star")
    (tmp_path / "axb").write_bytes(b"x")
    assert run("cat", "a\\*b").stdout == b"star"


def test_invalid_base64_is_a_clear_error_never_wrong_bytes(run: Run) -> None:
    result = run("cat", "data:SGVsbG8$")
    assert result.returncode == 2
    assert result.stdout == b""
    assert b"invalid base64" in result.stderr


def test_data_uri_with_mime_is_accepted(run: Run) -> None:
    assert run("cat", "data:text/plain;base64,aGk=").stdout == b"hi"


def test_urlsafe_base64_without_padding(run: Run) -> None:
    assert run("cat", "data:-_8").stdout == b"\xfb\xff"


def test_file_url_without_profile(run: Run, tmp_path: Path) -> None:
    (tmp_path / "u.txt").write_bytes(b"url")
    assert run("cat", f"file://{tmp_path}/u.txt").stdout == b"url"


def test_a_name_with_glob_characters_that_exists_is_that_file(run: Run, tmp_path: Path, profile: Callable[[str], Path]) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root/br[1].txt").write_bytes(b"brackets")
    mounts = profile(f"mounts:\n  m:\n    type: local\n    path: {tmp_path / 'root'}\n")
    result = run("--profile", str(mounts), "cat", "m:br[1].txt")
    assert (result.returncode, result.stdout) == (0, b"brackets"), result.stderr


def test_a_backslash_before_an_ordinary_character_is_part_of_the_name(run: Run, tmp_path: Path) -> None:
    (tmp_path / "back\\slash.txt").write_bytes(b"kept")
    assert run("cat", "back\\slash.txt").stdout == b"kept"


def test_several_files_with_one_missing_exit_1_and_report_it_once(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"A")
    (tmp_path / "b").write_bytes(b"B")
    result = run("cat", "a", "missing", "b")
    assert (result.returncode, result.stdout) == (1, b"AB")
    assert result.stderr.decode().count("missing: no such file") == 1


def test_base64_content_that_starts_with_slashes_reads_back(run: Run) -> None:
    written = run("cp", "-", "data:", input=b"\xff\xfe")
    assert written.stdout == b"//4=\n"
    result = run("cat", "data://4=")
    assert (result.returncode, result.stdout) == (0, b"\xff\xfe"), result.stderr
