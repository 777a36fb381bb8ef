"""`genrostore sync`: make DST's files identical to SRC's, one way, deletes gated (issue 15)."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.clusteropts import Cluster, ShipProfile, cluster_target
from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.core.filters import NO_FILTER, Filter
from genrostore.cli.progress import make_progress


@with_filters
def sync(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(autocompletion=complete_path, help="The source tree (or file).")],
    dst: Annotated[str, typer.Argument(autocompletion=complete_path, help="The tree (or file) made identical to it.")],
    compare: Annotated[str | None, typer.Option("--compare", metavar="auto|size|size,mtime|size,checksum",
                       help="How files are compared (default auto, as `check`).")] = None,
    checksum: Annotated[bool, typer.Option("-c", "--checksum", help="Compare md5s (hashed where none is stored).")] = False,
    size_only: Annotated[bool, typer.Option("--size-only", help="Compare sizes only.")] = False,
    no_delete: Annotated[bool, typer.Option("--no-delete", help="Copy new and changed files; delete nothing.")] = False,
    update: Annotated[bool, typer.Option("-u", "--update", help="Skip files that are newer in DST.")] = False,
    ignore_existing: Annotated[bool, typer.Option("--ignore-existing", help="Skip every file DST has.")] = False,
    allow_empty_src: Annotated[bool, typer.Option("--allow-empty-src", help="Let an empty SRC empty DST.")] = False,
    max_delete: Annotated[str | None, typer.Option("--max-delete", metavar="N|N%",
                          help="Refuse (exit 7, nothing deleted) a plan deleting more files.")] = None,
    max_delete_size: Annotated[str | None, typer.Option("--max-delete-size", metavar="SIZE",
                               help="Refuse (exit 7, nothing deleted) a plan deleting more bytes.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print every action (DRY-RUN:), change nothing.")] = False,
    jobs: Annotated[int | None, typer.Option("-j", "--transfers", min=1, help="Parallel transfers.")] = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="Progress display.")] = None,
    delete_excluded: Annotated[bool, typer.Option("--delete-excluded",
                               help="Also delete DST's files that the filters exclude.")] = False,
    cluster: Cluster = None,
    ship_profile: ShipProfile = False,
    filters: Filter = NO_FILTER,
) -> None:
    """Make DST's files identical to SRC's; deletes run last, only if nothing failed.

    Examples: genrostore sync home:photos s3:backup/photos · genrostore sync --max-delete 10% ./site gcs:www
    """
    from genrostore.core.compare import parse_mode
    from genrostore.core.pipeline.api import default_jobs
    from genrostore.core.pipeline.options import CopyOptions
    from genrostore.core.syncplan import DeleteLimit, SyncOptions, parse_size, prepare_sync
    from genrostore.core.syncrun import run_sync

    app: App = ctx.obj
    app.settings.dry_run = dry_run
    mode = parse_mode(compare, checksum=checksum, size_only=size_only)
    options = SyncOptions(delete=not no_delete, update=update, ignore_existing=ignore_existing,
                          allow_empty_src=allow_empty_src,
                          max_delete=DeleteLimit.parse(max_delete) if max_delete is not None else None,
                          max_delete_size=parse_size(max_delete_size) if max_delete_size is not None else None)
    storage = app.storage
    where = cluster_target(app, cluster, ship_profile)
    src_node, dst_node = storage.node(src), storage.node(dst)
    plan, actions = prepare_sync(storage, src_node, dst_node, options, mode=mode, notice=app.info,
                                 scope=filters if filters.active else None, delete_excluded=delete_excluded)
    sink = make_progress(progress, app.settings.quiet)
    copy_options = CopyOptions(jobs=jobs or default_jobs(src_node.mount, dst_node.mount), progress=sink)
    try:
        if where is not None:
            from genrostore.cluster.commands import sync as sync_on_cluster

            outcome = sync_on_cluster(where, plan, actions, copy_options, warn=app.warn)
        else:
            outcome = run_sync(plan, actions, copy_options, warn=app.warn)
    finally:
        plan.close()
        if sink is not None:
            sink.close()
    app.info(f"genrostore: {outcome.summary()}")
    outcome.raise_for()


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
