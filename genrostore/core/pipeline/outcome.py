"""What a multi-item command did: what was copied or skipped, and what failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from genrostore.core.errors import GenrostoreError, PartialFailure

if TYPE_CHECKING:
    from genrostore.core.node import Node


@dataclass
class CopyResult:
    """Collected per item, so one failure never stops the others."""

    copied: list[Node] = field(default_factory=list)
    skipped: list[Node] = field(default_factory=list)
    done: int = 0  # items completed by a command that is not a copy (cat, md5, rm, mkdir)
    failures: list[tuple[str, GenrostoreError]] = field(default_factory=list)


def raise_for(outcome: CopyResult) -> None:
    """Turn collected failures into an error: the single one itself, or a partial failure."""
    if not outcome.failures:
        return
    completed = len(outcome.copied) + len(outcome.skipped) + outcome.done
    if len(outcome.failures) == 1 and not completed:
        raise outcome.failures[0][1]
    raise PartialFailure(
        f"{len(outcome.failures)} of {len(outcome.failures) + completed} file(s) failed",
        outcome.failures,
        all_failed=not completed,
    )
