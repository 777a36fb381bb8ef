"""`genrostore cp`: any backend to any backend, streamed, atomic, parallel."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from genrostore.cli.clusteropts import Cluster, ShipProfile, cluster_target
from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.cli.progress import make_progress
from genrostore.core.filters import NO_FILTER, Filter

if TYPE_CHECKING:
    from genrostore.core.node import Node
    from genrostore.core.pipeline.plan import Pair


@with_filters
def cp(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="SRC... DST; '-' reads stdin (SRC) or writes stdout (DST).")],
    recursive: Annotated[bool, typer.Option("-r", "-R", "--recursive", help="Copy directories.")] = False,
    no_clobber: Annotated[bool, typer.Option("-n", "--no-clobber", help="Never overwrite an existing file.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be copied (DRY-RUN:), change nothing.")] = False,
    jobs: Annotated[int | None, typer.Option("-j", "--transfers", min=1,
                    help="Parallel transfers (default 16 for remote stores, 4 for local disks).")] = None,
    checksum: Annotated[bool, typer.Option("--checksum", help="Verify each copy by md5; a mismatch fails.")] = False,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress",
                        help="Force or hide the progress display (default: only on a terminal; forced on a log, "
                             "a plain line every 5 s).")] = None,
    from_list: Annotated[str | None, typer.Option("--from-list", metavar="FILE",
                         help="Copy the sources named in FILE ('-': stdin), one per line, as they arrive. "
                              "With SRC DST, names are relative to SRC and keep their paths.")] = None,
    cluster: Cluster = None,
    ship_profile: ShipProfile = False,
    filters: Filter = NO_FILTER,
) -> None:
    """Copy files; a DST that is a directory or ends in '/' receives basenames.

    Examples: genrostore cp s3:reports/q3.pdf home: · echo hi | genrostore cp - azure:x.txt ·
    genrostore cp -r home:docs/ s3:backup/docs/ · genrostore cp 's3:logs/*.gz' ./logs/ ·
    genrostore cp -r --include '*.jpg' --exclude 'cache/' home:photos s3:photos
    """
    from genrostore.core.errors import UsageError
    from genrostore.core.pipeline.api import default_jobs
    from genrostore.core.pipeline.execute import run
    from genrostore.core.pipeline.options import CopyOptions
    from genrostore.core.pipeline.outcome import raise_for
    from genrostore.core.pipeline.plan import plan
    from genrostore.core.select import expand

    app: App = ctx.obj
    app.settings.dry_run = dry_run
    storage = app.storage
    where = cluster_target(app, cluster, ship_profile) if recursive or from_list is not None else None
    if from_list is not None:
        pairs, destination, first = _from_list(app, from_list, paths, filters)
    else:
        if len(paths) < 2:
            raise UsageError("cp needs a source and a destination", hint="genrostore cp SRC... DST")
        *source_texts, target = paths
        sources = [node for text in source_texts for node in expand(storage, text)]
        destination = storage.node(target)
        if sum(1 for s in sources if s.is_stdio) > 1:
            raise UsageError("standard input can be read only once")
        pairs = plan(sources, destination, recursive=recursive, filters=filters)
        first = sources[0] if sources else None
    sink = make_progress(progress, app.settings.quiet)
    options = CopyOptions(no_clobber=no_clobber, checksum=checksum,
                          jobs=jobs or default_jobs(destination.mount, *([first.mount] if first else [])),
                          progress=sink)
    try:
        if where is not None:
            from genrostore.cluster.commands import copy as copy_on_cluster
            from genrostore.core.pipeline.outcome import CopyResult

            outcome = CopyResult()
            copy_on_cluster(where, pairs, options, outcome)
        else:
            outcome = run(pairs, options)
    finally:
        if sink is not None:
            sink.close()
    if destination.mount.backend.features.raw_paths and not destination.is_stdio:
        for node in outcome.copied:
            app.out(node.path)
    raise_for(outcome)


def _from_list(app: App, list_file: str, paths: list[str],
               filters: Filter) -> tuple[Iterator[Pair], Node, Node | None]:
    from genrostore.core.errors import UsageError
    from genrostore.core.pipeline.plan import plan_from_list

    if len(paths) not in (1, 2):
        raise UsageError("with --from-list, give DST (names are addresses) or SRC DST (names relative to SRC)")
    storage = app.storage
    destination = storage.node(paths[-1])
    base = storage.node(paths[0]) if len(paths) == 2 else None
    if destination.is_stdio or (base is not None and base.is_stdio):
        raise UsageError("--from-list copies files: '-' cannot be SRC or DST here")
    names = bounded_lines(storage.node(list_file).open("rb"), "stdin" if list_file == "-" else list_file)
    return plan_from_list(names, destination, base=base, filters=filters), destination, base


MAX_LINE = 64 * 1024  # bytes: far above any store's path limit (PATH_MAX 4 KiB, S3 keys 1 KiB)
SHOWN = 80  # characters of an oversized line that its error quotes


def bounded_lines(stream: BinaryIO, label: str) -> Iterator[str]:
    """The lines of a --from-list, read as they arrive; each at most MAX_LINE bytes.

    `readline(limit)` never holds more than the limit: an endless line (a pipe from
    /dev/zero, a binary file) is refused at MAX_LINE bytes instead of filling memory.
    """
    from genrostore.core.errors import UsageError

    with stream:
        for number in itertools.count(1):
            line = stream.readline(MAX_LINE + 1)
            if not line:
                return
            if len(line) > MAX_LINE and not line.endswith(b"\n"):
                prefix = line[:SHOWN].decode("utf-8", "backslashreplace")
                raise UsageError(f"--from-list {label}: line {number} is longer than {MAX_LINE // 1024} KiB "
                                 f"(it starts {prefix!r}...)", hint="give one path per line")
            yield line.decode("utf-8", "surrogateescape")


def register(app: typer.Typer) -> None:
    app.command("cp")(cp)
