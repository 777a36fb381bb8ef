"""The profile: mounts from YAML, from the environment, and the built-ins, validated against
each backend's schema. Errors carry `file:line: mount 'x': ...` and exit 7."""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genrostore.core.errors import ConfigError
from genrostore.core.registry import spec_for
from genrostore.core.schema import BackendSpec

ENV_PROFILE = "GENROSTORE_PROFILE"
ENV_MOUNT_PREFIX = "GENROSTORE_MOUNT_"
MAX_PROFILE_BYTES = 1024 * 1024
# genro-storage keys with no meaning here (encryption, versioning, fsspec chaining): accepted, warned.
GENRO_STORAGE_ONLY = ("version_aware", "default_encrypted", "target_protocol", "target_options")
GENRO_STORAGE_ONLY_BY_TYPE = {"local": ("base_url",)}
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+\Z")
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class MountConfig:
    """A mount as declared: its validated options and where it was defined."""

    name: str
    spec: BackendSpec
    options: dict[str, Any]
    origin: str
    error: ConfigError | None = None  # a broken definition: only the commands that use it fail
    ignored: tuple[str, ...] = ()  # genro-storage keys genrostore has no use for


@dataclass
class Profile:
    """Every mount known to a command, in definition order."""

    path: Path | None
    mounts: dict[str, MountConfig] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "no profile file"


def default_profile_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "genrostore" / "mounts.yaml"


def find_profile(explicit: str | os.PathLike[str] | None = None) -> tuple[Path | None, bool]:
    """The profile file to use and whether it was asked for explicitly (then it must exist)."""
    if explicit:
        return Path(explicit), True
    env = os.environ.get(ENV_PROFILE)
    if env:
        return Path(env), True
    default = default_profile_path()
    return (default, False) if default.exists() else (None, False)


def only_builtins(explicit: str | os.PathLike[str] | None = None) -> bool:
    """True when `load_profile(explicit)` would hold just the built-ins: no file, no env-only mount."""
    return find_profile(explicit) == (None, False) and not _env_mount_names(os.environ)


def builtin_mounts() -> list[MountConfig]:
    return [
        MountConfig("home", spec_for("local"), {"path": os.path.expanduser("~"), "readonly": False}, "built-in"),
        MountConfig("mem", spec_for("memory"), {"readonly": False}, "built-in"),
        MountConfig("data", spec_for("base64"), {"readonly": False}, "built-in"),
    ]


def load_profile(path: str | os.PathLike[str] | None = None, *, environ: dict[str, str] | None = None,
                 warn: Any = None) -> Profile:
    """Built-ins, then the profile file, then env-only mounts; later definitions win."""
    env = dict(os.environ if environ is None else environ)
    file, explicit = find_profile(path)
    profile = Profile(path=file)
    for mount in builtin_mounts():
        profile.mounts[mount.name] = mount
    if file is not None:
        if not file.exists():
            if explicit:
                raise ConfigError(f"profile {file} does not exist",
                                  hint=f"create it, or unset --profile/{ENV_PROFILE}")
        else:
            for mount in _load_file(file, env):
                profile.mounts[mount.name] = mount
            _warn_if_exposed(file, profile, warn)
    for mount in _env_mounts(env):
        profile.mounts[mount.name] = mount
    message = ignored_keys_message(list(profile.mounts.values()), profile.source)
    if message:
        (warn or (lambda text: print(text, file=sys.stderr)))(message)
    return profile


def mounts_from_dicts(items: list[dict[str, Any]], origin: str = "api") -> list[MountConfig]:
    """Mounts given as Python dicts (the `Storage(mounts=[...])` API); a bad one raises at once."""
    configs = [_mount_from_mapping(dict(item), origin, env=dict(os.environ), lazy=False) for item in items]
    message = ignored_keys_message(configs, origin)
    if message:
        import warnings

        warnings.warn(message, UserWarning, stacklevel=3)
    return configs


def ignored_keys_message(configs: list[MountConfig], source: str) -> str | None:
    """One warning for every genro-storage-only key of a profile, naming each with its mount."""
    found = [f"{key} (mount '{c.name}')" for c in configs for key in c.ignored]
    if not found:
        return None
    return f"warning: {source}: ignoring genro-storage keys genrostore has no use for: {', '.join(found)}"


# -- YAML with line numbers ---------------------------------------------------------------
# libyaml's composer (PyYAML's _yaml.pyx) recurses in C with no depth check: 25,000 nested
# collections overflow an 8 MiB stack (about 350 bytes a level) and kill the process with SIGSEGV,
# where the pure-Python composer raises RecursionError (exit 7). Every collection node needs an
# indicator character ([ { - : ?), so a text with fewer of them than this cannot nest deeper: it
# fits a 512 KiB thread stack. A larger profile (a hundred mounts or so) takes the Python parser.
_C_NESTING_BOUND = 1000


def _may_nest_deeply(text: str) -> bool:
    return sum(text.count(c) for c in "[{-:?") >= _C_NESTING_BOUND


def _loader(text: str) -> type:
    import yaml

    # libyaml's parser where PyYAML was built with it (the wheels are): the same safe
    # constructors, nodes with the same marks, a fifth of the pure-Python parser's time.
    base: Any = yaml.SafeLoader if _may_nest_deeply(text) else getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):
        def construct_mapping(self, node: Any, deep: bool = False) -> _LineDict:
            mapping = super().construct_mapping(node, deep=deep)
            lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if hasattr(k, "value")}
            return _LineDict(mapping, node.start_mark.line + 1, lines)

        def construct_line_map(self, node: Any) -> Any:
            data = _LineDict({}, node.start_mark.line + 1, {})
            yield data
            value = self.construct_mapping(node)
            data.update(value)
            data.lines = value.lines

    LineLoader.add_constructor("tag:yaml.org,2002:map", LineLoader.construct_line_map)
    return LineLoader


class _LineDict(dict):
    def __init__(self, data: dict[Any, Any], line: int, lines: dict[Any, int]) -> None:
        super().__init__(data)
        self.line = line
        self.lines = lines


def _load_file(file: Path, env: dict[str, str]) -> list[MountConfig]:
    import yaml

    text = _read_bounded(file)
    if file.suffix.lower() == ".json":
        return list(_mounts_in_document(_parse_json(text, file), file, env))
    try:
        document = yaml.load(text, Loader=_loader(text))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else str(file)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: profile nests too deeply") from None
    return list(_mounts_in_document(document, file, env))


def _read_bounded(file: Path) -> str:
    """The profile's text; at most MAX_PROFILE_BYTES + 1 bytes are read, from a pipe or /dev/zero too."""
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read profile: {exc.strerror}") from None
    if len(data) > MAX_PROFILE_BYTES:
        raise ConfigError(f"{file}: profile is larger than {MAX_PROFILE_BYTES // 1024} KiB",
                          hint="a profile holds mount definitions only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: profile is not UTF-8 text") from None


def _parse_json(text: str, file: Path) -> Any:
    """genro-storage's StorageManager JSON profiles: a top-level list of mounts."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{file}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise ConfigError(f"{file}: profile nests too deeply") from None


def _mounts_in_document(document: Any, file: Path, env: dict[str, str]) -> list[MountConfig]:
    if document is None:
        return []
    items: list[tuple[str | None, Any]]
    if isinstance(document, list):
        items = [(None, item) for item in document]
    elif isinstance(document, dict) and set(document) <= {"mounts", "version"}:
        mounts = document.get("mounts") or {}
        if isinstance(mounts, list):
            items = [(None, item) for item in mounts]
        elif isinstance(mounts, dict):
            items = [(str(name), options) for name, options in mounts.items()]
        else:
            raise ConfigError(f"{file}:{_line(document, 'mounts')}: 'mounts' must be a mapping of name to options")
    else:
        raise ConfigError(f"{file}:1: a profile is either 'mounts:' (name → options) or a list of mounts with 'name'")
    result: list[MountConfig] = []
    for name, options in items:
        line = getattr(options, "line", None) or (_line(document.get("mounts"), name) if name else 1)
        origin = f"{file}:{line}"
        if not isinstance(options, dict):
            raise ConfigError(f"{origin}: mount {name or '?'}: expected a mapping of options")
        data = dict(options)
        if name is not None:
            data.setdefault("name", name)
        result.append(_mount_from_mapping(data, origin, env=env, lines=getattr(options, "lines", {}), file=file))
    return result


def _line(mapping: Any, key: Any) -> int:
    return getattr(mapping, "lines", {}).get(key, getattr(mapping, "line", 1))


def _mount_from_mapping(data: dict[str, Any], origin: str, *, env: dict[str, str],
                        lines: dict[str, int] | None = None, file: Path | None = None,
                        from_text: bool = False, lazy: bool = True) -> MountConfig:
    """Validate one mount; with `lazy`, a broken one becomes a config carrying its error."""
    lines = lines or {}

    def where(key: str | None) -> str:
        if file is not None and key in lines:
            return f"{file}:{lines[key]}"
        return origin

    name = data.pop("name", None)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{where('name')}: mount name {name!r} must use letters, digits, '_', '-', '.'")
    kind = data.pop("type", None)
    protocol = data.pop("protocol", None)
    kind = kind or protocol
    try:
        spec, data = _spec_and_options(name, kind, data, origin)
        ignored = tuple(key for key in (*GENRO_STORAGE_ONLY, *GENRO_STORAGE_ONLY_BY_TYPE.get(spec.type, ()))
                        if key in data and key not in spec.option_map)
        for key in ignored:
            data.pop(key)
        budget = [MAX_OPTION_VALUES]
        interpolated = {k: _interpolate(v, env, k, budget) for k, v in data.items()}
        options = spec.validate(interpolated, from_text=from_text)
        _check_permissions(options)
    except ConfigError as exc:
        key = _failing_key(exc.message, data)
        error = ConfigError(f"{where(key)}: mount '{name}': {exc.message}", hint=exc.hint)
        if not lazy:
            raise error from None
        return MountConfig(name, _broken_spec(kind), {}, origin, error=error)
    from genrostore.core import secrets

    for secret in spec.secrets(options):
        secrets.register(secret)
    return MountConfig(name, spec, options, origin, ignored=ignored)


def _spec_and_options(name: str, kind: Any, data: dict[str, Any], origin: str) -> tuple[BackendSpec, dict[str, Any]]:
    """The backend spec, or the relative-mount spec for genro-storage's `path: 'parent:dir'`."""
    from genrostore.core import relative

    path = data.get("path")
    target = relative.parse(path) if kind is None and isinstance(path, str) else None
    if target is not None:
        data = {**data, "parent": target[0], "path": target[1]}
        return relative.SPEC, data
    if not isinstance(kind, str):
        raise ConfigError("missing 'type' (the backend, e.g. local, s3, sftp)")
    return spec_for(kind), data


def _check_permissions(options: dict[str, Any]) -> None:
    if options.get("readonly") and options.get("permissions") not in (None, "readonly"):
        raise ConfigError(f"option 'permissions': {options['permissions']} contradicts readonly: true",
                          hint="keep one of them")


def _broken_spec(kind: Any) -> BackendSpec:
    """Stands in for the backend of a mount whose definition failed (never built)."""
    return BackendSpec(type=kind if isinstance(kind, str) else "?", summary="a broken mount definition",
                       options=(), module=__name__, cls="")


def _failing_key(message: str, data: dict[str, Any]) -> str | None:
    match = re.search(r"option '([^']+)'", message)
    if match and match.group(1) in data:
        return match.group(1)
    return "type" if "type" in message else None


MAX_OPTION_VALUES = 10_000  # a YAML alias bomb would otherwise expand to billions of values


def _interpolate(value: Any, env: dict[str, str], key: str, budget: list[int] | None = None) -> Any:
    budget = [MAX_OPTION_VALUES] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError(f"option '{key}': value too large (more than {MAX_OPTION_VALUES} items; YAML aliases?)")
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            if var in env:
                return env[var]
            if default is not None:
                return default
            raise ConfigError(f"option '{key}': environment variable ${{{var}}} is not set",
                              hint=f"export {var}=... or write ${{{var}:-default}}")
        return _VAR_RE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, key, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, key, budget) for v in value]
    return value


def _env_mounts(env: dict[str, str]) -> list[MountConfig]:
    """rclone-style mounts from GENROSTORE_MOUNT_<NAME>_TYPE and GENROSTORE_MOUNT_<NAME>_<OPTION>."""
    names = _env_mount_names(env)
    options: dict[str, dict[str, Any]] = {n: {"name": n.lower()} for n in names}
    for key, value in env.items():
        if not key.startswith(ENV_MOUNT_PREFIX):
            continue
        rest = key[len(ENV_MOUNT_PREFIX):]
        owners = [n for n in names if rest.startswith(n + "_")]
        if owners:
            owner = max(owners, key=len)
            options[owner][rest[len(owner) + 1:].lower()] = value
    return [
        _mount_from_mapping(options[n], f"environment ({ENV_MOUNT_PREFIX}{n}_*)", env=env, from_text=True)
        for n in names
    ]


def _env_mount_names(env: Mapping[str, str]) -> list[str]:
    return sorted(
        key[len(ENV_MOUNT_PREFIX) : -len("_TYPE")]
        for key in env
        if key.startswith(ENV_MOUNT_PREFIX) and key.endswith("_TYPE") and len(key) > len(ENV_MOUNT_PREFIX) + 5
    )


def _warn_if_exposed(file: Path, profile: Profile, warn: Any) -> None:
    """Like ssh: a profile holding secrets should not be readable by group or others."""
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError:
        return
    if not mode & 0o077:
        return
    holds_secrets = any(
        m.spec.secrets(m.options) for m in profile.mounts.values() if m.origin.startswith(str(file))
    )
    if holds_secrets:
        message = (f"warning: {file} holds secrets and is readable by others (mode {mode:o}); "
                   f"run: chmod 600 {file}")
        (warn or (lambda text: print(text, file=sys.stderr)))(message)
