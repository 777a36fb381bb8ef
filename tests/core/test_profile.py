"""Profile loading: shapes, lookup order, interpolation, env-only mounts, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import ConfigError
from genrostore.core.profile import load_profile


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mounts.yaml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_mapping_shape(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, f"mounts:\n  w:\n    type: local\n    path: {tmp_path}\n"))
    assert profile.mounts["w"].options["path"] == str(tmp_path)


def test_list_shape_of_the_reference_library_with_protocol(tmp_path: Path) -> None:
    text = f"- name: w\n  protocol: local\n  base_path: {tmp_path}\n- name: m\n  protocol: memory\n"
    profile = load_profile(_write(tmp_path, text))
    assert profile.mounts["w"].spec.type == "local" and profile.mounts["m"].spec.type == "memory"


def test_builtins_unless_redefined(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, "mounts:\n  mem:\n    type: local\n    path: /tmp\n"))
    assert profile.mounts["mem"].spec.type == "local"
    assert profile.mounts["data"].spec.type == "base64" and profile.mounts["home"].spec.type == "local"


def test_env_interpolation_with_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOTDIR", str(tmp_path))
    profile = load_profile(_write(tmp_path, "mounts:\n  w:\n    type: local\n    path: ${ROOTDIR}\n"
                                            "  v:\n    type: local\n    path: ${NOPE:-/srv}\n"))
    assert profile.mounts["w"].options["path"] == str(tmp_path)
    assert profile.mounts["v"].options["path"] == "/srv"


def test_missing_variable_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="MISSING_VAR_X"):
        load_profile(_write(tmp_path, "mounts:\n  w:\n    type: local\n    path: ${MISSING_VAR_X}\n"))


def test_lookup_env_then_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg"
    (xdg / "genrostore").mkdir(parents=True)
    (xdg / "genrostore/mounts.yaml").write_text("mounts:\n  fromxdg:\n    type: memory\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert "fromxdg" in load_profile().mounts
    other = tmp_path / "other.yaml"
    other.write_text("mounts:\n  fromenv:\n    type: memory\n")
    monkeypatch.setenv("GENROSTORE_PROFILE", str(other))
    mounts = load_profile().mounts
    assert "fromenv" in mounts and "fromxdg" not in mounts


def test_explicit_missing_profile_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_profile(tmp_path / "nope.yaml")


def test_env_only_mounts_are_coerced_by_schema(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GENROSTORE_MOUNT_MY_BOX_TYPE", "local")
    monkeypatch.setenv("GENROSTORE_MOUNT_MY_BOX_PATH", str(tmp_path))
    monkeypatch.setenv("GENROSTORE_MOUNT_MY_BOX_READONLY", "true")
    mount = load_profile().mounts["my_box"]
    assert mount.options == {"path": str(tmp_path), "readonly": True}


@pytest.mark.parametrize("text,fragment", [
    ("mounts:\n  w:\n    type: local\n", "missing required option 'path'"),
    ("mounts:\n  w:\n    type: local\n    path: /tmp\n    readonly: maybe\n", "expected true or false"),
    ("mounts:\n  w:\n    type: nosuch\n", "unknown backend type"),
    ("mounts: [1, 2\n", "invalid YAML"),
    ("mounts:\n  'bad/name':\n    type: memory\n", "mount name"),
    ("just a string\n", "a profile is either"),
])
def test_invalid_profiles_are_config_errors_with_file_and_line(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_profile_readable_by_others_with_secrets_warns(tmp_path: Path) -> None:
    messages: list[str] = []
    path = _write(tmp_path, "mounts:\n  w:\n    type: local\n    path: /tmp\n")
    path.chmod(0o644)
    load_profile(path, warn=messages.append)
    assert messages == []  # no secrets in a local mount: nothing to warn about


def test_memory_mounts_have_private_stores() -> None:
    storage = Storage(mounts=[{"name": "a", "type": "memory"}, {"name": "b", "type": "memory"}])
    storage.node("a:x").write("in a")
    assert not storage.node("b:x").exists()
    assert not Storage().node("mem:x").exists()


def test_yaml_alias_bomb_is_rejected_quickly(tmp_path: Path) -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(8)
    )
    with pytest.raises(ConfigError):
        load_profile(_write(tmp_path, bomb))
