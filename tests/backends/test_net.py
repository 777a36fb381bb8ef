"""The network backends' shared error mapping (backends/_net.py) and the generic one for time-outs."""

from __future__ import annotations

import socket

from genrostore.backends._net import resolve_error
from genrostore.core.errors import TemporaryError, translate


def test_a_resolver_that_is_failing_now_is_temporary_and_an_unknown_host_is_not() -> None:
    again = resolve_error(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), "sftp")
    assert isinstance(again, TemporaryError) and "cannot resolve the host name now" in str(again)
    unknown = resolve_error(socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "sftp")
    assert unknown is not None and not isinstance(unknown, TemporaryError)
    assert "unknown host" in str(unknown) and "host option" in str(unknown)
    assert resolve_error(ValueError("not a resolver error"), "sftp") is None


def test_a_socket_time_out_is_a_temporary_error() -> None:
    assert socket.timeout is TimeoutError  # the alias errors.translate relies on
    assert isinstance(translate(TimeoutError("timed out"), "sftp:x"), TemporaryError)
