"""What the network backends (sftp, smb, webdav, http) share: time-outs, URL credentials,
HTTP status mapping. Imports no client library."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote

from genrostore.core import secrets
from genrostore.core.backend import Backend
from genrostore.core.errors import (
    AuthenticationFailed,
    FileNotFound,
    GenrostoreError,
    NotPermitted,
    TemporaryError,
)

if TYPE_CHECKING:
    from genrostore.core.schema import BackendSpec

ENV_PREFIX = "GENROSTORE_"


def timeout_of(backend: Backend) -> float:
    """The mount's own `timeout` option, else the global --timeout."""
    value = backend.options.get("timeout")
    return float(value) if value else float(backend.settings.timeout)


def env_name(spec: BackendSpec, option: str) -> str:
    """`GENROSTORE_SFTP_PASSWORD`: where a URL path without a profile finds an option."""
    return f"{ENV_PREFIX}{spec.type.upper()}_{option.upper()}"


def url_options(spec: BackendSpec, parts: SplitResult, **from_url: Any) -> dict[str, Any]:
    """Options for a `scheme://` path: the environment's GENROSTORE_<TYPE>_<OPTION> values,
    overridden by what the URL itself says (its user part included)."""
    options: dict[str, Any] = {}
    for option in spec.options:
        if option.type is dict:
            continue
        value = os.environ.get(env_name(spec, option.name))
        if value is not None:
            options[option.name] = option.coerce(value, from_text=True)
    if parts.username:
        options["username"] = unquote(parts.username)
    if parts.password is not None:
        options["password"] = unquote(parts.password)
    options.update({k: v for k, v in from_url.items() if v is not None})
    for secret in spec.secrets(options):
        secrets.register(secret)
    return options


def warn_unverified(name: str, url: str) -> None:
    """An explicit opt-out of TLS verification is honoured, but never silently."""
    print(f"genrostore: warning: mount '{name}': TLS verification is off for {url} "
          "(verify_ssl: false)", file=sys.stderr, flush=True)


def status_error(status: int, where: str, reason: str = "") -> GenrostoreError:
    """The project error for an HTTP status (webdav and http share the same contract)."""
    detail = f"HTTP {status}{' ' + reason if reason else ''}"
    if status in (404, 410):
        return FileNotFound(f"{where}: no such file or directory ({detail})")
    if status == 401:
        return AuthenticationFailed(f"{where}: authentication failed ({detail})",
                                    hint="check the username/password or token of the mount")
    if status in (403, 405):
        return NotPermitted(f"{where}: not permitted ({detail})")
    if status in (408, 425, 429) or status >= 500:
        return TemporaryError(f"{where}: server error ({detail})")
    return GenrostoreError(f"{where}: {detail}")


def resolve_error(exc: BaseException, where: str) -> GenrostoreError | None:
    """A host name that does not resolve: permanent unless the resolver itself is failing."""
    import socket  # on an error only: the object stores import this module, and not socket otherwise

    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_AGAIN:
            return TemporaryError(f"{where}: cannot resolve the host name now ({exc.strerror})")
        return GenrostoreError(f"{where}: unknown host ({exc.strerror})", hint="check the mount's host option")
    return None
