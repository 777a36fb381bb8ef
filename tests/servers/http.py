"""HTTP (read-only): a listing server, a server without Content-Length, and a redirecting server.

- ``listing`` serves ``listing.root`` with directory index pages and byte ranges.
- ``no_length`` serves ``no_length.root`` with no Content-Length: close-delimited at ``/<path>``,
  chunked at ``/chunked/<path>``.
- ``redirect`` answers every path with 302 to the same path on the listing server.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port

REPO = Path(__file__).resolve().parents[2]


@dataclass(kw_only=True)
class HTTPServer(RunningServer):
    host: str
    port: int
    url: str
    root: Path | None


@dataclass(kw_only=True)
class HTTPServers(RunningServer):
    listing: HTTPServer
    no_length: HTTPServer
    redirect: HTTPServer


def start(workdir: Path) -> HTTPServers:
    base = workdir / "http"
    started: list[HTTPServer] = []
    try:
        listing = _start_one(base, "listing", ["--root", str(_mkdir(base / "listing"))], root=base / "listing")
        started.append(listing)
        no_length = _start_one(base, "no-length", ["--root", str(_mkdir(base / "no-length"))], root=base / "no-length")
        started.append(no_length)
        redirect = _start_one(base, "redirect", ["--target", listing.url], root=None)
    except BaseException:
        for server in started:
            server.stop()
        raise
    return HTTPServers(
        processes=[*listing.processes, *no_length.processes, *redirect.processes],
        listing=listing,
        no_length=no_length,
        redirect=redirect,
    )


def _start_one(base: Path, mode: str, args: list[str], root: Path | None) -> HTTPServer:
    port = free_port()
    # Run as a module from the repo root: run as a script, this package's own http.py would
    # shadow the standard library's http package.
    process = ServerProcess(
        argv=[sys.executable, "-m", "tests.servers._http_app", mode, "--host", HOST, "--port", str(port), *args],
        port=port,
        logfile=base / f"{mode}.log",
        cwd=REPO,
    )
    process.start()
    return HTTPServer(processes=[process], host=HOST, port=port, url=f"http://{HOST}:{port}", root=root)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
