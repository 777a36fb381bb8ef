"""Sync planning: one action per pair, deletes held back until the gates pass on the whole set."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from genrostore import Storage
from genrostore.core.actions import Copy, SetMetadata, Skip
from genrostore.core.backend import Entry
from genrostore.core.compare import Capabilities, Comparator, Verdict, parse_mode
from genrostore.core.errors import DirectoryNotFound, GenrostoreError, Refused, UsageError
from genrostore.core.march import Pair, open_trees
from genrostore.core.syncplan import DeleteLimit, DeleteSet, SyncOptions, SyncPlan, decide, parse_size

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _storage(src: dict[str, str], dst: dict[str, str]) -> Storage:
    storage = Storage(mounts=[{"name": "s", "type": "memory"}, {"name": "d", "type": "memory"}])
    for rel, text in src.items():
        storage.node(f"s:tree/{rel}").write(text)
    for rel, text in dst.items():
        storage.node(f"d:tree/{rel}").write(text)
    return storage


def _plan(storage: Storage, options: SyncOptions | None = None, mode: str = "size") -> tuple[SyncPlan, list]:
    trees = open_trees(storage.node("s:tree"), storage.node("d:tree"), dst_missing_ok=True)
    comparator = Comparator(storage, trees.src.mount, trees.dst.mount, mode)
    plan = SyncPlan(trees.src, trees.dst, comparator, options or SyncOptions())
    return plan, list(plan.actions(trees.pairs))


def _deleted(plan: SyncPlan) -> list[str]:
    warnings: list[str] = []
    return [action.node.path for action in plan.deletions(warnings.append)]


def test_new_and_changed_files_are_copied_unchanged_skipped_dst_only_planned_for_delete() -> None:
    storage = _storage({"new": "n", "same": "s", "grown": "gg"}, {"same": "s", "grown": "g", "old": "o"})
    plan, actions = _plan(storage)
    shape = [(type(a).__name__, a.dst.path, getattr(a, "reason", "")) for a in actions]
    assert shape == [("Copy", "tree/grown", "changed"), ("Copy", "tree/new", "new"), ("Skip", "tree/same", "unchanged")]
    assert _deleted(plan) == ["tree/old"]
    assert (plan.tally.new, plan.tally.changed, plan.tally.unchanged, plan.tally.bytes) == (1, 1, 1, 3)


def test_no_delete_plans_no_deletes() -> None:
    plan, _ = _plan(_storage({"a": "1"}, {"a": "1", "b": "2"}), SyncOptions(delete=False))
    assert _deleted(plan) == []


def test_ignore_existing_skips_every_file_dst_has() -> None:
    _, actions = _plan(_storage({"a": "11", "b": "2"}, {"a": "1"}), SyncOptions(ignore_existing=True))
    assert [(type(a), a.dst.path) for a in actions] == [(Skip, "tree/a"), (Copy, "tree/b")]
    assert actions[0].reason == "exists"


def _pair(src_mtime: datetime, dst_mtime: datetime, size: int = 1, md5: tuple[str | None, str | None] = (None, None)) -> Pair:
    return Pair("f", Entry("f", "file", size, src_mtime, md5[0]), Entry("f", "file", size, dst_mtime, md5[1]))


def test_update_skips_files_newer_on_dst_and_compares_the_others() -> None:
    options = SyncOptions(update=True)
    newer = _pair(T0, T0 + timedelta(hours=1))
    older = _pair(T0 + timedelta(hours=1), T0)
    window = timedelta(seconds=1)

    def newer_on_dst(pair: Pair) -> bool:
        return pair.dst.mtime - pair.src.mtime > window  # type: ignore[union-attr,operator]

    assert decide(newer, lambda p: Verdict.DIFFER, options, newer_on_dst) == ("skip", "newer")
    assert decide(older, lambda p: Verdict.DIFFER, options, newer_on_dst) == ("copy", "changed")


def _mtime_comparator(stored_md5: bool) -> Comparator:
    storage = Storage(mounts=[{"name": "s", "type": "memory"}, {"name": "d", "type": "memory"}])
    comparator = Comparator(storage, storage.mount("s"), storage.mount("d"), "size")
    comparator.method = "size,mtime"
    comparator.src_caps = comparator.dst_caps = Capabilities(True, timedelta(seconds=2), stored_md5)
    comparator.window = timedelta(seconds=2)
    return comparator


def test_size_mtime_compares_within_the_coarser_sides_window() -> None:
    comparator = _mtime_comparator(stored_md5=False)
    close = _pair(T0, T0 + timedelta(seconds=2))
    far = _pair(T0, T0 + timedelta(seconds=3))
    assert comparator.compare("f", close.src, "f", close.dst) is Verdict.EQUAL  # type: ignore[arg-type]
    assert comparator.compare("f", far.src, "f", far.dst) is Verdict.DIFFER  # type: ignore[arg-type]


def test_same_size_other_mtime_equal_stored_md5_only_updates_the_mtime() -> None:
    comparator = _mtime_comparator(stored_md5=True)
    same = _pair(T0, T0 + timedelta(hours=1), md5=("0" * 32, "0" * 32))
    other = _pair(T0, T0 + timedelta(hours=1), md5=("0" * 32, "1" * 32))
    assert comparator.compare("f", same.src, "f", same.dst) is Verdict.METADATA  # type: ignore[arg-type]
    assert comparator.compare("f", other.src, "f", other.dst) is Verdict.DIFFER  # type: ignore[arg-type]


def test_another_mtime_hashes_the_local_side_only_when_the_other_knows_its_md5() -> None:
    storage = _storage({"f": "x"}, {})
    comparator = Comparator(storage, storage.mount("s"), storage.mount("d"), "size")
    comparator.method = "size,mtime"
    comparator.src_caps = Capabilities(True, timedelta(seconds=1), False, local_data=True)
    comparator.dst_caps = Capabilities(True, timedelta(seconds=1), True)
    x_md5 = "9dd4e461268c8034f5c8564e155c67a6"
    same, other = (_pair(T0, T0 + timedelta(hours=1), md5=(None, md5)) for md5 in (x_md5, "1" * 32))
    assert comparator.compare("tree/f", same.src, "f", same.dst) is Verdict.METADATA  # type: ignore[arg-type]
    assert comparator.compare("tree/f", other.src, "f", other.dst) is Verdict.DIFFER  # type: ignore[arg-type]
    # DST's md5 unknown (a multipart object without md5chksum): a copy, and SRC is not read
    unknown = _pair(T0, T0 + timedelta(hours=1), md5=(None, None))
    comparator.dst = SimpleNamespace(md5=lambda path: None)  # type: ignore[assignment]
    assert comparator.compare("tree/missing", unknown.src, "f", unknown.dst) is Verdict.DIFFER  # type: ignore[arg-type]
    both_local = Capabilities(True, timedelta(seconds=1), False, local_data=True)
    comparator.dst_caps = both_local
    assert comparator.compare("tree/f", same.src, "f", same.dst) is Verdict.DIFFER  # type: ignore[arg-type]


def test_a_metadata_verdict_plans_set_metadata_with_the_source_mtime() -> None:
    storage = _storage({"f": "x"}, {"f": "x"})
    plan, _ = _plan(storage)
    plan.comparator = _mtime_comparator(stored_md5=True)
    action = plan.action_for(_pair(T0, T0 + timedelta(hours=1), md5=("a" * 32, "a" * 32)))
    assert isinstance(action, SetMetadata) and action.mtime == T0 and action.dst.path == "tree/f"


def test_checksum_hashes_content_of_same_sized_files_never_falling_back_to_size() -> None:
    storage = _storage({"f": "abc"}, {"f": "abd"})
    _, by_size = _plan(storage, mode="size")
    _, by_sum = _plan(storage, mode="size,checksum")
    assert isinstance(by_size[0], Skip)
    assert isinstance(by_sum[0], Copy) and by_sum[0].reason == "changed"


def test_auto_without_kept_mtimes_or_stored_md5_says_once_it_compares_sizes() -> None:
    storage = _storage({}, {})
    notices: list[str] = []
    comparator = Comparator(storage, storage.mount("s"), storage.mount("d"), "auto", notice=notices.append)
    assert comparator.method == "size" and len(notices) == 1 and "sizes only" in notices[0]


def test_compare_flags_parse_and_exclude_each_other() -> None:
    assert parse_mode(None) == "auto"
    assert parse_mode(None, checksum=True) == "size,checksum"
    assert parse_mode(None, size_only=True) == "size"
    assert parse_mode("size, mtime") == "size,mtime"
    with pytest.raises(UsageError):
        parse_mode("size", checksum=True)
    with pytest.raises(UsageError):
        parse_mode("md5")


# -- the gates ---------------------------------------------------------------------------------------
def test_gate_a_any_error_skips_every_delete_and_says_how_many() -> None:
    plan, _ = _plan(_storage({"a": "1"}, {"a": "1", "b": "2", "c": "3"}))
    plan.transfer_failed("tree/a", GenrostoreError("boom"))
    warnings: list[str] = []
    assert list(plan.deletions(warnings.append)) == []
    assert warnings == ["genrostore: 2 deletions skipped because of errors"]


def test_gate_a_a_listing_error_in_the_plan_skips_every_delete() -> None:
    plan, _ = _plan(_storage({"a": "1"}, {"a": "1", "b": "2"}))
    plan.action_for(Pair("sub/", None, None, GenrostoreError("cannot list")))
    assert _deleted(plan) == []


def test_gate_b_missing_source_is_exit_3_before_anything() -> None:
    storage = _storage({}, {"a": "1"})
    with pytest.raises(DirectoryNotFound) as raised:
        open_trees(storage.node("s:nothing"), storage.node("d:tree"), dst_missing_ok=True)
    assert raised.value.exit_code == 3


def test_gate_b_empty_source_against_a_full_destination_is_refused_exit_7() -> None:
    storage = _storage({}, {"a": "1", "b": "2"})
    storage.node("s:tree").mkdir(parents=True)
    plan, _ = _plan(storage)
    with pytest.raises(Refused) as raised:
        _deleted(plan)
    assert raised.value.exit_code == 7 and "has no files" in str(raised.value)
    allowed, _ = _plan(storage, SyncOptions(allow_empty_src=True))
    assert _deleted(allowed) == ["tree/a", "tree/b"]


@pytest.mark.parametrize("limit", ["1", "40%"])
def test_gate_c_max_delete_exceeded_deletes_nothing_and_names_the_numbers(limit: str) -> None:
    storage = _storage({"keep": "k"}, {"keep": "k", "x": "1", "y": "2"})
    plan, _ = _plan(storage, SyncOptions(max_delete=DeleteLimit.parse(limit)))
    with pytest.raises(Refused) as raised:
        _deleted(plan)
    assert raised.value.exit_code == 7
    assert f"would delete 2 files, more than --max-delete {limit}" in str(raised.value)
    within, _ = _plan(storage, SyncOptions(max_delete=DeleteLimit.parse("2")))
    assert _deleted(within) == ["tree/x", "tree/y"]


def test_gate_c_max_delete_size_exceeded_deletes_nothing() -> None:
    storage = _storage({"keep": "k"}, {"keep": "k", "x": "12345"})
    plan, _ = _plan(storage, SyncOptions(max_delete_size=parse_size("4")))
    with pytest.raises(Refused, match="would delete 5 bytes, more than --max-delete-size 4 bytes"):
        _deleted(plan)


def test_limits_parse_rclone_units_and_reject_nonsense() -> None:
    assert parse_size("10k") == 10240 and parse_size("1M") == 1024**2 and parse_size("2GiB") == 2 * 1024**3
    assert DeleteLimit.parse("10%").allowed(55) == 5 and DeleteLimit.parse("3").allowed(1000) == 3
    for bad in ("-1", "x", "120%"):
        with pytest.raises(UsageError):
            DeleteLimit.parse(bad)


def test_the_delete_set_moves_to_disk_past_its_bound_and_keeps_order() -> None:
    deletes = DeleteSet(bound=3)
    names = [f"d/{i:03}\n\u00e9" for i in range(10)]
    for name in names:
        deletes.add(name, 1)
    assert deletes.on_disk and deletes.count == 10 and deletes.bytes == 10
    assert [path for path, _ in deletes] == names
    assert [path for path, _ in deletes] == names  # iterable again
    deletes.close()


_RSS_SCRIPT = r"""
import sys
from datetime import datetime, timezone
from genrostore import Storage
from genrostore.core.backend import Entry
from genrostore.core.compare import Comparator
from genrostore.core.march import Listed, merge, sort_key
from genrostore.core.syncplan import SyncOptions, SyncPlan

N = 1_000_000
T = datetime(2024, 1, 1, tzinfo=timezone.utc)

def side(offset, step):
    for i in range(offset, N, step):
        rel = f"dir{i // 1000:04}/file{i:07}.dat"
        yield Listed(sort_key(rel), rel, Entry(rel, "file", i % 4096, T))

storage = Storage(mounts=[{"name": "s", "type": "memory"}, {"name": "d", "type": "memory"}])
comparator = Comparator(storage, storage.mount("s"), storage.mount("d"), "size")
plan = SyncPlan(storage.node("s:"), storage.node("d:"), comparator, SyncOptions(allow_empty_src=True))
# SRC holds the even entries, DST every entry: half unchanged, half planned deletes.
actions = 0
for action in plan.actions(merge(side(0, 2), side(0, 1))):
    actions += 1
deleted = sum(1 for _ in plan.deletions(print))
assert (actions, deleted, plan.deletes.on_disk) == (N // 2, N // 2, True), (actions, deleted)
# VmHWM is this program's own peak: ru_maxrss would carry the forking pytest process's size over exec
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) // 1024)
"""


def test_planning_a_million_entries_stays_under_300_mib_peak_rss(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).parents[2]))}
    done = subprocess.run([sys.executable, "-c", _RSS_SCRIPT], capture_output=True, text=True, env=env,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    peak_mib = int(done.stdout.split()[-1])
    assert peak_mib < 300, f"peak RSS {peak_mib} MiB"


# -- sync then check: identical, as a property over random trees ---------------------------------------
UNIVERSE = [f"{d}/{n}" for d in ("a", "a b", "a-c", "a/deep", "\u00e9") for n in ("x", "y", "z z")] + ["top", "top-2"]


def _apply(plan: SyncPlan, actions: list) -> None:
    """A sequential stand-in for the pipeline's executor: copies, then the gated deletes."""
    for action in actions:
        if isinstance(action, Copy):
            action.src.copy_to(action.dst)
    for delete in plan.deletions(print):
        delete.node.mount.remove_file(delete.node.path)


@pytest.mark.parametrize("mode", ["size", "size,checksum"])
def test_sync_then_check_reports_identical_over_random_trees(mode: str) -> None:
    import random

    from genrostore.core.check import check

    rng = random.Random(15)
    for _ in range(25):
        src = {p: "".join(rng.choice("ab") for _ in range(rng.randint(0, 3))) for p in UNIVERSE if rng.random() < 0.5}
        dst = {p: "".join(rng.choice("ab") for _ in range(rng.randint(0, 3))) for p in UNIVERSE if rng.random() < 0.5}
        src.setdefault("top", "t")
        storage = _storage(src, dst)
        plan, actions = _plan(storage, mode=mode)
        _apply(plan, actions)
        marks: list[str] = []
        result = check(storage, storage.node("s:tree"), storage.node("d:tree"),
                       lambda m, p, seen=marks: seen.append(m + p), mode=mode)
        assert (result.differences, result.missing_on_dst, result.missing_on_src, result.errors) == (0, 0, 0, [])
        assert len(marks) == len(src)
        again, rerun = _plan(storage, mode=mode)
        assert all(isinstance(a, Skip) for a in rerun) and again.deletes.count == 0  # converged


def test_overlapping_trees_are_refused_exit_2(tmp_path: Path) -> None:
    from genrostore.core.syncplan import prepare_sync

    storage = _storage({"a/x": "1"}, {})
    for src, dst in (("s:tree", "s:tree/a"), ("s:tree/a", "s:tree"), ("s:tree", "s:tree"), ("s:", "s:tree")):
        with pytest.raises(UsageError, match="overlap"):
            prepare_sync(storage, storage.node(src), storage.node(dst))
    (tmp_path / "t" / "in").mkdir(parents=True)
    local = Storage(mounts=[{"name": "l", "type": "local", "path": str(tmp_path)}])
    with pytest.raises(UsageError, match="overlap"):
        prepare_sync(local, local.node("l:t"), local.node(f"{tmp_path}/t/in"))
    plan, _ = prepare_sync(storage, storage.node("s:tree"), storage.node("d:tree"))
    assert plan.dst.path == "tree"
