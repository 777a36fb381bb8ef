"""What one pipeline run is asked to do: the options every executor reads, and its progress sink."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from genrostore.core.backend import Writer
from genrostore.core.errors import Interrupted


class ProgressSink(Protocol):
    """Receives transfer progress; the CLI draws it, a library caller may ignore it."""

    def add_total(self, files: int, size: int | None) -> None: ...

    def advance(self, size: int) -> None: ...

    def file_done(self, name: str) -> None: ...


@dataclass
class CopyOptions:
    no_clobber: bool = False
    checksum: bool = False
    jobs: int = 4
    progress: ProgressSink | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    active: set[Writer] = field(default_factory=set)  # open writers, aborted on Ctrl-C
    active_lock: threading.Lock = field(default_factory=threading.Lock)

    def check_cancelled(self) -> None:
        """Workers stop at the next chunk once the user pressed Ctrl-C (their writers abort)."""
        if self.cancel.is_set():
            raise Interrupted("interrupted")

    def abort_active(self) -> None:
        """Ctrl-C: cancel, and abort from here the writers of transfers still blocked (a source
        that never answers), so their temp files go too."""
        self.cancel.set()
        with self.active_lock:
            stuck = list(self.active)
        for writer in stuck:
            try:
                writer.abort()
            except Exception:  # noqa: BLE001 - best effort while the command is being interrupted
                pass

    def advance(self, size: int) -> None:
        if self.progress is not None and size:
            self.progress.advance(size)
