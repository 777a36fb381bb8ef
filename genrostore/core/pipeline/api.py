"""The pipeline's entry points for library callers (`Node.copy_to`) and the CLI's defaults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genrostore.core.errors import Unsupported
from genrostore.core.filters import NO_FILTER, Filter, FilterOptions
from genrostore.core.pipeline.copying import copy_file
from genrostore.core.pipeline.decide import move_or_skip
from genrostore.core.pipeline.emptied import remove_emptied
from genrostore.core.pipeline.execute import run
from genrostore.core.pipeline.options import CopyOptions, ProgressSink
from genrostore.core.pipeline.outcome import CopyResult, raise_for
from genrostore.core.pipeline.plan import plan

if TYPE_CHECKING:
    from genrostore.core.mount import Mount
    from genrostore.core.node import Node


def copy_node(src: Node, dst: Node, *, recursive: bool = False, no_clobber: bool = False,
              checksum: bool = False, jobs: int = 4, progress: ProgressSink | None = None,
              filters: Filter | FilterOptions | None = None) -> Node:
    """The library's `Node.copy_to`: one file or, with recursive, one directory tree; `filters`
    (`core.filters.FilterOptions(include=["*.jpg"])`, or a Filter built from them) keeps part
    of it, as `cp -r --include/--exclude` does."""
    options = CopyOptions(no_clobber=no_clobber, checksum=checksum, jobs=jobs, progress=progress)
    scope = Filter.from_options(filters) if isinstance(filters, FilterOptions) else filters or NO_FILTER
    pairs = list(plan([src], dst, recursive=recursive, filters=scope))
    if len(pairs) == 1 and pairs[0].src is src and pairs[0].dst is not None:
        copy_file(src, pairs[0].dst, entry=pairs[0].entry, options=options)
        return pairs[0].dst
    outcome = run(pairs, options)
    raise_for(outcome)
    return dst


def move_nodes(sources: list[Node], dst: Node, options: CopyOptions, *, recursive: bool = False,
               filters: Filter = NO_FILTER) -> CopyResult:
    """`mv`: every source file moved (the store's own move, else copy, verify, remove), then
    with `recursive` the source directories it emptied removed. Failures are collected; with
    `filters` only the files in scope move (so a whole-directory rename is never used).

    A source whose mount cannot remove it fails (exit 6) before anything is copied.
    """
    for source in sources:
        source.mount.refuse_if_readonly("move", source.path)
        if source.mount.backend.features.no_delete:
            raise Unsupported(f"{source.mount.name}: cannot move: the {source.mount.spec.type} backend's files "
                              "cannot be removed (the data is the path)", hint="use cp to copy it")
        if not source.mount.may_delete:
            source.mount.permit(f"move {source.fullpath}", source.path, delete=True)  # raises
    dry_run = dst.mount.settings.dry_run or any(s.mount.settings.dry_run for s in sources)
    if recursive and not dry_run and len(sources) == 1 and not filters.active:
        renamed = _rename_tree(sources[0], dst)
        if renamed is not None:
            return CopyResult(copied=[renamed])
    directories = [s for s in sources if recursive and not dry_run and s.is_dir()]
    outcome = run(plan(sources, dst, recursive=recursive, filters=filters), options, decide=move_or_skip)
    for directory in directories:
        outcome.failures.extend(remove_emptied(directory))
    return outcome


def _rename_tree(src: Node, dst: Node) -> Node | None:
    """One rename of the whole directory where the store can and its target does not exist
    (local, SFTP, SMB, WebDAV); None: the files move one by one."""
    from genrostore.core.errors import GenrostoreError
    from genrostore.core.pipeline.plan import _tree_root, refuse_self_copy

    if (src.is_stdio or dst.is_stdio or src.trailing_slash or not src.path
            or not src.mount.backend.features.server_move):
        return None
    try:
        if not src.info().is_dir:
            return None
    except GenrostoreError:
        return None  # the planner reports it
    refuse_self_copy(src, dst, many=False, recursive=True)
    dst.mount.refuse_if_readonly("copy", dst.path)
    target = _tree_root(src, dst, many=False)
    if target.exists():
        return None  # a merge into an existing tree: file by file, -n and overwrites as cp's
    return target if src.mount.rename_dir(src.path, target.mount, target.path) else None


def default_jobs(*mounts: Mount) -> int:
    """Object stores and network backends gain from many parallel transfers; disks do not."""
    return 16 if any(gains_from_parallel_transfers(mount) for mount in mounts) else 4


def gains_from_parallel_transfers(mount: Mount) -> bool:
    """A store reached over the network (each request waits on a round trip), not a disk or memory."""
    return mount.backend.features.network
