"""md5 listings and `md5sum -c`-style checking, over any mount."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from genrostore.core.errors import GenrostoreError, UsageError
from genrostore.core.globs import has_magic
from genrostore.core.hashing import md5_of
from genrostore.core.node import Node
from genrostore.core.select import iter_expand

if TYPE_CHECKING:
    from genrostore.core.storage import Storage

_LINE = re.compile(r"^\\?([0-9a-fA-F]{32}) [ *](.+)$")


def hashes(storage: Storage, text: str, *, recursive: bool) -> Iterator[tuple[str, str]]:
    """(label, hex md5) for every file `text` names; labels extend what the user typed."""
    literal = not has_magic(text)
    for node in iter_expand(storage, text):
        if node.is_stdio:
            yield "-", md5_of(node)
            continue
        entry = node.info()
        label = text if literal else node.fullpath
        if not entry.is_dir:
            yield label, md5_of(node)
            continue
        if not recursive:
            raise UsageError(f"{node.fullpath}: is a directory", hint="use -r to hash every file below it")
        prefix = len(node.path) + 1 if node.path else 0
        base = label if label.endswith(("/", ":")) else label + "/"
        for child in node.mount.walk(node.path):
            if not child.is_dir:
                yield base + child.path[prefix:], md5_of(Node(storage, node.mount, child.path))


def check(storage: Storage, sums_file: str, *, report: Callable[[str], None], warn: Callable[[str], None]) -> None:
    """Verify a sums file; exit 1 (GenrostoreError) on a mismatch, the error's own code otherwise."""
    source = storage.node(sums_file)
    text = source.read_bytes().decode("utf-8", "surrogateescape")
    mismatches = 0
    errors: list[GenrostoreError] = []
    lines = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            warn(f"genrostore: {sums_file}:{number}: not a md5sum line")
            errors.append(UsageError(f"{sums_file}:{number}: improperly formatted md5 line"))
            continue
        lines += 1
        expected, path = match.group(1).lower(), match.group(2)
        try:
            actual = md5_of(storage.node(path))
        except GenrostoreError as exc:
            report(f"{path}: FAILED open or read")
            warn(f"genrostore: {exc}")
            errors.append(exc)
            continue
        if actual == expected:
            report(f"{path}: OK")
        else:
            report(f"{path}: FAILED")
            mismatches += 1
    if lines == 0 and not errors:
        raise UsageError(f"{sums_file}: no properly formatted md5 lines found")
    if errors:
        first = errors[0]
        raise type(first)(f"{len(errors)} listed file(s) could not be checked; first: {first.message}")
    if mismatches:
        raise GenrostoreError(f"WARNING: {mismatches} computed checksum(s) did NOT match")
