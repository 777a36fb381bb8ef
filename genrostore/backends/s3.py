"""Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, Wasabi…) over s3fs.

Uploads use our own multipart writer over s3fs's client calls: s3fs's file object keeps one
part size, so a stream of unknown size could hit S3's 10,000-part limit; ours grows its
parts and records the real md5 (rclone's `md5chksum` metadata) so `md5` needs no download.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any

from genrostore.backends._objectstore import ObjectStoreBackend, batches, part_size_for
from genrostore.core.backend import Writer
from genrostore.core.errors import GenrostoreError, UsageError
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="s3",
    summary="An Amazon S3 bucket, or one on an S3-compatible store (MinIO, Ceph, R2, Wasabi).",
    options=(
        Option("bucket", "Bucket name.", required=True),
        Option("prefix", "Key prefix the mount is jailed in (like a local mount's root)."),
        Option("region", "Region, e.g. eu-west-1 (default: the AWS chain's region)."),
        Option("endpoint_url", "Endpoint of an S3-compatible store (default: AWS, or $AWS_ENDPOINT_URL).",
               aliases=("endpoint",)),
        Option("anon", "Anonymous access to a public bucket (no credentials).", bool, default=False),
        Option("access_key", "Access key id (default: the AWS chain: env vars, ~/.aws, instance role).",
               secret=True, aliases=("key", "aws_access_key_id")),
        Option("secret_key", "Secret access key.", secret=True, aliases=("secret", "aws_secret_access_key")),
        Option("session_token", "Session token of temporary credentials.", secret=True,
               aliases=("token", "aws_session_token")),
        Option("profile", "A profile of the AWS shared credentials/config files."),
        Option("timeout", "Connect/read time-out in seconds (default: the global --timeout).", float),
    ),
    module=__name__,
    cls="S3Backend",
    extra="s3",
    schemes=("s3",),
    notes="Directories are key prefixes: mkdir stores nothing and empty directories are not listed.",
)

MD5_METADATA = "md5chksum"  # rclone's name: https://rclone.org/s3/#object-metadata
MAX_COPY_OBJECT = 5 * 1024**3  # CopyObject's limit, which bounds the md5 metadata rewrite
DELETE_BATCH = 1000  # DeleteObjects' limit


class S3Backend(ObjectStoreBackend):
    """One bucket (below an optional prefix) of an S3-compatible store."""

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`s3://bucket/key`: credentials and endpoint come from the AWS chain and environment."""
        bucket, _, key = url.split("://", 1)[1].partition("/")
        if not bucket:
            raise UsageError(f"{url}: an s3:// URL names a bucket: s3://bucket/key")
        return {"bucket": bucket}, key

    @property
    def endpoint_url(self) -> str | None:
        return (self.options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL") or None)

    def make_filesystem(self) -> Any:
        s3fs = require("s3fs", "s3")
        options = self.options
        client_kwargs: dict[str, Any] = {}
        if options.get("region"):
            client_kwargs["region_name"] = options["region"]
        fs = s3fs.S3FileSystem(
            anon=bool(options.get("anon")),
            key=options.get("access_key"),
            secret=options.get("secret_key"),
            token=options.get("session_token"),
            profile=options.get("profile"),
            endpoint_url=self.endpoint_url,
            client_kwargs=client_kwargs,
            # The core retries with backoff; the client's own retries would multiply the wait.
            config_kwargs={"connect_timeout": self.timeout, "read_timeout": self.timeout,
                           "retries": {"max_attempts": 1, "mode": "standard"}},
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        fs.retries = 1
        return fs

    def store_identity(self) -> tuple[Any, ...]:
        o = self.options
        return ("s3", self.endpoint_url, o.get("region"), o.get("anon"), o.get("access_key"),
                o.get("secret_key"), o.get("session_token"), o.get("profile"))

    def call(self, method: str, **kwargs: Any) -> Any:
        """One S3 API call through s3fs's client (its retries and error translation)."""
        return self.fs.call_s3(method, **kwargs)

    def delete_keys(self, names: list[str]) -> None:
        for batch in batches((n.split("/", 1)[1] for n in names), DELETE_BATCH):
            response = self.call("delete_objects", Bucket=self.bucket,
                                 Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise GenrostoreError(f"{self.name}: could not delete {len(errors)} object(s): "
                                      f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}")

    def md5(self, path: str) -> str | None:
        """`md5chksum` metadata, else a single-part, unencrypted-by-KMS ETag; otherwise unknown."""
        head = self.call("head_object", Bucket=self.bucket, Key=self.key(path))
        stored = (head.get("Metadata") or {}).get(MD5_METADATA)
        if stored:
            try:
                return base64.b64decode(stored, validate=True).hex()
            except ValueError:
                return None
        etag = (head.get("ETag") or "").strip('"')
        encrypted = head.get("ServerSideEncryption") == "aws:kms" or head.get("SSECustomerAlgorithm")
        if len(etag) == 32 and "-" not in etag and not encrypted:
            return etag
        return None

    def open_write(self, path: str, size_hint: int | None = None) -> Writer:
        self.check_bucket()
        return S3Writer(self, self.key(path), size_hint)


class S3Writer(Writer):
    """Buffers one part at a time: a small object is one PUT, a large one a multipart upload.

    Memory stays bounded by the current part size; abort (or a failed commit) aborts the
    multipart upload so no orphaned parts are left to be billed.
    """

    def __init__(self, backend: S3Backend, key: str, size_hint: int | None) -> None:
        self.backend = backend
        self.key = key
        self.size_hint = size_hint
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.buffer = bytearray()
        self.digest = hashlib.md5()
        self.size = 0
        self._done = False

    @property
    def part_size(self) -> int:
        return part_size_for(len(self.parts) + 1, self.size_hint)

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.size += len(data)
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            size = self.part_size
            self._upload_part(bytes(self.buffer[:size]))
            del self.buffer[:size]

    def _upload_part(self, body: bytes) -> None:
        bucket = self.backend.bucket
        if self.upload_id is None:
            self.upload_id = self.backend.call("create_multipart_upload", Bucket=bucket, Key=self.key)["UploadId"]
        number = len(self.parts) + 1
        response = self.backend.call("upload_part", Bucket=bucket, Key=self.key, UploadId=self.upload_id,
                                     PartNumber=number, Body=body)
        self.parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self.upload_id is None:
                self.backend.call("put_object", Bucket=self.backend.bucket, Key=self.key, Body=bytes(self.buffer))
                return
            if self.buffer:
                self._upload_part(bytes(self.buffer))
            self.buffer = bytearray()
            self.backend.call("complete_multipart_upload", Bucket=self.backend.bucket, Key=self.key,
                              UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})
            self.upload_id = None
        except BaseException:
            self._abort_upload()
            raise
        self._record_md5()

    def _record_md5(self) -> None:
        """A multipart ETag is not the md5: store the real one in metadata, by a server-side self-copy."""
        if self.size > MAX_COPY_OBJECT:
            return
        bucket = self.backend.bucket
        self.backend.call(
            "copy_object", Bucket=bucket, Key=self.key, CopySource={"Bucket": bucket, "Key": self.key},
            Metadata={MD5_METADATA: base64.b64encode(self.digest.digest()).decode()},
            MetadataDirective="REPLACE",
        )

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self.buffer = bytearray()
        self._abort_upload()

    def _abort_upload(self) -> None:
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        try:
            self.backend.call("abort_multipart_upload", Bucket=self.backend.bucket, Key=self.key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the write already failed; S3 lifecycle rules reap what is left
            pass

