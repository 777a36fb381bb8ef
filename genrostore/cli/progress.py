"""One progress display for a whole command, on stderr: a live bar where a person is watching,
plain lines every few seconds where `--progress` forces it on a log (CI)."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

START_AFTER_SECONDS = 0.5
PLAIN_INTERVAL_SECONDS = 5.0
INTERVAL_ENV = "GENROSTORE_PROGRESS_INTERVAL"  # seconds between plain lines (tests set it low)


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


class PlainProgress:
    """Plain lines on a non-terminal: one every few seconds from a timer thread (a stalled
    transfer still reports), and a last one when the command ends."""

    def __init__(self, interval: float | None = None) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._files_total = 0
        self._files_done = 0
        self._bytes_total: int | None = 0
        self._bytes_done = 0
        self._interval = interval if interval is not None else _interval_from_env()
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._tick, name="genrostore-progress", daemon=True)
        self._timer.start()

    def add_total(self, files: int, size: int | None) -> None:
        with self._lock:
            self._files_total += files
            self._bytes_total = None if size is None or self._bytes_total is None else self._bytes_total + size

    def advance(self, size: int) -> None:
        with self._lock:
            self._bytes_done += size

    def file_done(self, name: str) -> None:
        with self._lock:
            self._files_done += 1

    def _tick(self) -> None:
        while not self._stop.wait(self._interval):
            self._print(final=False)

    def _print(self, *, final: bool) -> None:
        with self._lock:
            line = plain_line(self._files_done, self._files_total, self._bytes_done, self._bytes_total,
                              time.monotonic() - self._started, final=final)
        print(f"genrostore: {line}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if not self._stop.is_set():
            self._stop.set()
            self._timer.join()
            self._print(final=True)


def plain_line(files_done: int, files_total: int, bytes_done: int, bytes_total: int | None,
               elapsed: float, *, final: bool) -> str:
    """`3/10 files, 12.0M/100.0M, 2.4M/s, ETA 0:00:37` (the total and ETA only when known)."""
    from genrostore.cli.context import human_size

    rate = bytes_done / elapsed if elapsed > 0 else 0.0
    size = human_size(bytes_done) + (f"/{human_size(bytes_total)}" if bytes_total and not final else "")
    parts = [f"{files_done}/{files_total} files", size, f"{human_size(int(rate))}/s"]
    if final:
        parts.append(f"in {_clock(elapsed)}")
    elif bytes_total and rate > 0:
        parts.append(f"ETA {_clock(max(0, bytes_total - bytes_done) / rate)}")
    return ("done: " if final else "") + ", ".join(parts)


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _interval_from_env() -> float:
    try:
        return max(0.05, float(os.environ.get(INTERVAL_ENV, PLAIN_INTERVAL_SECONDS)))
    except ValueError:
        return PLAIN_INTERVAL_SECONDS


def make_progress(force: bool | None, quiet: bool) -> RichProgress | PlainProgress | None:
    """--progress forces it (plain lines when stderr is not a terminal); --no-progress, --quiet
    or a non-TTY stderr disable it."""
    if force is False or (quiet and not force):
        return None
    if sys.stderr.isatty():
        return RichProgress()
    return PlainProgress() if force else None
