"""`genrostore cat`: bytes to stdout, streamed; ranges use the backend's range reads."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App


def cat(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="Files to print; '-' is standard input; quoted globs.")],
    offset: Annotated[int | None, typer.Option("--offset", min=0, help="Start at this byte.")] = None,
    count: Annotated[int | None, typer.Option("--count", min=0, help="Print at most this many bytes.")] = None,
    tail: Annotated[int | None, typer.Option("--tail", min=0, help="Print only the last N bytes.")] = None,
) -> None:
    """Print files to standard output, byte for byte.

    Examples: genrostore cat s3:logs/app.log | grep ERROR · genrostore cat --tail 1000 sftp:big.log
    """
    from genrostore.core.errors import GenrostoreError, UsageError
    from genrostore.core.pipeline.outcome import CopyResult, raise_for
    from genrostore.core.pipeline.read import stream_to
    from genrostore.core.select import iter_expand
    app: App = ctx.obj
    if tail is not None and offset is not None:
        raise UsageError("--tail and --offset cannot be combined")
    outcome = CopyResult()
    for path in paths:
        try:
            for node in iter_expand(app.storage, path):
                stream_to(node, app.out_bytes, offset=offset, count=count, tail=tail)
                outcome.done += 1
        except GenrostoreError as exc:
            if len(paths) == 1:
                raise
            outcome.failures.append((path, exc))
    app.flush()
    raise_for(outcome)


def register(app: typer.Typer) -> None:
    app.command("cat")(cat)
