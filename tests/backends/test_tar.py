"""The tar backend: compression detection, `./` names, links, jailing, archives on other mounts."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.cases._base import SAMPLE, Case
from tests.cases.archives import tar_dir, write_tree


def tar_case(tmp_path: Path, archive: Path | str, **extra: object) -> Case:
    name = "tar-" + "-".join(f"{k}-{v}" for k, v in extra.items())
    return Case(name, "tb", {"type": "tar", "file": str(archive), **extra}, tmp_path)


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "src", SAMPLE)


@pytest.mark.parametrize(("name", "flags"), [
    ("plain.tar", ()), ("gz.tar.gz", ("-z",)), ("gz.tgz", ("-z",)), ("bz.tar.bz2", ("-j",)),
    ("bz.tbz2", ("-j",)), ("xz.tar.xz", ("-J",)), ("xz.txz", ("-J",)),
])
def test_compression_is_detected_from_the_extension(tmp_path: Path, sample_dir: Path, name: str,
                                                    flags: tuple[str, ...]) -> None:
    archive = tar_dir(sample_dir, tmp_path / name, *flags)
    result = tar_case(tmp_path, archive).cli("cat", "tb:dir/nested/deep.bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SAMPLE["dir/nested/deep.bin"]


@pytest.mark.parametrize("flag", ["-z", "-j", "-J"])
def test_compression_is_detected_from_magic_bytes_when_the_extension_says_nothing(
        tmp_path: Path, sample_dir: Path, flag: str) -> None:
    archive = tar_dir(sample_dir, tmp_path / "backup.bin", flag)
    result = tar_case(tmp_path, archive).cli("cat", "tb:hello.txt")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SAMPLE["hello.txt"]


def test_the_compression_option_overrides_detection(tmp_path: Path, sample_dir: Path) -> None:
    archive = tar_dir(sample_dir, tmp_path / "misnamed.tar", "-z")
    assert tar_case(tmp_path, archive, compression="gzip").cli("cat", "tb:hello.txt").stdout == SAMPLE["hello.txt"]
    wrong = tar_case(tmp_path, archive, compression="bz2").cli("cat", "tb:hello.txt")
    assert wrong.returncode == 1
    assert b"not a readable tar archive" in wrong.stderr


def test_dot_slash_member_names_are_addressed_without_the_prefix(tmp_path: Path, sample_dir: Path) -> None:
    archive = tar_dir(sample_dir, tmp_path / "dots.tar")
    with tarfile.open(archive) as handle:
        assert any(name.startswith("./") for name in handle.getnames())
    case = tar_case(tmp_path, archive)
    listing = case.cli("ls", "tb:").stdout.decode().splitlines()
    assert listing == sorted(["dir/", "empty.txt", "hello.txt", "space name.txt", "unicod\u00e9 \u00fc/"])
    assert case.cli("cat", "tb:dir/a.txt").stdout == b"a\n"


def test_links_inside_the_archive_read_as_their_target(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"real.txt": b"real"})
    os.symlink("real.txt", source / "soft.txt")
    os.link(source / "real.txt", source / "hard.txt")
    os.symlink("/etc/hostname", source / "outside.txt")
    archive = tar_dir(source, tmp_path / "links.tar")
    case = tar_case(tmp_path, archive)
    assert case.cli("cat", "tb:soft.txt").stdout == b"real"
    assert case.cli("cat", "tb:hard.txt").stdout == b"real"
    assert case.cli("cat", "tb:outside.txt").returncode == 4


def test_crafted_member_names_never_leave_the_destination_of_a_recursive_copy(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as handle:
        for name, data in (("../../escaped.txt", b"1"), ("/abs/escaped2.txt", b"2"), ("./fine.txt", b"3")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("escaped-link.txt")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../../etc/passwd"
        handle.addfile(link)
    work = tmp_path / "work"
    work.mkdir()
    case = tar_case(tmp_path, archive)
    env = {**os.environ, "GENROSTORE_PROFILE": str(case.profile)}
    result = subprocess.run([sys.executable, "-m", "genrostore", "cp", "-r", "tb:", "./out/"], cwd=work, env=env,
                            capture_output=True, check=False)
    # A `..` member is reported and skipped (exit 1), as GNU tar refuses it; a leading `/` is dropped.
    assert result.returncode == 1, result.stderr
    assert b"tb:../../escaped.txt" in result.stderr
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*escaped*"))
    assert found == ["work/out/abs/escaped2.txt"]
    assert (work / "out/fine.txt").read_bytes() == b"3"


def test_writes_exit_6_before_anything_is_touched(tmp_path: Path, sample_dir: Path) -> None:
    archive = tar_dir(sample_dir, tmp_path / "ro.tgz", "-z")
    before = archive.read_bytes()
    case = tar_case(tmp_path, archive)
    for args in (("cp", str(sample_dir / "hello.txt"), "tb:new.txt"), ("rm", "tb:hello.txt"), ("mkdir", "tb:x")):
        result = case.cli(*args)
        assert result.returncode == 6, (args, result.stderr)
        assert b"read-only" in result.stderr
    assert archive.read_bytes() == before


def test_an_archive_on_another_mount_is_read_through_that_mount(tmp_path: Path, sample_dir: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    tar_dir(sample_dir, remote / "bundle.tar.xz", "-J")
    case = Case("tar-remote", "tb", {"type": "tar", "file": "store:bundle.tar.xz"}, tmp_path,
                extra_mounts={"store": {"type": "local", "path": str(remote)}})
    result = case.cli("md5", "tb:dir/nested/deep.bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0].decode() == hashlib.md5(SAMPLE["dir/nested/deep.bin"]).hexdigest()


def test_a_missing_archive_exits_4_naming_it(tmp_path: Path) -> None:
    result = tar_case(tmp_path, tmp_path / "nope.tar").cli("cat", "tb:a.txt")
    assert result.returncode == 4
    assert b"nope.tar does not exist" in result.stderr
