"""`genrostore://MOUNT/path`: the mounts of a profile as one fsspec filesystem.

pandas, pyarrow, Dask, DuckDB and xarray open `scheme://` URLs through fsspec. The
`fsspec.specs` entry point (pyproject.toml) lets them open `genrostore://s3/reports/q3.csv`
without importing genrostore. The URL's host is the mount name, like the bucket of `s3://`;
the rest is the path inside the mount. Every call goes through the mount (jail, retries,
permissions, error mapping), so errors are genrostore's own classes, which subclass the
builtins fsspec callers catch (FileNotFoundError, PermissionError, FileExistsError, ...).

Named `fsspec_protocol` so that it can never shadow the `fsspec` package on import.
"""

from __future__ import annotations

import os
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem, make_instance
from fsspec.utils import stringify_path

from genrostore.core.backend import Entry, Writer
from genrostore.core.errors import (
    AlreadyExists,
    DirectoryNotFound,
    GenrostoreError,
    IsADirectory,
    Unsupported,
)
from genrostore.core.mount import Mount
from genrostore.core.node import Node
from genrostore.core.paths import is_within, normalize
from genrostore.core.profile import find_profile
from genrostore.core.registry import backend_class
from genrostore.core.storage import Storage

PROTOCOL = "genrostore"


class GenrostoreFileSystem(AbstractFileSystem):
    """Every mount of one profile; paths are `MOUNT/path/inside`.

    `profile` is a profile file (else $GENROSTORE_PROFILE, else the XDG default, else only the
    built-in mounts). The instance pickles as that resolved path and nothing else: a Dask worker
    rebuilds it from the same file, and secrets (which live in the file or its environment
    variables) never travel in the pickle.
    """

    protocol = (PROTOCOL,)
    root_marker = ""

    def __init__(self, profile: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        super().__init__(profile=profile, **kwargs)
        found, _explicit = find_profile(profile)
        self.profile_path = os.path.abspath(found) if found is not None else None
        self.storage = Storage.from_profile(self.profile_path if profile is not None else None)

    def __reduce__(self) -> tuple[Any, ...]:
        options = dict(self.storage_options)
        if self.profile_path is not None:
            options["profile"] = self.profile_path
        return make_instance, (type(self), (), options)

    # -- paths -------------------------------------------------------------------------------
    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = stringify_path(path)
        if isinstance(text, list):
            return [cls._strip_protocol(p) for p in text]  # type: ignore[return-value]  # fsspec's contract: a list in, a list out
        return text.removeprefix(f"{PROTOCOL}://").strip("/")

    def unstrip_protocol(self, name: str) -> str:
        return f"{PROTOCOL}://{self._strip_protocol(name)}"

    def _locate(self, path: Any) -> tuple[Mount, str, str]:
        """(mount, path inside it, the mount's name) for an fsspec path."""
        text = self._strip_protocol(path)
        name, _, rest = text.partition("/")
        mount = self.storage.mount(name)
        if backend_class(mount.spec).features.raw_paths:
            raise Unsupported(f"{name}: the {mount.spec.type} mount has no paths fsspec can address")
        return mount, normalize(rest, where=text), name

    def _node(self, path: Any) -> Node:
        mount, rel, _ = self._locate(path)
        return Node(self.storage, mount, rel)

    def _mount_names(self) -> list[str]:
        return [name for name, config in self.storage.mount_configs.items()
                if config.error is None and not backend_class(config.spec).features.raw_paths]

    # -- metadata ----------------------------------------------------------------------------
    @staticmethod
    def _describe(mount_name: str, entry: Entry) -> dict[str, Any]:
        name = f"{mount_name}/{entry.path}" if entry.path else mount_name
        info: dict[str, Any] = {
            "name": name,
            "size": 0 if entry.is_dir else entry.size,
            "type": "directory" if entry.is_dir else "file",
        }
        if entry.mtime is not None:
            info["mtime"] = entry.mtime
        if entry.md5 is not None:
            info["md5"] = entry.md5
        return info

    def info(self, path: Any, **kwargs: Any) -> dict[str, Any]:
        if not self._strip_protocol(path):
            return {"name": "", "size": 0, "type": "directory"}
        mount, rel, name = self._locate(path)
        info = self._describe(name, mount.info(rel))
        if info["type"] == "file" and "md5" not in info:
            md5 = mount.md5(rel)  # a store may know it from one more request (S3's ETag of a single part)
            if md5 is not None:
                info["md5"] = md5
        return info

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:
        if not self._strip_protocol(path):
            listing = [{"name": n, "size": 0, "type": "directory"} for n in self._mount_names()]
        else:
            mount, rel, name = self._locate(path)
            try:
                listing = [self._describe(name, entry) for entry in mount.iterdir(rel)]
            except DirectoryNotFound:
                entry = mount.info(rel)  # a file lists as itself; nothing there raises FileNotFound
                if entry.is_dir:
                    raise
                listing = [self._describe(name, entry)]
        return listing if detail else [item["name"] for item in listing]

    def modified(self, path: Any) -> Any:
        mtime = self.info(path).get("mtime")
        if mtime is None:
            raise Unsupported(f"{self._strip_protocol(path)}: the store keeps no modification time")
        return mtime

    def checksum(self, path: Any) -> int:
        info = self.info(path)
        if info.get("md5"):
            return int(info["md5"], 16)
        return super().checksum(path)

    # -- content -----------------------------------------------------------------------------
    def _open(self, path: Any, mode: str = "rb", block_size: Any = None, autocommit: bool = True,
              cache_options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        mount, rel, _ = self._locate(path)
        if mode == "rb":
            entry = mount.info(rel)
            if entry.is_dir:
                raise IsADirectory(f"{mount.label(rel)}: is a directory")
            if entry.size is None:  # no length known (some HTTP servers): a plain stream
                return mount.open_read(rel)
            kwargs.setdefault("size", entry.size)
        elif mode == "xb":
            if Node(self.storage, mount, rel).exists():
                raise AlreadyExists(f"{mount.label(rel)}: already exists")
        elif mode != "wb":
            raise Unsupported(f"{mount.label(rel)}: open mode {mode!r} is not supported (use rb, wb or xb)")
        return GenrostoreFile(self, self._strip_protocol(path), mount, rel, mode=mode, block_size=block_size,
                              autocommit=autocommit, cache_options=cache_options, **kwargs)

    def cat_file(self, path: Any, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        mount, rel, _ = self._locate(path)
        if start is None and end is None:
            return Node(self.storage, mount, rel).read_bytes()
        return super().cat_file(path, start=start, end=end, **kwargs)

    def pipe_file(self, path: Any, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        node = self._node(path)
        if mode == "create" and node.exists():
            raise AlreadyExists(f"{node.fullpath}: already exists")
        node.write(bytes(value))

    def cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        """Copy one file, server-side when both paths are in one store that can."""
        from genrostore.core.pipeline.copying import copy_file

        src, dst = self._node(path1), self._node(path2)
        entry = src.info()
        if entry.is_dir:
            dst.mount.mkdir(dst.path, parents=True, exist_ok=True)
            return
        copy_file(src, dst, entry=entry)

    # -- structure ---------------------------------------------------------------------------
    def mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        node = self._node(path)
        if not node.path or node.exists():
            raise AlreadyExists(f"{node.fullpath}: already exists")
        node.mkdir(parents=create_parents, exist_ok=False)

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        node = self._node(path)
        if not node.path:
            if exist_ok:
                return
            raise AlreadyExists(f"{node.fullpath}: already exists")
        node.mkdir(parents=True, exist_ok=exist_ok)

    def rmdir(self, path: Any) -> None:
        mount, rel, _ = self._locate(path)
        mount.remove_dir(rel)

    def rm_file(self, path: Any) -> None:
        mount, rel, _ = self._locate(path)
        mount.remove_file(rel)

    _rm = rm_file

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Remove files, and with `recursive` whole trees in one call to the store."""
        if maxdepth is not None:
            super().rm(path, recursive=recursive, maxdepth=maxdepth)
            return
        removed: list[str] = []
        for item in self.expand_path(path, recursive=False):
            if any(is_within(item, tree) for tree in removed):
                continue
            node = self._node(item)
            entry = node.info()
            if not entry.is_dir:
                node.mount.remove_file(node.path)
            elif recursive:
                node.delete(recursive=True)
                removed.append(item)
            else:
                node.mount.remove_dir(node.path)


class GenrostoreFile(AbstractBufferedFile):
    """Reads fetch block ranges from the mount; writes stream into its atomic writer.

    A write is published only on close (or `commit()` in a transaction); an exception inside
    `with fs.open(p, "wb")` discards it, so no partial file is ever visible.
    """

    closed: bool  # AbstractBufferedFile's property; fsspec has no type information

    def __init__(self, fs: GenrostoreFileSystem, path: str, mount: Mount, rel: str, **kwargs: Any) -> None:
        self._mount = mount
        self._rel = rel
        self._writer: Writer | None = None
        super().__init__(fs, path, **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return self._mount.read_range(self._rel, start, end - start)

    def _initiate_upload(self) -> None:
        self._writer = self._mount.open_write(self._rel)

    def _upload_chunk(self, final: bool = False) -> bool:
        assert self._writer is not None
        data = self.buffer.getvalue()
        try:
            if data:
                self._writer.write(data)
        except GenrostoreError:
            self.discard()
            raise
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        if self._writer is None:
            return
        writer, self._writer = self._writer, None
        writer.commit()

    def discard(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.abort()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None and self.mode != "rb" and not self.closed:
            self.discard()
            self.closed = True
            return
        self.close()
