"""The one exception hierarchy of genrostore, and the exit code each class carries.

    GenrostoreError                 1  other error
    ├── PartialFailure              1  some items of a multi-item operation failed
    ├── AlreadyExists               1  (FileExistsError) an exclusive create found the file
    ├── UnsafeName                  1  a listed name that cannot be a path (`..`, `.`, `//`), a loop
    ├── UsageError                  2  bad arguments, malformed path
    │   ├── UnknownMount            2  (FileNotFoundError)
    │   └── IsADirectory            2  (IsADirectoryError) a file operation on a directory
    ├── DirectoryNotFound           3  (FileNotFoundError)
    │   └── NotADirectory           3  (NotADirectoryError) a directory operation on a file
    ├── FileNotFound                4  (FileNotFoundError)
    │   └── NoMatch                 4  a glob matched nothing
    ├── TemporaryError              5  still failing after retries
    │   └── SourceChanged           5  the source was replaced while being read
    ├── NotPermitted                6  (PermissionError) denied, auth failed, read-only, unsupported
    │   ├── ReadOnly                6
    │   ├── Unsupported             6
    │   └── AuthenticationFailed    6
    ├── ConfigError                 7  invalid profile, missing variable, missing extra
    │   └── MissingExtra            7
    ├── Refused                     7  a safety gate stopped a sync's deletes (empty SRC, --max-delete)
    ├── Interrupted               130  SIGINT (143 SIGTERM, 129 SIGHUP: 128 + the signal's number)
    └── OutputClosed                   stdout's reader went away (e.g. `| head`): ends quietly

The classes marked with a builtin also subclass it, so `except FileNotFoundError` (what fsspec,
pandas and genro-storage callers write) catches a genrostore node's error as it catches a file's.

Backends raise these directly or let `translate()` map library and OS errors at one boundary,
so no third-party exception reaches a caller.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

OK = 0
ERROR = 1
USAGE = 2
DIR_NOT_FOUND = 3
FILE_NOT_FOUND = 4
TEMPORARY = 5
NOT_PERMITTED = 6
CONFIG = 7
BROKEN_PIPE = 141
INTERRUPTED = 130
HUNG_UP = 129
TERMINATED = 143

EXIT_CODES: dict[int, str] = {
    OK: "success",
    ERROR: "other error, or partial failure of a multi-file operation",
    USAGE: "usage error: bad arguments, malformed path, unknown mount",
    DIR_NOT_FOUND: "directory not found",
    FILE_NOT_FOUND: "file not found (or a glob matched nothing)",
    TEMPORARY: "temporary error that persisted after retries",
    NOT_PERMITTED: "not permitted: permission denied, authentication failed, read-only mount, "
    "operation unsupported by the backend",
    CONFIG: "fatal configuration error: invalid profile, missing variable, backend extra not installed; "
    "or a sync safety gate refused (empty source, --max-delete exceeded): nothing was deleted",
    HUNG_UP: "hung up (SIGHUP); cleaned up as for SIGINT",
    INTERRUPTED: "interrupted (SIGINT); partial destinations are removed, nothing incomplete is published",
    TERMINATED: "terminated (SIGTERM); cleaned up as for SIGINT",
}


class GenrostoreError(Exception):
    """Base of every error genrostore reports; `exit_code` is what the CLI exits with."""

    exit_code = ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class PartialFailure(GenrostoreError):
    """Items of a multi-item operation failed; the others (if any) completed.

    Exit 1 when some items completed or the failures differ; when every item failed for the
    same kind of reason (a read-only or missing bucket, files not found), that reason's code.
    """

    def __init__(self, message: str, failures: list[tuple[str, GenrostoreError]], *, all_failed: bool = False) -> None:
        super().__init__(message)
        self.failures = failures
        codes = {failure.exit_code for _, failure in failures}
        if all_failed and len(codes) == 1:
            self.exit_code = codes.pop()


class UnsafeName(GenrostoreError):
    """A listing returned an entry that is skipped: a name with `..`, `.` or empty segments
    (it would leave the destination or merge with another), or a symlink loop."""

    def __init__(self, message: str, *, where: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.where = where


class UsageError(GenrostoreError):
    """The command line or a path is malformed."""

    exit_code = USAGE


class AlreadyExists(GenrostoreError, FileExistsError):
    """An exclusive create (`open(p, "xb")`, `mkdir` without exist_ok) found something there."""


class UnknownMount(UsageError, FileNotFoundError):
    """A `NAME:` prefix names no mount of the active profile."""


class IsADirectory(UsageError, IsADirectoryError):
    """A file operation was given a directory."""


class DirectoryNotFound(GenrostoreError, FileNotFoundError):
    """A directory (or the parent of a destination) does not exist."""

    exit_code = DIR_NOT_FOUND


class NotADirectory(DirectoryNotFound, NotADirectoryError):
    """A directory operation was given a file (or a path goes through one)."""


class FileNotFound(GenrostoreError, FileNotFoundError):
    """A file does not exist."""

    exit_code = FILE_NOT_FOUND


class NoMatch(FileNotFound):
    """A glob matched nothing: never a silent success."""


class TemporaryError(GenrostoreError):
    """A transient failure (network, throttling, 5xx) that persisted after retries.

    `exhausted` is set once a layer has already spent the --retries budget on it, so no outer
    layer retries it again (one budget per failure, one "gave up" message).
    """

    exit_code = TEMPORARY
    exhausted = False


class SourceChanged(TemporaryError):
    """The source was replaced while being read: what was read so far mixes two versions.

    Nothing is published; the whole file is read again (counted by --retries).
    """


class NotPermitted(GenrostoreError, PermissionError):
    """The backend refused the operation."""

    exit_code = NOT_PERMITTED


class ReadOnly(NotPermitted):
    """A write was attempted on a read-only mount; nothing was touched."""


class Unsupported(NotPermitted):
    """The backend cannot perform this operation by design."""


class AuthenticationFailed(NotPermitted):
    """Credentials were missing, wrong or rejected."""


class ConfigError(GenrostoreError):
    """The profile or the environment cannot be used."""

    exit_code = CONFIG


class MissingExtra(ConfigError):
    """A backend's client library is not installed."""


class Refused(GenrostoreError):
    """A safety gate refused what the command would have done; nothing of it was done.

    Exit 7 (rclone's "fatal error"): a retry gives the same answer until the user decides.
    """

    exit_code = CONFIG


class Interrupted(GenrostoreError):
    """A signal (Ctrl-C, SIGTERM, SIGHUP) stopped the command; partial results were removed.

    The CLI exits 128 + the signal's number (`signals.exit_code`), 130 when none is known.
    """

    exit_code = INTERRUPTED


class OutputClosed(GenrostoreError):
    """The reader of stdout went away; the command ends quietly, like `cat | head`."""

    exit_code = BROKEN_PIPE


Translator = Callable[[BaseException, str], "GenrostoreError | None"]
_translators: list[Translator] = []


def register_translator(func: Translator) -> Translator:
    """Let a backend map its client library's exceptions (registered when the backend loads)."""
    if func not in _translators:
        _translators.append(func)
    return func


_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EPIPE,
}


def translate(exc: BaseException, where: str) -> GenrostoreError:
    """Map any exception raised while working on `where` to the most specific project error."""
    if isinstance(exc, GenrostoreError):
        return exc
    for func in _translators:
        mapped = func(exc, where)
        if mapped is not None:
            return mapped
    return _translate_builtin(exc, where)


def _translate_builtin(exc: BaseException, where: str) -> GenrostoreError:
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted")
    if isinstance(exc, IsADirectoryError):
        return IsADirectory(f"{where}: is a directory", hint="use -r to work on directories")
    if isinstance(exc, NotADirectoryError):
        return NotADirectory(f"{where}: not a directory")
    if isinstance(exc, FileNotFoundError):
        return FileNotFound(f"{where}: no such file or directory")
    if isinstance(exc, FileExistsError):
        return AlreadyExists(f"{where}: already exists")
    if isinstance(exc, PermissionError):
        return NotPermitted(f"{where}: permission denied")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return TemporaryError(f"{where}: timed out ({exc})")
    if isinstance(exc, ConnectionError):
        return TemporaryError(f"{where}: connection failed ({exc})")
    if isinstance(exc, OSError):
        if exc.errno in _TRANSIENT_ERRNOS:
            return TemporaryError(f"{where}: {exc.strerror or exc}")
        if exc.errno == errno.ENOSPC:
            return GenrostoreError(f"{where}: no space left on device")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return NotPermitted(f"{where}: {exc.strerror}")
        return GenrostoreError(f"{where}: {exc.strerror or exc}")
    if isinstance(exc, NotImplementedError):
        return Unsupported(f"{where}: operation not supported by this backend")
    return GenrostoreError(f"{where}: {type(exc).__name__}: {exc}")
