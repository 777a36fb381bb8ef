"""Peak memory of a child process, measured on the child alone.

`os.wait4(...).ru_maxrss` is unreliable here: a child forked from a big pytest process reports
the parent's peak when that is higher. `VmHWM` in /proc/<pid>/status starts fresh at exec.
"""

from __future__ import annotations

import subprocess
import threading
import time


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return 0


class PeakWatcher:
    """Samples the child's high-water mark until it exits; `peak` is in bytes."""

    def __init__(self, proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
        self.proc = proc
        self.peak = 0
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while self.proc.poll() is None:
            self.peak = max(self.peak, _hwm(self.proc.pid))
            time.sleep(0.02)

    def wait(self) -> int:
        """Reap the child and return its exit code; `peak` is final afterwards."""
        self._thread.join()
        return self.proc.wait()
