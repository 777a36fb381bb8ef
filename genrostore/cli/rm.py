"""`genrostore rm`: remove files, and directories with -r."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App


def rm(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="Files or directories to remove; quoted globs.")],
    recursive: Annotated[bool, typer.Option("-r", "-R", "--recursive", help="Remove directories and their content.")] = False,
    force: Annotated[bool, typer.Option("-f", "--force", help="Ignore files that do not exist.")] = False,
    allow_root: Annotated[bool, typer.Option("--allow-root", help="Allow removing everything in a mount's root.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed (DRY-RUN:), change nothing.")] = False,
) -> None:
    """Remove files (and, with -r, directories).

    Examples: genrostore rm s3:tmp/a.txt · genrostore rm -r 'sftp:cache/**' · genrostore rm -f mem:x
    """
    from genrostore.core.errors import FileNotFound, GenrostoreError
    from genrostore.core.select import iter_expand
    from genrostore.core.pipeline.outcome import CopyResult, raise_for
    app: App = ctx.obj
    app.settings.dry_run = dry_run
    outcome = CopyResult()
    for path in paths:
        try:
            for node in iter_expand(app.storage, path):
                node.delete(recursive=recursive, allow_root=allow_root)
                outcome.done += 1
        except GenrostoreError as exc:
            if force and isinstance(exc, FileNotFound):
                continue
            if len(paths) == 1:
                raise
            outcome.failures.append((path, exc))
    raise_for(outcome)


def register(app: typer.Typer) -> None:
    app.command("rm")(rm)
