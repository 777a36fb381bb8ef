"""The zip backend: building, appending and reading real archives through the CLI and the API."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from genrostore import Storage
from genrostore.core.errors import NotPermitted
from tests.cases._base import SAMPLE, Case
from tests.cases.archives import make_zip, write_tree


def zip_case(tmp_path: Path, archive: Path, mode: str = "a", **extra: object) -> Case:
    return Case("zip-test", "arch", {"type": "zip", "file": str(archive), "mode": mode, **extra}, tmp_path)


def members(archive: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(archive) as handle:
        names = handle.namelist()
        assert len(names) == len(set(names)), f"duplicate names in {names}"
        return {name: handle.read(name) for name in names if not name.endswith("/")}


def test_cp_recursive_into_a_zip_builds_an_archive_that_cat_ls_and_md5_read(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "docs", SAMPLE)
    archive = tmp_path / "out.zip"
    case = zip_case(tmp_path, archive, mode="w")
    result = case.cli("cp", "-r", f"{source}/", "arch:docs/")
    assert result.returncode == 0, result.stderr
    assert members(archive) == {f"docs/{name}": data for name, data in SAMPLE.items()}
    assert case.cli("cat", "arch:docs/dir/nested/deep.bin").stdout == SAMPLE["dir/nested/deep.bin"]
    assert case.cli("ls", "arch:docs/dir").stdout.decode().splitlines() == ["a.txt", "nested/"]
    md5 = case.cli("md5", "arch:docs/hello.txt")
    assert md5.stdout.decode() == f"{hashlib.md5(SAMPLE['hello.txt']).hexdigest()}  arch:docs/hello.txt\n"


def test_mode_r_refuses_writes_with_exit_6_and_leaves_the_archive_untouched(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "ro.zip", {"a.txt": b"a"})
    before = archive.read_bytes()
    case = zip_case(tmp_path, archive, mode="r")
    source = tmp_path / "x.txt"
    source.write_text("x")
    for args in (("cp", str(source), "arch:x.txt"), ("rm", "arch:a.txt"), ("mkdir", "arch:d")):
        result = case.cli(*args)
        assert result.returncode == 6, (args, result.stderr)
        assert b"mode r" in result.stderr
    assert archive.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["profile-zip-test.yaml", "ro.zip", "x.txt"]


def test_append_mode_keeps_existing_members_and_adds_new_ones(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"old.txt": b"old", "d/keep.txt": b"keep"})
    case = zip_case(tmp_path, archive, mode="a")
    assert case.cli("cp", "-", "arch:d/new.txt", input=b"new").returncode == 0
    assert members(archive) == {"old.txt": b"old", "d/keep.txt": b"keep", "d/new.txt": b"new"}


def test_overwriting_a_member_in_append_mode_replaces_it_without_a_duplicate_name(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"same.txt": b"first", "other.txt": b"other"})
    case = zip_case(tmp_path, archive, mode="a")
    assert case.cli("cp", "-", "arch:same.txt", input=b"second").returncode == 0
    assert members(archive) == {"same.txt": b"second", "other.txt": b"other"}


def test_writing_one_member_twice_in_one_command_keeps_the_last(tmp_path: Path) -> None:
    archive = tmp_path / "twice.zip"
    (tmp_path / "one").mkdir()
    (tmp_path / "one/f.txt").write_text("one")
    (tmp_path / "two").mkdir()
    (tmp_path / "two/f.txt").write_text("two")
    case = zip_case(tmp_path, archive, mode="a")
    result = case.cli("cp", "-j", "1", str(tmp_path / "one/f.txt"), str(tmp_path / "two/f.txt"), "arch:")
    assert result.returncode == 0, result.stderr
    assert members(archive) == {"f.txt": b"two"}


def test_write_mode_replaces_the_archive_with_what_the_command_writes(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "w.zip", {"old.txt": b"old"})
    case = zip_case(tmp_path, archive, mode="w")
    assert case.cli("cat", "arch:old.txt").stdout == b"old"
    assert case.cli("cp", "-", "arch:fresh.txt", input=b"fresh").returncode == 0
    assert members(archive) == {"fresh.txt": b"fresh"}


def test_rm_and_mkdir_rewrite_the_archive(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a", "d/b.txt": b"b", "d/e/c.txt": b"c"})
    case = zip_case(tmp_path, archive, mode="a")
    assert case.cli("rm", "arch:a.txt").returncode == 0
    assert case.cli("rm", "arch:d").returncode != 0
    assert case.cli("rm", "-r", "arch:d/e").returncode == 0
    assert case.cli("mkdir", "arch:empty").returncode == 0
    assert members(archive) == {"d/b.txt": b"b"}
    assert "empty/" in zipfile.ZipFile(archive).namelist()
    assert case.cli("ls", "arch:").stdout.decode().splitlines() == ["d/", "empty/"]


@pytest.mark.parametrize(("name", "constant"), [("stored", zipfile.ZIP_STORED), ("deflated", zipfile.ZIP_DEFLATED),
                                                 ("bzip2", zipfile.ZIP_BZIP2), ("lzma", zipfile.ZIP_LZMA)])
def test_compression_option_sets_how_new_members_are_stored(tmp_path: Path, name: str, constant: int) -> None:
    archive = tmp_path / f"{name}.zip"
    case = zip_case(tmp_path, archive, mode="w", compression=name)
    assert case.cli("cp", "-", "arch:x.txt", input=b"x" * 10_000).returncode == 0
    with zipfile.ZipFile(archive) as handle:
        assert handle.getinfo("x.txt").compress_type == constant
        assert handle.read("x.txt") == b"x" * 10_000


def _staged_files(tmpdir: Path) -> list[Path]:
    return [p for p in tmpdir.glob("genrostore-zip-*/*.member") if p.stat().st_size > 0]


def _start_slow_copy(tmp_path: Path, case: Case) -> tuple[subprocess.Popen[bytes], Path]:
    """A `cp - arch:...` that is mid-copy: part of the data has been staged, more is to come."""
    tmpdir = tmp_path / "proc-tmp"
    tmpdir.mkdir()
    env = {**os.environ, "GENROSTORE_PROFILE": str(case.profile), "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-m", "genrostore", "cp", "-", "arch:big.bin"], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    deadline = time.monotonic() + 30
    while not _staged_files(tmpdir):
        proc.stdin.write(b"y" * 1024 * 1024)
        proc.stdin.flush()
        assert time.monotonic() < deadline, "the copy never started"
        time.sleep(0.05)
    return proc, tmpdir


def test_killing_the_process_mid_copy_leaves_the_previous_archive_intact(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "keep.zip", {"precious.txt": b"precious"})
    before = archive.read_bytes()
    case = zip_case(tmp_path, archive, mode="a")
    proc, _ = _start_slow_copy(tmp_path, case)
    proc.kill()
    proc.wait()
    assert archive.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "genrostore-tmp" in p.name] == []


def test_interrupting_the_copy_exits_130_and_leaves_the_previous_archive_intact(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "keep.zip", {"precious.txt": b"precious"})
    before = archive.read_bytes()
    case = zip_case(tmp_path, archive, mode="a")
    proc, tmpdir = _start_slow_copy(tmp_path, case)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert archive.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "genrostore-tmp" in p.name] == []
    assert list(tmpdir.iterdir()) == []


def test_an_aborted_write_drops_only_its_own_member(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.txt": b"a", "bad.txt": b"old"})
    storage = Storage(mounts=[{"name": "arch", "type": "zip", "file": str(archive), "mode": "a"}])
    storage.node("arch:good.txt").write(b"good")
    with pytest.raises(RuntimeError), storage.node("arch:bad.txt").open("wb") as handle:
        handle.write(b"partial")
        raise RuntimeError("boom")
    storage.close()
    assert members(archive) == {"a.txt": b"a", "bad.txt": b"old", "good.txt": b"good"}


def test_a_multi_file_copy_with_one_failure_publishes_the_members_that_were_copied(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.zip", {"old.txt": b"old"})
    (tmp_path / "good.txt").write_bytes(b"good")
    case = zip_case(tmp_path, archive, mode="a")
    result = case.cli("cp", str(tmp_path / "good.txt"), str(tmp_path / "missing.txt"), "arch:in/")
    assert result.returncode == 1 and b"1 of 2" in result.stderr, result.stderr
    assert members(archive) == {"old.txt": b"old", "in/good.txt": b"good"}


ZONES = ("America/New_York", "Asia/Tokyo")


def _in_zone(case: Case, zone: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "TZ": zone, "GENROSTORE_PROFILE": str(case.profile)}
    return subprocess.run([sys.executable, "-m", "genrostore", *args], capture_output=True, env=env, timeout=120)


def _mtimes(case: Case, zone: str) -> dict[str, str]:
    result = _in_zone(case, zone, "ls", "--json", "-R", "arch:")
    assert result.returncode == 0, result.stderr
    return {record["path"]: record["mtime"] for record in json.loads(result.stdout)}


def test_member_times_are_the_same_instant_in_every_time_zone(tmp_path: Path) -> None:
    """Members written by genrostore carry the extended timestamp (0x5455) and are read from it;
    so are those of an archive made by Info-ZIP's zip in yet another zone."""
    archive = tmp_path / "tz.zip"
    (tmp_path / "x.txt").write_bytes(b"x")
    case = zip_case(tmp_path, archive, mode="a")
    before = time.time()
    assert _in_zone(case, "Europe/Berlin", "cp", str(tmp_path / "x.txt"), "arch:d/x.txt").returncode == 0
    assert _in_zone(case, "Europe/Berlin", "mkdir", "arch:empty").returncode == 0  # re-writes d/x.txt
    seen = [_mtimes(case, zone) for zone in ZONES]
    assert seen[0] == seen[1], seen
    stamp = datetime.fromisoformat(seen[0]["arch:d/x.txt"].replace("Z", "+00:00")).timestamp()
    assert before - 2 <= stamp <= time.time() + 1, seen[0]

    made = tmp_path / "made"
    made.mkdir()
    (made / "a.txt").write_bytes(b"a")
    os.utime(made / "a.txt", (1709294400, 1709294400))  # 2024-03-01T12:00:00Z
    other = tmp_path / "infozip.zip"
    subprocess.run(["zip", "-q", str(other), "a.txt"], cwd=made, check=True, env={**os.environ, "TZ": "Asia/Kolkata"})
    infozip = zip_case(tmp_path / "made", other, mode="r")
    assert [_mtimes(infozip, zone)["arch:a.txt"] for zone in ZONES] == ["2024-03-01T12:00:00Z"] * 2


def test_the_api_publishes_changes_when_the_storage_closes(tmp_path: Path) -> None:
    archive = tmp_path / "api.zip"
    with Storage(mounts=[{"name": "arch", "type": "zip", "file": str(archive), "mode": "a"}]) as storage:
        storage.node("arch:x/y.txt").write("hello")
        assert storage.node("arch:x/y.txt").read() == "hello"
        assert not archive.exists()
    assert members(archive) == {"x/y.txt": b"hello"}


def test_an_archive_on_another_mount_is_read_and_written_through_that_mount(tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    make_zip(remote / "bundle.zip", {"inside.txt": b"inside"})
    case = Case("zip-remote", "arch", {"type": "zip", "file": "store:bundle.zip", "mode": "a"}, tmp_path,
                extra_mounts={"store": {"type": "local", "path": str(remote)}})
    assert case.cli("cat", "arch:inside.txt").stdout == b"inside"
    result = case.cli("cp", "-", "arch:added.txt", input=b"added")
    assert result.returncode == 0, result.stderr
    assert members(remote / "bundle.zip") == {"inside.txt": b"inside", "added.txt": b"added"}
    assert sorted(os.listdir(remote)) == ["bundle.zip"]


def test_an_archive_on_another_mount_is_resolved_from_the_active_profile_in_the_api(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    make_zip(remote / "bundle.zip", {"inside.txt": b"inside"})
    case = Case("zip-remote-api", "arch", {"type": "zip", "file": "store:bundle.zip"}, tmp_path,
                extra_mounts={"store": {"type": "local", "path": str(remote)}})
    monkeypatch.setenv("GENROSTORE_PROFILE", str(case.profile))
    with Storage.from_profile() as storage:
        assert storage.node("arch:inside.txt").read() == "inside"


def test_an_archive_that_names_its_own_mount_is_a_config_error(tmp_path: Path) -> None:
    case = zip_case(tmp_path, tmp_path / "x.zip")
    case.mount_options["file"] = "arch:x.zip"
    result = case.cli("ls", "arch:")
    assert result.returncode == 7
    assert b"cannot live on the mount itself" in result.stderr


def test_zip_slip_members_never_leave_the_destination_of_a_recursive_copy(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("../../escaped.txt", b"1")
        handle.writestr("/abs/escaped2.txt", b"2")
        handle.writestr("ok/../../../escaped3.txt", b"3")
        handle.writestr("./fine.txt", b"4")
    work = tmp_path / "work"
    work.mkdir()
    case = zip_case(tmp_path, archive, mode="r")
    env = {**os.environ, "GENROSTORE_PROFILE": str(case.profile)}
    result = subprocess.run([sys.executable, "-m", "genrostore", "cp", "-r", "arch:", "./out/"], cwd=work, env=env,
                            capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    outside = [str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if "escaped" in p.name]
    assert sorted(outside) == ["work/out/abs/escaped2.txt", "work/out/escaped.txt", "work/out/escaped3.txt"]
    assert (work / "out/fine.txt").read_bytes() == b"4"


def test_a_missing_archive_in_mode_r_exits_4_naming_it(tmp_path: Path) -> None:
    case = zip_case(tmp_path, tmp_path / "nope.zip", mode="r")
    result = case.cli("cat", "arch:a.txt")
    assert result.returncode == 4
    assert b"nope.zip does not exist" in result.stderr


def test_a_file_that_is_not_a_zip_exits_1_with_a_clear_message(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"this is not a zip file at all")
    result = zip_case(tmp_path, bogus, mode="r").cli("ls", "arch:")
    assert result.returncode == 1
    assert b"is not a readable zip archive" in result.stderr
    assert b"Traceback" not in result.stderr


def test_stat_json_reports_the_member_size_and_time(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "s.zip", {"a.txt": b"12345"})
    result = zip_case(tmp_path, archive, mode="r").cli("stat", "--json", "arch:a.txt")
    record = json.loads(result.stdout)
    assert (record["type"], record["size"]) == ("file", 5)
    assert record["mtime"]


def test_dry_run_into_a_zip_changes_nothing(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "d.zip", {"a.txt": b"a"})
    before = archive.read_bytes()
    result = zip_case(tmp_path, archive).cli("cp", "--dry-run", "-", "arch:b.txt", input=b"b")
    assert result.returncode == 0
    assert b"DRY-RUN:" in result.stdout
    assert archive.read_bytes() == before


def test_mode_r_refuses_writes_through_the_api(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "r.zip", {"a.txt": b"a"})
    storage = Storage(mounts=[{"name": "arch", "type": "zip", "file": str(archive)}])
    with pytest.raises(NotPermitted):
        storage.node("arch:b.txt").write("b")
