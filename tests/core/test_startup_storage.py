"""Start-up: a Storage with nothing to load sets up its built-in mounts only when one is used,
and still fails at once on every profile source that could fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import ConfigError, UnknownMount


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No --profile, no $GENROSTORE_PROFILE, an empty XDG config directory, no env-only mount."""
    monkeypatch.delenv("GENROSTORE_PROFILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key in [k for k in os.environ if k.startswith("GENROSTORE_MOUNT_")]:
        monkeypatch.delenv(key)
    return tmp_path


def test_storage_without_a_profile_source_has_the_builtins_in_order(no_profile: Path) -> None:
    storage = Storage.from_profile()
    assert list(storage.mount_configs) == ["home", "mem", "data"]
    assert storage.mount_configs["home"].options["path"] == str(no_profile / "home")
    assert storage.profile.source == "no profile file"


def test_storage_without_a_profile_source_still_reads_builtin_mounts(no_profile: Path) -> None:
    assert Storage.from_profile().node("data:SGVsbG8gV29ybGQ=").read() == "Hello World"


def test_unknown_mount_without_a_profile_source_lists_the_builtins(no_profile: Path) -> None:
    with pytest.raises(UnknownMount, match="known mounts: data, home, mem"):
        Storage.from_profile().node("nope:x")


def test_missing_explicit_profile_fails_when_the_storage_is_built(no_profile: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        Storage.from_profile(no_profile / "missing.yaml")


def test_invalid_env_only_mount_fails_when_it_is_used(no_profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENROSTORE_MOUNT_BAD_TYPE", "no-such-backend")
    storage = Storage.from_profile()  # other mounts stay usable (issue 13)
    with pytest.raises(ConfigError, match="unknown backend type"):
        storage.node("bad:x")


def test_default_profile_file_is_loaded_when_it_exists(no_profile: Path) -> None:
    default = no_profile / "config" / "genrostore" / "mounts.yaml"
    default.parent.mkdir(parents=True)
    default.write_text(f"mounts:\n  work:\n    type: local\n    path: {no_profile}\n")
    default.chmod(0o600)
    storage = Storage.from_profile()
    assert list(storage.mount_configs) == ["home", "mem", "data", "work"]
    assert storage.profile.source == str(default)


def test_api_mounts_override_builtins_of_the_same_name(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "mem", "type": "local", "path": str(tmp_path)}])
    assert list(storage.mount_configs) == ["home", "mem", "data"]
    assert storage.mount_configs["mem"].spec.type == "local"


def test_invalid_api_mount_fails_when_the_storage_is_built() -> None:
    with pytest.raises(ConfigError, match="missing required option 'path'"):
        Storage(mounts=[{"name": "x", "type": "local"}])
