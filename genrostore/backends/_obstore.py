"""The Rust data path behind S3, GCS and Azure: obstore (Python bindings of the `object_store` crate).

botocore signs and parses every request in Python; for many small objects that CPU is the
floor (docs/benchmarks.md). obstore signs and sends in Rust and releases the GIL. It carries
the bulk operations — GET (whole, ranged, streamed), PUT (one request, or multipart with
bounded memory), server-side COPY inside a bucket, batched DELETE, LIST, HEAD — while
s3fs/gcsfs/adlfs stay for what it does not cover (bucket management, multipart listings,
cross-bucket copies, keys `object_store` cannot spell, and the uploads whose md5 only the
fsspec writers can record).

The mount option `client` chooses: `fsspec` never uses obstore; `obstore` insists (a mount
it cannot serve is a configuration error); `auto` (the default) uses it whenever it supports
the mount's configuration. `--debug` says which client a mount got and why.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, UTC
from typing import TYPE_CHECKING, Any

from genrostore.core import signals
from genrostore.core.backend import CHUNK_SIZE, Entry, Writer
from genrostore.core.errors import (
    AuthenticationFailed,
    ConfigError,
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    NotPermitted,
    SourceChanged,
    TemporaryError,
)
from genrostore.core.registry import require

if TYPE_CHECKING:
    import asyncio

    from genrostore.backends._objectstore import ObjectStoreBackend

CLIENTS = ("auto", "obstore", "fsspec")
log = logging.getLogger(__name__)

# A known size up to this is one PUT (its ETag is the md5 on S3); above it a multipart upload.
SINGLE_PUT_MAX = 8 * 1024**2
PARTS_IN_FLIGHT = 4
# Multipart uploads running at once in this process: each holds up to PARTS_IN_FLIGHT + 1 parts,
# so memory stays bounded whatever -j is (4 × 5 × 8 MiB parts = 160 MiB at most).
_MULTIPART_SLOTS = threading.BoundedSemaphore(4)
# A GET yields what arrived, at least this much unless the body ended: reads stay large on a
# fast link, and a trickle still reaches the engine's stall watchdog in small steps.
STREAM_CHUNK = 256 * 1024


class Unrepresentable(Exception):
    """A listing `object_store` cannot express faithfully (a key with an empty segment like
    `a//b`, or a `dir/` marker it would show as a file): the fsspec listing is used instead."""


def _invalid_path(exc: BaseException) -> bool:
    """object_store refuses a listed key it cannot parse: as InvalidPathError (`a//b`) or, for a
    `.`/`..` segment, as a generic error naming the invalid path."""
    return type(exc).__name__ == "InvalidPathError" or "Encountered object with invalid path" in str(exc)


# -- choosing the client ------------------------------------------------------------------------
def choose(backend: ObjectStoreBackend) -> ObstoreClient | None:
    """The obstore client for this mount, or None for the fsspec path; says why under --debug."""
    choice = str(backend.options.get("client") or "auto")
    kind = backend.spec.type
    if choice == "fsspec":
        _say(backend, "fsspec", "client: fsspec")
        return None
    reason = backend.obstore_unsupported()
    if reason is None:
        try:
            importlib.import_module("obstore")
        except ImportError:
            reason = "the obstore package is not installed"
            if choice == "obstore":
                require("obstore", kind)  # exit 7 naming the install command
    if reason is not None:
        if choice == "obstore":
            raise ConfigError(f"mount '{backend.name}': client: obstore cannot serve this mount: {reason}",
                              hint="use client: auto (or fsspec)")
        _say(backend, "fsspec", f"auto: {reason}")
        return None
    store = backend.make_obstore()
    _say(backend, "obstore", "client: obstore" if choice == "obstore" else "auto: obstore supports this configuration")
    return ObstoreClient(backend, store)


def _say(backend: ObjectStoreBackend, client: str, why: str) -> None:
    log.warning("%s: data path %s (%s)", backend.name, client, why)


def client_options(backend: ObjectStoreBackend, endpoint: str | None) -> dict[str, Any]:
    """Time-outs, TLS and plain-http choice shared by the three stores."""
    timeout = timedelta(seconds=backend.timeout)
    options: dict[str, Any] = {
        "connect_timeout": timeout,
        "read_timeout": timeout,  # per read: a silent server fails; a slow body is the watchdog's
        "timeout": timedelta(days=7),  # a whole request: a 1 TiB part may take hours
        "pool_max_idle_per_host": "64",
    }
    if endpoint and endpoint.startswith("http://"):
        options["allow_http"] = True
    if not backend.verify_ssl:
        options["allow_invalid_certificates"] = True
    return options


def retry_config(backend: ObjectStoreBackend) -> dict[str, Any]:
    """One attempt per request: the core retries with its own backoff (as for the fsspec path)."""
    return {"max_retries": 0, "retry_timeout": timedelta(seconds=max(1.0, backend.timeout))}


# -- S3 credentials: the AWS chain, resolved once by botocore ------------------------------------
class BotocoreCredentials:
    """obstore's credential provider over botocore's chain (env, ~/.aws profiles, SSO, roles).

    obstore alone reads neither `~/.aws` profiles nor SSO caches; botocore resolves them once,
    and refreshes temporary credentials itself when obstore asks again.
    """

    def __init__(self, credentials: Any) -> None:
        self._credentials = credentials
        self._refreshable = hasattr(credentials, "refresh_needed")

    def __call__(self) -> dict[str, Any]:
        frozen = self._credentials.get_frozen_credentials()
        expires = datetime.now(UTC) + timedelta(minutes=5) if self._refreshable else None
        return {"access_key_id": frozen.access_key, "secret_access_key": frozen.secret_key,
                "token": frozen.token, "expires_at": expires}


def aws_chain(profile: str | None, name: str) -> tuple[Any, str | None]:
    """(credentials, region) from botocore's chain; exit 6 naming the mount when there are none."""
    import botocore.exceptions  # type: ignore[import-untyped]  # botocore ships no type hints
    import botocore.session  # type: ignore[import-untyped]  # botocore ships no type hints

    try:
        session = botocore.session.Session(profile=profile)
        credentials = session.get_credentials()
        region = session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError as exc:
        raise AuthenticationFailed(f"no usable credentials for mount '{name}' ({type(exc).__name__})",
                                   hint="set keys in the mount, AWS_* variables or ~/.aws") from None
    if credentials is None:
        raise AuthenticationFailed(f"no usable credentials for mount '{name}' (none in the AWS chain)",
                                   hint="set keys in the mount, AWS_* variables or ~/.aws, or anon: true")
    return credentials, region


# -- error mapping ------------------------------------------------------------------------------
_STATUS = re.compile(r"status code: (\d{3})")
_CODE = re.compile(r"<Code>(\w+)</Code>|\"code\"\s*:\s*\"?(\w+)|<Message>(\w+)</Message>")


def is_obstore_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("obstore")


def code_and_status(exc: BaseException) -> tuple[str | None, int | None]:
    """The store's error code and HTTP status, read from obstore's message (its only carrier)."""
    text = str(exc)
    status = _STATUS.search(text)
    code = _CODE.search(text)
    found = next((group for group in code.groups() if group), None) if code else None
    return found, int(status.group(1)) if status else None


def classify(exc: BaseException, where: str) -> GenrostoreError | None:
    """obstore's exceptions on the documented exit codes (the fsspec ones are `_objectstore.classify`)."""
    from genrostore.backends import _objectstore

    name = type(exc).__name__
    text = str(exc)
    if any(marker in text for marker in ("certificate", "InvalidCertificate", "UnknownIssuer", "tls handshake")):
        return NotPermitted(f"{where}: TLS certificate verification failed",
                            hint="fix the store's certificate (or its CA bundle), or set verify_ssl: false on the mount")
    code, status = code_and_status(exc)
    if code in _objectstore._NOT_FOUND_DIR:
        return DirectoryNotFound(f"{where}: no such bucket or container")
    if name == "PreconditionError" or code == "PreconditionFailed":
        return SourceChanged(f"{where}: the object changed while being read (its version no longer matches)")
    if name == "UnauthenticatedError" or code in _objectstore._AUTH or status == 401:
        return AuthenticationFailed(f"{where}: authentication failed ({code or status or name})")
    if name == "PermissionDeniedError" or code in _objectstore._DENIED or status == 403:
        return NotPermitted(f"{where}: access denied ({code or status or name})")
    if isinstance(exc, FileNotFoundError) or code in _objectstore._NOT_FOUND or status == 404:
        return FileNotFound(f"{where}: no such file or directory")
    if code in _objectstore._TRANSIENT or status in (408, 429) or (status is not None and status >= 500):
        return TemporaryError(f"{where}: the store is busy or failing ({code or status})")
    if status is None and any(marker in text for marker in ("error sending request", "Connect", "timed out",
                                                             "connection", "operation timed out", "Timeout")):
        return TemporaryError(f"{where}: cannot reach the store ({name})")
    if name == "AlreadyExistsError":
        return None
    first = text.split("\n", 1)[0].split(": Error performing", 1)[0]
    return GenrostoreError(f"{where}: {first[:200]}")


# -- the client -----------------------------------------------------------------------------------
_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_LOCK = threading.Lock()


def event_loop() -> asyncio.AbstractEventLoop:
    """One asyncio loop thread for every obstore mount: the engine batches small files on it."""
    import asyncio  # here, not at the top: the blocking lane never needs a loop

    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="genrostore-obstore", daemon=True).start()
            _LOOP = loop
    return _LOOP


def etag_md5(etag: str | None) -> str | None:
    """The md5 an ETag is, when it is one: 32 hex digits, no `-N` multipart suffix."""
    value = (etag or "").strip('"').lower()
    return value if len(value) == 32 and re.fullmatch(r"[0-9a-f]{32}", value) else None


class ObstoreClient:
    """One mount's obstore store; keys are full object keys (the mount's prefix included)."""

    def __init__(self, backend: ObjectStoreBackend, store: Any) -> None:
        import obstore

        self.backend = backend
        self.store = store
        self.ob: Any = obstore

    # -- reads --------------------------------------------------------------------------------
    def open(self, key: str, offset: int = 0, length: int | None = None, version: str | None = None) -> StreamReader:
        options: dict[str, Any] = {}
        if length is not None:
            options["range"] = (offset, offset + length)
        elif offset:
            options["range"] = {"offset": offset}
        if version:
            options["if_match"] = version
        result = self.ob.get(self.store, key, options=options or None)
        return StreamReader(result.stream(min_chunk_size=STREAM_CHUNK))

    async def read_small(self, key: str, limit: int | None) -> bytes | None:
        result = await self.ob.get_async(self.store, key)
        if limit is not None and result.meta["size"] > limit:
            return None
        return bytes(await result.bytes_async())

    def read_small_blocking(self, key: str, limit: int | None) -> bytes | None:
        result = self.ob.get(self.store, key)
        if limit is not None and result.meta["size"] > limit:
            return None
        return bytes(result.bytes())

    def head(self, key: str) -> dict[str, Any]:
        return self.ob.head(self.store, key)

    def attributes(self, key: str) -> dict[str, str] | None:
        """One object's attributes (its user metadata among them), None for an object gone since
        it was listed; obstore's plain `head` drops user metadata, a GET with `head` keeps it.

        Blocking, for a pool of threads: 20,000 HEADs took 3.7–4.2 s on 16–64 threads and
        6.1–10.5 s awaited on the event loop (`get_async`), whose every completion is a wake-up of
        the loop from a tokio thread (measured against `rclone serve s3`, docs/benchmarks.md)."""
        try:
            result = self.ob.get(self.store, key, options={"head": True})
        except FileNotFoundError:
            return None
        return dict(result.attributes)

    def head_with_metadata(self, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(ObjectMeta, attributes) of one HEAD: the attributes carry the user metadata
        (`x-ms-meta-*`, `x-goog-meta-*`), which the plain `head` drops."""
        result = self.ob.get(self.store, key, options={"head": True})
        return result.meta, dict(result.attributes or {})

    def has_prefix(self, key: str) -> bool:
        """Whether any object lies below `key/` (one LIST request)."""
        try:
            for chunk in self.ob.list(self.store, key or None, chunk_size=1):
                return bool(chunk)
        except Exception as exc:
            if _invalid_path(exc):
                return True  # an object is there, only object_store cannot spell its key
            raise
        return False

    def check_container(self) -> None:
        """One LIST of a prefix nothing has: NoSuchBucket when the bucket is missing."""
        for _ in self.ob.list(self.store, ".genrostore-bucket-check", chunk_size=1):
            break

    def listing(self, key: str) -> Iterator[dict[str, Any]]:
        """Every object below `key/` (or the whole bucket), page by page as the store sends them."""
        try:
            for chunk in self.ob.list(self.store, key or None, chunk_size=1000):
                for meta in chunk:
                    if not meta["size"]:
                        # `dir/` markers arrive as `dir`, size 0: indistinguishable from an empty file.
                        raise Unrepresentable(f"zero-byte object {meta['path']}")
                    yield meta
        except Exception as exc:
            if _invalid_path(exc):
                raise Unrepresentable(str(exc).split("\n", 1)[0]) from None
            raise

    def children(self, key: str) -> tuple[list[dict[str, Any]], list[str]]:
        """(objects, common prefixes) directly below `key/`."""
        try:
            found = self.ob.list_with_delimiter(self.store, key or None)
        except Exception as exc:
            if _invalid_path(exc):
                raise Unrepresentable(str(exc).split("\n", 1)[0]) from None
            raise
        for meta in found["objects"]:
            if not meta["size"]:
                raise Unrepresentable(f"zero-byte object {meta['path']}")
        return list(found["objects"]), list(found["common_prefixes"])

    # -- writes ---------------------------------------------------------------------------------
    def put(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        # object_store sends an attribute it has no header for as user metadata (x-amz-meta-*).
        result = self.ob.put(self.store, key, data, attributes={"Content-Type": content_type, **(metadata or {})},
                             use_multipart=False)
        self.backend.check_put(key, hashlib.md5(data).hexdigest(), result.get("e_tag"))
        return result

    async def put_async(self, key: str, data: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        result = await self.ob.put_async(self.store, key, data,
                                         attributes={"Content-Type": content_type, **(metadata or {})},
                                         use_multipart=False)
        digest = hashlib.md5(data).hexdigest()
        if etag_md5(result.get("e_tag")) != digest and self.backend.spec.type == "s3":
            import asyncio

            await asyncio.get_running_loop().run_in_executor(
                None, self.backend.check_put, key, digest, result.get("e_tag"))

    def copy(self, src_key: str, dst_key: str) -> None:
        self.ob.copy(self.store, src_key, dst_key)

    async def copy_async(self, src_key: str, dst_key: str) -> None:
        await self.ob.copy_async(self.store, src_key, dst_key)

    def delete(self, keys: list[str]) -> None:
        """Batched where the store has a batch API (S3: 1,000 a request; Azure: 256)."""
        if not keys:
            return
        try:
            self.ob.delete(self.store, keys)
        except FileNotFoundError:  # Azure and GCS refuse a missing key: gone already is what was asked
            for key in keys:
                try:
                    self.ob.delete(self.store, key)
                except FileNotFoundError:
                    pass

    def entry(self, meta: dict[str, Any], path: str) -> Entry:
        etag = meta.get("e_tag")
        md5 = etag_md5(etag) if self.backend.spec.type == "s3" else None
        return Entry(path, "file", size=meta["size"], mtime=meta.get("last_modified"), md5=md5,
                     version=self.backend.obstore_version(meta))


class StreamReader:
    """A GET body as a binary stream: chunks as they arrive, nothing held beyond one chunk."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._buffer = memoryview(b"")
        self.closed = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while chunk := self.read(CHUNK_SIZE):
                parts.append(chunk)
            return b"".join(parts)
        if not self._buffer:
            try:
                self._buffer = memoryview(next(self._stream))
            except StopIteration:
                return b""
        data = bytes(self._buffer[:size])
        self._buffer = self._buffer[size:]
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.closed = True
        self._buffer = memoryview(b"")
        self._stream = iter(())  # dropping the Rust stream drops the connection

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ObstoreWriter(Writer):
    """Up to SINGLE_PUT_MAX, one PUT of what was written; beyond, a multipart upload.

    The multipart upload is obstore's (S3, when the size is known: parts of one size, so the
    multipart ETag can be computed here and the md5 metadata stamped only on our bytes) or the
    fsspec writer's (`fallback()`: a stream of unknown size, whose parts must grow, and GCS /
    Azure, whose block lists only the fsspec writers give an md5). Abort leaves nothing.
    """

    def __init__(self, client: ObstoreClient, key: str, size_hint: int | None, content_type: str,
                 fallback: Any, md5_known: str | None = None, metadata: dict[str, str] | None = None) -> None:
        self.client = client
        self.metadata = metadata or {}  # user metadata (the mtime) sent with the object
        self.key = key
        self.size_hint = size_hint
        self.content_type = content_type
        self.fallback = fallback
        self.md5_known = md5_known
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.digest = hashlib.md5()
        self.size = 0
        self.inner: Writer | None = None
        self.file: Any = None
        self.part_size = 0
        self.part_digests: list[bytes] = []
        self.part_hash = hashlib.md5()
        self.part_fill = 0
        self._slot = False

    def write(self, data: bytes) -> None:
        if self.inner is not None:
            self.inner.write(data)
            return
        self.digest.update(data)
        self.size += len(data)
        if self.file is not None:
            self._hash_parts(data)
            self.file.write(data)
            return
        self.pending.append(bytes(data))
        self.pending_size += len(data)
        if self.pending_size > SINGLE_PUT_MAX:
            self._start_multipart()

    def _start_multipart(self) -> None:
        pending, self.pending, self.pending_size = self.pending, [], 0
        multipart = self.client.backend.obstore_multipart(self.size_hint)
        if multipart is None:
            self.inner = self.fallback()
            for chunk in pending:
                self.inner.write(chunk)
            return
        self.part_size = multipart
        attributes = {"Content-Type": self.content_type, **self.metadata,
                      **self.client.backend.obstore_md5_attributes(self.md5_known)}
        _MULTIPART_SLOTS.acquire()
        self._slot = True
        self.file = self.client.ob.open_writer(self.client.store, self.key, attributes=attributes,
                                               buffer_size=self.part_size, max_concurrency=PARTS_IN_FLIGHT)
        for chunk in pending:
            self._hash_parts(chunk)
            self.file.write(chunk)

    def wants_md5(self) -> bool:
        """A known size over one PUT on a store that stamps the md5 at create time (S3)."""
        backend = self.client.backend
        return (self.size == 0 and self.file is None and self.inner is None and self.size_hint is not None
                and self.size_hint > SINGLE_PUT_MAX and backend.obstore_multipart(self.size_hint) is not None
                and bool(backend.obstore_md5_attributes("0" * 32)))

    def declare_md5(self, md5: str) -> None:
        if self.size == 0 and self.file is None:
            self.md5_known = md5

    def _hash_parts(self, data: bytes) -> None:
        """md5 of each part as obstore cuts them (every `part_size` bytes): the multipart ETag."""
        view = memoryview(data)
        while view:
            take = min(len(view), self.part_size - self.part_fill)
            self.part_hash.update(view[:take])
            self.part_fill += take
            view = view[take:]
            if self.part_fill == self.part_size:
                self.part_digests.append(self.part_hash.digest())
                self.part_hash, self.part_fill = hashlib.md5(), 0

    def multipart_etag(self) -> str:
        digests = self.part_digests + ([self.part_hash.digest()] if self.part_fill else [])
        return f'"{hashlib.md5(b"".join(digests)).hexdigest()}-{len(digests)}"'

    def _commit(self) -> None:
        if self.inner is not None:
            self.inner.commit()
            return
        where = f"{self.client.backend.name}:{self.key}"
        if self.file is None:
            body = b"".join(self.pending)
            self.pending = []
            signals.refuse_publish(where)
            self.client.put(self.key, body, self.content_type, self.metadata)
            return
        try:
            if self.md5_known and self.digest.hexdigest() != self.md5_known:
                # the md5 stamped at create time must be these bytes' md5: the source changed
                raise SourceChanged(f"{where}: the source changed while it was uploaded (its md5 no longer "
                                    "matches the one hashed before the upload)")
            signals.refuse_publish(where)
            self.file.close()
        except BaseException:
            self._abort_file()
            raise
        finally:
            self._release()
        if not self.md5_known:
            self.client.backend.record_multipart_md5(self.key, self.digest.digest(), self.size, self.content_type,
                                                     self.multipart_etag(), self.metadata)
        else:
            self.client.backend.check_multipart_etag(self.key, self.multipart_etag(), self.md5_known)

    def _abort(self) -> None:
        self.pending = []
        if self.inner is not None:
            self.inner.abort()
            return
        self._abort_file()
        self._release()

    def _abort_file(self) -> None:
        if self.file is None:
            return
        file, self.file = self.file, None
        try:  # leaving its context with an exception aborts the multipart upload
            file.__exit__(GenrostoreError, GenrostoreError("aborted"), None)
        except Exception:  # noqa: BLE001 - the write already failed; lifecycle rules reap what is left
            pass

    def _release(self) -> None:
        if self._slot:
            self._slot = False
            _MULTIPART_SLOTS.release()
