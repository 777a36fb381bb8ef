"""`genrostore du`: files and bytes under each path, as `du` and `rclone size` report them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App, human_size
from genrostore.cli.filteropts import with_filters
from genrostore.core.filters import NO_FILTER, Filter


@with_filters
def du(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(autocompletion=complete_path, help="Directories or files; quoted globs.")],
    human: Annotated[bool, typer.Option("-h", "--human-readable", help="Sizes as 1.5K, 2.0M (base 1024).")] = False,
    max_depth: Annotated[int | None, typer.Option("-d", "--max-depth", min=0, help="A line per directory down to N levels below PATH.")] = None,
    total: Annotated[bool, typer.Option("-c", "--total", help="A last line with the grand total.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array of {path, files, bytes} instead of lines.")] = False,
    filters: Filter = NO_FILTER,
) -> None:
    """Count the files and bytes under each PATH: `BYTES<TAB>FILES<TAB>PATH` lines.

    A directory's line comes after the lines of the directories inside it (as du). Sizes are
    exact bytes unless -h; filters limit what is counted; an excluded directory is not listed.

    Examples: genrostore du s3:logs · genrostore du -h -d 1 home: · genrostore du --include '*.jpg' home:photos
    """
    from genrostore.core.errors import GenrostoreError
    from genrostore.core.pipeline.outcome import CopyResult, raise_for
    from genrostore.core.select import iter_matches
    from genrostore.core.usage import Usage, usage

    app: App = ctx.obj
    outcome = CopyResult()
    grand = Usage("total", 0)
    records: list[dict[str, object]] = []

    def emit(address: str, line: Usage) -> None:
        if as_json:
            records.append({"path": address, "files": line.files, "bytes": line.bytes})
        else:
            app.out(f"{human_size(line.bytes) if human else line.bytes}\t{line.files}\t{address}")

    for path in paths:
        try:
            for match in iter_matches(app.storage, path):
                node = match.node
                prefix = len(node.path) + 1 if node.path else 0
                base = match.address if match.address.endswith(("/", ":")) else match.address + "/"
                for line in usage(node.mount, node.path, filters, max_depth=max_depth or 0):
                    emit(base + line.path[prefix:] if line.depth else match.address, line)
                    if not line.depth:
                        grand.add(line)
                outcome.done += 1
        except GenrostoreError as exc:
            if len(paths) == 1:
                raise
            outcome.failures.append((path, exc))
    if total:
        emit("total", grand)
    if as_json:
        app.out(json.dumps(records, ensure_ascii=False))
    if grand.unknown:
        app.warn(f"genrostore: du: {grand.unknown} file{'s' if grand.unknown != 1 else ''} of unknown size counted as 0 bytes")
    raise_for(outcome)


def register(app: typer.Typer) -> None:
    app.command("du")(du)
