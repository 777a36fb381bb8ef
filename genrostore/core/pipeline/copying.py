"""Execute a Copy: the bytes of one file, by the cheapest path both ends allow.

Server-side when both ends share a store, the kernel's copy when both are local files, the
parallel-range download for a large remote object into a local file, else a chunked stream
into an atomic Writer. The rules around it (read-only, dry run, retries, verify, publish)
are rules.py's.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from typing import TYPE_CHECKING

from genrostore.core import hashing, writeback
from genrostore.core.actions import Copy
from genrostore.core.backend import CHUNK_SIZE, Entry, Writer
from genrostore.core.errors import TemporaryError
from genrostore.core.pipeline import ranges, rules
from genrostore.core.pipeline.decide import copy_or_skip
from genrostore.core.pipeline.options import CopyOptions, ProgressSink
from genrostore.core.pipeline.plan import Pair

if TYPE_CHECKING:
    from genrostore.core.node import Node
    from genrostore.core.settings import Settings


def copy_file(src: Node, dst: Node, *, entry: Entry | None = None, options: CopyOptions | None = None) -> bool:
    """Copy one file as `cp` would; False when skipped (no-clobber or dry run)."""
    options = options or CopyOptions()
    action = copy_or_skip(Pair(src, dst, entry), options)
    return copy(action, options) if isinstance(action, Copy) else False


def copy(action: Copy, options: CopyOptions) -> bool:
    """Execute one Copy; False when the dry run only reported it. Retries transient failures."""
    src, dst, entry = action.src, action.dst, action.entry
    if entry is not None and entry.is_dir:  # an empty source directory, recreated (cp -r)
        dst.mount.mkdir(dst.path, parents=True, exist_ok=True)
        return not dst.mount.settings.dry_run
    if not rules.admit("copy", src, dst):
        return False
    seen = [entry]

    def once(changed: bool) -> None:
        if changed:
            seen[0] = src.info()  # the version to pin this time
        _copy_once(src, dst, seen[0], options)

    rules.retrying(src, dst, once)
    if options.checksum and not dst.is_stdio:
        rules.verify(src, dst)
    return True


def _copy_once(src: Node, dst: Node, entry: Entry | None, options: CopyOptions) -> None:
    if not src.is_stdio and src.mount.server_copy(src.path, dst.mount, dst.path):
        options.advance(entry.size or 0 if entry is not None else 0)
        return

    def fill(writer: Writer) -> None:
        source_path = None if src.is_stdio else src.mount.local_path(src.path)
        fileno = getattr(writer, "fileno", None)
        if source_path is not None and fileno is not None:
            # os calls on the source's path and the writer's fileno: past the Mount's wrapper
            with dst.mount.bypassing(dst.path):
                writer.source_mode = stat.S_IMODE(os.stat(source_path).st_mode)  # type: ignore[attr-defined]  # a writer with a fileno is a local one
                _kernel_copy(source_path, fileno, options)
        elif fileno is not None and entry is not None and ranges.worth_ranges(src, entry.size or 0):
            with dst.mount.bypassing(dst.path):  # ranges written to the writer's fileno by os.pwrite
                _download(src, fileno, entry, options)
        else:
            if source_path is not None and writer.wants_md5():
                # A local source is hashed first (as rclone does) so a large S3 upload carries its
                # md5 from the start: reading the file twice locally beats a server-side copy.
                with src.mount.bypassing(src.path):
                    writer.declare_md5(hashing.md5_file(source_path))
            _stream(src, writer, options, dst.mount.settings)

    rules.write_with(dst, entry.size if entry is not None else None, fill, options,
                     mtime=None if entry is None or src.is_stdio else entry.mtime)


def _download(src: Node, out_fd: int, entry: Entry, options: CopyOptions) -> None:
    """A large remote object into a local file: its ranges written in place as they arrive."""
    os.ftruncate(out_fd, entry.size or 0)

    def put(offset: int, data: bytes) -> None:
        _pwrite_all(out_fd, data, offset)
        options.advance(len(data))

    ranges.download(src, entry, put, check=options.check_cancelled,
                    done=lambda offset, length: writeback.start_writeback(out_fd, offset, length))


def _stream(src: Node, writer: Writer, options: CopyOptions, settings: Settings) -> None:
    watchdog = _Watchdog(settings.low_speed_limit, settings.low_speed_time, src.fullpath)
    with src.mount.open_read(src.path) as stream:
        while chunk := stream.read(CHUNK_SIZE):
            writer.write(chunk)
            watchdog.tick(len(chunk))
            options.check_cancelled()
            options.advance(len(chunk))


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    written = 0
    while written < len(view):
        written += os.pwrite(fd, view[written:], offset + written)


def _kernel_copy(source_path: str, out_fd: int, options: CopyOptions) -> None:
    """Local to local: let the kernel move the bytes (copy_file_range/sendfile), as shutil does."""
    progress = options.progress
    with open(source_path, "rb") as handle:
        in_fd = handle.fileno()
        step = writeback.STEP
        position = 0
        copy_range = getattr(os, "copy_file_range", None)
        while True:
            try:
                sent = copy_range(in_fd, out_fd, step) if copy_range else os.sendfile(out_fd, in_fd, None, step)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
                    raise
                copy_range = None
                try:
                    sent = os.sendfile(out_fd, in_fd, None, step)
                except OSError:
                    _plain_copy(in_fd, out_fd, progress)
                    return
            if not sent:
                return
            writeback.start_writeback(out_fd, position, sent)
            position += sent
            options.check_cancelled()
            if progress is not None:
                progress.advance(sent)


def _plain_copy(in_fd: int, out_fd: int, progress: ProgressSink | None) -> None:
    while True:
        chunk = os.read(in_fd, CHUNK_SIZE)
        if not chunk:
            return
        os.write(out_fd, chunk)
        if progress is not None:
            progress.advance(len(chunk))


class _Watchdog:
    """Fails a transfer whose rate stays below `limit` bytes/s for `window` seconds."""

    def __init__(self, limit: int, window: float, where: str) -> None:
        self.limit = limit
        self.window = window
        self.where = where
        self.start = time.monotonic()
        self.bytes = 0

    def tick(self, size: int) -> None:
        if not self.limit:
            return
        self.bytes += size
        elapsed = time.monotonic() - self.start
        if elapsed >= self.window:
            if self.bytes / elapsed < self.limit:
                raise TemporaryError(
                    f"{self.where}: transfer stalled ({self.bytes / elapsed:.0f} B/s for {elapsed:.0f} s, "
                    f"below --low-speed-limit {self.limit} B/s)"
                )
            self.start = time.monotonic()
            self.bytes = 0


