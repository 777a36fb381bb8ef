"""Profile loading: shapes, lookup order, interpolation, env-only mounts, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import ConfigError
from genrostore.core.profile import load_profile, mounts_from_dicts


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


def _first_error(path: Path) -> ConfigError:
    """The error a command gets: the profile's own, else the one of its first broken mount."""
    try:
        profile = load_profile(path)
    except ConfigError as exc:
        return exc
    broken = [name for name, config in profile.mounts.items() if config.error is not None]
    assert broken, "the profile has no error"
    with pytest.raises(ConfigError) as info:
        Storage(profile=profile).mount(broken[0])
    return info.value


def test_missing_variable_names_it(tmp_path: Path) -> None:
    error = _first_error(_write(tmp_path, "mounts:\n  w:\n    type: local\n    path: ${MISSING_VAR_X}\n"))
    assert "MISSING_VAR_X" in str(error) and error.exit_code == 7


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
    error = _first_error(path)
    assert fragment in str(error)
    assert str(path) in str(error)


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


# -- one broken mount fails only the commands that use it (issue 13) ---------------------------
BROKEN = "mounts:\n  bad:\n    type: local\n    path: ${UNSET_ROOT_FOR_TEST}\n  half:\n    type: s3\n"


def test_a_broken_mount_leaves_other_commands_working(tmp_path: Path, run, profile) -> None:
    path = profile(BROKEN)
    (tmp_path / "file.txt").write_bytes(b"still readable\n")
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "h.txt").write_bytes(b"h")
    cat = run("--profile", str(path), "cat", "./file.txt")
    assert (cat.returncode, cat.stdout) == (0, b"still readable\n"), cat.stderr
    ls = run("--profile", str(path), "ls", "home:")
    assert ls.returncode == 0 and b"h.txt" in ls.stdout, ls.stderr


def test_a_command_using_a_broken_mount_exits_7_naming_the_problem(run, profile) -> None:
    path = profile(BROKEN)
    result = run("--profile", str(path), "ls", "bad:")
    assert result.returncode == 7
    assert b"UNSET_ROOT_FOR_TEST" in result.stderr and f"{path}:4".encode() in result.stderr
    result = run("--profile", str(path), "cat", "half:x")
    assert result.returncode == 7 and b"missing required option 'bucket'" in result.stderr


def test_mounts_shows_the_error_of_a_broken_mount(run, profile) -> None:
    path = profile(BROKEN)
    result = run("--profile", str(path), "mounts")
    assert result.returncode == 0, result.stderr
    lines = {line.split(":", 1)[0]: line for line in result.stdout.decode().splitlines()}
    assert "BROKEN" in lines["bad"] and "UNSET_ROOT_FOR_TEST" in lines["bad"]
    assert "BROKEN" in lines["half"] and "home" in lines


# -- profiles from pipes are bounded (issue 12, item 22) -----------------------------------------
def test_a_profile_from_a_pipe_larger_than_the_limit_exits_7_at_once(run) -> None:
    big = b"# padding\n" * 200_000  # 2 MB through a pipe: no st_size to look at
    result = run("--profile", "/dev/stdin", "mounts", input=big, timeout=30)
    assert result.returncode == 7 and b"larger than 1024 KiB" in result.stderr


def test_dev_zero_as_profile_exits_7_without_running_out_of_memory(run) -> None:
    result = run("--profile", "/dev/zero", "mounts", timeout=30)
    assert result.returncode == 7 and b"larger than" in result.stderr


def test_a_small_profile_from_a_pipe_loads(run) -> None:
    result = run("--profile", "/dev/stdin", "mounts", input=b"mounts:\n  piped:\n    type: memory\n")
    assert result.returncode == 0 and b"piped:" in result.stdout, result.stderr


# -- libyaml's parser is used only where it cannot overflow the C stack ------------------------
@pytest.mark.parametrize("depth", [25_000, 100_000])
def test_a_profile_nested_past_the_c_stack_exits_7_not_a_crash(run, depth: int) -> None:
    text = ("mounts: " + "[" * depth + "]" * depth + "\n").encode()
    result = run("--profile", "/dev/stdin", "mounts", input=text, timeout=60)
    assert result.returncode == 7 and b"nests too deeply" in result.stderr, (result.returncode, result.stderr[-300:])


def test_a_profile_of_many_mounts_loads_and_names_lines(tmp_path: Path) -> None:
    many = "".join(f"  m{i}:\n    type: memory\n    readonly: false\n" for i in range(400))
    assert many.count(":") > 1000  # past the bound: the pure-Python parser, same marks
    path = _write(tmp_path, "mounts:\n" + many + "  w:\n    type: local\n    path: /tmp\n    readonly: maybe\n")
    error = _first_error(path)
    assert "expected true or false" in str(error) and f"{path}:{2 + 3 * 400 + 3}" in str(error)
    assert len(load_profile(_write(tmp_path, "mounts:\n" + many)).mounts) >= 400


# -- genro-storage profiles run unchanged (issue 18) ---------------------------------------------
def test_storage_manager_json_profile_loads(tmp_path: Path) -> None:
    """json.dump(..., indent="\\t") with `\\/` escapes: valid JSON that YAML rejects."""
    path = tmp_path / "storage.json"
    path.write_text('[\n\t{\n\t\t"name": "home2",\n\t\t"protocol": "local",\n\t\t"base_path": "' + str(tmp_path) +
                    '"\n\t},\n\t{"name": "cdn", "protocol": "http", "base_url": "https:\\/\\/cdn.example.com\\/a"}\n]\n')
    profile = load_profile(path)
    assert profile.mounts["home2"].options["path"] == str(tmp_path)
    assert profile.mounts["cdn"].options["base_url"] == "https://cdn.example.com/a"


def test_invalid_json_profile_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "storage.json"
    path.write_text('[\n  {"name": "a",\n   "protocol": "memory",}\n]\n')
    with pytest.raises(ConfigError, match=r"storage\.json:3: invalid JSON"):
        load_profile(path)


def test_genro_storage_only_keys_are_accepted_with_one_warning_naming_them(tmp_path: Path) -> None:
    text = (f"- name: s3\n  protocol: s3\n  bucket: b\n  version_aware: true\n  default_encrypted: true\n"
            f"- name: z\n  protocol: local\n  base_path: {tmp_path}\n  base_url: https://files.example.com\n"
            f"- name: a\n  protocol: memory\n  target_protocol: file\n  target_options: {{}}\n")
    messages: list[str] = []
    profile = load_profile(_write(tmp_path, text), warn=messages.append)
    assert len(messages) == 1
    for key in ("version_aware (mount 's3')", "default_encrypted (mount 's3')", "base_url (mount 'z')",
                "target_protocol (mount 'a')", "target_options (mount 'a')"):
        assert key in messages[0]
    assert profile.mounts["s3"].error is None and "version_aware" not in profile.mounts["s3"].options


def test_api_mounts_warn_once_for_genro_storage_only_keys() -> None:
    with pytest.warns(UserWarning, match="default_encrypted") as record:
        Storage(mounts=[{"name": "m", "protocol": "memory", "default_encrypted": True}])
    assert len(record) == 1


def test_an_unknown_key_is_still_an_error(tmp_path: Path) -> None:
    error = _first_error(_write(tmp_path, "- name: m\n  protocol: memory\n  versoin_aware: true\n"))
    assert "unknown option 'versoin_aware'" in str(error)


@pytest.mark.parametrize("kind,extra,option", [
    ("s3", {"bucket": "b"}, "prefix"),
    ("gcs", {"bucket": "b"}, "prefix"),
    ("azure", {"container": "c", "account_name": "acct"}, "prefix"),
    ("http", {}, "base_url"),
    ("git", {}, "path"),
    ("sftp", {"host": "h", "username": "u"}, "path"),
    ("smb", {"host": "h", "share": "s"}, "path"),
    ("local", {}, "path"),
])
def test_base_path_is_the_root_option_of_every_backend(kind: str, extra: dict, option: str) -> None:
    value = "https://cdn.example.com/assets" if kind == "http" else "/srv/reports"
    [config] = mounts_from_dicts([{"name": "x", "protocol": kind, "base_path": value, **extra}])
    assert config.options[option] == value


def test_base_path_and_its_legacy_name_together_must_agree() -> None:
    with pytest.raises(ConfigError, match="'base_path' and 'prefix'"):
        mounts_from_dicts([{"name": "x", "protocol": "s3", "bucket": "b", "base_path": "a", "prefix": "b"}])


def test_permissions_must_be_a_genro_storage_level() -> None:
    with pytest.raises(ConfigError, match="expected one of readonly, readwrite, delete"):
        mounts_from_dicts([{"name": "x", "protocol": "memory", "permissions": "write"}])
