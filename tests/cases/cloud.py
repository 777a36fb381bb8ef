"""Cases for the object stores, each against its real emulator started once per session:
moto (S3), fake-gcs-server (GCS) and Azurite (Azure Blob). Endpoints and keys are mount
options in the case's profile, so the CLI subprocess reaches the same servers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.cases._base import BIG, BUCKET, PERSIST, Case
from tests.servers import azure, gcs, s3

# Each store runs with both data paths: the default (`client: auto`, obstore where it serves the
# mount) and `<case>_fsspec` (`client: fsspec`: s3fs, gcsfs, adlfs).
CASES = ["s3", "s3_fsspec", "s3_prefix", "s3_prefix_fsspec", "gcs", "azure", "azure_fsspec", "azure_prefix"]
CLOUD_CAPS = frozenset({BIG, PERSIST, BUCKET})
# A prefix case runs every byte through the same code as its base case: the GiB stream (minutes
# on an emulator) and the missing-bucket / dead-endpoint exits run once per store, on the base case.
PREFIX_CAPS = CLOUD_CAPS - {BIG, BUCKET}

S3_BUCKET = "genro-s3"
GCS_BUCKET = "genro-gcs"
AZURE_CONTAINER = "genro-az"

# gcsfs probes bucket types over gRPC unless this is off before it is first imported.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


@pytest.fixture(scope="session")
def s3_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3.S3Server]:
    server = s3.start(tmp_path_factory.mktemp("s3-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gcs.GCSServer]:
    server = gcs.start(tmp_path_factory.mktemp("gcs-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azure_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[azure.AzureServer]:
    server = azure.start(tmp_path_factory.mktemp("azure-server"))
    yield server
    server.stop()


def s3_options(server: s3.S3Server, bucket: str = S3_BUCKET, **extra: str) -> dict:
    return {"type": "s3", "bucket": bucket, "endpoint_url": server.endpoint_url, "region": server.region,
            "access_key": server.key, "secret_key": server.secret, **extra}


def gcs_options(server: gcs.GCSServer, bucket: str = GCS_BUCKET, **extra: str) -> dict:
    return {"type": "gcs", "bucket": bucket, "endpoint_url": server.endpoint_url, "token": "anon",
            "project": server.project, **extra}


def azure_options(server: azure.AzureServer, container: str = AZURE_CONTAINER, **extra: str) -> dict:
    return {"type": "azure", "container": container, "account_name": server.account_name,
            "account_key": server.account_key, "endpoint_url": server.endpoint_url, **extra}


def make_bucket(options: dict) -> None:
    """Create the bucket/container the options name, with the real client library."""
    from genrostore import Storage

    storage = Storage(mounts=[{"name": "setup", **options}])
    backend = storage.mount("setup").backend
    name = options.get("bucket") or options["container"]
    if not backend.fs.exists(name):  # type: ignore[attr-defined]
        backend.fs.mkdir(name)  # type: ignore[attr-defined]
    storage.close()


@pytest.fixture(scope="session")
def cloud_s3(s3_server_session: s3.S3Server) -> s3.S3Server:
    make_bucket(s3_options(s3_server_session))
    return s3_server_session


@pytest.fixture(scope="session")
def cloud_gcs(gcs_server_session: gcs.GCSServer) -> gcs.GCSServer:
    make_bucket(gcs_options(gcs_server_session))
    return gcs_server_session


@pytest.fixture(scope="session")
def cloud_azure(azure_server_session: azure.AzureServer) -> azure.AzureServer:
    make_bucket(azure_options(azure_server_session))
    return azure_server_session


@pytest.fixture(scope="session")
def case_s3(cloud_s3: s3.S3Server, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("s3", "s3c", s3_options(cloud_s3), tmp_path_factory.mktemp("s3-case"), CLOUD_CAPS)


@pytest.fixture(scope="session")
def case_s3_fsspec(cloud_s3: s3.S3Server, tmp_path_factory: pytest.TempPathFactory) -> Case:
    # The GiB stream (no size: the fsspec multipart writer on both clients) runs on the base case only.
    return Case("s3_fsspec", "s3f", s3_options(cloud_s3, client="fsspec"), tmp_path_factory.mktemp("s3-fsspec-case"),
                CLOUD_CAPS - {BIG})


@pytest.fixture(scope="session")
def case_s3_prefix_fsspec(cloud_s3: s3.S3Server, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("s3_prefix_fsspec", "s3pf", s3_options(cloud_s3, prefix="jail/fsspec", client="fsspec"),
                tmp_path_factory.mktemp("s3-prefix-fsspec-case"), PREFIX_CAPS)


@pytest.fixture(scope="session")
def _unused_case_gcs_fsspec(cloud_gcs: gcs.GCSServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("gcs_fsspec", "gcsf", gcs_options(cloud_gcs, client="fsspec"), tmp_path_factory.mktemp("gcs-fsspec-case"),
                CLOUD_CAPS - {BIG})


@pytest.fixture(scope="session")
def case_azure_fsspec(cloud_azure: azure.AzureServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("azure_fsspec", "azf", azure_options(cloud_azure, client="fsspec"),
                tmp_path_factory.mktemp("azure-fsspec-case"), CLOUD_CAPS - {BIG})


@pytest.fixture(scope="session")
def case_s3_prefix(cloud_s3: s3.S3Server, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("s3_prefix", "s3p", s3_options(cloud_s3, prefix="jail/inner"),
                tmp_path_factory.mktemp("s3-prefix-case"), PREFIX_CAPS)


@pytest.fixture(scope="session")
def case_gcs(cloud_gcs: gcs.GCSServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("gcs", "gcsc", gcs_options(cloud_gcs), tmp_path_factory.mktemp("gcs-case"), CLOUD_CAPS)


@pytest.fixture(scope="session")
def case_azure(cloud_azure: azure.AzureServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("azure", "azc", azure_options(cloud_azure), tmp_path_factory.mktemp("azure-case"), CLOUD_CAPS)


@pytest.fixture(scope="session")
def case_azure_prefix(cloud_azure: azure.AzureServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    options = {"type": "azure", "container": AZURE_CONTAINER, "connection_string": cloud_azure.connection_string,
               "prefix": "jail/inner"}
    return Case("azure_prefix", "azp", options, tmp_path_factory.mktemp("azure-prefix-case"), PREFIX_CAPS)
