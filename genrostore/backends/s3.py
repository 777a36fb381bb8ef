"""Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, Wasabi…) over s3fs.

Uploads use our own multipart writer over s3fs's client calls: s3fs's file object keeps one
part size, so a stream of unknown size could hit S3's 10,000-part limit; ours grows its
parts, keeps a few in flight, and records the real md5 (rclone's `md5chksum` metadata) so
`md5` needs no download. Downloads stream one GET's body rather than s3fs's block cache.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from datetime import datetime
from typing import Any, BinaryIO

from genrostore.backends._objectstore import (
    ObjectStoreBackend,
    batches,
    bucket_url,
    content_type,
    error_code,
    part_size_for,
    s3_mtime_from_metadata,
    s3_mtime_metadata,
)
from genrostore.core import signals
from genrostore.core.backend import CHUNK_SIZE, Backend, Entry, Skipped, Upload, Writer
from genrostore.core.errors import GenrostoreError, SourceChanged
from genrostore.core.options import CLIENT, TIMEOUT, VERIFY_SSL
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="s3",
    summary="An Amazon S3 bucket, or one on an S3-compatible store (MinIO, Ceph, R2, Wasabi).",
    options=(
        Option("bucket", "Bucket name.", required=True),
        Option("prefix", "Key prefix the mount is jailed in (like a local mount's root).", aliases=("base_path",)),
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
        TIMEOUT,
        Option("disable_checksum", "Do not store the md5 of a multipart upload (rclone's md5chksum metadata, "
               "written by a server-side self-copy after the upload): large uploads finish sooner, and `md5` "
               "of such an object reads it. As rclone's --s3-disable-checksum.", bool, default=False),
        VERIFY_SSL,
        CLIENT,
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
SINGLE_PUT_MAX = 8 * 1024**2  # up to this known size, one PUT whose ETag is the md5: no self-copy
PARTS_IN_FLIGHT = 4  # bounds an upload's memory to about 5 parts (4 sent, 1 filling)
# Parallel transfers share one budget of parts in flight, so memory stays bounded whatever -j is.
_PROCESS_PARTS = threading.BoundedSemaphore(8)
# Enough connections for the engine's parallel transfers, each with its parts in flight.
POOL_CONNECTIONS = 64
# A read returns what arrived within this time, so the stall watchdog sees a trickling body.
READ_GATHER_SECONDS = 0.2
log = logging.getLogger(__name__)
HEAD_BATCH = 256  # listed entries held while their metadata is asked for
HEADS_IN_FLIGHT = 32
OBSTORE_HEADS_IN_FLIGHT = 64  # as many as obstore's connection pool keeps busy
# A tree's first batches get a smaller pool: each thread started costs the listing thread ~2 ms
# while the others hold the GIL, and 64 of them cost a 1,000-file no-op sync more than they saved
# (0.54 → 0.48 s with 16, measured); the full pool is started once the tree proves large.
OBSTORE_HEADS_FIRST = 16
OBSTORE_HEADS_RAMP = 4  # batches (HEAD_BATCH entries each) on the first pool
HEAD_BATCHES_AHEAD = 2  # batches whose HEADs run while the one before them is yielded
# Keys one HEAD thread asks for in a row: a future per chunk, not per key (a Future, its
# Condition and the pool's hand-over cost the listing thread more than a HEAD's own Python).
HEAD_CHUNK = 8


def _with_stamps(batch: list[Entry], stamps: dict[str, datetime | None]) -> list[Entry]:
    """The batch in order, each file with the stored mtime its HEAD found (else the listing's).

    A plain Entry is rebuilt directly: `dataclasses.replace` inspects the fields on every call,
    a cost paid once per object of a sync."""
    return [e if (when := stamps.get(e.path)) is None
            else Entry(e.path, e.type, e.size, when, e.md5, e.version) if type(e) is Entry
            else dataclasses.replace(e, mtime=when) for e in batch]


class S3Backend(ObjectStoreBackend):
    """One bucket (below an optional prefix) of an S3-compatible store."""

    # mtime: `X-Amz-Meta-Mtime` as rclone stores it (nanoseconds in a decimal string). A listing
    # does not carry user metadata: `info` reads it from its HEAD, a long listing asks each
    # object's (`stored_mtimes`: HEADs, many at once), as rclone does for its modification times.
    features = dataclasses.replace(ObjectStoreBackend.features, streaming_ranges=True, pins_versions=True,
                                   mtime=True, mtime_precision=1e-9)
    obstore_head_metadata = True  # on obstore, a HEAD's attributes carry the `mtime` user metadata

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`s3://bucket/key`: credentials and endpoint come from the AWS chain and environment."""
        return bucket_url(url, "bucket", "s3://bucket/key")

    @property
    def endpoint_url(self) -> str | None:
        return (self.options.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL") or None)

    def make_filesystem(self) -> Any:
        # aiobotocore imports httpx (and anyio, rich) for an optional session whenever httpx is
        # installed — webdav4 brings it — though s3fs uses aiohttp: ~60 ms of every S3 command.
        s3fs = require("s3fs", "s3", without=("httpx", "httpx2"))
        options = self.options
        client_kwargs: dict[str, Any] = {"verify": self.verify_ssl}
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
            config_kwargs=self.botocore_config(),
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        fs.retries = 1
        self.warn_if_unverified(self.endpoint_url or "https://s3.amazonaws.com")
        return fs

    def botocore_config(self) -> dict[str, Any]:
        """botocore's Config for every client of this mount (s3fs's, the range client).

        One request per call: the core retries with backoff, botocore's own retries would
        multiply the wait (`max_attempts` counts retries, `total_max_attempts` requests).
        """
        return {"connect_timeout": self.timeout, "read_timeout": self.timeout,
                "retries": {"total_max_attempts": 1, "mode": "standard"},
                "max_pool_connections": POOL_CONNECTIONS}

    # -- the obstore data path (backends/_obstore.py) ---------------------------------------------
    def obstore_unsupported(self) -> str | None:
        return None  # endpoints, path style, anon, region, keys, profiles/SSO (via botocore): all covered

    def make_obstore(self) -> Any:
        from genrostore.backends import _obstore

        store_module = require("obstore.store", "s3")
        o = self.options
        endpoint = self.endpoint_url
        config: dict[str, Any] = {}
        region = o.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        provider = None
        if o.get("anon"):
            config["skip_signature"] = True
        elif o.get("access_key") and o.get("secret_key"):
            config["access_key_id"] = o["access_key"]
            config["secret_access_key"] = o["secret_key"]
            if o.get("session_token"):
                config["session_token"] = o["session_token"]
        else:
            credentials, chain_region = _obstore.aws_chain(o.get("profile"), self.name)
            provider = _obstore.BotocoreCredentials(credentials)
            region = region or chain_region
        if not region and (o.get("anon") or o.get("access_key")) and not endpoint:
            region = require("botocore.session", "s3").Session(profile=o.get("profile")).get_config_variable("region")
        config["region"] = region or "us-east-1"
        if endpoint:
            config["endpoint"] = endpoint
            config["virtual_hosted_style_request"] = False  # path style: MinIO, Ceph, rclone serve s3
        self.warn_if_unverified(endpoint or "https://s3.amazonaws.com")
        return store_module.S3Store(
            self.bucket, config=config, client_options=_obstore.client_options(self, endpoint),
            retry_config=_obstore.retry_config(self), credential_provider=provider)

    def obstore_multipart(self, size_hint: int | None) -> int | None:
        """obstore cuts parts of one size: fine when the size is known (it fits 10,000 parts)."""
        return part_size_for(1, size_hint) if size_hint is not None else None

    def obstore_md5_attributes(self, md5: str | None) -> dict[str, str]:
        if md5 is None or self.options.get("disable_checksum"):
            return {}
        return {MD5_METADATA: base64.b64encode(bytes.fromhex(md5)).decode()}

    def record_multipart_md5(self, key: str, digest: bytes, size: int, content_type: str, etag: str,
                             metadata: dict[str, str] | None = None) -> None:
        if not self.options.get("disable_checksum"):
            record_md5(self, key, digest, size, content_type, etag, metadata)

    def check_multipart_etag(self, key: str, etag: str, md5: str) -> None:
        if self.options.get("disable_checksum") or self.obstore is None:
            return
        found = self.obstore.head(key).get("e_tag")
        if not names_our_bytes(found, etag, md5):
            print(f"genrostore: warning: {self.name}: {key} was replaced by another writer right after this "
                  f"upload, or the store holds other bytes than were sent (ETag {found}, expected {etag})",
                  file=sys.stderr, flush=True)

    def check_put(self, key: str, md5: str, etag: str | None) -> None:
        """A single PUT's ETag is the md5 of what S3 stored, unless SSE-KMS/SSE-C makes it opaque."""
        from genrostore.backends._obstore import etag_md5

        if etag_md5(etag) == md5:
            return
        head = self.call("head_object", Bucket=self.bucket, Key=key)
        if head.get("ServerSideEncryption") == "aws:kms" or head.get("SSECustomerAlgorithm"):
            return
        if (head.get("ETag") or "") != (etag or ""):
            return  # another writer replaced it since: their bytes, not ours, are compared by them
        self.call("delete_object", Bucket=self.bucket, Key=key)
        raise GenrostoreError(f"the store holds other bytes than were sent (ETag {etag}, md5 {md5}); "
                              "the object was removed", hint="retry; check the network path",
                              path=self.relative_key(key))

    def fsspec_writer(self, path: str, size_hint: int | None) -> Writer:
        return S3Writer(self, self.key(path), size_hint)

    def store_identity(self) -> tuple[Any, ...]:
        o = self.options
        return ("s3", self.endpoint_url, o.get("region"), o.get("anon"), o.get("access_key"),
                o.get("secret_key"), o.get("session_token"), o.get("profile"))

    def call(self, method: str, **kwargs: Any) -> Any:
        """One S3 API call through s3fs's client (its retries and error translation)."""
        return self.fs.call_s3(method, **kwargs)

    def submit(self, method: str, **kwargs: Any) -> Future[Any]:
        """Start one S3 API call on s3fs's event loop without waiting for it."""
        import asyncio  # s3fs's paths only (it imports asyncio itself): obstore's lane never needs it

        return asyncio.run_coroutine_threadsafe(self.fs._call_s3(method, **kwargs), self.fs.loop)

    def delete_keys(self, names: list[str]) -> None:
        if self.obstore is not None:
            self.obstore.delete([n.split("/", 1)[1] for n in names])  # DeleteObjects, 1,000 a request
            return
        for batch in batches((n.split("/", 1)[1] for n in names), DELETE_BATCH):
            response = self.call("delete_objects", Bucket=self.bucket,
                                 Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            errors = response.get("Errors") or []
            if errors:
                first = errors[0]
                raise GenrostoreError(f"could not delete {len(errors)} object(s): "
                                      f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}", path="")

    def incomplete_uploads(self, path: str) -> Iterator[Upload]:
        """Every multipart upload at or below `path`: S3 keeps (and bills) their parts until aborted.

        An upload carries no mark of the tool that started it, so this lists them all, as
        rclone's `backend cleanup` does; `genrostore cleanup` keeps the young ones (`--age`).
        """
        key = self.key(path)
        markers: dict[str, str] = {}
        while True:
            page = self.call("list_multipart_uploads", Bucket=self.bucket, Prefix=key, **markers)
            for upload in page.get("Uploads", []):
                name = upload["Key"]
                if key and name != key and not name.startswith(key.rstrip("/") + "/"):
                    continue
                relative = name[len(self.prefix) + 1:] if self.prefix else name
                yield Upload(relative, upload["UploadId"], upload.get("Initiated"))
            if not page.get("IsTruncated"):
                return
            markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}

    def abort_upload(self, upload: Upload) -> None:
        self.call("abort_multipart_upload", Bucket=self.bucket, Key=self.key(upload.path), UploadId=upload.upload_id)

    def info(self, path: str) -> Entry:
        """One HEAD for a file, whose user metadata gives the mtime rclone or genrostore stored."""
        key = self.key(path)
        if not key or path.endswith("/") or self.obstore is not None:
            return super().info(path)  # on obstore: its HEAD with the metadata (no botocore import)
        try:
            head = self.call("head_object", Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            # A directory is a prefix some key starts with (one listing request, as s3fs asks).
            try:
                page = self.call("list_objects_v2", Bucket=self.bucket, Prefix=key.rstrip("/") + "/", MaxKeys=1,
                                 Delimiter="/")
            except FileNotFoundError:  # no such bucket: said with its name
                self.check_bucket()
                raise
            if page.get("KeyCount") or page.get("Contents") or page.get("CommonPrefixes"):
                return Entry(path, "dir")
            self.check_bucket()
            raise FileNotFoundError(self.full(path)) from None
        return self._head_entry(path, head)

    def _head_entry(self, path: str, head: dict[str, Any]) -> Entry:
        stored = s3_mtime_from_metadata(head.get("Metadata"))
        info = {"name": self.full(path), "type": "file", "size": head.get("ContentLength"),
                "ETag": head.get("ETag"), "LastModified": stored or head.get("LastModified")}
        return self.entry(info, path)

    def stored_mtimes(self, entries: Iterator[Entry]) -> Iterator[Entry]:
        """The listing's entries in order, each file's mtime read from its metadata (HEADs run
        `OBSTORE_HEADS_IN_FLIGHT` at a time on obstore, `HEADS_IN_FLIGHT` on s3fs; memory bounded
        by a few batches)."""
        if self.obstore is not None:
            yield from self._stamped_ahead(entries)
            return
        batch: list[Entry] = []
        for entry in entries:
            batch.append(entry)
            if len(batch) >= HEAD_BATCH:
                yield from self._stamp(batch)
                batch = []
        if batch:
            yield from self._stamp(batch)

    def _stamped_ahead(self, entries: Iterator[Entry]) -> Iterator[Entry]:
        """obstore's HEADs on `OBSTORE_HEADS_IN_FLIGHT` threads, `HEAD_BATCHES_AHEAD` batches queued
        beyond the one being yielded: the connections stay busy at each batch's end and the
        listing goes on while they run (one batch at a time stalled on both)."""
        from concurrent.futures import ThreadPoolExecutor

        client = self.obstore
        assert client is not None
        pools = [ThreadPoolExecutor(OBSTORE_HEADS_FIRST, thread_name_prefix="genrostore-head")]
        begun = 0
        started: deque[tuple[list[Entry], list[Future[list[tuple[str, datetime | None]]]]]] = deque()

        def stamps_of(chunk: list[tuple[str, str]]) -> list[tuple[str, datetime | None]]:
            return [(path, s3_mtime_from_metadata(found)) for path, key in chunk
                    if (found := client.attributes(key)) is not None]

        def start(batch: list[Entry]) -> None:
            nonlocal begun
            begun += 1
            if begun == OBSTORE_HEADS_RAMP + 1:  # a large tree: the full pool from here on
                pools[-1].shutdown(wait=False)  # its threads leave once its queued HEADs are done
                pools.append(ThreadPoolExecutor(OBSTORE_HEADS_IN_FLIGHT, thread_name_prefix="genrostore-head"))
            pool = pools[-1]
            files = [(e.path, self.key(e.path)) for e in batch if not e.is_dir and not isinstance(e, Skipped)]
            started.append((batch, [pool.submit(stamps_of, files[at:at + HEAD_CHUNK])
                                    for at in range(0, len(files), HEAD_CHUNK)]))

        def finish() -> list[Entry]:
            batch, chunks = started.popleft()
            stamps = {path: when for chunk in chunks for path, when in chunk.result()}
            return _with_stamps(batch, stamps)

        batch: list[Entry] = []
        try:
            for entry in entries:
                batch.append(entry)
                if len(batch) >= HEAD_BATCH:
                    start(batch)
                    batch = []
                    if len(started) > HEAD_BATCHES_AHEAD:
                        yield from finish()
            if batch:
                start(batch)
            while started:
                yield from finish()
        finally:
            for pool in pools:
                pool.shutdown(wait=False, cancel_futures=True)

    def _stamp(self, batch: list[Entry]) -> list[Entry]:
        files = [e for e in batch if not e.is_dir and not isinstance(e, Skipped)]
        if not files:
            return batch
        stamps = self._stamps_by_s3fs(files)
        return _with_stamps(batch, stamps)

    def _stamps_by_s3fs(self, files: list[Entry]) -> dict[str, datetime | None]:
        import asyncio

        from fsspec.asyn import sync

        limit = asyncio.Semaphore(HEADS_IN_FLIGHT)

        async def head(entry: Entry) -> datetime | None:
            async with limit:
                try:
                    found = await self.fs._call_s3("head_object", Bucket=self.bucket, Key=self.key(entry.path))
                except FileNotFoundError:  # removed since it was listed: the listing's time stands
                    return None
            return s3_mtime_from_metadata(found.get("Metadata"))

        async def all_heads() -> list[datetime | None]:
            return await asyncio.gather(*(head(e) for e in files))

        return dict(zip((e.path for e in files), sync(self.fs.loop, all_heads), strict=True))

    def stored_mtime(self, info: dict[str, Any]) -> datetime | None:
        """The `mtime` user metadata of an obstore HEAD (`{"metadata": attributes}`); listings carry none."""
        return s3_mtime_from_metadata(info.get("metadata")) if "metadata" in info else None

    def set_mtime(self, path: str, mtime: datetime) -> None:
        """A server-side self-copy replacing the metadata: the bytes stay, Content-Type and the
        md5 metadata are kept (REPLACE would drop them), as rclone's SetModTime does."""
        key = self.key(path)
        if not key:
            raise IsADirectoryError(self.full(path))
        head = self.call("head_object", Bucket=self.bucket, Key=key)
        if (head.get("ContentLength") or 0) > MAX_COPY_OBJECT:
            raise self.unsupported("setting the mtime of an object over 5 GiB")
        metadata = {**(head.get("Metadata") or {}), **s3_mtime_metadata(mtime)}
        extra = {name: head[name] for name in ("ContentType", "ContentEncoding", "ContentDisposition",
                                               "ContentLanguage", "CacheControl") if head.get(name)}
        self.call("copy_object", Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                  CopySourceIfMatch=head["ETag"], Metadata=metadata, MetadataDirective="REPLACE", **extra)

    def stored_md5(self, info: dict[str, Any]) -> str | None:
        """A listing's single-part ETag (no HEAD per object, as rclone); KMS/SSE-C ETags are not md5s."""
        from genrostore.backends._obstore import etag_md5

        if info.get("ServerSideEncryption") == "aws:kms" or info.get("SSECustomerAlgorithm"):
            return None
        return etag_md5(info.get("ETag") or info.get("etag"))

    def md5(self, path: str) -> str | None:
        """`md5chksum` metadata, else a single-part, unencrypted-by-KMS ETag; otherwise unknown."""
        return self._md5_of_head(self.call("head_object", Bucket=self.bucket, Key=self.key(path)))

    @staticmethod
    def _md5_of_head(head: dict[str, Any]) -> str | None:
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

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        """One GET, streamed: no HEAD first (a missing key answers 404 just the same)."""
        if self.obstore is not None and not (offset and self._ranges_refused):
            try:
                return self._obstore_open(path, offset)
            except Exception as exc:
                if not (offset and self._range_refused(exc)):
                    raise
        key = self.key(path)
        if not key:
            raise IsADirectoryError(self.full(path))
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if offset:
            request["Range"] = f"bytes={offset}-"
        try:
            response = self.call("get_object", **request)
        except FileNotFoundError:
            if self.info(path).is_dir:
                raise IsADirectoryError(self.full(path)) from None
            raise
        except OSError as exc:
            if offset and error_code(exc) == "InvalidRange":  # at or past the end: nothing left to read
                return io.BytesIO(b"")
            raise
        return S3Reader(self.fs.loop, response["Body"])  # type: ignore[return-value]  # a RawIOBase, all a stream needs


    # A server that answers a ranged GET with 200 and a Content-Range (rclone serve s3 does)
    # is refused by object_store ("non-partial response"); botocore reads it as the range it is.
    _ranges_refused = False
    _range_client: Any = None
    _range_client_lock = threading.Lock()

    def range_client(self) -> Any:
        """A blocking botocore client for those ranges, read on the range thread that asked.

        Measured (1 GiB, 4 ranges of 32 MiB at once, rclone serve s3): through s3fs's event loop
        2.8–3.9 s with 1.8–3.1 s of system time, each MiB gathered on the loop's thread and
        written by another; read where it is written, 1.6–1.8 s with 0.6–0.7 s. Built as
        `make_filesystem` builds s3fs's: the same credentials, endpoint, TLS check and
        `botocore_config` (time-outs, one attempt per call: the core retries).
        """
        with self._range_client_lock:
            if self._range_client is None:
                botocore_session = require("botocore.session", "s3")
                config_class = require("botocore.config", "s3").Config
                unsigned = require("botocore", "s3").UNSIGNED

                o = self.options
                config = config_class(**self.botocore_config(),
                                      s3={"addressing_style": "path" if self.endpoint_url else "auto"},
                                      **({"signature_version": unsigned} if o.get("anon") else {}))
                session = botocore_session.Session(profile=o.get("profile"))
                self._range_client = session.create_client(
                    "s3", endpoint_url=self.endpoint_url, region_name=o.get("region") or None,
                    verify=self.verify_ssl, aws_access_key_id=o.get("access_key"),
                    aws_secret_access_key=o.get("secret_key"), aws_session_token=o.get("session_token"),
                    config=config)
            return self._range_client

    def _range_refused(self, exc: BaseException) -> bool:
        """Whether `exc` is object_store refusing such an answer; ranges go through botocore from then on."""
        if "non-partial response" not in str(exc):
            return False
        if not self._ranges_refused:
            self._ranges_refused = True
            log.warning("%s: ranged reads through botocore (the server answers a Range with 200, "
                        "which object_store refuses)", self.name)
        return True

    def version_of(self, info: dict[str, Any]) -> str | None:
        etag = info.get("ETag") or info.get("etag")
        return str(etag) if etag else None

    def open_range(self, path: str, offset: int, length: int, version: str | None = None) -> BinaryIO:
        """One GET of exactly this range, streamed as it arrives; with `version`, only of that ETag."""
        if self.obstore is not None and not self._ranges_refused:
            try:
                return self._obstore_open(path, offset, length, version)
            except Exception as exc:
                if not self._range_refused(exc):
                    raise
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(path),
                                   "Range": f"bytes={offset}-{offset + length - 1}"}
        if version:
            request["IfMatch"] = version
        refused = self._ranges_refused
        try:
            if refused:
                return self.range_client().get_object(**request)["Body"]  # a botocore StreamingBody: read(n) and close()
            response = self.call("get_object", **request)
        except Exception as exc:
            if version and error_code(exc) == "PreconditionFailed":
                raise SourceChanged("the object was replaced while being read (its ETag changed)",
                                    path=path) from exc
            raise
        return S3Reader(self.fs.loop, response["Body"])  # type: ignore[return-value]  # a RawIOBase, all a stream needs

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """CopyObject straight away: the store answers 404 for a missing source, no HEAD needed."""
        if not isinstance(dst, S3Backend) or not self.same_store(dst):
            return False
        key = self.key(src_path)
        if not key:
            raise IsADirectoryError(self.full(src_path))
        dst.check_bucket()
        if self.obstore is not None and dst.bucket == self.bucket:
            try:
                self.obstore.copy(key, dst.key(dst_path))
                return True
            except FileNotFoundError:
                if self.info(src_path).is_dir:
                    raise IsADirectoryError(self.full(src_path)) from None
                raise
            except Exception as exc:
                from genrostore.backends._obstore import code_and_status

                if code_and_status(exc)[0] not in ("InvalidRequest", "EntityTooLarge"):
                    raise
                # Over CopyObject's 5 GiB: the multipart copy below
        try:
            self.call("copy_object", Bucket=dst.bucket, Key=dst.key(dst_path),
                      CopySource={"Bucket": self.bucket, "Key": key})
        except FileNotFoundError:
            if self.info(src_path).is_dir:
                raise IsADirectoryError(self.full(src_path)) from None
            raise
        except OSError as exc:
            if error_code(exc) not in ("InvalidRequest", "EntityTooLarge"):
                raise
            # Over CopyObject's 5 GiB: a multipart copy, which takes the type from the request.
            source_type = self.fs.info(self.full(src_path)).get("ContentType")
            self.fs.copy(self.full(src_path), dst.full(dst_path), ContentType=source_type or content_type(dst_path))
        return True

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        self.check_bucket()
        if self.obstore is not None:
            from genrostore.backends._obstore import ObstoreWriter

            return ObstoreWriter(self.obstore, self.key(path), size_hint, content_type(path),
                                 lambda: S3Writer(self, self.key(path), size_hint, mtime),
                                 metadata=_mtime_metadata(mtime))
        return S3Writer(self, self.key(path), size_hint, mtime)

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        """One GET, no HEAD (s3fs's `_cat_file` asks for the size first)."""
        if self.obstore is not None:
            return await super().read_small(path, limit)
        response = await self.fs._call_s3("get_object", Bucket=self.bucket, Key=self.key(path))
        body = response["Body"]
        try:
            if limit is not None and (response.get("ContentLength") or 0) > limit:
                return None
            return await body.read()
        finally:
            body.close()

    async def write_small(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        """One PUT with Content-MD5: the store rejects a body damaged on the way, and its ETag is the md5."""
        if self.obstore is not None:  # the returned ETag is compared instead of a Content-MD5
            await self.obstore.put_async(self.key(path), data, content_type(path), _mtime_metadata(mtime))
            return
        put = self.fs._call_s3("put_object", Bucket=self.bucket, Key=self.key(path), Body=data,
                               ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),
                               ContentType=content_type(path), Metadata=_mtime_metadata(mtime))
        # With obstore, the batch runs on obstore's loop: s3fs's calls run on s3fs's own.
        import asyncio

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(put, self.fs.loop))

    def write_small_blocking(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        assert self.obstore is not None  # blocking_small: only on obstore
        self.obstore.put(self.key(path), data, content_type(path), _mtime_metadata(mtime))

    async def copy_small(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """One CopyObject, no HEAD (the engine batches only objects it listed, far below 5 GiB)."""
        if not isinstance(dst, S3Backend) or not self.same_store(dst):
            return False
        if self.obstore is not None and dst.bucket == self.bucket:
            await self.obstore.copy_async(self.key(src_path), dst.key(dst_path))
            return True
        await self.fs._call_s3("copy_object", Bucket=dst.bucket, Key=dst.key(dst_path),
                               CopySource={"Bucket": self.bucket, "Key": self.key(src_path)})
        return True


def _mtime_metadata(mtime: datetime | None) -> dict[str, str]:
    return {} if mtime is None else s3_mtime_metadata(mtime)


def record_md5(backend: S3Backend, key: str, digest: bytes, size: int, content_type: str, etag: str | None,
               metadata: dict[str, str] | None = None) -> None:
    """A multipart ETag is not the md5: store the real one in metadata, by a server-side self-copy.

    The copy is conditional on the ETag our upload created: if another writer replaced the
    key in between, our md5 is not stamped on their bytes (the key is theirs, as it would be
    had they written a moment later), and the user is told.
    """
    if size > MAX_COPY_OBJECT or not etag:
        return
    bucket = backend.bucket
    try:
        backend.call(
            "copy_object", Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key},
            CopySourceIfMatch=etag,
            Metadata={**(metadata or {}), MD5_METADATA: base64.b64encode(digest).decode()},
            ContentType=content_type,  # REPLACE replaces it too
            MetadataDirective="REPLACE",
        )
    except Exception as exc:
        if not isinstance(exc, FileNotFoundError) and error_code(exc) != "PreconditionFailed":
            raise
        print(f"genrostore: warning: {backend.name}: {key} was replaced or removed by another "
              "writer right after this upload; its md5 metadata was not recorded", file=sys.stderr, flush=True)


def names_our_bytes(found: str | None, etag: str, md5: str) -> bool:
    """Whether the ETag `found` after our multipart upload names our bytes: the parts' ETag
    (`etag`, as S3, MinIO and Ceph compute it), or the whole object's md5 (`md5`, hex), which
    stores over a filesystem (rclone serve s3) report instead."""
    from genrostore.backends._obstore import etag_md5

    return bool(found) and (found == etag or etag_md5(found) == md5.lower())


class S3Reader(io.RawIOBase):
    """The body of one GET, read on s3fs's loop as it arrives.

    A read returns once it has `size` bytes, the body ended, or `READ_GATHER_SECONDS` passed
    with some bytes in hand: large reads stay large on a fast link, and the engine's stall
    watchdog (which looks after every read) still sees a trickle. Nothing is cached beyond
    what the socket holds.
    """

    def __init__(self, loop: Any, body: Any) -> None:
        self._loop = loop
        self._body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        return self._on_loop(self._gather, size)

    def _on_loop(self, coroutine_function: Any, *args: Any) -> Any:
        from fsspec.asyn import sync

        return sync(self._loop, coroutine_function, *args)

    def readall(self) -> bytes:
        parts = []
        while chunk := self.read(CHUNK_SIZE):
            parts.append(chunk)
        return b"".join(parts)

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    async def _gather(self, size: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        deadline = time.monotonic() + READ_GATHER_SECONDS
        while got < size:
            chunk = await self._body.read(size - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
            if time.monotonic() >= deadline:
                break
        return b"".join(parts)

    def close(self) -> None:
        if not self.closed:
            try:
                # On the loop (aiohttp is not thread-safe); drops the connection if the body was not read to its end.
                self._on_loop(self._body.aclose)
            finally:
                super().close()


class S3Writer(Writer):
    """A small object is one PUT; a large one a multipart upload with a few parts in flight.

    Memory stays bounded by `PARTS_IN_FLIGHT` + 1 parts; abort (or a failed commit) aborts the
    multipart upload so no orphaned parts are left to be billed.
    """

    def __init__(self, backend: S3Backend, key: str, size_hint: int | None, mtime: datetime | None = None) -> None:
        self.backend = backend
        # The object's user metadata, sent with its PUT or multipart create (no extra request).
        self.metadata = _mtime_metadata(mtime)
        self.key = key
        self.size_hint = size_hint
        # A known small size is sent as one PUT even past the first part: its ETag is the md5.
        self.single_put = size_hint is not None and size_hint <= SINGLE_PUT_MAX
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.in_flight: deque[tuple[int, Future[Any]]] = deque()
        self.next_part = 1
        self.pending: list[bytes] = []  # written, not yet sent: less than one part
        self.pending_size = 0
        # The whole object's md5, for the metadata a multipart upload needs (see `_record_md5`).
        self.digest = None if backend.options.get("disable_checksum") else hashlib.md5()
        self.size = 0
        self.content_type = content_type(key)

    @property
    def part_size(self) -> int:
        return part_size_for(self.next_part, self.size_hint)

    def write(self, data: bytes) -> None:
        if self.digest is not None:
            self.digest.update(data)
        self.size += len(data)
        self.pending.append(bytes(data))
        self.pending_size += len(data)
        if self.single_put and self.pending_size <= SINGLE_PUT_MAX:
            return
        while self.pending_size >= self.part_size:
            self._send_part(self._take(self.part_size))

    def _take(self, size: int) -> bytes:
        """The first `size` pending bytes, joined once (chunks arrive part-aligned, so rarely split)."""
        joined = b"".join(self.pending)
        body, rest = (joined, b"") if len(joined) == size else (joined[:size], joined[size:])
        self.pending = [rest] if rest else []
        self.pending_size = len(rest)
        return body

    def _send_part(self, body: bytes) -> None:
        bucket = self.backend.bucket
        if self.upload_id is None:
            self.upload_id = self.backend.call("create_multipart_upload", Bucket=bucket, Key=self.key,
                                               ContentType=self.content_type, Metadata=self.metadata)["UploadId"]
        while len(self.in_flight) >= PARTS_IN_FLIGHT:
            self._finish_oldest_part()
        while not _PROCESS_PARTS.acquire(timeout=0.05):
            if not self.in_flight:
                _PROCESS_PARTS.acquire()
                break
            self._finish_oldest_part()  # our own parts free budget as they complete
        number = self.next_part
        self.next_part += 1
        try:
            future = self.backend.submit("upload_part", Bucket=bucket, Key=self.key, UploadId=self.upload_id,
                                         PartNumber=number, Body=body)
        except BaseException:
            _PROCESS_PARTS.release()
            raise
        future.add_done_callback(lambda _: _PROCESS_PARTS.release())
        self.in_flight.append((number, future))

    def _finish_oldest_part(self) -> None:
        number, future = self.in_flight.popleft()
        self.parts.append({"PartNumber": number, "ETag": future.result()["ETag"]})

    def _commit(self) -> None:
        try:
            if self.upload_id is None:
                body = self._take(self.pending_size)
                digest = (self.digest or hashlib.md5(body)).digest()
                signals.refuse_publish()
                self.backend.call("put_object", Bucket=self.backend.bucket, Key=self.key, Body=body,
                                  ContentMD5=base64.b64encode(digest).decode(), ContentType=self.content_type,
                                  Metadata=self.metadata)
                return
            if self.pending_size:
                self._send_part(self._take(self.pending_size))
            while self.in_flight:
                self._finish_oldest_part()
            signals.refuse_publish()
            done = self.backend.call("complete_multipart_upload", Bucket=self.backend.bucket, Key=self.key,
                                     UploadId=self.upload_id, MultipartUpload={"Parts": self.parts})
            self.upload_id = None
        except BaseException:
            self._abort_upload()
            raise
        self._record_md5(done.get("ETag"))

    def _record_md5(self, etag: str | None) -> None:
        if self.digest is not None:
            record_md5(self.backend, self.key, self.digest.digest(), self.size, self.content_type, etag,
                       self.metadata)

    def _abort(self) -> None:
        self.pending = []
        self._abort_upload()

    def _abort_upload(self) -> None:
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        # A part still uploading could land after the abort and be kept: let them end first.
        wait_futures([future for _, future in list(self.in_flight)], timeout=self.backend.timeout)
        try:
            self.backend.call("abort_multipart_upload", Bucket=self.backend.bucket, Key=self.key, UploadId=upload_id)
        except Exception:  # noqa: BLE001 - the write already failed; S3 lifecycle rules reap what is left
            pass
