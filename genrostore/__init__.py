"""genrostore: every storage system as one tree of mounts.

    >>> from genrostore import Storage
    >>> storage = Storage(mounts=[{"name": "work", "type": "memory"}])
    >>> storage.node("work:a.txt").write("hi")
    >>> storage.node("work:a.txt").read()
    'hi'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

# A library stays silent unless its caller configures logging (the CLI shows these with
# --debug): without a handler, Python's last-resort one prints every warning on stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

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
    """Import the API (and read the version metadata) on first use so startup stays fast."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("genrostore")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0+unknown"
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
