"""Filter options (rclone's) on ls -R, rm -r, md5 -r, du and cp -r, against real local, memory, S3 and sftp."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.cases._base import Case
from tests.cli.conftest import Run


def _tree(root: Path) -> None:
    for name, data in {"a.jpg": b"a" * 10, "b.png": b"b" * 2000, "keep.jpg": b"k",
                       "cache/x.jpg": b"x", "cache/deep/y.txt": b"y", "docs/r.txt": b"r" * 300,
                       "docs/p.jpg": b"p" * 5}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _lines(result: object) -> list[str]:
    return result.stdout.decode().splitlines()  # type: ignore[attr-defined]


def _files(result: object) -> set[str]:
    return {line for line in _lines(result) if not line.endswith("/")}


# -- local -----------------------------------------------------------------------------------------

def test_excluded_directory_is_not_listed(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    result = run("ls", "-R", "--exclude", "cache/", "t")
    assert result.returncode == 0, result.stderr
    assert not [line for line in _lines(result) if line.startswith("cache")]
    assert "docs/r.txt" in _lines(result)


def test_excluded_directory_is_never_read_so_a_loop_in_it_is_no_error(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "t/cache/loop").symlink_to(".")  # reported (exit 1) by any walk that enters cache/
    assert run("ls", "-R", "t").returncode == 1
    result = run("ls", "-R", "--exclude", "cache/", "t")
    assert (result.returncode, result.stderr) == (0, b"")


def test_relative_mount_prunes_in_its_own_paths(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "disk/pub")
    (tmp_path / "disk/pub/cache/loop").symlink_to(".")
    profile = tmp_path / "p.yaml"
    profile.write_text(f"mounts:\n  disk:\n    type: local\n    path: {tmp_path / 'disk'}\n"
                       "  pub:\n    path: 'disk:pub'\n")
    result = run("--profile", str(profile), "ls", "-R", "--exclude", "/cache/", "pub:")
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    assert _files(result) == {"a.jpg", "b.png", "keep.jpg", "docs/r.txt", "docs/p.jpg"}


def test_an_include_excludes_every_other_file(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert _files(run("ls", "-R", "--include", "*.jpg", "t")) == {"a.jpg", "keep.jpg", "cache/x.jpg", "docs/p.jpg"}


def test_anchored_pattern_matches_at_the_root_of_the_operation_only(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "t/docs/a.jpg").write_bytes(b"a")
    assert _files(run("ls", "-R", "--include", "/a.jpg", "t")) == {"a.jpg"}
    assert _files(run("ls", "-R", "--include", "a.jpg", "t")) == {"a.jpg", "docs/a.jpg"}


def test_includes_come_before_excludes_whatever_the_order_typed(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    # rclone's fixed order: `+ *.jpg` is tried before `- a.jpg`, so a.jpg stays in scope.
    files = _files(run("ls", "-R", "--exclude", "a.jpg", "--include", "*.jpg", "t"))
    assert "a.jpg" in files and "b.png" not in files
    # with --filter the typed order is the order
    files = _files(run("ls", "-R", "--filter", "- a.jpg", "--filter", "+ *.jpg", "--filter", "- *", "t"))
    assert "a.jpg" not in files and "keep.jpg" in files


def test_filter_from_file_with_comments_and_a_clearing_bang(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "rules.txt").write_text("# comment\n; also a comment\n\n- *.png\n!\n+ docs/**\n- *\n")
    assert _files(run("ls", "-R", "--filter-from", "rules.txt", "t")) == {"docs/r.txt", "docs/p.jpg"}


def test_exclude_from_and_include_from_files(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "ex.txt").write_text("cache/\n*.png\n")
    assert _files(run("ls", "-R", "--exclude-from", "ex.txt", "t")) == {"a.jpg", "keep.jpg", "docs/r.txt", "docs/p.jpg"}
    (tmp_path / "in.txt").write_text("*.txt\n")
    assert _files(run("ls", "-R", "--include-from", "in.txt", "t")) == {"cache/deep/y.txt", "docs/r.txt"}


def test_a_missing_rules_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    result = run("ls", "-R", "--filter-from", "nope.txt", "t")
    assert result.returncode == 2 and b"nope.txt" in result.stderr


def test_size_filters(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert _files(run("ls", "-R", "--min-size", "1k", "t")) == {"b.png"}
    assert _files(run("ls", "-R", "--max-size", "5b", "t")) == {"keep.jpg", "cache/x.jpg", "cache/deep/y.txt", "docs/p.jpg"}


def test_age_filters(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    old = time.time() - 10 * 86400
    os.utime(tmp_path / "t/a.jpg", (old, old))
    assert _files(run("ls", "-R", "--min-age", "7d", "t")) == {"a.jpg"}
    assert "a.jpg" not in _files(run("ls", "-R", "--max-age", "1w", "t"))
    assert _files(run("ls", "-R", "--max-age", "2h", "--include", "*.jpg", "t")) == {"keep.jpg", "cache/x.jpg", "docs/p.jpg"}


def test_dump_filters_prints_the_rules_and_exits_0_without_listing(run: Run) -> None:
    result = run("ls", "-R", "--include", "*.jpg", "--min-size", "100k", "--dump-filters", "missing-dir")
    assert result.returncode == 0
    assert _lines(result) == ["Minimum size is: 100 KiB", "--- File filter rules ---", r"+ (^|/)[^/]*\.jpg$",
                              "- ^.*$", "--- Directory filter rules ---", "+ ^.*$", "- ^.*$"]


@pytest.mark.parametrize("flags", [["--shard", "3/3"], ["--shard", "1"], ["--min-size", "lots"],
                                   ["--max-age", "soon"], ["--filter", "potato"], ["--include", "a**b***"],
                                   ["--min-age", "2d", "--max-age", "1d"]])
def test_malformed_filter_flags_exit_2(run: Run, tmp_path: Path, flags: list[str]) -> None:
    _tree(tmp_path / "t")
    result = run("ls", "-R", *flags, "t")
    assert result.returncode == 2 and result.stdout == b""
    assert len(result.stderr.splitlines()) == 1 and b"Traceback" not in result.stderr


def test_shards_are_disjoint_and_their_union_is_the_unsharded_set(run: Run, tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"t/d{i % 4}").mkdir(parents=True, exist_ok=True)
        (tmp_path / f"t/d{i % 4}/f{i}.txt").write_text(str(i))
    everything = _files(run("ls", "-R", "t"))
    shards = [_files(run("ls", "-R", "--shard", f"{k}/3", "t")) for k in range(3)]
    assert set().union(*shards) == everything and sum(map(len, shards)) == len(everything) == 60
    sums = [set(_lines(run("md5", "-r", "--shard", f"{k}/3", "t"))) for k in range(3)]
    assert set().union(*sums) == set(_lines(run("md5", "-r", "t"))) and sum(map(len, sums)) == 60


def test_md5_r_hashes_only_files_in_scope(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    names = [line.split("  ", 1)[1] for line in _lines(run("md5", "-r", "--include", "*.txt", "t"))]
    assert names == ["t/cache/deep/y.txt", "t/docs/r.txt"]


def test_rm_r_with_a_filter_removes_only_what_is_in_scope(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "t/only-jpg").mkdir()
    (tmp_path / "t/only-jpg/z.jpg").write_bytes(b"z")
    result = run("rm", "-r", "--include", "*.jpg", "t")
    assert result.returncode == 0, result.stderr
    left = {str(p.relative_to(tmp_path / "t")) for p in (tmp_path / "t").rglob("*")}
    assert left == {"b.png", "cache", "cache/deep", "cache/deep/y.txt", "docs", "docs/r.txt"}


def test_rm_r_keeps_an_excluded_directory_and_removes_the_rest(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert run("rm", "-r", "--exclude", "cache/", "t").returncode == 0
    left = {str(p.relative_to(tmp_path / "t")) for p in (tmp_path / "t").rglob("*")}
    assert left == {"cache", "cache/x.jpg", "cache/deep", "cache/deep/y.txt"}


def test_rm_r_with_a_filter_and_dry_run_removes_nothing(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    result = run("rm", "-r", "--dry-run", "--include", "*.png", "t")
    assert result.returncode == 0 and _lines(result) == [f"DRY-RUN: remove {tmp_path}/t/b.png"]
    assert (tmp_path / "t/b.png").exists()


def test_rm_of_a_file_out_of_scope_leaves_it(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert run("rm", "--exclude", "*.png", "t/b.png").returncode == 0
    assert (tmp_path / "t/b.png").exists()


# -- du --------------------------------------------------------------------------------------------

def test_du_prints_bytes_files_and_path(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert _lines(run("du", "t")) == ["2318\t7\tt"]


def test_du_max_depth_prints_each_directory_after_its_content(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert _lines(run("du", "--max-depth", "1", "t")) == ["2\t2\tt/cache", "305\t2\tt/docs", "2318\t7\tt"]
    assert _lines(run("du", "-d", "5", "t"))[:2] == ["1\t1\tt/cache/deep", "2\t2\tt/cache"]


def test_du_human_sizes_total_and_files(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert _lines(run("du", "-h", "-c", "t", "t/b.png")) == ["2.3K\t7\tt", "2.0K\t1\tt/b.png", "4.2K\t8\ttotal"]


def test_du_json(run: Run, tmp_path: Path) -> None:
    import json

    _tree(tmp_path / "t")
    records = json.loads(run("du", "--json", "-d", "1", "--exclude", "cache/", "t").stdout)
    assert records == [{"path": "t/docs", "files": 2, "bytes": 305}, {"path": "t", "files": 5, "bytes": 2316}]


def test_du_counts_only_files_in_scope(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert _lines(run("du", "--include", "*.jpg", "t")) == ["17\t4\tt"]
    shards = [int(_lines(run("du", "--shard", f"{k}/2", "t"))[0].split("\t")[1]) for k in range(2)]
    assert sum(shards) == 7


def test_du_of_a_missing_path_exits_3(run: Run) -> None:
    result = run("du", "nowhere")
    assert result.returncode == 3 and b"nowhere" in result.stderr and result.stdout == b""


def test_du_of_several_paths_reports_the_missing_one_and_counts_the_others(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    result = run("du", "t", "nowhere")  # a partial failure: exit 1, as for md5 and rm
    assert result.returncode == 1 and _lines(result) == ["2318\t7\tt"] and b"nowhere" in result.stderr


# -- memory, S3, sftp ----------------------------------------------------------------------------

def _write_tree(case: Case) -> str:
    base = case.fresh()
    storage = case.storage()
    for name, data in {"a.jpg": b"a" * 10, "b.png": b"b" * 2000, "cache/x.jpg": b"x",
                       "cache/deep/y.txt": b"y", "docs/r.txt": b"r" * 300}.items():
        storage.node(f"{base}/{name}").write(data)
    return base


def test_memory_walk_in_scope_prunes_and_du_counts(case_memory: Case) -> None:
    from genrostore.core.filters import Filter, FilterOptions
    from genrostore.core.scope import walk_in_scope
    from genrostore.core.usage import usage

    base = _write_tree(case_memory)
    node = case_memory.storage().node(base)
    seen: list[str] = []
    rules = Filter.from_options(FilterOptions(exclude=["cache/"]))
    listed = [e.path[len(node.path) + 1:] for e in walk_in_scope(node.mount, node.path, rules,
                                                                  on_out=lambda e: seen.append(e.path))]
    assert listed == ["a.jpg", "b.png", "docs", "docs/r.txt"]
    assert seen == [f"{node.path}/cache"]
    totals = [(u.path[len(node.path):], u.files, u.bytes) for u in usage(node.mount, node.path, rules, max_depth=1)]
    assert totals == [("/docs", 1, 300), ("", 3, 2310)]


@pytest.mark.parametrize("case_name", ["s3", "sftp"])
def test_remote_ls_du_and_shards(case_name: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue(f"case_{case_name}")
    base = _write_tree(case)
    listed = case.cli("ls", "-R", "--exclude", "cache/", base)
    assert listed.returncode == 0, listed.stderr
    assert _lines(listed) == ["a.jpg", "b.png", "docs/", "docs/r.txt"]
    assert _lines(case.cli("du", "-d", "1", "--include", "*.jpg", base)) == [
        f"1\t1\t{base}/cache", f"0\t0\t{base}/docs", f"11\t2\t{base}"]
    everything = _files(case.cli("ls", "-R", base))
    shards = [_files(case.cli("ls", "-R", "--shard", f"{k}/2", base)) for k in range(2)]
    assert shards[0] | shards[1] == everything and not shards[0] & shards[1]


@pytest.mark.parametrize("case_name", ["s3", "sftp"])
def test_remote_rm_r_with_a_filter(case_name: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue(f"case_{case_name}")
    base = _write_tree(case)
    assert case.cli("rm", "-r", "--include", "*.jpg", base).returncode == 0
    assert _files(case.cli("ls", "-R", base)) == {"b.png", "cache/deep/y.txt", "docs/r.txt"}


def test_s3_keys_below_an_excluded_prefix_are_neither_listed_nor_reported(request: pytest.FixtureRequest) -> None:
    from tests.reliability.test_escape import _raw_put

    case: Case = request.getfixturevalue("case_s3")
    base = case.fresh().split(":", 1)[1]
    _raw_put(case, {f"{base}/ok.txt": b"ok", f"{base}/skip//b.txt": b"b", f"{base}/skip/./c.txt": b"c"})
    assert case.cli("ls", "-R", f"{case.mount}:{base}").returncode == 1  # the odd keys are reported
    result = case.cli("ls", "-R", "--exclude", "skip/", f"{case.mount}:{base}")
    assert (result.returncode, result.stderr, _lines(result)) == (0, b"", ["ok.txt"])
    assert _lines(case.cli("du", "--exclude", "skip/", f"{case.mount}:{base}")) == [f"2\t1\t{case.mount}:{base}"]


def test_sftp_unreadable_excluded_directory_is_no_error(request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue("case_sftp")
    base = _write_tree(case)
    secret = Path(case.mount_options["path"]) / base.split(":", 1)[1] / "secret"
    secret.mkdir()
    (secret / "hidden.txt").write_text("h")
    secret.chmod(0)  # owned by root: the sftp account cannot list it
    try:
        assert case.cli("ls", "-R", base).returncode != 0
        for command in (["ls", "-R"], ["du"], ["md5", "-r"]):
            result = case.cli(*command, "--exclude", "secret/", base)
            assert (result.returncode, result.stderr) == (0, b""), command
    finally:
        secret.chmod(0o755)
        shutil.rmtree(secret)


# -- cp -r ------------------------------------------------------------------------------------------

def _tree_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _tree_dirs(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()}


def test_cp_r_copies_only_the_files_in_scope(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "t/empty").mkdir()
    result = run("cp", "-r", "--include", "*.jpg", "t", "out")
    assert (result.returncode, result.stderr) == (0, b"")
    assert _tree_files(tmp_path / "out") == {"a.jpg", "keep.jpg", "cache/x.jpg", "docs/p.jpg"}
    # an empty directory is recreated as cp -r does; one holding only excluded files is not
    assert _tree_dirs(tmp_path / "out") == {"cache", "docs", "empty"}
    result = run("cp", "-r", "--exclude", "*.jpg", "--exclude", "docs/**", "t/", "out2")
    assert _tree_files(tmp_path / "out2") == {"b.png", "cache/deep/y.txt"}, result.stderr


def test_cp_r_never_lists_an_excluded_directory_so_a_loop_in_it_is_no_error(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    (tmp_path / "t/cache/loop").symlink_to(".")  # reported (exit 1) by any walk that enters cache/
    assert run("cp", "-r", "t", "all").returncode == 1
    result = run("cp", "-r", "--exclude", "cache/", "t", "out")
    assert (result.returncode, result.stderr) == (0, b"")
    assert _tree_files(tmp_path / "out") == {"a.jpg", "b.png", "keep.jpg", "docs/r.txt", "docs/p.jpg"}
    assert not (tmp_path / "out/cache").exists()


def test_cp_r_size_filters_and_a_file_named_directly(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    assert run("cp", "-r", "--min-size", "1k", "t", "big").returncode == 0
    assert _tree_files(tmp_path / "big") == {"b.png"}
    assert run("cp", "-r", "--max-size", "1b", "t", "small").returncode == 0
    assert _tree_files(tmp_path / "small") == {"keep.jpg", "cache/x.jpg", "cache/deep/y.txt"}
    # a file named directly is matched by its name (as rm, md5 and rclone do)
    (tmp_path / "one").mkdir()
    result = run("cp", "--exclude", "*.png", "t/b.png", "t/a.jpg", "one/")
    assert (result.returncode, _tree_files(tmp_path / "one")) == (0, {"a.jpg"})


def test_cp_from_list_applies_the_filter(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    result = run("cp", "--from-list", "-", "--exclude", "/docs/**", "t", "out",
                 input=b"a.jpg\ndocs/r.txt\ncache/x.jpg\n")
    assert (result.returncode, _tree_files(tmp_path / "out")) == (0, {"a.jpg", "cache/x.jpg"}), result.stderr


def test_cp_r_shards_are_disjoint_and_their_union_is_the_tree(run: Run, tmp_path: Path) -> None:
    for i in range(60):
        (tmp_path / f"t/d{i % 4}").mkdir(parents=True, exist_ok=True)
        (tmp_path / f"t/d{i % 4}/f{i}.txt").write_text(str(i))
    shards = []
    for k in range(3):
        assert run("cp", "-r", "--shard", f"{k}/3", "t", f"s{k}").returncode == 0
        shards.append(_tree_files(tmp_path / f"s{k}"))
    assert set().union(*shards) == _tree_files(tmp_path / "t") and sum(map(len, shards)) == 60
    assert all(shards)


def test_cp_r_dump_filters_copies_nothing(run: Run, tmp_path: Path) -> None:
    _tree(tmp_path / "t")
    result = run("cp", "-r", "--include", "*.jpg", "--dump-filters", "t", "out")
    assert result.returncode == 0 and b"--- File filter rules ---" in result.stdout
    assert not (tmp_path / "out").exists()


def test_copy_to_takes_filters(tmp_path: Path) -> None:
    from genrostore import Storage
    from genrostore.core.filters import FilterOptions

    _tree(tmp_path / "t")
    (tmp_path / "t/cache/loop").symlink_to(".")
    storage = Storage()
    storage.node(str(tmp_path / "t")).copy_to(str(tmp_path / "out"), recursive=True,
                                              filters=FilterOptions(exclude=["cache/", "*.png"]))
    assert _tree_files(tmp_path / "out") == {"a.jpg", "keep.jpg", "docs/r.txt", "docs/p.jpg"}


def test_s3_cp_r_with_filters_both_ways_and_shards(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    from tests.reliability.test_escape import _raw_put

    case: Case = request.getfixturevalue("case_s3")
    base = _write_tree(case)
    down = case.cli("cp", "-r", "--exclude", "cache/", base, str(tmp_path / "down"))
    assert down.returncode == 0, down.stderr
    assert _tree_files(tmp_path / "down") == {"a.jpg", "b.png", "docs/r.txt"}
    _tree(tmp_path / "t")
    up = case.cli("cp", "-r", "--include", "*.jpg", "--min-size", "2b", str(tmp_path / "t"), f"{base}/up")
    assert up.returncode == 0, up.stderr
    assert _files(case.cli("ls", "-R", f"{base}/up")) == {"a.jpg", "docs/p.jpg"}
    shards = []
    for k in range(2):
        assert case.cli("cp", "-r", "--shard", f"{k}/2", base, str(tmp_path / f"s{k}")).returncode == 0
        shards.append(_tree_files(tmp_path / f"s{k}"))
    everything = _files(case.cli("ls", "-R", base))
    assert shards[0] | shards[1] == everything and not shards[0] & shards[1]
    # keys below an excluded prefix are dropped from the flat listing before their names are checked
    odd = case.fresh().split(":", 1)[1]
    _raw_put(case, {f"{odd}/ok.txt": b"ok", f"{odd}/skip//b.txt": b"b", f"{odd}/skip/./c.txt": b"c"})
    result = case.cli("cp", "-r", "--exclude", "skip/", f"{case.mount}:{odd}", str(tmp_path / "odd"))
    assert (result.returncode, result.stderr) == (0, b"")
    assert _tree_files(tmp_path / "odd") == {"ok.txt"}


def test_sftp_cp_r_skips_an_unreadable_excluded_directory(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue("case_sftp")
    base = _write_tree(case)
    secret = Path(case.mount_options["path"]) / base.split(":", 1)[1] / "secret"
    secret.mkdir()
    (secret / "hidden.txt").write_text("h")
    secret.chmod(0)  # owned by root: the sftp account cannot list it
    try:
        assert case.cli("cp", "-r", base, str(tmp_path / "all")).returncode != 0
        result = case.cli("cp", "-r", "--exclude", "secret/", base, str(tmp_path / "out"))
        assert (result.returncode, result.stderr) == (0, b"")
        assert _tree_files(tmp_path / "out") == {"a.jpg", "b.png", "cache/x.jpg", "cache/deep/y.txt", "docs/r.txt"}
    finally:
        secret.chmod(0o755)
        shutil.rmtree(secret)
