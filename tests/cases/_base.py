"""What a backend case provides to the conformance suite."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml

from genrostore import Storage
from genrostore.core.backend import Features

# The standard tree: read-only cases serve exactly this under `sample_prefix`.
SAMPLE: dict[str, bytes] = {
    "hello.txt": b"Hello World\n",
    "empty.txt": b"",
    "space name.txt": b"spaces are fine\n",
    "unicod\u00e9 \u00fc/\u00f1 \u65e5\u672c.txt": "caf\u00e9 \u65e5\u672c\n".encode(),
    "dir/nested/deep.bin": bytes(range(256)) * 64,
    "dir/a.txt": b"a\n",
}

# What the backend can do is read from its declaration (`Backend.features`), never restated here.
WRITE = "write"  # files can be written, overwritten and removed
DIRS = "dirs"  # empty directories exist (mkdir makes something ls shows)
SERVER_COPY = "server_copy"  # copies inside the mount need no bytes through the client
SERVER_MOVE = "server_move"  # mv inside the mount needs no bytes through the client (a rename, a server copy)
FROM_FEATURES: dict[str, Callable[[Features], bool]] = {
    WRITE: lambda f: not f.read_only,
    DIRS: lambda f: f.dirs and not f.implicit_dirs,
    SERVER_COPY: lambda f: f.server_copy,
    SERVER_MOVE: lambda f: f.server_move,
}

# What describes the test set-up rather than the backend: a case declares these in `caps`.
BIG = "big"  # a GiB-class stream is reasonable here (not held in memory, not minutes on an emulator)
PERSIST = "persist"  # what one process writes, the next one reads (not memory, not an unclosed archive)
BUCKET = "bucket"  # an object store: the mount names a bucket/container at an `endpoint_url`
SETUP_CAPS = frozenset({BIG, PERSIST, BUCKET})

# Which conformance tests exercise each capability of `Features` (filled by `@exercises`); the
# coverage test fails the suite when a capability some backend declares has none.
EXERCISED: dict[str, list[str]] = {}

_Test = TypeVar("_Test", bound=Callable[..., object])


def exercises(*capabilities: str) -> Callable[[_Test], _Test]:
    """Register a conformance test as one that proves the named `Features` capabilities."""
    known = set(Features.__dataclass_fields__)
    unknown = set(capabilities) - known
    assert not unknown, f"not capabilities of Features: {sorted(unknown)}"

    def register(test: _Test) -> _Test:
        for capability in capabilities:
            EXERCISED.setdefault(capability, []).append(f"{test.__module__}::{test.__name__}")  # type: ignore[attr-defined]
        return test

    return register


@dataclass
class Case:
    """One configured mount of one backend, reachable from Python and from the CLI."""

    name: str
    mount: str
    mount_options: dict
    workdir: Path
    caps: frozenset[str] = frozenset()
    env: dict[str, str] = field(default_factory=dict)
    sample_prefix: str = ""  # where SAMPLE lives for read-only cases ("" = mount root)
    extra_mounts: dict[str, dict] = field(default_factory=dict)
    _storage: Storage | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        restated = self.caps - SETUP_CAPS
        assert not restated, f"case {self.name}: {sorted(restated)} come from the backend's features, not the case"

    @property
    def profile(self) -> Path:
        path = self.workdir / f"profile-{self.name}.yaml"
        if not path.exists():
            mounts = {self.mount: self.mount_options, **self.extra_mounts}
            path.write_text(yaml.safe_dump({"mounts": mounts}, allow_unicode=True))
            path.chmod(0o600)
        return path

    def storage(self) -> Storage:
        """One Storage per case for the session (a memory mount lives as long as it)."""
        if self._storage is None:
            for key, value in self.env.items():
                os.environ.setdefault(key, value)
            self._storage = Storage.from_profile(self.profile)
        return self._storage

    @property
    def features(self) -> Features:
        """What the configured backend declares it can do (its class's, narrowed by its options)."""
        return self.storage().mount(self.mount).backend.features

    def can(self, cap: str) -> bool:
        derive = FROM_FEATURES.get(cap)
        if derive is not None:
            return derive(self.features)
        if cap in Features.__dataclass_fields__:
            return bool(getattr(self.features, cap))
        return cap in self.caps

    def fresh(self) -> str:
        """A new, unused directory address on the mount (writable cases)."""
        return f"{self.mount}:t-{uuid.uuid4().hex[:10]}"

    def sample(self) -> str:
        """The address of a directory holding SAMPLE (written now for writable cases)."""
        if not self.can(WRITE):
            return f"{self.mount}:{self.sample_prefix}".rstrip("/")
        base = self.fresh()
        storage = self.storage()
        for name, data in SAMPLE.items():
            storage.node(f"{base}/{name}").write(data)
        return base

    def cli(self, *args: str, input: bytes | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        """Run the real `genrostore` command with this case's profile."""
        env = {**os.environ, **self.env, "GENROSTORE_PROFILE": str(self.profile)}
        return subprocess.run(
            [sys.executable, "-m", "genrostore", *args],
            input=input if input is not None else b"",
            capture_output=True,
            env=env,
            timeout=timeout,
        )


def join(base: str, name: str) -> str:
    return base + name if base.endswith(":") else f"{base}/{name}"


def require(case: Case, cap: str) -> None:
    """Skip a behaviour the backend lacks by design (a declared capability, allowed under CI).

    `cap` is one of the names above or any field of `Features` (`"stored_md5"`)."""
    import pytest

    if not case.can(cap):
        pytest.skip(f"[capability] {case.name} lacks '{cap}' by design")
