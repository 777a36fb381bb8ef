"""How entries and times are shown: human output with the UTC offset, JSON in ISO-8601 UTC."""

from __future__ import annotations

from datetime import datetime, UTC
from typing import TYPE_CHECKING, Any

from genrostore.cli.context import human_size

if TYPE_CHECKING:
    from genrostore.core.backend import Entry


def human_time(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone().isoformat(timespec="seconds")


def json_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def entry_json(entry: Entry, address: str) -> dict[str, Any]:
    return {
        "path": address,
        "name": entry.name,
        "type": entry.type,
        "size": entry.size,
        "mtime": json_time(entry.mtime),
    }


def long_line(entry: Entry, shown: str, *, human: bool) -> str:
    size = human_size(entry.size) if human else ("-" if entry.size is None else str(entry.size))
    return f"{size:>12}  {human_time(entry.mtime):25}  {shown}"
