"""Run a server as a subprocess in its own session, wait for it, stop or restart it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
LOG_TAIL_CHARS = 4000
INSTALL_HINT = "run `bash scripts/install-test-deps.sh` (as root) to install the test servers"
# Helper processes of the interpreter itself, not started by a test: never counted as left over.
BENIGN_CHILDREN = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


class ServerStartError(RuntimeError):
    """A test server did not come up; the message carries the tail of its log."""


class MissingServerBinary(ServerStartError):
    """A program a test server needs is not installed."""


def require_binary(name: str, *extra_dirs: Path | str) -> str:
    """Return the path of program ``name`` (searching PATH, /usr/sbin and ``extra_dirs``)."""
    search = os.pathsep.join([*map(str, extra_dirs), os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    path = shutil.which(name, path=search)
    if path is None:
        raise MissingServerBinary(f"{name} not found: {INSTALL_HINT}")
    return path


def free_port(host: str = HOST) -> int:
    """Return a TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def log_tail(logfile: Path, chars: int = LOG_TAIL_CHARS) -> str:
    try:
        text = logfile.read_text(errors="replace")
    except OSError as exc:
        return f"<no log: {exc}>"
    return text[-chars:] or "<log is empty>"


def port_is_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(
    host: str,
    port: int,
    deadline: float,
    proc: subprocess.Popen[bytes] | None,
    logfile: Path,
    probe: Callable[[], bool] | None = None,
) -> None:
    """Poll until ``host:port`` accepts connections (and ``probe()`` is true) or raise.

    ``deadline`` is a ``time.monotonic()`` value. Raises ``ServerStartError`` with the log tail when
    the process exits early or the deadline passes.
    """
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServerStartError(
                f"server on {host}:{port} exited with code {proc.returncode} while starting; "
                f"log {logfile}:\n{log_tail(logfile)}"
            )
        if port_is_open(host, port) and (probe is None or _probe_ok(probe)):
            return
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"server on {host}:{port} not ready after the deadline; log {logfile}:\n{log_tail(logfile)}"
            )
        time.sleep(0.05)


def _probe_ok(probe: Callable[[], bool]) -> bool:
    try:
        return probe()
    except OSError:
        return False


@dataclass
class ServerProcess:
    """One server subprocess: started in its own session, logging to ``logfile``.

    Its own session matters: smbd signals its whole process group on shutdown, which would
    otherwise include pytest.
    """

    argv: Sequence[str]
    port: int
    logfile: Path
    host: str = HOST
    env: dict[str, str] | None = None
    cwd: Path | None = None
    probe: Callable[[], bool] | None = None
    timeout: float = START_TIMEOUT
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    # PYTEST_CURRENT_TEST at the first start, and whether a fixture (which stops it) started it: a
    # restart keeps the owner, so a session fixture's server restarted by a test stays the fixture's.
    started_during: str = field(default="", init=False)
    started_by_fixture: bool = field(default=False, init=False)

    def start(self) -> None:
        if self.running:
            return
        if not any(server is self for server in STARTED):
            self.started_during = os.environ.get("PYTEST_CURRENT_TEST", "")
            self.started_by_fixture = _in_fixture()
            STARTED.append(self)
        self.logfile.parent.mkdir(parents=True, exist_ok=True)
        with open(self.logfile, "ab") as log:
            log.write(f"--- start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        try:
            wait_for_port(self.host, self.port, time.monotonic() + self.timeout, self.proc, self.logfile, self.probe)
        except BaseException:
            self.kill()
            raise

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Terminate the server, then SIGKILL whatever is left of its processes."""
        if self.proc is None:
            return
        family = self._family()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._kill(family)

    def kill(self) -> None:
        """SIGKILL the server and every process it started at once, as a crash would."""
        if self.proc is None:
            return
        self._kill(self._family())

    def restart(self) -> None:
        """Stop (if running) and start again on the same port with the same data."""
        self.stop()
        self.start()

    def _family(self) -> list[int]:
        """The server's pid and its descendants' pids.

        sshd's per-connection children call setsid(), so killing the process group would leave
        open sessions alive; a crash test needs them gone too.
        """
        assert self.proc is not None
        return [self.proc.pid, *_descendants(self.proc.pid)]

    def _kill(self, family: list[int]) -> None:
        assert self.proc is not None
        # The process group id equals the leader's pid (start_new_session=True).
        for kill, target in [(os.killpg, self.proc.pid), *((os.kill, pid) for pid in family)]:
            try:
                kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()


# Every server the suite started, in start order: the leak checks of tests/conftest.py read it.
STARTED: list[ServerProcess] = []


def running_servers(test_body: str | None = None) -> list[ServerProcess]:
    """The started servers still running; with ``test_body`` (a PYTEST_CURRENT_TEST value), only
    those that code of the test itself started, not a fixture."""
    return [s for s in STARTED if s.running
            and (test_body is None or (s.started_during == test_body and not s.started_by_fixture))]


def _in_fixture() -> bool:
    """Whether a pytest fixture is on the call stack (including one a test asked for by name)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "call_fixture_func" and frame.f_globals.get("__name__") == "_pytest.fixtures":
            return True
        frame = frame.f_back
    return False


def describe(server: ServerProcess) -> str:
    assert server.proc is not None
    return f"pid {server.proc.pid} `{' '.join(server.argv)}` (started during {server.started_during or 'no test'})"


def live_descendants(pid: int | None = None) -> dict[int, str]:
    """Processes below ``pid`` (default: this one) still alive, with their command lines.

    Zombies and the interpreter's own helpers (BENIGN_CHILDREN) are left out.
    """
    found: dict[int, str] = {}
    for child in _descendants(os.getpid() if pid is None else pid):
        try:
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state != "Z" and not any(helper in cmdline for helper in BENIGN_CHILDREN):
            found[child] = cmdline.strip()
    return found


def kill_pids(pids: Sequence[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    pending = [pid]
    while pending:
        kids = children.get(pending.pop(), [])
        found.extend(kids)
        pending.extend(kids)
    return found


@dataclass(kw_only=True)
class RunningServer:
    """Base of each module's result: the processes behind it and their lifecycle."""

    processes: list[ServerProcess] = field(repr=False)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def kill(self) -> None:
        for process in self.processes:
            process.kill()

    def restart(self) -> None:
        for process in self.processes:
            process.restart()
