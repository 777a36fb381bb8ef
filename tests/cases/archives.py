"""Cases for archives and repositories: zip (read-only and writable), tar, libarchive, git, github.

Every fixture builds a real archive or repository holding SAMPLE with the real tools (zipfile,
`tar -C dir .`, bsdtar, the git CLI); github is served by a local fake of the API endpoints,
backed by a real git repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cases._base import BIG, PERSIST, SAMPLE, Case

# Read-only cases: the sample is on disk, so a second process sees it too.
READ_ONLY = frozenset({PERSIST})

CASES = ["zip", "zip_rw", "tar", "libarchive", "git", "github"]

LARGE = bytes(range(251)) * 6000  # 1.4 MiB: over the contents API's 1 MB, served by the raw download

GIT_ENV = {
    "GIT_AUTHOR_NAME": "genrostore tests",
    "GIT_AUTHOR_EMAIL": "tests@genrostore.invalid",
    "GIT_COMMITTER_NAME": "genrostore tests",
    "GIT_COMMITTER_EMAIL": "tests@genrostore.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def tar_dir(source: Path, archive: Path, *flags: str) -> Path:
    """`tar -C dir .`: members are stored as `./a/b`, as users' archives usually are."""
    subprocess.run(["tar", *flags, "-cf", str(archive), "-C", str(source), "."], check=True)
    return archive


def bsdtar_dir(source: Path, archive: Path, fmt: str) -> Path:
    if shutil.which("bsdtar") is None:
        raise RuntimeError("bsdtar not found: apt-get install libarchive-tools")
    subprocess.run(["bsdtar", "-cf", str(archive), "--format", fmt, "-C", str(source), "."], check=True)
    return archive


def git(repo: Path, *args: str, date: str = "2024-05-01T12:00:00+02:00") -> str:
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    done = subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)
    return done.stdout.decode().strip()


def git_repo(root: Path, files: dict[str, bytes], *, branch: str = "main") -> Path:
    """A repository whose `branch` holds `files` in one commit."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", branch)
    write_tree(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "sample")
    return root


@pytest.fixture(scope="session")
def archive_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("sample-tree"), SAMPLE)


@pytest.fixture(scope="session")
def case_zip(tmp_path_factory: pytest.TempPathFactory) -> Case:
    work = tmp_path_factory.mktemp("zip-case")
    archive = make_zip(work / "sample.zip", SAMPLE)
    return Case("zip", "zipped", {"type": "zip", "file": str(archive)}, work, READ_ONLY)


@pytest.fixture(scope="session")
def case_zip_rw(tmp_path_factory: pytest.TempPathFactory) -> Case:
    work = tmp_path_factory.mktemp("zip-rw-case")
    options = {"type": "zip", "file": str(work / "out" / "built.zip"), "mode": "a"}
    # Not PERSIST: the library publishes an archive's changes at Storage.close(), and the suite's
    # session Storage is never closed (the CLI closes after each command: see test_zip.py).
    return Case("zip_rw", "ziprw", options, work, frozenset({BIG}))


@pytest.fixture(scope="session")
def case_tar(tmp_path_factory: pytest.TempPathFactory, archive_sources: Path) -> Case:
    work = tmp_path_factory.mktemp("tar-case")
    archive = tar_dir(archive_sources, work / "sample.tgz", "-z")
    return Case("tar", "tarball", {"type": "tar", "file": str(archive)}, work, READ_ONLY)


@pytest.fixture(scope="session")
def case_libarchive(tmp_path_factory: pytest.TempPathFactory, archive_sources: Path) -> Case:
    work = tmp_path_factory.mktemp("libarchive-case")
    archive = bsdtar_dir(archive_sources, work / "sample.7z", "7zip")
    return Case("libarchive", "sevenz", {"type": "libarchive", "file": str(archive)}, work, READ_ONLY)


@pytest.fixture(scope="session")
def case_git(tmp_path_factory: pytest.TempPathFactory) -> Case:
    work = tmp_path_factory.mktemp("git-case")
    repo = git_repo(work / "repo", {f"sample/{name}": data for name, data in SAMPLE.items()})
    return Case("git", "repo", {"type": "git", "path": str(repo), "ref": "main"}, work, READ_ONLY, sample_prefix="sample")


@pytest.fixture(scope="session")
def github_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.servers import github_fake

    work = tmp_path_factory.mktemp("github-fake")
    repo = git_repo(work / "repo", {"config.yaml": b"version: 1\n"})
    git(repo, "tag", "v1")
    files = {f"sample/{name}": data for name, data in SAMPLE.items()}
    files["big/large.bin"] = LARGE
    files["config.yaml"] = b"version: 2\n"
    write_tree(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "sample and a file over 1 MB")
    server = github_fake.start(work, repo, token=github_fake.TEST_TOKEN)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def case_github(tmp_path_factory: pytest.TempPathFactory, github_server: object) -> Case:
    from tests.servers import github_fake

    assert isinstance(github_server, github_fake.GithubFake)
    work = tmp_path_factory.mktemp("github-case")
    options = {"type": "github", "org": github_fake.ORG, "repo": github_fake.REPO,
               "api_url": github_server.api_url, "token": github_fake.TEST_TOKEN}
    return Case("github", "gh", options, work, READ_ONLY, sample_prefix="sample")
