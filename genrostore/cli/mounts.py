"""`genrostore mounts`: every mount, its type, its options (secrets as ***) and where it came from."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from genrostore.cli.context import App


def mounts(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array of {name, type, options, origin}.")] = False,
) -> None:
    """List the mounts of the active profile, built-ins and environment.

    Examples: genrostore mounts · genrostore --profile ci.yaml mounts --json
    """
    app: App = ctx.obj
    records: list[dict[str, Any]] = [
        {"name": c.name, "type": c.spec.type, "options": c.spec.redacted(c.options), "origin": c.origin,
         **({"error": str(c.error)} if c.error is not None else {})}
        for c in app.storage.mount_configs.values()
    ]
    if as_json:
        app.out_json(records)
        return
    for record in records:
        options = " ".join(f"{k}={v}" for k, v in record["options"].items() if not (k == "readonly" and not v))
        if "error" in record:  # a broken definition: shown here, fatal only to commands that use it
            options = f"BROKEN: {record['error']}"
        app.out(f"{record['name'] + ':':16} {record['type']:11} {options}  ({record['origin']})".rstrip())


def register(app: typer.Typer) -> None:
    app.command("mounts")(mounts)
