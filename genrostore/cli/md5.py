"""`genrostore md5`: md5sum-format hashes, streamed, and `-c` to check a sums file."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.clusteropts import Cluster, ShipProfile, cluster_target
from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.core.filters import NO_FILTER, Filter


@with_filters
def md5(
    ctx: typer.Context,
    paths: Annotated[list[str] | None, typer.Argument(autocompletion=complete_path, help="Files (or directories with -r); '-' is stdin.")] = None,
    recursive: Annotated[bool, typer.Option("-r", "--recursive", help="Hash every file below directories.")] = False,
    check: Annotated[str | None, typer.Option("-c", "--check", help="Verify the sums listed in FILE ('-': stdin).")] = None,
    cluster: Cluster = None,
    ship_profile: ShipProfile = False,
    filters: Filter = NO_FILTER,
) -> None:
    """Print `<md5>  <path>` lines, like md5sum; with -c, verify them (exit 1 on a mismatch).

    Examples: genrostore md5 s3:big.iso · genrostore md5 -r home:photos > sums.md5 ·
    genrostore md5 -c sums.md5
    """
    from genrostore.core import checksums
    from genrostore.core.errors import GenrostoreError, UsageError
    from genrostore.core.pipeline.outcome import CopyResult, raise_for
    app: App = ctx.obj
    if check is not None:
        if paths:
            raise UsageError("md5 -c takes the sums file only")
        checksums.check(app.storage, check, report=app.out, warn=app.warn)
        return
    if not paths:
        raise UsageError("md5 needs at least one path")
    where = cluster_target(app, cluster, ship_profile) if recursive else None
    outcome = CopyResult()
    for path in paths:
        try:
            if where is not None:
                from genrostore.cluster.commands import md5 as md5_on_cluster

                files = checksums.files_to_hash(app.storage, path, recursive=recursive, filters=filters)
                for name, digest in md5_on_cluster(where, files):
                    if isinstance(digest, GenrostoreError):
                        raise digest
                    app.out(checksums.sum_line(digest, name))
                    outcome.done += 1
                continue
            for name, digest in checksums.hashes(app.storage, path, recursive=recursive, filters=filters):
                app.out(checksums.sum_line(digest, name))
                outcome.done += 1
        except GenrostoreError as exc:
            if len(paths) == 1:
                raise
            outcome.failures.append((path, exc))
    raise_for(outcome)


def register(app: typer.Typer) -> None:
    app.command("md5")(md5)
