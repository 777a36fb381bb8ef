"""Glob semantics: `*`/`?` stay in a segment, `**` recurses, classes, escapes."""

from __future__ import annotations

import pytest

from genrostore import Storage
from genrostore.core.errors import NoMatch
from genrostore.core.globs import compile_glob, has_magic, unescape
from genrostore.core.select import expand, iter_matches


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


def test_a_name_that_exists_as_typed_is_that_file_even_with_glob_characters() -> None:
    storage = Storage()
    storage.node("mem:br[1].txt").write("brackets")
    storage.node("mem:br1.txt").write("plain")
    assert [n.path for n in expand(storage, "mem:br[1].txt")] == ["br[1].txt"]


def test_without_such_a_name_the_text_is_a_glob() -> None:
    storage = Storage()
    storage.node("mem:br1.txt").write("plain")
    assert [n.path for n in expand(storage, "mem:br[1].txt")] == ["br1.txt"]


def test_a_backslash_escapes_only_glob_characters() -> None:
    storage = Storage()
    storage.node("mem:back\\slash.txt").write("b")
    storage.node("mem:star*.txt").write("s")
    assert [n.path for n in expand(storage, "mem:back\\slash.txt")] == ["back\\slash.txt"]
    assert [n.path for n in expand(storage, "mem:star\\*.txt")] == ["star*.txt"]
    assert [n.path for n in expand(storage, "mem:back\\s*")] == ["back\\slash.txt"]
    assert unescape("a\\*b\\[c\\]\\\\d\\e") == "a*b[c]\\d\\e"


def test_glob_matches_carry_the_address_as_typed() -> None:
    storage = _storage()
    assert [m.address for m in iter_matches(storage, "mem:d/*.txt")] == ["mem:d/c.txt"]
    assert [m.address for m in iter_matches(storage, "mem:*/e/*")] == ["mem:d/e/f.txt"]
    assert [m.address for m in iter_matches(storage, "mem:d/\\*.nope")] == ["mem:d/*.nope"]
