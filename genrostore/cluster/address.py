"""`--cluster ADDRESS` (or $GENROSTORE_CLUSTER) → a connected dask.distributed Client.

`tcp://host:8786` and `tls://host:8786` reach a running scheduler (TLS certificates come from
Dask's own configuration: `distributed.comm.tls.*`, e.g. DASK_DISTRIBUTED__COMM__TLS__CA_FILE);
`local` starts a LocalCluster of one worker process per core, `local:N` of N.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from genrostore.core.errors import MissingExtra, TemporaryError, UsageError

if TYPE_CHECKING:
    from distributed import Client

ENV = "GENROSTORE_CLUSTER"


def resolve(address: str | None) -> str | None:
    """The address given, else $GENROSTORE_CLUSTER, else None (a local run); validated."""
    chosen = address if address is not None else os.environ.get(ENV) or None
    if chosen is None:
        return None
    if chosen == "local" or chosen.startswith(("tcp://", "tls://")):
        return chosen
    if chosen.startswith("local:") and chosen[6:].isdigit() and int(chosen[6:]) > 0:
        return chosen
    raise UsageError(f"--cluster {chosen}: not a cluster address",
                     hint="use tcp://HOST:8786, tls://HOST:8786, local or local:N")


def workers_of(address: str) -> int:
    """The LocalCluster's worker processes (`local`: one per core)."""
    return int(address[6:]) if address.startswith("local:") else max(1, os.cpu_count() or 1)


def is_private(address: str) -> bool:
    """Where a shipped profile may travel: a TLS link or this machine's own worker processes."""
    return address.startswith(("tls://", "local"))


@contextmanager
def connect(address: str) -> Iterator[Client]:
    """A Client on `address`; a LocalCluster started here is shut down on the way out."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingExtra(f"--cluster needs dask.distributed ({exc})",
                           hint="pip install 'genrostore[dask]'") from None
    if address.startswith("local"):
        cluster = LocalCluster(n_workers=workers_of(address), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise TemporaryError(f"--cluster {address}: cannot reach the Dask scheduler ({exc})",
                             hint="start it with `dask scheduler`, or check the address and port") from None
    with client:
        yield client
