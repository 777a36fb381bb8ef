"""`genrostore ls`: list mounts, directories or matches, as text, long text or streamed JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from genrostore.cli.complete import complete_path
from genrostore.cli.context import App
from genrostore.cli.filteropts import with_filters
from genrostore.cli.format import entry_json, long_line
from genrostore.core.filters import NO_FILTER, Filter

if TYPE_CHECKING:
    from genrostore.core.backend import Entry
    from genrostore.core.node import Node


@with_filters
def ls(
    ctx: typer.Context,
    path: Annotated[str | None, typer.Argument(autocompletion=complete_path, help="mount:path, local path or URL; none lists the mounts.")] = None,
    long: Annotated[bool, typer.Option("-l", "--long", help="Add size and modification time.")] = False,
    recursive: Annotated[bool, typer.Option("-R", "--recursive", help="List every level below PATH.")] = False,
    human: Annotated[bool, typer.Option("-h", "--human-readable", help="With -l, sizes as 1.5K, 2.0M.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array of {path, name, type, size, mtime}.")] = False,
    filters: Filter = NO_FILTER,
) -> None:
    """List a directory (directories end in '/'), or the mounts when no PATH is given.

    Examples: genrostore ls · genrostore ls -l home:docs · genrostore ls --json 's3:logs/*.gz'
    """
    app: App = ctx.obj
    rows = _mount_rows(app) if path is None else _path_rows(app, path, recursive, filters, long or as_json)
    if as_json:
        _print_json(app, rows)
        return
    for entry, _address, shown in rows:
        if entry is None:
            app.out(shown)
        elif long:
            app.out(long_line(entry, shown, human=human))
        else:
            app.out(shown)


Row = tuple[Optional["Entry"], str, str]


def _mount_rows(app: App) -> Iterator[Row]:
    from genrostore.core.backend import Entry

    for name in app.storage.mount_configs:
        yield Entry(name, "dir"), f"{name}:", f"{name}:"


def _path_rows(app: App, path: str, recursive: bool, filters: Filter, mtimes: bool = False) -> Iterator[Row]:
    """Rows for one PATH. A directory lists its children by name, relative to it; a glob,
    which may match several directories, lists every entry by its full address (one that
    cat, cp and rm accept unchanged), each once. `mtimes`: the stored mtimes (`-l`, `--json`)."""
    from genrostore.core.errors import DirectoryNotFound, FileNotFound
    from genrostore.core.globs import has_magic
    from genrostore.core.scope import file_in_scope, iterdir_in_scope, walk_in_scope
    from genrostore.core.select import iter_expand

    glob = has_magic(path)
    seen: set[str] = set()
    for node in iter_expand(app.storage, path):
        try:
            entry = node.info()
        except FileNotFound:
            raise DirectoryNotFound(f"{node.fullpath}: no such file or directory") from None
        if not entry.is_dir:
            if _first(seen, node.fullpath, glob) and file_in_scope(entry, filters):
                yield entry, node.fullpath, _display(node, path)
            continue
        walk = walk_in_scope if recursive else iterdir_in_scope
        entries = walk(node.mount, node.path, filters)
        if mtimes:
            entries = node.mount.stored_mtimes(entries, node.path)
        prefix = len(node.path) + 1 if node.path else 0
        for child in entries:
            address = node.mount.label(child.path) + ("/" if child.is_dir else "")
            if not _first(seen, address, glob):
                continue
            relative = child.path[prefix:] + ("/" if child.is_dir else "")
            yield child, address, address if glob else relative


def _first(seen: set[str], address: str, glob: bool) -> bool:
    """False for an address a glob already listed (`tree/**` matches a directory and its files)."""
    if not glob:
        return True
    if address in seen or address.rstrip("/") in seen:
        return False
    seen.add(address.rstrip("/"))
    return True


def _display(node: Node, typed: str) -> str:
    from genrostore.core.globs import has_magic

    return node.fullpath if has_magic(typed) else typed


def _print_json(app: App, rows: Iterator[Row]) -> None:
    """Streams the array: each entry is written as it is listed.

    Stdout is valid JSON on every error: nothing when the path fails before its first entry,
    the array closed over what was listed when it fails later (the exit code says it failed).
    """
    opened = False
    try:
        for entry, address, _ in rows:
            assert entry is not None
            record = entry_json(entry, address)
            if address.endswith(":"):
                record.update(type="mount", backend=app.storage.mount_configs[entry.path].spec.type)
            app.out_bytes((",\n" if opened else "[\n").encode() + json.dumps(record, ensure_ascii=False).encode())
            opened = True
    finally:
        app.out_bytes(b"\n]\n" if opened else b"")
    if not opened:
        app.out_bytes(b"[]\n")


def register(app: typer.Typer) -> None:
    app.command("ls")(ls)
