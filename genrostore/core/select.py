"""Expanding command-line sources: quoted remote globs become the nodes they match."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from genrostore.core.errors import DirectoryNotFound, FileNotFound, NoMatch
from genrostore.core.globs import compile_glob, has_magic, unescape

if TYPE_CHECKING:
    from genrostore.core.node import Node
    from genrostore.core.storage import Storage


def expand(storage: Storage, text: str) -> list[Node]:
    """The node `text` names, or every node its glob matches (NoMatch, exit 4, when none)."""
    return list(iter_expand(storage, text))


def iter_expand(storage: Storage, text: str) -> Iterator[Node]:
    from genrostore.core.node import Node

    mount, path, address = storage.resolve(text)
    if mount.backend.raw_paths or not has_magic(path):
        literal = path if mount.backend.raw_paths else unescape(path)
        yield Node(storage, mount, literal, trailing_slash=address.trailing_slash)
        return
    glob = compile_glob(path)
    entries = mount.walk(glob.base) if glob.recursive else mount.iterdir(glob.base)
    found = False
    try:
        for entry in entries:
            if glob.matches(entry.path):
                found = True
                yield Node(storage, mount, entry.path)
    except (FileNotFound, DirectoryNotFound):
        pass
    if not found:
        raise NoMatch(f"{text}: no match", hint="check the pattern; quote it so the shell leaves it alone")
