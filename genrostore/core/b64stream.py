"""Base64 in both directions, streamed in aligned blocks so no file is held in memory."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from genrostore.core.backend import CHUNK_SIZE
from genrostore.core.errors import UsageError

if TYPE_CHECKING:
    from genrostore.core.node import Node

_BLOCK = 3 * CHUNK_SIZE  # a multiple of 3: each block encodes without padding
_URI_HEAD = re.compile(rb"^\s*data:[^,]*;base64,", re.IGNORECASE)
WRONG_PADDING = "wrong padding (too many or too few '=')"


def _chunks(node: Node, size: int) -> Iterator[bytes]:
    with node.mount.open_read(node.path) as stream:
        buffer = b""
        while True:
            data = stream.read(size)
            if not data:
                break
            buffer += data
            if len(buffer) >= size:
                cut = len(buffer) - len(buffer) % 3 if size % 3 == 0 else len(buffer)
                yield buffer[:cut]
                buffer = buffer[cut:]
        if buffer:
            yield buffer


def encode_node(node: Node, sink: Callable[[bytes], None], *, prefix: bytes = b"", wrap: int = 0) -> None:
    """Write base64 of the node, on one line (or `wrap`-wide lines), ending with a newline."""
    column = 0
    if prefix:
        sink(prefix)
        column = len(prefix) if wrap else 0
    for block in _chunks(node, _BLOCK):
        text = base64.b64encode(block)
        if not wrap:
            sink(text)
            continue
        out = bytearray()
        position = 0
        while position < len(text):
            room = wrap - column
            piece = text[position : position + room]
            out += piece
            column += len(piece)
            position += len(piece)
            if column == wrap:
                out += b"\n"
                column = 0
        sink(bytes(out))
    sink(b"\n" if (column or not wrap) else b"")


def padding_error(body_length: int, padding: int) -> str | None:
    """Why `padding` '=' after `body_length` base64 characters is invalid, or None.

    Padding may be left out (URL-safe and data: URIs often drop it) but, as for `base64 -d`,
    never be more or less than the last quantum needs: `SGVsbG8===` is refused everywhere.
    """
    if body_length % 4 == 1:
        return "truncated (length is not a valid base64 length)"
    if padding and padding != -body_length % 4:
        return WRONG_PADDING
    return None


def decode_node(node: Node, sink: Callable[[bytes], None]) -> None:
    """Decode base64 text (standard or URL-safe, any line breaks, a data: URI head) to bytes."""
    pending = b""
    first = True
    for block in _chunks(node, CHUNK_SIZE):
        if first:
            block = _URI_HEAD.sub(b"", block, count=1)
            first = False
        pending += b"".join(block.split())
        if b"=" in pending:  # padding ends the data: what is left is decoded (and checked) at the end
            tail = pending[pending.index(b"=") :]
            if tail.strip(b"=") or len(tail) > 2:
                problem = "data after the padding" if tail.strip(b"=") else WRONG_PADDING
                raise UsageError(f"{_where(node)}: invalid base64 data: {problem}")
            continue
        usable = len(pending) - len(pending) % 4
        if usable:
            sink(_decode(pending[:usable]))
            pending = pending[usable:]
    if pending:
        stripped = pending.rstrip(b"=")
        error = padding_error(len(stripped), len(pending) - len(stripped))
        if error:
            raise UsageError(f"{_where(node)}: invalid base64 data: {error}")
        sink(_decode(stripped + b"=" * (-len(stripped) % 4)))


def _where(node: Node) -> str:
    return "standard input" if node.is_stdio else node.fullpath


def _decode(data: bytes) -> bytes:
    if b"-" in data or b"_" in data:
        data = data.replace(b"-", b"+").replace(b"_", b"/")
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as exc:
        raise UsageError(f"invalid base64 data: {exc}") from None
