"""Racing writers (issue 12, items 9-11): another writer replacing what we read or just wrote
never leaves a mix of two versions, or our md5 on their bytes, or a lost zip member.

Every race is made real and deterministic: the other writer's PUT/rename hits the real server
at the moment that matters (from a hook on the read path, or from a proxy in front of moto)."""

from __future__ import annotations

import fcntl
import hashlib
import http.client
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from genrostore import Storage
from tests.cases.cloud import S3_BUCKET, s3_options
from tests.payloads import MIB, pattern
from tests.servers import s3

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class RacingS3Proxy:
    """A transparent proxy in front of moto that plays "another writer".

    When `race_key` (`bucket/key`) is set, the first self-copy of that key (our md5 metadata
    rewrite) is preceded by a plain PUT of `their_bytes` to moto. The proxy also evaluates
    `x-amz-copy-source-if-match`, which moto ignores, the way S3 does (412 PreconditionFailed).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.race_key: str | None = None
        self.their_bytes = b"their version\n"
        self.raced = 0
        self.refused = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_any(self) -> None:
                owner.handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _upstream(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path.split("?", 1)[0].lstrip("/")
        source = urllib.parse.unquote(handler.headers.get("x-amz-copy-source", "")).lstrip("/")
        if handler.command == "PUT" and source and source == path:
            if self.race_key == path:
                self.race_key = None
                self.raced += 1
                request = urllib.request.Request(f"{self.upstream.geturl()}/{path}", data=self.their_bytes,
                                                 method="PUT", headers={"Content-Type": "application/octet-stream"})
                urllib.request.urlopen(request, timeout=30).close()
            wanted = handler.headers.get("x-amz-copy-source-if-match")
            if wanted is not None and wanted.strip('"') != self._etag(path).strip('"'):
                self.refused += 1
                text = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>'
                        b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
                        b"<Condition>x-amz-copy-source-If-Match</Condition></Error>")
                handler.send_response(412)
                handler.send_header("Content-Type", "application/xml")
                handler.send_header("Content-Length", str(len(text)))
                handler.end_headers()
                handler.wfile.write(text)
                return
        connection = self._upstream()
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        connection.request(handler.command, handler.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        handler.send_response(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
        connection.close()

    def _etag(self, path: str) -> str:
        connection = self._upstream()
        connection.request("HEAD", "/" + path)
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.getheader("ETag") or ""

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def racing_proxy(cloud_s3: s3.S3Server) -> Iterator[RacingS3Proxy]:
    proxy = RacingS3Proxy(cloud_s3.endpoint_url)
    yield proxy
    proxy.stop()


# -- item 10: the md5 self-copy is conditional on the ETag our upload created -----------------------
def test_md5_is_not_stamped_on_a_key_replaced_after_our_multipart_upload(
        cloud_s3: s3.S3Server, racing_proxy: RacingS3Proxy, capfd: pytest.CaptureFixture[str]) -> None:
    storage = Storage(mounts=[{"name": "a", **s3_options(cloud_s3, endpoint_url=racing_proxy.url)}])
    path = f"race-{uuid.uuid4().hex[:8]}/big.bin"
    ours = pattern(9 * MIB)  # above one PUT: a multipart upload, then the md5 self-copy
    racing_proxy.race_key = f"{S3_BUCKET}/{path}"
    storage.node(f"a:{path}").write(ours)
    assert racing_proxy.raced == 1 and racing_proxy.refused == 1
    backend = storage.mount("a").backend
    assert backend.fs.cat_file(backend.full(path)) == racing_proxy.their_bytes  # type: ignore[attr-defined]
    # Their bytes carry no md5 of ours: `md5` answers the md5 of what the key holds.
    assert backend.md5(path) == hashlib.md5(racing_proxy.their_bytes).hexdigest()
    assert "replaced or removed by another writer" in capfd.readouterr().err
    storage.close()


def test_md5_is_stamped_when_nobody_raced_the_upload(cloud_s3: s3.S3Server, racing_proxy: RacingS3Proxy) -> None:
    storage = Storage(mounts=[{"name": "a", **s3_options(cloud_s3, endpoint_url=racing_proxy.url)}])
    path = f"race-{uuid.uuid4().hex[:8]}/big.bin"
    ours = pattern(9 * MIB)
    storage.node(f"a:{path}").write(ours)
    backend = storage.mount("a").backend
    head = backend.call("head_object", Bucket=S3_BUCKET, Key=path)  # type: ignore[attr-defined]
    assert "md5chksum" in head["Metadata"]  # the conditional self-copy passed: md5 recorded
    assert racing_proxy.refused == 0
    assert backend.md5(path) == hashlib.md5(ours).hexdigest()
    storage.close()


# -- item 9: a parallel-range download never mixes two versions ------------------------------------
def _scaled_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Large' at test scale: the parallel-range threshold and part sizes scaled down."""
    from genrostore.core.pipeline import ranges

    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", MIB)
    monkeypatch.setattr(ranges, "STREAM_PART", 256 * 1024)
    monkeypatch.setattr(ranges, "RANGE_PART", 256 * 1024)


def _s3_download(cloud_s3: s3.S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 replacements: int) -> tuple[Storage, str, bytes, list[bytes]]:
    """An object that another writer replaces (`replacements` times, one per download attempt)
    while our ranges are being read: a real PUT to moto from inside the read path."""
    from genrostore.backends import s3 as s3_module

    _scaled_down(monkeypatch)
    old = pattern(3 * MIB + 123)
    versions = [bytes(b ^ (n + 1) for b in old[:4096]) + old[4096:] for n in range(replacements)]
    options = {**s3_options(cloud_s3), "client": "fsspec"}  # the race strikes inside s3fs's reader (S3Reader)
    storage = Storage(mounts=[{"name": "a", **options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    writer = Storage(mounts=[{"name": "w", **options}])
    path = f"race-{uuid.uuid4().hex[:8]}/large.bin"
    writer.node(f"w:{path}").write(old)
    real_open_range = s3_module.S3Backend.open_range
    real_read = s3_module.S3Reader.read
    struck: set[str | None] = set()
    lock = threading.Lock()
    pending = list(versions)

    def open_pinned(self: object, path: str, offset: int, length: int, version: str | None = None) -> object:
        reader = real_open_range(self, path, offset, length, version)  # type: ignore[arg-type]
        reader.__dict__["race_version"] = version
        return reader

    def read_then_replace(self: object, size: int = -1) -> bytes:
        # Once per download attempt, right after its first read (the download is under way): an
        # attempt is the version its ranges are pinned to. Counting reads instead left an attempt
        # unstruck when a quiet machine read in fewer, larger chunks.
        data = real_read(self, size)  # type: ignore[arg-type]
        version = self.__dict__.get("race_version", "whole")
        with lock:
            if version not in struck and pending:
                struck.add(version)
                writer.node(f"w:{path}").write(pending.pop(0))
        return data

    monkeypatch.setattr(s3_module.S3Backend, "open_range", open_pinned)
    monkeypatch.setattr(s3_module.S3Reader, "read", read_then_replace)
    return storage, path, old, versions


def test_s3_object_replaced_mid_download_is_read_again_whole(cloud_s3: s3.S3Server, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    storage, path, _, versions = _s3_download(cloud_s3, tmp_path, monkeypatch, replacements=1)
    storage.settings.retries = 2
    storage.node(f"a:{path}").copy_to("l:large.bin")
    assert (tmp_path / "large.bin").read_bytes() == versions[0]  # the new version whole, never a mix
    storage.close()


def test_s3_object_replaced_on_every_attempt_fails_and_publishes_nothing(cloud_s3: s3.S3Server, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.core.errors import SourceChanged

    storage, path, _, _ = _s3_download(cloud_s3, tmp_path, monkeypatch, replacements=3)
    storage.settings.retries = 1
    with pytest.raises(SourceChanged, match="replaced while being read.*gave up after 2 attempts"):
        storage.node(f"a:{path}").copy_to("l:large.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    storage.close()


def test_sftp_file_replaced_mid_download_is_read_again_whole(sftp_server: object, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:

    from genrostore.backends.sftp import SFTPBackend
    from tests.cases.network import sftp_options

    _scaled_down(monkeypatch)
    name = f"race-{uuid.uuid4().hex[:8]}"
    remote = sftp_server.root / name  # type: ignore[attr-defined]
    remote.mkdir()
    os.chmod(remote, 0o777)
    old = pattern(3 * MIB + 123)
    new = bytes(b ^ 0x5A for b in old[:4096]) + old[4096:]  # same size: only the mtime tells
    (remote / "large.bin").write_bytes(old)
    os.utime(remote / "large.bin", (1_700_000_000, 1_700_000_000))
    storage = Storage(mounts=[{"name": "s", **sftp_options(sftp_server)},  # type: ignore[arg-type]
                              {"name": "l", "type": "local", "path": str(tmp_path)}])
    real = SFTPBackend.read_range
    calls = {"n": 0}

    def read_then_replace(self: SFTPBackend, path: str, offset: int, length: int) -> bytes:
        calls["n"] += 1
        if calls["n"] == 6:  # ranges 1-4 read or in flight; the other writer renames its version in (as rsync does)
            temp = remote / ".large.bin.other"
            temp.write_bytes(new)
            os.utime(temp, (1_700_000_100, 1_700_000_100))
            os.rename(temp, remote / "large.bin")
        return real(self, path, offset, length)

    monkeypatch.setattr(SFTPBackend, "read_range", read_then_replace)
    storage.settings.retries = 2
    storage.node(f"s:{name}/large.bin").copy_to("l:large.bin")
    assert (tmp_path / "large.bin").read_bytes() == new
    storage.close()


# -- item 11: two commands adding members to one zip both keep theirs -------------------------------
def test_two_commands_adding_members_to_one_zip_keep_both(tmp_path: Path) -> None:

    archive = tmp_path / "shared.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("base.txt", b"base\n")
    profile = tmp_path / "mounts.yaml"
    profile.write_text(yaml.safe_dump({"mounts": {"z": {"type": "zip", "file": str(archive), "mode": "a"}}}))
    profile.chmod(0o600)
    env = {**os.environ, "GENROSTORE_PROFILE": str(profile), "HOME": str(tmp_path)}

    def start(member: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-", f"z:{member}"], env=env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    head = {"first.txt": b"1" * (2 * MIB), "second.txt": b"2" * (2 * MIB)}  # past the first chunk read
    first, second = start("first.txt"), start("second.txt")
    try:
        for process, name in ((first, "first.txt"), (second, "second.txt")):
            assert process.stdin is not None
            process.stdin.write(head[name])
            process.stdin.flush()
        time.sleep(2.0)  # both have opened the archive as it was and are streaming their member
        out_first = first.communicate(b"end\n", timeout=60)
        out_second = second.communicate(b"end\n", timeout=60)
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
    assert first.returncode == 0, out_first[1]
    assert second.returncode == 0, out_second[1]
    with zipfile.ZipFile(archive) as handle:
        assert sorted(handle.namelist()) == ["base.txt", "first.txt", "second.txt"]
        assert handle.read("first.txt") == head["first.txt"] + b"end\n"
        assert handle.read("second.txt") == head["second.txt"] + b"end\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mounts.yaml", "shared.zip"]  # no lock or temp left


def test_a_waiting_writer_says_so_and_then_adds_its_member(tmp_path: Path) -> None:
    """While one command holds the archive (it is publishing a member), another one waits for it."""

    archive = tmp_path / "held.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("base.txt", b"base\n")
    profile = tmp_path / "mounts.yaml"
    profile.write_text(yaml.safe_dump({"mounts": {"z": {"type": "zip", "file": str(archive), "mode": "a"}}}))
    profile.chmod(0o600)
    lock = os.open(tmp_path / ".held.zip.genrostore-lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # as a genrostore command in the middle of its publish holds it
    process = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-", "z:mine.txt"],
                               stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "GENROSTORE_PROFILE": str(profile), "HOME": str(tmp_path)})
    try:
        assert process.stdin is not None and process.stderr is not None
        process.stdin.write(b"mine\n")
        process.stdin.close()
        first_line: list[bytes] = []
        reader = threading.Thread(target=lambda: first_line.append(process.stderr.readline()), daemon=True)
        reader.start()
        reader.join(timeout=60)
        assert first_line and b"waiting for another command writing" in first_line[0], first_line
        time.sleep(0.5)
        assert process.poll() is None  # still waiting: it has published nothing
        with zipfile.ZipFile(archive, "a") as handle:  # what the holder publishes before letting go
            handle.writestr("other.txt", b"other\n")
        os.unlink(tmp_path / ".held.zip.genrostore-lock")
        os.close(lock)
        assert process.wait(timeout=60) == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    with zipfile.ZipFile(archive) as handle:
        assert sorted(handle.namelist()) == ["base.txt", "mine.txt", "other.txt"]


@pytest.mark.parametrize("name", ["s3", "gcs", "azure", "sftp", "smb", "webdav"])
def test_an_unchanged_object_downloads_in_ranges_without_a_false_alarm(name: str, request: pytest.FixtureRequest,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The version seen in the listing and the one checked after the last range agree on every
    store (same size, mtime and ETag/generation), so nothing is read twice."""
    from genrostore.core.pipeline import ranges

    case = request.getfixturevalue(f"case_{name}")
    _scaled_down(monkeypatch)
    checks = {"n": 0}
    real_check = ranges.check_unchanged

    def counting(node: object, seen: object) -> None:
        checks["n"] += 1
        real_check(node, seen)  # type: ignore[arg-type]

    monkeypatch.setattr(ranges, "check_unchanged", counting)
    data = pattern(2 * MIB + 77)
    storage = Storage(mounts=[{"name": "a", **case.mount_options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    directory = f"a:{case.fresh().split(':', 1)[1]}"
    storage.node(f"{directory}/big.bin").write(data)
    storage.node(directory).copy_to("l:copy/", recursive=True)  # the entry comes from the listing
    storage.node(f"{directory}/big.bin").copy_to("l:single.bin")  # the entry comes from info
    assert [p.read_bytes() == data for p in (tmp_path / "copy").rglob("big.bin")] == [True]
    assert (tmp_path / "single.bin").read_bytes() == data
    assert checks["n"] == (0 if name == "s3" else 2)  # s3 pins each range to the ETag instead
    storage.close()


def test_cat_of_an_s3_object_replaced_mid_read_fails_instead_of_mixing(cloud_s3: s3.S3Server, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`cat` has written the first ranges out already: a replaced object fails it (exit 5)
    rather than carrying on with the new version's bytes."""
    from genrostore.core.errors import SourceChanged
    from genrostore.core.mount import Mount
    from genrostore.core.pipeline import ranges, read

    _scaled_down(monkeypatch)
    monkeypatch.setattr(ranges, "RANGE_WORKERS", 1)  # ranges in order: the replacement lands after range 2
    old = pattern(3 * MIB + 123)
    new = bytes(b ^ 0x33 for b in old)
    options = s3_options(cloud_s3)
    storage = Storage(mounts=[{"name": "a", **options}])
    writer = Storage(mounts=[{"name": "w", **options}])
    path = f"race-{uuid.uuid4().hex[:8]}/cat.bin"
    writer.node(f"w:{path}").write(old)
    calls = {"n": 0}

    def replacing(real: object) -> object:
        def call(self: Mount, *args: object) -> object:
            calls["n"] += 1
            if calls["n"] == 3:
                writer.node(f"w:{path}").write(new)
            return real(self, *args)  # type: ignore[operator]
        return call

    monkeypatch.setattr(Mount, "read_range", replacing(Mount.read_range))
    monkeypatch.setattr(Mount, "open_range", replacing(Mount.open_range))
    out: list[bytes] = []
    with pytest.raises(SourceChanged, match="replaced while being read"):
        read.stream_to(storage.node(f"a:{path}"), out.append)
    written = b"".join(out)
    assert written and old.startswith(written)  # all of it from the old version
    storage.close()
    writer.close()
