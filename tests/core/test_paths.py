"""Addresses and the path jail."""

from __future__ import annotations

from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import NotPermitted, UsageError
from genrostore.core.paths import normalize, parse_address


@pytest.mark.parametrize("text", ["./a", "/tmp/x", "a.txt", "dir/a:b", "../x"])
def test_local_paths(text: str) -> None:
    assert parse_address(text).local == text


@pytest.mark.parametrize("text,mount,path", [("s3:a/b", "s3", "a/b"), ("my-mount.1:x", "my-mount.1", "x"),
                                             ("home:", "home", "")])
def test_mount_addresses(text: str, mount: str, path: str) -> None:
    address = parse_address(text)
    assert (address.mount, address.path) == (mount, path)


@pytest.mark.parametrize("text", ["https://host/x", "s3://bucket/key", "sftp://u@h/p", "file:///tmp/x"])
def test_urls_are_never_mount_names(text: str) -> None:
    address = parse_address(text)
    assert address.url == text and address.mount is None


def test_dash_is_stdio() -> None:
    assert parse_address("-").stdio


def test_normalize_drops_dots_and_slashes() -> None:
    assert normalize("/a//b/./c/") == "a/b/c"
    assert normalize("a/b/../c") == "a/c"


@pytest.mark.parametrize("path", ["..", "../x", "a/../../x", "/../etc/passwd"])
def test_dotdot_can_never_leave_the_root(path: str) -> None:
    with pytest.raises(UsageError):
        normalize(path)


def test_nul_bytes_are_rejected() -> None:
    with pytest.raises(UsageError):
        parse_address("mem:a\x00b")


def test_child_dotdot_escape_of_the_reference_library_is_impossible(tmp_path) -> None:
    (tmp_path / "pub").mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    storage = Storage(mounts=[{"name": "pub", "type": "local", "path": str(tmp_path / "pub")}])
    with pytest.raises(UsageError):
        storage.node("pub:").child("..", "secret.txt")
    with pytest.raises(UsageError):
        storage.node("pub:../secret.txt")


def test_symlink_out_of_a_local_mount_is_refused(tmp_path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside.txt").write_text("outside")
    (tmp_path / "root/link").symlink_to(tmp_path / "outside.txt")
    storage = Storage(mounts=[{"name": "r", "type": "local", "path": str(tmp_path / "root")}])
    with pytest.raises(NotPermitted):
        storage.node("r:link").read_bytes()
    with pytest.raises(NotPermitted):
        storage.node("r:link").write("overwrite")
    assert (tmp_path / "outside.txt").read_text() == "outside"


def test_percent_encoded_dots_are_a_literal_name_on_local(tmp_path) -> None:
    (tmp_path / "root").mkdir()
    storage = Storage(mounts=[{"name": "r", "type": "local", "path": str(tmp_path / "root")}])
    storage.node("r:%2e%2e/x").write("x")
    assert (tmp_path / "root/%2e%2e/x").read_text() == "x"


@pytest.mark.parametrize("path,parent,direct,problem", [
    ("p/../x", "p", False, "'..'"),
    ("p/../../../../x", "p", False, "'..'"),
    ("wb/./a.txt", "wb", False, "'.'"),
    ("wb//b.txt", "wb", False, "empty"),
    ("wb/", "wb", True, "empty"),
    ("/etc/passwd", "", False, "absolute"),
    ("other/a.txt", "wb", False, "not below"),
    ("wb/a/b.txt", "wb", True, "direct"),
])
def test_a_listed_name_that_cannot_be_a_path_says_why(path: str, parent: str, direct: bool, problem: str) -> None:
    from genrostore.core.paths import listed_name_problem

    assert problem in (listed_name_problem(path, parent, direct=direct) or "")


@pytest.mark.parametrize("path,parent", [("a.txt", ""), ("wb/a.txt", "wb"), ("wb/.hidden/..x", "wb"),
                                         ("wb/sub/deep.txt", "wb")])
def test_clean_listed_names_pass(path: str, parent: str) -> None:
    from genrostore.core.paths import listed_name_problem

    assert listed_name_problem(path, parent) is None


def test_a_mount_name_before_two_slashes_is_that_mount(tmp_path: Path) -> None:
    (tmp_path / "bucket").mkdir()
    (tmp_path / "bucket/key").write_text("from the mount")
    storage = Storage(mounts=[{"name": "s3", "type": "local", "path": str(tmp_path)}])
    assert storage.node("s3://bucket/key").read() == "from the mount"
    assert storage.node("data://4=").read_bytes() == b"\xff\xfe"


def test_a_scheme_that_names_no_mount_stays_a_url(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("local")
    assert Storage().node(f"file://{tmp_path}/f").read() == "local"
    assert parse_address("data://4=").url == "data://4="
    assert parse_address("data://4=", is_mount=lambda name: name == "data").mount == "data"
