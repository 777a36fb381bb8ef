"""genro-storage profiles run unchanged: its documented mount dicts (a top-level list, `name`,
`protocol`, `base_path`, `permissions`, relative `path: 'mount:dir'`) against the real servers."""

from __future__ import annotations

import json
import posixpath
import uuid
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import ConfigError, ReadOnly, UsageError

# The root option each backend had before genro-storage's `base_path` became its alias.
ROOT_OPTION = {"local": "path", "s3": "prefix", "gcs": "prefix", "azure": "prefix", "sftp": "path", "smb": "path"}


def _genro_storage(options: dict, name: str) -> dict:
    """A case's mount written the way genro-storage's docs write it."""
    rest = dict(options)
    return {"name": name, "protocol": rest.pop("type"), **rest}


def _profile(tmp_path: Path, mounts: list[dict]) -> Path:
    path = tmp_path / f"storage-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(mounts, indent="\t"))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize("name", ["local", "s3", "gcs", "azure", "sftp", "smb", "webdav"])
def test_base_path_roots_the_mount_inside_the_store(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    case = request.getfixturevalue(f"case_{name}")
    sub = f"gs-{uuid.uuid4().hex[:8]}"
    parent = _genro_storage(case.mount_options, "whole")
    child = _genro_storage(case.mount_options, "rooted")
    kind = child["protocol"]
    if kind == "webdav":
        child["base_path"] = sub
    else:
        current = child.pop(ROOT_OPTION[kind], None) or ""
        child["base_path"] = posixpath.join(current, sub) if current else sub
    storage = Storage.from_profile(_profile(tmp_path, [parent, child]))
    if kind in ("local", "sftp", "smb", "webdav"):  # a directory root must exist, as a local mount's path
        storage.node(f"whole:{sub}").mkdir()
    storage.node("rooted:report.txt").write(b"under base_path")
    assert storage.node(f"whole:{sub}/report.txt").read_bytes() == b"under base_path"
    assert [n.path for n in storage.node("rooted:").list()] == ["report.txt"]
    storage.close()


def test_http_base_path_is_the_url_prefix(case_http, tmp_path: Path) -> None:
    mount = {"name": "cdn", "protocol": "http", "base_path": case_http.mount_options["base_url"]}
    storage = Storage.from_profile(_profile(tmp_path, [mount]))
    assert storage.node(f"cdn:{case_http.sample_prefix}/hello.txt").read_bytes() == b"Hello World\n"


def test_git_base_path_is_the_repository(case_git, tmp_path: Path) -> None:
    mount = {"name": "myrepo", "protocol": "git", "base_path": case_git.mount_options["path"], "ref": "main"}
    storage = Storage.from_profile(_profile(tmp_path, [mount]))
    assert storage.node("myrepo:sample/hello.txt").read_bytes() == b"Hello World\n"


def test_memory_base_path_is_accepted(tmp_path: Path) -> None:
    storage = Storage.from_profile(_profile(tmp_path, [{"name": "test", "protocol": "memory", "base_path": "x"}]))
    storage.node("test:a.txt").write("in memory")
    assert storage.node("test:a.txt").read() == "in memory"


# -- permissions ------------------------------------------------------------------------------
def _permission_profile(tmp_path: Path, root: Path) -> Path:
    return _profile(tmp_path, [
        {"name": f"p_{level}", "protocol": "local", "base_path": str(root), "permissions": level}
        for level in ("readonly", "readwrite", "delete")
    ])


@pytest.fixture
def levels(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "files"
    root.mkdir()
    (root / "keep.txt").write_bytes(b"keep")
    (root / "dir").mkdir()
    (root / "dir" / "inner.txt").write_bytes(b"inner")
    return _permission_profile(tmp_path, root), root


def test_readonly_refuses_writes_and_deletes_with_exit_6(levels, run, tmp_path: Path) -> None:
    profile, root = levels
    (tmp_path / "src.txt").write_bytes(b"new")
    for args in (["cp", "./src.txt", "p_readonly:new.txt"], ["rm", "p_readonly:keep.txt"],
                 ["rm", "-r", "p_readonly:dir"], ["mkdir", "p_readonly:made"]):
        result = run("--profile", str(profile), *args)
        assert result.returncode == 6, (args, result.stderr)
        assert b"read-only" in result.stderr
    assert sorted(p.name for p in root.iterdir()) == ["dir", "keep.txt"]


def test_readwrite_writes_and_overwrites_but_refuses_deletes(levels, run, tmp_path: Path) -> None:
    profile, root = levels
    (tmp_path / "src.txt").write_bytes(b"new")
    assert run("--profile", str(profile), "cp", "./src.txt", "p_readwrite:keep.txt").returncode == 0
    assert run("--profile", str(profile), "mkdir", "p_readwrite:made").returncode == 0
    for args in (["rm", "p_readwrite:keep.txt"], ["rm", "-r", "p_readwrite:dir"], ["rm", "p_readwrite:made"]):
        result = run("--profile", str(profile), *args)
        assert result.returncode == 6, (args, result.stderr)
        assert b"permissions are readwrite" in result.stderr
    assert (root / "keep.txt").read_bytes() == b"new" and (root / "dir" / "inner.txt").exists()


def test_delete_allows_everything(levels, run) -> None:
    profile, root = levels
    assert run("--profile", str(profile), "rm", "-r", "p_delete:dir").returncode == 0
    assert run("--profile", str(profile), "rm", "p_delete:keep.txt").returncode == 0
    assert list(root.iterdir()) == []


def test_permissions_hold_in_the_python_api(levels) -> None:
    profile, root = levels
    storage = Storage.from_profile(profile)
    with pytest.raises(PermissionError):
        storage.node("p_readonly:x.txt").write("no")
    storage.node("p_readwrite:x.txt").write("yes")
    with pytest.raises(ReadOnly):
        storage.node("p_readwrite:x.txt").delete()
    storage.node("p_delete:x.txt").delete()
    assert not (root / "x.txt").exists()


# -- relative mounts --------------------------------------------------------------------------
@pytest.fixture
def nested(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "data-root"
    (root / "public").mkdir(parents=True)
    (root / "public" / "index.html").write_bytes(b"<h1>hi</h1>")
    (root / "private.txt").write_bytes(b"secret")
    profile = _profile(tmp_path, [
        {"name": "data", "protocol": "local", "base_path": str(root)},
        {"name": "public", "path": "data:public", "permissions": "readonly"},
        {"name": "drafts", "path": "data:drafts"},
        {"name": "sub", "path": "drafts:deeper", "permissions": "delete"},
    ])
    return profile, root


def test_a_relative_mount_reads_its_parents_directory(nested, run) -> None:
    profile, _ = nested
    result = run("--profile", str(profile), "cat", "public:index.html")
    assert (result.returncode, result.stdout) == (0, b"<h1>hi</h1>"), result.stderr
    result = run("--profile", str(profile), "ls", "public:")
    assert result.returncode == 0 and result.stdout.split() == [b"index.html"]


def test_a_relative_mount_is_jailed_in_its_directory(nested, run) -> None:
    profile, _ = nested
    result = run("--profile", str(profile), "cat", "public:../private.txt")
    assert result.returncode == 2 and b"secret" not in result.stdout
    storage = Storage.from_profile(profile)
    with pytest.raises(UsageError):
        storage.node("public:../private.txt").read()
    with pytest.raises(UsageError):  # genro-storage's child('..') escaped its relative mounts
        storage.node("public:").child("..", "private.txt")


def test_a_readonly_relative_mount_refuses_writes_with_exit_6(nested, run, tmp_path: Path) -> None:
    profile, root = nested
    (tmp_path / "up.txt").write_bytes(b"x")
    result = run("--profile", str(profile), "cp", "./up.txt", "public:up.txt")
    assert result.returncode == 6 and not (root / "public" / "up.txt").exists()


def test_a_relative_mount_writes_into_its_parent_and_nests(nested) -> None:
    profile, root = nested
    storage = Storage.from_profile(profile)
    storage.node("sub:note.txt").write("nested twice")
    assert (root / "drafts" / "deeper" / "note.txt").read_text() == "nested twice"
    storage.node("sub:note.txt").copy_to("drafts:copy.txt")
    assert (root / "drafts" / "copy.txt").read_text() == "nested twice"


def test_a_relative_mount_is_never_wider_than_its_parent(tmp_path: Path) -> None:
    profile = _profile(tmp_path, [
        {"name": "base", "protocol": "memory", "permissions": "readwrite"},
        {"name": "child", "path": "base:x", "permissions": "delete"},
    ])
    storage = Storage.from_profile(profile)
    storage.node("child:f.txt").write("w")
    assert storage.node("base:x/f.txt").read() == "w"  # one store: the parent's
    with pytest.raises(ReadOnly):
        storage.node("child:f.txt").delete()


def test_relative_mount_errors_fail_only_that_mount(tmp_path: Path) -> None:
    profile = _profile(tmp_path, [
        {"name": "a", "path": "b:x"}, {"name": "b", "path": "a:y"},
        {"name": "orphan", "path": "nowhere:z"}, {"name": "fine", "protocol": "memory"},
    ])
    storage = Storage.from_profile(profile)
    with pytest.raises(ConfigError, match="cycle"):
        storage.node("a:f").exists()
    with pytest.raises(ConfigError, match="'nowhere'"):
        storage.node("orphan:f").exists()
    storage.node("fine:f").write("ok")


def test_a_relative_mount_over_s3_copies_server_side_inside_the_bucket(cloud_s3, tmp_path: Path) -> None:
    from tests.cases.cloud import s3_options

    sub = f"rel-{uuid.uuid4().hex[:8]}"
    profile = _profile(tmp_path, [_genro_storage(s3_options(cloud_s3), "bucket"),
                                  {"name": "reports", "path": f"bucket:{sub}", "permissions": "readwrite"}])
    storage = Storage.from_profile(profile)
    storage.node("reports:q3.csv").write("a,b\n")
    source, target = storage.mount("reports"), storage.mount("bucket")
    assert source.server_copy("q3.csv", target, f"{sub}/q3-copy.csv")
    assert storage.node(f"bucket:{sub}/q3-copy.csv").read() == "a,b\n"
    assert [n.path for n in storage.node("reports:").list()] == ["q3-copy.csv", "q3.csv"]
    storage.close()
