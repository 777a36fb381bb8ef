"""Glob semantics: `*`/`?` stay in a segment, `**` recurses, classes, escapes."""

from __future__ import annotations

import pytest

from genrostore import Storage
from genrostore.core.errors import NoMatch
from genrostore.core.globs import compile_glob, has_magic
from genrostore.core.select import expand


@pytest.mark.parametrize("pattern,path,expected", [
    ("*.txt", "a.txt", True), ("*.txt", "d/a.txt", False), ("d/*", "d/a", True), ("?.txt", "ab.txt", False),
    ("**/*.py", "x.py", True), ("**/*.py", "a/b/x.py", True), ("a/**", "a/b/c", True),
    ("[ab].txt", "a.txt", True), ("[!ab].txt", "a.txt", False), ("a\\*", "a*", True), ("a\\*", "ab", False),
])
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert compile_glob(pattern).matches(path) is expected


def test_escaped_star_is_not_magic() -> None:
    assert not has_magic("a\\*b") and has_magic("a*b")


def _storage() -> Storage:
    storage = Storage()
    for name in ("a.txt", "b.txt", "d/c.txt", "d/e/f.txt"):
        storage.node(f"mem:{name}").write(name)
    return storage


def test_expand_lists_matches_sorted() -> None:
    assert [n.path for n in expand(_storage(), "mem:*.txt")] == ["a.txt", "b.txt"]


def test_expand_double_star() -> None:
    assert [n.path for n in expand(_storage(), "mem:**/*.txt")] == ["a.txt", "b.txt", "d/c.txt", "d/e/f.txt"]


def test_no_match_is_an_error_never_a_silent_success() -> None:
    with pytest.raises(NoMatch):
        expand(_storage(), "mem:*.nothing")
