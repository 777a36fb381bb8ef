"""The worker-process walk of two local trees yields march's own merged walk, equal runs folded.

Every case is checked against the reference (`merge(walk_sorted(src), walk_sorted(dst))` with
each run of equal file pairs folded by the comparator's rule), with the directory pairs listed
in this process and by forked workers (`FORK_AFTER = 0`).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from genrostore import Storage
from genrostore.core import localmarch
from genrostore.core.filters import Filter
from genrostore.core.march import Pair, Scope, Unchanged, merge, sort_key, walk_sorted
from genrostore.core.syncplan import SyncOptions, prepare_sync
from genrostore.core.syncrun import run_sync

NAMES = ["a b", "a-c", "a", "a0", "b", "\u00e9t\u00e9", "\u65e5", "x.tmp", "z"]
forking = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the workers fork on Linux only")


def _storage(tmp_path: Path) -> Storage:
    for side in ("src", "dst"):
        (tmp_path / side).mkdir(exist_ok=True)
    return Storage(mounts=[{"name": side, "type": "local", "path": str(tmp_path / side)} for side in ("src", "dst")])


def _write(path: Path, data: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, ns=(mtime, mtime))


def _random_trees(root: Path, seed: int) -> None:
    """Both trees grown from one random shape: equal files, files that differ in size or mtime
    only, files and directories on one side, empty directories, a name that is a file on one
    side and a directory on the other."""
    rng = random.Random(seed)

    def grow(rel: Path, depth: int) -> None:
        for name in rng.sample(NAMES, rng.randint(1, len(NAMES))):
            here = rel / name
            roll = rng.random()
            if depth < 3 and roll < 0.25:
                fate = rng.random()
                sides = ("src", "dst") if fate < 0.7 else ("src",) if fate < 0.85 else ("dst",)
                for side in sides:
                    (root / side / here).mkdir(parents=True, exist_ok=True)
                if len(sides) == 2 or rng.random() < 0.5:
                    grow(here, depth + 1)
                continue
            if roll < 0.3:  # a file on one side, a directory on the other
                file_side, dir_side = rng.sample(["src", "dst"], 2)
                _write(root / file_side / here, b"f", 10**18)
                _write(root / dir_side / here / "inner", b"i", 10**18)
                continue
            mtime = 1_600_000_000_000_000_000 + rng.randint(0, 10**12)
            data = bytes(rng.randint(0, 5))
            fate = rng.random()
            if fate < 0.55:
                _write(root / "src" / here, data, mtime)
                _write(root / "dst" / here, data, mtime)
            elif fate < 0.65:
                _write(root / "src" / here, data, mtime)
                _write(root / "dst" / here, data + b"+", mtime)
            elif fate < 0.75:
                _write(root / "src" / here, data, mtime)
                _write(root / "dst" / here, data, mtime + rng.choice([1000, 10**9]))
            elif fate < 0.875:
                _write(root / "src" / here, data, mtime)
            else:
                _write(root / "dst" / here, data, mtime)

    grow(Path(), 0)


def _folded(pairs: Iterator[Pair], method: str = "size,mtime") -> list[Pair | Unchanged]:
    """The reference: march's merged walk with each run of equal file pairs as one Unchanged."""
    out: list[Pair | Unchanged] = []
    for pair in pairs:
        s, d = pair.src, pair.dst
        equal = (pair.error is None and s is not None and d is not None and not s.is_dir and not d.is_dir
                 and s.size == d.size and (method == "size" or s.mtime == d.mtime))
        if not equal:
            out.append(pair)
        elif out and isinstance(out[-1], Unchanged):
            out[-1] = Unchanged(sort_key(pair.relative), out[-1].count + 1)
        else:
            out.append(Unchanged(sort_key(pair.relative), 1))
    return out


def _folded_again(items: list[Pair | Unchanged]) -> Iterator[Pair | Unchanged]:
    for item in items:
        if isinstance(item, Unchanged):
            yield item
        else:
            yield from _folded(iter([item]))


def _shown(items: list[Pair | Unchanged]) -> list[Any]:
    """Comparable rows, equal pairs folded and consecutive runs joined: the fast walk ends a run
    at each directory, and yields as Pairs the equal files of a directory it left to march."""
    shown: list[Any] = []
    for item in _folded_again(items):
        if isinstance(item, Unchanged):
            if shown and isinstance(shown[-1], Unchanged):
                shown[-1] = Unchanged(item.key, shown[-1].count + item.count)
            else:
                shown.append(Unchanged(item.key, item.count))
        else:
            shown.append((item.relative, item.src, item.dst,
                          None if item.error is None else (type(item.error), str(item.error))))
    return shown


def _both(storage: Storage, *, scope: Scope | None = None, dst_scope: Scope | None = None, method: str = "size,mtime",
          dst_root: str = "", missing_ok: bool = False) -> tuple[list[Any], list[Any]]:
    src, dst = storage.mount("src"), storage.mount("dst")
    reference = _folded(merge(walk_sorted(src, "", scope=scope, empty_dirs=True),
                              walk_sorted(dst, dst_root, missing_ok=missing_ok, scope=dst_scope, empty_dirs=True)),
                        method)
    job = localmarch.Job(src, "", dst, dst_root, scope, dst_scope, method, 0, dst_missing_ok=missing_ok)
    fast = list(localmarch.walk_pairs(job, empty_dirs=True, workers=2))
    return _shown(reference), _shown(fast)


@pytest.fixture(params=["in-process", pytest.param("workers", marks=forking)])
def lister(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "workers":
        monkeypatch.setattr(localmarch, "FORK_AFTER", 0)
    else:
        monkeypatch.setattr(localmarch, "FORK_AFTER", 10**12)
    return str(request.param)


@pytest.mark.parametrize("seed", range(12))
def test_random_trees_walk_as_march_walks_them(tmp_path: Path, seed: int, lister: str) -> None:
    storage = _storage(tmp_path)
    _random_trees(tmp_path, seed)
    reference, fast = _both(storage)
    assert fast == reference
    assert any(isinstance(item, Unchanged) for item in fast) == any(isinstance(item, Unchanged) for item in reference)


def test_size_only_folds_files_whose_mtimes_differ(tmp_path: Path, lister: str) -> None:
    storage = _storage(tmp_path)
    _random_trees(tmp_path, 3)
    reference, fast = _both(storage, method="size")
    assert fast == reference


def test_filters_apply_to_both_sides_or_to_src_only(tmp_path: Path, lister: str) -> None:
    storage = _storage(tmp_path)
    _random_trees(tmp_path, 5)
    rules = Filter()
    rules.add(False, "*.tmp")
    rules.add(False, "a0/**")
    assert _both(storage, scope=rules, dst_scope=rules)[1] == _both(storage, scope=rules, dst_scope=rules)[0]
    reference, fast = _both(storage, scope=rules, dst_scope=None)  # --delete-excluded: DST walked whole
    assert fast == reference


def test_a_missing_destination_is_an_empty_tree(tmp_path: Path, lister: str) -> None:
    storage = _storage(tmp_path)
    _random_trees(tmp_path, 7)
    reference, fast = _both(storage, dst_root="not/yet", missing_ok=True)
    assert fast == reference
    assert all(not isinstance(item, Unchanged) and item[2] is None for item in fast)


def test_symlinks_and_loops_are_left_to_marchs_walk(tmp_path: Path, lister: str) -> None:
    storage = _storage(tmp_path)
    for side in ("src", "dst"):
        for index in range(30):
            _write(tmp_path / side / "deep" / "tree" / f"f{index:02d}", b"same", 10**18)
        os.symlink("..", tmp_path / side / "deep" / "tree" / "up")  # a loop: reported, not entered
        os.symlink("f00", tmp_path / side / "deep" / "tree" / "link")
        os.symlink("/etc", tmp_path / side / "deep" / "outside")  # leaves the mount: jailed
    reference, fast = _both(storage)
    assert fast == reference
    assert any(not isinstance(item, Unchanged) and item[3] is not None for item in fast)  # the loop's error
    assert Unchanged(b"deep/tree/link", 31) in fast


@forking
def test_a_sync_through_the_workers_leaves_the_trees_equal_and_no_worker_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localmarch, "FORK_AFTER", 0)
    storage = _storage(tmp_path)
    _random_trees(tmp_path, 11)
    for index in range(200):
        _write(tmp_path / "src" / f"d{index % 7}" / f"f{index:03d}", b"x" * (index % 5), 10**18 + index)

    def sync() -> tuple[int, int, int]:
        plan, actions = prepare_sync(storage, storage.node("src:"), storage.node("dst:"), SyncOptions())
        outcome = run_sync(plan, actions, warn=lambda _line: None)
        plan.close()
        assert not outcome.failures
        return outcome.copied + outcome.updated, outcome.deleted, outcome.unchanged

    changed, deleted, _ = sync()
    assert changed and deleted
    assert multiprocessing.active_children() == []
    def files(side: str) -> list[tuple[str, bytes]]:
        root = tmp_path / side
        return sorted((str(p.relative_to(root)), p.read_bytes()) for p in root.rglob("*") if p.is_file())

    assert files("dst") == files("src")
    assert sync() == (0, 0, sum(1 for p in (tmp_path / "src").rglob("*") if p.is_file()))
