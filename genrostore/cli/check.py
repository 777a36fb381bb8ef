"""`genrostore check`: are SRC's files identical in DST? rclone's combined report on stdout."""

from __future__ import annotations

import os
import tempfile
from typing import IO, Annotated

import typer

from genrostore.cli.clusteropts import Cluster, ShipProfile, cluster_target
from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.core.filters import NO_FILTER, Filter

_LIST_OPTIONS = {"match": "=", "differ": "*", "missing_on_dst": "+", "missing_on_src": "-", "error": "!"}


@with_filters
def check(
    ctx: typer.Context,
    src: Annotated[str, typer.Argument(autocompletion=complete_path, help="The source tree (or file).")],
    dst: Annotated[str, typer.Argument(autocompletion=complete_path, help="The tree (or file) to check against it.")],
    compare: Annotated[str | None, typer.Option("--compare", metavar="auto|size|size,mtime|size,checksum",
                       help="How files are compared (default auto: size+mtime where both sides keep mtimes, "
                            "size+md5 where both store md5, else size, said on stderr).")] = None,
    checksum: Annotated[bool, typer.Option("-c", "--checksum", help="Compare md5s; hash (streamed) where no md5 "
                                           "is stored. Same as --compare size,checksum.")] = False,
    size_only: Annotated[bool, typer.Option("--size-only", help="Compare sizes only.")] = False,
    download: Annotated[bool, typer.Option("--download", help="Compare the bytes of both sides, streamed.")] = False,
    one_way: Annotated[bool, typer.Option("--one-way", help="Only check that SRC's files are in DST "
                                          "(files only in DST are not reported).")] = False,
    differ: Annotated[str | None, typer.Option("--differ", metavar="FILE",
                      help="Write the paths that differ to FILE (a local file).")] = None,
    missing_on_dst: Annotated[str | None, typer.Option("--missing-on-dst", metavar="FILE",
                              help="Write the paths only in SRC to FILE.")] = None,
    missing_on_src: Annotated[str | None, typer.Option("--missing-on-src", metavar="FILE",
                              help="Write the paths only in DST to FILE.")] = None,
    match: Annotated[str | None, typer.Option("--match", metavar="FILE",
                     help="Write the identical paths to FILE.")] = None,
    error: Annotated[str | None, typer.Option("--error", metavar="FILE",
                     help="Write the paths that could not be read to FILE.")] = None,
    jobs: Annotated[int | None, typer.Option("-j", "--checkers", min=1,
                    help="Parallel comparisons that read or ask the store (default 16 for remote stores, "
                         "4 for local disks).")] = None,
    cluster: Cluster = None,
    ship_profile: ShipProfile = False,
    filters: Filter = NO_FILTER,
) -> None:
    """Compare two trees by the comparison sync uses; print '= path' (identical), '* path' (differs),
    '+ path' (only in SRC), '- path' (only in DST), '! path' (could not be read). Exit 0 when
    identical, 1 when differences were found, the error's code when something could not be read.

    Examples: genrostore check home:photos s3:backup/photos · genrostore check --checksum ./site gcs:www
    · genrostore check --one-way --missing-on-dst todo.txt sftp:data s3:data · genrostore check --exclude '*.tmp' a b
    """
    from genrostore.core.check import check as run_check
    from genrostore.core.compare import parse_mode
    from genrostore.core.errors import UsageError

    app: App = ctx.obj
    mode = parse_mode(compare, checksum=checksum, size_only=size_only)
    if download and (checksum or compare is not None or size_only):
        raise UsageError("--download compares bytes: it cannot be combined with another comparison")
    targets = {"match": match, "differ": differ, "missing_on_dst": missing_on_dst,
               "missing_on_src": missing_on_src, "error": error}
    lists = {_LIST_OPTIONS[name]: _ListFile(path) for name, path in targets.items() if path is not None}
    where = cluster_target(app, cluster, ship_profile)
    mapper = None
    if where is not None:
        import functools

        from genrostore.cluster.commands import compare as compare_on_cluster

        mapper = functools.partial(compare_on_cluster, where)
    src_node, dst_node = app.storage.node(src), app.storage.node(dst)
    published = False

    def report(mark: str, path: str) -> None:
        app.out(f"{mark} {path}")
        if mark in lists:
            lists[mark].add(path)

    try:
        result = run_check(app.storage, src_node, dst_node, report, mode=mode, download=download,
                           one_way=one_way, notice=app.info, jobs=jobs, scope=filters if filters.active else None,
                           mapper=mapper)
        for target in lists.values():
            target.publish()
        published = True
    finally:
        if not published:
            for target in lists.values():
                target.discard()
    for line in result.summary(src_node.fullpath, dst_node.fullpath):
        app.info(f"genrostore: {line}")
    result.raise_for()


class _ListFile:
    """A path list written beside its final name and renamed into place when the check ends."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        handle, self.temp = tempfile.mkstemp(prefix=".genrostore-", suffix=".tmp", dir=os.path.dirname(self.path))
        self.file: IO[str] = os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape", newline="\n")

    def add(self, line: str) -> None:
        self.file.write(line + "\n")

    def publish(self) -> None:
        self.file.close()
        os.replace(self.temp, self.path)

    def discard(self) -> None:
        self.file.close()
        if os.path.exists(self.temp):
            os.unlink(self.temp)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
