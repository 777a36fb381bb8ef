"""Cases for the network file systems, each against a real server on 127.0.0.1 started once per
session: sftp (sshd), smb (smbd, a user share and a guest share), webdav (wsgidav, anonymous and
basic auth) and http (read-only: a listing server, directly and through a redirecting one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cases._base import BIG, PERSIST, SAMPLE, Case
from tests.servers import http, sftp, smb, webdav

CASES = ["sftp", "smb", "smb_guest", "webdav", "webdav_auth", "http", "http_redirect"]

HTTP_SAMPLE_PREFIX = "sample"
# The guest SMB share and the authenticated WebDAV server differ from their base cases only in how
# they log in: the large stream (minutes each) runs once per server, on the base case.
AUTH_VARIANT_CAPS = frozenset({PERSIST})


def _serve(factory: pytest.TempPathFactory, module: object, name: str) -> Iterator[object]:
    server = module.start(factory.mktemp(name))  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sftp.SFTPServer]:
    yield from _serve(tmp_path_factory, sftp, "sftp-server")  # type: ignore[misc]


@pytest.fixture(scope="session")
def smb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[smb.SMBServer]:
    yield from _serve(tmp_path_factory, smb, "smb-server")  # type: ignore[misc]


@pytest.fixture(scope="session")
def webdav_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdav.WebDAVServers]:
    yield from _serve(tmp_path_factory, webdav, "webdav-server")  # type: ignore[misc]


@pytest.fixture(scope="session")
def http_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[http.HTTPServers]:
    servers: http.HTTPServers = next(_serve(tmp_path_factory, http, "http-server"))  # type: ignore[arg-type]
    assert servers.listing.root is not None
    write_sample(servers.listing.root / HTTP_SAMPLE_PREFIX)
    yield servers
    servers.stop()


def write_sample(root: Path) -> None:
    for name, data in SAMPLE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def sftp_options(server: sftp.SFTPServer, **extra: object) -> dict:
    return {"type": "sftp", "host": server.host, "port": server.port, "username": server.username,
            "password": server.password, "known_hosts": str(server.known_hosts), "path": str(server.root), **extra}


def smb_options(server: smb.SMBServer, **extra: object) -> dict:
    return {"type": "smb", "host": server.host, "port": server.port, "share": server.share,
            "username": server.username, "password": server.password, **extra}


def smb_guest_options(server: smb.SMBServer, **extra: object) -> dict:
    return {"type": "smb", "host": server.host, "port": server.port, "share": server.guest_share, **extra}


def webdav_options(server: webdav.WebDAVServer, **extra: object) -> dict:
    options: dict = {"type": "webdav", "url": server.url}
    if server.username:
        options.update(username=server.username, password=server.password)
    return {**options, **extra}


def http_options(server: http.HTTPServer, **extra: object) -> dict:
    return {"type": "http", "base_url": server.url, **extra}


@pytest.fixture(scope="session")
def case_sftp(sftp_server: sftp.SFTPServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("sftp", "sf", sftp_options(sftp_server), tmp_path_factory.mktemp("sftp-case"),
                frozenset({BIG, PERSIST}))


@pytest.fixture(scope="session")
def case_smb(smb_server: smb.SMBServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("smb", "sm", smb_options(smb_server), tmp_path_factory.mktemp("smb-case"),
                frozenset({BIG, PERSIST}))


@pytest.fixture(scope="session")
def case_smb_guest(smb_server: smb.SMBServer, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("smb_guest", "smg", smb_guest_options(smb_server), tmp_path_factory.mktemp("smb-guest-case"),
                AUTH_VARIANT_CAPS)


@pytest.fixture(scope="session")
def case_webdav(webdav_servers: webdav.WebDAVServers, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("webdav", "dav", webdav_options(webdav_servers.anonymous), tmp_path_factory.mktemp("webdav-case"),
                frozenset({BIG, PERSIST}))


@pytest.fixture(scope="session")
def case_webdav_auth(webdav_servers: webdav.WebDAVServers, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("webdav_auth", "dava", webdav_options(webdav_servers.authenticated),
                tmp_path_factory.mktemp("webdav-auth-case"), AUTH_VARIANT_CAPS)


@pytest.fixture(scope="session")
def case_http(http_servers: http.HTTPServers, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("http", "web", http_options(http_servers.listing), tmp_path_factory.mktemp("http-case"),
                frozenset({PERSIST}), sample_prefix=HTTP_SAMPLE_PREFIX)


@pytest.fixture(scope="session")
def case_http_redirect(http_servers: http.HTTPServers, tmp_path_factory: pytest.TempPathFactory) -> Case:
    return Case("http_redirect", "webr", http_options(http_servers.redirect), tmp_path_factory.mktemp("http-r-case"),
                frozenset({PERSIST}), sample_prefix=HTTP_SAMPLE_PREFIX)
