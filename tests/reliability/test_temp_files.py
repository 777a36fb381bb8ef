"""Temp files: named within the 255-byte limit by one scheme, and private while in flight."""

from __future__ import annotations

import os
import stat
import time
import uuid
from pathlib import Path

import pytest

from genrostore.core import tempnames
from tests.reliability.conftest import Cli, write_profile

LONG_NAMES = {  # 255 bytes each: the longest name ext4 or OpenSSH accept
    "ascii": "n" * 251 + ".txt",
    "utf8": "\u00e9" * 123 + "\u65e5bx.txt",  # 2- and 3-byte characters
}


def _size(name: str) -> int:
    return len(name.encode("utf-8"))


def test_long_names_are_255_bytes() -> None:
    assert {key: _size(name) for key, name in LONG_NAMES.items()} == {"ascii": 255, "utf8": 255}


@pytest.mark.parametrize("length", [1, 100, 228, 229, 230, 231, 254, 255, 300])
@pytest.mark.parametrize("char", ["a", "\u00e9", "\u65e5", "\U0001f600"])
def test_a_temp_name_fits_255_bytes_is_recognised_and_keeps_whole_characters(length: int, char: str) -> None:
    name = char * length
    temp = tempnames.temp_name(name)
    assert _size(temp) <= tempnames.MAX_NAME_BYTES
    assert tempnames.is_temp(temp)
    assert temp.encode("utf-8").decode("utf-8") == temp  # no character cut in half
    if _size(name) + 26 <= 255:
        assert temp.startswith(f".{name}.")
    assert tempnames.temp_name(name) != temp


def test_temp_names_do_not_repeat_in_a_process_nor_in_a_forked_child() -> None:
    """Tokens come from the random module's generator: distinct in one process, and a child
    made by fork (a cluster worker) does not replay its parent's sequence."""
    names = {tempnames.temp_name("f") for _ in range(2000)}
    assert len(names) == 2000 and all(tempnames.is_temp(name) for name in names)
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(writer, tempnames.temp_name("f").encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    from_child = os.read(reader, 200).decode()
    os.close(reader)
    assert from_child != tempnames.temp_name("f")


def test_only_genrostore_temp_names_are_recognised() -> None:
    assert tempnames.is_temp(".report.pdf.0a1b2c3d.genrostore-tmp")
    assert tempnames.is_temp(".report.pdf.jyai00r5.genrostore-tmp")  # earlier versions' local names
    for name in ("report.pdf", "report.genrostore-tmp", ".report.genrostore-tmp", ".x.0a1b2c3.genrostore-tmp",
                 ".x.0a1b2c3d.genrostore-tmp.bak", "x.0a1b2c3d.genrostore-tmp"):
        assert not tempnames.is_temp(name), name


@pytest.fixture
def long_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, Path]:
    """(profile, directory address, the directory on the server's disk)."""
    prefix = f"long-{uuid.uuid4().hex[:8]}"
    if request.param == "local":
        profile = write_profile(tmp_path, {"disk": {"type": "local", "path": str(tmp_path / "disk")}})
        return profile, f"disk:{prefix}", tmp_path / "disk" / prefix
    if request.param == "sftp":
        case = request.getfixturevalue("case_sftp")
        return case.profile, f"{case.mount}:{prefix}", Path(case.mount_options["path"]) / prefix
    case = request.getfixturevalue("case_webdav")
    root = request.getfixturevalue("webdav_servers").anonymous.root
    return case.profile, f"{case.mount}:{prefix}", root / prefix


@pytest.mark.parametrize("long_target", ["local", "sftp", "webdav"], indirect=True)
@pytest.mark.parametrize("kind", list(LONG_NAMES))
def test_a_255_byte_name_can_be_written_and_overwritten(cli: Cli, long_target: tuple[Path, str, Path], kind: str) -> None:
    profile, directory, on_disk = long_target
    name = LONG_NAMES[kind]
    for body in (b"first\n", b"second\n"):
        cli("--retries", "0", "cp", "-", f"{directory}/{name}", profile=profile, input=body).expect(0)
        assert (on_disk / name).read_bytes() == body
    assert sorted(p.name for p in on_disk.iterdir()) == [name]  # no temp file left


# -- sftp: a partial upload is readable by its owner only ------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _upload_through_stdin(cli: Cli, case: object, address: str, server_dir: Path) -> int:
    """Feed a stdin upload, return the temp file's mode while it is in flight, then finish it."""
    proc = cli.popen("cp", "-", address, profile=case.profile)  # type: ignore[attr-defined]
    assert proc.stdin is not None
    proc.stdin.write(os.urandom(2 * 1024 * 1024))
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    temps: list[Path] = []
    while not temps:
        assert time.monotonic() < deadline, "no temp file appeared"
        temps = [p for p in server_dir.glob("*") if tempnames.is_temp(p.name)] if server_dir.exists() else []
        time.sleep(0.02)
    mode = stat.S_IMODE(temps[0].stat().st_mode)
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else b""
    return mode


def test_sftp_temp_files_are_private_in_flight_and_get_the_final_mode(cli: Cli, request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_sftp")
    prefix = f"mode-{uuid.uuid4().hex[:8]}"
    server_dir = Path(case.mount_options["path"]) / prefix
    in_flight = _upload_through_stdin(cli, case, f"{case.mount}:{prefix}/new.bin", server_dir)
    assert in_flight == 0o600, oct(in_flight)
    assert stat.S_IMODE((server_dir / "new.bin").stat().st_mode) == 0o666 & ~_umask()


def test_sftp_overwrite_keeps_the_mode_of_the_file_it_replaces(cli: Cli, request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_sftp")
    prefix = f"mode-{uuid.uuid4().hex[:8]}"
    server_dir = Path(case.mount_options["path"]) / prefix
    cli("cp", "-", f"{case.mount}:{prefix}/old.bin", profile=case.profile, input=b"old").expect(0)
    (server_dir / "old.bin").chmod(0o640)
    in_flight = _upload_through_stdin(cli, case, f"{case.mount}:{prefix}/old.bin", server_dir)
    assert in_flight == 0o600, oct(in_flight)
    assert stat.S_IMODE((server_dir / "old.bin").stat().st_mode) == 0o640
