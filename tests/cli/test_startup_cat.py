"""Start-up of `genrostore cat ./file`: only what a plain local path needs is imported, and every
profile source that could fail still fails before anything is printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.clirun import Run


def _modules_after_cat(tmp_path: Path) -> set[str]:
    (tmp_path / "a.txt").write_bytes(b"hi\n")
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['genrostore', 'cat', './a.txt']\n"
        "import os\n"
            "def _exit(code):\n    raise SystemExit(code)\n"
            "os._exit = _exit  # the entry point leaves by os._exit; stay to look at sys.modules\n"
            "try:\n    runpy.run_module('genrostore', run_name='__main__')\n"
        "except SystemExit: pass\n"
        "sys.stderr.write('MODULES:' + ','.join(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENROSTORE_")}
    env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, cwd=tmp_path, env=env)
    assert result.stdout == b"hi\n"
    return set(result.stderr.decode().rsplit("MODULES:", 1)[1].split(","))


def test_cat_of_a_local_path_imports_only_the_local_backend(tmp_path: Path) -> None:
    backends = {m for m in _modules_after_cat(tmp_path) if m.startswith("genrostore.backends.")}
    assert backends == {"genrostore.backends.local"}


def test_cat_of_a_local_path_without_profile_imports_no_yaml_json_or_hashlib(tmp_path: Path) -> None:
    assert not {"yaml", "json", "hashlib"} & _modules_after_cat(tmp_path)


def test_cat_of_a_local_path_with_a_missing_profile_exits_7(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hi\n")
    result = run("--profile", "missing.yaml", "cat", "./a.txt")
    assert (result.returncode, result.stdout) == (7, b"")
    assert result.stderr.decode().startswith("genrostore: profile missing.yaml does not exist")


def test_an_invalid_env_only_mount_fails_only_the_commands_that_use_it(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hi\n")
    env = {"GENROSTORE_MOUNT_BAD_TYPE": "no-such-backend"}
    assert run("cat", "./a.txt", env=env).stdout == b"hi\n"
    result = run("cat", "bad:a.txt", env=env)
    assert (result.returncode, result.stdout) == (7, b"")
    assert "unknown backend type 'no-such-backend'" in result.stderr.decode()


def test_cat_options_keep_their_bounds_after_annotations_are_resolved(run: Run, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"hello\n")
    assert run("--retries", "-1", "cat", "./a.txt").returncode == 2
    assert run("cat", "--offset", "-1", "./a.txt").returncode == 2
    assert run("cat", "--offset", "1", "--count", "3", "./a.txt").stdout == b"ell"
