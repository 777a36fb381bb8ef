"""One writer base: `_commit` / `_abort` run exactly once between them, for every backend's writer."""

from __future__ import annotations

import pytest

from genrostore.backends.memory import MemoryBackend
from genrostore.core.backend import Writer
from genrostore.core.settings import Settings


class Counting(Writer):
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def write(self, data: bytes) -> None:
        pass

    def _commit(self) -> None:
        self.calls.append("commit")
        if self.fail:
            raise OSError("rename failed")

    def _abort(self) -> None:
        self.calls.append("abort")


def test_commit_then_abort_or_commit_again_does_nothing_more() -> None:
    writer = Counting()
    writer.commit()
    writer.abort()
    writer.commit()
    assert writer.calls == ["commit"]


def test_a_failed_commit_is_not_followed_by_an_abort_of_published_data() -> None:
    writer = Counting(fail=True)
    with pytest.raises(OSError), writer:
        pass
    assert writer.calls == ["commit"]


def test_abort_runs_once() -> None:
    writer = Counting()
    with pytest.raises(RuntimeError), writer:
        raise RuntimeError("copy failed")
    writer.abort()
    writer.commit()
    assert writer.calls == ["abort"]


def test_a_backend_writer_publishes_once() -> None:
    """A second commit of an old writer, after a newer write, never publishes its bytes again."""
    backend = MemoryBackend({}, name="m", settings=Settings())
    first = backend.open_write("a.txt")
    first.write(b"old")
    first.commit()
    second = backend.open_write("a.txt")
    second.write(b"new")
    second.commit()
    first.commit()
    with backend.open_read("a.txt") as stream:
        assert stream.read() == b"new"


def test_every_backend_writer_uses_the_base() -> None:
    """No writer re-implements commit/abort (and with them its own once-only guard)."""
    import importlib

    from genrostore.core.registry import BACKEND_MODULES

    def subclasses(cls: type) -> list[type]:
        return [c for sub in cls.__subclasses__() for c in (sub, *subclasses(sub))]

    for module in BACKEND_MODULES.values():
        try:
            importlib.import_module(module)
        except ImportError:
            continue
    overriding = [c.__qualname__ for c in subclasses(Writer)
                  if c.__module__.startswith("genrostore") and ("commit" in vars(c) or "abort" in vars(c))]
    assert overriding == []
