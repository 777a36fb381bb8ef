"""GCS behaviour beyond the conformance suite, against fake-gcs-server started by the session fixtures."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from genrostore import Storage
from genrostore.backends.gcs import GCSBackend
from tests.cases._base import Case
from tests.cases.cloud import GCS_BUCKET
from tests.servers import gcs
from tests.payloads import MIB, stream_into



def _backend(case: Case) -> GCSBackend:
    backend = case.storage().mount(case.mount).backend
    assert isinstance(backend, GCSBackend)
    return backend


@pytest.fixture
def no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any byte read through the backend fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("bytes were read through the client")

    monkeypatch.setattr(GCSBackend, "open_read", refuse)
    monkeypatch.setattr(GCSBackend, "read_range", refuse)


def test_md5_comes_from_md5hash_without_reading(case_gcs: Case, no_reads: None) -> None:
    node = case_gcs.storage().node(f"{case_gcs.fresh()}/small.txt")
    node.write(b"gcs md5")
    assert node.md5 == hashlib.md5(b"gcs md5").hexdigest()


def test_a_multi_chunk_upload_keeps_a_real_md5hash(case_gcs: Case, no_reads: None) -> None:
    node = case_gcs.storage().node(f"{case_gcs.fresh()}/chunks.bin")
    expected = stream_into(node, 20)
    assert node.md5 == expected


def test_an_object_without_md5hash_is_hashed_by_streaming(case_gcs: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    node = case_gcs.storage().node(f"{case_gcs.fresh()}/composite.bin")
    node.write(b"composite objects have no md5Hash")
    original = GCSBackend.stored_md5
    monkeypatch.setattr(GCSBackend, "stored_md5", lambda self, info: original(self, {**info, "md5Hash": None}))
    assert _backend(case_gcs).md5(node.path) is None
    assert node.md5 == hashlib.md5(b"composite objects have no md5Hash").hexdigest()


def test_a_failed_upload_publishes_nothing(case_gcs: Case) -> None:
    node = case_gcs.storage().node(f"{case_gcs.fresh()}/failed.bin")
    with pytest.raises(RuntimeError), node.open("wb") as handle:
        for _ in range(12):
            handle.write(bytes(MIB))
        raise RuntimeError("interrupted")
    assert not node.exists()


def test_a_failed_small_upload_publishes_nothing_even_after_collection(case_gcs: Case) -> None:
    import gc

    node = case_gcs.storage().node(f"{case_gcs.fresh()}/small-failed.bin")
    with pytest.raises(RuntimeError), node.open("wb") as handle:
        handle.write(b"never")
        raise RuntimeError("interrupted")
    gc.collect()
    assert not node.exists()


def test_a_custom_endpoint_skips_the_grpc_bucket_probe(case_gcs: Case) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"}
    env["GENROSTORE_PROFILE"] = str(case_gcs.profile)
    case_gcs.storage().node("gcsc:probe/x.txt").write(b"x")
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "genrostore", "ls", "gcsc:probe"], capture_output=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 15


def test_a_gs_url_uses_the_emulator_host_from_the_environment(case_gcs: Case, cloud_gcs: gcs.GCSServer) -> None:
    case_gcs.storage().node("gcsc:url/hello.txt").write(b"by gs url")
    env = {**os.environ, "STORAGE_EMULATOR_HOST": cloud_gcs.endpoint_url}
    result = subprocess.run([sys.executable, "-m", "genrostore", "cat", f"gs://{GCS_BUCKET}/url/hello.txt"],
                            capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"by gs url"


def test_a_prefix_mount_writes_below_its_prefix(case_gcs: Case) -> None:
    storage = Storage(mounts=[{"name": "gp", **case_gcs.mount_options, "prefix": "jail/inner"}])
    storage.node("gp:jailed.txt").write(b"inside")
    assert _backend(case_gcs).fs.cat_file(f"{GCS_BUCKET}/jail/inner/jailed.txt") == b"inside"
    assert [n.basename for n in storage.node("gp:").list()] == ["jailed.txt"]


def test_importing_the_backend_does_not_import_gcsfs() -> None:
    code = "import sys, genrostore.backends.gcs; sys.exit('gcsfs' in sys.modules or 'aiohttp' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
