"""WebDAV: two wsgidav (cheroot) instances, one anonymous and one behind basic auth."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port, require_binary

USERNAME = "davuser"
PASSWORD = "dav-test-password"


@dataclass(kw_only=True)
class WebDAVServer(RunningServer):
    host: str
    port: int
    url: str
    root: Path
    username: str | None
    password: str | None


@dataclass(kw_only=True)
class WebDAVServers(RunningServer):
    anonymous: WebDAVServer
    authenticated: WebDAVServer


def start(workdir: Path) -> WebDAVServers:
    anonymous = _start_one(workdir / "webdav" / "anonymous", user_mapping={"*": True}, username=None, password=None)
    try:
        authenticated = _start_one(
            workdir / "webdav" / "authenticated",
            user_mapping={"*": {USERNAME: {"password": PASSWORD}}},
            username=USERNAME,
            password=PASSWORD,
        )
    except BaseException:
        anonymous.stop()
        raise
    return WebDAVServers(
        processes=[*anonymous.processes, *authenticated.processes],
        anonymous=anonymous,
        authenticated=authenticated,
    )


def _start_one(base: Path, user_mapping: dict[str, object], username: str | None, password: str | None) -> WebDAVServer:
    wsgidav = require_binary("wsgidav", Path(sys.executable).parent)
    root = base / "data"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = base / "wsgidav.json"
    config.write_text(json.dumps(_config(root, port, user_mapping), indent=2))
    process = ServerProcess(
        argv=[wsgidav, "--config", str(config)],
        port=port,
        logfile=base / "wsgidav.log",
        cwd=base,
    )
    process.start()
    return WebDAVServer(
        processes=[process],
        host=HOST,
        port=port,
        url=f"http://{HOST}:{port}",
        root=root,
        username=username,
        password=password,
    )


def _config(root: Path, port: int, user_mapping: dict[str, object]) -> dict[str, object]:
    return {
        "host": HOST,
        "port": port,
        "server": "cheroot",
        "provider_mapping": {"/": str(root)},
        "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
        "simple_dc": {"user_mapping": user_mapping},
        "verbose": 2,
    }
