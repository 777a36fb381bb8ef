"""Timing one command: wall time and the child's peak RSS (os.wait4), median over rounds."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class CommandFailed(RuntimeError):
    """A measured command exited non-zero: its numbers would mean nothing."""


@dataclass
class Tool:
    """One contender of a case. `{run}` in argv is replaced by the run number (fresh destinations)."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    prepare: Callable[[int], None] | None = None
    reference: bool = False  # shown for context, never a target's anchor

    def command(self, run: int) -> list[str]:
        return [part.replace("{run}", str(run)) for part in self.argv]


@dataclass
class Sample:
    seconds: float
    peak_rss: int
    stdout: bytes


@dataclass
class ToolResult:
    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_rss_mib(self) -> float:
        return max(s.peak_rss for s in self.samples) / 2**20


# A child's ru_maxrss includes the memory of the process it was forked from before its exec
# (Linux records the old mm's high-water mark at exec), so a tool forked from this Python would
# never show less than our own RSS. GNU time forks the tool from a ~2 MiB process and reports
# that child's own peak (%M, KiB); without it, wait4's figure is an upper bound.
GNU_TIME = "/usr/bin/time"


def run_once(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None) -> Sample:
    """Run argv to completion; its output goes to temp files so a chatty tool cannot block on a pipe."""
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        launcher = [GNU_TIME, "-f", "%M", "-o", rss_file.name] if os.access(GNU_TIME, os.X_OK) else []
        start = time.perf_counter()
        process = subprocess.Popen([*launcher, *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   env=full_env, cwd=cwd)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise CommandFailed(f"{' '.join(argv)} exited {process.returncode}: "
                                f"{err.read(4000).decode(errors='replace').strip()}")
        stdout = out.read(1 << 16)
        peak_kib = int(rss_file.read().split()[-1]) if launcher else usage.ru_maxrss
    return Sample(seconds, peak_kib * 1024, stdout)


def measure(tools: list[Tool], runs: int, *, cwd: str, settle: Callable[[], None] | None = None) -> list[ToolResult]:
    """Round-robin: every round runs each tool once, so drift (cache, thermal) hits all tools alike.

    Each round starts one tool later than the last, so no tool is always the one timed first
    after the preparation (a fill, a cache drop) or right after the heaviest contender.
    """
    results = [ToolResult(tool.name) for tool in tools]
    pairs = list(zip(tools, results, strict=True))
    for run in range(runs):
        shift = run % len(pairs) if pairs else 0
        for tool, result in pairs[shift:] + pairs[:shift]:
            if tool.prepare is not None:
                tool.prepare(run)
            if settle is not None:
                settle()
            result.samples.append(run_once(tool.command(run), env=tool.env, cwd=cwd))
    return results
