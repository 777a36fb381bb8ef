"""The pipeline's entry points for library callers (`Node.copy_to`) and the CLI's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genrostore.core.pipeline.copying import copy_file
from genrostore.core.pipeline.execute import run
from genrostore.core.pipeline.options import CopyOptions, ProgressSink
from genrostore.core.pipeline.outcome import raise_for
from genrostore.core.pipeline.plan import plan

if TYPE_CHECKING:
    from genrostore.core.mount import Mount
    from genrostore.core.node import Node


def copy_node(src: Node, dst: Node, *, recursive: bool = False, no_clobber: bool = False,
              checksum: bool = False, jobs: int = 4, progress: ProgressSink | None = None) -> Node:
    """The library's `Node.copy_to`: one file or, with recursive, one directory tree."""
    options = CopyOptions(no_clobber=no_clobber, checksum=checksum, jobs=jobs, progress=progress)
    pairs = list(plan([src], dst, recursive=recursive))
    if len(pairs) == 1 and pairs[0].src is src and pairs[0].dst is not None:
        copy_file(src, pairs[0].dst, entry=pairs[0].entry, options=options)
        return pairs[0].dst
    outcome = run(pairs, options)
    raise_for(outcome)
    return dst


def default_jobs(*mounts: Mount) -> int:
    """Object stores and network backends gain from many parallel transfers; disks do not."""
    return 16 if any(gains_from_parallel_transfers(mount) for mount in mounts) else 4


def gains_from_parallel_transfers(mount: Mount) -> bool:
    """A store reached over the network (each request waits on a round trip), not a disk or memory."""
    return mount.backend.features.network
