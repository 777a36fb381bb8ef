"""Options many backends share, declared once with their help text, type and default.

A backend lists them in its SPEC (`options=(HOST, port(22), TIMEOUT, ...)`); the validated
options then always hold the default, so backend code reads `options["port"]`, never
`options.get("port", 22)`. A backend whose meaning differs narrows the shared one with
`dataclasses.replace(USERNAME, required=True)` rather than writing a second definition.
"""

from __future__ import annotations

from genrostore.core.schema import Option

TIMEOUT = Option("timeout", "Network time-out in seconds, for connecting and for each request "
                 "(default: the global --timeout, 30 s).", float)
VERIFY_SSL = Option("verify_ssl", "Verify the server's TLS certificate (false: accept any, with a warning).",
                    bool, default=True)
# The object stores' data path (backends/_obstore.py): s3, gcs and azure.
CLIENT = Option("client", "Data path: auto (obstore, the Rust client, where it supports the mount's settings, "
                "else fsspec), obstore, or fsspec. --debug says which a mount got and why.",
                default="auto", choices=("auto", "obstore", "fsspec"))
USERNAME = Option("username", "Login name on the server.", aliases=("user",))
PASSWORD = Option("password", "Password of `username`.", secret=True)


def port(default: int) -> Option:
    """The server's TCP port, defaulting to the protocol's well-known one."""
    return Option("port", f"TCP port of the server (default {default}).", int, default=default)
