"""WebDAV behaviour beyond the conformance suite, against the session's wsgidav servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

from genrostore.backends.webdav import WebDAVBackend
from tests.cases._base import Case
from tests.cases.network import webdav_options
from tests.servers import webdav
from tests.servers._proc import free_port


def _cli(mounts: dict, workdir: Path, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    profile = workdir / f"profile-{uuid.uuid4().hex[:8]}.yaml"
    profile.write_text(yaml.safe_dump({"mounts": mounts}))
    profile.chmod(0o600)
    return subprocess.run([sys.executable, "-m", "genrostore", *args], check=False, capture_output=True, timeout=120,
                          env={**os.environ, "GENROSTORE_PROFILE": str(profile), **(env or {})})


def test_wrong_password_exits_6_and_never_shows_it(webdav_servers: webdav.WebDAVServers, tmp_path: Path) -> None:
    secret = "Wr0ng-Pa55-" + uuid.uuid4().hex
    options = webdav_options(webdav_servers.authenticated, password=secret)
    result = _cli({"d": options}, tmp_path, "--debug", "ls", "d:")
    assert result.returncode == 6
    assert b"authentication failed" in result.stderr
    assert secret.encode() not in result.stdout + result.stderr


def test_missing_credentials_exit_6(webdav_servers: webdav.WebDAVServers, tmp_path: Path) -> None:
    result = _cli({"d": {"type": "webdav", "url": webdav_servers.authenticated.url}}, tmp_path, "ls", "d:")
    assert result.returncode == 6


def test_refused_connection_exits_5_within_seconds_and_hides_the_password(tmp_path: Path) -> None:
    secret = "Refused-Pa55-" + uuid.uuid4().hex
    options = {"type": "webdav", "url": f"http://127.0.0.1:{free_port()}/", "username": "u", "password": secret}
    started = time.monotonic()
    result = _cli({"d": options}, tmp_path, "--debug", "cat", "d:x.txt")
    assert result.returncode == 5
    assert time.monotonic() - started < 15
    assert secret.encode() not in result.stdout + result.stderr


def test_overwrite_leaves_no_temporary_file(webdav_servers: webdav.WebDAVServers, case_webdav_auth: Case) -> None:
    folder = webdav_servers.authenticated.root / f"o-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "f.txt").write_bytes(b"old content")
    result = case_webdav_auth.cli("cp", "-", f"{case_webdav_auth.mount}:{folder.name}/f.txt", input=b"new")
    assert result.returncode == 0, result.stderr
    assert os.listdir(folder) == ["f.txt"]
    assert (folder / "f.txt").read_bytes() == b"new"


def test_names_with_percent_hash_and_question_mark_round_trip(
    webdav_servers: webdav.WebDAVServers, case_webdav: Case
) -> None:
    folder = f"n-{uuid.uuid4().hex[:8]}"
    for name in ("100%25 sure.txt", "#tag.txt", "why?.txt"):
        assert case_webdav.cli("cp", "-", f"{case_webdav.mount}:{folder}/{name}", input=name.encode()).returncode == 0
    assert sorted(os.listdir(webdav_servers.anonymous.root / folder)) == ["#tag.txt", "100%25 sure.txt", "why?.txt"]
    assert case_webdav.cli("cat", f"{case_webdav.mount}:{folder}/100%25 sure.txt").stdout == b"100%25 sure.txt"


def test_url_path_takes_credentials_from_the_environment(
    webdav_servers: webdav.WebDAVServers, tmp_path: Path
) -> None:
    server = webdav_servers.authenticated
    name = f"u-{uuid.uuid4().hex[:8]}.txt"
    (server.root / name).write_bytes(b"via url")
    env = {"GENROSTORE_WEBDAV_USERNAME": server.username or "", "GENROSTORE_WEBDAV_PASSWORD": server.password or ""}
    result = _cli({}, tmp_path, "cat", f"webdav+http://{server.host}:{server.port}/{name}", env=env)
    assert (result.returncode, result.stdout) == (0, b"via url"), result.stderr


def test_nextcloud_url_is_split_at_its_dav_root() -> None:
    options, path = WebDAVBackend.from_url("webdav+https://cloud.example.org/remote.php/dav/files/ann/Docs/a b.txt")
    assert options["url"] == "https://cloud.example.org/remote.php/dav/files/ann/"
    assert path == "Docs/a b.txt"


def test_davs_means_https_and_dav_means_http() -> None:
    assert WebDAVBackend.from_url("davs://h/x")[0]["url"] == "https://h/"
    assert WebDAVBackend.from_url("dav://h:8080/x")[0]["url"] == "http://h:8080/"
