"""`genrostore md5`, `b64`, `stat` and `mounts`."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

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
