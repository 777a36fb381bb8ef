"""Redaction of secrets: every value marked secret is registered here and masked in all output;
passwords written into URLs (`http://user:PASS@host/`) are found and masked here too."""

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
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)?\s*)([^'\",\s}]+)"),
        re.compile(r"(?i)([?&](?:sig|signature|token|access_token|x-amz-signature|x-amz-security-token)=)([^&\s'\"]+)"),
    )


@cache
def _url_pattern() -> re.Pattern[str]:
    """A URL inside text: up to the next space, quote or angle bracket."""
    return re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+")


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password of `scheme://user:PASSWORD@host/...` lies in `url`, if it has one.

    The user part ends at the last `@` of the authority, as URL parsers read it. A password
    holding an unescaped `/`, `?` or `#` ends the authority early (`http://u:pa/ss@host/`: a
    parser sees host `u` and port `pa`); when the text after the colon cannot be a port and an
    `@` follows, everything up to the last `@` is taken for the password, so it is masked whole.
    """
    start = url.find("://") + 3
    rest = url[start:]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" in authority:
        userinfo = authority[:authority.rfind("@")]
        colon = userinfo.find(":")
        return (start + colon + 1, start + len(userinfo)) if colon >= 0 else None
    colon = authority.find(":")
    at = rest.rfind("@")
    if colon >= 0 and at > end and not authority.startswith("[") and not authority[colon + 1:].isdigit():
        return start + colon + 1, start + at
    return None


def url_password(url: str) -> str | None:
    """The password written into a URL's user part (as written, percent-escapes kept), or None."""
    match = _url_pattern().search(url)
    span = _password_span(match.group(0)) if match else None
    return match.group(0)[span[0]:span[1]] if match and span else None


def redact_url(url: str) -> str:
    """`url` with the password of its user part masked: `http://alice:***@host/`."""
    span = _password_span(url)
    return url if span is None or span[0] == span[1] else url[:span[0]] + MASK + url[span[1]:]


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
    text = _url_pattern().sub(lambda m: redact_url(m.group(0)), text)
    for pattern in _patterns():
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(3) if m.lastindex == 3 else ""), text)
    return text
