"""The streaming merge-join of two trees: one total order for every backend, listing errors kept."""

from __future__ import annotations

import os
from pathlib import Path

from genrostore import Storage
from genrostore.core.compare import feature
from genrostore.core.march import merge, sort_key, walk_sorted

# Names whose order differs between "sort each directory by name" and the byte order of full
# paths with directories as `name/`: `a b` (0x20) < `a-c` (0x2d) < `a/` (0x2f) < `a0` (0x30).
TRICKY = ["a b", "a-c", "a/x", "a/y/z", "a0", "b", "\u00e9t\u00e9", "\u65e5/f"]


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(name.encode())


def _local(tmp_path: Path, names: list[str], name: str = "src") -> tuple[Storage, str]:
    root = tmp_path / name
    root.mkdir()
    _tree(root, names)
    return Storage(mounts=[{"name": name, "type": "local", "path": str(root)}]), name


def test_sort_key_puts_a_directory_after_names_that_extend_it_with_lower_bytes() -> None:
    assert sort_key("a b") < sort_key("a-c") < sort_key("a", is_dir=True) < sort_key("a/x") < sort_key("a0")


def test_hierarchical_walk_yields_files_in_byte_order_of_the_full_path(tmp_path: Path) -> None:
    storage, name = _local(tmp_path, TRICKY)
    walked = [item.relative for item in walk_sorted(storage.mount(name), "")]
    assert walked == sorted(TRICKY, key=lambda p: p.encode())


def test_flat_object_store_walk_has_the_same_order_as_a_tree_walk(tmp_path: Path, case_s3) -> None:
    storage, name = _local(tmp_path, TRICKY)
    base = case_s3.fresh()
    s3 = case_s3.storage()
    for rel in TRICKY:
        s3.node(f"{base}/{rel}").write(rel)
    node = s3.node(base)
    assert feature(node.mount.backend, "implicit_dirs")
    flat = [item.relative for item in walk_sorted(node.mount, node.path)]
    tree = [item.relative for item in walk_sorted(storage.mount(name), "")]
    assert flat == tree


def test_merge_pairs_each_path_once_in_order(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "s", "type": "memory"}, {"name": "d", "type": "memory"}])
    for rel in ("a", "b/x", "c"):
        storage.node(f"s:{rel}").write("1")
    for rel in ("b/x", "b/y", "c", "d"):
        storage.node(f"d:{rel}").write("1")
    pairs = list(merge(walk_sorted(storage.mount("s"), ""), walk_sorted(storage.mount("d"), "")))
    shape = [(p.relative, p.src is not None, p.dst is not None) for p in pairs]
    assert shape == [("a", True, False), ("b/x", True, True), ("b/y", False, True), ("c", True, True),
                     ("d", False, True)]


def test_a_missing_destination_root_is_an_empty_tree_only_when_allowed(tmp_path: Path) -> None:
    storage = Storage(mounts=[{"name": "d", "type": "memory"}])
    assert list(walk_sorted(storage.mount("d"), "nowhere", missing_ok=True)) == []
    (failure,) = list(walk_sorted(storage.mount("d"), "nowhere"))
    assert failure.error is not None


def test_an_unlistable_directory_is_one_error_and_hides_its_counterpart(tmp_path: Path) -> None:
    """A subdirectory that cannot be listed (here: a symlink leaving the mount, refused by the
    local jail) is reported once; DST's files below it are not shown as "only in DST"."""
    storage, name = _local(tmp_path, ["a", "z"])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("x")
    os.symlink(outside, tmp_path / name / "sub")
    dst = Storage(mounts=[{"name": "d", "type": "memory"}])
    for rel in ("a", "sub/one", "sub/two", "z"):
        dst.node(f"d:{rel}").write("1")
    pairs = list(merge(walk_sorted(storage.mount(name), ""), walk_sorted(dst.mount("d"), "")))
    assert [(p.relative, p.error is not None) for p in pairs] == [("a", False), ("sub/", True), ("z", False)]
    assert pairs[1].error.exit_code == 6


def test_ordered_map_keeps_order_and_bounds_what_is_in_flight() -> None:
    import random
    import threading
    import time

    from genrostore.core.march import ordered_map

    lock = threading.Lock()
    state = {"running": 0, "peak": 0, "started": 0}
    rng = random.Random(1)
    delays = [rng.random() / 500 for _ in range(300)]

    def slow(i: int) -> int:
        with lock:
            state["running"] += 1
            state["started"] += 1
            state["peak"] = max(state["peak"], state["running"])
        time.sleep(delays[i])
        with lock:
            state["running"] -= 1
        return i * 2

    consumed = 0
    for item, value in ordered_map(slow, iter(range(300)), workers=8, window=16, parallel=lambda i: i % 3 != 0):
        assert (item, value) == (consumed, consumed * 2)
        assert state["started"] - consumed <= 17 + 1  # never far ahead of the consumer
        consumed += 1
    assert consumed == 300 and 1 < state["peak"] <= 8


def test_a_symlink_loop_on_a_local_disk_is_reported_once_not_walked_forever(tmp_path: Path) -> None:
    storage, name = _local(tmp_path, ["d/f"])
    os.symlink("..", tmp_path / name / "d" / "up")
    walked = list(walk_sorted(storage.mount(name), ""))
    assert [(w.relative, getattr(w, "error", None) is not None) for w in walked] == [("d/f", False), ("d/up/", True)]
    assert "symlink loop" in str(walked[1].error)  # type: ignore[union-attr]
