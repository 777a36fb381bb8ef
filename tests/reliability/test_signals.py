"""Signals during a copy: nothing incomplete is published, nothing is left behind.

Ctrl-C in a terminal signals a whole pipeline, so `producer | genrostore cp - dest` sees the
producer's EOF and its own SIGINT together; SIGTERM (kill, systemd, CI time-outs) and SIGHUP (a
closed terminal) must clean up as Ctrl-C does; a second Ctrl-C must not cut that clean-up short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from genrostore.core import errors, tempnames
from genrostore.core.signals import STDIN_EOF_GRACE
from tests.reliability.conftest import Cli, write_profile

MiB = 1024 * 1024


@dataclass
class Target:
    """A fresh directory on one backend, and what a user (or the bill) would see in it."""

    kind: str
    profile: Path
    mount: str
    prefix: str
    visible: Callable[[], list[str]]  # published files
    debris: Callable[[], list[str]]  # temp files, open multipart uploads
    started: Callable[[], bool]  # the upload has reached the server

    def address(self, name: str) -> str:
        return f"{self.mount}:{self.prefix}/{name}"


def _directory_target(kind: str, profile: Path, mount: str, prefix: str, root: Path) -> Target:
    def names() -> list[Path]:
        return sorted(root.iterdir()) if root.exists() else []

    return Target(kind, profile, mount, prefix,
                  visible=lambda: [p.name for p in names() if not tempnames.is_temp(p.name)],
                  debris=lambda: [p.name for p in names() if tempnames.is_temp(p.name)],
                  started=lambda: any(p.stat().st_size > 0 for p in names() if tempnames.is_temp(p.name)))


def _s3_target(case: object, prefix: str) -> Target:
    import boto3

    options = case.mount_options  # type: ignore[attr-defined]
    client = boto3.client("s3", endpoint_url=options["endpoint_url"], region_name=options["region"],
                          aws_access_key_id=options["access_key"], aws_secret_access_key=options["secret_key"])
    bucket = options["bucket"]

    def uploads() -> list[str]:
        found = client.list_multipart_uploads(Bucket=bucket, Prefix=f"{prefix}/").get("Uploads", [])
        return [f"upload {u['Key']} {u['UploadId']}" for u in found]

    def objects() -> list[str]:
        found = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
        return [o["Key"].rsplit("/", 1)[-1] for o in found]

    return Target("s3", case.profile, case.mount, prefix, visible=objects, debris=uploads,  # type: ignore[attr-defined]
                  started=lambda: bool(uploads()))


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    kind = request.param
    prefix = f"sig-{uuid.uuid4().hex[:10]}"
    if kind == "local":
        root = tmp_path / "disk"
        profile = write_profile(tmp_path, {"disk": {"type": "local", "path": str(root)}})
        return _directory_target(kind, profile, "disk", prefix, root / prefix)
    if kind == "s3":
        return _s3_target(request.getfixturevalue("case_s3"), prefix)
    if kind == "sftp":
        case = request.getfixturevalue("case_sftp")
        return _directory_target(kind, case.profile, case.mount, prefix, Path(case.mount_options["path"]) / prefix)
    case = request.getfixturevalue("case_webdav")
    root = request.getfixturevalue("webdav_servers").anonymous.root
    return _directory_target(kind, case.profile, case.mount, prefix, root / prefix)


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _finish(proc: subprocess.Popen[bytes], timeout: float = 30) -> tuple[int, str]:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise
    finally:
        if proc.stdin is not None and not proc.stdin.closed:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
    assert proc.stderr is not None
    return proc.returncode, proc.stderr.read().decode("utf-8", "replace")


# -- item 5: EOF and SIGINT together -----------------------------------------------------------
# Each try is a fresh process racing the same two timings (odd tries 0.5 ms apart). With the EOF
# grace and the last publish check both removed, the first local try published: a few tries of
# each timing per target keep that proof (30 and 20 tries repeated it, ~85 s).
@pytest.mark.parametrize(("target", "jobs", "tries"), [("local", [], 10), ("local", ["-j", "1"], 10), ("s3", [], 6),
                                                       ("sftp", [], 6)],
                         indirect=["target"], ids=["local", "local-j1", "s3", "sftp"])
def test_eof_and_sigint_together_never_publish_the_truncated_input(cli: Cli, target: Target, jobs: list[str],
                                                                   tries: int) -> None:
    """The producer's EOF and our SIGINT arrive together (as a terminal's Ctrl-C delivers them to a
    pipeline) or 0.5 ms apart: every try exits 130 and publishes nothing. (-j 1 reads stdin on the
    main thread, where the signal handler runs; otherwise a worker thread reads it.) "Together" is
    made exact by stopping the process around the two; a 0.5 ms try that this test's own process
    was too slow to make (on a loaded machine) is made again."""
    attempt = late = 0
    while attempt < tries:
        name = f"late{late}.bin" if attempt % 2 else f"f{attempt}.bin"
        proc = cli.popen("cp", *jobs, "-", target.address(name), profile=target.profile)
        assert proc.stdin is not None
        # More than a pipe buffer: the write returns only once genrostore is reading it.
        proc.stdin.write(os.urandom(MiB))
        proc.stdin.flush()
        if attempt % 2:
            started = time.monotonic()
            proc.stdin.close()
            time.sleep(0.0005)
            os.kill(proc.pid, signal.SIGINT)
            if time.monotonic() - started > STDIN_EOF_GRACE / 2 and late < 2 * tries:
                # This process was descheduled between the two (a loaded machine): the signal came
                # later than a terminal sends it, so the try did not test what it is for.
                # It may rightly publish (under a name of its own, left out below); the try is made again.
                _finish(proc)
                late += 1
                continue
        else:
            # Stopped, the process sees the EOF and the signal only together, whatever the load.
            os.kill(proc.pid, signal.SIGSTOP)
            proc.stdin.close()
            os.kill(proc.pid, signal.SIGINT)
            os.kill(proc.pid, signal.SIGCONT)
        code, stderr = _finish(proc)
        assert code == errors.INTERRUPTED, f"try {attempt}: exit {code}\n{stderr}"
        assert "Traceback" not in stderr
        published = [n for n in target.visible() if n == name or not n.startswith("late")]
        assert published == [], f"try {attempt} published the truncated input: {published}"
        attempt += 1
    assert target.debris() == []


def test_a_complete_stdin_copy_still_publishes(cli: Cli, tmp_path: Path) -> None:
    """The grace given to a signal after EOF does not hold back a copy nobody interrupted."""
    profile = write_profile(tmp_path, {"disk": {"type": "local", "path": str(tmp_path / "disk")}})
    result = cli("cp", "-", "disk:out.bin", profile=profile, input=b"all of it\n").expect(0)
    assert (tmp_path / "disk" / "out.bin").read_bytes() == b"all of it\n", result.err


# -- item 6: SIGTERM, SIGHUP and a second Ctrl-C clean up -------------------------------------
def _start_upload(cli: Cli, target: Target) -> subprocess.Popen[bytes]:
    """A stdin upload whose producer stays alive (stdin open) and that has reached the server."""
    proc = cli.popen("cp", "-", target.address("big.bin"), profile=target.profile)
    assert proc.stdin is not None
    proc.stdin.write(os.urandom(20 * MiB if target.kind == "s3" else 4 * MiB))  # S3: past one 8 MiB part
    proc.stdin.flush()
    _wait_for(target.started, 30, "the upload to reach the server")
    time.sleep(0.5)  # the input is consumed: the copy now waits on stdin, so clean-up takes a while
    return proc


SIGNALS = {
    "SIGTERM": ([signal.SIGTERM], errors.TERMINATED, "SIGTERM"),
    "SIGHUP": ([signal.SIGHUP], errors.HUNG_UP, "SIGHUP"),
    "double-SIGINT": ([signal.SIGINT, signal.SIGINT, signal.SIGINT], errors.INTERRUPTED, "interrupted"),
}


@pytest.mark.parametrize("target", ["local", "s3", "sftp", "webdav"], indirect=True)
@pytest.mark.parametrize("how", list(SIGNALS))
def test_a_signal_mid_copy_removes_temp_files_and_uploads_and_says_so(cli: Cli, target: Target, how: str) -> None:
    """SIGTERM exits 143, SIGHUP 129, each after the clean-up Ctrl-C does; Ctrl-C pressed three
    times (0.3 s apart, during the clean-up) still exits 130 with nothing left behind."""
    signums, code, said = SIGNALS[how]
    proc = _start_upload(cli, target)
    for index, signum in enumerate(signums):
        if index:
            time.sleep(0.3)
        proc.send_signal(signum)
    exit_code, stderr = _finish(proc)
    assert exit_code == code, stderr
    assert said in stderr and "Traceback" not in stderr
    assert target.visible() == []
    assert target.debris() == []
