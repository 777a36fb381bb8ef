"""Which backend types exist; modules are imported only when a mount of that type is used."""

from __future__ import annotations

import difflib
import importlib
import sys
import threading
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from genrostore.core.errors import ConfigError, MissingExtra, UsageError

if TYPE_CHECKING:
    from genrostore.core.backend import Backend
    from genrostore.core.schema import BackendSpec

BACKEND_MODULES: dict[str, str] = {
    name: f"genrostore.backends.{name}"
    for name in (
        "local", "memory", "base64", "s3", "gcs", "azure", "http", "sftp", "smb", "webdav",
        "zip", "tar", "libarchive", "git", "github",
    )
}


def known_types() -> list[str]:
    return sorted(BACKEND_MODULES)


@cache
def _module(type_name: str) -> ModuleType:
    try:
        return importlib.import_module(BACKEND_MODULES[type_name])
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("genrostore.backends"):
            raise ConfigError(f"backend type '{type_name}' is not available in this build") from None
        raise


def spec_for(type_name: str) -> BackendSpec:
    """The declarative spec of a type (`protocol` names and aliases accepted)."""
    canonical = _canonical(type_name)
    return _module(canonical).SPEC


def _canonical(type_name: str) -> str:
    if type_name in BACKEND_MODULES:
        return type_name
    for name in BACKEND_MODULES:
        try:
            spec = _module(name).SPEC
        except ConfigError:
            continue
        if type_name in spec.aliases:
            return name
    guess = difflib.get_close_matches(type_name, BACKEND_MODULES, n=1)
    hint = f"did you mean '{guess[0]}'?" if guess else f"known types: {', '.join(known_types())}"
    raise ConfigError(f"unknown backend type '{type_name}'", hint=hint)


def backend_class(spec: BackendSpec) -> type[Backend]:
    """Asked per file (read-only checks, stream support): import_module's lookup only once."""
    key = (spec.module, spec.cls)
    cls = _CLASSES.get(key)
    if cls is None:
        cls = _CLASSES[key] = getattr(importlib.import_module(spec.module), spec.cls)
    return cls


_CLASSES: dict[tuple[str, str], type[Backend]] = {}


def spec_for_scheme(scheme: str) -> BackendSpec:
    """The backend that handles `scheme://` URLs."""
    for name in BACKEND_MODULES:
        try:
            spec = _module(name).SPEC
        except ConfigError:
            continue
        if scheme in spec.schemes:
            return spec
    raise UsageError(f"no backend handles '{scheme}://' URLs")


_IMPORTS = threading.RLock()


def require(module: str, extra: str, *, without: tuple[str, ...] = ()) -> ModuleType:
    """Import a backend's client library, or fail with exit 7 naming the install command.

    `without`: optional modules the library would import only because they are installed,
    hidden from it during its import (a later import of them works as usual). Client imports
    share one lock, so no other thread can meet the hidden module in that window.
    """
    with _IMPORTS:
        hidden = [name for name in without if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # None makes `import name` raise ImportError
        try:
            return importlib.import_module(module)
        except ImportError as exc:
            raise MissingExtra(
                f"the '{extra}' backend needs the Python package providing '{module}' ({exc})",
                hint=f"run: pip install 'genrostore[{extra}]'",
            ) from None
        finally:
            for name in hidden:
                if sys.modules.get(name, False) is None:
                    del sys.modules[name]
