"""`genrostore b64`: base64 (or a data: URI) of a file, or decode with -d; streamed both ways."""

from __future__ import annotations

import mimetypes
from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App


def b64(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(autocompletion=complete_path, help="The file to encode (or decode with -d); '-' is stdin.")],
    uri: Annotated[bool, typer.Option("--uri", help="Print a data:<mime>;base64,... URI.")] = False,
    mime: Annotated[str | None, typer.Option("--mime", help="MIME type for --uri (default: guessed from the name).")] = None,
    wrap: Annotated[int, typer.Option("-w", "--wrap", min=0, help="Wrap lines after N characters (0: one line).")] = 0,
    decode: Annotated[bool, typer.Option("-d", "--decode", help="Decode base64 (or a data: URI) to bytes.")] = False,
) -> None:
    """Encode a file as base64 on one line, or decode it with -d.

    Examples: genrostore b64 --uri home:logo.png · echo aGk= | genrostore b64 -d -
    """
    from genrostore.core import b64stream
    from genrostore.core.errors import UsageError
    app: App = ctx.obj
    node = app.storage.node(path)
    if not node.is_stdio and node.info().is_dir:
        raise UsageError(f"{node.fullpath}: is a directory", hint="b64 works on one file")
    if decode:
        if uri or mime or wrap:
            raise UsageError("-d takes no --uri, --mime or -w")
        b64stream.decode_node(node, app.out_bytes)
        app.flush()
        return
    prefix = b""
    if uri or mime:
        kind = mime or (mimetypes.guess_type(node.basename)[0] if not node.is_stdio else None)
        prefix = f"data:{kind or 'application/octet-stream'};base64,".encode()
    b64stream.encode_node(node, app.out_bytes, prefix=prefix, wrap=wrap)
    app.flush()


def register(app: typer.Typer) -> None:
    app.command("b64")(b64)
