"""md5 of local files: the buffer follows the file's size, the digest never does."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from genrostore.core.hashing import HASH_CHUNK, md5_file


@pytest.mark.parametrize("size", [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, HASH_CHUNK, HASH_CHUNK + 3])
def test_md5_file_matches_hashlib_at_every_buffer_boundary(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    assert md5_file(str(tmp_path / "f")) == hashlib.md5(data).hexdigest()


def test_a_file_that_grows_while_hashed_is_read_to_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The buffer is sized from fstat; bytes appended after it are still read (the loop runs to EOF)."""
    path = tmp_path / "f"
    path.write_bytes(b"a" * 10)
    real_fstat = os.fstat

    def fstat_then_grow(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        with open(path, "ab") as more:
            more.write(b"b" * 200_000)
        return result

    monkeypatch.setattr(os, "fstat", fstat_then_grow)
    assert md5_file(str(path)) == hashlib.md5(b"a" * 10 + b"b" * 200_000).hexdigest()
