"""S3 behaviour beyond the conformance suite, against moto started by the session fixtures."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genrostore import Storage
from genrostore.backends._objectstore import MAX_PART_SIZE, part_size_for
from genrostore.backends.s3 import S3Backend
from genrostore.core.errors import NotPermitted
from tests.cases._base import Case
from tests.cases.cloud import S3_BUCKET
from tests.servers import s3
from tests.servers._proc import HOST, ServerProcess, free_port, require_binary
from tests.payloads import MIB, pattern, stream_into



# Tests that count s3fs's calls or patch its reader run on the fsspec data path (`client: fsspec`);
# tests/backends/test_obstore.py counts the obstore path's requests on the server side.
def _backend(case: Case) -> S3Backend:
    backend = case.storage().mount(case.mount).backend
    assert isinstance(backend, S3Backend)
    return backend


def _raw(backend: S3Backend, path: str) -> bytes:
    """The object's bytes read with s3fs itself, bypassing the backend."""
    return backend.fs.cat_file(backend.full(path))


def _key(case: Case, address: str) -> str:
    return _backend(case).key(address.split(":", 1)[1])


@pytest.fixture
def no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any byte read through the client fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("bytes were read through the client")

    monkeypatch.setattr(S3Backend, "open_read", refuse)
    monkeypatch.setattr(S3Backend, "read_range", refuse)


# -- part sizes ------------------------------------------------------------------------------
def test_part_sizes_of_an_unknown_stream_reach_5_tib_within_10000_parts() -> None:
    sizes = [part_size_for(n) for n in range(1, 10_001)]
    assert sum(sizes) >= 5 * 1024**4
    assert max(sizes) <= MAX_PART_SIZE
    assert sizes == sorted(sizes)


def test_a_known_size_fits_in_10000_parts() -> None:
    size = 3 * 1024**4
    assert sum(part_size_for(n, size) for n in range(1, 10_001)) >= size


# -- server-side copy ------------------------------------------------------------------------
def test_copy_between_two_mounts_of_the_same_store_is_server_side(case_s3: Case, case_s3_prefix: Case,
                                                                   no_reads: None) -> None:
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "b", **case_s3_prefix.mount_options}])
    storage.node("a:two-mounts/src.txt").write(b"across mounts")
    storage.node("a:two-mounts/src.txt").copy_to("b:two-mounts/dst.txt")
    backend = storage.mount("b").backend
    assert isinstance(backend, S3Backend)
    assert _raw(backend, "two-mounts/dst.txt") == b"across mounts"


def test_copy_to_another_store_streams(case_s3: Case, case_gcs: Case) -> None:
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "g", **case_gcs.mount_options}])
    storage.node("a:to-gcs/x.bin").write(b"streamed")
    assert not storage.mount("a").backend.server_copy("to-gcs/x.bin", storage.mount("g").backend, "x.bin")
    assert storage.node("a:to-gcs/x.bin").copy_to("g:from-s3/x.bin").read_bytes() == b"streamed"


# -- requests per object -------------------------------------------------------------------------
@pytest.fixture
def s3_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The S3 operations sent from here on, in order (s3fs's own calls and the backend's)."""
    import s3fs

    sent: list[str] = []
    original_async, original_sync = s3fs.S3FileSystem._call_s3, s3fs.S3FileSystem.call_s3

    async def recording_async(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return await original_async(self, method, *args, **kwargs)

    def recording_sync(self: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return original_sync(self, method, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_call_s3", recording_async)
    monkeypatch.setattr(s3fs.S3FileSystem, "call_s3", recording_sync)
    return sent


def _three_objects(case: Case) -> tuple[Storage, str]:
    storage = case.storage()
    base = case.fresh()
    for name in ("a.txt", "b.txt", "c.txt"):
        storage.node(f"{base}/d/{name}").write(name.encode())
    storage.mount(case.mount).backend.check_bucket()
    return storage, base


def test_a_directory_download_makes_one_get_per_object_and_no_head(case_s3_fsspec: Case, tmp_path: Path,
                                                                  s3_requests: list[str]) -> None:
    storage, base = _three_objects(case_s3_fsspec)
    s3_requests.clear()
    storage.node(f"{base}/d").copy_to(str(tmp_path / "d"), recursive=True)
    assert sorted(p.read_bytes() for p in (tmp_path / "d").iterdir()) == [b"a.txt", b"b.txt", b"c.txt"]
    assert s3_requests.count("get_object") == 3
    assert s3_requests.count("head_object") <= 1  # the source directory itself, while planning


def test_a_directory_upload_makes_one_put_per_object_with_its_md5(case_s3_fsspec: Case, tmp_path: Path,
                                                                  s3_requests: list[str]) -> None:
    files = {f"{i:02}.bin": pattern(1000 + i) for i in range(20)}
    for name, data in files.items():
        (tmp_path / "up" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "up" / name).write_bytes(data)
    storage = Storage(mounts=[{"name": "a", **case_s3_fsspec.mount_options},
                              {"name": "l", "type": "local", "path": str(tmp_path)}])
    storage.mount("a").backend.check_bucket()
    base = case_s3_fsspec.fresh().split(":", 1)[1]
    s3_requests.clear()
    storage.node("l:up").copy_to(f"a:{base}/", recursive=True)
    assert s3_requests.count("put_object") == len(files)
    assert set(s3_requests) == {"put_object"}
    backend = storage.mount("a").backend
    for name, data in files.items():
        assert _raw(backend, f"{base}/up/{name}") == data
        assert backend.md5(f"{base}/up/{name}") == hashlib.md5(data).hexdigest()


def test_a_server_side_copy_makes_one_copy_object_per_object(case_s3_fsspec: Case, s3_requests: list[str]) -> None:
    storage, base = _three_objects(case_s3_fsspec)
    s3_requests.clear()
    storage.node(f"{base}/d").copy_to(f"{base}/e", recursive=True)
    assert storage.node(f"{base}/e/b.txt").read_bytes() == b"b.txt"
    assert s3_requests.count("copy_object") == 3
    assert s3_requests.count("head_object") <= 2  # the source directory and the destination, while planning


def test_a_known_size_up_to_one_part_is_one_put_whose_etag_is_the_md5(case_s3_fsspec: Case, tmp_path: Path,
                                                                       s3_requests: list[str]) -> None:
    data = pattern(8 * MIB - 3)
    (tmp_path / "nine.bin").write_bytes(data)
    storage = Storage(mounts=[{"name": "a", **case_s3_fsspec.mount_options},
                              {"name": "l", "type": "local", "path": str(tmp_path)}])
    storage.mount("a").backend.check_bucket()
    s3_requests.clear()
    node = storage.node("l:nine.bin").copy_to(f"a:{case_s3_fsspec.fresh().split(':', 1)[1]}/nine.bin")
    assert s3_requests.count("put_object") == 1
    assert not {"create_multipart_upload", "upload_part", "copy_object"} & set(s3_requests)
    assert storage.mount("a").backend.md5(node.path) == hashlib.md5(data).hexdigest()


def _large_download(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Storage, str, bytes]:
    """A 'large' object at test scale: the parallel-range threshold and part size scaled down."""
    from genrostore.core.pipeline import ranges

    monkeypatch.setattr(ranges, "PARALLEL_THRESHOLD", MIB)
    monkeypatch.setattr(ranges, "STREAM_PART", 256 * 1024)
    data = pattern(3 * MIB + 123)
    storage = Storage(mounts=[{"name": "a", **case.mount_options}, {"name": "l", "type": "local", "path": str(tmp_path)}])
    address = f"a:{case.fresh().split(':', 1)[1]}/large.bin"
    storage.node(address).write(data)
    return storage, address, data


def test_a_large_download_streams_parallel_ranges_into_place(case_s3_fsspec: Case, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             s3_requests: list[str]) -> None:
    storage, address, data = _large_download(case_s3_fsspec, tmp_path, monkeypatch)
    s3_requests.clear()
    storage.node(address).copy_to("l:large.bin")
    assert (tmp_path / "large.bin").read_bytes() == data
    assert s3_requests.count("get_object") == -(-len(data) // (256 * 1024))


def test_a_range_that_breaks_mid_stream_leaves_no_file(case_s3_fsspec: Case, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.backends import s3 as s3_module
    from genrostore.core.errors import GenrostoreError

    storage, address, _ = _large_download(case_s3_fsspec, tmp_path, monkeypatch)
    storage.settings.retries = 0
    real_read = s3_module.S3Reader.read
    reads = {"n": 0}

    def breaking(self: Any, size: int = -1) -> bytes:
        reads["n"] += 1
        if reads["n"] == 5:
            raise ConnectionResetError("connection reset by peer")
        return real_read(self, size)

    monkeypatch.setattr(s3_module.S3Reader, "read", breaking)
    with pytest.raises(GenrostoreError, match="connection"):
        storage.node(address).copy_to("l:large.bin")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- multipart uploads and md5 -----------------------------------------------------------------
def test_a_64_mib_stream_uploads_multipart_and_stores_its_md5(case_s3: Case) -> None:
    storage = case_s3.storage()
    node = storage.node(f"{case_s3.fresh()}/big.bin")
    expected = stream_into(node, 64)
    head = _backend(case_s3).call("head_object", Bucket=S3_BUCKET, Key=_key(case_s3, node.fullpath))
    assert head["ContentLength"] == 64 * MIB
    assert "md5chksum" in head["Metadata"]
    assert _backend(case_s3).md5(node.path) == expected


def test_disable_checksum_skips_the_md5_self_copy_and_md5_reads_the_object(case_s3: Case, s3_requests: list[str]) -> None:
    from genrostore.core.hashing import md5_of

    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options, "disable_checksum": True}])
    node = storage.node(f"a:{case_s3.fresh().split(':', 1)[1]}/fast.bin")
    s3_requests.clear()
    expected = stream_into(node, 20)
    assert "upload_part" in s3_requests and "copy_object" not in s3_requests
    head = _backend(case_s3).call("head_object", Bucket=S3_BUCKET, Key=_key(case_s3, node.fullpath))
    assert "md5chksum" not in head["Metadata"]
    assert storage.mount("a").backend.md5(node.path) is None  # a multipart ETag is not an md5
    assert md5_of(node) == expected  # so md5 reads the object


def test_disable_checksum_keeps_the_md5_of_a_single_put(case_s3: Case, tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options, "disable_checksum": True}])
    node = storage.node(f"a:{case_s3.fresh().split(':', 1)[1]}/small.bin")
    node.write(b"small and whole")
    assert storage.mount("a").backend.md5(node.path) == hashlib.md5(b"small and whole").hexdigest()


def test_md5_of_a_multipart_object_uses_the_stored_md5_without_reading(case_s3: Case, monkeypatch:
                                                                        pytest.MonkeyPatch) -> None:
    storage = case_s3.storage()
    node = storage.node(f"{case_s3.fresh()}/parts.bin")
    expected = stream_into(node, 20)
    monkeypatch.setattr(S3Backend, "open_read", lambda *a, **k: pytest.fail("md5 downloaded the object"))
    assert node.md5 == expected


def test_md5_of_a_multipart_object_without_metadata_streams_and_matches(case_s3: Case) -> None:
    backend = _backend(case_s3)
    key = _key(case_s3, f"{case_s3.fresh()}/foreign.bin")
    data = pattern(11 * MIB)
    upload = backend.call("create_multipart_upload", Bucket=S3_BUCKET, Key=key)["UploadId"]
    parts = []
    for number, start in enumerate(range(0, len(data), 6 * MIB), 1):
        etag = backend.call("upload_part", Bucket=S3_BUCKET, Key=key, UploadId=upload, PartNumber=number,
                            Body=data[start : start + 6 * MIB])["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    backend.call("complete_multipart_upload", Bucket=S3_BUCKET, Key=key, UploadId=upload,
                 MultipartUpload={"Parts": parts})
    path = key
    assert backend.md5(path) is None
    assert case_s3.storage().node(f"{case_s3.mount}:{path}").md5 == hashlib.md5(data).hexdigest()


def test_md5_of_a_single_part_object_is_its_etag(case_s3: Case, no_reads: None) -> None:
    node = case_s3.storage().node(f"{case_s3.fresh()}/small.txt")
    node.write(b"small object")
    assert node.md5 == hashlib.md5(b"small object").hexdigest()


def test_a_failed_multipart_upload_is_aborted_and_leaves_nothing(case_s3: Case) -> None:
    node = case_s3.storage().node(f"{case_s3.fresh()}/failed.bin")
    with pytest.raises(RuntimeError), node.open("wb") as handle:
        for _ in range(20):
            handle.write(bytes(MIB))
        raise RuntimeError("interrupted")
    assert not node.exists()
    uploads = _backend(case_s3).call("list_multipart_uploads", Bucket=S3_BUCKET).get("Uploads", [])
    assert [u["Key"] for u in uploads if u["Key"] == _key(case_s3, node.fullpath)] == []


# -- through the CLI -----------------------------------------------------------------------------
def test_rm_r_removes_every_object_under_the_prefix_in_batches(case_s3_fsspec: Case, monkeypatch:
                                                                pytest.MonkeyPatch) -> None:
    backend = _backend(case_s3_fsspec)
    base = case_s3_fsspec.fresh()
    prefix = _key(case_s3_fsspec, base)
    backend.fs.pipe({f"{S3_BUCKET}/{prefix}/d{i % 3}/f{i}.txt": b"x" for i in range(1003)})
    calls: list[int] = []
    original = S3Backend.call

    def counting(self: S3Backend, method: str, **kwargs: Any) -> Any:
        if method == "delete_objects":
            calls.append(len(kwargs["Delete"]["Objects"]))
        return original(self, method, **kwargs)

    monkeypatch.setattr(S3Backend, "call", counting)
    case_s3_fsspec.storage().node(base).delete(recursive=True)
    assert calls == [1000, 3]
    assert backend.call("list_objects_v2", Bucket=S3_BUCKET, Prefix=prefix + "/").get("KeyCount") == 0


def test_mkdir_succeeds_and_stores_nothing(case_s3: Case) -> None:
    address = f"{case_s3.fresh()}/made"
    result = case_s3.cli("mkdir", address)
    assert result.returncode == 0, result.stderr
    key = _key(case_s3, address)
    assert _backend(case_s3).call("list_objects_v2", Bucket=S3_BUCKET, Prefix=key).get("KeyCount") == 0


def _marker_tree(case: Case) -> str:
    """`mk/a.txt` and a zero-byte `mk/empty/` marker object, as consoles and other tools make."""
    storage = case.storage()
    base = case.fresh()
    storage.node(f"{base}/mk/a.txt").write(b"a")
    backend = _backend(case)
    backend.call("put_object", Bucket=S3_BUCKET, Key=_key(case, f"{base}/mk") + "/empty/", Body=b"")
    return base


def test_ls_and_ls_r_both_show_a_directory_marker_as_a_directory(case_s3: Case) -> None:
    base = _marker_tree(case_s3)
    flat = case_s3.cli("ls", f"{base}/mk")
    deep = case_s3.cli("ls", "-R", f"{base}/mk")
    assert flat.returncode == deep.returncode == 0, flat.stderr + deep.stderr
    assert flat.stdout.decode().splitlines() == ["a.txt", "empty/"]
    assert deep.stdout.decode().splitlines() == ["a.txt", "empty/"]


# -- prefix jail ---------------------------------------------------------------------------------
def test_a_prefix_mount_writes_below_its_prefix(case_s3_prefix: Case) -> None:
    case_s3_prefix.storage().node("s3p:jailed.txt").write(b"inside")
    backend = case_s3_prefix.storage().mount("s3p").backend
    assert isinstance(backend, S3Backend)
    assert backend.fs.cat_file(f"{S3_BUCKET}/jail/inner/jailed.txt") == b"inside"


def test_a_prefix_mount_does_not_list_what_is_outside_it(case_s3: Case, case_s3_prefix: Case) -> None:
    case_s3.storage().node("s3c:jail/outside.txt").write(b"outside")
    names = [n.basename for n in case_s3_prefix.storage().node("s3p:").list()]
    assert "outside.txt" not in names and "jail" not in names


def test_dotdot_cannot_leave_a_prefix_mount(case_s3_prefix: Case) -> None:
    result = case_s3_prefix.cli("cat", "s3p:../outside.txt")
    assert result.returncode == 2


# -- errors ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto_with_auth(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second moto that checks credentials (the session's accepts any key)."""
    port = free_port()
    process = ServerProcess(argv=[require_binary("moto_server"), "-H", HOST, "-p", str(port)], port=port,
                            logfile=tmp_path_factory.mktemp("moto-auth") / "moto.log",
                            env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    process.start()
    yield f"http://{HOST}:{port}"
    process.stop()


def test_bad_credentials_exit_6(moto_with_auth: str, tmp_path: Path) -> None:
    options = {"type": "s3", "bucket": "any-bucket", "endpoint_url": moto_with_auth, "region": s3.REGION,
               "access_key": "not-a-real-key", "secret_key": "wrong"}
    result = Case("auth", "auth", options, tmp_path).cli("ls", "auth:")
    assert result.returncode == 6, result.stderr
    assert b"wrong" not in result.stderr


def test_a_readonly_s3_mount_refuses_writes_before_touching_the_store(case_s3: Case) -> None:
    storage = Storage(mounts=[{"name": "ro", **case_s3.mount_options, "readonly": True}])
    with pytest.raises(NotPermitted):
        storage.node("ro:never.txt").write(b"x")


# -- URLs and environment ------------------------------------------------------------------------
def test_an_s3_url_uses_the_aws_environment(case_s3: Case, cloud_s3: s3.S3Server) -> None:
    case_s3.storage().node("s3c:url/hello.txt").write(b"by url")
    env = {**os.environ, "AWS_ENDPOINT_URL": cloud_s3.endpoint_url, "AWS_ACCESS_KEY_ID": cloud_s3.key,
           "AWS_SECRET_ACCESS_KEY": cloud_s3.secret, "AWS_DEFAULT_REGION": cloud_s3.region}
    result = subprocess.run([sys.executable, "-m", "genrostore", "cat", f"s3://{S3_BUCKET}/url/hello.txt"],
                            capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"by url"


def test_importing_the_backend_does_not_import_s3fs() -> None:
    code = "import sys, genrostore.backends.s3; sys.exit('s3fs' in sys.modules or 'botocore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- across stores ---------------------------------------------------------------------------------
def test_a_copy_chain_local_s3_gcs_azure_local_keeps_the_bytes(case_s3: Case, case_gcs: Case, case_azure: Case,
                                                                tmp_path: Path) -> None:
    data = pattern(2 * MIB + 5)
    (tmp_path / "origin.bin").write_bytes(data)
    storage = Storage(mounts=[{"name": "a", **case_s3.mount_options}, {"name": "g", **case_gcs.mount_options},
                              {"name": "z", **case_azure.mount_options}, {"name": "l", "type": "local",
                                                                          "path": str(tmp_path)}])
    storage.node("l:origin.bin").copy_to("a:chain/x.bin")
    storage.node("a:chain/x.bin").copy_to("g:chain/x.bin")
    storage.node("g:chain/x.bin").copy_to("z:chain/x.bin")
    storage.node("z:chain/x.bin").copy_to("l:back.bin")
    assert (tmp_path / "back.bin").read_bytes() == data
