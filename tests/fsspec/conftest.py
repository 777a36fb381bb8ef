"""Profiles and filesystems for the `genrostore://` fsspec tests.

The protocol is found through the `fsspec.specs` entry point of the installed distribution.
A checkout used through PYTHONPATH, whose installed metadata predates the entry point, gets the
same class registered by name (test_packaging checks the wheel declares the entry point).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import yaml

from genrostore.fsspec_protocol import GenrostoreFileSystem

try:
    fsspec.get_filesystem_class("genrostore")
except ValueError:
    fsspec.register_implementation("genrostore", "genrostore.fsspec_protocol.GenrostoreFileSystem")


def write_profile(path: Path, mounts: dict[str, dict]) -> Path:
    path.write_text(yaml.safe_dump({"mounts": mounts}))
    path.chmod(0o600)
    return path


def filesystem(profile: Path) -> GenrostoreFileSystem:
    """A fresh instance (never one cached by an earlier test with the same profile)."""
    return GenrostoreFileSystem(profile=str(profile), skip_instance_cache=True)


def fresh(mount: str) -> str:
    return f"{mount}/t-{uuid.uuid4().hex[:10]}"
