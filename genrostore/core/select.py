"""Expanding command-line sources: quoted remote globs become the nodes they match.

A name that exists as typed is that file, even when it holds glob characters
(`cat 'm:br[1].txt'`); only otherwise is the text a pattern (or an escaped literal).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from genrostore.core.errors import (
    DirectoryNotFound,
    FileNotFound,
    GenrostoreError,
    Interrupted,
    NoMatch,
    TemporaryError,
)
from genrostore.core.globs import compile_glob, first_magic, unescape

if TYPE_CHECKING:
    from genrostore.core.mount import Mount
    from genrostore.core.node import Node
    from genrostore.core.storage import Storage


@dataclass(frozen=True)
class Match:
    """A node a source names, and the address that reaches it as the user would type it
    (the typed directory part kept, glob escapes removed): what md5 prints, what md5 -c reads."""

    node: Node
    address: str


def expand(storage: Storage, text: str) -> list[Node]:
    """The node `text` names, or every node its glob matches (NoMatch, exit 4, when none)."""
    return list(iter_expand(storage, text))


def iter_expand(storage: Storage, text: str) -> Iterator[Node]:
    for match in iter_matches(storage, text):
        yield match.node


def iter_matches(storage: Storage, text: str) -> Iterator[Match]:
    """Like `iter_expand`, with each node's address (see `Match`)."""
    from genrostore.core.node import Node

    mount, path, address = storage.resolve(text)
    if mount.backend.features.raw_paths:
        yield Match(Node(storage, mount, path, trailing_slash=address.trailing_slash), text)
        return
    literal = unescape(path)
    magic = first_magic(path) is not None
    if (magic or literal != path) and _exists(mount, path):
        yield Match(Node(storage, mount, path, trailing_slash=address.trailing_slash), text)
        return
    if not magic:
        yield Match(Node(storage, mount, literal, trailing_slash=address.trailing_slash), unescape(text))
        return
    glob = compile_glob(path)
    prefix = unescape(_typed_base(text, len(text) - len(address.path) if address.mount else 0))
    entries = mount.walk(glob.base) if glob.recursive else mount.iterdir(glob.base)
    found = False
    try:
        for entry in entries:
            if glob.matches(entry.path):
                found = True
                relative = entry.path[len(glob.base) + 1 :] if glob.base else entry.path
                yield Match(Node(storage, mount, entry.path), prefix + relative)
    except (FileNotFound, DirectoryNotFound):
        pass
    if not found:
        raise NoMatch(f"{text}: no match", hint="check the pattern; quote it so the shell leaves it alone")


def _exists(mount: Mount, path: str) -> bool:
    """A name the backend cannot even look up (a server refusing `*` in a URL) is not there;
    network trouble and Ctrl-C surface at once rather than after the listing's retries too."""
    try:
        mount.info(path)
    except (TemporaryError, Interrupted):
        raise
    except GenrostoreError:
        return False
    return True


def _typed_base(text: str, start: int) -> str:
    """The typed text up to the directory that holds the first wildcard (`m:logs/` of `m:logs/*.gz`)."""
    magic = first_magic(text[start:])
    assert magic is not None
    return text[: max(start, text.rfind("/", 0, start + magic) + 1)]
