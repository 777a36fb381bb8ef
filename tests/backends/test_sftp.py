"""SFTP behaviour beyond the conformance suite, against the session's sshd."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.cases._base import Case
from tests.cases.network import sftp_options
from tests.servers import sftp
from tests.servers._proc import free_port


def _cli(profile_mounts: dict, workdir: Path, *args: str, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[bytes]:
    profile = workdir / f"profile-{uuid.uuid4().hex[:8]}.yaml"
    profile.write_text(yaml.safe_dump({"mounts": profile_mounts}))
    profile.chmod(0o600)
    return subprocess.run([sys.executable, "-m", "genrostore", *args], check=False, capture_output=True, timeout=120,
                          env={**os.environ, "GENROSTORE_PROFILE": str(profile), **(env or {})})


def _remote_dir(server: sftp.SFTPServer) -> tuple[str, Path]:
    """A fresh directory inside the server's root: its mount-relative name and its local path."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    local = server.root / name
    local.mkdir()
    os.chmod(local, 0o777)
    return name, local


def test_key_login_reads_a_file(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    name, local = _remote_dir(sftp_server)
    (local / "k.txt").write_bytes(b"by key")
    options = sftp_options(sftp_server, key_filename=str(sftp_server.key_filename))
    del options["password"]
    result = _cli({"s": options}, tmp_path, "cat", f"s:{name}/k.txt")
    assert (result.returncode, result.stdout) == (0, b"by key"), result.stderr


def test_unknown_host_key_exits_6_with_how_to_trust_it(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    result = _cli({"s": sftp_options(sftp_server, known_hosts=str(empty))}, tmp_path, "ls", "s:")
    assert result.returncode == 6
    stderr = result.stderr.decode()
    assert "SHA256:" in stderr and f"ssh-keyscan -p {sftp_server.port}" in stderr and "accept-new" in stderr
    assert empty.read_text() == ""


def test_changed_host_key_exits_6_and_names_the_risk(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    other_key = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    wrong = tmp_path / "known_hosts"
    public = " ".join(other_key.with_suffix(".pub").read_text().split()[:2])
    wrong.write_text(f"[{sftp_server.host}]:{sftp_server.port} {public}\n")
    result = _cli({"s": sftp_options(sftp_server, known_hosts=str(wrong))}, tmp_path, "ls", "s:")
    assert result.returncode == 6
    assert "CHANGED" in result.stderr.decode() and "ssh-keygen" in result.stderr.decode()


def test_accept_new_records_the_key_of_a_new_host(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    known_hosts = tmp_path / "ssh" / "known_hosts"
    options = sftp_options(sftp_server, known_hosts=str(known_hosts), host_key_policy="accept-new")
    result = _cli({"s": options}, tmp_path, "ls", "s:")
    assert result.returncode == 0, result.stderr
    key = sftp_server.known_hosts_line.split()[-1]
    assert key in known_hosts.read_text()


def test_wrong_password_exits_6_and_never_shows_it(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    secret = "Wr0ng-Pa55-" + uuid.uuid4().hex
    result = _cli({"s": sftp_options(sftp_server, password=secret)}, tmp_path, "--debug", "ls", "s:")
    assert result.returncode == 6
    assert b"authentication failed" in result.stderr
    assert secret.encode() not in result.stdout + result.stderr


def test_refused_connection_exits_5_within_seconds_and_hides_the_password(
    sftp_server: sftp.SFTPServer, tmp_path: Path
) -> None:
    secret = "Refused-Pa55-" + uuid.uuid4().hex
    options = sftp_options(sftp_server, port=free_port(), password=secret)
    started = time.monotonic()
    result = _cli({"s": options}, tmp_path, "--debug", "cat", "s:x.txt")
    assert result.returncode == 5
    assert time.monotonic() - started < 15
    assert b"Traceback" in result.stderr
    assert secret.encode() not in result.stdout + result.stderr


def test_recursive_copy_logs_in_once(sftp_server: sftp.SFTPServer, case_sftp: Case, tmp_path: Path) -> None:
    name, local = _remote_dir(sftp_server)
    for index in range(12):
        (local / f"sub{index % 3}").mkdir(exist_ok=True)
        (local / f"sub{index % 3}" / f"f{index}.txt").write_text(str(index))
    log = sftp_server.processes[0].logfile
    before = log.read_text().count("Accepted password")
    # -j 4: every transfer's channel fits on one connection (more jobs open more logins, one per
    # CHANNELS_PER_CONNECTION channels: see the MaxSessions tests below), never one per file.
    result = case_sftp.cli("cp", "-j", "4", "-r", f"{case_sftp.mount}:{name}", str(tmp_path / "copy"))
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "copy").rglob("*.txt"))) == 12
    assert log.read_text().count("Accepted password") - before == 1


def test_symlink_leading_out_of_the_root_is_refused(sftp_server: sftp.SFTPServer, case_sftp: Case) -> None:
    name, local = _remote_dir(sftp_server)
    os.symlink("/etc", local / "escape")
    os.symlink("/etc/hostname", local / "escape.txt")
    for address in (f"{name}/escape/hostname", f"{name}/escape.txt"):
        result = case_sftp.cli("cat", f"{case_sftp.mount}:{address}")
        assert result.returncode == 6, address
        assert b"outside the mount root" in result.stderr


def test_symlink_inside_the_root_is_followed(sftp_server: sftp.SFTPServer, case_sftp: Case) -> None:
    name, local = _remote_dir(sftp_server)
    (local / "real").mkdir()
    (local / "real" / "a.txt").write_bytes(b"inside")
    os.symlink("real", local / "alias")
    result = case_sftp.cli("cat", f"{case_sftp.mount}:{name}/alias/a.txt")
    assert (result.returncode, result.stdout) == (0, b"inside"), result.stderr


def test_recursive_delete_removes_a_link_not_its_target(sftp_server: sftp.SFTPServer, case_sftp: Case) -> None:
    name, local = _remote_dir(sftp_server)
    (local / "keep").mkdir()
    (local / "keep" / "precious.txt").write_bytes(b"keep me")
    (local / "doomed").mkdir(mode=0o777)
    os.chmod(local / "doomed", 0o777)  # the sftp user, not root, deletes inside it
    os.symlink(local / "keep", local / "doomed" / "link")
    result = case_sftp.cli("rm", "-r", f"{case_sftp.mount}:{name}/doomed")
    assert result.returncode == 0, result.stderr
    assert not (local / "doomed").exists()
    assert (local / "keep" / "precious.txt").read_bytes() == b"keep me"


def test_overwrite_leaves_no_temporary_file(sftp_server: sftp.SFTPServer, case_sftp: Case) -> None:
    name, local = _remote_dir(sftp_server)
    (local / "f.txt").write_bytes(b"old content")
    result = case_sftp.cli("cp", "-", f"{case_sftp.mount}:{name}/f.txt", input=b"new")
    assert result.returncode == 0, result.stderr
    assert os.listdir(local) == ["f.txt"]
    assert (local / "f.txt").read_bytes() == b"new"


def test_missing_root_path_exits_3(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    options = sftp_options(sftp_server, path=str(sftp_server.root / "no-such-dir"))
    result = _cli({"s": options}, tmp_path, "ls", "s:")
    assert result.returncode == 3
    assert b"does not exist" in result.stderr


def test_url_path_takes_the_password_from_the_environment(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    _, local = _remote_dir(sftp_server)
    (local / "u.txt").write_bytes(b"via url")
    url = f"sftp://{sftp_server.username}@{sftp_server.host}:{sftp_server.port}{local}/u.txt"
    env = {"GENROSTORE_SFTP_PASSWORD": sftp_server.password,
           "GENROSTORE_SFTP_KNOWN_HOSTS": str(sftp_server.known_hosts)}
    result = _cli({}, tmp_path, "cat", url, env=env)
    assert (result.returncode, result.stdout) == (0, b"via url"), result.stderr


def test_url_path_under_the_login_directory(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    name, local = _remote_dir(sftp_server)
    (local / "home.txt").write_bytes(b"from ~")
    url = f"sftp://{sftp_server.username}@{sftp_server.host}:{sftp_server.port}/~/{name}/home.txt"
    env = {"GENROSTORE_SFTP_PASSWORD": sftp_server.password,
           "GENROSTORE_SFTP_KNOWN_HOSTS": str(sftp_server.known_hosts)}
    result = _cli({}, tmp_path, "cat", url, env=env)
    assert (result.returncode, result.stdout) == (0, b"from ~"), result.stderr


# -- stock server limits and same-mount copies (issue 12, items 18-19) -------------------------------
def test_the_test_server_has_stock_openssh_session_limits(sftp_server: sftp.SFTPServer) -> None:
    config = (sftp_server.root.parent / "sshd_config").read_text()
    assert "MaxSessions 10\n" in config and "MaxStartups" not in config


@pytest.mark.parametrize("jobs", [16, 32])
def test_40_files_up_and_down_at_many_jobs_fit_maxsessions_10(sftp_server: sftp.SFTPServer, tmp_path: Path,
                                                            jobs: int) -> None:
    """One channel per transfer would exceed MaxSessions 10: transfers spread over more logins."""
    name, local = _remote_dir(sftp_server)
    source = tmp_path / "up"
    source.mkdir()
    files = {f"f{i:02}.bin": os.urandom(300_000) for i in range(40)}  # above the batch size: one thread each
    for file, data in files.items():
        (source / file).write_bytes(data)
    mounts = {"s": sftp_options(sftp_server)}
    log = sftp_server.processes[0].logfile
    before = log.read_text().count("Accepted password")
    up = _cli(mounts, tmp_path, "cp", "-j", str(jobs), "-r", f"{source}/", f"s:{name}/")
    assert up.returncode == 0, up.stderr
    assert log.read_text().count("Accepted password") - before <= jobs // 8 + 2  # logins per 8 channels
    assert {p.name: p.read_bytes() for p in local.iterdir()} == files
    down = _cli(mounts, tmp_path, "cp", "-j", str(jobs), "-r", f"s:{name}/", f"{tmp_path / 'down'}/")
    assert down.returncode == 0, down.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "down").iterdir()} == files


def test_a_20_mb_copy_inside_the_mount_completes(sftp_server: sftp.SFTPServer, tmp_path: Path) -> None:
    """Reader and pipelined writer on one channel deadlocked (the reader swallowed the writer's
    acknowledgements) from about 12 MB: each now streams on a channel of its own."""
    name, local = _remote_dir(sftp_server)
    data = os.urandom(20 * 1024 * 1024)
    (local / "big.bin").write_bytes(data)
    result = _cli({"s": sftp_options(sftp_server)}, tmp_path, "--timeout", "10", "--retries", "0",
                  "cp", f"s:{name}/big.bin", f"s:{name}/copy.bin")
    assert result.returncode == 0, result.stderr
    assert (local / "copy.bin").read_bytes() == data
    assert sorted(p.name for p in local.iterdir()) == ["big.bin", "copy.bin"]


def test_a_server_allowing_fewer_sessions_than_we_open_costs_more_logins_not_failures(tmp_path: Path) -> None:
    """MaxSessions 3: the 4th channel on a connection is "administratively prohibited"; that
    connection counts as full and the transfer opens its channel on another login."""
    server = sftp.start(tmp_path / "small", max_sessions=3)
    try:
        name, local = _remote_dir(server)
        source = tmp_path / "up"
        source.mkdir()
        files = {f"f{i:02}.bin": os.urandom(300_000) for i in range(24)}
        for file, data in files.items():
            (source / file).write_bytes(data)
        mounts = {"s": sftp_options(server)}
        up = _cli(mounts, tmp_path, "cp", "-j", "16", "-r", f"{source}/", f"s:{name}/")
        assert up.returncode == 0, up.stderr
        assert {p.name: p.read_bytes() for p in local.iterdir()} == files
        down = _cli(mounts, tmp_path, "cp", "-j", "16", "-r", f"s:{name}/", f"{tmp_path / 'down'}/")
        assert down.returncode == 0, down.stderr
        assert {p.name: p.read_bytes() for p in (tmp_path / "down").iterdir()} == files
    finally:
        server.stop()
