"""md5 listings and `md5sum -c`-style checking, over any mount.

Lines follow GNU md5sum both ways: a name holding `\\`, a newline or a carriage return is
written escaped (`\\n`, `\\r`, `\\\\`) on a line that starts with `\\`, and such lines are read back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from genrostore.core.backend import CHUNK_SIZE
from genrostore.core.errors import GenrostoreError, UsageError
from genrostore.core.filters import NO_FILTER, Filter
from genrostore.core.hashing import md5_of
from genrostore.core.node import Node
from genrostore.core.scope import file_in_scope, walk_in_scope
from genrostore.core.select import iter_matches

if TYPE_CHECKING:
    from genrostore.core.storage import Storage

_LINE = re.compile(r"^(\\?)([0-9a-fA-F]{32}) [ *](.+)$", re.DOTALL)
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r"}
_MAX_LINE = 1024 * 1024  # a name is at most a few KiB: anything longer is not a sums file


def escape_name(name: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in name)


def unescape_name(text: str) -> str | None:
    """The name of an escaped md5sum line; None for an escape md5sum does not write."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            value = _UNESCAPES.get(text[i + 1 : i + 2])
            if value is None:
                return None
            out.append(value)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def sum_line(digest: str, name: str) -> str:
    """`<md5>  <name>` as md5sum writes it."""
    if any(c in name for c in _ESCAPES):
        return f"\\{digest}  {escape_name(name)}"
    return f"{digest}  {name}"


def check_label(name: str) -> str:
    """A name in `md5 -c` output: md5sum escapes it only when it holds a newline."""
    return "\\" + escape_name(name) if "\n" in name else name


def hashes(storage: Storage, text: str, *, recursive: bool, filters: Filter = NO_FILTER) -> Iterator[tuple[str, str]]:
    """(name, hex md5) for every file `text` names (and `filters` keeps); each name is an
    address `md5 -c` reads back."""
    for name, node, listed, _ in files_to_hash(storage, text, recursive=recursive, filters=filters):
        # The listing's md5 (an S3 single-part ETag, GCS md5Hash): no request per object.
        yield name, listed or md5_of(node)


def files_to_hash(storage: Storage, text: str, *, recursive: bool,
                  filters: Filter = NO_FILTER) -> Iterator[tuple[str, Node, str | None, int]]:
    """(name, node, the md5 its listing gave or None, size) for every file `text` names, in
    walk order: what `hashes` hashes here and `md5 -r --cluster` hashes on the workers."""
    for match in iter_matches(storage, text):
        node = match.node
        if node.is_stdio:
            yield "-", node, None, 0
            continue
        entry = node.info()
        if not entry.is_dir:
            if file_in_scope(entry, filters):
                yield match.address, node, None, entry.size or 0
            continue
        if not recursive:
            raise UsageError(f"{node.fullpath}: is a directory", fix="recursive-hash")
        prefix = len(node.path) + 1 if node.path else 0
        base = match.address if match.address.endswith(("/", ":")) else match.address + "/"
        for child in walk_in_scope(node.mount, node.path, filters):
            if not child.is_dir:
                yield base + child.path[prefix:], Node(storage, node.mount, child.path), child.md5, child.size or 0


def _lines(source: Node) -> Iterator[str]:
    """The sums file's lines, streamed; split on newlines only, a Windows `\\r` dropped (as md5sum)."""
    pending = b""
    with source.mount.open_read(source.path) as stream:
        while True:
            block = stream.read(CHUNK_SIZE)
            if not block:
                break
            *complete, pending = (pending + block).split(b"\n")
            yield from (_text(raw) for raw in complete)
            if len(pending) > _MAX_LINE:
                raise UsageError(f"{source.fullpath}: a line longer than {_MAX_LINE} bytes: not a sums file")
    if pending:
        yield _text(pending)


def _text(raw: bytes) -> str:
    return raw.removesuffix(b"\r").decode("utf-8", "surrogateescape")


def _parse(line: str) -> tuple[str, str] | None:
    match = _LINE.match(line)
    if match is None:
        return None
    escaped, expected, name = match.groups()
    if escaped:
        unescaped = unescape_name(name)
        if unescaped is None:
            return None
        name = unescaped
    return expected.lower(), name


def check(storage: Storage, sums_file: str, *, report: Callable[[str], None], warn: Callable[[str], None]) -> None:
    """Verify a sums file; exit 1 (GenrostoreError) on a mismatch, the error's own code otherwise."""
    source = storage.node(sums_file)
    mismatches = 0
    errors: list[GenrostoreError] = []
    lines = 0
    for number, line in enumerate(_lines(source), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parsed = _parse(line)
        if parsed is None:
            warn(f"genrostore: {sums_file}:{number}: not a md5sum line")
            errors.append(UsageError(f"{sums_file}:{number}: improperly formatted md5 line"))
            continue
        lines += 1
        expected, path = parsed
        label = check_label(path)
        try:
            actual = md5_of(storage.node(path))
        except GenrostoreError as exc:
            report(f"{label}: FAILED open or read")
            warn(f"genrostore: {exc}")
            errors.append(exc)
            continue
        if actual == expected:
            report(f"{label}: OK")
        else:
            report(f"{label}: FAILED")
            mismatches += 1
    if lines == 0 and not errors:
        raise UsageError(f"{sums_file}: no properly formatted md5 lines found")
    if errors:
        first = errors[0]
        raise type(first)(f"{len(errors)} listed file(s) could not be checked; first: {first.message}")
    if mismatches:
        raise GenrostoreError(f"WARNING: {mismatches} computed checksum(s) did NOT match")
