"""Azure Blob: Azurite's blob service, installed by npm under .cache/npm."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port, require_binary

REPO = Path(__file__).resolve().parents[2]
AZURITE_BIN_DIR = REPO / ".cache" / "npm" / "node_modules" / ".bin"

# Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(kw_only=True)
class AzureServer(RunningServer):
    host: str
    port: int
    endpoint_url: str
    account_name: str
    account_key: str
    connection_string: str
    root: Path


def start(workdir: Path) -> AzureServer:
    port = free_port()
    root = workdir / "azure" / "data"
    root.mkdir(parents=True, exist_ok=True)
    endpoint_url = f"http://{HOST}:{port}/{ACCOUNT_NAME}"
    process = ServerProcess(
        argv=[
            require_binary("azurite-blob", AZURITE_BIN_DIR),
            "--blobHost", HOST,
            "--blobPort", str(port),
            "--location", str(root),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        port=port,
        logfile=workdir / "azure" / "azurite.log",
    )
    process.start()
    return AzureServer(
        processes=[process],
        host=HOST,
        port=port,
        endpoint_url=endpoint_url,
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint={endpoint_url};"
        ),
        root=root,
    )
