"""SMB behaviour beyond the conformance suite, against the session's smbd (a user share and a
guest share)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

from genrostore.backends.smb import decode_name, encode_name
from tests.cases._base import Case
from tests.cases.network import smb_guest_options, smb_options
from tests.servers import smb
from tests.servers._proc import free_port


def _cli(mounts: dict, workdir: Path, *args: str,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    profile = workdir / f"profile-{uuid.uuid4().hex[:8]}.yaml"
    profile.write_text(yaml.safe_dump({"mounts": mounts}))
    profile.chmod(0o600)
    return subprocess.run([sys.executable, "-m", "genrostore", *args], check=False, capture_output=True, timeout=120,
                          env={**os.environ, "GENROSTORE_PROFILE": str(profile), **(env or {})})


def test_guest_reads_a_file_of_the_guest_share(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    name = f"g-{uuid.uuid4().hex[:8]}.txt"
    (smb_server.guest_share_root / name).write_bytes(b"for guests")
    result = _cli({"g": smb_guest_options(smb_server)}, tmp_path, "cat", f"g:{name}")
    assert (result.returncode, result.stdout) == (0, b"for guests"), result.stderr


def test_guest_on_a_share_for_users_exits_6_saying_why(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    options = smb_guest_options(smb_server, share=smb_server.share)
    result = _cli({"g": options}, tmp_path, "ls", "g:")
    assert result.returncode == 6
    assert b"guest" in result.stderr


def test_wrong_password_exits_6_and_never_shows_it(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    secret = "Wr0ng-Pa55-" + uuid.uuid4().hex
    result = _cli({"s": smb_options(smb_server, password=secret)}, tmp_path, "--debug", "ls", "s:")
    assert result.returncode == 6
    assert b"refused the login" in result.stderr
    assert secret.encode() not in result.stdout + result.stderr


def test_wrong_port_exits_5_within_seconds_and_hides_the_password(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    secret = "Refused-Pa55-" + uuid.uuid4().hex
    started = time.monotonic()
    result = _cli({"s": smb_options(smb_server, port=free_port(), password=secret)}, tmp_path, "--debug", "ls", "s:")
    assert result.returncode == 5
    assert time.monotonic() - started < 15
    assert b"Traceback" in result.stderr
    assert secret.encode() not in result.stdout + result.stderr


def test_missing_share_exits_3_naming_it(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    result = _cli({"s": smb_options(smb_server, share="no-such-share")}, tmp_path, "ls", "s:")
    assert result.returncode == 3
    assert b"no-such-share" in result.stderr


def test_path_option_roots_the_mount_in_a_folder(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    folder = f"f-{uuid.uuid4().hex[:8]}"
    (smb_server.share_root / folder / "in").mkdir(parents=True)
    (smb_server.share_root / folder / "in" / "x.txt").write_bytes(b"rooted")
    result = _cli({"s": smb_options(smb_server, path=folder)}, tmp_path, "cat", "s:in/x.txt")
    assert (result.returncode, result.stdout) == (0, b"rooted"), result.stderr


def test_names_smb_forbids_are_stored_as_lookalikes(smb_server: smb.SMBServer, case_smb: Case) -> None:
    folder = f"n-{uuid.uuid4().hex[:8]}"
    result = case_smb.cli("cp", "-", f"{case_smb.mount}:{folder}/what? <x>.txt", input=b"odd")
    assert result.returncode == 0, result.stderr
    assert os.listdir(smb_server.share_root / folder) == [encode_name("what? <x>.txt")]
    listing = case_smb.cli("ls", f"{case_smb.mount}:{folder}")
    assert listing.stdout == b"what? <x>.txt\n"


def test_lookalike_encoding_round_trips_every_name() -> None:
    for name in ("plain.txt", 'a"*:<>?|\\b', "\uff1f already fullwidth", "\u201b quote", "tab\there"):
        assert decode_name(encode_name(name)) == name


def test_overwrite_leaves_no_temporary_file(smb_server: smb.SMBServer, case_smb: Case) -> None:
    folder = smb_server.share_root / f"o-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "f.txt").write_bytes(b"old content")
    result = case_smb.cli("cp", "-", f"{case_smb.mount}:{folder.name}/f.txt", input=b"new")
    assert result.returncode == 0, result.stderr
    assert os.listdir(folder) == ["f.txt"]
    assert (folder / "f.txt").read_bytes() == b"new"


def test_url_path_takes_the_password_from_the_environment(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    name = f"u-{uuid.uuid4().hex[:8]}.txt"
    (smb_server.share_root / name).write_bytes(b"via url")
    url = f"smb://{smb_server.username}@{smb_server.host}:{smb_server.port}/{smb_server.share}/{name}"
    result = _cli({}, tmp_path, "cat", url, env={"GENROSTORE_SMB_PASSWORD": smb_server.password})
    assert (result.returncode, result.stdout) == (0, b"via url"), result.stderr


def test_url_path_without_user_is_a_guest(smb_server: smb.SMBServer, tmp_path: Path) -> None:
    name = f"u-{uuid.uuid4().hex[:8]}.txt"
    (smb_server.guest_share_root / name).write_bytes(b"guest url")
    url = f"smb://{smb_server.host}:{smb_server.port}/{smb_server.guest_share}/{name}"
    result = _cli({}, tmp_path, "cat", url)
    assert (result.returncode, result.stdout) == (0, b"guest url"), result.stderr
