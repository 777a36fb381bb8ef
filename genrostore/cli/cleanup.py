"""`genrostore cleanup`: remove what interrupted commands could not (`kill -9`, a crash)."""

from __future__ import annotations

from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App


def cleanup(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(autocompletion=complete_path,
                                        help="Where to look, recursively (a mount's root by default).")],
    age: Annotated[str, typer.Option("--age", metavar="AGE",
                                     help="Only what is older than AGE: 30m, 2h, 7d, or seconds.")] = "24h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be removed (DRY-RUN:), change nothing.")] = False,
) -> None:
    """Remove genrostore's stale temp files and abort stale multipart uploads below PATH.

    A copy stopped by `kill -9`, a crash or a lost connection leaves `.NAME.XXXXXXXX.genrostore-tmp`
    files (local, sftp, smb, webdav) or an incomplete multipart upload, billed until aborted (S3;
    those carry no mark of their tool, so every one older than AGE is aborted, as rclone's
    `backend cleanup` does). Nothing else is touched.

    Examples: genrostore cleanup sftp: · genrostore cleanup --age 2h s3:backups/ · genrostore cleanup --dry-run home:
    """
    from genrostore.core.cleanup import clean, parse_age
    from genrostore.core.pipeline.outcome import raise_for

    app: App = ctx.obj
    app.settings.dry_run = dry_run
    older_than = parse_age(age)
    raise_for(clean(app.storage.node(path), older_than, app.out))


def register(app: typer.Typer) -> None:
    app.command("cleanup")(cleanup)
