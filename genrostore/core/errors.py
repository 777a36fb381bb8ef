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

Backends raise these without a location (`DirectoryNotFound("no such directory")`) or let
their client library's exception propagate; the `Mount` that called them is the one boundary that
maps (`Backend.translate_error`, then `translate`) and locates (`located`) every error, on every
call, stream, range, writer and listing it hands out.

An error suggests what to do with `hint` (free text) or `fix` (a key of `FIXES`): a fix names the
CLI flag when the CLI reports it (`for_cli`) and the Python parameter otherwise, so a Python caller
never reads "use -p".
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

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


# fix key -> (what the CLI says, what the Python API says, or None when it has no such parameter)
FIXES: dict[str, tuple[str, str | None]] = {
    "parents": ("use -p to create parents", "pass parents=True to create parents"),
    "recursive": ("use -r", "pass recursive=True"),
    "recursive-dirs": ("use -r to work on directories", None),
    "recursive-remove": ("use -r to remove it and everything in it",
                         "pass recursive=True to remove it and everything in it"),
    "recursive-copy": ("use -r to copy directories", "pass recursive=True to copy directories"),
    "recursive-hash": ("use -r to hash every file below it", None),
    "allow-root": ("add --allow-root to remove everything in it",
                   "pass allow_root=True to remove everything in it"),
}
_cli = False


@contextmanager
def for_cli() -> Iterator[None]:
    """Render fixes as CLI flags while the CLI runs a command (its own process)."""
    global _cli
    before, _cli = _cli, True
    try:
        yield
    finally:
        _cli = before


class GenrostoreError(Exception):
    """Base of every error genrostore reports; `exit_code` is what the CLI exits with.

    `where` is the user-facing location once the message starts with it (set by `located`);
    a backend may name `path` (mount-relative, `""` for the mount itself) when the error is
    about another path than the one it was called on.
    """

    exit_code = ERROR

    def __init__(self, message: str, *, hint: str | None = None, fix: str | None = None,
                 where: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fix = fix
        self.where = where
        self.path = path

    @property
    def advice(self) -> str | None:
        """What to do, in the words of whoever reads it (the CLI's flags or the API's parameters)."""
        if self.fix is not None:
            cli, api = FIXES[self.fix]
            return cli if _cli else api
        return self.hint

    def located(self, where: str) -> GenrostoreError:
        """Put the user-facing location in front of the message, once (the Mount calls this)."""
        if self.where is None:
            self.where = where
            self.message = f"{where} {self.message}" if where.endswith(":") else f"{where}: {self.message}"
            self.args = (self.message,)
        return self

    def __str__(self) -> str:
        advice = self.advice
        return f"{self.message} ({advice})" if advice else self.message


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

    where: str

    def __init__(self, message: str, *, where: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint, where=where)


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
    return _translate_builtin(exc).located(where)


def _translate_builtin(exc: BaseException) -> GenrostoreError:
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted("interrupted", where="")
    if isinstance(exc, IsADirectoryError):
        return IsADirectory("is a directory", fix="recursive-dirs")
    if isinstance(exc, NotADirectoryError):
        return NotADirectory("not a directory")
    if isinstance(exc, FileNotFoundError):
        return FileNotFound("no such file or directory")
    if isinstance(exc, FileExistsError):
        return AlreadyExists("already exists")
    if isinstance(exc, PermissionError):
        return NotPermitted("permission denied")
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return TemporaryError(f"timed out ({exc})")
    if isinstance(exc, ConnectionError):
        return TemporaryError(f"connection failed ({exc})")
    if isinstance(exc, OSError):
        if exc.errno in _TRANSIENT_ERRNOS:
            return TemporaryError(f"{exc.strerror or exc}")
        if exc.errno == errno.ENOSPC:
            return GenrostoreError("no space left on device")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return NotPermitted(f"{exc.strerror}")
        return GenrostoreError(f"{exc.strerror or exc}")
    if isinstance(exc, NotImplementedError):
        return Unsupported("operation not supported by this backend")
    return GenrostoreError(f"{type(exc).__name__}: {exc}")
