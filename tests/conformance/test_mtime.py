"""A copy keeps the source's modification time on every backend declaring `mtime`.

A local file with an old mtime goes to the backend and back with the real `genrostore cp`;
`info`, `ls -l --json` and the file copied back all show the old time, within the coarser
side's `mtime_precision`. `set_mtime` changes it without touching the bytes.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from tests.cases._base import WRITE, Case, exercises, join, require

OLD = datetime(2001, 2, 3, 4, 5, 6, 500000, tzinfo=UTC)
NEWER = datetime(2011, 12, 13, 14, 15, 16, 250000, tzinfo=UTC)


def _close(found: datetime | None, expected: datetime, precision: float) -> bool:
    return found is not None and abs((found - expected).total_seconds()) <= max(precision, 1e-6)


def _old_file(tmp_path: Path, data: bytes = b"old bytes\n") -> Path:
    source = tmp_path / "old.txt"
    source.write_bytes(data)
    stamp = int(OLD.timestamp()) * 1_000_000_000 + OLD.microsecond * 1000
    os.utime(source, ns=(stamp, stamp))
    return source


@exercises("mtime")
def test_a_copy_keeps_the_sources_mtime_there_and_back(case: Case, tmp_path: Path) -> None:
    require(case, WRITE)
    require(case, "mtime")
    precision = case.features.mtime_precision or 0.0
    source = _old_file(tmp_path)
    target = join(case.fresh(), "old.txt")
    result = case.cli("cp", str(source), target)
    assert result.returncode == 0, result.stderr.decode()
    assert _close(case.storage().node(target).info().mtime, OLD, precision)
    listing = case.cli("ls", "-l", "--json", target.rsplit("/", 1)[0])
    assert listing.returncode == 0, listing.stderr.decode()
    record = next(r for r in json.loads(listing.stdout) if r["name"] == "old.txt")
    shown = datetime.fromisoformat(record["mtime"].replace("Z", "+00:00"))
    assert abs((shown - OLD).total_seconds()) < 1  # the listing shows whole seconds
    back = tmp_path / "back.txt"
    result = case.cli("cp", target, str(back))
    assert result.returncode == 0, result.stderr.decode()
    assert back.read_bytes() == source.read_bytes()
    assert _close(datetime.fromtimestamp(back.stat().st_mtime_ns / 1e9, tz=UTC), OLD, precision + 1e-6)


@exercises("mtime")
def test_set_mtime_changes_only_the_time(case: Case, tmp_path: Path) -> None:
    require(case, WRITE)
    require(case, "mtime")
    precision = case.features.mtime_precision or 0.0
    storage = case.storage()
    target = join(case.fresh(), "file.txt")
    node = storage.node(target)
    node.write(b"some bytes\n")
    node.mount.set_mtime(node.path, NEWER)
    found = storage.node(target).info()
    assert _close(found.mtime, NEWER, precision)
    assert found.size == len(b"some bytes\n")
    assert storage.node(target).read_bytes() == b"some bytes\n"


def test_a_backend_without_mtime_says_so(case: Case) -> None:
    """Declared, not guessed: a precision exactly where the capability is."""
    if case.can("mtime"):
        assert case.features.mtime_precision is not None and case.features.mtime_precision <= 2
        return
    assert case.features.mtime_precision is None
