"""md5 of a node: the store's own hash when it is known to be the real md5, else streamed."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

from genrostore.core.backend import CHUNK_SIZE
from genrostore.core.errors import UsageError

if TYPE_CHECKING:
    from genrostore.core.node import Node

HASH_CHUNK = 4 * CHUNK_SIZE


def md5_of(node: Node) -> str:
    """Hex md5 of the node's bytes, never reading the whole file into memory."""
    if not node.is_stdio:
        entry = node.info()
        if entry.is_dir:
            raise UsageError(f"{node.fullpath}: is a directory", fix="recursive-hash")
        stored = node.mount.md5(node.path)
        if stored:
            return stored
        local = node.mount.local_path(node.path)
        if local is not None:
            with node.mount.bypassing(node.path):  # open() of the local path: past the Mount's wrapper
                return _md5_file(local)
    digest = hashlib.md5()
    with node.mount.open_read(node.path) as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def md5_file(path: str) -> str:
    """Hex md5 of a local file, read in HASH_CHUNK pieces."""
    return _md5_file(path)


def _md5_file(path: str) -> str:
    """The buffer is as large as the file, up to HASH_CHUNK: sync hashes small files on 16
    threads, and a 4 MiB buffer each (zero-filled, so resident) doubled its peak RSS."""
    digest = hashlib.md5()
    with open(path, "rb", buffering=0) as handle:
        length = os.fstat(handle.fileno()).st_size
        buffer = bytearray(min(HASH_CHUNK, max(length + 1, 64 * 1024)))
        view = memoryview(buffer)
        while True:
            size = handle.readinto(buffer)
            if not size:
                break
            digest.update(view[:size])
    return digest.hexdigest()
