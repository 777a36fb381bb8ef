"""Issue 15's sync cases: a no-op sync of many small files (local → local, local → S3) and a
sync after 1 % of them changed, against `rclone sync`, `aws s3 sync` and `s5cmd sync`.

Each contender has a source and a destination of its own (a copy of one generated tree), so
what one tool synced never makes another's run a no-op. The first sync that fills a
destination is not measured (every tool fills its own before the first measured run of any);
every measured no-op run finds the trees equal, and every 1 %-changed run first rewrites its
own 1 % of that tool's source (same size, new bytes, a new mtime), a different 1 % each run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.cases import BUCKET, GENROSTORE, RCLONE_ENV, Case, S3Commands, Target, Tool, Workspace

SYNC_SIZE = 1024
FASTER_THAN_RCLONE = Target("faster than rclone", (("rclone", 1.0),))
_LOCAL = ("gs", "rc", "rsync")
_S3 = ("gs3", "rc3", "aws", "s5")


def _base(space: Workspace) -> Path:
    """The generated tree (100 directories of count/100 files), made once and copied per tool."""
    base = space.root / "sync" / "base"
    if not base.exists():
        count = space.sizes.sync_count
        for index in range(count):
            directory = base / f"d{index % 100:02d}"
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"f{index:06d}.bin").write_bytes(os.urandom(SYNC_SIZE))
    return base


def _source(space: Workspace, tool: str) -> Path:
    path = space.root / "sync" / f"{tool}-src"
    if not path.exists():
        subprocess.run(["cp", "-a", str(_base(space)), str(path)], check=True)
    return path


def _files(space: Workspace) -> list[str]:
    count = space.sizes.sync_count
    return [f"d{index % 100:02d}/f{index:06d}.bin" for index in range(count)]


def _change(space: Workspace, tool: str, run: int) -> None:
    """Rewrite this run's 1 % of `tool`'s source: same size, new bytes, mtime now."""
    src = _source(space, tool)
    now = time.time() + run + 1
    for name in _files(space)[run % 100::100]:
        path = src / name
        path.write_bytes(os.urandom(SYNC_SIZE))
        os.utime(path, (now, now))


def _first_fill(tool: Tool, space: Workspace) -> Callable[[int], None]:
    """Before run 0 only: the tool's own first sync (unmeasured), so every measured run starts equal."""
    def prepare(run: int) -> None:
        if run == 0:
            subprocess.run(tool.command(0), check=True, cwd=str(space.root), env={**os.environ, **(tool.env or {})},
                           stdout=subprocess.DEVNULL)
    return prepare


def _then(first: Callable[[int], None] | None, second: Callable[[int], None]) -> Callable[[int], None]:
    def both(run: int) -> None:
        if first is not None:
            first(run)
        second(run)
    return both


def _local_tools(space: Workspace) -> list[tuple[str, Tool]]:
    """(whose source, tool) of the local → local cases."""
    for tool in _LOCAL:
        _source(space, tool)
    tools = [("gs", Tool(GENROSTORE, [*space.genrostore, "-q", "sync", "./sync/gs-src", "./sync/gs-dst"]))]
    if space.anchors.rclone:
        tools.append(("rc", Tool("rclone", [space.anchors.rclone, "sync", "--transfers", "16", "--checkers", "16",
                                            "sync/rc-src", "sync/rc-dst"], env=RCLONE_ENV)))
    rsync = shutil.which("rsync")
    if rsync:
        tools.append(("rsync", Tool("rsync -a --delete", [rsync, "-a", "--delete", "sync/rsync-src/",
                                                          "sync/rsync-dst/"], reference=True)))
    return tools


def _s3_tools(space: Workspace) -> list[tuple[str, Tool]]:
    """(whose source, tool) of the local → S3 cases."""
    for tool in _S3:
        _source(space, tool)
    s3 = S3Commands(space)
    return [("gs3", s3.genrostore("sync", "./sync/gs3-src", "s3:sync-gs")),
            ("rc3", s3.rclone("sync", "--transfers", "16", "--checkers", "16", "sync/rc3-src",
                              f"bench:{BUCKET}/sync-rc")),
            ("aws", s3.aws("sync", "--delete", "sync/aws-src", f"s3://{BUCKET}/sync-aws")),
            ("s5", s3.s5cmd("sync", "--delete", "sync/s5-src/", f"s3://{BUCKET}/sync-s5/"))]


def _fill_all(fills: list[Callable[[int], None]]) -> Callable[[int], None]:
    """Every tool's first fill, done once before the first measured run of any of them.

    Filled one by one before its own run 0, the first tool timed would find a server holding a
    quarter of the objects the last one finds: all of them measure against the same store.
    """
    done: list[bool] = []

    def prepare(run: int) -> None:
        if run == 0 and not done:
            for fill in fills:
                fill(0)
            done.append(True)
    return prepare


def _prepared(tools: list[tuple[str, Tool]], space: Workspace, change: bool) -> list[Tool]:
    """All tools filled before run 0; with `change`, a tool's own 1 % rewritten before each of its runs."""
    fill = _fill_all([_first_fill(tool, space) for _, tool in tools])
    ready = []
    for source, tool in tools:
        tool.prepare = _then(fill, lambda run, key=source: _change(space, key, run)) if change else fill
        ready.append(tool)
    return ready


def _title(space: Workspace, what: str) -> str:
    return f"8{what}. sync of {space.sizes.sync_count:,} × 1 KiB files"


def noop_local(space: Workspace, runs: int) -> Case:
    return Case("sync-noop-local", _title(space, "a") + ", nothing changed, local → local",
                _prepared(_local_tools(space), space, change=False), FASTER_THAN_RCLONE, runs)


def changed_local(space: Workspace, runs: int) -> Case:
    return Case("sync-1pct-local", _title(space, "b") + ", 1 % changed, local → local",
                _prepared(_local_tools(space), space, change=True), FASTER_THAN_RCLONE, runs)


def noop_s3(space: Workspace, runs: int) -> Case:
    return Case("sync-noop-s3", _title(space, "c") + ", nothing changed, local → S3",
                _prepared(_s3_tools(space), space, change=False), FASTER_THAN_RCLONE, runs,
                notes=["aws and s5cmd compare the listing's size and upload time; genrostore and rclone "
                       "compare the mtime each stored (X-Amz-Meta-Mtime), which costs one HEAD per object."])


def changed_s3(space: Workspace, runs: int) -> Case:
    return Case("sync-1pct-s3", _title(space, "d") + ", 1 % changed, local → S3",
                _prepared(_s3_tools(space), space, change=True), FASTER_THAN_RCLONE, runs)


LOCAL_SYNC_CASES = {"sync-noop-local": noop_local, "sync-1pct-local": changed_local}
S3_SYNC_CASES = {"sync-noop-s3": noop_s3, "sync-1pct-s3": changed_s3}
