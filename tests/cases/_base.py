"""What a backend case provides to the conformance suite."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from genrostore import Storage

# The standard tree: read-only cases serve exactly this under `sample_prefix`.
SAMPLE: dict[str, bytes] = {
    "hello.txt": b"Hello World\n",
    "empty.txt": b"",
    "space name.txt": b"spaces are fine\n",
    "unicod\u00e9 \u00fc/\u00f1 \u65e5\u672c.txt": "caf\u00e9 \u65e5\u672c\n".encode(),
    "dir/nested/deep.bin": bytes(range(256)) * 64,
    "dir/a.txt": b"a\n",
}

# Capabilities a case may declare.
WRITE = "write"  # files can be written, overwritten and removed
DIRS = "dirs"  # empty directories exist (mkdir makes something ls shows)
BIG = "big"  # a GiB-class stream is reasonable (not held in memory by design)
SERVER_COPY = "server_copy"  # copies inside the mount need no bytes through the client
PERSIST = "persist"  # what one process writes, the next one reads (not memory)
BUCKET = "bucket"  # an object store: the mount names a bucket/container at an `endpoint_url`


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

    def can(self, cap: str) -> bool:
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
    """Skip a behaviour the backend lacks by design (a declared capability, allowed under CI)."""
    import pytest

    if not case.can(cap):
        pytest.skip(f"[capability] {case.name} lacks '{cap}' by design")
