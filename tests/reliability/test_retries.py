"""Transient errors are retried with backoff (`--retries N` means N+1 attempts), permanent ones
are not, a stalled transfer is detected and retried, and no network backend hangs on a dead
server: every promise is checked by counting the requests a local server received."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genrostore.core import errors
from tests.reliability.conftest import (Cli, ScriptedHTTPServer, SilentServer, refused_port,
                                        write_profile)

TREE = "repos/o/r/git/trees/main"
S3_KEY = "/bucket/data.bin"


def _github(server: ScriptedHTTPServer) -> dict:
    return {"type": "github", "org": "o", "repo": "r", "sha": "main", "api_url": server.url}


def _s3(server_url: str) -> dict:
    return {"type": "s3", "bucket": "bucket", "endpoint_url": server_url, "region": "eu-west-1",
            "access_key": "AKIARELIABILITY", "secret_key": "reliability-secret"}


def _tree() -> bytes:
    return json.dumps({"sha": "main", "truncated": False, "tree": [
        {"path": "hello.txt", "type": "blob", "mode": "100644", "sha": "a" * 40, "size": 6}]}).encode()


# -- github (requests) against a scripted API ------------------------------------------------------
def test_503_every_time_is_tried_retries_plus_one_times_then_exits_5(cli: Cli, tmp_path: Path,
                                                                     scripted: ScriptedHTTPServer) -> None:
    scripted.always = 503
    profile = write_profile(tmp_path, {"gh": _github(scripted)})
    result = cli("--retries", "3", "ls", "gh:", profile=profile).expect(errors.TEMPORARY)
    assert scripted.count(path="/" + TREE) == 4
    assert "after 4 attempts" in result.err and "503" in result.err


def test_retries_0_means_one_attempt(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    scripted.always = 502
    profile = write_profile(tmp_path, {"gh": _github(scripted)})
    cli("--retries", "0", "ls", "gh:", profile=profile).expect(errors.TEMPORARY)
    assert scripted.count(path="/" + TREE) == 1


def test_transient_failures_then_success_exits_0(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    scripted.files[TREE] = _tree()
    scripted.fail = [503, 429]
    profile = write_profile(tmp_path, {"gh": _github(scripted)})
    result = cli("--retries", "3", "ls", "gh:", profile=profile).expect(errors.OK)
    assert "hello.txt" in result.stdout.decode()
    assert scripted.count(path="/" + TREE) == 3


# A 404 on the tree means the ref does not exist: the github backend reports that as configuration (7).
@pytest.mark.parametrize("status,code", [(404, errors.CONFIG), (401, errors.NOT_PERMITTED),
                                         (403, errors.NOT_PERMITTED)])
def test_permanent_errors_are_tried_exactly_once(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer,
                                                 status: int, code: int) -> None:
    scripted.always = status
    scripted.fail_body = b'{"message": "nope"}'
    scripted.fail_headers = {"Content-Type": "application/json"}
    profile = write_profile(tmp_path, {"gh": _github(scripted)})
    result = cli("--retries", "3", "ls", "gh:", profile=profile).expect(code)
    assert scripted.count(path="/" + TREE) == 1
    assert "attempts" not in result.err


def test_retries_back_off_instead_of_hammering(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    scripted.always = 503
    profile = write_profile(tmp_path, {"gh": _github(scripted)})
    result = cli("--retries", "5", "ls", "gh:", profile=profile).expect(errors.TEMPORARY)
    assert scripted.count(path="/" + TREE) == 6
    # Full jitter over 0.5, 1, 2, 4, 8 s caps: the expected total wait is ~7.7 s; zero wait means no backoff.
    assert result.seconds > 1.0


# -- s3 (botocore) against a scripted endpoint ---------------------------------------------------------
SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


def test_s3_slowdown_is_retried_then_exits_5(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    scripted.always = 503
    scripted.fail_body = SLOWDOWN
    scripted.fail_headers = {"Content-Type": "application/xml"}
    profile = write_profile(tmp_path, {"s": _s3(scripted.url)})
    result = cli("--retries", "2", "cat", "s:data.bin", profile=profile).expect(errors.TEMPORARY)
    assert scripted.count("HEAD", S3_KEY) == 3
    assert "after 3 attempts" in result.err


def test_s3_slowdown_then_success_reads_the_object(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    scripted.files[S3_KEY.lstrip("/")] = b"payload\n"
    scripted.fail = [503, 500]
    scripted.fail_body = SLOWDOWN
    scripted.fail_headers = {"Content-Type": "application/xml"}
    profile = write_profile(tmp_path, {"s": _s3(scripted.url)})
    assert cli("--retries", "3", "cat", "s:data.bin", profile=profile).expect(errors.OK).stdout == b"payload\n"


def test_s3_access_denied_is_not_retried(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    scripted.always = 403
    scripted.fail_body = b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    scripted.fail_headers = {"Content-Type": "application/xml"}
    profile = write_profile(tmp_path, {"s": _s3(scripted.url)})
    cli("--retries", "3", "cat", "s:data.bin", profile=profile).expect(errors.NOT_PERMITTED)
    assert scripted.count("HEAD", S3_KEY) == 1


# -- http (when its module exists) -------------------------------------------------------------------
def test_http_503_is_retried_and_404_is_not(cli: Cli, tmp_path: Path, scripted: ScriptedHTTPServer) -> None:
    profile = write_profile(tmp_path, {"web": {"type": "http", "base_url": scripted.url}})
    scripted.always = 503
    result = cli("--retries", "3", "cat", "web:x.bin", profile=profile).expect(errors.TEMPORARY)
    assert "after 4 attempts" in result.err
    attempts = scripted.count(path="/x.bin")
    assert 4 <= attempts <= 8, scripted.requests  # one or two requests (HEAD, GET) per attempt
    scripted.always = None
    scripted.requests.clear()
    cli("--retries", "3", "cat", "web:missing.bin", profile=profile).expect(errors.FILE_NOT_FOUND)
    assert 1 <= scripted.count(path="/missing.bin") <= 2, scripted.requests


# -- the stall watchdog ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["s3", "http"])
def test_a_trickling_download_is_detected_as_stalled_and_retried(cli: Cli, tmp_path: Path,
                                                                 scripted: ScriptedHTTPServer, kind: str) -> None:
    data = bytes(range(256)) * 4096 * 4  # 4 MiB
    scripted.files["bucket/data.bin" if kind == "s3" else "data.bin"] = data
    scripted.trickle = (4096, 0.05)  # ~80 KB/s: about 50 s for the whole body
    scripted.trickle_count = 1  # only the first download trickles: the retry is fast
    options = _s3(scripted.url) if kind == "s3" else {"type": "http", "base_url": scripted.url}
    profile = write_profile(tmp_path, {"src": options})
    result = cli("--retries", "1", "--timeout", "10", "--low-speed-limit", "500000", "--low-speed-time", "2",
                 "cp", "src:data.bin", "home:data.bin", profile=profile, timeout=15)
    result.expect(errors.OK)
    assert (cli.home / "data.bin").read_bytes() == data
    assert result.seconds < 12


# -- dead servers: nothing hangs --------------------------------------------------------------------
def _dead_options(kind: str, port: int, tmp_path: Path) -> dict:
    url = f"http://127.0.0.1:{port}"
    known_hosts = tmp_path / "known_hosts"
    known_hosts.touch()
    return {
        "s3": _s3(url),
        "gcs": {"type": "gcs", "bucket": "b", "endpoint_url": url, "token": "anon", "project": "p"},
        "azure": {"type": "azure", "container": "c", "account_name": "devstoreaccount1",
                  "account_key": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
                  "endpoint_url": f"{url}/devstoreaccount1"},
        "sftp": {"type": "sftp", "host": "127.0.0.1", "port": port, "username": "u", "password": "p",
                 "known_hosts": str(known_hosts)},
        "smb": {"type": "smb", "host": "127.0.0.1", "port": port, "share": "s", "username": "u", "password": "p"},
        "webdav": {"type": "webdav", "url": url},
        "http": {"type": "http", "base_url": url},
        "github": {"type": "github", "org": "o", "repo": "r", "sha": "main", "api_url": url, "token": "t"},
    }[kind]


NETWORK = ["s3", "gcs", "azure", "sftp", "smb", "webdav", "http", "github"]
DEADLINE = 20.0
def _dead_params() -> list:
    return [pytest.param(dead, kind, id=f"{dead}-{kind}") for dead in ("refused", "silent") for kind in NETWORK]


@pytest.mark.parametrize("dead,kind", _dead_params())
def test_a_dead_server_fails_cleanly_within_the_timeout(cli: Cli, tmp_path: Path, kind: str, dead: str) -> None:
    server = SilentServer() if dead == "silent" else None
    try:
        port = server.port if server else refused_port()
        profile = write_profile(tmp_path, {"dead": _dead_options(kind, port, tmp_path)})
        result = cli("--timeout", "2", "--retries", "0", "cat", "dead:x.txt", profile=profile, timeout=DEADLINE + 2)
    finally:
        if server:
            server.stop()
    assert result.returncode in (errors.TEMPORARY, errors.NOT_PERMITTED), result.err
    assert "Traceback" not in result.err and result.err.startswith("genrostore:")
    assert result.seconds < DEADLINE


# -- one retry budget per request: never retried again by the file copy around it (issue 12.20) -------
@pytest.mark.parametrize("size", [1024 * 1024, 70 * 1000 * 1000], ids=["1MB-stream", "70MB-ranges"])
def test_a_failing_download_is_tried_retries_plus_one_times_not_squared(cli: Cli, tmp_path: Path,
                                                                        scripted: ScriptedHTTPServer,
                                                                        size: int) -> None:
    scripted.files[S3_KEY.lstrip("/")] = b"x" * size
    scripted.fail_methods = {"GET"}  # HEAD answers (the copy is planned), every GET fails
    scripted.always = 503
    scripted.fail_body = SLOWDOWN
    scripted.fail_headers = {"Content-Type": "application/xml"}
    profile = write_profile(tmp_path, {"s": _s3(scripted.url)})
    result = cli("--retries", "2", "cp", "s:data.bin", "home:data.bin", profile=profile,
                 timeout=120).expect(errors.TEMPORARY)
    gets = scripted.count("GET", S3_KEY)
    if size < 64 * 1024 * 1024:
        assert gets == 3, scripted.requests  # one stream: 3 attempts (before: 3 × 3 = 9)
    else:
        assert 3 <= gets <= 9, scripted.requests  # at most 3 parallel ranges × 3 attempts (before: 27)
    assert result.err.count("gave up after 3 attempts") == 1, result.err
    assert not (cli.home / "data.bin").exists()
