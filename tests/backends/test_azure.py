"""Azure Blob behaviour beyond the conformance suite, against Azurite started by the session fixtures."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genrostore import Storage
from genrostore.backends.azure import AzureBackend
from tests.cases._base import Case
from tests.cases.cloud import AZURE_CONTAINER
from tests.servers import azure
from tests.payloads import MIB, pattern, stream_into



def _backend(case: Case) -> AzureBackend:
    backend = case.storage().mount(case.mount).backend
    assert isinstance(backend, AzureBackend)
    return backend


def _blob_names(backend: AzureBackend, prefix: str) -> list[str]:
    """Every blob under `prefix`, uncommitted ones included."""
    async def names() -> list[str]:
        container = backend.fs.service_client.get_container_client(AZURE_CONTAINER)
        return [b.name async for b in container.list_blobs(name_starts_with=prefix, include=["uncommittedblobs"])]

    return backend.run(names)


@pytest.fixture
def no_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any byte read through the backend fails the test."""
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("bytes were read through the client")

    monkeypatch.setattr(AzureBackend, "open_read", refuse)
    monkeypatch.setattr(AzureBackend, "read_range", refuse)


def test_a_block_upload_sets_content_md5_so_md5_needs_no_download(case_azure: Case, no_reads: None) -> None:
    node = case_azure.storage().node(f"{case_azure.fresh()}/blocks.bin")
    expected = stream_into(node, 20)
    assert node.md5 == expected


def test_a_blob_without_content_md5_is_hashed_by_streaming(case_azure: Case) -> None:
    backend = _backend(case_azure)
    path = f"{case_azure.fresh()}/foreign.bin".split(":", 1)[1]
    data = pattern(3 * MIB)
    client = backend.blob_client(backend.key(path))
    ids = [base64.b64encode(f"b{i:04d}".encode()).decode() for i in range(3)]
    for i, block_id in enumerate(ids):
        backend.run(client.stage_block, block_id, data[i * MIB : (i + 1) * MIB])
    from azure.storage.blob import BlobBlock

    backend.run(client.commit_block_list, [BlobBlock(block_id=b) for b in ids])
    assert backend.md5(path) is None
    assert case_azure.storage().node(f"{case_azure.mount}:{path}").md5 == hashlib.md5(data).hexdigest()


def test_a_failed_block_upload_leaves_no_uncommitted_blob(case_azure: Case) -> None:
    base = case_azure.fresh()
    node = case_azure.storage().node(f"{base}/failed.bin")
    with pytest.raises(RuntimeError), node.open("wb") as handle:
        for _ in range(20):
            handle.write(bytes(MIB))
        raise RuntimeError("interrupted")
    backend = _backend(case_azure)
    assert _blob_names(backend, backend.key(base.split(":", 1)[1])) == []


def test_a_failed_overwrite_keeps_the_existing_blob(case_azure: Case) -> None:
    node = case_azure.storage().node(f"{case_azure.fresh()}/kept.bin")
    node.write(b"the original")
    with pytest.raises(RuntimeError), node.open("wb") as handle:
        for _ in range(12):
            handle.write(bytes(MIB))
        raise RuntimeError("interrupted")
    assert node.read_bytes() == b"the original"


def test_a_wrong_account_key_exits_6(case_azure: Case, tmp_path: Path) -> None:
    wrong = base64.b64encode(b"not the key" * 6).decode()
    result = Case("bad", "bad", {**case_azure.mount_options, "account_key": wrong}, tmp_path).cli("ls", "bad:")
    assert result.returncode == 6, result.stderr
    assert wrong.encode() not in result.stderr


def test_an_account_key_that_is_not_base64_exits_7_without_echoing_it(case_azure: Case, tmp_path: Path) -> None:
    bad = "not-base64-at-all!"
    result = Case("nokey", "nokey", {**case_azure.mount_options, "account_key": bad}, tmp_path).cli("ls", "nokey:")
    assert result.returncode == 7, result.stderr
    assert b"account_key" in result.stderr and b"base64" in result.stderr
    assert bad.encode() not in result.stderr


def test_an_account_name_or_connection_string_is_required(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_STORAGE_")}
    case = Case("noacct", "na", {"type": "azure", "container": "c"}, tmp_path, env={})
    result = subprocess.run([sys.executable, "-m", "genrostore", "ls", "na:"], capture_output=True,
                            env={**env, "GENROSTORE_PROFILE": str(case.profile)}, timeout=60, check=False)
    assert result.returncode == 7, result.stderr


def test_an_az_url_uses_the_connection_string_from_the_environment(case_azure: Case,
                                                                   cloud_azure: azure.AzureServer) -> None:
    case_azure.storage().node("azc:url/hello.txt").write(b"by az url")
    env = {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": cloud_azure.connection_string}
    result = subprocess.run([sys.executable, "-m", "genrostore", "cat", f"az://{AZURE_CONTAINER}/url/hello.txt"],
                            capture_output=True, env=env, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"by az url"


def test_a_prefix_mount_writes_below_its_prefix(case_azure_prefix: Case, case_azure: Case) -> None:
    case_azure_prefix.storage().node("azp:jailed.txt").write(b"inside")
    assert case_azure.storage().node("azc:jail/inner/jailed.txt").read_bytes() == b"inside"


def test_the_two_credential_styles_of_one_account_still_stream_between_mounts(case_azure: Case,
                                                                               case_azure_prefix: Case) -> None:
    storage = Storage(mounts=[{"name": "k", **case_azure.mount_options}, {"name": "c", **case_azure_prefix.mount_options}])
    storage.node("k:styles/a.txt").write(b"key and connection string")
    assert storage.node("k:styles/a.txt").copy_to("c:styles/a.txt").read_bytes() == b"key and connection string"


def test_importing_the_backend_does_not_import_adlfs() -> None:
    code = "import sys, genrostore.backends.azure; sys.exit('adlfs' in sys.modules or 'azure' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
