"""After a genrostore sync the real rclone sees nothing to do, and the other way round (issue 15).

`rclone sync --dry-run` compares size and modification time, so it proves that genrostore stored
each file's mtime the way rclone reads it (and reads rclone's the same way); `rclone check`
compares sizes and hashes. Each direction also makes one change and asserts the tool does see it,
so a comparison that sees nothing at all cannot pass. Against moto (S3), sshd (sftp) and a local
directory.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.backends.test_mtime_rclone import _s3_remote, _sftp_remote
from tests.cases._base import Case


BASE = datetime(2004, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
TREE = {
    "a.txt": b"alpha\n",
    "empty.txt": b"",
    "space name.txt": b"spaces\n",
    "dir/b.bin": bytes(range(256)) * 40,
    "dir/nested/c.txt": b"deep\n" * 100,
    "unicod\u00e9/\u00f1.txt": "caf\u00e9\n".encode(),
}


def _tree(root: Path) -> Path:
    """Write TREE under ``root``, each file with its own old mtime (microseconds kept)."""
    for index, (name, data) in enumerate(sorted(TREE.items())):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        when = BASE + timedelta(days=index, microseconds=index * 1111)
        ns = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000
        os.utime(path, ns=(ns, ns))
    return root


def _rclone(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rclone", "--config", os.devnull, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **env})


def _would_transfer(env: dict[str, str], source: str, remote: str) -> list[str]:
    """The files `rclone sync --dry-run` says it would copy, update or delete.

    Directories are left out: rclone (1.66 on) also copies a directory's own mtime, which
    genrostore's sync does not (it keeps files' mtimes, as the issue asks).
    """
    result = _rclone(env, "sync", "--dry-run", "-v", source, remote)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines()
            if "Skipped" in line and "directory modification time" not in line]


def _target(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Case, dict[str, str], str, str]:
    """(case, rclone env, genrostore address, rclone remote) of one fresh directory."""
    directory = f"t-{uuid.uuid4().hex[:10]}"
    if kind == "local":
        case: Case = request.getfixturevalue("case_local")
        (tmp_path / "dst").mkdir()
        return case, {"TZ": "UTC"}, str(tmp_path / "dst"), str(tmp_path / "dst")
    case = request.getfixturevalue(f"case_{kind}")
    if kind == "s3":
        return case, _s3_remote(case), f"{case.mount}:{directory}", f"r:{case.mount_options['bucket']}/{directory}"
    return case, _sftp_remote(case), f"{case.mount}:{directory}", f"r:{case.mount_options['path']}/{directory}"


@pytest.mark.parametrize("kind", ["local", "s3", "sftp"])
def test_rclone_sees_nothing_to_do_after_a_genrostore_sync(kind: str, request: pytest.FixtureRequest,
                                                           tmp_path: Path) -> None:
    case, env, address, remote = _target(kind, request, tmp_path)
    source = _tree(tmp_path / "src")
    result = case.cli("sync", str(source), address)
    assert result.returncode == 0, result.stderr.decode()

    assert _would_transfer(env, str(source), remote) == []
    check = _rclone(env, "check", str(source), remote)
    assert check.returncode == 0, check.stderr
    assert "0 differences found" in check.stderr

    # The comparison is live: a new mtime on one source file (same size, same bytes) is seen.
    later = (BASE + timedelta(days=400)).timestamp()
    os.utime(source / "dir/b.bin", (later, later))
    assert [line for line in _would_transfer(env, str(source), remote) if "dir/b.bin" in line]


@pytest.mark.parametrize("kind", ["local", "s3", "sftp"])
def test_genrostore_sees_nothing_to_do_after_an_rclone_sync(kind: str, request: pytest.FixtureRequest,
                                                            tmp_path: Path) -> None:
    case, env, address, remote = _target(kind, request, tmp_path)
    source = _tree(tmp_path / "src")
    synced = _rclone(env, "sync", str(source), remote)
    assert synced.returncode == 0, synced.stderr

    dry = case.cli("sync", "--dry-run", str(source), address)
    assert dry.returncode == 0, dry.stderr.decode()
    assert [line for line in dry.stdout.decode().splitlines() if line.startswith("DRY-RUN:")] == []
    check = case.cli("check", str(source), address)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    assert sorted(line for line in check.stdout.decode().splitlines()) == sorted(f"= {name}" for name in TREE)

    later = (BASE + timedelta(days=400)).timestamp()
    os.utime(source / "dir/b.bin", (later, later))
    dry = case.cli("sync", "--dry-run", str(source), address)
    assert dry.returncode == 0, dry.stderr.decode()
    assert [line for line in dry.stdout.decode().splitlines() if "dir/b.bin" in line]
