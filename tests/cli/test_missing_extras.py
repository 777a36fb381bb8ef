"""A backend whose client library is not installed: exit 7 and the `pip install` line, for every extra.

The library is hidden from the subprocess by a directory put first on PYTHONPATH that holds a
package of the same name whose import fails the way a missing package does.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clirun import Run

# extra → the top-level packages it installs that genrostore imports (hiding one is enough to
# break the backend; hiding all of them is what a machine without the extra looks like).
HIDDEN: dict[str, tuple[str, ...]] = {
    "s3": ("s3fs", "aiobotocore", "obstore"),
    "gcs": ("gcsfs", "obstore"),
    "azure": ("adlfs", "azure", "obstore"),
    "sftp": ("paramiko",),
    "smb": ("smbclient", "smbprotocol"),
    "webdav": ("webdav4", "httpx"),
    "http": ("aiohttp",),
    "git": ("pygit2",),
    "github": ("requests",),
    "libarchive": ("libarchive",),
}

NOT_INSTALLED = "raise ModuleNotFoundError(f'No module named {__name__!r}', name=__name__)\n"


def _hide(root: Path, packages: tuple[str, ...]) -> dict[str, str]:
    for package in packages:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text(NOT_INSTALLED)
    return {"PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))}


def _mount_env(extra: str, tmp_path: Path) -> dict[str, str]:
    """A mount of that type whose options are valid, so only the import can fail."""
    archive = tmp_path / "a.zip"
    archive.write_bytes(b"not an archive")
    (tmp_path / "repo").mkdir(exist_ok=True)
    options = {
        "s3": {"bucket": "b", "endpoint_url": "http://127.0.0.1:9", "access_key": "k", "secret_key": "s"},
        "gcs": {"bucket": "b", "endpoint_url": "http://127.0.0.1:9", "token": "anon"},
        "azure": {"container": "c", "account_name": "a", "account_key": "a2V5",
                  "endpoint_url": "http://127.0.0.1:9/a"},
        "sftp": {"host": "127.0.0.1", "port": "9", "username": "u", "password": "p"},
        "smb": {"host": "127.0.0.1", "port": "9", "share": "s", "username": "u", "password": "p"},
        "webdav": {"url": "http://127.0.0.1:9/"},
        "http": {"base_url": "http://127.0.0.1:9/"},
        "git": {"path": str(tmp_path / "repo")},
        "github": {"org": "o", "repo": "r"},
        "libarchive": {"file": str(archive)},
    }[extra]
    env = {"GENROSTORE_MOUNT_X_TYPE": extra}
    env.update({f"GENROSTORE_MOUNT_X_{key.upper()}": value for key, value in options.items()})
    return env


@pytest.mark.parametrize("extra", sorted(HIDDEN))
@pytest.mark.parametrize("command", [("cat", "x:a.txt"), ("ls", "x:"), ("cat", "x:")], ids=["cat-file", "ls-root", "cat-root"])
def test_a_backend_without_its_extra_exits_7_naming_the_install_command(
    run: Run, tmp_path: Path, extra: str, command: tuple[str, str]
) -> None:
    env = {**_hide(tmp_path / "hidden", HIDDEN[extra]), **_mount_env(extra, tmp_path)}
    result = run(*command, env=env)
    assert result.returncode == 7, result.stderr
    stderr = result.stderr.decode()
    assert f"pip install 'genrostore[{extra}]'" in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr


@pytest.mark.parametrize("url", ["https://example.invalid/", "https://example.invalid/a.txt"])
def test_an_http_url_without_the_http_extra_exits_7(run: Run, tmp_path: Path, url: str) -> None:
    result = run("cat", url, env=_hide(tmp_path / "hidden", HIDDEN["http"]))
    assert result.returncode == 7, result.stderr
    assert "pip install 'genrostore[http]'" in result.stderr.decode()
