"""Read-only files over HTTP(S) through fsspec's aiohttp session: stat by HEAD, directory
listings from index pages, streamed reads (no Content-Length needed), redirects followed."""

from __future__ import annotations

import base64
import io
import re
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from genrostore.backends._fsspec import to_datetime
from genrostore.backends._net import status_error, timeout_of, warn_unverified
from genrostore.core import secrets
from genrostore.core.backend import Backend, Entry, Features, Writer
from genrostore.core.errors import (
    ConfigError,
    DirectoryNotFound,
    GenrostoreError,
    NotADirectory,
    NotPermitted,
    TemporaryError,
    UsageError,
)
from genrostore.core.options import TIMEOUT, VERIFY_SSL
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="http",
    summary="Read-only files served over HTTP(S); directories where the server serves index pages.",
    options=(
        Option("base_url", "URL of the mount's root, e.g. https://example.org/pub/.", required=True,
               aliases=("url", "base_path")),
        Option("headers", "Extra request headers, e.g. {Authorization: 'Bearer TOKEN'}; their values are "
                          "secret (masked in every output).", dict, secret=True),
        VERIFY_SSL,
        TIMEOUT,
    ),
    module=__name__,
    cls="HTTPBackend",
    extra="http",
    schemes=("http", "https"),
    aliases=("https", "web"),
    notes="Every write exits 6 (read-only). `ls` needs a server that answers a directory URL (ending in "
          "/) with an HTML index page of links. URL paths http(s)://[USER:PASSWORD@]HOST/path work without "
          "a profile (the user part becomes basic auth).",
)

_HREF = re.compile(r"""<a\s[^>]*?href\s*=\s*["']([^"'#]+)""", re.IGNORECASE)


class HTTPStatus(Exception):
    """A request answered with an error status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status
        self.reason = reason


class HTTPBackend(Backend):
    """One aiohttp session (fsspec's, on its event-loop thread) per mount."""

    features = Features(read_only=True, ranged_reads=True, async_client=True, network=True)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        parts = urlsplit(options["base_url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"mount '{self.name}': base_url must be an http:// or https:// URL")
        self.base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
        # Checked here, not on first request: the root is a directory without asking the server,
        # and `cat URL/` must say what to install, not "is a directory".
        require("aiohttp", "http")
        self._fs: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`https://[user:password@]host/x/y` → the server's root and `x/y`."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise UsageError(f"{url}: an http URL needs a host")
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        options: dict[str, Any] = {"base_url": f"{parts.scheme}://{netloc}/"}
        if parts.username:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            options["headers"] = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
            secrets.register(options["headers"]["Authorization"])
            if parts.password:
                secrets.register(unquote(parts.password))
        return options, unquote(parts.path)

    # -- HTTP --------------------------------------------------------------------------------
    @property
    def fs(self) -> Any:
        with self._lock:
            if self._fs is None:
                self._fs = self._filesystem()
            return self._fs

    def _filesystem(self) -> Any:
        """fsspec's HTTP filesystem: its aiohttp session carries the headers and the time-outs."""
        aiohttp = require("aiohttp", "http")
        from fsspec.implementations.http import HTTPFileSystem

        timeout = timeout_of(self)
        request_options: dict[str, Any] = {}
        if not self.options["verify_ssl"]:
            warn_unverified(self.name, self.base)
            request_options["ssl"] = False
        return HTTPFileSystem(
            skip_instance_cache=True,
            encoded=True,
            client_kwargs={
                "headers": dict(self.options.get("headers") or {}),
                "timeout": aiohttp.ClientTimeout(total=None, connect=timeout, sock_connect=timeout,
                                                 sock_read=timeout),
            },
            **request_options,
        )

    def url(self, path: str) -> str:
        return self.base + quote(path)

    def _sync(self, coroutine: Any) -> Any:
        from fsspec.asyn import sync

        return sync(self.fs.loop, lambda: coroutine)

    async def _probe(self, url: str) -> tuple[int, str, dict[str, str]]:
        """Status, final URL (after redirects) and headers, without the body."""
        session = await self.fs.set_session()
        for method in ("HEAD", "GET"):
            async with session.request(method, self.fs.encode_url(url), allow_redirects=True,
                                       headers={"Accept-Encoding": "identity"}, **self.fs.kwargs) as response:
                if method == "HEAD" and response.status in (405, 501):
                    continue  # HEAD not supported: ask with GET, leaving the body unread
                return response.status, str(response.url), dict(response.headers)
        raise AssertionError("unreachable")

    async def _page(self, url: str) -> tuple[int, str, str, str]:
        session = await self.fs.set_session()
        async with session.get(self.fs.encode_url(url), allow_redirects=True, **self.fs.kwargs) as response:
            kind = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            text = await response.text(errors="replace") if response.status < 400 and kind in ("text/html", "") else ""
            return response.status, str(response.url), kind, text

    # -- contract ----------------------------------------------------------------------------
    def info(self, path: str) -> Entry:
        if not path:
            return Entry("", "dir")
        status, final, headers = self._sync(self._probe(self.url(path)))
        if status in (404, 410):
            raise FileNotFoundError(path)
        if status >= 400:
            raise HTTPStatus(status, "")
        if urlsplit(final).path.endswith("/"):
            return Entry(path, "dir")
        return Entry(path, "file", _size(headers), to_datetime(headers.get("Last-Modified")))

    def iterdir(self, path: str) -> Iterator[Entry]:
        url = self.url(path).rstrip("/") + "/"
        status, final, kind, text = self._sync(self._page(url))
        if status in (404, 410):
            raise DirectoryNotFound("no such directory", path=path)
        if status >= 400:
            raise HTTPStatus(status, "")
        if kind not in ("text/html", ""):
            raise NotADirectory("not a directory (no index page)", path=path)
        entries: dict[str, Entry] = {}
        for href in _HREF.findall(text):
            target = urljoin(final, href.strip())
            if not target.startswith(final) or "?" in target:
                continue
            rest = unquote(target[len(final):])
            name = rest.rstrip("/")
            if not name or ("/" in name and not {".", ".."} & set(name.split("/"))):
                continue  # the page itself, or a link deeper down (not a child)
            # A `.` or `..` can only come encoded (`%2E%2E/x`; urljoin folds plain ones away): it is
            # passed on as listed, so the core reports it instead of the listing hiding it.
            child = f"{path}/{name}" if path else name
            entries[name] = Entry(child, "dir" if rest.endswith("/") else "file")
        yield from (entries[name] for name in sorted(entries))

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        from fsspec.implementations.http import HTTPStreamFile

        fs = self.fs
        session = self._sync(fs.set_session())
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        stream = HTTPStreamFile(fs, self.url(path), mode="rb", loop=fs.loop, session=session,
                                headers=headers, **fs.kwargs)
        if offset and stream.r.status == 200:
            _read_exactly(stream, offset)  # the server ignored the range
        return stream

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with self.open_read(path, offset) as stream:
            return _read_exactly(stream, length)

    # -- small files as coroutines on fsspec's loop (the engine's batch path) -------------------
    def batch_loop(self) -> Any:
        return self.fs.loop

    async def read_small(self, path: str, limit: int | None = None) -> bytes | None:
        """One GET; an index page gives no sizes, so a body past `limit` is left unread (None)."""
        session = await self.fs.set_session()
        async with session.get(self.fs.encode_url(self.url(path)), allow_redirects=True,
                               **self.fs.kwargs) as response:
            if response.status in (404, 410):
                raise FileNotFoundError(path)
            if response.status >= 400:
                raise HTTPStatus(response.status, response.reason or "")
            if limit is None:
                return await response.read()
            if response.content_length is not None and response.content_length > limit:
                return None
            parts: list[bytes] = []
            held = 0
            while held <= limit:
                chunk = await response.content.read(limit + 1 - held)
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
                held += len(chunk)
            return None

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        raise self.unsupported("writing")

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        raise self.unsupported("mkdir")

    def remove_file(self, path: str) -> None:
        raise self.unsupported("removing files")

    def remove_dir(self, path: str) -> None:
        raise self.unsupported("removing directories")

    def close(self) -> None:
        if self._fs is not None:
            fs, self._fs = self._fs, None
            if fs._session is not None:
                fs.close_session(fs.loop, fs._session)

    # -- errors ------------------------------------------------------------------------------
    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if isinstance(exc, HTTPStatus):
            return status_error(exc.status, where, exc.reason)
        aiohttp = sys.modules.get("aiohttp")
        if aiohttp is None:
            return None
        if isinstance(exc, aiohttp.ClientResponseError):
            return status_error(exc.status, where, exc.message)
        if isinstance(exc, aiohttp.ClientSSLError):
            return NotPermitted(f"{where}: TLS verification failed ({exc})",
                                hint="fix the server's certificate, or set verify_ssl: false on the mount")
        if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)):
            return TemporaryError(f"{where}: cannot reach {self.base} ({exc})")
        fsspec_exceptions = sys.modules.get("fsspec.exceptions")
        if fsspec_exceptions is not None and isinstance(exc, fsspec_exceptions.FSTimeoutError):
            return TemporaryError(f"{where}: timed out talking to {self.base}")
        return None


def _size(headers: dict[str, str]) -> int | None:
    """The body's size when the server states it (a compressed body's length is not the file's)."""
    if headers.get("Content-Encoding", "identity") not in ("identity", ""):
        return None
    if "Content-Length" in headers:
        return int(headers["Content-Length"])
    content_range = headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("*"):
        return int(content_range.rsplit("/", 1)[1])
    return None


def _read_exactly(stream: Any, length: int) -> bytes:
    """A streamed response returns what has arrived; gather `length` bytes (or up to the end)."""
    buffer = io.BytesIO()
    while buffer.tell() < length:
        chunk = stream.read(length - buffer.tell())
        if not chunk:
            break
        buffer.write(chunk)
    return buffer.getvalue()
