"""The built wheel and sdist: what they contain, and that pipx/uv installs of them work.

One wheel and sdist are built per session (from a copy of the tree, so the checkout is not
touched); pipx installs the wheel into one fresh venv (core only, no extras), uv installs the
source tree into another.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest

from genrostore.core.registry import BACKEND_MODULES

ROOT = Path(__file__).resolve().parent.parent
# Network backends, most wanted first: the missing-extra test uses the first one that exists.
NETWORK_BACKENDS = ("s3", "gcs", "azure", "sftp", "smb", "webdav", "http", "github", "git", "libarchive")
SHIPPED = ("completions/genrostore.bash", "completions/_genrostore", "completions/genrostore.fish",
           "mounts.example.yaml")
IGNORED = shutil.ignore_patterns(".git", ".cache", ".venv", "build", "dist", "site", "*.egg-info", "__pycache__",
                                 ".pytest_cache", ".ruff_cache", ".benchmarks")


def _run(*args: str | Path, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, **kwargs)  # type: ignore[call-overload]


@pytest.fixture(scope="session")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("src") / "genrostore"
    shutil.copytree(ROOT, tree, ignore=IGNORED)
    return tree


@pytest.fixture(scope="session")
def dist(source_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = _run(sys.executable, "-m", "build", "--installer", "uv", "--outdir", out, source_tree)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def wheel(dist: Path) -> Path:
    return next(dist.glob("genrostore-*.whl"))


@pytest.fixture(scope="session")
def pipx_bin(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("pipx")
    # Every pipx directory under the test's own home: the completion directory too, or pipx links
    # the wheel's completion script into the user's ~/.local/share, where two xdist workers
    # installing at once collide on one link (seen: FileNotFoundError in pipx's unlink).
    env = {"PIPX_HOME": str(home / "home"), "PIPX_BIN_DIR": str(home / "bin"), "PIPX_MAN_DIR": str(home / "man"),
           "PIPX_COMPLETION_DIR": str(home / "completions")}
    result = _run(sys.executable, "-m", "pipx", "install", wheel, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return home / "bin" / "genrostore"


def _members(archive: Path) -> list[str]:
    if archive.suffix == ".whl":
        return zipfile.ZipFile(archive).namelist()
    with tarfile.open(archive) as tar:
        return [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]


def test_wheel_ships_completions_and_the_example_profile(wheel: Path) -> None:
    members = _members(wheel)
    for shipped in SHIPPED:
        assert any(m.endswith("/" + shipped.rsplit("/", 1)[-1]) for m in members), f"{shipped} not in the wheel"


def test_sdist_ships_completions_and_the_example_profile(dist: Path) -> None:
    members = _members(next(dist.glob("genrostore-*.tar.gz")))
    for shipped in SHIPPED:
        assert shipped in members, f"{shipped} not in the sdist"


def test_wheel_carries_the_project_version(wheel: Path) -> None:
    assert wheel.name.startswith(f"genrostore-{version('genrostore')}-")


def test_the_wheel_declares_the_fsspec_entry_point(wheel: Path) -> None:
    """`fsspec.open("genrostore://…")` finds the protocol in an installed copy through this."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        entry_points = archive.read(name).decode()
    section = entry_points.split("[fsspec.specs]", 1)[1].split("[", 1)[0]
    assert "genrostore = genrostore.fsspec_protocol:GenrostoreFileSystem" in section


def test_pipx_installed_wheel_prints_its_version_from_metadata(pipx_bin: Path) -> None:
    result = _run(pipx_bin, "--version")
    assert (result.returncode, result.stdout) == (0, f"genrostore {version('genrostore')}\n")


def test_pipx_installed_wheel_copies_a_file(pipx_bin: Path, tmp_path: Path) -> None:
    result = _run(pipx_bin, "cp", "data:SGVsbG8gV29ybGQ=", tmp_path / "hello.txt", env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "hello.txt").read_text() == "Hello World"


def _network_backend() -> str | None:
    for name in NETWORK_BACKENDS:
        if (ROOT / (BACKEND_MODULES[name].replace(".", "/") + ".py")).exists():
            return name
    return None


def test_a_missing_extra_exits_7_naming_the_install_command(pipx_bin: Path, tmp_path: Path) -> None:
    from genrostore.core.registry import spec_for

    name = _network_backend()
    if name is None:
        pytest.fail("no network backend module exists yet")
    spec = spec_for(name)
    env = {"HOME": str(tmp_path), "GENROSTORE_MOUNT_X_TYPE": name}
    for option in spec.options:
        if option.required:
            env[f"GENROSTORE_MOUNT_X_{option.name.upper()}"] = option.choices[0] if option.choices else "x"
    if "file" in spec.option_map:  # archives: make the archive itself exist, so only the import fails
        (tmp_path / "a.bin").write_bytes(b"not an archive")
        env["GENROSTORE_MOUNT_X_FILE"] = str(tmp_path / "a.bin")
    target = "s3://bucket/key" if name == "s3" else "x:key"
    result = _run(pipx_bin, "cat", target, env=env)
    assert result.returncode == 7, result.stderr
    assert f"pip install 'genrostore[{spec.extra}]'" in result.stderr


@pytest.mark.skipif(shutil.which("uv") is None and not (Path(sys.executable).parent / "uv").exists(),
                    reason="uv is not installed (pip install uv)")
def test_uv_tool_install_of_the_source_tree_runs(source_tree: Path, tmp_path: Path) -> None:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    env = {"UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    result = _run(uv, "tool", "install", source_tree, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    version_run = _run(tmp_path / "bin" / "genrostore", "--version")
    assert version_run.stdout == f"genrostore {version('genrostore')}\n"
    copy = _run(tmp_path / "bin" / "genrostore", "cp", "data:aGk=", tmp_path / "hi.txt", env={"HOME": str(tmp_path)})
    assert copy.returncode == 0 and (tmp_path / "hi.txt").read_text() == "hi"
