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

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if previous and not handling():
            global _state
            _state = _State()  # a library caller may run another copy after an interrupted one

    return restore


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
    if _state.signum is not None:
        event.set()
    try:
        yield
    finally:
        _state.listeners.remove(event)
        restore()


def received() -> int | None:
    """The number of the first signal received, or None."""
    return _state.signum


def exit_code() -> int:
    """128 + the signal's number, as shells report it; 130 (SIGINT) when none was recorded."""
    return 128 + (_state.signum or signal.SIGINT)


def describe() -> str:
    """What happened, for the one-line message: 'interrupted', 'terminated (SIGTERM)', ..."""
    return _NAMES.get(_state.signum or signal.SIGINT, f"stopped by signal {_state.signum}")


def refuse_publish(where: str | None = None) -> None:
    """Raise Interrupted once a signal has arrived: the last check before data becomes visible.

    Backends name no `where`: the Mount their writer came from puts the location in front."""
    if _state.signum is not None:
        message = f"{describe()}; not published"
        raise Interrupted(f"{where}: {message}" if where else message)


def eof_is_trusted() -> bool:
    """Wait STDIN_EOF_GRACE for a signal after an EOF on stdin; True when none came.

    On the main thread a plain sleep, which the handler interrupts (with KeyboardInterrupt);
    elsewhere a wait on the event the handler sets. Without a handler nobody is told of a
    signal, so there is nothing to wait for.
    """
    if _state.signum is not None:
        return False
    if not handling():
        return True
    if threading.current_thread() is threading.main_thread():
        time.sleep(STDIN_EOF_GRACE)
        return _state.signum is None
    return not _state.arrived.wait(STDIN_EOF_GRACE)
