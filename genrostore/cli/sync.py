"""`genrostore sync`: make DST's files identical to SRC's, one way, deletes gated (issue 15)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from genrostore.cli.clusteropts import Cluster, ShipProfile, cluster_target
from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.core.filters import NO_FILTER, Filter
from genrostore.cli.progress import make_progress

if TYPE_CHECKING:
    from genrostore.core.errors import GenrostoreError
    from genrostore.core.syncplan import SyncAction
    from genrostore.core.syncrun import SyncOutcome


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
    delete_during: Annotated[bool, typer.Option("--delete-during",
                             help="Delete while the trees are compared (an error found later cannot undo a delete).")] = False,
    delete_after: Annotated[bool, typer.Option("--delete-after",
                            help="Delete only after every transfer succeeded (the default).")] = False,
    backup_dir: Annotated[str | None, typer.Option("--backup-dir", metavar="MOUNT:PATH",
                          help="Move overwritten and deleted files there (same relative paths).")] = None,
    suffix: Annotated[str, typer.Option("--suffix", help="Appended to each file moved to --backup-dir.")] = "",
    json_out: Annotated[bool, typer.Option("--json", help="One JSON record per action, then a summary record, on stdout.")] = False,
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
    from genrostore.core.errors import UsageError
    from genrostore.core.syncplan import refuse_backup_overlap
    from genrostore.core.syncrun import Backup, SyncOutcome, run_sync

    app: App = ctx.obj
    app.settings.dry_run = dry_run
    if delete_during and delete_after:
        raise UsageError("--delete-during and --delete-after exclude each other", hint="pick one (after is the default)")
    if delete_during and (max_delete is not None or max_delete_size is not None):
        raise UsageError("--delete-during cannot honour --max-delete/--max-delete-size: the whole delete set "
                         "is known only at the end", hint="use --delete-after (the default) with the limits")
    mode = parse_mode(compare, checksum=checksum, size_only=size_only)
    options = SyncOptions(delete=not no_delete, update=update, ignore_existing=ignore_existing,
                          allow_empty_src=allow_empty_src,
                          max_delete=DeleteLimit.parse(max_delete) if max_delete is not None else None,
                          max_delete_size=parse_size(max_delete_size) if max_delete_size is not None else None)
    storage = app.storage
    where = cluster_target(app, cluster, ship_profile)
    src_node, dst_node = storage.node(src), storage.node(dst)
    if suffix and backup_dir is None:
        raise UsageError("--suffix needs --backup-dir", hint="--backup-dir MOUNT:PATH --suffix .bak")
    backup_node = storage.node(backup_dir) if backup_dir is not None else None
    if backup_node is not None:
        refuse_backup_overlap(backup_node, src_node, dst_node, filters if filters.active else None)
    plan, actions = prepare_sync(storage, src_node, dst_node, options, mode=mode, notice=app.info,
                                 scope=filters if filters.active else None, delete_excluded=delete_excluded)
    sink = make_progress(progress, app.settings.quiet)
    copy_options = CopyOptions(jobs=jobs or default_jobs(src_node.mount, dst_node.mount), progress=sink)
    outcome = SyncOutcome()
    records = JsonRecords(plan.src.path, plan.dst.path, dry_run) if json_out else None
    if records is not None:
        app.settings.report = _silent  # the records replace the DRY-RUN: lines
    try:
        if where is not None:
            from genrostore.cluster.commands import sync as sync_on_cluster

            sync_on_cluster(where, plan, actions, copy_options, warn=app.warn, outcome=outcome,
                            report=records.action if records is not None else None, delete_during=delete_during,
                            backup=Backup(backup_node, plan.dst.path, suffix) if backup_node is not None else None)
        else:
            run_sync(plan, actions, copy_options, warn=app.warn, outcome=outcome, delete_during=delete_during,
                     report=records.action if records is not None else None,
                     backup=Backup(backup_node, plan.dst.path, suffix) if backup_node is not None else None)
    finally:
        plan.close()
        if sink is not None:
            sink.close()
        if records is not None:
            records.finish(plan.errors, outcome)
        app.info(f"genrostore: {outcome.summary()}")
    outcome.raise_for()


def _silent(_line: str) -> None:
    return None


class JsonRecords:
    """`--json`: one line per action done (or failed, with "error"), then one summary line.

    Unchanged and skipped files get no record, as `rclone sync --use-json-log` and `aws s3 sync`
    print nothing for them; their count is in the summary. Errors found while listing or
    comparing (no action) get an `"action": "error"` record before the summary.
    """

    def __init__(self, src_root: str, dst_root: str, dry_run: bool) -> None:
        self.roots = (src_root, dst_root)
        self.dry_run = dry_run
        self.seen: set[int] = set()

    def action(self, action: SyncAction, changed: bool, error: GenrostoreError | None) -> None:
        from genrostore.core.actions import Copy, Delete, SetMetadata, Skip
        from genrostore.core.syncplan import MakeDir

        if isinstance(action, Skip):
            return
        record: dict[str, object]
        if isinstance(action, Copy):
            size = action.entry.size if action.entry is not None else None
            record = {"action": "copy" if action.reason == "new" else "update", "path": self._rel(action.dst.path),
                      "size": size, "reason": action.reason}
        elif isinstance(action, SetMetadata):
            record = {"action": "set-metadata", "path": self._rel(action.dst.path), "size": None,
                      "reason": "mtime", "mtime": action.mtime.isoformat()}
        elif isinstance(action, Delete):
            record = {"action": "delete", "path": self._rel(action.node.path),
                      "size": action.entry.size if action.entry is not None else None, "reason": "not in source"}
        elif isinstance(action, MakeDir):
            record = {"action": "mkdir", "path": self._rel(action.dst.path), "size": None,
                      "reason": "empty directory in source"}
        else:
            return
        if self.dry_run:
            record["dry_run"] = True
        if error is not None:
            self.seen.add(id(error))
            record["error"] = str(error)
        _emit(record)

    def finish(self, errors: list[tuple[str, GenrostoreError]], outcome: SyncOutcome) -> None:
        for where, error in errors:
            if id(error) not in self.seen:
                _emit({"action": "error", "path": where, "error": str(error)})
        summary = {"copied": outcome.copied, "updated": outcome.updated + outcome.metadata,
                   "deleted": outcome.deleted, "unchanged": outcome.unchanged,
                   "errors": len(outcome.failures), "bytes": outcome.bytes}
        if outcome.dirs:
            summary["dirs"] = outcome.dirs  # empty directories made (only when there were any)
        _emit({"summary": summary})

    def _rel(self, path: str) -> str:
        root = self.roots[1]
        return path[len(root) + 1:] if root and path.startswith(root + "/") else path


def _emit(record: dict[str, object]) -> None:
    import json
    import sys

    sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
