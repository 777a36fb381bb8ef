"""read.read_upto: a small local file read whole in one sized read, and every way it can differ
from its listing (grown, shrunk, past the limit, a short read that is not the end)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from genrostore.core.pipeline.read import read_upto


def _read(path: Path, limit: int, expected: int | None) -> bytes | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return read_upto(fd, limit, expected)
    finally:
        os.close(fd)


@pytest.mark.parametrize("expected", [None, 0, 10, 4096, 5000, 10_000])
def test_a_file_is_read_whole_whatever_its_listing_said(tmp_path: Path, expected: int | None) -> None:
    data = os.urandom(4096)
    (tmp_path / "f").write_bytes(data)
    assert _read(tmp_path / "f", 8192, expected) == data


def test_an_empty_file_is_empty_bytes(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"")
    assert _read(tmp_path / "f", 100, 0) == b""


@pytest.mark.parametrize("expected", [None, 10, 100, 101])
def test_a_file_past_the_limit_is_none(tmp_path: Path, expected: int | None) -> None:
    (tmp_path / "f").write_bytes(b"x" * 101)
    assert _read(tmp_path / "f", 100, expected) is None


def test_the_limit_itself_is_admitted(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 100)
    assert _read(tmp_path / "f", 100, 100) == b"x" * 100


@pytest.mark.parametrize("stat_size", [False, True])
def test_a_short_read_is_not_taken_for_the_end(stat_size: bool) -> None:
    """A pipe returns what it has: the rest, written later, is read on until the real end
    (also when a size was stat'ed: fewer bytes than that are not the end)."""
    reader, writer = os.pipe()

    def write_rest() -> None:
        time.sleep(0.05)
        os.write(writer, b"rest")
        os.close(writer)

    os.write(writer, b"first-")
    thread = threading.Thread(target=write_rest)
    thread.start()
    try:
        assert read_upto(reader, 100, 10, stat_size=stat_size) == b"first-rest"
    finally:
        thread.join()
        os.close(reader)


def test_a_short_read_then_more_than_the_limit_is_none() -> None:
    reader, writer = os.pipe()
    os.write(writer, b"a" * 5)

    def write_rest() -> None:
        time.sleep(0.05)
        os.write(writer, b"b" * 200)
        os.close(writer)

    thread = threading.Thread(target=write_rest)
    thread.start()
    try:
        assert read_upto(reader, 100, 10) is None
    finally:
        thread.join()
        os.close(reader)


def test_a_read_of_the_stat_size_is_the_end_and_a_grown_file_is_read_on(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 50)
    fd = os.open(tmp_path / "f", os.O_RDONLY)
    try:
        assert read_upto(fd, 100, 50, stat_size=True) == b"x" * 50
        os.lseek(fd, 0, os.SEEK_SET)
        assert read_upto(fd, 100, 20, stat_size=True) == b"x" * 50  # grew after the fstat
        os.lseek(fd, 0, os.SEEK_SET)
        assert read_upto(fd, 30, 20, stat_size=True) is None
    finally:
        os.close(fd)
