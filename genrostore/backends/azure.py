"""Azure Blob Storage over adlfs (and its azure-storage-blob client for block uploads).

Uploads are our own block writer: it grows block sizes for streams of unknown size (50,000
blocks per blob) and sets the blob's Content-MD5 on commit, which the service does not
compute for block lists, so `md5` needs no download afterwards.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from genrostore.backends._objectstore import (
    azure_mtime_from_metadata,
    azure_mtime_metadata,
    ObjectStoreBackend,
    batches,
    bucket_url,
    content_type,
    part_size_for,
)
from genrostore.core.backend import Writer
from genrostore.core.errors import ConfigError
from genrostore.core.options import CLIENT, TIMEOUT, VERIFY_SSL
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="azure",
    summary="An Azure Blob Storage container.",
    options=(
        Option("container", "Container name.", required=True, aliases=("bucket",)),
        Option("account_name", "Storage account (required unless connection_string names it; "
                               "default: $AZURE_STORAGE_ACCOUNT_NAME).", aliases=("account",)),
        Option("account_key", "Shared key of the account.", secret=True, aliases=("key",)),
        Option("sas_token", "A shared access signature.", secret=True, aliases=("sas",)),
        Option("connection_string", "A full connection string (holds the account and its key).", secret=True),
        Option("prefix", "Blob name prefix the mount is jailed in (like a local mount's root).", aliases=("base_path",)),
        Option("endpoint_url", "Blob service endpoint or account host, e.g. Azurite's "
                               "http://127.0.0.1:10000/devstoreaccount1 (default: "
                               "https://ACCOUNT.blob.core.windows.net).", aliases=("account_host", "account_url")),
        TIMEOUT,
        VERIFY_SSL,
        CLIENT,
    ),
    module=__name__,
    cls="AzureBackend",
    extra="azure",
    schemes=("az",),
    notes="Directories are name prefixes: mkdir stores nothing and empty directories are not listed. "
          "With no key, SAS or connection string the Azure default credential chain is used.",
)

MAX_BLOCKS = 50_000
MAX_BLOCK_SIZE = 4000 * 1024 * 1024
DELETE_BATCH = 256  # Blob batch's limit


def _connection_value(connection_string: str, field: str) -> str | None:
    for item in connection_string.split(";"):
        name, _, value = item.partition("=")
        if name.strip().lower() == field.lower():
            return value.strip()
    return None


def _is_base64(text: str) -> bool:
    """The SDK signs with base64-decoded keys and fails on each request otherwise."""
    import binascii

    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class AzureBackend(ObjectStoreBackend):
    """One container (below an optional prefix) of an Azure storage account or Azurite."""

    container_option = "container"
    # mtime: rclone's `mtime` blob metadata (RFC 3339, ns). adlfs's listings carry it (it asks
    # for metadata); on the obstore path a HEAD's attributes do (`obstore_head_metadata`).
    features = dataclasses.replace(ObjectStoreBackend.features, mtime=True, mtime_precision=1e-9)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self.connection_string = options.get("connection_string") or (
            None if options.get("account_name") else os.environ.get("AZURE_STORAGE_CONNECTION_STRING"))
        self.account_name = (options.get("account_name")
                             or (_connection_value(self.connection_string, "AccountName")
                                 if self.connection_string else None)
                             or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME"))
        if not self.account_name:
            raise ConfigError(f"mount '{self.name}': azure needs account_name (or a connection_string)",
                              hint="or set AZURE_STORAGE_ACCOUNT_NAME / AZURE_STORAGE_CONNECTION_STRING")
        key = options.get("account_key") or (
            _connection_value(self.connection_string, "AccountKey") if self.connection_string else None)
        if key and not _is_base64(key):
            where = "account_key" if options.get("account_key") else "the AccountKey of connection_string"
            raise ConfigError(f"mount '{self.name}': {where} is not base64",
                              hint="an Azure shared key is the base64 string the portal shows under Access keys")

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`az://container/blob`: the account and credentials come from the AZURE_STORAGE_* environment."""
        return bucket_url(url, "container", "az://container/blob")

    def _filesystem_kwargs(self) -> dict[str, Any]:
        options = self.options
        endpoint = options.get("endpoint_url")
        credential = options.get("account_key") or options.get("sas_token")
        if self.connection_string:
            return {"connection_string": self.connection_string}
        if endpoint and credential:
            # A connection string is the one way to give adlfs an http:// endpoint (Azurite).
            url = endpoint if "://" in endpoint else f"https://{endpoint}"
            parts = urlsplit(url)
            field = (f"AccountKey={options['account_key']}" if options.get("account_key")
                     else f"SharedAccessSignature={options['sas_token'].lstrip('?')}")
            return {"connection_string": f"DefaultEndpointsProtocol={parts.scheme};AccountName={self.account_name};"
                                         f"{field};BlobEndpoint={url.rstrip('/')};"}
        kwargs: dict[str, Any] = {"account_key": options.get("account_key"), "sas_token": options.get("sas_token")}
        if endpoint:
            kwargs["account_host"] = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}").netloc
        return kwargs

    def make_filesystem(self) -> Any:
        adlfs = require("adlfs", "azure")
        timeout = int(max(1, self.timeout))
        fs = adlfs.AzureBlobFileSystem(
            account_name=self.account_name,
            connection_timeout=timeout,
            read_timeout=timeout,
            use_listings_cache=False,
            skip_instance_cache=True,
            **self._filesystem_kwargs(),
        )
        fs.service_client = self._service_client(fs.service_client)
        self.warn_if_unverified(fs.service_client.url.split("?", 1)[0])
        return fs

    def _service_client(self, built: Any) -> Any:
        """adlfs's client again, with our time-outs, no SDK retries and the TLS choice.

        adlfs builds its client with the SDK's defaults (300 s connect/read time-outs, 10
        retries) and passes neither per request, so a server that accepts and never answers
        would hold a command for many minutes; the core does the retrying.
        """
        aio = require("azure.storage.blob.aio", "azure")
        timeout = int(max(1, self.timeout))
        return aio.BlobServiceClient(account_url=built.url, credential=built.credential,
                                     retry_total=0, connection_timeout=timeout, read_timeout=timeout,
                                     connection_verify=self.verify_ssl)

    # -- the obstore data path (backends/_obstore.py) ---------------------------------------------
    obstore_lists = False  # obstore's listings carry no Content-MD5 nor metadata: adlfs lists
    obstore_head_metadata = True

    def _obstore_credentials(self) -> tuple[str | None, str | None, str | None]:
        """(account key, SAS, blob endpoint) from the options or the connection string."""
        o, cs = self.options, self.connection_string
        key = o.get("account_key") or (_connection_value(cs, "AccountKey") if cs else None)
        sas = o.get("sas_token") or (_connection_value(cs, "SharedAccessSignature") if cs else None)
        endpoint = o.get("endpoint_url") or (_connection_value(cs, "BlobEndpoint") if cs else None)
        if endpoint and "://" not in endpoint:
            endpoint = f"https://{endpoint}"
        return key, sas, endpoint

    def obstore_unsupported(self) -> str | None:
        key, sas, _ = self._obstore_credentials()
        if not key and not sas:
            return "the default Azure credential chain is resolved by adlfs"
        return None

    def make_obstore(self) -> Any:
        from genrostore.backends import _obstore

        store_module = require("obstore.store", "azure")
        key, sas, endpoint = self._obstore_credentials()
        config: dict[str, Any] = {"account_name": self.account_name}
        if key:
            config["account_key"] = key
        else:
            config["sas_key"] = (sas or "").lstrip("?")
        if endpoint:
            config["endpoint"] = endpoint.rstrip("/")
        self.warn_if_unverified(endpoint or f"https://{self.account_name}.blob.core.windows.net")
        return store_module.AzureStore(
            self.bucket, config=config, client_options=_obstore.client_options(self, endpoint),
            retry_config=_obstore.retry_config(self))

    def obstore_version(self, meta: dict[str, Any]) -> str | None:
        etag = meta.get("e_tag")
        return str(etag).strip('"') if etag else None

    def fsspec_writer(self, path: str, size_hint: int | None) -> Writer:
        return AzureWriter(self, self.key(path), size_hint)

    def md5(self, path: str) -> str | None:
        """Content-MD5 from adlfs's properties (obstore's HEAD does not return it)."""
        if self.obstore is None:
            return super().md5(path)
        return self.entry(self.fs.info(self.full(path)), path).md5

    def store_identity(self) -> tuple[Any, ...]:
        o = self.options
        return ("azure", self.account_name, self.connection_string, o.get("endpoint_url"), o.get("account_key"),
                o.get("sas_token"))

    def run(self, coroutine_function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one of the azure client's coroutines on adlfs's event loop."""
        from fsspec.asyn import sync

        return sync(self.fs.loop, coroutine_function, *args, **kwargs)

    @property
    def call_timeouts(self) -> dict[str, int]:
        timeout = int(max(1, self.timeout))
        return {"connection_timeout": timeout, "read_timeout": timeout}

    def blob_client(self, key: str) -> Any:
        return self.fs.service_client.get_blob_client(self.bucket, key)

    def stored_md5(self, info: dict[str, Any]) -> str | None:
        """Content-MD5 when the blob has one (set by Put Blob, or by our block commits)."""
        settings = info.get("content_settings") or {}
        value = settings.get("content_md5") if isinstance(settings, dict) else getattr(settings, "content_md5", None)
        if value and len(value) == 16:
            return bytes(value).hex()
        return None

    def version_of(self, info: dict[str, Any]) -> str | None:
        etag = info.get("etag")
        return str(etag).strip('"') if etag else None

    def delete_keys(self, names: list[str]) -> None:
        keys = [n.split("/", 1)[1] for n in names]
        if self.obstore is not None:
            self.obstore.delete(keys)  # Blob Batch, 256 a request
            return

        async def delete(batch: list[str]) -> None:
            import asyncio

            container = self.fs.service_client.get_container_client(self.bucket)
            results = await asyncio.gather(
                *(container.delete_blob(key, **self.call_timeouts) for key in batch), return_exceptions=True)
            for result in results:
                if isinstance(result, Exception) and getattr(result, "status_code", None) != 404:
                    raise result

        for batch in batches(keys, DELETE_BATCH):
            self.run(delete, batch)

    def stored_mtime(self, info: dict[str, Any]) -> datetime | None:
        return azure_mtime_from_metadata(info.get("metadata"))

    def mtime_metadata(self, mtime: datetime | None) -> dict[str, str]:
        return {} if mtime is None else azure_mtime_metadata(mtime)

    def set_mtime(self, path: str, mtime: datetime) -> None:
        """Set Blob Metadata (the other keys kept, on the version read): content and its
        settings (Content-Type, Content-MD5) are not touched."""
        key = self.key(path)
        if not key:
            raise IsADirectoryError(self.full(path))
        client = self.blob_client(key)
        props = self.run(client.get_blob_properties, **self.call_timeouts)
        metadata = {**(props.metadata or {}), **azure_mtime_metadata(mtime)}
        self.run(client.set_blob_metadata, metadata, etag=props.etag,
                 match_condition=require("azure.core", "azure").MatchConditions.IfNotModified, **self.call_timeouts)

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        self.check_bucket()
        metadata = self.mtime_metadata(mtime)
        if self.obstore is not None:
            from genrostore.backends._obstore import ObstoreWriter

            # One Put Blob (the service computes its Content-MD5); larger: AzureWriter's blocks.
            return ObstoreWriter(self.obstore, self.key(path), size_hint, content_type(path),
                                 lambda: AzureWriter(self, self.key(path), size_hint, metadata), metadata=metadata)
        return AzureWriter(self, self.key(path), size_hint, metadata)

    async def write_small(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        """One Put Blob carrying its Content-MD5, as `AzureWriter` sends it (on obstore the
        service computes it; the `mtime` metadata goes as an attribute)."""
        if self.obstore is not None:
            await self.obstore.put_async(self.key(path), data, content_type(path), self.mtime_metadata(mtime))
            return
        blob = require("azure.storage.blob", "azure")
        settings = blob.ContentSettings(content_type=content_type(path),
                                        content_md5=bytearray(hashlib.md5(data).digest()))
        import asyncio

        upload = self.blob_client(self.key(path)).upload_blob(data, overwrite=True, content_settings=settings,
                                                              metadata=self.mtime_metadata(mtime) or None,
                                                              **self.call_timeouts)
        # With obstore, the batch runs on obstore's loop: adlfs's client runs on its own.
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(upload, self.fs.loop))


    def write_small_blocking(self, path: str, data: bytes, mtime: datetime | None = None) -> None:
        assert self.obstore is not None  # blocking_small: only on obstore
        self.obstore.put(self.key(path), data, content_type(path), self.mtime_metadata(mtime))


class AzureWriter(Writer):
    """Small blobs are one Put Blob; larger ones are staged blocks committed as a list.

    Uncommitted blocks are invisible. On abort a blob this writer was creating is deleted
    (which drops its staged blocks); over an existing blob the service discards them at the
    next commit or after seven days — deleting would destroy the existing content.
    """

    def __init__(self, backend: AzureBackend, key: str, size_hint: int | None,
                 metadata: dict[str, str] | None = None) -> None:
        self.backend = backend
        self.metadata = metadata or None  # sent with Put Blob or Put Block List
        self.key = key
        self.size_hint = size_hint
        self.client = backend.blob_client(key)
        self.blocks: list[str] = []
        self.buffer = bytearray()
        self.digest = hashlib.md5()
        self.existed: bool | None = None

    @property
    def block_size(self) -> int:
        return min(MAX_BLOCK_SIZE, part_size_for(len(self.blocks) + 1, self.size_hint, MAX_BLOCKS))

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.buffer += data
        while len(self.buffer) >= self.block_size:
            size = self.block_size
            self._stage(bytes(self.buffer[:size]))
            del self.buffer[:size]

    def _stage(self, data: bytes) -> None:
        if self.existed is None:
            self.existed = bool(self.backend.run(self.client.exists, **self.backend.call_timeouts))
        block_id = base64.b64encode(f"genrostore-{len(self.blocks):08d}".encode()).decode()
        self.backend.run(self.client.stage_block, block_id, data, length=len(data), **self.backend.call_timeouts)
        self.blocks.append(block_id)

    def _content_settings(self) -> Any:
        blob = require("azure.storage.blob", "azure")
        return blob.ContentSettings(content_type=content_type(self.key),
                                    content_md5=bytearray(self.digest.digest()))

    def _commit(self) -> None:
        timeouts = self.backend.call_timeouts
        try:
            if not self.blocks:
                self.backend.run(self.client.upload_blob, bytes(self.buffer), overwrite=True,
                                 content_settings=self._content_settings(), metadata=self.metadata, **timeouts)
                return
            if self.buffer:
                self._stage(bytes(self.buffer))
            self.buffer = bytearray()
            block_list = require("azure.storage.blob", "azure").BlobBlock
            self.backend.run(self.client.commit_block_list, [block_list(block_id=b) for b in self.blocks],
                             content_settings=self._content_settings(), metadata=self.metadata, **timeouts)
        except BaseException:
            self._drop_blocks()
            raise

    def _abort(self) -> None:
        self.buffer = bytearray()
        self._drop_blocks()

    def _drop_blocks(self) -> None:
        if not self.blocks or self.existed is not False:
            return
        self.blocks = []
        try:
            self.backend.run(self.client.delete_blob, **self.backend.call_timeouts)
        except Exception:  # noqa: BLE001 - the write already failed; staged blocks expire on their own
            pass
