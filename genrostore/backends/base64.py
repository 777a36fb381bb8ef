"""Inline content: the path *is* the data, base64-encoded (`data:SGVsbG8=`).

Reading decodes the path (standard or URL-safe alphabet, padding optional, whitespace ignored,
`data:<mime>;base64,` URIs accepted); writing chooses the path: the encoding of the content.
"""

from __future__ import annotations

import base64 as b64
import binascii
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import datetime, UTC
from typing import Any, BinaryIO

from genrostore.core.b64stream import padding_error
from genrostore.core.backend import Backend, Entry, Features, Writer
from genrostore.core.errors import UsageError
from genrostore.core.schema import BackendSpec

SPEC = BackendSpec(
    type="base64",
    summary="Inline content: the path is the base64 encoding of the bytes.",
    options=(),
    module=__name__,
    cls="Base64Backend",
    aliases=("data",),
    notes="Directory operations (ls, mkdir, rm) are not possible: exit 6.",
)

_URI_PREFIX = re.compile(r"^(?:data:)?[\w.+-]*/?[\w.+-]*(?:;[\w.+-]+=[^;,]*)*;base64,", re.IGNORECASE)
_ALPHABET = re.compile(r"^[A-Za-z0-9+/\-_]*\Z")


def decode(text: str) -> bytes:
    """Decode any common base64 spelling; raise UsageError rather than return wrong bytes."""
    body = _URI_PREFIX.sub("", text, count=1)
    body = "".join(body.split())
    stripped = body.rstrip("=")
    if not _ALPHABET.match(stripped):
        bad = sorted({c for c in stripped if not _ALPHABET.match(c)})
        raise UsageError(f"invalid base64 data: unexpected character(s) {''.join(bad)!r}",
                         hint="use the standard or URL-safe base64 alphabet")
    if ("+" in body or "/" in body) and ("-" in body or "_" in body):
        raise UsageError("invalid base64 data: mixes the standard and URL-safe alphabets")
    problem = padding_error(len(stripped), len(body) - len(stripped))
    if problem:
        raise UsageError(f"invalid base64 data: {problem}")
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        return b64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except binascii.Error as exc:
        raise UsageError(f"invalid base64 data: {exc}") from None


def encode(data: bytes) -> str:
    return b64.b64encode(data).decode("ascii")


class _EncodingWriter(Writer):
    def __init__(self) -> None:
        self._buffer = io.BytesIO()

    def write(self, data: bytes) -> None:
        self._buffer.write(data)

    def _commit(self) -> None:
        self.final_path = encode(self._buffer.getvalue())

    def _abort(self) -> None:
        self._buffer = io.BytesIO()


class Base64Backend(Backend):
    """No storage at all: reads decode the path, writes return the new path."""

    features = Features(dirs=False, raw_paths=True, no_delete=True)


    def __init__(self, options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(options, **kwargs)
        self._created = datetime.now(UTC)

    def info(self, path: str) -> Entry:
        if not path:
            raise self.unsupported("directories")
        data = decode(path)
        return Entry(path, "file", len(data), self._created, hashlib.md5(data).hexdigest())

    def iterdir(self, path: str) -> Iterator[Entry]:
        raise self.unsupported("listing (inline data has no directories)")

    def open_read(self, path: str, offset: int = 0) -> BinaryIO:
        stream = io.BytesIO(decode(path))
        stream.seek(offset)
        return stream

    def open_write(self, path: str, size_hint: int | None = None, mtime: datetime | None = None) -> Writer:
        return _EncodingWriter()

    def mkdir(self, path: str, parents: bool = False, exist_ok: bool = False) -> None:
        raise self.unsupported("mkdir (inline data has no directories)")

    def remove_file(self, path: str) -> None:
        raise self.unsupported("rm (inline data cannot be deleted; it lives in the path)")

    def remove_dir(self, path: str) -> None:
        raise self.unsupported("rm (inline data has no directories)")

    def remove_tree(self, path: str) -> None:
        self.remove_dir(path)
