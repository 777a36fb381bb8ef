"""Redaction of secrets: every value marked secret is registered here and masked in all output."""

from __future__ import annotations

import re
import threading
from functools import cache

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """Credentials that travel inside text rather than as option values (compiled when first needed:
    most runs never print an error)."""
    return (
        re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@/\s]+)(@)"),  # scheme://user:PASS@
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)([^'\",\s}]+)"),
        re.compile(r"(?i)([?&](?:sig|signature|token|access_token|x-amz-signature|x-amz-security-token)=)([^&\s'\"]+)"),
    )


def register(value: object) -> None:
    """Remember a secret so that `redact` masks it wherever it appears."""
    if isinstance(value, str) and len(value) >= 3:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Mask every registered secret and every credential-looking fragment in `text`."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern in _patterns():
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), text)
    return text
