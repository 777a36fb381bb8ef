"""Filtered walks against every backend case: an excluded directory is never yielded nor entered."""

from __future__ import annotations

from genrostore.core.backend import Entry
from genrostore.core.filters import Filter, FilterOptions
from genrostore.core.scope import walk_in_scope
from tests.cases._base import SAMPLE, Case


def test_a_filtered_walk_prunes_excluded_directories_on_every_backend(case: Case) -> None:
    node = case.storage().node(case.sample())
    rules = Filter.from_options(FilterOptions(filter=["- nested/", "+ hello.txt", "- *"]))
    left_out: list[Entry] = []
    start = len(node.path) + 1 if node.path else 0
    listed = [e.path[start:] for e in walk_in_scope(node.mount, node.path, rules, on_out=left_out.append)]
    # first match wins: nested/ is out (and never listed), hello.txt is in, every other file is out
    assert [path for path in listed if path in SAMPLE] == ["hello.txt"]
    assert not [path for path in listed if "nested" in path]
    assert "dir/nested" in [e.path[start:] for e in left_out if e.is_dir]


def test_a_filtered_walk_keeps_size_and_shard_rules_on_every_backend(case: Case) -> None:
    node = case.storage().node(case.sample())
    start = len(node.path) + 1 if node.path else 0

    def files(**options: str) -> set[str]:
        rules = Filter.from_options(FilterOptions(**options))  # type: ignore[arg-type]
        return {e.path[start:] for e in walk_in_scope(node.mount, node.path, rules) if not e.is_dir}

    sizes = {e.path[start:]: e.size for e in walk_in_scope(node.mount, node.path) if not e.is_dir}
    # a listing without sizes (http) counts them as -1, as rclone: out under --min-size
    expected = {"dir/nested/deep.bin"} if sizes["dir/nested/deep.bin"] is not None else set()
    assert files(min_size="1k") == expected
    assert files(shard="0/2") | files(shard="1/2") == set(SAMPLE)
    assert not files(shard="0/2") & files(shard="1/2")
