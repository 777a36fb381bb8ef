"""WebDAV over httpx, with webdav4 parsing the PROPFIND multistatus replies.

The requests are made here rather than through webdav4's Client, which builds URLs from
decoded paths: a name holding `?`, `#` or `%` reaches the server truncated or misread. Every
path is percent-encoded once, here (request URLs and the MOVE/COPY Destination), and every
href decoded once, here. Every upload goes to a temporary name and is checked under its final
name once in place.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from genrostore.backends._fsspec import to_datetime
from genrostore.backends._net import status_error, timeout_of, url_options, warn_unverified
from genrostore.core import signals, tempnames
from genrostore.core.backend import CHUNK_SIZE, Backend, Entry, Features, Writer
from genrostore.core.errors import (
    ConfigError,
    DirectoryNotFound,
    GenrostoreError,
    NotADirectory,
    TemporaryError,
    UsageError,
)
from genrostore.core.options import PASSWORD, TIMEOUT, USERNAME, VERIFY_SSL
from genrostore.core.paths import basename, dirname
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="webdav",
    summary="A WebDAV server (Nextcloud, ownCloud, Apache mod_dav, nginx, rclone serve webdav, ...).",
    options=(
        Option("url", "The DAV root, e.g. https://dav.example.org/ or, for Nextcloud/ownCloud, "
                      "https://cloud.example.org/remote.php/dav/files/USER/ (an app password as password).",
               required=True, aliases=("base_url", "endpoint")),
        Option("base_path", "Folder below url that is the mount's root (genro-storage's name; default: url itself)."),
        dataclasses.replace(USERNAME, help="User for HTTP basic auth."),
        PASSWORD,
        Option("token", "Bearer token (instead of username/password).", secret=True),
        VERIFY_SSL,
        Option("cert", "Client certificate: a PEM file holding certificate and key, or 'CERT.pem,KEY.pem'."),
        TIMEOUT,
    ),
    module=__name__,
    cls="WebDAVBackend",
    extra="webdav",
    schemes=("webdav", "webdavs", "dav", "davs", "webdav+http", "webdav+https"),
    aliases=("dav",),
    notes="URL paths: webdav+https://HOST/path (also davs://, webdavs://; webdav+http://, dav://, webdav:// "
          "are plain http). A Nextcloud/ownCloud URL is split at its DAV root (/remote.php/dav/files/USER/ "
          "or /remote.php/webdav/). Credentials come from the URL's user part or GENROSTORE_WEBDAV_USERNAME, "
          "GENROSTORE_WEBDAV_PASSWORD, GENROSTORE_WEBDAV_TOKEN.",
)

UPLOAD_QUEUE = 8  # chunks (of up to 1 MiB) waiting for the PUT
ABORT_CHECKS = (0.05, 0.2, 0.5)  # seconds before each check that an aborted upload left nothing
PROPFIND = (b'<?xml version="1.0" encoding="utf-8"?><propfind xmlns="DAV:"><prop><resourcetype/>'
            b"<getcontentlength/><getlastmodified/></prop></propfind>")
_HTTPS_SCHEMES = {"webdavs", "davs", "webdav+https"}
# Servers whose DAV root lies below the host; everything after it is the path in the mount.
_DAV_ROOTS = re.compile(r"^(/(?:.*/)?remote\.php/(?:dav/files/[^/]+|webdav))(?:/|$)")


# A MOVE/COPY `Destination` is a URL that servers decode and split in their own ways: WsgiDAV
# unquotes it whole, then cuts it at `;` (path parameters) and `?` (a query), so
# `semi;colon.txt` lands on `semi`. Every character outside [A-Za-z0-9-._~] (non-ASCII
# letters as one class) is tried once per mount on an empty file before a real name holding
# it is moved; names the server would misplace are published by a staged copy instead.
# https://github.com/mar10/wsgidav/issues/139
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/")
_NON_ASCII = "\x80"
_SAMPLES = {"%": "%41", _NON_ASCII: "\u00e9\u6f22"}  # %41 shows a second decoding; é漢 UTF-8


def special_characters(path: str) -> frozenset[str]:
    """The characters of `path` that a server may mangle in a Destination header."""
    return frozenset(c if c.isascii() else _NON_ASCII for c in path if c not in _PLAIN)


def _safe(name: str) -> str:
    """`name` with every special character replaced: temp names must survive any Destination."""
    return "".join(c if c in _PLAIN else "_" for c in name)


class DAVStatus(Exception):
    """A request answered with an unexpected HTTP status."""

    def __init__(self, method: str, status: int, reason: str) -> None:
        super().__init__(f"{method}: HTTP {status} {reason}")
        self.method = method
        self.status = status
        self.reason = reason


class StreamingUpload(Writer):
    """A PUT whose body is fed by `write` as the copy proceeds (a thread runs the request), to a
    temporary name that `commit` MOVEs into place. A bounded queue keeps memory flat; an abort
    breaks the request off and removes whatever reached the server."""

    def __init__(self, backend: WebDAVBackend, path: str, size_hint: int | None) -> None:
        self._backend = backend
        self._path = path
        self._temp = backend.temp_name(path)
        self._written = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=UPLOAD_QUEUE)
        self._error: BaseException | None = None
        self._aborted = False
        headers = {"Content-Length": str(size_hint)} if size_hint is not None else {}
        self._thread = threading.Thread(target=self._put, args=(headers,), name="genrostore-webdav-put", daemon=True)
        self._thread.start()

    def _body(self) -> Iterator[bytes]:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                if self._aborted:
                    raise _UploadAborted
                return
            yield chunk

    def _put(self, headers: dict[str, str]) -> None:
        try:
            self._backend.request("PUT", self._temp, (200, 201, 204), content=self._body(), headers=headers).close()
        except BaseException as exc:  # noqa: BLE001 - handed to the writing thread
            self._error = exc
            while True:  # unblock a writer waiting on a full queue
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def write(self, data: bytes) -> None:
        while self._error is None:
            try:
                self._queue.put(bytes(data), timeout=0.1)
                self._written += len(data)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    break
        raise self._error or RuntimeError("the upload stopped")

    def _commit(self) -> None:
        self._finish()
        if self._error is not None:
            self._backend.discard_late(self._temp)
            raise self._error
        self._backend.publish(self._temp, self._path, self._written)

    def _abort(self) -> None:
        self._aborted = True
        self._finish()
        self._backend.discard_late(self._temp)

    def _finish(self) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.1)
                break
            except queue.Full:
                continue
        self._thread.join()


class _UploadAborted(Exception):
    """Raised inside the request body to break an aborted upload off."""


class ResponseReader(io.RawIOBase):
    """A streamed GET response as a binary stream."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self._chunks = response.iter_bytes(CHUNK_SIZE)
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = memoryview(chunk)
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


class WebDAVBackend(Backend):
    """One httpx client (a pool of keep-alive connections) per mount."""

    features = Features(server_copy=True, server_move=True, ranged_reads=True, atomic_rename=True, network=True)


    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        parts = urlsplit(options["url"])
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"mount '{self.name}': url must be an http:// or https:// URL")
        # Credentials written into the URL become basic auth; the URL itself stays clean.
        self.username = options.get("username") or (unquote(parts.username) if parts.username else None)
        self.password = options.get("password") or (unquote(parts.password) if parts.password else None)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        folder = "/".join(quote(p) for p in (options.get("base_path") or "").split("/") if p)
        root = parts.path.rstrip("/") + "/" + (folder + "/" if folder else "")
        self.url = urlunsplit((parts.scheme, netloc, root, "", ""))
        self._base_path = unquote(urlsplit(self.url).path)
        self._http: Any = None
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._intact: set[str] = set()  # special characters this server keeps in a Destination
        self._mangled: set[str] = set()  # ... and those it does not

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`webdav+https://host/dav/path` → the server root (or its Nextcloud DAV root) and the path."""
        parts = urlsplit(url)
        if not parts.hostname:
            raise UsageError(f"{url}: a WebDAV URL needs a host: webdav+https://host/path")
        scheme = "https" if parts.scheme in _HTTPS_SCHEMES else "http"
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        path = unquote(parts.path)
        root = ""
        match = _DAV_ROOTS.match(path)
        if match:
            root, path = match.group(1), path[match.end():]
        options = url_options(SPEC, parts, url=f"{scheme}://{netloc}{quote(root)}/")
        return options, path

    # -- HTTP --------------------------------------------------------------------------------
    @property
    def http(self) -> Any:
        with self._lock:
            if self._http is None:
                self._http = self._client()
            return self._http

    def _client(self) -> Any:
        """An httpx client: basic auth, or a bearer token, TLS options, the time-out."""
        httpx = require("httpx", "webdav")
        require("webdav4", "webdav")  # parses the PROPFIND replies
        options = self.options
        headers = {}
        if options.get("token"):
            headers["Authorization"] = f"Bearer {options['token']}"
        auth = (self.username, self.password or "") if self.username and not options.get("token") else None
        cert = options.get("cert")
        if not options["verify_ssl"]:
            warn_unverified(self.name, self.url)
        return httpx.Client(auth=auth, headers=headers, verify=options["verify_ssl"],
                            cert=tuple(cert.split(",", 1)) if cert and "," in cert else cert,
                            timeout=httpx.Timeout(timeout_of(self)))

    def href(self, path: str) -> str:
        return self.url + quote(path)

    def request(self, method: str, path: str, ok: tuple[int, ...], **kwargs: Any) -> Any:
        response = self.http.request(method, self.href(path), **kwargs)
        if response.status_code not in ok:
            response.close()
            if response.status_code == 404:
                raise FileNotFoundError(path)
            raise DAVStatus(method, response.status_code, response.reason_phrase)
        return response

    def _propfind(self, path: str, depth: int) -> list[tuple[str, Any]]:
        """(mount-relative path, webdav4 DAVProperties) for `path` and, at depth 1, its children."""
        MultiStatusResponse = require("webdav4.multistatus", "webdav").MultiStatusResponse

        response = self.request("PROPFIND", path, (207,), headers={"Depth": str(depth)}, content=PROPFIND)
        found = []
        for item in MultiStatusResponse(response.text).responses.values():
            if item.status_code is not None and item.status_code >= 400:
                continue
            full = unquote(urlsplit(item.href).path).rstrip("/")
            if not (full + "/").startswith(self._base_path):
                continue
            found.append((full[len(self._base_path):], item.properties))
        return found

    @staticmethod
    def _entry(path: str, props: Any) -> Entry:
        is_dir = bool(props.collection)
        return Entry(path, "dir" if is_dir else "file", None if is_dir else props.content_length,
                     to_datetime(props.modified))

    # -- contract ----------------------------------------------------------------------------
    def info(self, path: str) -> Entry:
        for found, props in self._propfind(path, 0):
            if found == path:
                return self._entry(path, props)
        raise FileNotFoundError(path)

    def iterdir(self, path: str) -> Iterator[Entry]:
        try:
            found = self._propfind(path, 1)
        except FileNotFoundError:
            raise DirectoryNotFound("no such directory", path=path) from None
        entries = []
        for child, props in found:
            if child == path:
                if not props.collection:
                    raise NotADirectory("not a directory", path=path)
                continue
            if dirname(child) == path:
                entries.append(self._entry(child, props))
        yield from sorted(entries, key=lambda e: e.name)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        request = self.http.build_request("GET", self.href(path), headers=headers)
        response = self.http.send(request, stream=True)
        if response.status_code not in (200, 206):
            response.close()
            if response.status_code == 404:
                raise FileNotFoundError(path)
            raise DAVStatus("GET", response.status_code, response.reason_phrase)
        stream = io.BufferedReader(ResponseReader(response), CHUNK_SIZE)
        if offset and response.status_code == 200:
            stream.read(offset)  # the server ignored the range
        return stream

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        self._makedirs(dirname(path))
        return StreamingUpload(self, path, size_hint)

    @staticmethod
    def temp_name(path: str, suffix: str = tempnames.SUFFIX) -> str:
        """tempnames' scheme, over plain characters only: a temp name must survive any
        Destination header (it is one in COPY, and the previous version's in a staged copy)."""
        safe = _safe(basename(path))
        return tempnames.temp_path(f"{dirname(path)}/{safe}" if dirname(path) else safe, suffix)

    def publish(self, temp: str, path: str, size: int | None) -> None:
        """Put the finished temp file in place, then check that it is there under its name."""
        try:
            signals.refuse_publish()
            if self.moves_intact(path):
                # MOVE with Overwrite: T replaces the target in one request.
                self._move(temp, path, overwrite=True)
            else:
                self._publish_by_copy(temp, path, size)
        except BaseException:
            self.discard(temp)
            raise
        self.verify_published(path, size)

    def _move(self, source: str, target: str, *, overwrite: bool) -> None:
        self.request("MOVE", source, (201, 204),
                     headers={"Destination": self.href(target), "Overwrite": "T" if overwrite else "F"}).close()

    def verify_published(self, path: str, size: int | None) -> None:
        """A rename the server answered 201 may still have landed elsewhere: look."""
        try:
            entry: Entry | None = self.info(path)
        except FileNotFoundError:
            entry = None
        if entry is None or entry.is_dir or (None not in (size, entry.size) and entry.size != size):
            found = "no file" if entry is None or entry.is_dir else f"{entry.size} bytes instead of {size}"
            raise GenrostoreError(f"the server accepted the upload but shows {found} under "
                                  "this name afterwards (it may have stored it under another name)", path=path)

    # -- names a MOVE would misplace ---------------------------------------------------------
    def moves_intact(self, path: str) -> bool:
        """Whether a MOVE to `path` lands on `path`: each special character it holds is tried
        once per mount, on an empty file in the target's directory."""
        wanted = special_characters(path)
        with self._probe_lock:
            unknown = wanted - self._intact - self._mangled
            if unknown:
                self._classify(dirname(path), unknown)
            return not (wanted & self._mangled)

    def _classify(self, directory: str, characters: frozenset[str]) -> None:
        if self._probe(directory, characters):
            self._intact |= characters
        elif len(characters) == 1:
            self._mangled |= characters
        else:
            for character in characters:
                self._classify(directory, frozenset(character))

    def _probe(self, directory: str, characters: frozenset[str]) -> bool:
        """MOVE an empty file to a name holding `characters`; True when it arrives under it."""
        # Both names follow tempnames' scheme, so `genrostore cleanup` finds a probe a kill left.
        # One token for both names (tempnames' scheme, built here): the target differs from the
        # source only by the characters under test.
        tag = f".genrostore-probe-{uuid.uuid4().hex[:12]}"
        token = uuid.uuid4().hex[:8]
        source = posixpath.join(directory, f"{tag}.{token}{tempnames.SUFFIX}")
        samples = "".join(_SAMPLES.get(c, c) for c in sorted(characters))
        target = posixpath.join(directory, f"{tag}-{samples}.{token}{tempnames.SUFFIX}")
        self.request("PUT", source, (200, 201, 204), content=b"").close()
        arrived = False
        try:
            self._move(source, target, overwrite=False)
            self.info(target)
            arrived = True
        except (DAVStatus, FileNotFoundError):
            pass
        finally:
            self.discard(target)
            self.discard(source)
            if not arrived:
                self._remove_misplaced(directory, tag)
        return arrived

    def _remove_misplaced(self, directory: str, tag: str) -> None:
        """Wherever the server put a probe, its name starts with the probe's unique tag. A
        listing can fail while parallel uploads rename files in that directory (WsgiDAV answers
        500 when a member vanishes mid-PROPFIND): try a few times."""
        for delay in ABORT_CHECKS:
            try:
                for entry in list(self.iterdir(directory)):
                    if entry.name.startswith(tag):
                        self.discard(entry.path)
                return
            except DAVStatus:
                time.sleep(delay)

    def _publish_by_copy(self, temp: str, path: str, size: int | None) -> None:
        """For a name the server cannot take as a Destination: the finished temp file is copied
        onto the name by a second PUT (its source is complete by now). The previous version is
        first moved aside (a move *from* the name works) and put back if that copy fails."""
        try:
            existing = self.info(path)
        except FileNotFoundError:
            existing = None
        if existing is not None and existing.is_dir:
            raise IsADirectoryError(path)
        backup = self.temp_name(path, ".genrostore-old") if existing is not None else None
        if backup is not None:
            self._move(path, backup, overwrite=False)
        try:
            self._put_from(temp, path, size)
        except BaseException as exc:
            self.discard(path)
            if backup is not None:
                self._restore(backup, path, existing.size if existing else None, exc)
            raise
        finally:
            self.discard(temp)
        if backup is not None:
            self.discard(backup)

    def _put_from(self, source: str, target: str, size: int | None) -> None:
        headers = {"Content-Length": str(size)} if size is not None else {}
        with self.open_read(source) as stream:
            body = iter(lambda: stream.read(CHUNK_SIZE), b"")
            self.request("PUT", target, (200, 201, 204), content=body, headers=headers).close()
        self.verify_published(target, size)

    def _restore(self, backup: str, path: str, size: int | None, cause: BaseException) -> None:
        try:
            self._put_from(backup, path, size)
        except BaseException:  # noqa: BLE001 - any failure to restore is reported with where the backup is kept
            raise GenrostoreError(f"the upload failed ({cause}) and the previous version could not be put "
                                  f"back: it is kept as {backup!r} on the mount", path=path) from cause
        self.discard(backup)

    def discard(self, temp: str) -> None:
        try:
            self.request("DELETE", temp, (200, 204)).close()
        except Exception:  # noqa: BLE001 - best effort: the temp may never have been created
            pass

    def _makedirs(self, path: str) -> None:
        if not path:
            return
        response = self.http.request("MKCOL", self.href(path))
        response.close()
        if response.status_code == 409:  # the parent is missing
            self._makedirs(dirname(path))
            self.request("MKCOL", path, (201, 405)).close()
        elif response.status_code not in (201, 405):  # 405: it exists
            raise DAVStatus("MKCOL", response.status_code, response.reason_phrase)

    def discard_late(self, temp: str) -> None:
        """Remove the temp file of a PUT that was broken off. The server may still be handling
        that request (WsgiDAV creates the file when the request starts and keeps what arrived),
        so the file can appear after a first DELETE: look again a few times."""
        for delay in ABORT_CHECKS:
            self.discard(temp)
            time.sleep(delay)
            try:
                self.info(temp)
            except (FileNotFoundError, DAVStatus):
                return
        self.discard(temp)

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        try:
            existing = self.info(path)
        except FileNotFoundError:
            pass
        else:
            if existing.is_dir and (exist_ok or parents):
                return
            raise FileExistsError(path)
        if parents:
            self._makedirs(path)
            return
        try:
            self.request("MKCOL", path, (201,)).close()
        except DAVStatus as exc:
            if exc.status == 409:
                raise DirectoryNotFound("parent directory does not exist", path=path,
                                        fix="parents") from None
            raise

    def remove_file(self, path: str) -> None:
        if self.info(path).is_dir:
            raise IsADirectoryError(path)
        self.request("DELETE", path, (200, 204)).close()

    def remove_dir(self, path: str) -> None:
        if any(True for _ in self.iterdir(path)):
            raise GenrostoreError("directory not empty", path=path, fix="recursive")
        self.request("DELETE", path, (200, 204)).close()

    def remove_tree(self, path: str) -> None:
        if not path:  # the root itself stays: empty it
            for entry in list(self.iterdir(path)):
                self.request("DELETE", entry.path, (200, 204)).close()
            return
        if not self.info(path).is_dir:
            raise NotADirectoryError(path)
        self.request("DELETE", path, (200, 204)).close()

    def rename_dir(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """MOVE of a collection with Overwrite: F (an existing target is refused, 412)."""
        if dst is not self or not src_path or not self.info(src_path).is_dir:
            return False
        self._makedirs(dirname(dst_path))
        if not self.moves_intact(dst_path):
            return False
        self._move(src_path, dst_path, overwrite=False)
        if not self.info(dst_path).is_dir:
            raise GenrostoreError("the server accepted the move but shows no directory under this name",
                                  path=dst_path)
        return True

    def server_move(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """MOVE with Overwrite: T on this server, then a look that it landed under its name."""
        if dst is not self:
            return False
        source = self.info(src_path)
        if source.is_dir:
            raise IsADirectoryError(src_path)
        self._makedirs(dirname(dst_path))
        if not self.moves_intact(dst_path):
            return False  # a name the server would misplace: the engine copies it (see publish)
        self._move(src_path, dst_path, overwrite=True)
        self.verify_published(dst_path, source.size)
        return True

    def server_copy(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """COPY to a temporary name beside the target, then MOVE it into place."""
        if not isinstance(dst, WebDAVBackend) or (dst.url, dst.username, dst.options.get("token")) != (
            self.url, self.username, self.options.get("token")
        ):
            return False
        source = self.info(src_path)
        if source.is_dir:
            raise IsADirectoryError(src_path)
        self._makedirs(dirname(dst_path))
        temp = self.temp_name(dst_path)
        try:
            self.request("COPY", src_path, (201, 204),
                          headers={"Destination": self.href(temp), "Overwrite": "T", "Depth": "0"}).close()
        except BaseException:
            self.discard(temp)
            raise
        self.publish(temp, dst_path, source.size)
        return True

    def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            http.close()

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        if isinstance(exc, DAVStatus):
            if exc.status < 300:
                return GenrostoreError(f"{where}: {self.url} does not look like a WebDAV server "
                                       f"({exc.method} answered HTTP {exc.status})")
            if exc.status == 409:
                return DirectoryNotFound(f"{where}: the parent collection does not exist (HTTP 409)")
            return status_error(exc.status, where, exc.reason)
        httpx = sys.modules.get("httpx")
        if httpx is not None:
            if isinstance(exc, httpx.TimeoutException):
                return TemporaryError(f"{where}: timed out talking to {self.url}")
            if isinstance(exc, (httpx.NetworkError, httpx.RemoteProtocolError)):
                return TemporaryError(f"{where}: cannot reach {self.url} ({exc})")
        return None
