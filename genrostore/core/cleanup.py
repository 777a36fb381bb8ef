"""What interrupted commands leave behind when they cannot clean up (`kill -9`, a crash, a power
cut, a dropped connection): temp files beside their targets and incomplete multipart uploads.

Only names `core.tempnames` recognises are ever removed, and only when older than the given
age, so the temp file of a copy still running (its mtime moves as it is written) is left alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime, timedelta, UTC
from typing import TYPE_CHECKING

from genrostore.core.errors import GenrostoreError, UsageError
from genrostore.core.pipeline.outcome import CopyResult
from genrostore.core.tempnames import is_temp

if TYPE_CHECKING:
    from genrostore.core.node import Node

DEFAULT_AGE = "24h"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_age(text: str) -> timedelta:
    """`30m`, `2h`, `7d`, `1w`, `90s` or plain seconds (`3600`)."""
    match = _AGE.match(text)
    if match is None:
        raise UsageError(f"--age {text!r}: not an age", hint="use seconds or a number with s, m, h, d or w: 30m, 2h, 7d")
    return timedelta(seconds=float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()])


def clean(node: Node, age: timedelta, report: Callable[[str], None]) -> CopyResult:
    """Remove stale temp files and abort stale multipart uploads at or below `node`.

    Each one removed is reported (in a dry run the mount reports `DRY-RUN: ...` instead); a
    failure to remove one is collected and the others go on.
    """
    mount = node.mount
    mount.refuse_if_readonly("clean up", node.path)
    cutoff = datetime.now(UTC) - age
    outcome = CopyResult()

    def attempt(where: str, action: Callable[[], None], done: str) -> None:
        try:
            action()
        except GenrostoreError as exc:
            outcome.failures.append((where, exc))
            return
        outcome.copied.append(node)
        if not mount.settings.dry_run:
            report(done)

    if mount.backend.features.atomic_rename:
        for entry in mount.walk(node.path):
            if not entry.is_dir and is_temp(entry.name) and _stale(entry.mtime, cutoff, age):
                label = mount.label(entry.path)
                attempt(label, functools.partial(mount.remove_file, entry.path), f"removed {label}")
    for upload in mount.incomplete_uploads(node.path):
        if _stale(upload.started, cutoff, age):
            label = mount.label(upload.path)
            attempt(label, functools.partial(mount.abort_upload, upload),
                    f"aborted multipart upload {label} ({upload.upload_id})")
    return outcome


def _stale(moment: datetime | None, cutoff: datetime, age: timedelta) -> bool:
    """Older than the cutoff; a time the store does not give counts only under `--age 0`."""
    if moment is None:
        return not age
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment <= cutoff
