"""Fixtures that run the real `genrostore` command in a subprocess, in a private working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """`run("cp", "a", "b", input=b"...", env={...})` → CompletedProcess with bytes output."""

    def invoke(*args: str, input: bytes | None = b"", env: dict[str, str] | None = None,
               cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        environment = {**os.environ, "HOME": str(tmp_path / "home"), **(env or {})}
        (tmp_path / "home").mkdir(exist_ok=True)
        return subprocess.run([sys.executable, "-m", "genrostore", *args], input=input, capture_output=True,
                              env=environment, cwd=cwd or tmp_path, timeout=timeout)

    return invoke


@pytest.fixture
def profile(tmp_path: Path) -> Callable[[str], Path]:
    """Write a profile file and return its path."""

    def write(text: str, name: str = "mounts.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        path.chmod(0o600)
        return path

    return write
