"""`genrostore md5`, `b64`, `stat` and `mounts`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Run


def test_md5_has_md5sum_format(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    assert run("md5", "a").stdout == f"{hashlib.md5(b'abc').hexdigest()}  a\n".encode()


def test_md5_of_stdin(run: Run) -> None:
    assert run("md5", "-", input=b"abc").stdout.split()[0].decode() == hashlib.md5(b"abc").hexdigest()


def test_md5_recursive(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d/s").mkdir(parents=True)
    (tmp_path / "d/s/x").write_bytes(b"x")
    (tmp_path / "d/y").write_bytes(b"y")
    lines = run("md5", "-r", "d").stdout.decode().splitlines()
    assert lines == [f"{hashlib.md5(b'x').hexdigest()}  d/s/x", f"{hashlib.md5(b'y').hexdigest()}  d/y"]


def test_md5_check_ok_mismatch_and_missing(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    (tmp_path / "b").write_bytes(b"b")
    (tmp_path / "ok.md5").write_text(run("md5", "a", "b").stdout.decode())
    assert run("md5", "-c", "ok.md5").returncode == 0
    (tmp_path / "b").write_bytes(b"changed")
    result = run("md5", "-c", "ok.md5")
    assert result.returncode == 1
    assert b"b: FAILED" in result.stdout and b"a: OK" in result.stdout
    (tmp_path / "b").unlink()
    (tmp_path / "bad.md5").write_text(f"{hashlib.md5(b'a').hexdigest()}  a\n{'0' * 32}  b\n")
    assert run("md5", "-c", "bad.md5").returncode == 4


def test_md5_matches_md5sum_on_a_large_random_file(run: Run, tmp_path: Path) -> None:
    data = os.urandom(9 * 1024 * 1024 + 7)
    (tmp_path / "r").write_bytes(data)
    assert run("md5", "r").stdout.split()[0].decode() == hashlib.md5(data).hexdigest()


def test_b64_encodes_on_one_line(run: Run, tmp_path: Path) -> None:
    data = os.urandom(5000)
    (tmp_path / "f").write_bytes(data)
    assert run("b64", "f").stdout == base64.b64encode(data) + b"\n"


def test_b64_wraps(run: Run, tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100)
    lines = run("b64", "-w", "76", "f").stdout.splitlines()
    assert len(lines[0]) == 76 and b"".join(lines) == base64.b64encode(b"x" * 100)


def test_b64_uri_guesses_the_mime_type(run: Run, tmp_path: Path) -> None:
    (tmp_path / "p.png").write_bytes(b"\x89PNG")
    assert run("b64", "--uri", "p.png").stdout == b"data:image/png;base64," + base64.b64encode(b"\x89PNG") + b"\n"


def test_b64_mime_option(run: Run) -> None:
    assert run("b64", "--mime", "text/plain", "-", input=b"hi").stdout == b"data:text/plain;base64,aGk=\n"


def test_b64_decode_roundtrip_of_a_large_file(run: Run, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 1)
    (tmp_path / "f").write_bytes(data)
    encoded = run("b64", "-w", "76", "f").stdout
    assert run("b64", "-d", "-", input=encoded).stdout == data


def test_b64_decode_rejects_garbage(run: Run) -> None:
    result = run("b64", "-d", "-", input=b"not*base64")
    assert result.returncode == 2


def test_stat_json(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    record = json.loads(run("stat", "--json", "a").stdout)
    assert record["type"] == "file" and record["size"] == 3 and record["mtime"].endswith("Z")


def test_stat_human(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"abc")
    out = run("stat", "a").stdout.decode()
    assert "type:  file" in out and "size:  3" in out


def test_mounts_shows_origin_and_redacts_secrets(run: Run, tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text("mounts:\n  web:\n    type: local\n    path: /tmp\n")
    records = json.loads(run("--profile", str(profile), "mounts", "--json").stdout)
    web = next(r for r in records if r["name"] == "web")
    assert web["origin"] == f"{profile}:3" and web["type"] == "local"
    assert next(r for r in records if r["name"] == "home")["origin"] == "built-in"


def test_env_only_mount(run: Run, tmp_path: Path) -> None:
    (tmp_path / "envroot").mkdir()
    (tmp_path / "envroot/f").write_text("env")
    env = {"GENROSTORE_MOUNT_CIART_TYPE": "local", "GENROSTORE_MOUNT_CIART_PATH": str(tmp_path / "envroot")}
    assert run("cat", "ciart:f", env=env).stdout == b"env"
    records = json.loads(run("mounts", "--json", env=env).stdout)
    assert next(r for r in records if r["name"] == "ciart")["origin"].startswith("environment")


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# Names md5sum escapes: what GNU coreutils 9 writes for each (checked against `md5sum`).
_ESCAPED = {"back\\slash.txt": "back\\\\slash.txt", "new\nline": "new\\nline", "cr\rx": "cr\\rx"}


def test_md5_writes_escaped_lines_for_names_with_backslash_newline_or_cr(run: Run, tmp_path: Path) -> None:
    for name in _ESCAPED:
        (tmp_path / name).write_bytes(name.encode())
    (tmp_path / "plain.txt").write_bytes(b"p")
    result = run("md5", "back\\slash.txt", "new\nline", "cr\rx", "plain.txt")
    assert result.returncode == 0, result.stderr
    expected = [f"\\{_md5(name.encode())}  {shown}" for name, shown in _ESCAPED.items()]
    assert result.stdout.decode().split("\n") == [*expected, f"{_md5(b'p')}  plain.txt", ""]


def test_md5_c_reads_md5sum_escaped_lines(run: Run, tmp_path: Path) -> None:
    for name in _ESCAPED:
        (tmp_path / name).write_bytes(name.encode())
    sums = "".join(f"\\{_md5(name.encode())}  {shown}\n" for name, shown in _ESCAPED.items())
    (tmp_path / "s.md5").write_text(sums)
    result = run("md5", "-c", "s.md5")
    assert result.returncode == 0, result.stderr
    # md5sum -c escapes a name in its report only when it holds a newline.
    assert result.stdout.decode().split("\n") == ["back\\slash.txt: OK", "\\new\\nline: OK", "cr\rx: OK", ""]


def test_md5_c_refuses_an_escape_md5sum_never_writes(run: Run, tmp_path: Path) -> None:
    (tmp_path / "s.md5").write_text(f"\\{_md5(b'x')}  bad\\q\n")
    assert run("md5", "-c", "s.md5").returncode == 2


def test_md5_of_globs_and_escaped_names_prints_names_md5_c_reads_back(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/a.txt").write_bytes(b"a")
    (tmp_path / "br[1].txt").write_bytes(b"b")
    result = run("md5", "d/*.txt", "br\\[1].txt", "./d/*")
    assert result.stdout.decode().splitlines() == [f"{_md5(b'a')}  d/a.txt", f"{_md5(b'b')}  br[1].txt",
                                                   f"{_md5(b'a')}  ./d/a.txt"]
    (tmp_path / "s.md5").write_bytes(result.stdout)
    assert run("md5", "-c", "s.md5").returncode == 0


def test_md5_of_a_mount_glob_prints_mount_addresses(run: Run, tmp_path: Path, profile: Callable[[str], Path]) -> None:
    (tmp_path / "root/sub").mkdir(parents=True)
    (tmp_path / "root/sub/x.bin").write_bytes(b"x")
    mounts = profile(f"mounts:\n  m:\n    type: local\n    path: {tmp_path / 'root'}\n")
    result = run("--profile", str(mounts), "md5", "m:*/x.bin")
    assert result.stdout.decode() == f"{_md5(b'x')}  m:sub/x.bin\n"
    (tmp_path / "s.md5").write_bytes(result.stdout)
    assert run("--profile", str(mounts), "md5", "-c", "s.md5").returncode == 0


def test_md5_of_several_files_with_one_missing_exits_1_and_reports_it_once(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"a")
    result = run("md5", "a", "missing")
    assert result.returncode == 1
    assert result.stdout.decode() == f"{_md5(b'a')}  a\n"
    assert result.stderr.decode().count("missing: no such file") == 1


def test_b64_of_a_directory_says_so_without_suggesting_r(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    result = run("b64", "d")
    assert result.returncode == 2
    assert b"is a directory" in result.stderr and b"use -r" not in result.stderr


@pytest.mark.parametrize("text", ["SGVsbG8===", "SGVsbG8==", "SGVsbG8g=="])
def test_b64_decode_and_cat_data_both_refuse_wrong_padding(run: Run, text: str) -> None:
    decoded = run("b64", "-d", "-", input=text.encode() + b"\n")
    assert (decoded.returncode, decoded.stdout) == (2, b""), decoded.stderr
    assert run("cat", f"data:{text}").returncode == 2


@pytest.mark.parametrize("text", ["SGVsbG8=", "SGVsbG8"])
def test_b64_decode_and_cat_data_both_take_exact_or_no_padding(run: Run, text: str) -> None:
    assert run("b64", "-d", "-", input=text.encode()).stdout == b"Hello"
    assert run("cat", f"data:{text}").stdout == b"Hello"
