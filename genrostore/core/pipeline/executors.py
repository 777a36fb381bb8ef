"""Execute one action: `perform` dispatches on its type (the closed set in core/actions.py).

Each returns True when it changed something, False when it did nothing (a Skip, a dry run).
Copy lives in copying.py; the others are here, each going through the Mount's checks
(read-only, permissions, dry run) like every write.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from genrostore.core.actions import Action, Copy, Delete, Move, SetMetadata, Skip
from genrostore.core.errors import GenrostoreError, UsageError
from genrostore.core.pipeline import copying, rules
from genrostore.core.pipeline.options import CopyOptions

if TYPE_CHECKING:
    from genrostore.core.backend import Entry
    from genrostore.core.node import Node


def perform(action: Action, options: CopyOptions) -> bool:
    """Run one action with the rules of `options`; the one dispatch every executor uses."""
    if isinstance(action, Copy):
        return copying.copy(action, options)
    if isinstance(action, Skip):
        return False
    if isinstance(action, Move):
        return move(action, options)
    if isinstance(action, Delete):
        return delete(action)
    if isinstance(action, SetMetadata):
        return set_metadata(action)
    raise TypeError(f"not a pipeline action: {action!r}")


def move(action: Move, options: CopyOptions) -> bool:
    """Rename in place where both ends are one local file system; else copy, verify, remove.

    The source is removed only after its copy is published and verified (size, and md5 with
    --checksum): a failed copy never costs the source.
    """
    src, dst = action.src, action.dst
    if src.is_stdio or dst.is_stdio:
        raise UsageError("mv moves files: '-' cannot be a source or destination")
    src.mount.refuse_if_readonly("move", src.path)  # before any byte is copied
    if not src.mount.may_delete:
        src.mount.permit(f"move {src.fullpath}", src.path, delete=True)  # raises: readwrite never removes
    if not rules.admit("move", src, dst):
        return False
    entry = action.entry or src.info()
    if entry.is_dir:
        raise UsageError(f"{src.fullpath}: is a directory; a move takes files (plan a tree as its files)")
    if _server_move(src, dst, options) or _rename(src, dst, options):
        options.advance(entry.size or 0)
        return True
    copying.copy(Copy(src, dst, entry), options)
    _check_copied(src, dst, entry)
    src.mount.remove_file(src.path)
    return True


def _server_move(src: Node, dst: Node, options: CopyOptions) -> bool:
    """The store's own move (Backend.server_move: a rename, or a server-side copy + delete)."""
    rules.before_publish(dst, options)
    return src.mount.server_move(src.path, dst.mount, dst.path)


def _rename(src: Node, dst: Node, options: CopyOptions) -> bool:
    """A server-side move where the backend can: os.rename inside one local file system."""
    try:
        source, target = src.mount.local_path(src.path), dst.mount.local_path(dst.path)
    except GenrostoreError:
        return False
    if source is None or target is None or os.path.isdir(source):
        return False
    rules.before_publish(dst, options)
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno in (errno.EXDEV, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EPERM, errno.EACCES):
            return False  # another file system, a missing parent...: the copy path says what is wrong
        with dst.mount.bypassing(dst.path):  # os.rename of the local paths: past the Mount's wrapper
            raise
    options.advance(os.stat(target).st_size)
    return True


def _check_copied(src: Node, dst: Node, entry: Entry) -> None:
    """The copy is there with the source's size (and md5 where both stores know it without
    reading); else the source stays and the move fails."""
    size = entry.size
    copied = dst.info()
    if size is not None and copied.size is not None and copied.size != size:
        raise GenrostoreError(f"{dst.fullpath}: has {copied.size} bytes after the copy, {src.fullpath} has {size}; "
                              "the source was kept")
    if entry.md5 is not None and copied.md5 is not None and entry.md5 != copied.md5:
        raise GenrostoreError(f"{dst.fullpath}: md5 {copied.md5} after the copy, {src.fullpath} has {entry.md5}; "
                              "the source was kept")


def delete(action: Delete) -> bool:
    """Remove one file (Mount.remove_file checks read-only, permissions and dry run)."""
    node = action.node
    node.mount.remove_file(node.path)
    return not node.mount.settings.dry_run


def set_metadata(action: SetMetadata) -> bool:
    """Store `mtime` on `dst` (Mount.set_mtime; a backend that cannot raises Unsupported)."""
    node = action.dst
    node.mount.set_mtime(node.path, action.mtime)
    return not node.mount.settings.dry_run
