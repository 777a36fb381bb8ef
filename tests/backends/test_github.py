"""The github backend against a local fake of the GitHub API backed by a real git repository."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.cases._base import SAMPLE, Case
from tests.cases.archives import LARGE
from tests.servers import github_fake
from tests.servers.github_fake import GithubFake


def gh_case(tmp_path: Path, server: GithubFake, name: str = "gh-test", **options: str) -> Case:
    mount = {"type": "github", "org": github_fake.ORG, "repo": github_fake.REPO, "api_url": server.api_url,
             **options}
    return Case(name, "gh", mount, tmp_path)


def test_ls_cat_and_md5_read_the_default_branch(tmp_path: Path, github_server: GithubFake) -> None:
    case = gh_case(tmp_path, github_server)
    assert case.cli("ls", "gh:").stdout.decode().splitlines() == ["big/", "config.yaml", "sample/"]
    assert case.cli("cat", "gh:config.yaml").stdout == b"version: 2\n"
    md5 = case.cli("md5", "gh:sample/dir/nested/deep.bin").stdout.decode().split()[0]
    assert md5 == hashlib.md5(SAMPLE["dir/nested/deep.bin"]).hexdigest()


def test_a_file_over_1_mb_is_streamed_from_the_raw_download(tmp_path: Path, github_server: GithubFake) -> None:
    result = gh_case(tmp_path, github_server).cli("cat", "gh:big/large.bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout == LARGE
    assert "GET /raw/" in github_server.requests_seen()


def test_sha_selects_a_tag(tmp_path: Path, github_server: GithubFake) -> None:
    case = gh_case(tmp_path, github_server, name="gh-v1", sha="v1")
    assert case.cli("cat", "gh:config.yaml").stdout == b"version: 1\n"
    assert case.cli("ls", "gh:").stdout.decode().splitlines() == ["config.yaml"]


def test_api_url_without_the_enterprise_suffix_is_honoured(tmp_path: Path, github_server: GithubFake) -> None:
    case = gh_case(tmp_path, github_server, name="gh-root", api_url=github_server.url)
    assert case.cli("cat", "gh:sample/hello.txt").stdout == SAMPLE["hello.txt"]


def test_a_truncated_tree_is_completed_directory_by_directory(tmp_path: Path, github_server: GithubFake) -> None:
    case = gh_case(tmp_path, github_server, name="gh-trunc", org=github_fake.TRUNCATING_ORG)
    result = case.cli("cat", "gh:sample/dir/nested/deep.bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout == SAMPLE["dir/nested/deep.bin"]


def test_a_token_alone_and_a_username_with_token_both_authenticate(tmp_path: Path,
                                                                   github_server: GithubFake) -> None:
    alone = gh_case(tmp_path, github_server, name="gh-token", token=github_fake.TEST_TOKEN)
    assert alone.cli("cat", "gh:config.yaml").stdout == b"version: 2\n"
    pair = gh_case(tmp_path, github_server, name="gh-basic", username="someone", token=github_fake.TEST_TOKEN)
    assert pair.cli("cat", "gh:config.yaml").stdout == b"version: 2\n"


def test_rejected_credentials_exit_6(tmp_path: Path, github_server: GithubFake) -> None:
    result = gh_case(tmp_path, github_server, name="gh-bad", token="ghp_wrongWRONGwrong").cli("ls", "gh:")
    assert result.returncode == 6
    assert b"401" in result.stderr


def test_a_rate_limit_exits_5_with_the_reset_time(tmp_path: Path, github_server: GithubFake) -> None:
    case = gh_case(tmp_path, github_server, name="gh-limited", org=github_fake.RATE_LIMITED_ORG)
    result = case.cli("--retries", "0", "cat", "gh:config.yaml")
    assert result.returncode == 5
    assert b"rate limit" in result.stderr
    assert b"2033-05-18 03:33:20 UTC" in result.stderr


@pytest.mark.parametrize("org", [github_fake.ORG, github_fake.RATE_LIMITED_ORG])
def test_the_token_is_never_printed_even_with_debug(tmp_path: Path, github_server: GithubFake, org: str) -> None:
    token = "ghp_RECOGNISABLEsecret0042"
    case = gh_case(tmp_path, github_server, name=f"gh-secret-{org}", org=org, token=token)
    outputs = [case.cli("--debug", "--retries", "0", *args) for args in
               (("cat", "gh:config.yaml"), ("ls", "gh:"), ("mounts",), ("stat", "gh:config.yaml"))]
    assert outputs[0].returncode in (5, 6)
    for result in outputs:
        assert token.encode() not in result.stdout + result.stderr
    assert b"Traceback" in outputs[0].stderr


def test_an_unknown_repository_exits_7(tmp_path: Path, github_server: GithubFake) -> None:
    result = gh_case(tmp_path, github_server, name="gh-norepo", repo="nope").cli("ls", "gh:")
    assert result.returncode == 7
    assert b"repository genro/nope not found" in result.stderr


def test_an_unknown_sha_exits_7_naming_it(tmp_path: Path, github_server: GithubFake) -> None:
    result = gh_case(tmp_path, github_server, name="gh-nosha", sha="no-such-ref").cli("ls", "gh:")
    assert result.returncode == 7
    assert b"'no-such-ref'" in result.stderr


def test_writes_exit_6_and_send_nothing_but_reads(tmp_path: Path, github_server: GithubFake) -> None:
    source = tmp_path / "x.txt"
    source.write_text("x")
    seen = len(github_server.requests_seen())
    case = gh_case(tmp_path, github_server, name="gh-ro")
    assert case.cli("cp", str(source), "gh:x.txt").returncode == 6
    assert case.cli("rm", "gh:config.yaml").returncode == 6
    requests = [line for line in github_server.requests_seen()[seen:].splitlines() if '"' in line]
    assert requests and all('"GET ' in line for line in requests)


def test_a_missing_file_exits_4(tmp_path: Path, github_server: GithubFake) -> None:
    assert gh_case(tmp_path, github_server).cli("cat", "gh:sample/nope.txt").returncode == 4
