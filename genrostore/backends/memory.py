"""In-process memory: one private store per mount (never a store shared by every mount)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, UTC
from typing import Any, BinaryIO

from genrostore.core.backend import Backend, Entry, Features, Writer
from genrostore.core.errors import DirectoryNotFound, GenrostoreError, UsageError
from genrostore.core.paths import dirname
from genrostore.core.schema import BackendSpec, Option

SPEC = BackendSpec(
    type="memory",
    summary="Files held in this process's memory; gone when the process ends.",
    options=(Option("base_path", "Accepted for genro-storage profiles, where memory stores are shared; here each "
                                 "memory mount has a private store, so a folder prefix would change nothing."),),
    module=__name__,
    cls="MemoryBackend",
    schemes=("memory",),
    aliases=("mem",),
)


@dataclass(frozen=True)
class _Blob:
    data: bytes
    mtime: datetime


class _MemoryWriter(Writer):
    def __init__(self, backend: MemoryBackend, path: str) -> None:
        self._backend = backend
        self._path = path
        self._buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self._buffer.write(data)

    def _commit(self) -> None:
        if self._buffer is not None:
            self._backend._store(self._path, self._buffer.getvalue())
            self._buffer = None  # type: ignore[assignment]  # released: the writer is done

    def _abort(self) -> None:
        self._buffer = None  # type: ignore[assignment]  # released: the writer is done


class MemoryBackend(Backend):
    """A dict of files plus a set of directories, guarded by a lock for parallel copies."""

    features = Features(server_move=True, ranged_reads=True)

    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._files: dict[str, _Blob] = {}
        self._dirs: set[str] = {""}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str) -> tuple[dict[str, Any], str]:
        return {}, url.split("://", 1)[1]

    def _store(self, path: str, data: bytes) -> None:
        with self._lock:
            if path in self._dirs:
                raise UsageError("is a directory", path=path)
            self._add_parents(path)
            self._files[path] = _Blob(data, datetime.now(UTC))

    def _add_parents(self, path: str) -> None:
        """Raises the project's error itself: commit() runs outside the mount's error mapping."""
        parent = dirname(path)
        missing: list[str] = []
        while parent not in self._dirs:
            if parent in self._files:
                raise DirectoryNotFound(f"not a directory ({self.name}:{parent} is a file)", path=path)
            missing.append(parent)
            parent = dirname(parent)
        self._dirs.update(missing)

    def info(self, path: str) -> Entry:
        with self._lock:
            if path in self._dirs:
                return Entry(path, "dir")
            blob = self._files.get(path)
        if blob is None:
            raise FileNotFoundError(path)
        return Entry(path, "file", len(blob.data), blob.mtime)

    def iterdir(self, path: str) -> Iterator[Entry]:
        with self._lock:
            if path not in self._dirs:
                raise DirectoryNotFound("no such directory", path=path)
            prefix = f"{path}/" if path else ""
            dirs = [d for d in self._dirs if d and d.startswith(prefix) and "/" not in d[len(prefix):]]
            files = [(p, b) for p, b in self._files.items() if p.startswith(prefix) and "/" not in p[len(prefix):]]
        entries = [Entry(d, "dir") for d in dirs] + [Entry(p, "file", len(b.data), b.mtime) for p, b in files]
        yield from sorted(entries, key=lambda e: e.name)

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        with self._lock:
            if path in self._dirs:
                raise IsADirectoryError(path)
            blob = self._files.get(path)
        if blob is None:
            raise FileNotFoundError(path)
        stream = io.BytesIO(blob.data)
        stream.seek(offset)
        return stream

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        with self._lock:
            if path in self._dirs:
                raise IsADirectoryError(path)
        return _MemoryWriter(self, path)

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        with self._lock:
            if path in self._files:
                raise FileExistsError(path)
            if path in self._dirs:
                if exist_ok or parents:
                    return
                raise FileExistsError(path)
            if not parents and dirname(path) not in self._dirs:
                raise DirectoryNotFound("parent directory does not exist", path=path,
                                        fix="parents")
            self._add_parents(path)
            self._dirs.add(path)

    def remove_file(self, path: str) -> None:
        with self._lock:
            if path in self._dirs:
                raise IsADirectoryError(path)
            if self._files.pop(path, None) is None:
                raise FileNotFoundError(path)

    def remove_dir(self, path: str) -> None:
        with self._lock:
            if path not in self._dirs:
                raise FileNotFoundError(path)
            prefix = f"{path}/" if path else ""
            if any(p.startswith(prefix) for p in self._files) or any(d.startswith(prefix) for d in self._dirs if d):
                raise GenrostoreError("directory not empty", path=path, fix="recursive")
            if path:
                self._dirs.discard(path)

    def server_move(self, src_path: str, dst: Backend, dst_path: str) -> bool:
        """Re-key the blob inside this store (its bytes are not copied); False for another store."""
        if dst is not self:
            return False
        with self._lock:
            if src_path in self._dirs:
                raise IsADirectoryError(src_path)
            if src_path not in self._files:
                raise FileNotFoundError(src_path)
            if dst_path in self._dirs:
                raise IsADirectoryError(dst_path)
            self._add_parents(dst_path)
            self._files[dst_path] = self._files.pop(src_path)
        return True

    def remove_tree(self, path: str) -> None:
        with self._lock:
            if path not in self._dirs and path not in self._files:
                raise FileNotFoundError(path)
            prefix = f"{path}/" if path else ""
            for p in [p for p in self._files if p.startswith(prefix) or p == path]:
                del self._files[p]
            self._dirs = {d for d in self._dirs if not (d.startswith(prefix) and d) and d != path} | {""}
