"""The git backend: a real repository made with the git CLI, read at branches, tags and shas."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from tests.cases._base import Case
from tests.cases.archives import git, write_tree

V1_DATE = "2024-03-01T09:30:00+01:00"
V2_DATE = "2024-06-15T18:45:10+02:00"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main: v1 (tagged) then v2; branch `staging` adds a third version of config.yaml."""
    root = tmp_path_factory.mktemp("git-repo") / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write_tree(root, {"config.yaml": b"env: v1\n", "docs/readme.md": b"# v1\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1", date=V1_DATE)
    git(root, "tag", "v1")
    write_tree(root, {"config.yaml": b"env: v2\n", "docs/guide.md": b"guide\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v2", date=V2_DATE)
    git(root, "checkout", "-q", "-b", "staging")
    write_tree(root, {"config.yaml": b"env: staging\n"})
    git(root, "commit", "-q", "-am", "staging", date=V2_DATE)
    git(root, "checkout", "-q", "main")
    return root


def git_case(tmp_path: Path, repo: Path, ref: str | None = None, name: str = "git-test", **mounts: dict) -> Case:
    options: dict = {"type": "git", "path": str(repo)}
    if ref is not None:
        options["ref"] = ref
    return Case(name, "g", options, tmp_path, extra_mounts=mounts)


def test_ls_cat_md5_and_cp_out_read_the_ref(tmp_path: Path, repo: Path) -> None:
    case = git_case(tmp_path, repo, "v1")
    assert case.cli("ls", "g:").stdout.decode().splitlines() == ["config.yaml", "docs/"]
    assert case.cli("cat", "g:config.yaml").stdout == b"env: v1\n"
    md5 = case.cli("md5", "g:docs/readme.md").stdout.decode()
    assert md5 == f"{hashlib.md5(b'# v1' + bytes([10])).hexdigest()}  g:docs/readme.md\n"
    result = case.cli("cp", "-r", "g:docs", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["readme.md"]


def test_head_is_the_default_ref(tmp_path: Path, repo: Path) -> None:
    assert git_case(tmp_path, repo).cli("cat", "g:config.yaml").stdout == b"env: v2\n"


def test_a_branch_a_tag_and_a_sha_each_select_their_version(tmp_path: Path, repo: Path) -> None:
    sha = git(repo, "rev-parse", "v1")
    for ref, expected in (("staging", b"env: staging\n"), ("v1", b"env: v1\n"), (sha, b"env: v1\n"),
                          (sha[:8], b"env: v1\n"), ("main~1", b"env: v1\n")):
        result = git_case(tmp_path, repo, ref, name=f"git-{ref}").cli("cat", "g:config.yaml")
        assert result.stdout == expected, ref


def test_stat_shows_the_commit_time_as_mtime(tmp_path: Path, repo: Path) -> None:
    result = git_case(tmp_path, repo, "v1").cli("stat", "--json", "g:docs/readme.md")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert datetime.fromisoformat(record["mtime"]) == datetime.fromisoformat(V1_DATE)
    assert (record["type"], record["size"]) == ("file", 5)


def test_a_bad_ref_exits_7_naming_it(tmp_path: Path, repo: Path) -> None:
    result = git_case(tmp_path, repo, "no-such-branch").cli("ls", "g:")
    assert result.returncode == 7
    assert b"'no-such-branch'" in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_path_that_is_not_a_repository_exits_7(tmp_path: Path) -> None:
    result = git_case(tmp_path, tmp_path).cli("ls", "g:")
    assert result.returncode == 7
    assert b"is not a git repository" in result.stderr


def test_two_mounts_at_two_refs_compare_versions_with_md5(tmp_path: Path, repo: Path) -> None:
    case = git_case(tmp_path, repo, "main", staging={"type": "git", "path": str(repo), "ref": "staging"},
                    prod={"type": "git", "path": str(repo), "ref": "v1"})
    result = case.cli("md5", "prod:config.yaml", "staging:config.yaml", "g:config.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        f"{hashlib.md5(b'env: v1' + bytes([10])).hexdigest()}  prod:config.yaml",
        f"{hashlib.md5(b'env: staging' + bytes([10])).hexdigest()}  staging:config.yaml",
        f"{hashlib.md5(b'env: v2' + bytes([10])).hexdigest()}  g:config.yaml",
    ]


def test_a_bare_repository_is_read_too(tmp_path: Path, repo: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    assert git_case(tmp_path, bare, "v1").cli("cat", "g:config.yaml").stdout == b"env: v1\n"


def test_writes_exit_6_before_anything_is_touched(tmp_path: Path, repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    source = tmp_path / "x.txt"
    source.write_text("x")
    case = git_case(tmp_path, repo)
    assert case.cli("cp", str(source), "g:x.txt").returncode == 6
    assert case.cli("rm", "g:config.yaml").returncode == 6
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == ""


def test_a_missing_file_exits_4(tmp_path: Path, repo: Path) -> None:
    assert git_case(tmp_path, repo).cli("cat", "g:nope.txt").returncode == 4

