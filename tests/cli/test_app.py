"""Global behaviour of the command: help, version, errors, streams, pipes, lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Run


def test_help_lists_every_command(run: Run) -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("ls", "cat", "cp", "rm", "mkdir", "md5", "b64", "stat", "mounts"):
        assert command in result.stdout.decode()


def test_every_command_has_help(run: Run) -> None:
    for command in ("ls", "cat", "cp", "rm", "mkdir", "md5", "b64", "stat", "mounts"):
        result = run(command, "--help")
        assert result.returncode == 0, command
        assert b"Usage:" in result.stdout


def test_version_comes_from_package_metadata(run: Run) -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.stdout.decode().strip() == f"genrostore {version('genrostore')}"


def test_python_dash_m_works_like_the_script(tmp_path: Path) -> None:
    result = subprocess.run(["genrostore", "cat", "data:aGk="], capture_output=True)
    assert result.stdout == b"hi"


def test_unknown_option_is_a_usage_error_exit_2(run: Run) -> None:
    result = run("ls", "--no-such-option")
    assert result.returncode == 2
    assert result.stdout == b""


def test_expected_errors_show_no_traceback(run: Run) -> None:
    result = run("cat", "missing.txt")
    assert result.returncode == 4
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode().startswith("genrostore: ")


def test_debug_shows_the_traceback(run: Run) -> None:
    result = run("--debug", "cat", "missing.txt")
    assert result.returncode == 4
    assert b"Traceback" in result.stderr


def test_output_piped_to_head_ends_quietly(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"line\n" * 2_000_000)
    pipeline = subprocess.run(
        f"{sys.executable} -m genrostore cat {big} | head -n 2",
        shell=True, capture_output=True, executable="/bin/bash",
    )
    assert pipeline.stdout == b"line\nline\n"
    assert pipeline.stderr == b""


def test_ls_json_piped_to_head_ends_quietly(tmp_path: Path) -> None:
    for index in range(3000):
        (tmp_path / f"f{index:05}").write_bytes(b"")
    pipeline = subprocess.run(
        f"{sys.executable} -m genrostore ls -l {tmp_path} | head -n 1",
        shell=True, capture_output=True, executable="/bin/bash",
    )
    assert pipeline.stderr == b""
    assert pipeline.stdout.count(b"\n") == 1


def test_help_and_local_cat_import_no_backend_client(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("x")
    for args in (["--help"], ["cat", str(target)], ["ls", str(tmp_path)]):
        probe = (
            "import sys, runpy; sys.argv = ['genrostore', *%r]\n"
            "import os\n"
            "def _exit(code):\n    raise SystemExit(code)\n"
            "os._exit = _exit  # the entry point leaves by os._exit; stay to look at sys.modules\n"
            "try:\n    runpy.run_module('genrostore', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "heavy = [m for m in ('s3fs','gcsfs','adlfs','paramiko','smbprotocol','pygit2','webdav4','libarchive',"
            "'boto3','botocore','aiohttp','fsspec') if m in sys.modules]\n"
            "sys.stderr.write('HEAVY:' + ','.join(heavy))\n" % (args,)
        )
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True)
        assert result.stderr.decode().rsplit("HEAVY:", 1)[1] == "", args


def test_never_prompts_when_stdin_is_not_a_tty(run: Run) -> None:
    result = run("rm", "-r", "nothing-here", input=None, timeout=20)
    assert result.returncode == 4
