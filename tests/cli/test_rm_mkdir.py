"""`genrostore rm` and `genrostore mkdir`."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Run


def test_rm_removes_a_file(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    assert run("rm", "a").returncode == 0
    assert not (tmp_path / "a").exists()


def test_rm_missing_file_exits_4_and_f_ignores_it(run: Run) -> None:
    assert run("rm", "missing").returncode == 4
    assert run("rm", "-f", "missing").returncode == 0


def test_rm_directory_without_r_fails_and_keeps_it(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    assert run("rm", "d").returncode != 0
    assert (tmp_path / "d/x").exists()
    assert run("rm", "-r", "d").returncode == 0
    assert not (tmp_path / "d").exists()


def test_rm_of_a_mount_root_needs_allow_root(run: Run, tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "x").write_text("x")
    profile = tmp_path / "p.yaml"
    profile.write_text(f"mounts:\n  r:\n    type: local\n    path: {root}\n")
    refused = run("--profile", str(profile), "rm", "-r", "r:")
    assert refused.returncode == 2
    assert b"--allow-root" in refused.stderr
    assert (root / "x").exists()
    assert run("--profile", str(profile), "rm", "-r", "--allow-root", "r:").returncode == 0
    assert root.exists() and list(root.iterdir()) == []


def test_rm_dry_run_removes_nothing(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    result = run("rm", "--dry-run", "a")
    assert result.returncode == 0
    assert b"DRY-RUN: remove" in result.stdout
    assert (tmp_path / "a").exists()


def test_rm_glob(run: Run, tmp_path: Path) -> None:
    for name in ("a.tmp", "b.tmp", "keep.txt"):
        (tmp_path / name).write_text(name)
    assert run("rm", "*.tmp").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "home") == ["keep.txt"]


def test_mkdir_without_p_needs_the_parent(run: Run, tmp_path: Path) -> None:
    assert run("mkdir", "a/b").returncode == 3
    assert run("mkdir", "-p", "a/b").returncode == 0
    assert (tmp_path / "a/b").is_dir()


def test_mkdir_p_on_an_existing_directory_is_fine(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert run("mkdir", "-p", "d").returncode == 0
    assert run("mkdir", "d").returncode == 1


def test_mkdir_dry_run_creates_nothing(run: Run, tmp_path: Path) -> None:
    result = run("mkdir", "--dry-run", "x")
    assert b"DRY-RUN: mkdir" in result.stdout
    assert not (tmp_path / "x").exists()


def test_mkdir_on_base64_exits_6(run: Run) -> None:
    assert run("mkdir", "data:x").returncode == 6


def test_rm_of_a_directory_without_r_says_it_is_one_and_hints_r(run: Run, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/x").write_text("x")
    result = run("rm", "d")
    assert result.returncode == 2
    assert b"is a directory" in result.stderr and b"use -r" in result.stderr
    assert b"not empty" not in result.stderr.lower()


def test_rm_of_several_files_with_one_missing_exits_1(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    result = run("rm", "a", "missing")
    assert result.returncode == 1
    assert not (tmp_path / "a").exists()


def test_mkdir_names_a_local_path_as_given_and_its_flag(run: Run, tmp_path: Path) -> None:
    # Was `/:tmp/.../sub: ...`: the backend wrote its mount's name in front of the path itself.
    target = tmp_path / "zz-missing-parent" / "sub"
    result = run("mkdir", str(target))
    assert result.returncode == 3
    assert result.stderr.decode() == (f"genrostore: {target}: parent directory does not exist "
                                      "(use -p to create parents)\n")
