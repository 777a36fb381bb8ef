"""`genrostore rm`: remove files, and directories with -r."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from genrostore.cli.clusteropts import Cluster, ShipProfile, cluster_target
from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.core.filters import NO_FILTER, Filter

if TYPE_CHECKING:
    from genrostore.core.node import Node


@with_filters
def rm(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="Files or directories to remove; quoted globs.")],
    recursive: Annotated[bool, typer.Option("-r", "-R", "--recursive", help="Remove directories and their content.")] = False,
    force: Annotated[bool, typer.Option("-f", "--force", help="Ignore files that do not exist.")] = False,
    allow_root: Annotated[bool, typer.Option("--allow-root", help="Allow removing everything in a mount's root.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed (DRY-RUN:), change nothing.")] = False,
    cluster: Cluster = None,
    ship_profile: ShipProfile = False,
    filters: Filter = NO_FILTER,
) -> None:
    """Remove files (and, with -r, directories).

    With filter options, -r removes only the files in scope and the directories left empty by
    that; the named directory itself and everything out of scope stay.

    Examples: genrostore rm s3:tmp/a.txt · genrostore rm -r 'sftp:cache/**' · genrostore rm -f mem:x
    """
    from genrostore.core.errors import FileNotFound, GenrostoreError
    from genrostore.core.select import iter_expand
    from genrostore.core.pipeline.outcome import CopyResult, raise_for
    app: App = ctx.obj
    app.settings.dry_run = dry_run
    where = cluster_target(app, cluster, ship_profile) if recursive else None
    outcome = CopyResult()
    for path in paths:
        try:
            for node in iter_expand(app.storage, path):
                if where is not None and (node.path or allow_root) and node.is_dir():
                    from genrostore.cluster.commands import remove

                    remove(where, node, filters)
                elif filters.active:
                    _delete_in_scope(node, filters, recursive=recursive, allow_root=allow_root)
                else:
                    node.delete(recursive=recursive, allow_root=allow_root)
                outcome.done += 1
        except GenrostoreError as exc:
            if force and isinstance(exc, FileNotFound):
                continue
            if len(paths) == 1:
                raise
            outcome.failures.append((path, exc))
    raise_for(outcome)


def _delete_in_scope(node: Node, filters: Filter, *, recursive: bool, allow_root: bool) -> None:
    from genrostore.core.errors import UsageError
    from genrostore.core.scope import file_in_scope, remove_in_scope

    entry = node.info()
    if not entry.is_dir:
        if file_in_scope(entry, filters):
            node.mount.remove_file(node.path)
        return
    if not recursive:
        raise UsageError(f"{node.fullpath}: is a directory", hint="use -r to remove what is in scope below it")
    if not node.path and not allow_root:
        raise UsageError(f"{node.fullpath}: refusing to remove the root of a mount",
                         hint="add --allow-root to remove everything in it")
    remove_in_scope(node.mount, node.path, filters)


def register(app: typer.Typer) -> None:
    app.command("rm")(rm)
