"""`check`: prove two trees hold the same files, by the same comparison sync uses.

Every path of the merged walk gets one of rclone's combined-report marks: `=` identical, `*`
differs, `+` only in SRC, `-` only in DST, `!` could not be listed or read. The result is exit 0
when all match, 1 when something differs, the errors' own code when something could not be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genrostore.core.compare import Comparator, Verdict
from genrostore.core.errors import GenrostoreError, PartialFailure
from genrostore.core.march import Pair, Scope, open_trees, ordered_map

if TYPE_CHECKING:
    from genrostore.core.node import Node
    from genrostore.core.storage import Storage

IDENTICAL, DIFFERS, MISSING_ON_DST, MISSING_ON_SRC, ERROR = "=", "*", "+", "-", "!"
Report = Callable[[str, str], None]  # (mark, path relative to the roots)
Judged = Iterator[tuple[Pair, Verdict | GenrostoreError | None]]
# check --cluster: (comparator, roots, pairs, judge) -> (pair, verdict) in tree order
Mapper = Callable[[Comparator, tuple[str, str], Iterator[Pair], Callable[[Pair], Verdict | GenrostoreError | None]],
                  Judged]


@dataclass
class CheckResult:
    """Counts of each mark, and the errors (`!`) with what caused them."""

    matches: int = 0
    differences: int = 0
    missing_on_dst: int = 0
    missing_on_src: int = 0
    errors: list[tuple[str, GenrostoreError]] = field(default_factory=list)

    def summary(self, src: str, dst: str) -> list[str]:
        """rclone's closing notices, one per non-zero count."""
        lines = []
        if self.missing_on_dst:
            lines.append(f"{dst}: {self.missing_on_dst} files missing")
        if self.missing_on_src:
            lines.append(f"{src}: {self.missing_on_src} files missing")
        lines.append(f"{dst}: {self.differences + self.missing_on_dst + self.missing_on_src} differences found")
        if self.errors:
            lines.append(f"{dst}: {len(self.errors)} errors while checking")
        if self.matches:
            lines.append(f"{dst}: {self.matches} matching files")
        return lines

    def raise_for(self) -> None:
        """Errors first (their code, or 1 when they differ), then differences (exit 1)."""
        if self.errors:
            raise PartialFailure(f"{len(self.errors)} path(s) could not be checked", self.errors, all_failed=True)
        found = self.differences + self.missing_on_dst + self.missing_on_src
        if found:
            raise GenrostoreError(f"{found} difference{'s' if found != 1 else ''} found")


def check(storage: Storage, src: Node, dst: Node, report: Report, *, mode: str = "auto", download: bool = False,
          one_way: bool = False, notice: Callable[[str], None] | None = None, jobs: int | None = None,
          scope: Scope | None = None, mapper: Mapper | None = None) -> CheckResult:
    """Compare `src` with `dst`, calling `report(mark, path)` for every path in tree order.

    Comparisons that need a round trip (stored md5s, hashes, downloads) run on `jobs` threads
    (default: `Comparator.default_jobs`) while the walk streams on; the report keeps tree order.
    `mapper` runs those comparisons elsewhere (`check --cluster`: on Dask workers).
    """
    comparator = Comparator(storage, src.mount, dst.mount, mode, download=download, notice=notice,
                            labels=(src.fullpath, dst.fullpath))
    trees = open_trees(src, dst, dst_missing_ok=False, scope=scope, stored_mtimes=comparator.uses_mtime)
    result = CheckResult()

    def judge(pair: Pair) -> Verdict | GenrostoreError | None:
        if pair.error is not None or pair.src is None or pair.dst is None:
            return None
        try:
            return comparator.compare(_join(trees.src.path, pair.relative), pair.src,
                                      _join(trees.dst.path, pair.dst_name), pair.dst)
        except GenrostoreError as exc:
            return exc

    workers = jobs or comparator.default_jobs
    judged = (mapper(comparator, (trees.src.path, trees.dst.path), trees.pairs, judge) if mapper is not None
              else ordered_map(judge, trees.pairs, workers=workers, parallel=comparator.needs_io))
    for pair, verdict in judged:
        mark = _mark(pair, verdict, result, one_way)
        if mark is not None:
            report(mark, pair.relative)
    return result


def _mark(pair: Pair, verdict: Verdict | GenrostoreError | None, result: CheckResult, one_way: bool) -> str | None:
    if pair.error is not None:
        result.errors.append((pair.relative or "/", pair.error))
        return ERROR
    if pair.dst is None:
        result.missing_on_dst += 1
        return MISSING_ON_DST
    if pair.src is None:
        if one_way:
            return None
        result.missing_on_src += 1
        return MISSING_ON_SRC
    if isinstance(verdict, GenrostoreError):
        result.errors.append((pair.relative, verdict))
        return ERROR
    if verdict is Verdict.DIFFER:
        result.differences += 1
        return DIFFERS
    # Same bytes with another mtime (METADATA) is identical content: what check is asked.
    result.matches += 1
    return IDENTICAL


def _join(root: str, relative: str) -> str:
    return f"{root}/{relative}" if root else relative
