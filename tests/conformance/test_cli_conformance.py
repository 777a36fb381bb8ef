"""The same command-line behaviours, through a real `genrostore` subprocess, against every case."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
from pathlib import Path

from tests.cases._base import BUCKET, PERSIST, SAMPLE, WRITE, Case, exercises, join, require
from tests.payloads import MIB, pattern
from tests.servers._proc import HOST, free_port


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
    """Several MiB of odd size: more than one read buffer and upload chunk, a short last one."""
    require(case, PERSIST)
    require(case, WRITE)
    address = f"{case.fresh()}/from-stdin.bin"
    payload = pattern(3 * MIB + 17)
    put = case.cli("cp", "-", address, input=payload)
    assert put.returncode == 0, put.stderr
    result = case.cli("cat", address)
    assert result.returncode == 0 and result.stdout == payload and result.stderr == b""


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


# -- object stores: the bucket (or container) a mount names, at its endpoint ------------------
def _bucket_key(case: Case) -> str:
    return "bucket" if "bucket" in case.mount_options else "container"


def _variant(case: Case, tmp_path: Path, **options: str) -> Case:
    return Case(f"{case.name}-variant", "v", {**case.mount_options, **options}, tmp_path, env=case.env)


def test_a_missing_bucket_exits_3_naming_it(case: Case, tmp_path: Path) -> None:
    require(case, BUCKET)
    missing = "no-such-bucket-here"
    result = _variant(case, tmp_path, **{_bucket_key(case): missing}).cli("ls", "v:")
    assert result.returncode == 3, result.stderr
    assert missing.encode() in result.stderr and result.stdout == b""


def test_a_dead_endpoint_fails_within_seconds_with_exit_5(case: Case, tmp_path: Path) -> None:
    require(case, BUCKET)
    endpoint = urllib.parse.urlsplit(case.mount_options["endpoint_url"])
    dead = endpoint._replace(netloc=f"{HOST}:{free_port()}").geturl()  # the path (Azurite's account) stays
    started = time.monotonic()
    result = _variant(case, tmp_path, endpoint_url=dead).cli("--retries", "1", "--timeout", "2", "ls", "v:")
    assert result.returncode == 5, result.stderr
    assert time.monotonic() - started < 20
