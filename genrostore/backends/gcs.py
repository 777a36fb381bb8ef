"""Google Cloud Storage over gcsfs.

GCS computes `md5Hash` for every non-composite object, resumable uploads included, so `md5`
never needs a download except for composite objects (which have none). Resumable uploads
have no part-count limit, so gcsfs's fixed chunk size is fine for streams of any length.
"""

from __future__ import annotations

import base64
import dataclasses
import os
from datetime import datetime
from typing import Any

from genrostore.backends._objectstore import (
    PART_SIZE,
    ObjectStoreBackend,
    bucket_url,
    content_type,
    gcs_mtime_from_metadata,
    gcs_mtime_metadata,
)
from genrostore.core.backend import Writer
from genrostore.core.options import CLIENT, TIMEOUT, VERIFY_SSL
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="gcs",
    summary="A Google Cloud Storage bucket.",
    options=(
        Option("bucket", "Bucket name.", required=True),
        Option("prefix", "Object name prefix the mount is jailed in (like a local mount's root).", aliases=("base_path",)),
        Option("token", "Path to a service-account JSON file, `anon`, or unset for the default Google "
                        "chain (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server).",
),
        Option("project", "Project id (needed only to create buckets)."),
        Option("endpoint_url", "Custom endpoint, e.g. an emulator (default: Google, or $STORAGE_EMULATOR_HOST).",
               aliases=("endpoint",)),
        TIMEOUT,
        VERIFY_SSL,
        CLIENT,
    ),
    module=__name__,
    cls="GCSBackend",
    extra="gcs",
    schemes=("gs", "gcs"),
    notes="Directories are name prefixes: mkdir stores nothing and empty directories are not listed.",
)

# gcsfs ≥2026.10 probes every bucket over gRPC (zonal/HNS buckets) unless this is off before it
# is imported; against an emulator or private endpoint each probe hangs for a minute.
# https://github.com/fsspec/gcsfs/blob/main/gcsfs/__init__.py
HNS_ENV = "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"
DELETE_BATCH = 100  # GCS batch requests' limit


def _filesystem_class(custom_endpoint: bool) -> Any:
    """gcsfs's filesystem, with one attempt per request: the core does the retrying."""
    if custom_endpoint:
        os.environ.setdefault(HNS_ENV, "false")
    gcsfs = require("gcsfs", "gcs")
    retry = require("gcsfs.retry", "gcs")
    # The plain class never probes bucket types, whatever the import order was.
    base = require("gcsfs.core", "gcs").GCSFileSystem if custom_endpoint else gcsfs.GCSFileSystem

    class OneAttemptGCSFileSystem(base):  # type: ignore[misc, valid-type]  # a base class chosen at run time
        _request = retry.retry_request(retries=1)(base._request.__wrapped__)

    return OneAttemptGCSFileSystem


class GCSBackend(ObjectStoreBackend):
    """One bucket (below an optional prefix) of Google Cloud Storage or an emulator."""

    # mtime: rclone's `mtime` (RFC 3339, ns) and gsutil's `goog-reserved-file-mtime` metadata,
    # which object listings carry: no extra request to read them.
    features = dataclasses.replace(ObjectStoreBackend.features, mtime=True, mtime_precision=1e-9)
    obstore_lists = False  # obstore's ObjectMeta carries no custom metadata: the stored mtime needs gcsfs's

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`gs://bucket/name`: credentials and endpoint from the default Google chain and environment."""
        return bucket_url(url, "bucket", "gs://bucket/name")

    @property
    def endpoint_url(self) -> str | None:
        return self.options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST") or None

    def make_filesystem(self) -> Any:
        aiohttp = require("aiohttp", "gcs")
        cls = _filesystem_class(self.endpoint_url is not None)
        kwargs: dict[str, Any] = {}
        if self.options.get("project"):
            kwargs["project"] = self.options["project"]
        timeout = self.timeout
        fs = cls(
            token=self.options.get("token"),
            endpoint_url=self.options.get("endpoint_url"),
            requests_timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout,
                                                   sock_read=timeout),
            use_listings_cache=False,
            skip_instance_cache=True,
            **kwargs,
        )
        if not self.verify_ssl:
            fs.session_kwargs = {**fs.session_kwargs, "connector": self._unverified_connector(fs)}
            self.warn_if_unverified(self.endpoint_url or "https://storage.googleapis.com")
        return fs

    @staticmethod
    def _unverified_connector(fs: Any) -> Any:
        """An aiohttp connector that accepts any certificate, made on gcsfs's loop (it must be)."""
        from fsspec.asyn import sync

        aiohttp = require("aiohttp", "gcs")

        async def make() -> Any:
            return aiohttp.TCPConnector(ssl=False)

        return sync(fs.loop, make)

    def obstore_unsupported(self) -> str | None:
        """Why the obstore data path cannot serve this mount: every GCS configuration, for now.

        object_store speaks GCS's XML API (PUT/POST `?uploads`, `?list-type=2`, DELETE on
        `/bucket/key`); fake-gcs-server and other emulators serve only the JSON API, so uploads,
        copies, listings and deletes fail there (tests/backends/test_obstore.py shows it on the
        real server). Without an explicit credential its Google chain asks the GCE metadata
        server (169.254.169.254) for a token, even with `skip_signature` for writes; and a
        service-account mount on Google's own endpoint cannot be tested here, so it stays on
        gcsfs too rather than on an unproven path (the listing's `generation` pins reads, which
        the XML API's If-Match would not understand).
        """
        if self.endpoint_url:
            return "object_store speaks GCS's XML API, which this custom endpoint (an emulator) does not serve"
        token = self.options.get("token")
        if token in (None, ""):
            return "the default Google chain (gcloud, metadata server) is resolved by gcsfs"
        if token == "anon":
            return "obstore's anonymous GCS writes would ask the metadata server for a token"
        return "service-account mounts stay on gcsfs until the XML API path is proven against real GCS"

    def store_identity(self) -> tuple[Any, ...]:
        return ("gcs", self.endpoint_url, self.options.get("token"), self.options.get("project"))

    def stored_md5(self, info: dict[str, Any]) -> str | None:
        """`md5Hash` is the real md5; composite objects have none."""
        value = info.get("md5Hash")
        if not value:
            return None
        try:
            digest = base64.b64decode(value, validate=True)
        except ValueError:
            return None
        return digest.hex() if len(digest) == 16 else None

    def version_of(self, info: dict[str, Any]) -> str | None:
        generation = info.get("generation")
        return str(generation) if generation else None

    def delete_keys(self, names: list[str]) -> None:
        from fsspec.asyn import sync

        results = sync(self.fs.loop, self.fs._delete_files, names, DELETE_BATCH)
        failures = [r for r in results if isinstance(r, Exception) and not isinstance(r, FileNotFoundError)]
        if failures:
            raise failures[0]

    def stored_mtime(self, info: dict[str, Any]) -> datetime | None:
        return gcs_mtime_from_metadata(info.get("metadata"))

    def mtime_metadata(self, mtime: datetime | None) -> dict[str, str]:
        return {} if mtime is None else gcs_mtime_metadata(mtime)

    def set_mtime(self, path: str, mtime: datetime) -> None:
        """A metadata PATCH: the other keys, the Content-Type and the md5 stay as they are."""
        if self.info(path).is_dir:
            raise IsADirectoryError(self.full(path))
        self.fs.setxattrs(self.full(path), **gcs_mtime_metadata(mtime))

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        self.check_bucket()
        metadata = self.mtime_metadata(mtime) or None
        return GCSWriter(self.fs.open(self.full(path), "wb", block_size=PART_SIZE, content_type=content_type(path),
                                      metadata=metadata))


class GCSWriter(Writer):
    """gcsfs's resumable upload; abort cancels it so nothing is published."""

    def __init__(self, handle: Any) -> None:
        self._file = handle

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def _commit(self) -> None:
        try:
            self._file.close()
        except BaseException:
            self._cancel()
            raise

    def _abort(self) -> None:
        self._cancel()

    def _cancel(self) -> None:
        try:
            self._file.discard()
        except Exception:  # noqa: BLE001 - the session may already be gone; nothing was published
            pass
        # fsspec closes (and so publishes) a file object left open when it is collected.
        self._file.closed = True
