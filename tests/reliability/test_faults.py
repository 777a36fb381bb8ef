"""Faults never lose or corrupt data and never report success: a full disk, a multi-file copy
where some files fail, Ctrl-C during an upload, and a server killed in the middle of a transfer
(then restarted: the rerun completes with matching bytes)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from genrostore.core import errors
from tests.reliability.conftest import Cli, write_profile

MiB = 1024 * 1024


def _random_file(path: Path, size: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    path.write_bytes(data)
    return hashlib.md5(data).hexdigest()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    limit = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > limit:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- a destination that fills up -------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: writes past it fail with ENOSPC."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    target = tmp_path / "tiny"
    target.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target)], check=True)
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_fails_cleanly_and_leaves_no_partial_file(cli: Cli, tmp_path: Path, tiny_disk: Path) -> None:
    digest = _random_file(cli.home / "big.bin", 3 * MiB)
    profile = write_profile(tmp_path, {"tiny": {"type": "local", "path": str(tiny_disk)}})
    cli("cp", "home:big.bin", "tiny:big.bin", profile=profile).expect(errors.ERROR)
    assert list(tiny_disk.iterdir()) == []
    assert _md5(cli.home / "big.bin") == digest


def test_a_full_disk_is_reported_as_no_space_left_not_as_an_unexpected_error(cli: Cli, tmp_path: Path,
                                                                            tiny_disk: Path) -> None:
    _random_file(cli.home / "big.bin", 3 * MiB)
    profile = write_profile(tmp_path, {"tiny": {"type": "local", "path": str(tiny_disk)}})
    result = cli("cp", "home:big.bin", "tiny:big.bin", profile=profile).expect(errors.ERROR)
    assert "no space left" in result.err and "unexpected" not in result.err


def test_a_full_disk_keeps_the_previous_version_of_the_destination(cli: Cli, tmp_path: Path,
                                                                   tiny_disk: Path) -> None:
    (tiny_disk / "big.bin").write_bytes(b"previous version\n")
    _random_file(cli.home / "big.bin", 3 * MiB)
    profile = write_profile(tmp_path, {"tiny": {"type": "local", "path": str(tiny_disk)}})
    cli("cp", "home:big.bin", "tiny:big.bin", profile=profile).expect(errors.ERROR)
    assert (tiny_disk / "big.bin").read_bytes() == b"previous version\n"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["big.bin"]


def test_a_full_disk_from_a_stream_leaves_no_partial_file(cli: Cli, tmp_path: Path, tiny_disk: Path) -> None:
    profile = write_profile(tmp_path, {"tiny": {"type": "local", "path": str(tiny_disk)}})
    cli("cp", "-", "tiny:stream.bin", profile=profile, input=os.urandom(3 * MiB)).expect(errors.ERROR)
    assert list(tiny_disk.iterdir()) == []


# -- some files of many fail ---------------------------------------------------------------------
def test_a_multi_file_copy_completes_the_others_lists_failures_and_exits_1(cli: Cli) -> None:
    src = cli.home / "src"
    for name in ("a.txt", "b.txt", "c.txt"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(name)
    out = cli.home / "out"
    (out / "b.txt").mkdir(parents=True)  # a directory where a file must go: that one copy fails
    result = cli("cp", "src/a.txt", "src/missing.txt", "src/b.txt", "src/c.txt", "out/").expect(errors.ERROR)
    assert (out / "a.txt").read_text() == "a.txt" and (out / "c.txt").read_text() == "c.txt"
    assert "2 of 4 file(s) failed" in result.err
    failed = [line for line in result.err.splitlines() if line.strip().startswith("failed:")]
    assert len(failed) == 2 and any("missing.txt" in f for f in failed) and any("b.txt" in f for f in failed)


def test_a_recursive_copy_with_one_failing_file_copies_the_rest_and_exits_1(cli: Cli) -> None:
    for index in range(6):
        (cli.home / "tree" / f"d{index % 2}" / f"f{index}.txt").parent.mkdir(parents=True, exist_ok=True)
        (cli.home / "tree" / f"d{index % 2}" / f"f{index}.txt").write_text(str(index))
    (cli.home / "dest" / "d1" / "f3.txt").mkdir(parents=True)
    result = cli("cp", "-r", "-j", "3", "tree/", "dest/").expect(errors.ERROR)
    copied = sorted(str(p.relative_to(cli.home / "dest")) for p in (cli.home / "dest").rglob("*.txt") if p.is_file())
    assert copied == ["d0/f0.txt", "d0/f2.txt", "d0/f4.txt", "d1/f1.txt", "d1/f5.txt"]
    assert "1 of 6 file(s) failed" in result.err and "f3.txt" in result.err


# -- Ctrl-C during an upload to a remote store --------------------------------------------------------
def _s3_client(options: dict):  # a boto3 client
    import boto3

    return boto3.client("s3", endpoint_url=options["endpoint_url"], region_name=options["region"],
                        aws_access_key_id=options["access_key"], aws_secret_access_key=options["secret_key"])


def _uploads(client, bucket: str, key: str) -> list:
    return [u for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) if u["Key"] == key]


def _objects(client, bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def _interrupt(proc: subprocess.Popen[bytes], close_after: float | None = 0.5) -> tuple[int, bytes]:
    """Ctrl-C as a shell delivers it to a pipeline: the producer feeding stdin dies a moment later
    (`close_after` seconds; None: it never does)."""
    proc.send_signal(signal.SIGINT)
    assert proc.stdin is not None
    if close_after is not None:
        time.sleep(close_after)
        proc.stdin.close()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    finally:
        if not proc.stdin.closed:
            proc.stdin.close()
    assert proc.stderr is not None
    return proc.returncode, proc.stderr.read()


def test_sigint_during_an_s3_upload_exits_130_without_object_or_multipart_upload(
        cli: Cli, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_s3")
    options = case.mount_options
    client = _s3_client(options)
    key = f"sigint-{tmp_path.name}/big.bin"
    proc = cli.popen("cp", "-", f"{case.mount}:{key}", profile=case.profile)
    assert proc.stdin is not None
    proc.stdin.write(os.urandom(20 * MiB))  # past the 8 MiB part size: a multipart upload starts
    proc.stdin.flush()
    _wait_for(lambda: bool(_uploads(client, options["bucket"], key)), 30, "the multipart upload to start")
    code, stderr = _interrupt(proc)
    assert code == errors.INTERRUPTED, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert _objects(client, options["bucket"], f"sigint-{tmp_path.name}/") == []
    assert _uploads(client, options["bucket"], key) == []


def test_sigint_during_a_batched_download_leaves_only_whole_files(cli: Cli, tmp_path: Path,
                                                                 request: pytest.FixtureRequest) -> None:
    """Small objects travel as coroutines (core/pipeline/batch.py): Ctrl-C cancels them, and no temp file
    or short file is left in the destination."""
    case = request.getfixturevalue("case_s3")
    options = case.mount_options
    client = _s3_client(options)
    prefix = f"sigint-batch-{tmp_path.name}"
    body = os.urandom(4096)
    for index in range(600):
        client.put_object(Bucket=options["bucket"], Key=f"{prefix}/{index:04}.bin", Body=body)
    dest = cli.home / "down"
    proc = cli.popen("cp", "-r", "-j", "2", f"{case.mount}:{prefix}/", "down/", profile=case.profile)
    _wait_for(lambda: dest.exists() and len(list(dest.iterdir())) >= 20, 30, "the download to start")
    code, stderr = _interrupt(proc)
    assert code == errors.INTERRUPTED, stderr
    assert b"Traceback" not in stderr
    left = list(dest.iterdir())
    assert len(left) < 600
    assert all(p.name.endswith(".bin") and p.read_bytes() == body for p in left), sorted(p.name for p in left)


def test_sigint_during_an_sftp_upload_exits_130_and_leaves_no_file(cli: Cli, tmp_path: Path,
                                                                   request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_sftp")
    server_dir = Path(case.mount_options["path"]) / f"sigint-{tmp_path.name}"
    proc = cli.popen("cp", "-", f"{case.mount}:sigint-{tmp_path.name}/big.bin", profile=case.profile)
    assert proc.stdin is not None
    proc.stdin.write(os.urandom(4 * MiB))
    proc.stdin.flush()
    _wait_for(lambda: server_dir.exists() and any(p.stat().st_size > 0 for p in server_dir.iterdir()), 30,
              "the upload to start")
    code, stderr = _interrupt(proc)
    assert code == errors.INTERRUPTED, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert list(server_dir.iterdir()) == []


def test_sigint_exits_even_when_the_source_stays_open(cli: Cli, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    case = request.getfixturevalue("case_s3")
    client = _s3_client(case.mount_options)
    key = f"open-{tmp_path.name}/big.bin"
    proc = cli.popen("cp", "-", f"{case.mount}:{key}", profile=case.profile)
    assert proc.stdin is not None
    proc.stdin.write(os.urandom(20 * MiB))
    proc.stdin.flush()
    _wait_for(lambda: bool(_uploads(client, case.mount_options["bucket"], key)), 30, "the multipart upload")
    code, _ = _interrupt(proc, close_after=None)
    assert code == errors.INTERRUPTED
    assert _uploads(client, case.mount_options["bucket"], key) == []


# -- a server killed in the middle of a transfer ----------------------------------------------------
SIZE = 48 * MiB


def _start(kind: str, workdir: Path):  # the server module's dataclass
    from tests.servers import s3, sftp, webdav

    module = {"s3": s3, "sftp": sftp, "webdav": webdav}[kind]
    server = module.start(workdir)
    if kind == "webdav":
        server.authenticated.stop()  # only the anonymous one is used, and the test stops only that one
        return server.anonymous
    return server


def _options(kind: str, server: object) -> dict:
    from tests.cases import cloud, network

    if kind == "s3":
        return cloud.s3_options(server, bucket="killed")  # type: ignore[arg-type]
    if kind == "sftp":
        return network.sftp_options(server)  # type: ignore[arg-type]
    return network.webdav_options(server)  # type: ignore[arg-type]


def _prepare(kind: str, options: dict) -> None:
    """moto keeps its data in memory: the bucket is created on every (re)start."""
    if kind == "s3":
        from tests.cases.cloud import make_bucket

        make_bucket(options)


def _upload_started(kind: str, server: object, options: dict) -> Callable[[], bool]:
    if kind == "s3":
        client = _s3_client(options)
        return lambda: bool(_uploads(client, options["bucket"], "dir/big.bin"))
    root = Path(options["path"]) if kind == "sftp" else server.root  # type: ignore[attr-defined]

    def started() -> bool:
        return any(p.is_file() and p.stat().st_size > 0 for p in (root / "dir").glob("*")) if (root / "dir").exists() else False

    return started


def _visible_destination(kind: str, server: object, options: dict) -> list[str]:
    """What a user listing the destination directory would see (temp files are hidden dot names)."""
    if kind == "s3":
        return _objects(_s3_client(options), options["bucket"], "dir/")
    root = Path(options["path"]) if kind == "sftp" else server.root  # type: ignore[attr-defined]
    return sorted(p.name for p in (root / "dir").glob("*") if not p.name.startswith(".")) if (root / "dir").exists() else []


@pytest.mark.parametrize("kind", ["s3", "sftp", "webdav"])
def test_killing_the_server_mid_transfer_fails_cleanly_and_a_rerun_completes(cli: Cli, tmp_path: Path,
                                                                            kind: str) -> None:
    digest = _random_file(cli.home / "big.bin", SIZE)
    server = _start(kind, tmp_path / "server")
    try:
        options = _options(kind, server)
        _prepare(kind, options)
        profile = write_profile(tmp_path, {"remote": options})
        # The source is fed through stdin and held open until the server is dead, so the kill
        # always lands mid-transfer however fast the loopback is.
        proc = cli.popen("--retries", "1", "--timeout", "3", "cp", "-", "remote:dir/big.bin", profile=profile)
        assert proc.stdin is not None
        with open(cli.home / "big.bin", "rb") as source:
            proc.stdin.write(source.read(SIZE // 2))
            proc.stdin.flush()
            _wait_for(_upload_started(kind, server, options), 60, "the upload to start")
            server.kill()
            try:
                proc.stdin.write(source.read())
                proc.stdin.close()
            except (BrokenPipeError, ValueError):
                pass  # genrostore stopped reading: the point of the test
            proc.stdin = None  # communicate() must not flush a pipe that already broke
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode in (errors.TEMPORARY, errors.ERROR), stderr
        assert b"Traceback" not in stderr and b"genrostore:" in stderr
        assert _md5(cli.home / "big.bin") == digest

        server.processes[0].start()
        _prepare(kind, options)
        assert _visible_destination(kind, server, options) == []
        cli("cp", "home:big.bin", "remote:dir/big.bin", profile=profile, timeout=120).expect(errors.OK)
        result = cli("md5", "remote:dir/big.bin", profile=profile).expect(errors.OK)
        assert result.stdout.split()[0].decode() == digest
        assert _visible_destination(kind, server, options) == ["big.bin" if kind != "s3" else "dir/big.bin"]
    finally:
        server.stop()
