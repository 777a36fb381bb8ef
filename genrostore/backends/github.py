"""A GitHub (or GitHub Enterprise) repository at one branch, tag or commit, read-only.

fsspec's GithubFileSystem hard-codes https://api.github.com, walks one API call per directory
level and needs a username with the token; the subclass here takes the API base from the mount
(`https://HOST/api/v3` for Enterprise), reads the whole tree in one call, sends a token alone
as a header, and streams files over 1 MB from their download URL.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import sys
from datetime import UTC, datetime
from functools import cache
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

from genrostore.backends._archive import skip
from genrostore.backends._fsspec import FsspecBackend
from genrostore.core.backend import Features
from genrostore.core.errors import (
    AuthenticationFailed,
    ConfigError,
    FileNotFound,
    GenrostoreError,
    NotPermitted,
    TemporaryError,
)
from genrostore.core.options import USERNAME, VERIFY_SSL
from genrostore.core.registry import require
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="github",
    summary="A GitHub or GitHub Enterprise repository at a branch, tag or commit, read-only.",
    options=(
        Option("org", "Organisation or user that owns the repository.", required=True, aliases=("owner",)),
        Option("repo", "Repository name.", required=True),
        Option("sha", "Branch, tag or commit (default: the repository's default branch).", aliases=("ref",)),
        dataclasses.replace(USERNAME, help="GitHub user the token belongs to (optional: a token alone is enough).",
                            aliases=()),
        Option("token", "Personal access token (raises the rate limit; needed for private repositories).",
               secret=True),
        Option("api_url", "API base URL; GitHub Enterprise is https://HOST/api/v3.",
               default="https://api.github.com"),
        VERIFY_SSL,
    ),
    module=__name__,
    cls="GithubBackend",
    extra="github",
    notes="Without a token GitHub allows 60 API calls per hour; a rate limit exits 5 with the reset time.",
)

_LFS_POINTER = b"version https://git-lfs.github.com/"


@cache
def filesystem_class() -> type:
    """The fsspec subclass, defined on first use so that `requests` is imported only then."""
    require("requests", "github")
    import requests
    from fsspec.implementations.github import GithubFileSystem

    class GithubApiFileSystem(GithubFileSystem):
        """GithubFileSystem against any API base, with the tree read in one call."""

        cachable = False

        def __init__(self, org: str, repo: str, sha: str | None = None, username: str | None = None,
                     token: str | None = None, api_url: str = "https://api.github.com",
                     timeout: Any = None, verify_ssl: bool = True, **kwargs: Any) -> None:
            # GithubFileSystem.__init__ would call api.github.com itself: set its state here.
            super(GithubFileSystem, self).__init__(**kwargs)
            self.org, self.repo, self.username, self.token = org, repo, username, token
            if timeout is not None:
                self.timeout = timeout
            self.api_url = api_url.rstrip("/")
            base = f"{self.api_url}/repos/{{org}}/{{repo}}"
            self.url = base + "/git/trees/{sha}"
            self.content_url = base + "/contents/{path}?ref={sha}"
            self.session = requests.Session()
            self.session.headers["Accept"] = "application/vnd.github+json"
            # Per request, not on the session: requests lets REQUESTS_CA_BUNDLE override session.verify.
            self.verify = verify_ssl
            if token and not username:
                self.session.headers["Authorization"] = f"token {token}"
            elif token and username:
                self.session.auth = (username, token)
            self.http_fs = None
            self.root = sha or self.get(base.format(org=org, repo=repo)).json()["default_branch"]
            self.entries = self._read_tree()

        @property
        def kw(self) -> dict[str, Any]:
            return {"headers": dict(self.session.headers), "auth": self.session.auth}

        def get(self, url: str, **kwargs: Any) -> Any:
            response = self.session.get(url, timeout=self.timeout, verify=self.verify, **kwargs)
            response.raise_for_status()
            return response

        def _tree(self, sha: str, recursive: bool) -> dict[str, Any]:
            url = self.url.format(org=self.org, repo=self.repo, sha=quote(sha, safe="/"))
            return self.get(url + ("?recursive=1" if recursive else "")).json()

        def _read_tree(self) -> dict[str, dict[str, Any]]:
            """Every path of the tree; a truncated answer (huge trees) is completed level by level."""
            answer = self._tree(self.root, recursive=True)
            items = [(item["path"], item) for item in answer["tree"]]
            if answer.get("truncated"):
                items = list(self._walk(self._tree(self.root, recursive=False), ""))
            entries: dict[str, dict[str, Any]] = {"": {"name": "", "type": "directory", "size": 0}}
            for path, item in items:
                if item["type"] in ("blob", "tree"):
                    kind = "file" if item["type"] == "blob" else "directory"
                    entries[path] = {"name": path, "type": kind, "size": item.get("size", 0) if kind == "file" else 0,
                                     "sha": item["sha"], "mode": item["mode"]}
            return entries

        def _walk(self, answer: dict[str, Any], prefix: str) -> Any:
            for item in answer["tree"]:
                path = f"{prefix}{item['path']}"
                yield path, item
                if item["type"] == "tree":
                    yield from self._walk(self._tree(item["sha"], recursive=False), path + "/")

        @classmethod
        def _strip_protocol(cls, path: str) -> str:
            return path.split("://", 1)[-1].strip("/") if path.startswith("github://") else path.strip("/")

        def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
            entry = self.entries.get(self._strip_protocol(path))
            if entry is None:
                raise FileNotFoundError(path)
            return dict(entry)

        def ls(self, path: str, detail: bool = False, **kwargs: Any) -> list[Any]:
            path = self._strip_protocol(path)
            entry = self.info(path)
            if entry["type"] == "file":
                found = [entry]
            else:
                prefix = f"{path}/" if path else ""
                found = [dict(e) for name, e in self.entries.items()
                         if name.startswith(prefix) and name and "/" not in name[len(prefix):]]
            return found if detail else sorted(e["name"] for e in found)

        def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
            if self.info(path)["type"] != "file":
                raise IsADirectoryError(path)
            url = self.content_url.format(org=self.org, repo=self.repo, path=quote(path),
                                          sha=quote(self.root, safe=""))
            answer = self.get(url).json()
            if answer.get("encoding") == "base64" and answer.get("content"):
                content = base64.b64decode(answer["content"])
                if not content.startswith(_LFS_POINTER):
                    return io.BytesIO(content)
            elif self.entries[path]["size"] == 0:
                return io.BytesIO(b"")
            return self._download(answer["download_url"])

        def _download(self, url: str) -> Any:
            """Files over 1 MB (and LFS files) come from the raw download URL, streamed."""
            same_host = urlsplit(url).hostname == urlsplit(self.api_url).hostname
            headers = {"Accept": "application/octet-stream"}
            if same_host and "Authorization" in self.session.headers:
                headers["Authorization"] = self.session.headers["Authorization"]
            response = requests.get(url, headers=headers, stream=True, timeout=self.timeout,
                                    auth=self.session.auth if same_host else None, verify=self.verify)
            response.raise_for_status()
            response.raw.decode_content = True
            return _ResponseStream(response)

    return GithubApiFileSystem


class _ResponseStream(io.RawIOBase):
    """A streamed HTTP body as a binary file; closing it releases the connection."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._response.raw.read(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()


class GithubBackend(FsspecBackend):
    """The repository's tree is read once per command: one consistent version, few API calls."""

    features = Features(read_only=True, network=True)

    def make_filesystem(self) -> Any:
        cls = filesystem_class()
        import requests

        options = self.options
        api_url = options.get("api_url") or "https://api.github.com"
        verify_ssl = options["verify_ssl"]
        if not verify_ssl:
            _warn_unverified(self.name, api_url)
        try:
            return cls(options["org"], options["repo"], sha=options.get("sha"), username=options.get("username"),
                       token=options.get("token"), api_url=api_url, verify_ssl=verify_ssl,
                       timeout=(self.settings.timeout, self.settings.timeout))
        except requests.HTTPError as exc:
            if exc.response is None or exc.response.status_code != 404:
                raise
            if "/git/trees/" in exc.response.url:
                raise ConfigError(f"mount '{self.name}': ref '{options.get('sha')}' not found in "
                                  f"{options['org']}/{options['repo']}",
                                  hint="use a branch, tag or commit of that repository") from None
            raise ConfigError(f"mount '{self.name}': repository {options['org']}/{options['repo']} not found "
                              f"at {api_url}", hint="check org and repo; a private repository needs a token") from None

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        stream = self.fs.open(self.full(path), "rb")
        if offset:
            if stream.seekable():
                stream.seek(offset)
            else:
                skip(stream, offset)
        return stream

    def translate_error(self, exc: BaseException, where: str) -> GenrostoreError | None:
        requests = sys.modules.get("requests")
        if requests is None:  # not imported (or not installed): nothing of it to map
            return None
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            return _http_error(exc.response, where)
        if isinstance(exc, requests.exceptions.SSLError):
            return NotPermitted(f"{where}: TLS certificate of {self.options.get('api_url')} refused ({exc})",
                                hint="fix the server's certificate, or set verify_ssl: false on the mount")
        if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
            return TemporaryError(f"{where}: cannot reach GitHub ({type(exc).__name__})")
        return None


def _warn_unverified(name: str, api_url: str) -> None:
    """An explicit opt-out is honoured but never silent; urllib3's per-request warning is not
    repeated on every call."""
    import urllib3

    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    print(f"genrostore: warning: mount '{name}': TLS certificate verification is off for {api_url} "
          "(verify_ssl: false)", file=sys.stderr, flush=True)


def _http_error(response: Any, where: str) -> GenrostoreError:
    status = response.status_code
    try:
        message = response.json().get("message", "")
    except ValueError:
        message = response.reason or ""
    remaining = response.headers.get("X-RateLimit-Remaining")
    if status in (403, 429) and (remaining == "0" or status == 429):
        return TemporaryError(f"{where}: GitHub API rate limit exceeded; it resets at {_reset_time(response)}",
                              hint="wait until then, or set a token on the mount for a higher limit")
    if status == 401:
        return AuthenticationFailed(f"{where}: GitHub rejected the credentials (401 {message})",
                                    hint="check the mount's token")
    if status == 403:
        return NotPermitted(f"{where}: GitHub refused access (403 {message})")
    if status == 404:
        return FileNotFound(f"{where}: not found on GitHub")
    if status >= 500:
        return TemporaryError(f"{where}: GitHub answered {status} {message}")
    return GenrostoreError(f"{where}: GitHub answered {status} {message}")


def _reset_time(response: Any) -> str:
    try:
        reset = int(response.headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return "an unknown time"
    return datetime.fromtimestamp(reset, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
