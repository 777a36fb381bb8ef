"""Uploads to S3, GCS and Azure store a Content-Type guessed from the name, as aws, rclone and
s5cmd do; a server-side copy keeps the source's. Read back with each store's client library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from genrostore.backends._objectstore import ObjectStoreBackend, content_type
from tests.cases._base import Case
from tests.payloads import MIB, pattern

STORES = ["case_s3", "case_gcs", "case_azure"]
SMALL = {"page.html": "text/html", "data.json": "application/json", "logo.png": "image/png",
         "backup.tar.gz": "application/gzip", "blob.xyzzy": "application/octet-stream",
         "README": "application/octet-stream"}


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> Case:
    return request.getfixturevalue(request.param)


def _backend(case: Case) -> ObjectStoreBackend:
    backend = case.storage().mount(case.mount).backend
    assert isinstance(backend, ObjectStoreBackend)
    return backend


def stored_type(case: Case, address: str) -> str:
    """The object's Content-Type as the store reports it to its own client library."""
    backend = _backend(case)
    path = address.split(":", 1)[1]
    if case.name == "s3":
        return backend.call("head_object", Bucket=backend.bucket, Key=backend.key(path))["ContentType"]
    if case.name == "gcs":
        return backend.fs.info(backend.full(path))["contentType"]

    async def properties() -> Any:
        return await backend.blob_client(backend.key(path)).get_blob_properties()  # type: ignore[attr-defined]

    return backend.run(properties).content_settings.content_type  # type: ignore[attr-defined]


def test_the_type_is_guessed_from_the_extension() -> None:
    assert {name: content_type(f"dir.d/{name}") for name in SMALL} == SMALL


def test_a_streamed_upload_stores_the_guessed_type(store: Case) -> None:
    base = store.fresh()
    for name, expected in (("page.html", "text/html"), ("blob.xyzzy", "application/octet-stream")):
        result = store.cli("cp", "-", f"{base}/{name}", input=b"<p>hi</p>")
        assert result.returncode == 0, result.stderr
        assert stored_type(store, f"{base}/{name}") == expected


def test_a_multipart_upload_stores_the_guessed_type(store: Case) -> None:
    address = f"{store.fresh()}/video.mp4"
    result = store.cli("cp", "-", address, input=pattern(17 * MIB + 5))
    assert result.returncode == 0, result.stderr
    assert stored_type(store, address) == "video/mp4"
    assert store.cli("md5", address).stdout.split()[0].decode() == _md5(pattern(17 * MIB + 5))


def test_the_batched_small_file_path_stores_the_guessed_type(store: Case, tmp_path: Path) -> None:
    source = tmp_path / "site"
    source.mkdir()
    for name in SMALL:
        (source / name).write_bytes(b"small")
    base = store.fresh()
    result = store.cli("cp", "-r", f"{source}/", f"{base}/")
    assert result.returncode == 0, result.stderr
    assert {name: stored_type(store, f"{base}/{name}") for name in SMALL} == SMALL


def test_write_small_itself_stores_the_guessed_type(store: Case) -> None:
    from fsspec.asyn import sync

    backend = _backend(store)
    address = f"{store.fresh()}/direct.css"
    sync(backend.batch_loop(), backend.write_small, address.split(":", 1)[1], b"p{}")
    assert stored_type(store, address) == "text/css"


def test_a_server_side_copy_keeps_the_source_type(store: Case) -> None:
    base = store.fresh()
    assert store.cli("cp", "-", f"{base}/page.html", input=b"<p>hi</p>").returncode == 0
    result = store.cli("cp", f"{base}/page.html", f"{base}/copy.bin")
    assert result.returncode == 0, result.stderr
    assert stored_type(store, f"{base}/copy.bin") == "text/html"


def test_a_batched_server_side_copy_keeps_the_source_type(store: Case) -> None:
    base = store.fresh()
    for name in ("a.html", "b.json"):
        assert store.cli("cp", "-", f"{base}/src/{name}", input=b"{}").returncode == 0
    result = store.cli("cp", "-r", f"{base}/src/", f"{base}/dst/")
    assert result.returncode == 0, result.stderr
    assert [stored_type(store, f"{base}/dst/{name}") for name in ("a.html", "b.json")] == ["text/html",
                                                                                         "application/json"]


def _md5(data: bytes) -> str:
    import hashlib

    return hashlib.md5(data).hexdigest()
