"""Per-command settings every mount sees: dry run, retries, time-outs, where reports go."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


_STDOUT = threading.Lock()


def _stdout_line(line: str) -> None:
    """One whole line per call: the transfer threads report at once (`print` writes the text
    and its newline separately, so two lines could interleave)."""
    with _STDOUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


@dataclass
class Settings:
    """Global behaviour chosen on the command line (or by a library caller)."""

    dry_run: bool = False
    retries: int = 3
    timeout: float = 30.0
    low_speed_limit: int = 0  # bytes/s; 0 disables the stall watchdog
    low_speed_time: float = 30.0
    quiet: bool = False
    report: Callable[[str], None] = field(default=_stdout_line)
    resolver: Callable[[str], Any] | None = field(default=None, repr=False)  # address -> Node
    skipped: list[Any] = field(default_factory=list)  # UnsafeName errors reported by listings

    def skip(self, error: Any) -> None:
        """A listing skipped an entry: say so on stderr now; the command then exits 1."""
        from genrostore.core.secrets import redact

        self.skipped.append(error)
        print(redact(f"genrostore: {error}"), file=sys.stderr, flush=True)
