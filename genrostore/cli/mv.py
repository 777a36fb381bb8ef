"""`genrostore mv`: cp, then each source removed once its copy is verified (or the store's own move)."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.cli.progress import make_progress
from genrostore.core.filters import NO_FILTER, Filter


@with_filters
def mv(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="SRC... DST")],
    recursive: Annotated[bool, typer.Option("-r", "-R", "--recursive",
                         help="Move directories (emptied source directories are removed).")] = False,
    no_clobber: Annotated[bool, typer.Option("-n", "--no-clobber",
                          help="Never overwrite an existing file (its source stays).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be moved (DRY-RUN:), change nothing.")] = False,
    jobs: Annotated[int | None, typer.Option("-j", "--transfers", min=1,
                    help="Parallel transfers (default 16 for remote stores, 4 for local disks).")] = None,
    checksum: Annotated[bool, typer.Option("--checksum",
                        help="Verify each copy by md5 before removing its source; a mismatch fails.")] = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress",
                        help="Force or hide the progress display (default: only on a terminal).")] = None,
    filters: Filter = NO_FILTER,
) -> None:
    """Move files: a rename inside one store where it can, else copy, verify (size, md5), remove.

    A failed copy never removes its source. Examples: genrostore mv home:a.txt home:old/ ·
    genrostore mv -r home:photos/ s3:archive/photos/ · genrostore mv 's3:logs/*.gz' home:logs/
    """
    from genrostore.core.errors import UsageError
    from genrostore.core.pipeline.api import default_jobs, move_nodes
    from genrostore.core.pipeline.options import CopyOptions
    from genrostore.core.pipeline.outcome import raise_for
    from genrostore.core.select import expand

    app: App = ctx.obj
    app.settings.dry_run = dry_run
    storage = app.storage
    if len(paths) < 2:
        raise UsageError("mv needs a source and a destination", hint="genrostore mv SRC... DST")
    if "-" in paths:
        raise UsageError("mv moves files: '-' cannot be a source or destination", hint="use cp for stdin/stdout")
    *source_texts, target = paths
    sources = [node for text in source_texts for node in expand(storage, text)]
    destination = storage.node(target)
    sink = make_progress(progress, app.settings.quiet)
    options = CopyOptions(no_clobber=no_clobber, checksum=checksum,
                          jobs=jobs or default_jobs(destination.mount, *([sources[0].mount] if sources else [])),
                          progress=sink)
    try:
        outcome = move_nodes(sources, destination, options, recursive=recursive, filters=filters)
    finally:
        if sink is not None:
            sink.close()
    if destination.mount.backend.features.raw_paths:
        for node in outcome.copied:
            app.out(node.path)
    raise_for(outcome)


def register(app: typer.Typer) -> None:
    app.command("mv")(mv)
