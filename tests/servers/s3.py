"""S3: moto's standalone server.

moto keeps everything in memory: ``restart()`` brings the server back on the same port, empty.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port, require_binary

# moto rejects CreateBucket with a LocationConstraint of us-east-1, which s3fs sends for any
# region it is given; another region avoids that.
REGION = "eu-west-1"


@dataclass(kw_only=True)
class S3Server(RunningServer):
    host: str
    port: int
    endpoint_url: str
    key: str
    secret: str
    region: str


def start(workdir: Path) -> S3Server:
    port = free_port()
    endpoint_url = f"http://{HOST}:{port}"
    process = ServerProcess(
        argv=[require_binary("moto_server"), "-H", HOST, "-p", str(port)],
        port=port,
        logfile=workdir / "s3" / "moto.log",
        probe=lambda: _responds(endpoint_url),
    )
    process.start()
    return S3Server(
        processes=[process],
        host=HOST,
        port=port,
        endpoint_url=endpoint_url,
        key="testing-key",
        secret="testing-secret",
        region=REGION,
    )


def _responds(endpoint_url: str) -> bool:
    with urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=2) as response:
        return response.status == 200
