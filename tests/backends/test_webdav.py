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


HOSTILE = ["semi;colon.txt", "q?mark.txt", "hash#.txt", "pct%41.txt", "sp ace.txt", "brack[1].txt",
           "caf\u00e9 cr\u00e8me.txt", "\u65e5\u672c\u8a9e.txt", "a&b=c+d,e!(1)$@'~x.txt"]


def _literal(name: str) -> str:
    """A source address naming exactly `name`: glob characters escaped (see docs/paths.md)."""
    return "".join("\\" + c if c in "*?[" else c for c in name)


def test_hostile_names_round_trip_through_cp_ls_cat_and_overwrite(
    webdav_servers: webdav.WebDAVServers, case_webdav: Case, tmp_path: Path
) -> None:
    """WsgiDAV cuts a MOVE Destination at `;` and `?`: such names are published by a staged copy,
    the others by MOVE; either way each lands under its own name, whole, with nothing left over."""
    folder = f"h-{uuid.uuid4().hex[:8]}"
    on_disk = webdav_servers.anonymous.root / folder
    mount = case_webdav.mount
    for version in (b"first", b"second version"):  # a new file, then an overwrite
        local = tmp_path / version.decode()
        local.mkdir()
        for name in HOSTILE:
            (local / name).write_bytes(version + name.encode())
        result = case_webdav.cli("cp", "-r", f"{local}/", f"{mount}:{folder}/")
        assert result.returncode == 0, result.stderr
        assert sorted(os.listdir(on_disk)) == sorted(HOSTILE), f"after writing {version!r}"
        for name in HOSTILE:
            assert (on_disk / name).read_bytes() == version + name.encode(), name
    listed = case_webdav.cli("ls", f"{mount}:{folder}").stdout.decode().splitlines()
    assert sorted(listed) == sorted(HOSTILE)
    result = case_webdav.cli("cat", *(f"{mount}:{folder}/{_literal(name)}" for name in HOSTILE))
    assert (result.returncode, result.stdout) == (0, b"".join(b"second version" + n.encode() for n in HOSTILE))
    # One at a time from stdin; inside the server (COPY to a temp name, then MOVE or the staged
    # copy); and back out to a local disk.
    result = case_webdav.cli("cp", "-", f"{mount}:{folder}/{HOSTILE[0]}", input=b"from stdin")
    assert (result.returncode, (on_disk / HOSTILE[0]).read_bytes()) == (0, b"from stdin"), result.stderr
    assert case_webdav.cli("cp", "-r", f"{mount}:{folder}/", f"{mount}:{folder}-copy/").returncode == 0
    assert case_webdav.cli("cp", "-r", f"{mount}:{folder}-copy/", f"{tmp_path}/back/").returncode == 0
    for copy in (on_disk.with_name(f"{folder}-copy"), tmp_path / "back"):
        assert sorted(os.listdir(copy)) == sorted(HOSTILE), copy
        assert all((copy / n).read_bytes() == (on_disk / n).read_bytes() for n in HOSTILE)
    assert sorted(os.listdir(on_disk)) == sorted(HOSTILE)  # no temp, probe or backup file left


def test_a_move_the_server_misplaces_is_reported_not_taken_for_success(
    webdav_servers: webdav.WebDAVServers, case_webdav: Case
) -> None:
    """Told (wrongly) that `;` survives a MOVE, the backend MOVEs to `semi;colon.txt`; WsgiDAV
    stores `semi`. The check of the final name turns that into an error."""
    import pytest

    from genrostore import Storage
    from genrostore.core.errors import GenrostoreError

    folder = f"v-{uuid.uuid4().hex[:8]}"
    storage = Storage.from_profile(case_webdav.profile)
    backend = storage.mount(case_webdav.mount).backend
    backend._intact.add(";")  # skip the probe that would have sent this name the safe way
    with pytest.raises(GenrostoreError, match="under another name"):
        storage.node(f"{case_webdav.mount}:{folder}/semi;colon.txt").write(b"data")
    assert os.listdir(webdav_servers.anonymous.root / folder) == ["semi"]  # where the server put it


def test_an_interrupted_upload_to_a_question_mark_name_keeps_the_previous_version(
    webdav_servers: webdav.WebDAVServers, case_webdav: Case
) -> None:
    """A name the server cannot take as a MOVE Destination is still uploaded to a temp name
    first: Ctrl-C mid-upload leaves the old file whole and no temp file."""
    import signal

    folder = webdav_servers.anonymous.root / f"i-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    target = folder / "q?mark.txt"
    target.write_bytes(b"the previous version")
    env = {**os.environ, "GENROSTORE_PROFILE": str(case_webdav.profile)}
    proc = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-", f"{case_webdav.mount}:{folder.name}/q?mark.txt"],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        proc.stdin.write(os.urandom(4 * 1024 * 1024))
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not any(p.name.endswith(".genrostore-tmp") and p.stat().st_size for p in folder.iterdir()):
            assert target.read_bytes() == b"the previous version", "the upload is written in place"
            assert time.monotonic() < deadline, "the upload never reached the server"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        proc.stdin.close()
        assert proc.wait(timeout=30) == 130, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert target.read_bytes() == b"the previous version"
    deadline = time.monotonic() + 5  # the server may finish writing the aborted temp a moment later
    while sorted(p.name for p in folder.iterdir()) != ["q?mark.txt"]:
        assert time.monotonic() < deadline, sorted(p.name for p in folder.iterdir())
        time.sleep(0.1)


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
