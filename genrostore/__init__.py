"""genrostore: every storage system as one tree of mounts.

    >>> from genrostore import Storage
    >>> storage = Storage(mounts=[{"name": "work", "type": "memory"}])
    >>> storage.node("work:a.txt").write("hi")
    >>> storage.node("work:a.txt").read()
    'hi'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("genrostore")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from genrostore.core.errors import GenrostoreError
    from genrostore.core.node import Node
    from genrostore.core.settings import Settings
    from genrostore.core.storage import Storage

__all__ = ["Storage", "Node", "Settings", "GenrostoreError", "__version__"]

_LAZY = {
    "Storage": "genrostore.core.storage",
    "Node": "genrostore.core.node",
    "Settings": "genrostore.core.settings",
    "GenrostoreError": "genrostore.core.errors",
}


def __getattr__(name: str) -> Any:
    """Import the API on first use so `genrostore --help` stays fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
