"""Local disk: atomic writes (temp file + fsync + rename), mode bits kept, symlinks jailed."""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from genrostore.core import durable, signals, tempnames, writeback
from genrostore.core.backend import Backend, Entry, Features, Prune, Skipped, Writer
from genrostore.core.errors import (
    ConfigError,
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    NotADirectory,
    NotPermitted,
    UsageError,
)
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="local",
    summary="A directory on this machine's disk.",
    options=(Option("path", "Root directory of the mount (absolute; `~` is expanded).", required=True,
                    aliases=("base_path",)),),
    module=__name__,
    cls="LocalBackend",
    schemes=("file",),
    aliases=("file",),
)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def create_temp(target: str) -> tuple[int, str]:
    """A new temp file beside `target`, readable by its owner only until it is published."""
    directory = os.path.dirname(target) or "."
    while True:
        temp = os.path.join(directory, tempnames.temp_name(os.path.basename(target)))
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600), temp
        except FileExistsError:
            continue


class AtomicFileWriter(Writer):
    """Writes to a temp file beside the target and renames it into place on commit."""

    def __init__(self, target: str, mtime: datetime | None = None, *, target_mode: int | None | bool = True) -> None:
        """`target_mode`: the mode bits of the file the target held when the caller looked (None:
        there was none), so the commit need not look again; True: unknown, looked up then."""
        self.target = target
        self.mtime = mtime  # set on the temp file before the rename: published with its time
        self._target_mode = target_mode
        fd, self.temp = create_temp(target)
        self._file = os.fdopen(fd, "wb")
        self._written = 0  # through write(); the engine's kernel copy writes the fd itself
        self._synced = 0
        self._stat: os.stat_result | None = None  # of the temp file, once written (device())

    @property
    def fileno(self) -> int:
        return self._file.fileno()

    def write(self, data: bytes) -> None:
        self._stat = None
        self._file.write(data)
        self._written += len(data)
        if self._written - self._synced >= writeback.STEP:
            self._file.flush()
            writeback.start_writeback(self._file.fileno(), self._synced, self._written - self._synced)
            self._synced = self._written

    def flush(self) -> None:
        self._file.flush()

    # Set by a writer of many files (pipeline/diskstage.py) once `durable.flush_batch` proved
    # everything written to this file on disk without error: the commit needs no fsync of its own.
    flushed_by_syncfs = False

    def device(self) -> int:
        """Asked once the bytes are written (pipeline/diskstage.py): its fstat serves the commit."""
        self._file.flush()
        self._stat = os.fstat(self._file.fileno())
        return self._stat.st_dev

    def _commit(self) -> None:
        try:
            self._file.flush()
            fd = self._file.fileno()
            written = self._stat or os.fstat(fd)
            # Mode and time through the open descriptor (no path lookups), before the fsync so
            # an fsync makes them durable with the bytes.
            os.chmod(fd, self._mode())
            if self.mtime is not None:
                os.utime(fd, ns=(written.st_atime_ns, mtime_ns(self.mtime)))
            if not self.flushed_by_syncfs:
                durable.make_durable(fd, written.st_dev)  # with the files finishing beside it
            self._file.close()
            signals.refuse_publish()
            os.replace(self.temp, self.target)
        except BaseException:
            self._remove_temp()
            raise
        self._check_in_place(written)

    def _check_in_place(self, written: os.stat_result) -> None:
        """The final name must now be the file written (a filesystem that maps names, or a
        rename that silently did nothing, would otherwise pass for success)."""
        try:
            found = os.stat(self.target)
        except FileNotFoundError:
            found = None
        if found is None or (found.st_dev, found.st_ino) != (written.st_dev, written.st_ino):
            raise GenrostoreError("renamed into place, but "
                                  f"{'nothing' if found is None else 'another file'} is under this name afterwards")

    # Like cp: a new file takes the source's mode bits (minus the umask) when the source has
    # them; an existing destination keeps its own.
    source_mode: int | None = None

    def _mode(self) -> int:
        if self._target_mode is True:
            try:
                return stat.S_IMODE(os.stat(self.target).st_mode)
            except FileNotFoundError:
                pass
        elif isinstance(self._target_mode, int):
            return self._target_mode
        base = self.source_mode if self.source_mode is not None else 0o666
        return base & ~_UMASK

    def _abort(self) -> None:
        self._remove_temp()

    def _remove_temp(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


def mtime_ns(mtime: datetime) -> int:
    """A datetime as integer nanoseconds since the epoch, without float rounding."""
    delta = mtime - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PARENT_TTL = 1.0  # seconds a directory's resolution is reused (LocalBackend._resolve)
_PARENTS_KEPT = 256


def _entry(path: str, st: os.stat_result) -> Entry:
    is_dir = stat.S_ISDIR(st.st_mode)
    return Entry(
        path=path,
        type="dir" if is_dir else "file",
        size=None if is_dir else st.st_size,
        mtime=_EPOCH + timedelta(microseconds=st.st_mtime_ns // 1000),  # no float rounding
    )


def _relative_to(top: str, depth: int, path: str) -> str:
    """The ancestor of `path` at `depth` levels below `top` (0: `top` itself), as a mount path."""
    below = path[len(top) + 1 :].split("/") if top else path.split("/")
    return "/".join(([top] if top else []) + below[:depth])


class LocalBackend(Backend):
    """A local directory; every path is checked to resolve inside the root, symlinks included."""

    features = Features(server_move=True, ranged_reads=True, atomic_rename=True, local_disk=True, mtime=True,
                        mtime_precision=1e-9)


    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        root = os.path.expanduser(options["path"])
        if not os.path.isabs(root):
            raise ConfigError(f"mount '{self.name}': local path must be absolute, got {options['path']!r}")
        self.root = os.path.normpath(root)
        self._real_root = os.path.realpath(self.root)
        self._parents: dict[str, tuple[str, float]] = {}  # directory -> (its realpath, when)

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        """`file:///abs/path` → a mount of `/` and the path inside it."""
        from urllib.parse import unquote, urlsplit

        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"{url}: file:// URLs must name a local path")
        return {"path": "/"}, unquote(parts.path)

    def full(self, path: str) -> str:
        full = os.path.join(self.root, path) if path else self.root
        if self._real_root == "/":
            return full  # every path resolves inside "/": nothing to resolve (plain local paths)
        real = self._resolve(full)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise NotPermitted("resolves outside the mount root (symlink)", path=path,
                               hint="links that leave a mount are not followed")
        return full

    def _resolve(self, full: str) -> str:
        """`os.path.realpath(full)` with the parent's resolution reused for _PARENT_TTL seconds.

        A tree's files share their directory: one lstat of the leaf instead of one per
        component, twice per file (measured: 8 lstats per small file of a 1,000-file upload).
        The reuse is bounded in time, so a directory swapped for a link is seen about as soon
        as before: realpath was always answered some time before the open it guards.
        """
        parent, name = os.path.split(full)
        if not name or name in (".", ".."):
            return os.path.realpath(full)
        now = time.monotonic()
        cached = self._parents.get(parent)
        if cached is None or now - cached[1] > _PARENT_TTL:
            if len(self._parents) >= _PARENTS_KEPT:
                self._parents.clear()
            cached = self._parents[parent] = (os.path.realpath(parent), now)
        leaf = os.path.join(cached[0], name)
        try:
            if stat.S_ISLNK(os.lstat(leaf).st_mode):
                return os.path.realpath(leaf)
        except OSError:
            pass  # absent: realpath resolves it to the same name
        return leaf


    def local_path(self, path: str) -> str | None:
        return self.full(path)

    def info(self, path: str) -> Entry:
        return _entry(path, os.stat(self.full(path)))

    def iterdir(self, path: str) -> Iterator[Entry]:
        for entry, _ in self._scan(path):
            yield entry

    def _scan(self, path: str) -> Iterator[tuple[Entry, os.stat_result | None]]:
        full = self.full(path)
        try:
            with os.scandir(full) as scan:
                items = sorted(scan, key=lambda e: e.name)
        except FileNotFoundError:
            raise DirectoryNotFound("no such directory", path=path) from None
        except NotADirectoryError:
            raise NotADirectory("not a directory", path=path) from None
        for item in items:
            child = f"{path}/{item.name}" if path else item.name
            try:
                st = item.stat()
            except FileNotFoundError:
                continue  # a dangling symlink or a file removed while listing
            except OSError as exc:
                if exc.errno != errno.ELOOP:
                    raise
                yield Skipped(child, "file", reason="symlink loop (too many levels of links); skipped"), None
                continue
            yield _entry(child, st), st

    def walk(self, path: str, prune: Prune | None = None) -> Iterator[Entry]:
        """Pre-order like `Backend.walk`, but a directory that is one of its own ancestors (by
        device and inode: `loop -> .`, `a/up -> ..`) is reported once and not entered, as
        find and rsync do; links are followed otherwise (each stays jailed by `full`)."""
        try:
            top = os.stat(self.full(path))
        except FileNotFoundError:
            raise DirectoryNotFound("no such directory", path=path) from None
        stack = [((top.st_dev, top.st_ino), self._scan(path))]
        while stack:
            entry, st = next(stack[-1][1], (None, None))
            if entry is None:
                stack.pop()
                continue
            if not entry.is_dir or st is None:
                yield entry
                continue
            if prune is not None and prune(entry):
                continue
            key = (st.st_dev, st.st_ino)
            ancestors = [frame[0] for frame in stack]
            if key in ancestors:
                looped = _relative_to(path, ancestors.index(key), entry.path)
                yield Skipped(entry.path, "dir", reason="symlink loop: the same directory as {other} "
                                                       "(device and inode); not descended", other=looped)
                continue
            yield entry
            stack.append((key, self._scan(entry.path)))

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        full = self.full(path)
        if os.path.isdir(full):
            raise IsADirectoryError(full)
        handle = open(full, "rb")  # noqa: SIM115 - returned to the caller
        if offset:
            handle.seek(offset)
        return handle

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        full = self.full(path)
        try:
            found: int | None = os.stat(full).st_mode  # one look: a directory in the way, the mode kept
        except OSError:
            found = None  # absent (or unreachable: creating the temp file says why)
        if found is not None and stat.S_ISDIR(found):
            raise IsADirectoryError(full)
        mode = None if found is None else stat.S_IMODE(found)
        try:
            return AtomicFileWriter(full, mtime, target_mode=mode)
        except FileNotFoundError:
            pass  # a parent is missing: made below (tried first, it cost 3 system calls a file)
        try:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        except FileExistsError:  # a parent is a file: "not a directory", as the OS says deeper down
            raise NotADirectoryError(full) from None
        return AtomicFileWriter(full, mtime, target_mode=mode)

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        full = self.full(path)
        if parents:
            if os.path.exists(full) and not os.path.isdir(full):
                raise FileExistsError(full)
            os.makedirs(full, exist_ok=True)
            return
        try:
            os.mkdir(full)
        except FileExistsError:
            if not (exist_ok and os.path.isdir(full)):
                raise
        except FileNotFoundError:
            raise DirectoryNotFound("parent directory does not exist", path=path,
                                    fix="parents") from None

    def set_mtime(self, path: str, mtime: datetime) -> None:
        full = self.full(path)
        if os.path.isdir(full):
            raise IsADirectoryError(full)
        os.utime(full, ns=(os.stat(full).st_atime_ns, mtime_ns(mtime)))

    def remove_file(self, path: str) -> None:
        full = self.full(path)
        if os.path.isdir(full) and not os.path.islink(full):
            raise IsADirectoryError(full)
        os.unlink(full)

    def remove_dir(self, path: str) -> None:
        os.rmdir(self.full(path))

    def rename_dir(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        if not isinstance(dst, LocalBackend):
            return False
        source, target = self.full(src_path), dst.full(dst_path)
        if os.path.islink(source) or not os.path.isdir(source) or os.path.lexists(target):
            return False  # os.rename would replace an empty directory: never onto anything
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.rename(source, target)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return False
            raise
        return True

    def server_move(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """os.replace inside one file system (any two local mounts on it); False across devices."""
        if not isinstance(dst, LocalBackend):
            return False
        source, target = self.full(src_path), dst.full(dst_path)
        if os.path.isdir(source) and not os.path.islink(source):
            raise IsADirectoryError(source)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.replace(source, target)
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return False
            raise
        return True

    def remove_tree(self, path: str) -> None:
        import shutil

        full = self.full(path)
        if not os.path.exists(full):
            raise FileNotFound("no such file or directory", path=path)
        shutil.rmtree(full)
