"""Completion scripts are current, and mount names and remote paths complete, bounded and quietly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genrostore.cli import complete

ROOT = Path(__file__).resolve().parent.parent
COMPLETIONS = ROOT / "completions"


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "summary.txt").write_text("hi")
    file = tmp_path / "mounts.yaml"
    file.write_text(f"mounts:\n  reports: {{type: local, path: '{tmp_path / 'docs'}'}}\n  rest: {{type: memory}}\n")
    monkeypatch.setenv("GENROSTORE_PROFILE", str(file))
    return file


def _env(profile: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "GENROSTORE_PROFILE": str(profile), **extra}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("shell", complete.SHELLS)
def test_committed_script_matches_the_app(shell: str) -> None:
    committed = (COMPLETIONS / complete.SCRIPT_NAMES[shell]).read_text(encoding="utf-8")
    assert committed == complete.completion_script(shell), (
        f"completions/{complete.SCRIPT_NAMES[shell]} is stale: run python scripts/gen_docs.py --completions")


def test_mount_names_complete_from_the_active_profile(profile: Path) -> None:
    assert complete.complete_path(None, "re") == [("reports:", "local"), ("rest:", "memory")]


def test_paths_inside_a_mount_complete_with_directories_ending_in_slash(profile: Path) -> None:
    assert complete.complete_path(None, "reports:s") == [("reports:sub/", "dir"), ("reports:summary.txt", "file")]


def test_local_paths_and_urls_are_left_to_the_shell(profile: Path) -> None:
    assert complete.complete_path(None, "./re") == []
    assert complete.complete_path(None, "s3://bucket/k") == []


def test_a_broken_profile_completes_nothing_and_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "mounts.yaml"
    bad.write_text("mounts: [unclosed\n")
    monkeypatch.setenv("GENROSTORE_PROFILE", str(bad))
    assert complete.complete_path(None, "re") == []
    assert complete.complete_path(None, "reports:") == []


def test_a_slow_listing_is_abandoned_after_the_time_out(profile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genrostore.core.mount import Mount

    def hang(self: Mount, path: str) -> list[object]:
        time.sleep(10)
        return []

    monkeypatch.setattr(complete, "TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(Mount, "iterdir", hang)
    started = time.monotonic()
    assert complete.complete_path(None, "reports:") == []
    assert time.monotonic() - started < 2


def test_zsh_protocol_completes_mount_paths(profile: Path) -> None:
    result = subprocess.run(["genrostore"], capture_output=True, text=True, timeout=60, env=_env(
        profile, _GENROSTORE_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="genrostore cp reports:su"))
    assert "reports\\\\:summary.txt" in result.stdout and result.stderr == ""


def test_fish_protocol_completes_mount_names(profile: Path) -> None:
    result = subprocess.run(["genrostore"], capture_output=True, text=True, timeout=60, env=_env(
        profile, _GENROSTORE_COMPLETE="complete_fish", _TYPER_COMPLETE_FISH_ACTION="get-args",
        _TYPER_COMPLETE_ARGS="genrostore cat re"))
    assert result.stdout.splitlines() == ["reports:\tlocal", "rest:\tmemory"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(("line", "expected"), [
    ("genrostore ls re", ["reports:", "rest:"]),
    ("genrostore ls reports:sum", ["summary.txt"]),
    ("genrostore cp reports:", ["sub/", "summary.txt"]),
    ("genrostore l", ["ls"]),
])
def test_bash_script_completes_colon_words(profile: Path, line: str, expected: list[str]) -> None:
    script = f"""
source {COMPLETIONS / 'genrostore.bash'}
COMP_LINE="$1"; COMP_POINT=${{#COMP_LINE}}
read -ra COMP_WORDS <<< "$1"; COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_genrostore_completion genrostore
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    result = subprocess.run(["bash", "--norc", "-c", script, "bash", line], capture_output=True, text=True,
                            timeout=60, env=_env(profile))
    assert result.stdout.splitlines() == expected


def test_show_completion_prints_typers_script() -> None:
    result = subprocess.run(["genrostore", "--show-completion", "bash"], capture_output=True, text=True,
                            timeout=60, env=_env(Path("/nonexistent"), _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"))
    assert result.returncode == 0 and "_GENROSTORE_COMPLETE=complete_bash" in result.stdout


def test_install_completion_writes_the_script_for_the_shell(tmp_path: Path) -> None:
    result = subprocess.run(["genrostore", "--install-completion", "fish"], capture_output=True, text=True,
                            timeout=60, env=_env(Path("/nonexistent"), HOME=str(tmp_path),
                                                 _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1"))
    assert result.returncode == 0, result.stderr
    installed = tmp_path / ".config" / "fish" / "completions" / "genrostore.fish"
    assert "_GENROSTORE_COMPLETE=complete_fish" in installed.read_text()


INSTALLED = {"bash": ".bash_completions/genrostore.sh", "zsh": ".zfunc/_genrostore",
             "fish": ".config/fish/completions/genrostore.fish"}


def _install(home: Path, *args: str, shell_env: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["genrostore", "--install-completion", *args], capture_output=True, text=True, timeout=60,
                          env=_env(Path("/nonexistent"), HOME=str(home), SHELL=shell_env))


@pytest.mark.parametrize("shell", complete.SHELLS)
def test_install_completion_installs_the_committed_script(tmp_path: Path, shell: str) -> None:
    result = _install(tmp_path, shell)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and str(tmp_path / INSTALLED[shell]) in result.stderr
    committed = (COMPLETIONS / complete.SCRIPT_NAMES[shell]).read_text(encoding="utf-8")
    assert (tmp_path / INSTALLED[shell]).read_text(encoding="utf-8") == committed


@pytest.mark.parametrize(("shell", "rc", "line"), [
    ("bash", ".bashrc", "source '{home}/.bash_completions/genrostore.sh'"),
    ("zsh", ".zshrc", "fpath+=~/.zfunc; autoload -Uz compinit; compinit"),
])
def test_install_completion_adds_the_loading_line_once(tmp_path: Path, shell: str, rc: str, line: str) -> None:
    (tmp_path / rc).write_text("alias ll='ls -l'")
    for _ in range(2):
        assert _install(tmp_path, shell).returncode == 0
    assert (tmp_path / rc).read_text().splitlines() == ["alias ll='ls -l'", line.format(home=tmp_path)]


def test_install_completion_without_a_shell_uses_the_login_shell(tmp_path: Path) -> None:
    result = _install(tmp_path, shell_env="/usr/bin/zsh")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / INSTALLED["zsh"]).read_text() == (COMPLETIONS / "_genrostore").read_text()


def test_install_completion_for_an_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    result = _install(tmp_path, shell_env="/usr/bin/tcsh")
    assert result.returncode == 2
    assert "'tcsh' has no completion script" in result.stderr and "bash|zsh|fish" in result.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_installed_bash_completion_completes_mount_paths(profile: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert _install(home, "bash").returncode == 0
    script = """
source ~/.bashrc
COMP_LINE="genrostore ls reports:sum"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_genrostore_completion genrostore
printf '%s\\n' "${COMPREPLY[@]}"
"""
    result = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=60,
                            env=_env(profile, HOME=str(home)))
    assert result.stdout.splitlines() == ["summary.txt"], result.stderr


@pytest.mark.parametrize("shell", complete.SHELLS)
def test_show_completion_prints_the_committed_script(shell: str) -> None:
    result = subprocess.run(["genrostore", "--show-completion"], capture_output=True, text=True, timeout=60,
                            env=_env(Path("/nonexistent"), SHELL=f"/bin/{shell}"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (COMPLETIONS / complete.SCRIPT_NAMES[shell]).read_text(encoding="utf-8")
