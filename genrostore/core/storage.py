"""`Storage`: the mounts of one profile and the entry point `storage.node("mount:path")`."""

from __future__ import annotations

import difflib
import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from genrostore.core import relative
from genrostore.core.errors import ConfigError, GenrostoreError, UnknownMount, UsageError
from genrostore.core.mount import Mount
from genrostore.core.paths import Address, normalize, parse_address
from genrostore.core.profile import MountConfig, Profile, builtin_mounts, load_profile, mounts_from_dicts, only_builtins
from genrostore.core.registry import backend_class, spec_for, spec_for_scheme
from genrostore.core.schema import PERMISSIONS
from genrostore.core.secrets import redact_url
from genrostore.core.settings import Settings

if TYPE_CHECKING:
    from genrostore.core.node import Node


class Storage:
    """The mounts a command works with; build it from a profile or from a list of dicts."""

    def __init__(self, mounts: list[dict[str, Any]] | None = None, *, profile: Profile | None = None,
                 settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._profile = profile
        self._api_mounts = mounts_from_dicts(mounts or [])
        if profile is not None:
            self._add_api_mounts(profile)
        if self.settings.resolver is None:
            self.settings.resolver = self.node  # lets an archive mount open `file: MOUNT:PATH`
        self._mounts: dict[str, Mount] = {}
        self._adhoc: dict[tuple[str, str], Mount] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_profile(cls, path: str | os.PathLike[str] | None = None, *, settings: Settings | None = None) -> Storage:
        """Load the profile (`path`, else $GENROSTORE_PROFILE, else the XDG default, else none)."""
        if only_builtins(path):
            return cls(settings=settings)
        return cls(profile=load_profile(path), settings=settings)

    @property
    def profile(self) -> Profile:
        """The active profile: every mount by name and where it was defined.

        Without a profile file or env-only mounts it holds just the built-ins, set up on first use
        (a plain local path or URL needs none of them: start-up cost).
        """
        if self._profile is None:
            profile = Profile(path=None)
            for config in builtin_mounts():
                profile.mounts[config.name] = config
            self._add_api_mounts(profile)
            self._profile = profile
        return self._profile

    def _add_api_mounts(self, profile: Profile) -> None:
        for config in self._api_mounts:
            profile.mounts[config.name] = config

    # -- mounts ------------------------------------------------------------------------------
    @property
    def mount_configs(self) -> dict[str, MountConfig]:
        return self.profile.mounts

    def mount(self, name: str) -> Mount:
        """The mount `name`; a broken definition raises its ConfigError here, for the commands using it."""
        with self._lock:
            mount = self._mounts.get(name)
        if mount is not None:
            return mount
        config = self.profile.mounts.get(name)
        if config is None:
            raise self._unknown(name)
        if config.error is not None:
            raise config.error
        options = self._relative_options(config) if config.spec is relative.SPEC else config.options
        built = Mount(config.name, config.spec, options, config.origin, self.settings)
        with self._lock:
            return self._mounts.setdefault(name, built)

    def _relative_options(self, config: MountConfig) -> dict[str, Any]:
        """A relative mount's options, its permissions narrowed to its parent's (never wider)."""
        seen = [config.name]
        parent_name = config.options["parent"]
        while True:
            parent = self.profile.mounts.get(parent_name)
            if parent is None:
                raise ConfigError(f"{config.origin}: mount '{config.name}': path names mount '{parent_name}', "
                                  f"which {self.profile.source} does not define")
            if parent.spec is not relative.SPEC:
                break
            if parent.name in seen:
                raise ConfigError(f"{config.origin}: mount '{config.name}': relative mounts form a cycle "
                                  f"({' -> '.join([*seen, parent.name])})")
            seen.append(parent.name)
            parent_name = parent.options["parent"]
        outer = self.mount(config.options["parent"])
        levels = [config.options.get("permissions", "delete"),
                  "readonly" if outer.readonly else outer.options.get("permissions", "delete")]
        if config.options.get("readonly"):
            levels.append("readonly")
        return {**config.options, "permissions": min(levels, key=PERMISSIONS.index)}

    def _unknown(self, name: str) -> UnknownMount:
        known = sorted(self.profile.mounts)
        guess = difflib.get_close_matches(name, known, n=1)
        did_you_mean = f"did you mean '{guess[0]}:'? " if guess else ""
        return UnknownMount(
            f"unknown mount '{name}' (profile: {self.profile.source})",
            hint=f"{did_you_mean}known mounts: {', '.join(known)}",
        )

    def _local_root(self) -> Mount:
        return self._adhoc_mount("local", {"path": "/", "readonly": False}, display="/")

    def _adhoc_mount(self, type_name: str, options: dict[str, Any], display: str) -> Mount:
        spec = spec_for(type_name)
        validated = spec.validate(options)
        key = (type_name, repr(sorted(validated.items())))
        with self._lock:
            mount = self._adhoc.get(key)
            if mount is None:
                mount = Mount(display, spec, validated, "command line", self.settings, display_name=display)
                self._adhoc[key] = mount
            return mount

    def _stdio(self) -> Mount:
        from genrostore.core import stdio

        with self._lock:
            mount = self._adhoc.get(("stdio", ""))
            if mount is None:
                mount = Mount("-", stdio.SPEC, {}, "built-in", self.settings, display_name="-")
                self._adhoc[("stdio", "")] = mount
            return mount

    # -- nodes -------------------------------------------------------------------------------
    def resolve(self, text: str) -> tuple[Mount, str, Address]:
        """Mount and normalised mount-relative path for anything a user may type."""
        address = parse_address(text, is_mount=lambda name: name in self.mount_configs)
        if address.stdio:
            return self._stdio(), "-", address
        if address.local is not None:
            absolute = os.path.abspath(os.path.expanduser(address.local))
            return self._local_root(), normalize(absolute), address
        if address.url is not None:
            return self._resolve_url(address)
        mount = self.mount(address.mount or "")
        if backend_class(mount.spec).features.raw_paths:
            return mount, address.path, address
        return mount, normalize(address.path, where=text), address

    def _resolve_url(self, address: Address) -> tuple[Mount, str, Address]:
        assert address.url is not None and address.scheme is not None
        spec = spec_for_scheme(address.scheme)
        cls = backend_class(spec)
        from_url = getattr(cls, "from_url", None)
        if from_url is None:
            raise UsageError(f"{address.url}: the {spec.type} backend takes no URLs")
        try:
            options, path = from_url(address.url)
            parts = urlsplit(address.url)
            display = f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}/"
        except ValueError:
            # Not the parser's message: it quotes the text after the user name (`... as 'PASS'`).
            raise UsageError(f"{redact_url(address.url)}: malformed URL",
                             hint="percent-encode '/', '?', '#', '@' and ':' in a user name or password "
                                  "(%2F, %3F, %23, %40, %3A)") from None
        if cls.features.local_disk:  # file:// URLs show as the plain path
            display = "/"
        mount = self._adhoc_mount(spec.type, options, display)
        return mount, normalize(path, where=address.url), address

    def node(self, text: str) -> Node:
        """The node at `mount:path`, a local path, a `scheme://` URL, or `-`."""
        from genrostore.core.node import Node

        mount, path, address = self.resolve(text)
        return Node(self, mount, path, trailing_slash=address.trailing_slash)

    def close(self) -> None:
        """Close every backend that was opened; the first failure is raised once all are closed."""
        first: GenrostoreError | None = None
        for mount in [*self._mounts.values(), *self._adhoc.values()]:
            try:
                mount.close()
            except GenrostoreError as exc:
                first = first or exc
        if first is not None:
            raise first

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Storage(mounts={sorted(self.profile.mounts)})"
