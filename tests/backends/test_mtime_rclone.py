"""genrostore and the real rclone read each other's modification times (issue 15).

genrostore uploads a file with an old mtime; `rclone lsl` shows that time. rclone uploads one;
`genrostore ls -l --json` shows rclone's. Against moto (S3, `X-Amz-Meta-Mtime`), sshd (sftp) and
Azurite (Azure, `mtime` blob metadata) with both Azure clients.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cases._base import Case


OLD = datetime(2001, 2, 3, 4, 5, 6, 500000, tzinfo=UTC)
RCLONE_OLD = datetime(2003, 4, 5, 6, 7, 8, 250000, tzinfo=UTC)


def _stamped(path: Path, when: datetime, data: bytes = b"mtime interop\n") -> Path:
    path.write_bytes(data)
    ns = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
    os.utime(path, ns=(ns, ns))
    return path


def _rclone(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(["rclone", "--config", os.devnull, *args], capture_output=True, timeout=120,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def _lsl_time(output: str, name: str) -> datetime:
    """`rclone lsl` lines: `size YYYY-MM-DD HH:MM:SS.nnnnnnnnn path` (local time zone: TZ=UTC here)."""
    for line in output.splitlines():
        size, day, clock, path = line.split(maxsplit=3)
        if path == name:
            return datetime.fromisoformat(f"{day}T{clock[:15]}+00:00")
    raise AssertionError(f"{name} not in rclone's listing: {output}")


def _genrostore_time(case: Case, directory: str, name: str) -> datetime:
    result = case.cli("ls", "-l", "--json", directory)
    assert result.returncode == 0, result.stderr.decode()
    record = next(r for r in json.loads(result.stdout) if r["name"] == name)
    return datetime.fromisoformat(record["mtime"].replace("Z", "+00:00"))


def _s3_remote(case: Case) -> dict[str, str]:
    o = case.mount_options
    return {"RCLONE_CONFIG_R_TYPE": "s3", "RCLONE_CONFIG_R_PROVIDER": "Other",
            "RCLONE_CONFIG_R_ENDPOINT": o["endpoint_url"], "RCLONE_CONFIG_R_REGION": o["region"],
            "RCLONE_CONFIG_R_ACCESS_KEY_ID": o["access_key"], "RCLONE_CONFIG_R_SECRET_ACCESS_KEY": o["secret_key"],
            "RCLONE_CONFIG_R_FORCE_PATH_STYLE": "true", "RCLONE_CONFIG_R_NO_CHECK_BUCKET": "true", "TZ": "UTC"}


def _sftp_remote(case: Case) -> dict[str, str]:
    o = case.mount_options
    obscured = subprocess.run(["rclone", "obscure", o["password"]], capture_output=True, check=True, timeout=30)
    return {"RCLONE_CONFIG_R_TYPE": "sftp", "RCLONE_CONFIG_R_HOST": o["host"], "RCLONE_CONFIG_R_PORT": str(o["port"]),
            "RCLONE_CONFIG_R_USER": o["username"], "RCLONE_CONFIG_R_PASS": obscured.stdout.decode().strip(),
            "RCLONE_CONFIG_R_KNOWN_HOSTS_FILE": o["known_hosts"], "RCLONE_CONFIG_R_SHELL_TYPE": "none",
            "TZ": "UTC"}


def _azure_remote(case: Case) -> dict[str, str]:
    o = case.mount_options
    return {"RCLONE_CONFIG_R_TYPE": "azureblob", "RCLONE_CONFIG_R_ACCOUNT": o["account_name"],
            "RCLONE_CONFIG_R_KEY": o["account_key"], "RCLONE_CONFIG_R_ENDPOINT": o["endpoint_url"], "TZ": "UTC"}


REMOTES = {"s3": (_s3_remote, "bucket"), "sftp": (_sftp_remote, "path"), "azure": (_azure_remote, "container"),
           "azure_fsspec": (_azure_remote, "container")}


@pytest.mark.parametrize("kind", list(REMOTES))
def test_rclone_and_genrostore_read_each_others_mtimes(kind: str, request: pytest.FixtureRequest,
                                                        tmp_path: Path) -> None:
    case: Case = request.getfixturevalue(f"case_{kind}")
    make_remote, root_option = REMOTES[kind]
    env = make_remote(case)
    directory = f"t-{uuid.uuid4().hex[:10]}"
    remote = f"r:{case.mount_options[root_option]}/{directory}"
    precision = case.storage().mount(case.mount).backend.features.mtime_precision or 0.0

    # genrostore writes, rclone reads.
    ours = _stamped(tmp_path / "ours.txt", OLD)
    result = case.cli("cp", str(ours), f"{case.mount}:{directory}/ours.txt")
    assert result.returncode == 0, result.stderr.decode()
    seen = _lsl_time(_rclone(env, "lsl", remote), "ours.txt")
    assert abs((seen - OLD).total_seconds()) <= max(precision, 1e-6)

    # rclone writes, genrostore reads.
    theirs = _stamped(tmp_path / "theirs.txt", RCLONE_OLD)
    _rclone(env, "copyto", str(theirs), f"{remote}/theirs.txt")
    seen = _genrostore_time(case, f"{case.mount}:{directory}", "theirs.txt")
    assert abs((seen - RCLONE_OLD).total_seconds()) < 1  # the listing shows whole seconds
    info = case.storage().node(f"{case.mount}:{directory}/theirs.txt").info().mtime
    assert info is not None and abs((info - RCLONE_OLD).total_seconds()) <= max(precision, 1e-6)
