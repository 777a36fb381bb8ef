"""The libarchive backend: 7z, iso9660, cpio, zip and tar.gz built by bsdtar, read byte for byte."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from genrostore.backends.libarchive import INSTALL_HINT
from tests.cases._base import SAMPLE, Case
from tests.cases.archives import bsdtar_dir, write_tree


def lib_case(tmp_path: Path, archive: Path) -> Case:
    return Case(f"la-{archive.name}", "la", {"type": "libarchive", "file": str(archive)}, tmp_path)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("la-src"), SAMPLE)


@pytest.mark.parametrize(("name", "fmt"), [("s.7z", "7zip"), ("s.iso", "iso9660"), ("s.cpio", "cpio"),
                                           ("s.zip", "zip"), ("s.pax", "pax")])
def test_reads_every_sample_file_of_an_archive_made_by_bsdtar(tmp_path: Path, sample_dir: Path, name: str,
                                                               fmt: str) -> None:
    archive = bsdtar_dir(sample_dir, tmp_path / name, fmt)
    case = lib_case(tmp_path, archive)
    for member, data in SAMPLE.items():
        result = case.cli("cat", f"la:{member}")
        assert result.returncode == 0, (member, result.stderr)
        assert result.stdout == data, member
    md5 = case.cli("md5", "la:dir/nested/deep.bin")
    assert md5.stdout.split()[0].decode() == hashlib.md5(SAMPLE["dir/nested/deep.bin"]).hexdigest()


def test_dot_slash_prefixes_of_a_7z_are_normalised(tmp_path: Path, sample_dir: Path) -> None:
    archive = bsdtar_dir(sample_dir, tmp_path / "dots.7z", "7zip")
    listing = lib_case(tmp_path, archive).cli("ls", "la:").stdout.decode().splitlines()
    assert listing == sorted(["dir/", "empty.txt", "hello.txt", "space name.txt", "unicod\u00e9 \u00fc/"])


def test_a_gzipped_tar_is_read_too(tmp_path: Path, sample_dir: Path) -> None:
    archive = tmp_path / "s.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(sample_dir), "."], check=True)
    assert lib_case(tmp_path, archive).cli("cat", "la:dir/a.txt").stdout == b"a\n"


def test_a_missing_system_libarchive_exits_7_with_the_install_hint(tmp_path: Path, sample_dir: Path) -> None:
    archive = bsdtar_dir(sample_dir, tmp_path / "s.7z", "7zip")
    case = lib_case(tmp_path, archive)
    case.env["LIBARCHIVE"] = str(tmp_path / "no-such-libarchive.so.13")
    result = case.cli("cat", "la:hello.txt")
    assert result.returncode == 7
    assert "apt-get install libarchive13" in INSTALL_HINT
    assert INSTALL_HINT.encode() in result.stderr
    assert b"Traceback" not in result.stderr


def test_crafted_member_names_never_leave_the_destination_of_a_recursive_copy(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as handle:
        for name, data in (("../../escaped.txt", b"1"), ("/abs/escaped2.txt", b"2")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    work = tmp_path / "work"
    work.mkdir()
    case = lib_case(tmp_path, archive)
    env = {**os.environ, "GENROSTORE_PROFILE": str(case.profile)}
    result = subprocess.run([sys.executable, "-m", "genrostore", "cp", "-r", "la:", "./out/"], cwd=work, env=env,
                            capture_output=True, check=False)
    # A `..` member is reported and skipped (exit 1), as GNU tar refuses it; a leading `/` is dropped.
    assert result.returncode == 1, result.stderr
    assert b"la:../../escaped.txt" in result.stderr
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*escaped*"))
    assert found == ["work/out/abs/escaped2.txt"]


def test_writes_exit_6_before_anything_is_touched(tmp_path: Path, sample_dir: Path) -> None:
    archive = bsdtar_dir(sample_dir, tmp_path / "ro.7z", "7zip")
    before = archive.read_bytes()
    case = lib_case(tmp_path, archive)
    assert case.cli("cp", str(sample_dir / "hello.txt"), "la:new.txt").returncode == 6
    assert case.cli("rm", "la:hello.txt").returncode == 6
    assert archive.read_bytes() == before


def test_a_file_that_is_not_an_archive_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.7z"
    bogus.write_bytes(os.urandom(4096))
    result = lib_case(tmp_path, bogus).cli("ls", "la:")
    assert result.returncode == 1
    assert b"is not a readable archive" in result.stderr
    assert b"Traceback" not in result.stderr
