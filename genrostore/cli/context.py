"""The one application object every command receives: profile, settings, output streams."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from genrostore.core.secrets import redact
from genrostore.core.settings import Settings
from genrostore.core.stdio import flush_stdout, write_stdout

if TYPE_CHECKING:
    from genrostore.core.storage import Storage


@dataclass
class App:
    """Global options, and the Storage built from them on first use."""

    profile: str | None = None
    debug: bool = False
    settings: Settings = field(default_factory=Settings)
    _storage: Storage | None = None

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            from genrostore.core.storage import Storage

            self._storage = Storage.from_profile(self.profile, settings=self.settings)
        return self._storage

    def out(self, line: str) -> None:
        """A line of results on stdout."""
        write_stdout((line + "\n").encode("utf-8", "surrogateescape"))

    def out_bytes(self, data: bytes) -> None:
        write_stdout(data)

    def out_json(self, value: Any) -> None:
        import json

        self.out(json.dumps(value, ensure_ascii=False))

    def flush(self) -> None:
        flush_stdout()

    def info(self, message: str) -> None:
        """A message for people (stderr); silenced by --quiet."""
        if not self.settings.quiet:
            print(redact(message), file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        """A warning or error line on stderr; never silenced."""
        print(redact(message), file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the mounts; a command that skipped listed entries (each already reported) fails."""
        import sys

        if self._storage is not None:
            self._storage.close()
        skipped = self.settings.skipped
        if skipped and sys.exc_info()[0] is None:
            from genrostore.core.errors import UnsafeName

            raise UnsafeName(f"{len(skipped)} listed entr{'y was' if len(skipped) == 1 else 'ies were'} "
                             "skipped (see above)")


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1024 or unit == "P":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{size}B"
