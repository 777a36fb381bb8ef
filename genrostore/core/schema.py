"""Declarative backend option schemas: the one record that validation, env-only mounts,
`genrostore mounts`, redaction and the docs tables are all derived from."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from genrostore.core.errors import ConfigError
from genrostore.core.secrets import redact_url, url_password

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_URL_START = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://")


@dataclass(frozen=True)
class Option:
    """One backend option: its name, type, whether it is required or secret, and its help."""

    name: str
    help: str
    type: type = str
    required: bool = False
    default: Any = None
    secret: bool = False
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def coerce(self, value: Any, *, from_text: bool = False) -> Any:
        """Check `value` against the option's type; text from the environment is converted."""
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if from_text and isinstance(value, str) and value.lower() in _TRUE | _FALSE:
                return value.lower() in _TRUE
            raise ValueError(f"expected true or false, got {_describe(value)}")
        if self.type is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if from_text and isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
            raise ValueError(f"expected an integer, got {_describe(value)}")
        if self.type is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if from_text and isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            raise ValueError(f"expected a number, got {_describe(value)}")
        if self.type is dict:
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                return {k: str(v) for k, v in value.items()}
            raise ValueError(f"expected a mapping of strings, got {_describe(value)}")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"expected a string, got {_describe(value)}")
        text = str(value)
        if self.choices and text not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {text!r}")
        return text


def _is_url(value: str) -> bool:
    """A `scheme://...` value: a URL-valued option (webdav url, http base_url, s3 endpoint_url, ...)."""
    return _URL_START.match(value) is not None


def _check_url(key: str, value: str) -> None:
    """A URL-valued option must parse; the error shows it with its password masked, never the
    parser's own message (which quotes the text after the user name: `... as 'PASS'`)."""
    try:
        urlsplit(value).port  # noqa: B018 - reading .port parses it and raises on a bad one
    except ValueError:
        raise ConfigError(f"option '{key}': malformed URL {redact_url(value)}",
                          hint="percent-encode '/', '?', '#', '@' and ':' in a user name or password "
                               "(%2F, %3F, %23, %40, %3A)") from None


def _describe(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return type(value).__name__
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


@dataclass(frozen=True)
class BackendSpec:
    """What the registry knows of a backend before importing it (no client library needed)."""

    type: str
    summary: str
    options: tuple[Option, ...]
    module: str
    cls: str
    extra: str | None = None
    schemes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    notes: str = ""
    option_map: dict[str, Option] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        mapping: dict[str, Option] = {}
        for option in (*self.options, *COMMON_OPTIONS):
            mapping[option.name] = option
            for alias in option.aliases:
                mapping[alias] = option
        object.__setattr__(self, "option_map", mapping)

    @property
    def all_options(self) -> tuple[Option, ...]:
        return (*self.options, *COMMON_OPTIONS)

    def validate(self, raw: dict[str, Any], *, from_text: bool = False) -> dict[str, Any]:
        """Return canonical options with defaults; raise ConfigError naming the offending key."""
        values: dict[str, Any] = {}
        given: dict[str, str] = {}  # option name -> the key that set it (a name or an alias)
        for key, value in raw.items():
            option = self.option_map.get(key)
            if option is None:
                known = [o.name for o in self.all_options]
                guess = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean '{guess[0]}'?" if guess else f"known options: {', '.join(known)}"
                raise ConfigError(f"unknown option '{key}' for type '{self.type}'", hint=hint)
            if value is None:
                continue
            try:
                coerced = option.coerce(value, from_text=from_text)
            except ValueError as exc:
                raise ConfigError(f"option '{key}': {exc}") from None
            if option.name in given and values[option.name] != coerced:
                raise ConfigError(f"option '{key}': options '{given[option.name]}' and '{key}' set the same "
                                  f"thing to different values", hint="keep one of them")
            values[option.name], given[option.name] = coerced, key
            if isinstance(values[option.name], str) and _is_url(values[option.name]):
                _check_url(key, values[option.name])
        for option in self.all_options:
            if option.name not in values:
                if option.required:
                    raise ConfigError(f"missing required option '{option.name}' for type '{self.type}'")
                if option.default is not None:
                    values[option.name] = option.default
        return values

    def redacted(self, values: dict[str, Any]) -> dict[str, Any]:
        """The options as `genrostore mounts` shows them: secret values masked."""
        shown: dict[str, Any] = {}
        for key, value in values.items():
            option = self.option_map.get(key)
            if option is not None and option.secret:
                shown[key] = "***"
            elif isinstance(value, str) and _is_url(value):
                shown[key] = redact_url(value)
            else:
                shown[key] = value
        return shown

    def secrets(self, values: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for key, value in values.items():
            option = self.option_map.get(key)
            if option is None:
                continue
            if option.secret and isinstance(value, str):
                found.append(value)
            if option.type is dict and isinstance(value, dict) and option.secret:
                found.extend(str(v) for v in value.values())
            if isinstance(value, str) and _is_url(value):
                password = url_password(value)
                if password:
                    found.extend({password, unquote(password)})
        return found


PERMISSIONS = ("readonly", "readwrite", "delete")

COMMON_OPTIONS: tuple[Option, ...] = (
    Option("readonly", "Refuse every write on this mount (exit 6) before touching anything.", bool, default=False),
    Option("permissions", "genro-storage's access levels: `readonly` refuses writes and deletes, `readwrite` "
           "refuses deletes, `delete` (the default) allows both; refused operations exit 6.",
           choices=PERMISSIONS),
)
