"""`genrostore cleanup`: what `kill -9` leaves behind is found and removed, and nothing else is."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from genrostore.core import errors
from genrostore.core.cleanup import parse_age
from tests.reliability.conftest import Cli, write_profile

DAY = 86400
STALE = ".big.bin.0a1b2c3d.genrostore-tmp"
STALE_DEEP = ".deep.txt.99aa88bb.genrostore-tmp"
FRESH = ".fresh.bin.12345678.genrostore-tmp"
# Files that look close but are not genrostore's temp files: never touched.
LOOKALIKES = ["big.bin", ".big.bin", "notes.genrostore-tmp", ".x.genrostore-tmp", ".x.0a1b2c3d.genrostore-tmp.bak"]


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800), ("2h", 7200), ("7d", 7 * DAY), ("1w", 7 * DAY),
                                               ("90s", 90), ("3600", 3600), ("0", 0), ("1.5h", 5400)])
def test_age_accepts_units_and_plain_seconds(text: str, seconds: int) -> None:
    assert parse_age(text) == timedelta(seconds=seconds)


def test_a_bad_age_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, {"disk": {"type": "local", "path": str(tmp_path)}})
    result = cli("cleanup", "--age", "soon", "disk:", profile=profile).expect(errors.USAGE)
    assert "--age" in result.err


def _plant(directory: Path, *, old: float) -> None:
    """A stale temp file (and one deeper), a fresh one, and lookalikes that are not temp files."""
    (directory / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
    for path in (directory / STALE, directory / "sub" / "deeper" / STALE_DEEP, directory / FRESH,
                 *(directory / name for name in LOOKALIKES)):
        path.write_bytes(b"partial")
        if path.name != FRESH:
            os.utime(path, (old, old))


def _left(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


ALL = sorted([STALE, f"sub/deeper/{STALE_DEEP}", FRESH, *LOOKALIKES])
AFTER = sorted([FRESH, *LOOKALIKES])


@pytest.fixture
def planted(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str, Path]:
    """(profile, directory address, the directory on disk) with `_plant`ed files, two days old."""
    prefix = f"clean-{uuid.uuid4().hex[:8]}"
    kind = request.param
    if kind == "local":
        profile = write_profile(tmp_path, {"disk": {"type": "local", "path": str(tmp_path / "disk")}})
        address, directory = f"disk:{prefix}", tmp_path / "disk" / prefix
    else:
        case = request.getfixturevalue(f"case_{kind}")
        # The servers' users own their trees: make the directory through them, then plant locally.
        assert case.cli("mkdir", "-p", f"{case.mount}:{prefix}/sub/deeper").returncode == 0
        root = (Path(case.mount_options["path"]) if kind == "sftp"
                else request.getfixturevalue("webdav_servers").anonymous.root)
        profile, address, directory = case.profile, f"{case.mount}:{prefix}", root / prefix
    directory.mkdir(parents=True, exist_ok=True)
    _plant(directory, old=time.time() - 2 * DAY)
    return profile, address, directory


@pytest.mark.parametrize("planted", ["local", "sftp", "webdav"], indirect=True)
def test_cleanup_removes_only_stale_temp_files_recursively(cli: Cli, planted: tuple[Path, str, Path]) -> None:
    profile, address, directory = planted
    result = cli("cleanup", address, profile=profile).expect(0)
    assert _left(directory) == AFTER
    assert sorted(result.stdout.decode().splitlines()) == sorted(
        [f"removed {address}/{STALE}", f"removed {address}/sub/deeper/{STALE_DEEP}"])


@pytest.mark.parametrize("planted", ["local", "sftp", "webdav"], indirect=True)
def test_cleanup_dry_run_reports_and_removes_nothing(cli: Cli, planted: tuple[Path, str, Path]) -> None:
    profile, address, directory = planted
    result = cli("cleanup", "--dry-run", address, profile=profile).expect(0)
    assert _left(directory) == ALL
    assert sorted(result.stdout.decode().splitlines()) == sorted(
        [f"DRY-RUN: remove {address}/{STALE}", f"DRY-RUN: remove {address}/sub/deeper/{STALE_DEEP}"])


@pytest.mark.parametrize("planted", ["local"], indirect=True)
def test_cleanup_keeps_temp_files_younger_than_the_age(cli: Cli, planted: tuple[Path, str, Path]) -> None:
    profile, address, directory = planted
    cli("cleanup", "--age", "3d", address, profile=profile).expect(0)
    assert _left(directory) == ALL
    cli("cleanup", "--age", "0", address, profile=profile).expect(0)
    assert _left(directory) == sorted(LOOKALIKES)


def test_cleanup_removes_what_kill_9_left_of_a_copy(cli: Cli, tmp_path: Path) -> None:
    profile = write_profile(tmp_path, {"disk": {"type": "local", "path": str(tmp_path / "disk")}})
    proc = cli.popen("cp", "-", "disk:out/big.bin", profile=profile)
    assert proc.stdin is not None
    proc.stdin.write(os.urandom(1024 * 1024))
    proc.stdin.flush()
    out = tmp_path / "disk" / "out"
    _wait_for(lambda: out.exists() and any(out.iterdir()), "the temp file")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdin.close()
    assert len(list(out.iterdir())) == 1
    cli("cleanup", "--age", "0", "disk:", profile=profile).expect(0)
    assert list(out.iterdir()) == []


def test_cleanup_refuses_a_read_only_mount(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / STALE).write_bytes(b"x")
    profile = write_profile(tmp_path, {"ro": {"type": "local", "path": str(tmp_path / "ro"), "readonly": True}})
    cli("cleanup", "--age", "0", "ro:", profile=profile).expect(errors.NOT_PERMITTED)
    assert (tmp_path / "ro" / STALE).exists()


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


# -- S3: incomplete multipart uploads ----------------------------------------------------------
def _client(options: dict):  # a boto3 client
    import boto3

    return boto3.client("s3", endpoint_url=options["endpoint_url"], region_name=options["region"],
                        aws_access_key_id=options["access_key"], aws_secret_access_key=options["secret_key"])


def _uploads(client, bucket: str, prefix: str) -> list[str]:
    return sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=bucket, Prefix=prefix).get("Uploads", []))


def test_cleanup_aborts_a_left_multipart_upload_on_s3(cli: Cli, request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_s3")
    options = case.mount_options
    client = _client(options)
    bucket, prefix = options["bucket"], f"clean-{uuid.uuid4().hex[:8]}"
    for key in (f"{prefix}/a.bin", f"{prefix}/sub/b.bin", f"{prefix}-other/c.bin"):
        upload = client.create_multipart_upload(Bucket=bucket, Key=key)
        client.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024)
    address = f"{case.mount}:{prefix}"

    # (moto reports every upload as initiated on 2010-11-10: the age filter is proven on the
    # temp files above, through the same code.)
    dry = cli("cleanup", "--dry-run", "--age", "0", address, profile=case.profile).expect(0)
    assert len([line for line in dry.stdout.decode().splitlines() if line.startswith("DRY-RUN: abort")]) == 2
    assert len(_uploads(client, bucket, f"{prefix}/")) == 2

    done = cli("cleanup", "--age", "0", address, profile=case.profile).expect(0)
    assert _uploads(client, bucket, f"{prefix}/") == []
    assert f"aborted multipart upload {case.mount}:{prefix}/sub/b.bin (" in done.stdout.decode()
    assert _uploads(client, bucket, f"{prefix}-other/") == [f"{prefix}-other/c.bin"]  # outside PATH: kept
