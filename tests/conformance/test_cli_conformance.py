"""The same command-line behaviours, through a real `genrostore` subprocess, against every case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.cases._base import PERSIST, SAMPLE, WRITE, Case, exercises, join, require


def test_cat_prints_the_exact_bytes(case: Case) -> None:
    require(case, PERSIST)
    result = case.cli("cat", join(case.sample(), "dir/nested/deep.bin"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == SAMPLE["dir/nested/deep.bin"]
    assert result.stderr == b""


def test_cat_of_a_missing_file_exits_4_with_one_line_on_stderr(case: Case) -> None:
    require(case, PERSIST)
    result = case.cli("cat", join(case.sample(), "missing.txt"))
    assert result.returncode == 4
    assert result.stdout == b""
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert b"Traceback" not in result.stderr


def test_ls_json_lists_files_and_dirs(case: Case) -> None:
    require(case, PERSIST)
    result = case.cli("ls", "--json", join(case.sample(), "dir"))
    assert result.returncode == 0, result.stderr
    records = {(r["name"], r["type"]) for r in json.loads(result.stdout)}
    assert records == {("a.txt", "file"), ("nested", "dir")}


def test_ls_marks_directories_with_a_slash(case: Case) -> None:
    require(case, PERSIST)
    result = case.cli("ls", join(case.sample(), "dir"))
    assert result.stdout.decode().splitlines() == ["a.txt", "nested/"]


def test_md5_matches_md5sum_format(case: Case) -> None:
    require(case, PERSIST)
    address = join(case.sample(), "hello.txt")
    result = case.cli("md5", address)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{hashlib.md5(SAMPLE['hello.txt']).hexdigest()}  {address}\n"


def test_md5_of_a_glob_prints_addresses_that_md5_c_reads_back(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    base = case.sample()
    result = case.cli("md5", join(base, "dir/*.txt"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == f"{hashlib.md5(SAMPLE['dir/a.txt']).hexdigest()}  {join(base, 'dir/a.txt')}\n"
    (tmp_path / "sums.md5").write_bytes(result.stdout)
    checked = case.cli("md5", "-c", str(tmp_path / "sums.md5"))
    assert checked.returncode == 0, checked.stderr


def test_cp_out_to_a_local_file(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    target = tmp_path / "out.bin"
    result = case.cli("cp", join(case.sample(), "dir/nested/deep.bin"), str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == SAMPLE["dir/nested/deep.bin"]


def test_cp_recursive_out_keeps_the_tree(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    result = case.cli("cp", "-r", join(case.sample(), "dir"), str(tmp_path / "copy"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "copy/nested/deep.bin").read_bytes() == SAMPLE["dir/nested/deep.bin"]
    assert (tmp_path / "copy/a.txt").read_bytes() == b"a\n"


@exercises("stream")
def test_stdin_to_the_mount_and_back_to_stdout(case: Case) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    address = f"{case.fresh()}/from-stdin.bin"
    payload = bytes(range(256)) * 4000
    assert case.cli("cp", "-", address, input=payload).returncode == 0
    result = case.cli("cat", address)
    assert result.stdout == payload


def test_empty_stdin_makes_an_empty_file(case: Case) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    address = f"{case.fresh()}/empty.bin"
    assert case.cli("cp", "-", address, input=b"").returncode == 0
    assert case.cli("stat", "--json", address).returncode == 0
    assert json.loads(case.cli("stat", "--json", address).stdout)["size"] == 0


def test_cp_local_file_in_and_out_again(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    source = tmp_path / "in.txt"
    source.write_bytes(b"round trip\n")
    base = case.fresh()
    assert case.cli("cp", str(source), base + "/").returncode == 0
    assert case.cli("cp", f"{base}/in.txt", str(tmp_path / "back.txt")).returncode == 0
    assert (tmp_path / "back.txt").read_bytes() == b"round trip\n"


def test_rm_then_cat_exits_4(case: Case) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    address = f"{case.fresh()}/gone.txt"
    case.cli("cp", "-", address, input=b"x")
    assert case.cli("rm", address).returncode == 0
    assert case.cli("cat", address).returncode == 4


def test_rm_of_a_directory_needs_r(case: Case) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    base = case.fresh()
    case.cli("cp", "-", f"{base}/d/x.txt", input=b"x")
    refused = case.cli("rm", f"{base}/d")
    assert refused.returncode != 0
    assert case.cli("cat", f"{base}/d/x.txt").returncode == 0
    assert case.cli("rm", "-r", f"{base}/d").returncode == 0
    assert case.cli("cat", f"{base}/d/x.txt").returncode == 4


@exercises("read_only")
def test_write_to_a_read_only_case_exits_6_before_touching_anything(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    if case.can(WRITE):
        import pytest

        pytest.skip("[capability] writable case: covered by the readonly-option test")
    source = tmp_path / "x.txt"
    source.write_text("x")
    result = case.cli("cp", str(source), join(case.sample(), "x.txt"))
    assert result.returncode == 6
    assert case.cli("rm", join(case.sample(), "hello.txt")).returncode == 6
    assert case.cli("cat", join(case.sample(), "hello.txt")).returncode == 0


def test_dry_run_copy_changes_nothing(case: Case, tmp_path: Path) -> None:
    require(case, PERSIST)
    require(case, WRITE)
    source = tmp_path / "x.txt"
    source.write_text("x")
    address = f"{case.fresh()}/x.txt"
    result = case.cli("cp", "--dry-run", str(source), address)
    assert result.returncode == 0
    assert b"DRY-RUN:" in result.stdout
    assert case.cli("cat", address).returncode == 4
