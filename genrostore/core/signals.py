"""SIGINT, SIGTERM and SIGHUP stop a command the same clean way.

The first signal cancels every transfer (writers abort: temp files are removed, multipart
uploads aborted) and the command exits 128 + the signal's number (130, 143, 129). Signals that
follow while that clean-up runs are acknowledged, not obeyed: a second Ctrl-C must not cut the
clean-up short and leave the very debris it is removing. Only one that comes after
`PATIENCE` seconds of clean-up ends the process at once. `kill -9` cannot be caught at all:
`genrostore cleanup` removes what it leaves.

Nothing is published once a signal has arrived: `refuse_publish` is the last check before a
writer makes its data visible, and `eof_is_trusted` holds back the end of standard input for a
moment (see STDIN_EOF_GRACE).

Python runs a signal's handler on the main thread only, and only between two bytecodes. When the
kernel hands the signal to another thread (it may: after SIGCONT, or while the main thread has
another signal pending) and the main thread waits on a lock, the handler runs only once that
wait ends: a worker could publish in between. So the handler's C half also writes the signal's
number to a wake-up pipe (`signal.set_wakeup_fd`), where a thread of ours waits to record it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from genrostore.core.errors import Interrupted

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# Ctrl-C in a terminal signals the whole process group: the producer feeding our stdin dies, so
# our read returns EOF at the same moment as our own SIGINT arrives — or, when the producer is
# scheduled first, a fraction of a millisecond before. An EOF is trusted as the end of the data
# only once this long has passed without a signal.
STDIN_EOF_GRACE = 0.05

# Seconds after the first signal during which further ones never interrupt the clean-up.
PATIENCE = 10.0

_NAMES: dict[int, str] = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated (SIGTERM)", signal.SIGHUP: "hung up (SIGHUP)"}


class _State:
    """What the handler knows; written only by the handler (main thread), read by every thread."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.pending: int | None = None  # seen on the wake-up pipe, its handler not yet run
        self.first_at = 0.0
        self.arrived = threading.Event()
        self.listeners: list[threading.Event] = []
        self.acknowledged = False


_state = _State()


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.signum is None:
        _state.signum = signum
        _state.first_at = time.monotonic()
        _state.arrived.set()
        for event in list(_state.listeners):
            event.set()
        raise KeyboardInterrupt
    if time.monotonic() - _state.first_at > PATIENCE:
        _say("genrostore: clean-up abandoned; `genrostore cleanup` removes temp files left behind\n")
        os._exit(exit_code())
    if not _state.acknowledged:
        _state.acknowledged = True
        _say("genrostore: removing partial files, please wait\n")


def _say(text: str) -> None:
    """Straight to fd 2: a signal handler must not re-enter a buffered stream being written."""
    try:
        os.write(2, text.encode())
    except OSError:
        pass


def install(signums: tuple[int, ...] = HANDLED) -> Callable[[], None]:
    """Handle `signums` from now on and return the undo; a no-op off the main thread.

    A signal that is ignored (`nohup`, a background job's SIGINT) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {}
    for signum in signums:
        current = signal.getsignal(signum)
        if current is not signal.SIG_IGN and current is not _handler:
            previous[signum] = current
            signal.signal(signum, _handler)
    watcher = _Watcher.start() if previous and _watcher is None else None

    def restore() -> None:
        global _state
        if watcher is not None:
            watcher.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if previous and not handling():
            _state = _State()  # a library caller may run another copy after an interrupted one

    return restore


class _Watcher:
    """A thread blocked on the wake-up pipe: it records a signal the moment any thread's C
    handler writes it there, so no check below needs a system call."""

    def __init__(self, read_end: int, write_end: int, old_fd: int) -> None:
        self.read_end, self.write_end, self.old_fd = read_end, write_end, old_fd
        self.thread = threading.Thread(target=self._run, name="genrostore-signals", daemon=True)

    @classmethod
    def start(cls) -> _Watcher | None:
        """Own the wake-up fd; None where another owner (a caller's asyncio loop) has it."""
        global _watcher
        read_end, write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(read_end, True)  # the writer (the C handler) must never block; the watcher may
        try:
            old_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        except ValueError:
            old_fd = None
        if old_fd != -1:  # the handler's own event still works without it
            if old_fd is not None:
                signal.set_wakeup_fd(old_fd)
            os.close(read_end)
            os.close(write_end)
            return None
        _watcher = cls(read_end, write_end, old_fd)
        _watcher.thread.start()
        return _watcher

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self.read_end, 512)
            except OSError:
                return
            for signum in data:
                if signum == _STOP:
                    return
                if signum in HANDLED:
                    _note(signum)

    def stop(self) -> None:
        global _watcher
        signal.set_wakeup_fd(self.old_fd)
        try:
            os.write(self.write_end, bytes([_STOP]))
        except OSError:
            pass
        self.thread.join(1.0)
        os.close(self.read_end)
        os.close(self.write_end)
        _watcher = None


_STOP = 0  # no signal has the number 0: it tells the watcher to end
_watcher: _Watcher | None = None


def _note(signum: int) -> None:
    """A signal seen on the wake-up pipe, before (or instead of) its handler on the main thread."""
    state = _state
    if state.pending is None:
        state.pending = signum
        state.arrived.set()
        for event in list(state.listeners):
            event.set()


def _seen() -> bool:
    """Whether a signal has arrived: its handler ran, or the watcher saw it."""
    return _state.signum is not None or _state.pending is not None


def handling() -> bool:
    """Whether a signal would be seen by this module (the CLI, or a copy run on the main thread)."""
    return any(signal.getsignal(signum) is _handler for signum in HANDLED)


@contextmanager
def cancelling(event: threading.Event) -> Iterator[None]:
    """Set `event` the instant a signal arrives, for as long as the block runs.

    Installs the SIGINT handler for the block when nobody did (a library caller on the main
    thread), as a copy always has.
    """
    restore = lambda: None  # noqa: E731 - a no-op unless the handler is installed below
    if not handling():
        restore = install((signal.SIGINT,))
    _state.listeners.append(event)
    if _seen():
        event.set()
    try:
        yield
    finally:
        _state.listeners.remove(event)
        restore()


def received() -> int | None:
    """The number of the first signal received, or None."""
    return _state.signum or _state.pending


def exit_code() -> int:
    """128 + the signal's number, as shells report it; 130 (SIGINT) when none was recorded."""
    return 128 + (_state.signum or _state.pending or signal.SIGINT)


def describe() -> str:
    """What happened, for the one-line message: 'interrupted', 'terminated (SIGTERM)', ..."""
    signum = _state.signum or _state.pending or signal.SIGINT
    return _NAMES.get(signum, f"stopped by signal {signum}")


def refuse_publish(where: str | None = None) -> None:
    """Raise Interrupted once a signal has arrived: the last check before data becomes visible.

    Backends name no `where`: the Mount their writer came from puts the location in front."""
    if _seen():
        message = f"{describe()}; not published"
        raise Interrupted(f"{where}: {message}" if where else message)


def eof_is_trusted() -> bool:
    """Wait STDIN_EOF_GRACE for a signal after an EOF on stdin; True when none came.

    On the main thread a plain sleep, which the handler interrupts (with KeyboardInterrupt);
    elsewhere a wait on the event the handler, or the watcher of the wake-up pipe, sets. Without a handler nobody is told of a
    signal, so there is nothing to wait for.
    """
    if _seen():
        return False
    if not handling():
        return True
    if threading.current_thread() is threading.main_thread():
        time.sleep(STDIN_EOF_GRACE)
        return not _seen()
    return not _state.arrived.wait(STDIN_EOF_GRACE) and not _seen()
