"""HTTP (read-only) behaviour beyond the conformance suite: servers without Content-Length,
redirects, headers, and the read-only contract."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.cases._base import SAMPLE, Case
from tests.cases.network import HTTP_SAMPLE_PREFIX, http_options
from tests.servers import http
from tests.servers._proc import free_port


def _cli(mounts: dict, workdir: Path, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    profile = workdir / f"profile-{uuid.uuid4().hex[:8]}.yaml"
    profile.write_text(yaml.safe_dump({"mounts": mounts}))
    profile.chmod(0o600)
    return subprocess.run([sys.executable, "-m", "genrostore", *args], check=False, capture_output=True,
                          timeout=120, input=input, env={**os.environ, "GENROSTORE_PROFILE": str(profile)})


@pytest.fixture(scope="module")
def unsized(http_servers: http.HTTPServers) -> bytes:
    """A file served without Content-Length (close-delimited, and chunked under /chunked/)."""
    assert http_servers.no_length.root is not None
    data = os.urandom(300_000)
    (http_servers.no_length.root / "unsized.bin").write_bytes(data)
    return data


@pytest.mark.parametrize("prefix", ["", "chunked/"])
def test_cat_of_a_file_without_content_length(http_servers: http.HTTPServers, unsized: bytes, tmp_path: Path,
                                              prefix: str) -> None:
    result = _cli({"n": http_options(http_servers.no_length)}, tmp_path, "cat", f"n:{prefix}unsized.bin")
    assert (result.returncode, result.stdout) == (0, unsized), result.stderr


def test_md5_and_cp_of_a_file_without_content_length(http_servers: http.HTTPServers, unsized: bytes,
                                                     tmp_path: Path) -> None:
    mounts = {"n": http_options(http_servers.no_length)}
    md5 = _cli(mounts, tmp_path, "md5", "n:unsized.bin")
    assert md5.stdout.decode().split()[0] == hashlib.md5(unsized).hexdigest(), md5.stderr
    assert _cli(mounts, tmp_path, "cp", "n:unsized.bin", str(tmp_path / "copy.bin")).returncode == 0
    assert (tmp_path / "copy.bin").read_bytes() == unsized


def test_a_tree_without_sizes_batches_small_files_and_streams_larger_ones(
        http_servers: http.HTTPServers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An index page gives no sizes: each file is read by a batched GET capped at the batch size,
    and one that turns out larger (its Content-Length says so) is streamed instead."""
    from genrostore import Storage
    from genrostore.backends.http import HTTPBackend

    assert http_servers.listing.root is not None
    tree = http_servers.listing.root / f"tree-{uuid.uuid4().hex[:8]}"
    files = {f"s{i}.txt": os.urandom(100 + i) for i in range(5)}
    files["large.bin"] = os.urandom(300_000)
    tree.mkdir()
    for name, data in files.items():
        (tree / name).write_bytes(data)
    streamed: list[str] = []
    real_open = HTTPBackend.open_read

    def counting(self: HTTPBackend, path: str, offset: int = 0):
        streamed.append(path)
        return real_open(self, path, offset)

    monkeypatch.setattr(HTTPBackend, "open_read", counting)
    storage = Storage(mounts=[{"name": "n", **http_options(http_servers.listing)},
                              {"name": "w", "type": "local", "path": str(tmp_path)}])
    storage.node(f"n:{tree.name}/").copy_to("w:down/", recursive=True)
    for name, data in files.items():
        assert (tmp_path / "down" / name).read_bytes() == data, name
    assert streamed == [f"{tree.name}/large.bin"]


@pytest.mark.parametrize("prefix", ["", "chunked/"])
def test_a_capped_read_without_content_length_stops_past_the_cap(http_servers: http.HTTPServers, unsized: bytes,
                                                                 prefix: str) -> None:
    import asyncio

    from fsspec.asyn import sync

    from genrostore import Storage

    storage = Storage(mounts=[{"name": "n", **http_options(http_servers.no_length)}])
    mount = storage.mount("n")
    loop = mount.batch_loop()
    assert sync(loop, mount.read_small, f"{prefix}unsized.bin", len(unsized) - 1) is None
    assert sync(loop, mount.read_small, f"{prefix}unsized.bin", len(unsized)) == unsized
    assert isinstance(loop, asyncio.AbstractEventLoop)


def test_stat_reports_size_and_type(case_http: Case) -> None:
    result = case_http.cli("stat", "--json", f"{case_http.mount}:{HTTP_SAMPLE_PREFIX}/hello.txt")
    assert result.returncode == 0, result.stderr
    assert b'"file"' in result.stdout and str(len(SAMPLE["hello.txt"])).encode() in result.stdout


def test_missing_file_exits_4(case_http: Case) -> None:
    result = case_http.cli("cat", f"{case_http.mount}:no-such-file.txt")
    assert result.returncode == 4
    assert result.stdout == b""


@pytest.mark.parametrize("args", [
    ["cp", "-", "{m}:new.txt"],
    ["mkdir", "{m}:newdir"],
    ["rm", "{m}:" + HTTP_SAMPLE_PREFIX + "/hello.txt"],
])
def test_every_write_exits_6(case_http: Case, http_servers: http.HTTPServers, args: list[str]) -> None:
    result = case_http.cli(*[a.format(m=case_http.mount) for a in args], input=b"data")
    assert result.returncode == 6
    assert b"read-only" in result.stderr
    assert http_servers.listing.root is not None
    assert (http_servers.listing.root / HTTP_SAMPLE_PREFIX / "hello.txt").exists()


def test_url_path_works_without_a_profile(http_servers: http.HTTPServers, tmp_path: Path) -> None:
    result = _cli({}, tmp_path, "cat", f"{http_servers.redirect.url}/{HTTP_SAMPLE_PREFIX}/hello.txt")
    assert (result.returncode, result.stdout) == (0, SAMPLE["hello.txt"]), result.stderr


def test_header_values_never_show(http_servers: http.HTTPServers, tmp_path: Path) -> None:
    token = "Bearer tok-" + uuid.uuid4().hex
    mounts = {"w": http_options(http_servers.listing, headers={"Authorization": token})}
    shown = _cli(mounts, tmp_path, "mounts")
    missing = _cli(mounts, tmp_path, "--debug", "cat", "w:no-such-file.txt")
    assert missing.returncode == 4
    for result in (shown, missing):
        assert token.split()[1].encode() not in result.stdout + result.stderr


def test_refused_connection_exits_5_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _cli({"w": {"type": "http", "base_url": f"http://127.0.0.1:{free_port()}/"}}, tmp_path, "cat", "w:x")
    assert result.returncode == 5
    assert time.monotonic() - started < 15
