"""A signal the kernel hands to a worker thread is seen at once, though the main thread is blocked.

Each case runs in a subprocess of its own: it installs the CLI's handlers and sends itself signals.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_PRELUDE = """
import signal, threading, time
from genrostore.core import signals
from genrostore.core.errors import Interrupted
restore = signals.install()
blocked = threading.Lock()
blocked.acquire()  # the main thread waits on this, as it waits on its workers' futures
result = []


def with_main_blocked(worker):  # run `worker` while the main thread waits; True: main was interrupted
    thread = threading.Thread(target=worker)
    thread.start()
    try:
        blocked.acquire()
        time.sleep(1)
    except KeyboardInterrupt:  # the main thread's handler runs once its wait ends
        thread.join()
        return True
    return False
"""


def _run(body: str) -> str:
    code = textwrap.dedent(_PRELUDE) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_worker_refuses_to_publish_while_the_main_thread_has_not_run_the_handler() -> None:
    """SIGINT delivered to the worker's own thread: its C handler ran there, Python's has not yet
    (the main thread is still blocked), and yet it is seen."""
    out = _run("""
        def worker():
            time.sleep(0.3)  # the main thread is in its wait by now
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            deadline = time.monotonic() + 5
            while signals.received() is None and time.monotonic() < deadline:
                time.sleep(0.001)  # the watcher thread records it (microseconds)
            try:
                signals.refuse_publish("disk:out.bin")
                result.append("published")
            except Interrupted as error:
                result.append(str(error))
            result.append(signals.received())
            blocked.release()
        print(result, with_main_blocked(worker))
    """)
    assert out == "['disk:out.bin: interrupted; not published', 2] True"


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_an_eof_on_a_worker_is_not_trusted_when_the_signal_went_to_that_worker(signum: str) -> None:
    out = _run(f"""
        def worker():
            time.sleep(0.3)
            signal.pthread_kill(threading.get_ident(), signal.{signum})
            result.append(signals.eof_is_trusted())
            result.append(signals.exit_code())
            blocked.release()
        print(result, with_main_blocked(worker))
    """)
    assert out == f"[False, {128 + {'SIGINT': 2, 'SIGTERM': 15}[signum]}] True"


def test_without_a_signal_an_eof_on_a_worker_is_trusted_and_publishing_goes_on() -> None:
    out = _run("""
        def worker():
            result.append(signals.eof_is_trusted())
            signals.refuse_publish("disk:out.bin")
            result.append(signals.received())
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        restore()
        print(result, signal.set_wakeup_fd(-1))
    """)
    assert out == "[True, None] -1"  # and the wake-up fd is given back
