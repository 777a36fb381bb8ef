"""Each test server starts and speaks its protocol to the real client library."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# gcsfs probes every bucket over gRPC for zonal/HNS support unless this is set before import;
# against the emulator each probe hangs for a minute.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"

import adlfs
import gcsfs
import paramiko
import pytest
import requests
import s3fs
import smbclient
from fsspec.implementations.http import HTTPFileSystem
from fsspec.implementations.sftp import SFTPFileSystem
from fsspec.implementations.smb import SMBFileSystem
from webdav4.fsspec import WebdavFileSystem

from tests.servers import azure, gcs, http, s3, sftp, smb, webdav
from tests.servers._proc import (
    MissingServerBinary,
    ServerProcess,
    ServerStartError,
    free_port,
    require_binary,
)


# The servers are the session's (tests/cases/cloud.py, tests/cases/network.py): the smoke tests
# speak to the very processes the rest of the suite uses, and start none of their own, except
# moto for its restart test (moto restarts empty, which would empty the session's buckets).


@pytest.fixture
def own_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[s3.S3Server]:
    server = s3.start(tmp_path_factory.mktemp("s3-restart"))
    yield server
    server.stop()


# --- process helpers ---


def test_a_missing_binary_names_the_install_script() -> None:
    with pytest.raises(MissingServerBinary, match="scripts/install-test-deps.sh"):
        require_binary("genrostore-no-such-server")


def test_a_server_that_exits_while_starting_reports_its_log(tmp_path: Path) -> None:
    process = ServerProcess(
        argv=[sys.executable, "-c", "print('bind failed: port taken'); raise SystemExit(3)"],
        port=free_port(),
        logfile=tmp_path / "dying.log",
    )
    with pytest.raises(ServerStartError, match="exited with code 3(.|\\n)*bind failed: port taken"):
        process.start()


def test_a_killed_server_restarts_on_its_port(tmp_path: Path) -> None:
    port = free_port()
    process = ServerProcess(
        argv=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        port=port,
        logfile=tmp_path / "http.log",
    )
    process.start()
    try:
        process.kill()
        assert not process.running
        process.restart()
        assert requests.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        process.stop()


# --- S3 ---


def _s3fs(server: s3.S3Server) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        key=server.key,
        secret=server.secret,
        client_kwargs={"endpoint_url": server.endpoint_url, "region_name": server.region},
        skip_instance_cache=True,
    )


def test_s3fs_creates_bucket_writes_and_reads_back(s3_server_session: s3.S3Server) -> None:
    fs = _s3fs(s3_server_session)
    fs.mkdir("bkt")
    fs.pipe("bkt/p/a.txt", b"hello s3")
    assert fs.cat("bkt/p/a.txt") == b"hello s3"
    assert fs.info("bkt/p/a.txt")["ETag"] == f'"{hashlib.md5(b"hello s3").hexdigest()}"'


def test_s3_server_restarts_on_the_same_port(own_s3_server: s3.S3Server) -> None:
    port = own_s3_server.port
    own_s3_server.restart()
    fs = _s3fs(own_s3_server)
    fs.mkdir("after-restart")
    assert own_s3_server.port == port
    assert "after-restart" in fs.ls("")


# --- GCS ---


def _gcsfs(server: gcs.GCSServer) -> gcsfs.GCSFileSystem:
    return gcsfs.GCSFileSystem(
        endpoint_url=server.endpoint_url, token="anon", project=server.project, skip_instance_cache=True
    )


def test_gcsfs_creates_bucket_writes_and_reads_back(gcs_server_session: gcs.GCSServer) -> None:
    fs = _gcsfs(gcs_server_session)
    fs.mkdir("gbkt")
    fs.pipe("gbkt/d/a.txt", b"hello gcs")
    assert fs.cat("gbkt/d/a.txt") == b"hello gcs"
    assert fs.info("gbkt/d/a.txt")["md5Hash"]


def test_gcs_data_survives_restart(gcs_server_session: gcs.GCSServer) -> None:
    fs = _gcsfs(gcs_server_session)
    fs.mkdir("persist")
    fs.pipe("persist/kept.txt", b"kept")
    gcs_server_session.restart()
    assert _gcsfs(gcs_server_session).cat("persist/kept.txt") == b"kept"


# --- Azure ---


def _adlfs(server: azure.AzureServer) -> adlfs.AzureBlobFileSystem:
    return adlfs.AzureBlobFileSystem(
        connection_string=server.connection_string, account_name=server.account_name, skip_instance_cache=True
    )


def test_adlfs_creates_container_writes_and_reads_back(azure_server_session: azure.AzureServer) -> None:
    fs = _adlfs(azure_server_session)
    fs.mkdir("cont")
    fs.pipe("cont/d/a.txt", b"hello azure")
    assert fs.cat("cont/d/a.txt") == b"hello azure"


def test_azure_data_survives_restart(azure_server_session: azure.AzureServer) -> None:
    fs = _adlfs(azure_server_session)
    fs.mkdir("persist")
    fs.pipe("persist/kept.txt", b"kept")
    azure_server_session.restart()
    assert _adlfs(azure_server_session).cat("persist/kept.txt") == b"kept"


# --- SFTP ---


class KnownHostsSFTPFileSystem(SFTPFileSystem):
    """fsspec's SFTP client, verifying the host key against one known_hosts file."""

    def __init__(self, host: str, known_hosts: Path, **ssh_kwargs: object) -> None:
        self.known_hosts = known_hosts
        super().__init__(host, host_key_policy="reject", **ssh_kwargs)

    def _connect(self) -> None:
        self.client = paramiko.SSHClient()
        self.client.load_host_keys(str(self.known_hosts))
        self.client.set_missing_host_key_policy(self.host_key_policy)
        self.client.connect(self.host, **self.ssh_kwargs)
        self.ftp = self.client.open_sftp()


def _sftp_auth_kwargs(server: sftp.SFTPServer) -> dict[str, object]:
    return {"look_for_keys": False, "allow_agent": False, "skip_instance_cache": True, "port": server.port}


def test_sftp_password_login_writes_and_reads_back(sftp_server: sftp.SFTPServer) -> None:
    fs = KnownHostsSFTPFileSystem(
        sftp_server.host,
        sftp_server.known_hosts,
        username=sftp_server.username,
        password=sftp_server.password,
        **_sftp_auth_kwargs(sftp_server),
    )
    fs.makedirs(f"{sftp_server.root}/d", exist_ok=True)
    fs.pipe(f"{sftp_server.root}/d/a.txt", b"hello sftp")
    assert fs.cat(f"{sftp_server.root}/d/a.txt") == b"hello sftp"
    assert (sftp_server.root / "d" / "a.txt").read_bytes() == b"hello sftp"


def test_sftp_key_login_reads(sftp_server: sftp.SFTPServer) -> None:
    (sftp_server.root / "k.txt").write_bytes(b"by key")
    fs = KnownHostsSFTPFileSystem(
        sftp_server.host,
        sftp_server.known_hosts,
        username=sftp_server.username,
        key_filename=str(sftp_server.key_filename),
        **_sftp_auth_kwargs(sftp_server),
    )
    assert fs.cat(f"{sftp_server.root}/k.txt") == b"by key"


def test_sftp_unknown_host_key_is_rejected(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        KnownHostsSFTPFileSystem(
            sftp_server.host,
            empty,
            username=sftp_server.username,
            password=sftp_server.password,
            **_sftp_auth_kwargs(sftp_server),
        )


def test_sftp_wrong_password_is_refused(sftp_server: sftp.SFTPServer) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        KnownHostsSFTPFileSystem(
            sftp_server.host,
            sftp_server.known_hosts,
            username=sftp_server.username,
            password="wrong",
            **_sftp_auth_kwargs(sftp_server),
        )


# --- SMB ---


def test_smb_user_writes_and_reads_back(smb_server: smb.SMBServer) -> None:
    fs = SMBFileSystem(
        host=smb_server.host,
        port=smb_server.port,
        username=smb_server.username,
        password=smb_server.password,
        register_session_retries=0,
        skip_instance_cache=True,
    )
    fs.mkdir(f"/{smb_server.share}/d")
    fs.pipe(f"/{smb_server.share}/d/a.txt", b"hello smb")
    assert fs.cat(f"/{smb_server.share}/d/a.txt") == b"hello smb"
    assert (smb_server.share_root / "d" / "a.txt").read_bytes() == b"hello smb"


def test_smb_guest_reads_the_guest_share(smb_server: smb.SMBServer) -> None:
    (smb_server.guest_share_root / "g.txt").write_bytes(b"for guests")
    # Signing is a property of smbclient's pooled connection (keyed by host:port), and a guest
    # session cannot sign: keep the guest's unsigned connection in a pool of its own.
    guest_pool: dict[str, object] = {}
    smbclient.ClientConfig(require_secure_negotiate=False)
    try:
        smbclient.register_session(
            smb_server.host,
            username="guest",
            password="",
            port=smb_server.port,
            require_signing=False,
            connection_cache=guest_pool,
        )
        path = rf"\\{smb_server.host}\{smb_server.guest_share}\g.txt"
        with smbclient.open_file(path, mode="rb", port=smb_server.port, connection_cache=guest_pool) as file:
            assert file.read() == b"for guests"
    finally:
        smbclient.reset_connection_cache(connection_cache=guest_pool)
        smbclient.ClientConfig(require_secure_negotiate=True)


# --- WebDAV ---


def test_webdav_anonymous_writes_and_reads_back(webdav_servers: webdav.WebDAVServers) -> None:
    fs = WebdavFileSystem(webdav_servers.anonymous.url)
    fs.makedirs("d", exist_ok=True)
    fs.pipe("d/a.txt", b"hello dav")
    assert fs.cat("d/a.txt") == b"hello dav"
    assert [entry["name"] for entry in fs.ls("d")] == ["d/a.txt"]


def test_webdav_basic_auth_writes_and_reads_back(webdav_servers: webdav.WebDAVServers) -> None:
    server = webdav_servers.authenticated
    fs = WebdavFileSystem(server.url, auth=(server.username, server.password))
    fs.pipe("a.txt", b"hello auth dav")
    assert fs.cat("a.txt") == b"hello auth dav"


def test_webdav_wrong_password_is_refused(webdav_servers: webdav.WebDAVServers) -> None:
    server = webdav_servers.authenticated
    fs = WebdavFileSystem(server.url, auth=(server.username, "wrong"))
    with pytest.raises(Exception, match="401|Unauthorized"):
        fs.ls("")


# --- HTTP ---


@pytest.fixture(scope="module")
def http_fs() -> HTTPFileSystem:
    return HTTPFileSystem(skip_instance_cache=True)


def test_http_lists_a_directory_and_reads_files(http_servers: http.HTTPServers, http_fs: HTTPFileSystem) -> None:
    root = http_servers.listing.root
    assert root is not None
    (root / "d").mkdir()
    (root / "d" / "a.txt").write_bytes(b"hello http")
    (root / "d" / "b.txt").write_bytes(b"bee")
    url = http_servers.listing.url
    assert sorted(http_fs.ls(f"{url}/d/", detail=False)) == [f"{url}/d/a.txt", f"{url}/d/b.txt"]
    assert http_fs.cat(f"{url}/d/a.txt") == b"hello http"
    assert http_fs.info(f"{url}/d/a.txt")["size"] == 10


def test_http_reads_a_byte_range(http_servers: http.HTTPServers, http_fs: HTTPFileSystem) -> None:
    root = http_servers.listing.root
    assert root is not None
    (root / "range.bin").write_bytes(bytes(range(256)) * 64)
    with http_fs.open(f"{http_servers.listing.url}/range.bin", block_size=1024) as file:
        file.seek(5000)
        assert file.read(10) == (bytes(range(256)) * 64)[5000:5010]


@pytest.mark.parametrize("prefix", ["", "/chunked"])
def test_http_reads_a_file_without_content_length(
    http_servers: http.HTTPServers, http_fs: HTTPFileSystem, prefix: str
) -> None:
    root = http_servers.no_length.root
    assert root is not None
    data = os.urandom(300_000)
    (root / "big.bin").write_bytes(data)
    url = f"{http_servers.no_length.url}{prefix}/big.bin"
    assert "content-length" not in {k.lower() for k in requests.head(url).headers}
    assert http_fs.cat(url) == data
    with http_fs.open(url) as file:
        assert file.read() == data


def test_http_follows_a_redirect(http_servers: http.HTTPServers, http_fs: HTTPFileSystem) -> None:
    root = http_servers.listing.root
    assert root is not None
    (root / "target.txt").write_bytes(b"redirected")
    url = f"{http_servers.redirect.url}/target.txt"
    response = requests.get(url, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{http_servers.listing.url}/target.txt"
    assert http_fs.cat(url) == b"redirected"
