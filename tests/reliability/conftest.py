"""Shared tools of the reliability suite: a CLI runner that checks the error contract, profiles
written as the user would write them, and small servers on 127.0.0.1 that misbehave on purpose
(scripted status codes, trickling bodies, ports that refuse or never answer)."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    """A finished CLI run, with the checks every reliability test makes."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).decode("utf-8", "replace")

    def expect(self, code: int) -> Result:
        """The exit code is `code` and the error is one clean message, never a traceback."""
        assert self.returncode == code, f"exit {self.returncode} (wanted {code}) for {self.args}\n{self.err}"
        assert "Traceback" not in self.err, self.err
        return self


@dataclass
class Cli:
    """Runs the real `genrostore` command with a private HOME and an optional profile."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, profile: Path | None = None, input: bytes = b"", timeout: float = 60,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
        environment = {**os.environ, "HOME": str(self.home), **self.env, **(env or {})}
        environment.pop("GENROSTORE_PROFILE", None)
        if profile is not None:
            environment["GENROSTORE_PROFILE"] = str(profile)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "genrostore", *args], input=input, capture_output=True,
                              env=environment, timeout=timeout, cwd=cwd or self.home)
        return Result(args, done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def popen(self, *args: str, profile: Path | None = None) -> subprocess.Popen[bytes]:
        environment = {**os.environ, "HOME": str(self.home), **self.env}
        if profile is not None:
            environment["GENROSTORE_PROFILE"] = str(profile)
        return subprocess.Popen([sys.executable, "-m", "genrostore", *args], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, cwd=self.home)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return Cli(home)


def write_profile(directory: Path, mounts: dict[str, dict], name: str = "mounts.yaml", mode: int = 0o600) -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump({"mounts": mounts}, allow_unicode=True))
    path.chmod(mode)
    return path


# -- servers that misbehave ------------------------------------------------------------------------
Script = Callable[[BaseHTTPRequestHandler, int], bool]


class ScriptedHTTPServer:
    """An HTTP/1.1 server in a thread whose every answer is decided by the test.

    `files` are served with Content-Length and single byte ranges; before that, `fail` (a list of
    statuses, consumed one per request) answers errors; `trickle` sends bodies `trickle[0]` bytes
    every `trickle[1]` seconds. Every request is recorded in `requests` as (method, path).
    """

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, bytes] = dict(files or {})
        self.fail: list[int] = []
        self.always: int | None = None
        self.trickle: tuple[int, float] | None = None
        self.trickle_count: int | None = None  # how many bodies trickle (None: all of them)
        self.fail_body = b"failing on purpose\n"
        self.fail_headers: dict[str, str] = {}
        self.fail_methods: set[str] | None = None  # `fail`/`always` only answer these methods (None: all)
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.answer(self, body=True)

            def do_HEAD(self) -> None:
                owner.answer(self, body=False)

            def do_PUT(self) -> None:
                owner.answer(self, body=True)

            do_POST = do_PUT
            do_DELETE = do_GET
            do_PROPFIND = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for m, p in self.requests if (method is None or m == method) and (path is None or p == path))

    def answer(self, handler: BaseHTTPRequestHandler, body: bool) -> None:
        path = handler.path.split("?", 1)[0]
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with self.lock:
            self.requests.append((handler.command, path))
            status = None
            if self.fail_methods is None or handler.command in self.fail_methods:
                status = self.fail.pop(0) if self.fail else self.always
        if status is not None:
            self._send(handler, status, self.fail_body, body, self.fail_headers)
            return
        data = self.files.get(path.lstrip("/"))
        if data is None:
            self._send(handler, 404, b"not found\n", body)
            return
        start, end = 0, len(data) - 1
        ranged = handler.headers.get("Range", "")
        if ranged.startswith("bytes="):
            first, _, last = ranged[6:].partition("-")
            start = int(first or 0)
            end = min(int(last), end) if last else end
        handler.send_response(206 if ranged else 200)
        handler.send_header("Content-Length", str(end - start + 1))
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Accept-Ranges", "bytes")
        handler.send_header("Last-Modified", "Wed, 01 May 2024 10:00:00 GMT")
        handler.send_header("ETag", '"%s"' % hashlib.md5(data).hexdigest())
        if ranged:
            handler.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        handler.end_headers()
        if body:
            self._body(handler, data[start : end + 1])

    def _body(self, handler: BaseHTTPRequestHandler, data: bytes) -> None:
        try:
            with self.lock:
                slow = self.trickle is not None and (self.trickle_count is None or self.trickle_count > 0)
                if slow and self.trickle_count is not None:
                    self.trickle_count -= 1
            if not slow:
                handler.wfile.write(data)
                return
            assert self.trickle is not None
            step, pause = self.trickle
            for offset in range(0, len(data), step):
                handler.wfile.write(data[offset : offset + step])
                handler.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, text: bytes, body: bool,
              headers: dict[str, str] | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(text)))
        for name, value in (headers or {"Content-Type": "text/plain"}).items():
            handler.send_header(name, value)
        handler.end_headers()
        if body:
            handler.wfile.write(text)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[ScriptedHTTPServer]:
    server = ScriptedHTTPServer()
    yield server
    server.stop()


def refused_port() -> int:
    """A port where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never sends a byte: the server that hangs a naive client."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()
