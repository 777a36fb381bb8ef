"""`genrostore stat`: what one path is."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.format import entry_json, human_time


def stat(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(autocompletion=complete_path, help="The file or directory.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object {path, name, type, size, mtime}.")] = False,
) -> None:
    """Show type, size and modification time of PATH.

    Examples: genrostore stat s3:reports/q3.pdf · genrostore stat --json git:README.md
    """
    app: App = ctx.obj
    node = app.storage.node(path)
    entry = node.info()
    if as_json:
        app.out_json(entry_json(entry, node.fullpath))
        return
    app.out(f"path:  {node.fullpath}")
    app.out(f"type:  {entry.type}")
    if not entry.is_dir:
        app.out(f"size:  {entry.size if entry.size is not None else 'unknown'}")
    app.out(f"mtime: {human_time(entry.mtime)}")


def register(app: typer.Typer) -> None:
    app.command("stat")(stat)
