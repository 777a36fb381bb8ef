"""After `mv -r`: remove the source directories the move left empty, deepest first.

A directory that still holds anything (a file that failed, one -n kept, a file that arrived
meanwhile) stays; so does the mount's root. Object stores have no directories once their
files are gone: a directory that is no longer there is nothing to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genrostore.core.errors import GenrostoreError, UnsafeName

if TYPE_CHECKING:
    from genrostore.core.node import Node


def remove_emptied(directory: Node) -> list[tuple[str, GenrostoreError]]:
    """Remove `directory` and the empty directories below it; failures are returned, not raised."""
    mount = directory.mount
    failures: list[tuple[str, GenrostoreError]] = []
    try:
        below = [entry.path for entry in mount.walk(directory.path, on_skip=_ignore) if entry.is_dir]
    except FileNotFoundError:
        return failures  # an object-store prefix whose last file moved away
    except GenrostoreError as exc:
        return [(directory.fullpath, exc)]
    candidates = [*reversed(below), *([directory.path] if directory.path else [])]  # children first
    for path in candidates:
        try:
            held: list[UnsafeName] = []
            if next(iter(mount.iterdir(path, on_skip=held.append)), None) is not None or held:
                continue  # it still holds something (even a name genrostore skips): never removed
            mount.remove_dir(path)
        except FileNotFoundError:
            continue
        except GenrostoreError as exc:
            failures.append((mount.label(path), exc))
    return failures


def _ignore(_: UnsafeName) -> None:
    """A skipped name's own directory is checked again (and kept) by the emptiness look."""
