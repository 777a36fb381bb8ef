"""`-` as a path: standard input as a source, standard output as a destination."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from genrostore.core import signals
from genrostore.core.backend import Backend, Entry, Features, Writer
from genrostore.core.errors import Interrupted, OutputClosed, UsageError
from genrostore.core.schema import BackendSpec

if TYPE_CHECKING:
    from datetime import datetime

    from _typeshed import WriteableBuffer

SPEC = BackendSpec(type="stdio", summary="standard input and output", options=(), module=__name__, cls="StdioBackend")


def write_stdout(data: bytes) -> None:
    """Write to stdout, turning a vanished reader (`| head`) into a quiet end."""
    try:
        sys.stdout.buffer.write(data)
    except BrokenPipeError:
        raise OutputClosed("stdout closed") from None


def flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise OutputClosed("stdout closed") from None


class _StdoutWriter(Writer):
    def write(self, data: bytes) -> None:
        write_stdout(data)

    def _commit(self) -> None:
        flush_stdout()

    def _abort(self) -> None:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, ValueError):
            pass


class _Stdin(io.FileIO):
    """fd 0, left open on close, whose end is believed only when no signal comes with it.

    Ctrl-C kills the producer of a pipeline together with us: the EOF it leaves is not the
    end of the data, and publishing what was read would publish a truncated file.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdin.fileno(), "rb", closefd=False)

    def readinto(self, buffer: WriteableBuffer) -> int | None:
        count = super().readinto(buffer)
        if count == 0:
            self._check_end()
        return count

    def readall(self) -> bytes:
        data = super().readall()
        self._check_end()
        return data

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if data == b"" and size != 0:
            self._check_end()
        return data

    @staticmethod
    def _check_end() -> None:
        if not signals.eof_is_trusted():
            raise Interrupted(f"standard input ended with a signal: {signals.describe()}")


class StdioBackend(Backend):
    """Reads stdin and writes stdout; nothing else is possible."""

    features = Features(dirs=False, raw_paths=True, stream=True)


    def info(self, path: str) -> Entry:
        return Entry("-", "file")

    def iterdir(self, path: str) -> Iterator[Entry]:
        raise UsageError("'-' (standard input/output) cannot be listed")

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        # A reader of its own over fd 0 that leaves stdin open when the caller closes it.
        stream = io.BufferedReader(_Stdin())
        remaining = offset
        while remaining:
            skipped = stream.read(min(remaining, 1 << 20))
            if not skipped:
                break
            remaining -= len(skipped)
        return stream

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        return _StdoutWriter()

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        raise UsageError("'-' (standard output) is not a directory")

    def remove_file(self, path: str) -> None:
        raise UsageError("'-' cannot be removed")

    def remove_dir(self, path: str) -> None:
        raise UsageError("'-' cannot be removed")
