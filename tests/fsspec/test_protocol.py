"""`genrostore://MOUNT/path` beyond fsspec's abstract suite: registration, ranged reads, atomic
writes, metadata, server-side copies, builtin exceptions and pickling, on real mounts."""

from __future__ import annotations

import os
import pickle
from datetime import datetime
from pathlib import Path

import fsspec
import pytest

from genrostore.core.errors import GenrostoreError
from genrostore.fsspec_protocol import GenrostoreFileSystem
from tests.cases.cloud import s3_options
from tests.fsspec.conftest import filesystem, fresh, write_profile


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("proto-root")


@pytest.fixture(scope="module")
def profile(root: Path, cloud_s3, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_profile(tmp_path_factory.mktemp("proto") / "mounts.yaml", {
        "loc": {"type": "local", "path": str(root)},
        "ro": {"type": "local", "path": str(root), "readonly": True},
        "bucket": s3_options(cloud_s3, prefix="fsspec-proto"),
    })


@pytest.fixture
def fs(profile: Path) -> GenrostoreFileSystem:
    return filesystem(profile)


def test_the_protocol_is_registered_with_fsspec() -> None:
    assert fsspec.get_filesystem_class("genrostore") is GenrostoreFileSystem


def test_fsspec_open_with_storage_options_names_the_profile(profile: Path, root: Path) -> None:
    (root / "hello.txt").write_bytes(b"Hello World\n")
    with fsspec.open("genrostore://loc/hello.txt", "rb", profile=str(profile)) as handle:
        assert handle.read() == b"Hello World\n"


def test_seek_and_read_fetch_only_the_blocks_around_the_position(fs: GenrostoreFileSystem) -> None:
    path = fresh("bucket") + "/big.bin"
    data = os.urandom(12 * 1024 * 1024)
    fs.pipe_file(path, data)
    with fs.open(path, "rb", block_size=256 * 1024) as handle:
        handle.seek(10 * 1024 * 1024 + 5)
        assert handle.read(100) == data[10 * 1024 * 1024 + 5: 10 * 1024 * 1024 + 105]
        assert handle.cache.total_requested_bytes <= 512 * 1024
    assert fs.cat_file(path, start=-10) == data[-10:]


def test_a_write_that_raises_leaves_no_file_and_no_temporary(fs: GenrostoreFileSystem, root: Path) -> None:
    (root / "atomic").mkdir()
    with pytest.raises(RuntimeError), fs.open("loc/atomic/out.bin", "wb", block_size=1024) as handle:
        handle.write(b"x" * 10_000)  # several blocks already handed to the writer
        raise RuntimeError("the producer failed")
    assert os.listdir(root / "atomic") == []


def test_a_write_is_invisible_until_close(fs: GenrostoreFileSystem) -> None:
    path = fresh("bucket") + "/late.txt"
    with fs.open(path, "wb", block_size=5 * 1024 * 1024) as handle:
        handle.write(b"y" * (6 * 1024 * 1024))
        assert not fs.exists(path)
    assert fs.size(path) == 6 * 1024 * 1024


def test_info_and_ls_carry_name_size_type_mtime_and_md5(fs: GenrostoreFileSystem) -> None:
    base = fresh("bucket")
    fs.pipe_file(f"{base}/a.txt", b"hello")
    info = fs.info(f"{base}/a.txt")
    assert (info["name"], info["size"], info["type"]) == (f"{base}/a.txt", 5, "file")
    assert info["md5"] == "5d41402abc4b2a76b9719d911017c592"
    assert isinstance(fs.modified(f"{base}/a.txt"), datetime)
    assert fs.ls(base, detail=False) == [f"{base}/a.txt"]
    assert fs.info(base)["type"] == "directory"
    assert {"name": "loc", "size": 0, "type": "directory"} in fs.ls("")


def test_cp_file_inside_a_bucket_moves_no_bytes_through_the_client(fs: GenrostoreFileSystem,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    base = fresh("bucket")
    fs.pipe_file(f"{base}/src.bin", b"z" * 1000)
    mount = fs.storage.mount("bucket")

    def no_download(*args: object, **kwargs: object) -> None:
        raise AssertionError("the copy streamed through the client")

    monkeypatch.setattr(mount, "open_read", no_download)
    monkeypatch.setattr(mount, "read_range", no_download)
    fs.cp_file(f"{base}/src.bin", f"{base}/dst.bin")
    monkeypatch.undo()
    assert fs.cat_file(f"{base}/dst.bin") == b"z" * 1000


def test_cp_file_across_mounts_streams(fs: GenrostoreFileSystem, root: Path) -> None:
    base = fresh("bucket")
    fs.pipe_file(f"{base}/up.txt", b"across")
    fs.cp_file(f"{base}/up.txt", "loc/down/up.txt")
    assert (root / "down" / "up.txt").read_bytes() == b"across"


def test_rm_recursive_and_mkdir(fs: GenrostoreFileSystem, root: Path) -> None:
    fs.mkdir("loc/made/deep")
    assert (root / "made" / "deep").is_dir()
    with pytest.raises(FileExistsError):
        fs.mkdir("loc/made/deep")
    fs.pipe_file("loc/made/deep/f.txt", b"1")
    with pytest.raises(GenrostoreError, match="not empty"):
        fs.rmdir("loc/made")
    fs.rm("loc/made", recursive=True)
    assert not (root / "made").exists()


def test_errors_are_the_builtin_exceptions_fsspec_callers_catch(fs: GenrostoreFileSystem, root: Path) -> None:
    (root / "plain.txt").write_bytes(b"p")
    (root / "adir").mkdir(exist_ok=True)
    with pytest.raises(FileNotFoundError):
        fs.open("loc/missing.txt", "rb")
    with pytest.raises(FileNotFoundError):
        fs.info("nosuchmount/x")
    with pytest.raises(PermissionError):
        fs.pipe_file("ro/new.txt", b"refused")
    with pytest.raises(PermissionError):
        fs.rm_file("ro/plain.txt")
    with pytest.raises(IsADirectoryError):
        fs.open("loc/adir", "rb")
    with pytest.raises(FileExistsError):
        fs.open("loc/plain.txt", "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file("loc/plain.txt", b"again", mode="create")
    assert (root / "plain.txt").read_bytes() == b"p" and not (root / "new.txt").exists()


def test_pickles_as_the_profile_path_without_secrets(fs: GenrostoreFileSystem, profile: Path, cloud_s3) -> None:
    fs.pipe_file("loc/pickled.txt", b"via pickle")
    blob = pickle.dumps(fs)
    assert cloud_s3.secret.encode() not in blob and cloud_s3.key.encode() not in blob
    clone = pickle.loads(blob)
    assert clone.profile_path == str(profile)
    assert clone.cat_file("loc/pickled.txt") == b"via pickle"


def test_a_relative_profile_path_pickles_as_absolute(profile: Path, monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.chdir(profile.parent)
    fs = filesystem(Path(profile.name))
    monkeypatch.chdir(tmp_path)
    assert pickle.loads(pickle.dumps(fs)).profile_path == str(profile)
