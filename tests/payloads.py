"""Generated test payloads, shared by the backend tests."""

from __future__ import annotations

import hashlib
from typing import Any

MIB = 1024 * 1024


def pattern(size: int) -> bytes:
    """Deterministic bytes for small payloads (big ones are streamed by `stream_into`)."""
    block = hashlib.sha256(str(size).encode()).digest() * (MIB // 32)
    return (block * (size // len(block) + 1))[:size]


def stream_into(node: Any, mib: int) -> str:
    """Write `mib` generated MiB through `node.open("wb")`, never holding them; return their md5.

    Keeping the test process small matters: big payloads built in memory would inflate the
    pytest process that every CLI test forks from.
    """
    digest = hashlib.md5()
    with node.open("wb") as handle:
        for index in range(mib):
            block = hashlib.sha256(index.to_bytes(8, "big")).digest() * (MIB // 32)
            digest.update(block)
            handle.write(block)
    return digest.hexdigest()
