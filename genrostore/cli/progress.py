"""One progress display for a whole command, on stderr, only where a person is watching."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

START_AFTER_SECONDS = 0.5


class RichProgress:
    """Files done/total, bytes, rate and ETA; appears only once a transfer runs for a while."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None
        self._files_total = 0
        self._files_done = 0
        self._bytes_total: int | None = 0
        self._bytes_done = 0

    def add_total(self, files: int, size: int | None) -> None:
        with self._lock:
            self._files_total += files
            if size is None or self._bytes_total is None:
                self._bytes_total = None
            else:
                self._bytes_total += size
            self._refresh()

    def advance(self, size: int) -> None:
        with self._lock:
            self._bytes_done += size
            self._refresh()

    def file_done(self, name: str) -> None:
        with self._lock:
            self._files_done += 1
            self._refresh()

    def _refresh(self) -> None:
        if self._progress is None:
            if time.monotonic() - self._started < START_AFTER_SECONDS:
                return
            self._start()
        self._progress.update(
            self._task,
            completed=self._bytes_done,
            total=self._bytes_total,
            description=f"{self._files_done}/{self._files_total} files",
        )

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=Console(file=sys.stderr), transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("", total=self._bytes_total)

    def close(self) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.stop()
                self._progress = None


def make_progress(force: bool | None, quiet: bool) -> RichProgress | None:
    """--progress forces it, --no-progress or --quiet or a non-TTY stderr disables it."""
    if force is False or (quiet and not force):
        return None
    if force or sys.stderr.isatty():
        return RichProgress()
    return None
