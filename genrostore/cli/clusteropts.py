"""`--cluster ADDRESS` and `--ship-profile`, shared by cp -r, sync, check, md5 -r and rm -r (issue 17)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from genrostore.cli.context import App
    from genrostore.cluster.commands import Target

Cluster = Annotated[str | None, typer.Option(
    "--cluster", metavar="ADDRESS", envvar="GENROSTORE_CLUSTER", show_default=False,
    help="Run the per-file work on a Dask cluster: tcp://HOST:8786, tls://HOST:8786, local (a worker "
         "process per core) or local:N. See docs/cluster.md.")]
ShipProfile = Annotated[bool, typer.Option(
    "--ship-profile", help="Send the resolved profile (credentials included) to the workers; only with "
                           "tls:// or local (default: workers read their own profile and environment).")]


def cluster_target(app: App, address: str | None, ship_profile: bool) -> Target | None:
    """The cluster to run on, or None for a local run (dask is imported only past this point)."""
    if address is None and not ship_profile:
        return None
    if app.settings.dry_run:
        return None  # a dry run lists and compares here and sends nothing: its DRY-RUN: lines are local
    from genrostore.cluster.commands import target

    local = (address or "").startswith("local")
    profile_path = os.path.abspath(app.profile) if app.profile and local else None
    return target(address, app.storage, profile_path=profile_path, ship_profile=ship_profile)
