"""`genrostore mkdir`: create directories."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App


def mkdir(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="Directories to create.")],
    parents: Annotated[bool, typer.Option("-p", "--parents", help="Create parents; an existing directory is fine.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be created (DRY-RUN:), change nothing.")] = False,
) -> None:
    """Create directories (object stores: see the backend's page for what an empty directory is).

    Examples: genrostore mkdir home:backup · genrostore mkdir -p sftp:a/b/c
    """
    from genrostore.core.errors import GenrostoreError
    from genrostore.core.pipeline.outcome import CopyResult, raise_for
    app: App = ctx.obj
    app.settings.dry_run = dry_run
    outcome = CopyResult()
    for path in paths:
        try:
            app.storage.node(path).mkdir(parents=parents, exist_ok=parents)
            outcome.done += 1
        except GenrostoreError as exc:
            if len(paths) == 1:
                raise
            outcome.failures.append((path, exc))
    raise_for(outcome)


def register(app: typer.Typer) -> None:
    app.command("mkdir")(mkdir)
